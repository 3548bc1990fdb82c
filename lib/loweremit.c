/* loweremit.c — the emission of the lowering (mvm-lower(5), lower_int.h) */
#include <stdio.h>
#include <string.h>
#include "loweregress.h"
#include "lower.h"
#include "lower_int.h"

/* The per-call marker the agent execs: every function image has it. */
#define RUNNER "/usr/lib/mvm/wrappers/runner"

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

/* The lowering's "files" member opened: the egress policy's file, then
 * /etc/mvm/mounts (the text in mt) when there is a mount; each entry
 * with its trailing comma. */
static void emit_files_open(const struct jdoc *d, jref app, const struct buf *mt, struct buf *o)
{
	buf_puts(o, ",\"files\":{");
	lower_egress_emit(d, app, 1, o);
	if (mt->len) {
		put_file(o, "/etc/mvm/mounts", "0444");
		json_put_str(o, mt->p, mt->len);
		buf_puts(o, "},");
	}
}

/* The app's command entrypoint (at most one is lowered), or JREF_NONE. */
jref lower_command_of(const struct jdoc *d, jref app)
{
	jref eps = json_get(d, app, "entrypoints");

	for (jref x = eps != JREF_NONE ? json_first(d, eps) : JREF_NONE; x != JREF_NONE; x = json_next(d, x))
		if (json_str_eq(d, json_get(d, x, "kind"), "command"))
			return x;
	return JREF_NONE;
}

/* Whether obj (or JREF_NONE) has a member named ks (n bytes). */
static int has_key(const struct jdoc *d, jref obj, const char *ks, size_t n)
{
	for (jref k = obj != JREF_NONE ? json_first_key(d, obj) : JREF_NONE; k != JREF_NONE;
	    k = json_next_key(d, k)) {
		size_t m;
		const char *s = json_str(d, k, &m);
		if (m == n && memcmp(s, ks, n) == 0)
			return 1;
	}
	return 0;
}

/* The literal members of env (JREF_NONE: none) but those that skip names,
 * as "NAME":"value" pairs into an open JSON object. */
static void put_literals(const struct jdoc *d, jref env, jref skip, struct buf *sj)
{
	for (jref k = env != JREF_NONE ? json_first_key(d, env) : JREF_NONE; k != JREF_NONE;
	    k = json_next_key(d, k)) {
		size_t n;
		const char *ks = json_str(d, k, &n);
		if (!json_str_eq(d, json_get(d, json_value(k), "kind"), "literal") ||
		    has_key(d, skip, ks, n))
			continue;
		buf_puts(sj, sj->p[sj->len - 1] == '{' ? "" : ",");
		json_put_str(sj, ks, n);
		buf_putc(sj, ':');
		json_canon(d, json_get(d, json_value(k), "value"), sj);
	}
}

/* The network (mode "bridge": a NIC and its ports) and the command service
 * (issue #16), appended to o: ",\"network\":...,\"service\":..." or
 * nothing; the service's /etc/mvm/service.json into sj. */
static void emit_net(const struct jdoc *d, jref app, jref cmd, struct buf *o, struct buf *sj)
{
	jref net = json_get(d, app, "network"), aenv = json_get(d, app, "env"), wd, env;

	if (net != JREF_NONE && json_type(d, net) == J_OBJ &&
	    json_str_eq(d, json_get(d, net, "mode"), "bridge")) {
		jref ports = json_get(d, net, "ports");
		buf_puts(o, ",\"network\":{\"ports\":");
		if (ports != JREF_NONE)
			json_canon(d, ports, o);
		else
			buf_puts(o, "[]");
		buf_putc(o, '}');
	}
	if (cmd == JREF_NONE)
		return;
	wd = json_get(d, cmd, "working_dir");
	env = json_get(d, cmd, "env");
	buf_puts(sj, "{\"command\":");
	json_canon(d, json_get(d, cmd, "command"), sj);
	buf_puts(sj, ",\"env\":{");   /* NAME: the literal's value */
	/* the app's literals first (as every function gets them), then the
	 * command's own, which win over an app literal of the same name */
	put_literals(d, aenv, env, sj);
	put_literals(d, env, JREF_NONE, sj);
	lower_proxy_env(d, app, sj);
	buf_putc(sj, '}');
	buf_puts(sj, ",\"working_dir\":");
	if (wd != JREF_NONE)
		json_canon(d, wd, sj);
	else
		buf_puts(sj, "\"/app\"");
	buf_putc(sj, '}');
	buf_puts(o, ",\"service\":");
	buf_put(o, sj->p, sj->len);
}

