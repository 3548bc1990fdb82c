/* lower.c — the one lowering of a Workload IR (see lower.h, mvm-lower(5)) */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enc.h"
#include "lower.h"

/* The per-call marker the agent execs: every function image has it. */
#define RUNNER "/usr/lib/mvm/wrappers/runner"

struct lctx {
	const struct jdoc *d;       /* the normalized IR */
	struct ir_errors *out;
	struct buf ptr;             /* the JSON Pointer being looked at */
	int oom;
};

/* Append a refusal at the current pointer (+ tok when not NULL). */
__attribute__((format(printf, 3, 4)))
static void refuse(struct lctx *c, const char *tok, const char *fmt, ...)
{
	struct ir_errors *l = c->out;
	size_t old = c->ptr.len;
	char msg[512];
	va_list ap;

	if (tok)
		json_ptr_push(&c->ptr, tok, strlen(tok));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct ir_error *v = realloc(l->v, cap * sizeof *v);
		if (!v) {
			c->oom = 1;
			goto out;
		}
		l->v = v;
		l->cap = cap;
	}
	char *p = strndup(c->ptr.p ? c->ptr.p : "", c->ptr.len), *m = strdup(msg);
	if (!p || !m || c->ptr.err) {
		free(p);
		free(m);
		c->oom = 1;
		goto out;
	}
	l->v[l->n++] = (struct ir_error){ E_NOT_SUPPORTED, p, m };
out:
	c->ptr.len = old;
}

static jref get(const struct lctx *c, jref o, const char *k)
{
	return o != JREF_NONE && json_type(c->d, o) == J_OBJ ? json_get(c->d, o, k) : JREF_NONE;
}

static int str_is(const struct lctx *c, jref v, const char *s)
{
	return v != JREF_NONE && json_type(c->d, v) == J_STR && json_str_eq(c->d, v, s);
}

static int in(const char *const *names, const char *s, size_t n)
{
	for (; *names; names++)
		if (strlen(*names) == n && memcmp(*names, s, n) == 0)
			return 1;
	return 0;
}

/* Refuse every member of obj not in the list `ok`. */
static void only(struct lctx *c, jref obj, const char *const *ok, const char *what)
{
	for (jref k = json_first_key(c->d, obj); k != JREF_NONE; k = json_next_key(c->d, k)) {
		size_t n, old = c->ptr.len;
		const char *s = json_str(c->d, k, &n);
		if (in(ok, s, n))
			continue;
		json_ptr_push(&c->ptr, s, n);
		refuse(c, NULL, "%s \"%.*s\" is not supported by this backend yet", what,
			(int)(n > 64 ? 64 : n), s);
		c->ptr.len = old;
	}
}

/* obj's member field with a "kind" other than want: refused at
 * <ptr>/field/kind. */
static void kind_only(struct lctx *c, jref obj, const char *field, const char *want)
{
	size_t n, old = c->ptr.len;
	jref k = get(c, get(c, obj, field), "kind");
	const char *s = k != JREF_NONE ? json_str(c->d, k, &n) : NULL;

	if (!s || str_is(c, k, want))
		return;
	json_ptr_push(&c->ptr, field, strlen(field));
	refuse(c, "kind", "%s kind \"%.*s\" is not supported by this backend yet", field,
		(int)(n > 64 ? 64 : n), s);
	c->ptr.len = old;
}

static void check_entrypoints(struct lctx *c, jref app, jref prim)
{
	static const char *const fn_ok[] = { "kind", "language", "module", "function", "format",
		"primary", "working_dir", "concurrency", NULL };
	jref eps = get(c, app, "entrypoints");
	size_t i = 0, old = c->ptr.len;
	char idx[24];

	json_ptr_push(&c->ptr, "entrypoints", 11);
	for (jref x = eps != JREF_NONE ? json_first(c->d, eps) : JREF_NONE; x != JREF_NONE; x = json_next(c->d, x), i++) {
		size_t o2 = c->ptr.len;
		snprintf(idx, sizeof idx, "%zu", i);
		if (x == prim) {
			json_ptr_push(&c->ptr, idx, strlen(idx));
			only(c, x, fn_ok, "the function's");
		} else if (str_is(c, get(c, x, "kind"), "function")) {
			refuse(c, idx, "a function entrypoint besides the primary is not supported "
				"by this backend yet (only the primary is baked)");
		} else {
			refuse(c, idx, "a command entrypoint is not supported by this backend yet");
		}
		c->ptr.len = o2;
	}
	if (prim == JREF_NONE && i == 0)
		refuse(c, NULL, "an app without a function entrypoint is not supported by this backend yet");
	c->ptr.len = old;
}

