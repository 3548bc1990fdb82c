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

/* ---- mounts, volumes, secrets (issue 15) ----
 * A mount is delivered as a drive (config: a host_path copied into a
 * read-only ext4 image at build time; volume: an ext4 file of the
 * workload's, attached by vm-boot) or a tmpfs, mounted by agent/init at
 * its target with nodev,nosuid,noexec (the IR has no field to ask for
 * exec).  Secrets reach the guest only through the agent's provisioning
 * request (mvm-agent-protocol(5)). */

#define LOWER_DRIVES_MAX 8      /* config drives and volumes: lib/vmm.h's VMM_DRIVES_MAX less the deps volume and headroom */

/* Guest directories a mount may not cover: the system's, and those init
 * and the agent mount or write themselves. */
static int target_ok(const char *t, size_t n)
{
	static const char *const sys[] = { "proc", "sys", "dev", "etc", "usr", "bin", "sbin",
		"lib", "lib32", "lib64", "libx32", "boot", "run", "tmp", "root", "mnt/secrets",
		NULL };

	if (n < 2 || n > 200 || t[0] != '/' || t[n - 1] == '/')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		    (t[i] >= '0' && t[i] <= '9') || strchr("._-/", t[i])) ||
		    (t[i] == '/' && i + 1 < n && t[i + 1] == '/') ||
		    (t[i] == '/' && i + 1 < n && t[i + 1] == '.'))
			return 0;
	for (const char *const *s = sys; *s; s++) {
		size_t k = strlen(*s);
		if (n - 1 >= k && memcmp(t + 1, *s, k) == 0 && (n - 1 == k || t[1 + k] == '/'))
			return 0;
	}
	return 1;
}

static jref volume_named(const struct lctx *c, jref root, jref name)
{
	jref vols = get(c, root, "volumes");
	size_t n, m;
	const char *s = json_str(c->d, name, &n), *t;

	for (jref v = vols != JREF_NONE ? json_first(c->d, vols) : JREF_NONE; v != JREF_NONE;
	     v = json_next(c->d, v)) {
		jref vn = get(c, v, "name");
		if (vn != JREF_NONE && (t = json_str(c->d, vn, &m)) && m == n && memcmp(s, t, n) == 0)
			return v;
	}
	return JREF_NONE;
}

static void check_mounts(struct lctx *c, jref root, jref app)
{
	jref ms = get(c, app, "mounts"), x, y;
	size_t i = 0, j, drives = 0, n, old = c->ptr.len;
	char idx[24];

	json_ptr_push(&c->ptr, "mounts", 6);
	for (x = ms != JREF_NONE ? json_first(c->d, ms) : JREF_NONE; x != JREF_NONE; x = json_next(c->d, x), i++) {
		size_t o2 = c->ptr.len;
		jref src = get(c, x, "source"), kind = get(c, src, "kind");
		const char *t = json_str(c->d, get(c, x, "target"), &n);

		snprintf(idx, sizeof idx, "%zu", i);
		json_ptr_push(&c->ptr, idx, strlen(idx));
		if (!target_ok(t, n))
			refuse(c, "target", "a mount target other than a plain absolute path ([A-Za-z0-9._-] "
				"components) outside /proc, /sys, /dev, /etc, /usr, /bin, /sbin, /lib*, "
				"/boot, /run, /tmp, /root and /mnt/secrets is not supported by this backend yet");
		j = 0;
		for (y = json_first(c->d, ms); y != x; y = json_next(c->d, y), j++) {
			size_t m;
			const char *u = json_str(c->d, get(c, y, "target"), &m);
			if (m == n && memcmp(u, t, n) == 0)
				refuse(c, "target", "two mounts on one target are not supported by this backend yet");
		}
		if (str_is(c, kind, "host_path")) {
			drives++;
			if (!str_is(c, get(c, x, "mode"), "ro"))
				refuse(c, "mode", "a host_path mount other than \"ro\" (it is copied into a "
					"read-only config drive at build time) is not supported by this backend yet");
		} else if (str_is(c, kind, "volume")) {
			drives++;
			if (volume_named(c, root, get(c, src, "name")) == JREF_NONE)
				refuse(c, "source", "a mount of a volume the workload does not declare is not "
					"supported by this backend yet");
		} else if (!str_is(c, kind, "tmpfs")) {
			json_ptr_push(&c->ptr, "source", 6);
			refuse(c, "kind", "a mount source other than host_path, volume or tmpfs is not "
				"supported by this backend yet");
		}
		if (drives > LOWER_DRIVES_MAX && (str_is(c, kind, "host_path") || str_is(c, kind, "volume")))
			refuse(c, NULL, "more than %d host_path and volume mounts are not supported by "
				"this backend yet", LOWER_DRIVES_MAX);
		c->ptr.len = o2;
	}
	c->ptr.len = old;
}