/* The lowering's first members: lower_version, ir_hash, id, name. */
static void emit_open(const struct jdoc *d, jref app, const char *hash, struct buf *o)
{
	buf_printf(o, "{\"lower_version\":%d,\"ir_hash\":\"%s\",\"id\":", LOWER_VERSION, hash);
	json_canon(d, json_get(d, json_root(d), "id"), o);
	buf_puts(o, ",\"name\":");
	json_canon(d, json_get(d, app, "name"), o);
}

/* What every app lowers to, whatever its entrypoints: working_dir,
 * packages, source, resources, dependencies (the deps volume, built by
 * mvm-deps(1), attached read-only, mounted by init), drives, tmpfs,
 * secrets, network, service; /etc/mvm/mounts into mt, service.json into
 * sj. */
static void emit_app(const struct jdoc *d, jref app, jref cmd, jref wd, struct buf *o,
	struct buf *mt, struct buf *sj)
{
	jref deps = json_get(d, app, "dependencies");
	int has_deps = deps != JREF_NONE && !json_str_eq(d, json_get(d, deps, "kind"), "none");

	buf_puts(o, ",\"working_dir\":");
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
	if (has_deps) {
		buf_puts(o, ",\"dependencies\":");
		json_canon(d, deps, o);
	}
	lower_emit_mounts(d, app, has_deps, o, mt);
	emit_net(d, app, cmd, o, sj);
	lower_egress_emit(d, app, 0, o);
}

/* An app with a command entrypoint and no function: language and runner
 * "none", no entrypoint marker, only /etc/mvm/service.json
 * (and /etc/mvm/mounts). */
static int emit_command_only(const struct jdoc *d, jref app, jref cmd, jref wd, const char *hash,
	struct buf *o, struct merr *e)
{
	struct buf sj = BUF_INIT, mt = BUF_INIT;
	int oom = 0;

	emit_open(d, app, hash, o);
	buf_puts(o, ",\"language\":\"none\",\"format\":null,\"runner\":\"none\",\"entrypoint\":null");
	emit_app(d, app, cmd, wd, o, &mt, &sj);
	emit_files_open(d, app, &mt, o);
	put_file(o, "/etc/mvm/service.json", "0444");
	put_canon_str(o, &sj, e, &oom);
	buf_puts(o, "}}}");
	oom |= mt.err != 0;
	buf_free(&sj);
	buf_free(&mt);
	return oom || o->err ? merr_set(e, EX_SYS, NULL, "out of memory") : 0;
}

/* The lowering of the valid, normalized IR d, whose original's canonical
 * SHA-256 is hash: one JSON text appended to o (canonicalized later). */
int lower_emit(const struct jdoc *d, jref app, jref fn, const char *hash, int dev, struct buf *o,
	struct merr *e)
{
	struct buf w = BUF_INIT, r = BUF_INIT, sj = BUF_INIT, mt = BUF_INIT;
	jref cmd = lower_command_of(d, app);
	jref wd = fn != JREF_NONE ? json_get(d, fn, "working_dir") :
		json_get(d, cmd, "working_dir");
	jref conc = fn != JREF_NONE ? json_get(d, fn, "concurrency") : JREF_NONE;
	int oom = 0;

	if (fn == JREF_NONE)
		return emit_command_only(d, app, cmd, wd, hash, o, e);

	emit_open(d, app, hash, o);
	buf_puts(o, ",\"language\":");
	json_canon(d, json_get(d, fn, "language"), o);
	buf_puts(o, ",\"format\":");
	json_canon(d, json_get(d, fn, "format"), o);
	buf_puts(o, conc != JREF_NONE ? ",\"runner\":\"longrunning\"" : ",\"runner\":\"oneshot\"");
	buf_puts(o, ",\"entrypoint\":\"" RUNNER "\"");
	emit_app(d, app, cmd, wd, o, &mt, &sj);

	/* /etc/mvm/runtime.json, as the agent reads it
	 * (schemas/runtime.schema.json), and a wrapper.json per function
	 * (schemas/wrapper.schema.json): /etc/mvm/fn/<i>.json for the i-th
	 * function of runtime.json's functions, the primary's also at
	 * /etc/mvm/wrapper.json. */
	static const char *const common[] = { "module", "function", "format", NULL };
	jref env = json_get(d, app, "env"), eps = json_get(d, app, "entrypoints");
	size_t nf = 0;