/* Everything the backends do not deliver, refused (lower.h). */
static void check(struct lctx *c, jref root, jref *appp, jref *primp)
{
	static const char *const top_ok[] = { "schema_version", "id", "apps", "volumes",
		"extensions", NULL };
	static const char *const app_ok[] = { "name", "source", "image", "entrypoints",
		"resources", "dependencies", "network", NULL };
	static const char *const res_ok[] = { "vcpus", "memory_mb", "boot_timeout_secs",
		"rootfs_size_mb", NULL };
	static const char *const net_ok[] = { "mode", NULL };
	jref apps = get(c, root, "apps"), x;
	jref app = apps != JREF_NONE ? json_first(c->d, apps) : JREF_NONE;
	size_t i;
	char idx[40];

	only(c, root, top_ok, "the workload's");
	x = get(c, root, "volumes");
	for (i = 0, x = x != JREF_NONE ? json_first(c->d, x) : JREF_NONE; x != JREF_NONE; x = json_next(c->d, x), i++) {
		snprintf(idx, sizeof idx, "/volumes/%zu", i);
		buf_puts(&c->ptr, idx);
		refuse(c, NULL, "volumes are not supported by this backend yet");
		c->ptr.len = 0;
	}
	for (i = 0, x = app; x != JREF_NONE; x = json_next(c->d, x), i++) {
		if (i == 0)
			continue;
		snprintf(idx, sizeof idx, "/apps/%zu", i);
		buf_puts(&c->ptr, idx);
		refuse(c, NULL, "a second app is not supported by this backend yet");
		c->ptr.len = 0;
	}
	*appp = app;
	*primp = JREF_NONE;
	if (app == JREF_NONE)
		return;
	buf_puts(&c->ptr, "/apps/0");
	only(c, app, app_ok, "the app's");
	kind_only(c, app, "source", "local_path");
	kind_only(c, app, "image", "nix_packages");
	x = get(c, app, "dependencies");
	if (!str_is(c, get(c, x, "kind"), "none") && x != JREF_NONE &&
	    !(str_is(c, get(c, x, "kind"), "python") && str_is(c, get(c, x, "tool"), "pip_tools")) &&
	    !(str_is(c, get(c, x, "kind"), "node") && str_is(c, get(c, x, "tool"), "npm"))) {
		/* mvm-deps(1) installs pip-tools and npm lockfiles onto the deps volume */
		buf_puts(&c->ptr, "/dependencies");
		refuse(c, "tool", "dependencies tool is not supported by this backend yet (mvm-deps installs pip_tools and npm lockfiles)");
		c->ptr.len = 7;
	}
	x = get(c, app, "network");
	if (x != JREF_NONE) {
		/* mode "none" is what an image without a NIC delivers. */
		buf_puts(&c->ptr, "/network");
		only(c, x, net_ok, "the network's");
		if (!str_is(c, get(c, x, "mode"), "none"))
			refuse(c, "mode", "a network other than mode \"none\" is not supported by this backend yet");
		c->ptr.len = 7;
	}
	x = get(c, app, "resources");
	if (x != JREF_NONE) {
		buf_puts(&c->ptr, "/resources");
		only(c, x, res_ok, "the resource");
		c->ptr.len = 7;
	}
	*primp = ir_primary(c->d, app);
	check_entrypoints(c, app, *primp);
	c->ptr.len = 0;
}

/* The canonical bytes of a JSON text held in b, as a JSON string. */
static void put_canon_str(struct buf *o, const struct buf *b, struct merr *e, int *oom)
{
	struct buf t = BUF_INIT;

	if (b->err || json_canonicalize(b->p, b->len, NULL, &t, e) != 0)
		*oom = 1;
	else
		json_put_str(o, t.p, t.len);
	buf_free(&t);
}

static void put_file(struct buf *o, const char *path, const char *mode)
{
	json_put_str(o, path, strlen(path));
	buf_puts(o, ":{\"mode\":\"");
	buf_puts(o, mode);
	buf_puts(o, "\",\"content\":");
}

/* The lowering of the valid, normalized IR d, whose original's canonical
 * SHA-256 is hash: one JSON text appended to o (canonicalized later). */
static int emit(const struct jdoc *d, jref app, jref fn, const char *hash, struct buf *o,
	struct merr *e)
{
	struct buf w = BUF_INIT, r = BUF_INIT;
	jref wd = json_get(d, fn, "working_dir"), conc = json_get(d, fn, "concurrency");
	int oom = 0;