/* The names a secret may not be delivered as (the agent's and the
 * loaders' variables; as frame.c's env_reserved refuses them in a call). */
static int env_name_ok(const char *k, size_t n)
{
	static const char *const pre[] = { "LD_", "MVM_", "PYTHON", "NODE_", "GCONV_", NULL };

	if (n == 0 || n > 128 || (k[0] >= '0' && k[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
		    (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return 0;
	for (const char *const *p = pre; *p; p++)
		if (n >= strlen(*p) && memcmp(k, *p, strlen(*p)) == 0)
			return 0;
	return !(n == 4 && memcmp(k, "PATH", 4) == 0) && !(n == 4 && memcmp(k, "HOME", 4) == 0);
}

static int secret_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 128 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr("._-", s[i])))
			return 0;
	return 1;
}

static void check_env(struct lctx *c, jref app)
{
	jref env = get(c, app, "env");
	size_t old = c->ptr.len, n;

	json_ptr_push(&c->ptr, "env", 3);
	/* literals: not delivered by this branch (issue 15's "env" part) */
	for (jref k = env != JREF_NONE ? json_first_key(c->d, env) : JREF_NONE; k != JREF_NONE;
	     k = json_next_key(c->d, k))
		if (!str_is(c, get(c, json_value(k), "kind"), "secret_ref")) {
			refuse(c, NULL, "the app's \"env\" is not supported by this backend yet");
			c->ptr.len = old;
			return;
		}
	for (jref k = env != JREF_NONE ? json_first_key(c->d, env) : JREF_NONE; k != JREF_NONE;
	     k = json_next_key(c->d, k)) {
		const char *key = json_str(c->d, k, &n);
		jref v = json_value(k), ref = get(c, v, "ref"), m = get(c, ref, "mount");
		size_t o2 = c->ptr.len, sn;
		const char *s;

		json_ptr_push(&c->ptr, key, n);
		json_ptr_push(&c->ptr, "ref", 3);
		s = json_str(c->d, get(c, ref, "name"), &sn);
		if (!secret_name_ok(s, sn))
			refuse(c, "name", "a secret name other than 1 to 128 of [A-Za-z0-9._-] (not "
				"starting with a dot) is not supported by this backend yet");
		if (get(c, ref, "sigv4") != JREF_NONE)
			refuse(c, "sigv4", "a secret's sigv4 signing is not supported by this backend yet");
		json_ptr_push(&c->ptr, "mount", 5);
		if (str_is(c, get(c, m, "kind"), "env")) {
			s = json_str(c->d, get(c, m, "var"), &sn);
			if (!env_name_ok(s, sn))
				refuse(c, "var", "a secret env var named other than [A-Za-z_][A-Za-z0-9_]* "
					"or named PATH, HOME, LD_*, MVM_*, PYTHON*, NODE_*, GCONV_* is "
					"not supported by this backend yet");
		} else {
			s = json_str(c->d, get(c, m, "path"), &sn);
			if (sn <= 13 || memcmp(s, "/mnt/secrets/", 13) != 0 ||
			    !secret_name_ok(s + 13, sn - 13))
				refuse(c, "path", "a secret file other than /mnt/secrets/NAME (NAME 1 to "
					"128 of [A-Za-z0-9._-]) is not supported by this backend yet");
		}
		c->ptr.len = o2;
	}
	c->ptr.len = old;
}

/* Everything the backends do not deliver, refused (lower.h). */
static void check(struct lctx *c, jref root, jref *appp, jref *primp)
{
	static const char *const top_ok[] = { "schema_version", "id", "apps", "volumes",
		"extensions", NULL };
	static const char *const app_ok[] = { "name", "source", "image", "entrypoints",
		"resources", "dependencies", "network", "mounts", "env", NULL };
	static const char *const res_ok[] = { "vcpus", "memory_mb", "boot_timeout_secs",
		"rootfs_size_mb", NULL };
	static const char *const net_ok[] = { "mode", NULL };
	jref apps = get(c, root, "apps"), x;
	jref app = apps != JREF_NONE ? json_first(c->d, apps) : JREF_NONE;
	size_t i;
	char idx[40];

	only(c, root, top_ok, "the workload's");
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
	kind_only(c, app, "dependencies", "none");
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
	check_mounts(c, root, app);
	check_env(c, app);
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

/*
 * The members "drives" (the root, then each host_path and volume mount,
 * named m<INDEX> after its place in the app's mounts: the drive's role,
 * lib/vmm.h), "tmpfs" and "secrets" (names and where they go, never a
 * value), and into mt the text of /etc/mvm/mounts, one line a mount for
 * agent/init: "ROLE TARGET MODE drive" or "- TARGET MODE tmpfs SIZE_MB"
 * (empty when there is no mount).
 */
static void emit_mounts(const struct jdoc *d, jref app, struct buf *o, struct buf *mt)
{
	jref ms = json_get(d, app, "mounts"), env = json_get(d, app, "env"), x;
	jref root = json_root(d);
	size_t i = 0, n;
	int first = 1;

	buf_puts(o, ",\"drives\":[{\"name\":\"root\",\"target\":\"/\",\"mode\":\"ro\"}");
	for (x = ms != JREF_NONE ? json_first(d, ms) : JREF_NONE; x != JREF_NONE; x = json_next(d, x), i++) {
		jref src = json_get(d, x, "source"), kind = json_get(d, src, "kind");
		const char *t = json_str(d, json_get(d, x, "target"), &n);
		const char *mode = json_str_eq(d, json_get(d, x, "mode"), "rw") ? "rw" : "ro";

		if (json_str_eq(d, kind, "tmpfs")) {
			buf_printf(mt, "- %.*s %s tmpfs ", (int)n, t, mode);
			json_canon(d, json_get(d, src, "size_mb"), mt);
			buf_putc(mt, '\n');
			continue;
		}
		buf_printf(mt, "m%zu %.*s %s drive\n", i, (int)n, t, mode);
		buf_printf(o, ",{\"name\":\"m%zu\",\"target\":", i);
		json_canon(d, json_get(d, x, "target"), o);
		buf_printf(o, ",\"mode\":\"%s\",\"kind\":", mode);
		if (json_str_eq(d, kind, "host_path")) {
			buf_puts(o, "\"config\",\"source\":");
			json_canon(d, json_get(d, src, "path"), o);
		} else {
			jref vols = json_get(d, root, "volumes"), v;
			const char *vn = json_str(d, json_get(d, src, "name"), &n);
			buf_puts(o, "\"volume\",\"volume\":");
			json_canon(d, json_get(d, src, "name"), o);
			for (v = json_first(d, vols); v != JREF_NONE; v = json_next(d, v)) {
				size_t m;
				const char *w = json_str(d, json_get(d, v, "name"), &m);
				if (m == n && memcmp(w, vn, n) == 0)
					break;
			}
			if (v == JREF_NONE)    /* (check_mounts refused it) */
				continue;
			buf_puts(o, ",\"size_mb\":");
			json_canon(d, json_get(d, v, "size_mb"), o);
		}
		buf_putc(o, '}');
	}
	buf_putc(o, ']');
	size_t mark = o->len;
	buf_puts(o, ",\"tmpfs\":[");
	for (i = 0, x = ms != JREF_NONE ? json_first(d, ms) : JREF_NONE; x != JREF_NONE; x = json_next(d, x)) {
		jref src = json_get(d, x, "source");
		if (!json_str_eq(d, json_get(d, src, "kind"), "tmpfs"))
			continue;
		buf_puts(o, i++ ? ",{\"target\":" : "{\"target\":");
		json_canon(d, json_get(d, x, "target"), o);
		buf_puts(o, ",\"mode\":");
		json_canon(d, json_get(d, x, "mode"), o);
		buf_puts(o, ",\"size_mb\":");
		json_canon(d, json_get(d, src, "size_mb"), o);
		buf_putc(o, '}');
	}
	if (i == 0)
		o->len = mark;    /* (members only when not empty) */
	else
		buf_putc(o, ']');
	mark = o->len;
	buf_puts(o, ",\"secrets\":[");
	for (jref k = env != JREF_NONE ? json_first_key(d, env) : JREF_NONE; k != JREF_NONE;
	     k = json_next_key(d, k)) {
		jref v = json_value(k), ref = json_get(d, v, "ref"), m;
		if (!json_str_eq(d, json_get(d, v, "kind"), "secret_ref"))
			continue;
		m = json_get(d, ref, "mount");
		buf_puts(o, first ? "{\"name\":" : ",{\"name\":");
		first = 0;
		json_canon(d, json_get(d, ref, "name"), o);
		if (json_str_eq(d, json_get(d, m, "kind"), "env")) {
			buf_puts(o, ",\"env\":");
			json_canon(d, json_get(d, m, "var"), o);
		} else {
			buf_puts(o, ",\"file\":");
			json_canon(d, json_get(d, m, "path"), o);
		}
		buf_putc(o, '}');
	}
	if (first)
		o->len = mark;
	else
		buf_putc(o, ']');
}

/* The lowering of the valid, normalized IR d, whose original's canonical
 * SHA-256 is hash: one JSON text appended to o (canonicalized later). */
static int emit(const struct jdoc *d, jref app, jref fn, const char *hash, struct buf *o,
	struct merr *e)
{
	struct buf w = BUF_INIT, r = BUF_INIT, mt = BUF_INIT;
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
	emit_mounts(d, app, o, &mt);

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
	if (mt.len) {
		put_file(o, "/etc/mvm/mounts", "0444");
		json_put_str(o, mt.p, mt.len);
		buf_puts(o, "},");
	}
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
	oom |= mt.err != 0;
	buf_free(&mt);
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