	buf_puts(&r, "{\"language\":");
	json_canon(d, json_get(d, fn, "language"), &r);
	for (const char *const *k = common; *k; k++) {
		buf_printf(&r, ",\"%s\":", *k);
		json_canon(d, json_get(d, fn, *k), &r);
	}
	buf_puts(&r, ",\"source_path\":");
	if (wd != JREF_NONE)
		json_canon(d, wd, &r);
	else
		buf_puts(&r, "\"/app\"");
	if (conc != JREF_NONE) {
		buf_puts(&r, ",\"concurrency\":");
		json_canon(d, conc, &r);
	}
	if ((env != JREF_NONE && json_len(d, env) > 0) || lower_egress_of(d, app) != JREF_NONE) {
		/* literals (a secret_ref goes into "secrets", lower_emit_mounts),
		 * and the proxy's variables */
		size_t mark = r.len;

		buf_puts(&r, ",\"env\":{");
		put_literals(d, env, JREF_NONE, &r);
		lower_proxy_env(d, app, &r);
		if (r.p[r.len - 1] == '{')
			r.len = mark;    /* secrets only: no "env" */
		else
			buf_putc(&r, '}');
	}
	buf_puts(&r, ",\"functions\":[");

	emit_files_open(d, app, &mt, o);
	put_file(o, "/etc/mvm/entrypoint", "0644");
	buf_puts(o, "\"" RUNNER "\\n\"},");
	for (jref x = json_first(d, eps); x != JREF_NONE; x = json_next(d, x)) {
		char path[64];

		if (!json_str_eq(d, json_get(d, x, "kind"), "function"))
			continue;
		if (x != json_first(d, eps) && r.len && r.p[r.len - 1] != '[')
			buf_putc(&r, ',');
		buf_puts(&r, "{\"name\":");
		json_canon(d, json_get(d, x, "function"), &r);
		w.len = 0;
		buf_puts(&w, dev ? "{\"mode\":\"dev\"" : "{\"mode\":\"prod\"");
		for (const char *const *k = common; *k; k++) {
			buf_printf(&w, ",\"%s\":", *k);
			json_canon(d, json_get(d, x, *k), &w);
			buf_printf(&r, ",\"%s\":", *k);
			json_canon(d, json_get(d, x, *k), &r);
		}
		buf_printf(&r, ",\"primary\":%s}", x == fn ? "true" : "false");
		buf_puts(&w, ",\"working_dir\":");
		if (wd != JREF_NONE)
			json_canon(d, wd, &w);
		else
			buf_puts(&w, "\"/app\"");
		for (const char *k = "args_schema"; k; k = strcmp(k, "args_schema") ? NULL : "return_schema") {
			jref v = json_get(d, x, k);

			if (v == JREF_NONE || json_type(d, v) == J_NULL)
				continue;
			buf_printf(&w, ",\"%s\":", k);
			json_canon(d, v, &w);
		}
		buf_putc(&w, '}');
		/* named by its place among the functions: a function name is any
		 * string (the runner refuses what it cannot call), never a path */
		snprintf(path, sizeof path, "/etc/mvm/fn/%zu.json", nf++);
		put_file(o, path, "0444");
		put_canon_str(o, &w, e, &oom);
		buf_puts(o, "},");
		if (x == fn) {
			put_file(o, "/etc/mvm/wrapper.json", "0444");
			put_canon_str(o, &w, e, &oom);
			buf_puts(o, "},");
		}
	}
	buf_puts(&r, "]}");
	put_file(o, "/etc/mvm/runtime.json", "0444");
	put_canon_str(o, &r, e, &oom);
	buf_putc(o, '}');
	if (sj.len) {
		buf_putc(o, ',');
		put_file(o, "/etc/mvm/service.json", "0444");
		put_canon_str(o, &sj, e, &oom);
		buf_putc(o, '}');
	}
	buf_puts(o, "}}");
	buf_free(&w);
	buf_free(&r);
	buf_free(&sj);
	oom |= mt.err != 0;
	buf_free(&mt);
	return oom || o->err ? merr_set(e, EX_SYS, NULL, "out of memory") : 0;
}