	buf_printf(o, "{\"lower_version\":%d,\"ir_hash\":\"%s\",\"id\":", LOWER_VERSION, hash);
	json_canon(d, json_get(d, json_root(d), "id"), o);
	buf_puts(o, ",\"name\":");
	json_canon(d, json_get(d, app, "name"), o);
	buf_puts(o, ",\"language\":");
	json_canon(d, json_get(d, fn, "language"), o);
	buf_puts(o, ",\"format\":");
	json_canon(d, json_get(d, fn, "format"), o);
	buf_puts(o, conc != JREF_NONE ? ",\"runner\":\"longrunning\"" : ",\"runner\":\"oneshot\"");
	buf_puts(o, ",\"entrypoint\":\"" RUNNER "\",\"working_dir\":");
	if (wd != JREF_NONE)
		json_canon(d, wd, o);
	else
		buf_puts(o, "\"/app\"");
	buf_puts(o, ",\"packages\":");
	json_canon(d, json_get(d, json_get(d, app, "image"), "packages"), o);
	buf_puts(o, ",\"source\":");
	json_canon(d, json_get(d, app, "source"), o);
	buf_puts(o, ",\"resources\":");
	json_canon(d, json_get(d, app, "resources"), o);
	jref deps = json_get(d, app, "dependencies");
	int has_deps = deps != JREF_NONE && !json_str_eq(d, json_get(d, deps, "kind"), "none");
	if (has_deps) {
		/* built by mvm-deps(1), attached read-only, mounted by init */
		buf_puts(o, ",\"dependencies\":");
		json_canon(d, deps, o);
	}
	buf_puts(o, ",\"drives\":[{\"name\":\"root\",\"target\":\"/\",\"mode\":\"ro\"}");
	buf_puts(o, has_deps ? ",{\"name\":\"deps\",\"target\":\"/mnt/deps\",\"mode\":\"ro\"}]" : "]");

	/* /etc/mvm/wrapper.json and runtime.json, as the wrappers and the
	 * agent read them (schemas/wrapper.schema.json, runtime.schema.json). */
	static const char *const common[] = { "module", "function", "format", NULL };
	buf_puts(&w, "{\"mode\":\"prod\"");
	buf_puts(&r, "{\"language\":");
	json_canon(d, json_get(d, fn, "language"), &r);
	for (const char *const *k = common; *k; k++) {
		buf_printf(&w, ",\"%s\":", *k);
		json_canon(d, json_get(d, fn, *k), &w);
		buf_printf(&r, ",\"%s\":", *k);
		json_canon(d, json_get(d, fn, *k), &r);
	}
	buf_puts(&w, ",\"working_dir\":");
	buf_puts(&r, ",\"source_path\":");
	if (wd != JREF_NONE) {
		json_canon(d, wd, &w);
		json_canon(d, wd, &r);
	} else {
		buf_puts(&w, "\"/app\"");
		buf_puts(&r, "\"/app\"");
	}
	if (conc != JREF_NONE) {
		buf_puts(&r, ",\"concurrency\":");
		json_canon(d, conc, &r);
	}
	buf_putc(&w, '}');
	buf_putc(&r, '}');

	buf_puts(o, ",\"files\":{");
	put_file(o, "/etc/mvm/entrypoint", "0644");
	buf_puts(o, "\"" RUNNER "\\n\"},");
	put_file(o, "/etc/mvm/runtime.json", "0444");
	put_canon_str(o, &r, e, &oom);
	buf_puts(o, "},");
	put_file(o, "/etc/mvm/wrapper.json", "0444");
	put_canon_str(o, &w, e, &oom);
	buf_puts(o, "}}}");
	buf_free(&w);
	buf_free(&r);
	return oom || o->err ? merr_set(e, EX_SYS, NULL, "out of memory") : 0;
}

int ir_lower(const struct jdoc *d, struct buf *out, struct ir_errors *refused, struct merr *e)
{
	struct buf canon = BUF_INIT, norm = BUF_INIT, o = BUF_INIT;
	struct jdoc *n = NULL;
	char hash[65];
	jref app, fn;
	int rc = 0;

	/* The hash of the IR as given (ir-hash(1)); the rest from its
	 * normalized form, where defaults and null members are settled. */
	if (json_canon(d, json_root(d), &canon) != 0 || canon.err) {
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
		goto done;
	}
	sha256_hex(hash, canon.p ? canon.p : "", canon.len);
	if ((rc = ir_normalize(d, &norm, e)) != 0)
		goto done;
	if (!(n = json_parse(norm.p ? norm.p : "", norm.len, NULL, e))) {
		rc = e->code ? e->code : EX_SYS;
		goto done;
	}
	struct lctx c = { n, refused, BUF_INIT, 0 };
	check(&c, json_root(n), &app, &fn);
	buf_free(&c.ptr);
	if (c.oom) {
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
		goto done;
	}
	if (refused->n)
		goto done;
	if (app == JREF_NONE || fn == JREF_NONE) {   /* not a valid IR */
		rc = merr_set(e, EX_SYS, NULL, "internal error: lowering an IR that is not valid");
		goto done;
	}
	if ((rc = emit(n, app, fn, hash, &o, e)) != 0)
		goto done;
	rc = json_canonicalize(o.p, o.len, NULL, out, e);
done:
	json_free(n);
	buf_free(&canon);
	buf_free(&norm);
	buf_free(&o);
	return rc;
}
