/* lower.c — the one lowering of a Workload IR (see lower.h, mvm-lower(5)) */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loweregress.h"
#include "enc.h"
#include "frame.h"
#include "lower.h"

/* The per-call marker the agent execs: every function image has it. */
#define RUNNER "/usr/lib/mvm/wrappers/runner"

struct lctx {
	const struct jdoc *d;       /* the normalized IR */
	struct ir_errors *out;
	struct buf ptr;             /* the JSON Pointer being looked at */
	int oom;
	int egress;                 /* the app has network.egress */
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

/* Is the JSON Schema s (at the current pointer) within the subset the
 * wrappers check (mvm-ir(5) "Schemas")?  Every keyword outside it, and a
 * keyword whose value is not of the subset's shape, is refused: a keyword
 * the wrappers would not check is never accepted silently. */
static void schema_check(struct lctx *c, jref s)
{
	static const char *const types[] = { "null", "boolean", "object", "array", "number",
		"integer", "string", NULL };
	enum jtype t = json_type(c->d, s);

	if (t == J_TRUE || t == J_FALSE)
		return;
	if (t != J_OBJ) {
		refuse(c, NULL, "a schema that is not an object or a boolean is not supported by this backend yet");
		return;
	}
	for (jref k = json_first_key(c->d, s); k != JREF_NONE; k = json_next_key(c->d, k)) {
		jref v = json_value(k);
		enum jtype vt = json_type(c->d, v);
		size_t n, old = c->ptr.len;
		const char *ks = json_str(c->d, k, &n);
		int ok = 1;

		json_ptr_push(&c->ptr, ks, n);
		if (json_str_eq(c->d, k, "type")) {
			size_t tn;
			const char *ts;

			if (vt == J_STR) {
				ts = json_str(c->d, v, &tn);
				ok = in(types, ts, tn);
			} else if (vt == J_ARR && json_len(c->d, v) > 0) {
				for (jref x = json_first(c->d, v); x != JREF_NONE; x = json_next(c->d, x))
					if (json_type(c->d, x) != J_STR ||
					    !in(types, (ts = json_str(c->d, x, &tn)), tn))
						ok = 0;
			} else {
				ok = 0;
			}
		} else if (json_str_eq(c->d, k, "enum")) {
			ok = vt == J_ARR;
		} else if (json_str_eq(c->d, k, "const") || json_str_eq(c->d, k, "default") ||
		    json_str_eq(c->d, k, "examples")) {
			ok = 1;    /* a value (const), or annotations that check nothing */
		} else if (json_str_eq(c->d, k, "title") || json_str_eq(c->d, k, "description") ||
		    json_str_eq(c->d, k, "$comment")) {
			ok = vt == J_STR;
		} else if (json_str_eq(c->d, k, "$schema")) {
			ok = str_is(c, v, "https://json-schema.org/draft/2020-12/schema");
		} else if (json_str_eq(c->d, k, "properties")) {
			ok = vt == J_OBJ;
			for (jref p = ok ? json_first_key(c->d, v) : JREF_NONE; p != JREF_NONE;
			     p = json_next_key(c->d, p)) {
				size_t pn, o2 = c->ptr.len;
				const char *ps = json_str(c->d, p, &pn);

				json_ptr_push(&c->ptr, ps, pn);
				schema_check(c, json_value(p));
				c->ptr.len = o2;
			}
		} else if (json_str_eq(c->d, k, "required")) {
			ok = vt == J_ARR;
			for (jref x = ok ? json_first(c->d, v) : JREF_NONE; x != JREF_NONE; x = json_next(c->d, x))
				if (json_type(c->d, x) != J_STR)
					ok = 0;
		} else if (json_str_eq(c->d, k, "additionalProperties") || json_str_eq(c->d, k, "items")) {
			schema_check(c, v);    /* items as an array is the old draft's: refused there */
		} else if (json_str_eq(c->d, k, "minimum") || json_str_eq(c->d, k, "maximum")) {
			ok = vt == J_NUM;
		} else if (json_str_eq(c->d, k, "minLength") || json_str_eq(c->d, k, "maxLength")) {
			double x = vt == J_NUM ? json_num(c->d, v) : -1;

			ok = x >= 0 && x <= 4294967295.0 && x == (double)(unsigned long)x;
		} else {
			refuse(c, NULL, "the schema keyword \"%.*s\" is not supported by this backend yet "
				"(the wrappers check type, enum, const, properties, required, "
				"additionalProperties, items, minimum, maximum, minLength, maxLength)",
				(int)(n > 64 ? 64 : n), ks);
		}
		if (!ok)
			refuse(c, NULL, "this value of the schema keyword \"%.*s\" is not supported by "
				"this backend yet", (int)(n > 64 ? 64 : n), ks);
		c->ptr.len = old;
	}
}

/* Do a and b hold the same string (or are both absent)? */
static int same_str(const struct lctx *c, jref a, jref b)
{
	size_t an, bn;
	const char *as, *bs;

	if (a == JREF_NONE || b == JREF_NONE)
		return a == b;
	if (json_type(c->d, a) != J_STR || json_type(c->d, b) != J_STR)
		return 0;
	as = json_str(c->d, a, &an);
	bs = json_str(c->d, b, &bn);
	return an == bn && memcmp(as, bs, an) == 0;
}

/* Every function entrypoint is baked: each is checked like the primary,
 * against it (one runner, one source tree, one tier) and by its name (its
 * "function", which a run request names).  x is at index i of eps. */
static void check_function(struct lctx *c, jref eps, jref x, size_t i, jref prim, size_t nfn)
{
	static const char *const fn_ok[] = { "kind", "language", "module", "function", "format",
		"primary", "working_dir", "concurrency", "args_schema", "return_schema", NULL };
	static const char *const schemas[] = { "args_schema", "return_schema", NULL };
	size_t old = c->ptr.len, j = 0;

	json_ptr_push_index(&c->ptr, i);
	only(c, x, fn_ok, "the function's");
	for (const char *const *k = schemas; *k; k++) {
		jref v = get(c, x, *k);
		size_t o2 = c->ptr.len;

		if (v == JREF_NONE || json_type(c->d, v) == J_NULL)
			continue;
		json_ptr_push(&c->ptr, *k, strlen(*k));
		schema_check(c, v);
		c->ptr.len = o2;
	}
	if (nfn > 1 && get(c, x, "concurrency") != JREF_NONE)
		refuse(c, "concurrency", "a warm pool in an app of more than one function is not "
			"supported by this backend yet (a pool serves one function)");
	if (prim != JREF_NONE && x != prim) {
		if (!same_str(c, get(c, x, "language"), get(c, prim, "language")))
			refuse(c, "language", "functions of another language than the primary's are not "
				"supported by this backend yet (an image has one runner)");
		if (!same_str(c, get(c, x, "working_dir"), get(c, prim, "working_dir")))
			refuse(c, "working_dir", "a working_dir other than the primary's is not supported "
				"by this backend yet (an image has one source tree)");
	}
	/* the name: unique in the app */
	for (jref y = json_first(c->d, eps); y != JREF_NONE && y != x; y = json_next(c->d, y), j++)
		if (str_is(c, get(c, y, "kind"), "function") &&
		    same_str(c, get(c, y, "function"), get(c, x, "function"))) {
			refuse(c, "function", "a second function entrypoint named like entrypoint %zu is "
				"not supported by this backend yet (a call names a function by its "
				"\"function\")", j);
			break;
		}
	c->ptr.len = old;
}

/* The app's env: literals are delivered (runtime.json "env"); a
 * secret_ref is not yet; a name the agent reserves is refused. */
static void check_secret(struct lctx *c, jref k);

static void check_env(struct lctx *c, jref env, int secrets)
{
	size_t old = c->ptr.len;

	json_ptr_push(&c->ptr, "env", 3);
	for (jref k = env != JREF_NONE ? json_first_key(c->d, env) : JREF_NONE; k != JREF_NONE;
	     k = json_next_key(c->d, k)) {
		size_t n, o2 = c->ptr.len;
		const char *ks = json_str(c->d, k, &n);
		jref kind = get(c, json_value(k), "kind");

		json_ptr_push(&c->ptr, ks, n);
		if (req_env_reserved(ks, n))
			refuse(c, NULL, "an env name the agent reserves (LD_*, PYTHON*, NODE_OPTIONS, "
				"PATH, HOME, MVM_*, ...: mvm-agent-protocol(5)) is not supported by this "
				"backend yet");
		else if (c->egress && lower_proxy_var(ks, n))
			refuse(c, NULL, "the egress proxy sets this variable (network.egress)");
		else if (str_is(c, kind, "secret_ref") && secrets)
			check_secret(c, k);    /* delivered by the provisioning */
		else if (str_is(c, kind, "secret_ref"))
			refuse(c, "kind", "a secret_ref env entry of a command is not supported by "
				"this backend yet");
		else if (!str_is(c, kind, "literal"))
			refuse(c, "kind", "this env entry kind is not supported by this backend yet");
		c->ptr.len = o2;
	}
	c->ptr.len = old;
}

static void check_entrypoints(struct lctx *c, jref app, jref prim)
{
	static const char *const cmd_ok[] = { "kind", "command", "working_dir", "env", NULL };
	jref eps = get(c, app, "entrypoints");
	size_t i = 0, nfn = 0, ncmd = 0, old = c->ptr.len;
	char idx[24];

	json_ptr_push(&c->ptr, "entrypoints", 11);
	for (jref x = eps != JREF_NONE ? json_first(c->d, eps) : JREF_NONE; x != JREF_NONE; x = json_next(c->d, x))
		nfn += str_is(c, get(c, x, "kind"), "function");
	for (jref x = eps != JREF_NONE ? json_first(c->d, eps) : JREF_NONE; x != JREF_NONE; x = json_next(c->d, x), i++) {
		snprintf(idx, sizeof idx, "%zu", i);
		if (str_is(c, get(c, x, "kind"), "function")) {
			check_function(c, eps, x, i, prim, nfn);
		} else if (ncmd++) {
			refuse(c, idx, "a second command entrypoint is not supported by this backend yet");
		} else {
			/* issue #16: one command service (service.json) */
			size_t o2 = c->ptr.len;

			json_ptr_push(&c->ptr, idx, strlen(idx));
			only(c, x, cmd_ok, "the command's");
			check_env(c, get(c, x, "env"), 0);
			c->ptr.len = o2;
		}
	}
	if (prim == JREF_NONE && ncmd == 0)
		refuse(c, NULL, "an app without a function or command entrypoint is not supported by this backend yet");
	c->ptr.len = old;
}

static void check_network(struct lctx *c, jref x, const char *const *net_ok)
{
	jref ports = get(c, x, "ports"), eg = get(c, x, "egress"), peers = get(c, x, "peers");
	jref dns = get(c, x, "dns");
	int none = str_is(c, get(c, x, "mode"), "none");

	only(c, x, net_ok, "the network's");
	if (!none && !str_is(c, get(c, x, "mode"), "bridge"))
		refuse(c, "mode", "a network mode other than \"none\" or \"bridge\" is not supported by this backend yet");
	/* (ports with mode "none": ir-validate's E_NETWORK_PORTS_WITH_NONE) */
	if (ports != JREF_NONE && json_len(c->d, ports) > 16)
		refuse(c, "ports", "more than 16 ports are not supported by this backend yet");
	if (eg != JREF_NONE && json_type(c->d, eg) != J_NULL) {
		/* delivered: the host's proxy enforces it (lib/loweregress.h) */
		static struct egress_policy pol;
		jref a = get(c, eg, "allowlist");
		size_t i = 0, o2 = c->ptr.len;
		struct merr e;
		char t[24];

		pol.n = 0;
		c->egress = 1;
		for (jref r = a != JREF_NONE ? json_first(c->d, a) : JREF_NONE; r != JREF_NONE;
		    r = json_next(c->d, r), i++) {
			json_ptr_push(&c->ptr, "egress", 6);
			json_ptr_push(&c->ptr, "allowlist", 9);
			json_ptr_push(&c->ptr, t, (size_t)snprintf(t, sizeof t, "%zu", i));
			if (lower_egress_rule(&pol, c->d, r, &e) != 0)
				refuse(c, "host", "%s: not supported by this backend", e.msg);
			c->ptr.len = o2;
		}
	}
	if (peers != JREF_NONE && json_len(c->d, peers) > 0)
		refuse(c, "peers", "peers are not supported by this backend yet");
	if (dns != JREF_NONE && json_type(c->d, dns) != J_NULL && !str_is(c, get(c, dns, "kind"), "none"))
		refuse(c, "dns", "a guest resolver is not supported by this backend (only the egress proxy resolves)");
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
		"lib", "lib32", "lib64", "libx32", "boot", "run", "tmp", "root", "mnt/secrets", "mnt/deps",
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

/* A secret_ref env entry k of the app's (its pointer is current): a name
 * and a mount this backend can deliver (through the provisioning). */
static void check_secret(struct lctx *c, jref k)
{
	size_t sn, old = c->ptr.len;
	const char *s;
	jref v = json_value(k), ref = get(c, v, "ref"), m = get(c, ref, "mount");

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
		if (!env_name_ok(s, sn) || req_env_reserved(s, sn))
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
	static const char *const net_ok[] = { "mode", "ports", "egress", "peers", "dns", NULL };
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
	x = get(c, app, "dependencies");
	if (!str_is(c, get(c, x, "kind"), "none") && x != JREF_NONE &&
	    !(str_is(c, get(c, x, "kind"), "python") && str_is(c, get(c, x, "tool"), "pip_tools")) &&
	    !(str_is(c, get(c, x, "kind"), "python") && str_is(c, get(c, x, "tool"), "uv")) &&
	    !(str_is(c, get(c, x, "kind"), "node") && (str_is(c, get(c, x, "tool"), "npm") ||
		str_is(c, get(c, x, "tool"), "pnpm") || str_is(c, get(c, x, "tool"), "yarn")))) {
		/* mvm-deps(1) installs pip-tools, uv and npm/pnpm/yarn lockfiles onto the deps volume */
		buf_puts(&c->ptr, "/dependencies");
		refuse(c, "tool", "dependencies tool is not supported by this backend yet (mvm-deps installs pip_tools, uv, npm, pnpm and yarn lockfiles)");
		c->ptr.len = 7;
	}
	x = get(c, app, "network");
	if (x != JREF_NONE) {
		/* mode "none": no NIC; "bridge": one NIC behind the host's
		 * user-mode network, ports forwarded from 127.0.0.1 (issue #16) */
		buf_puts(&c->ptr, "/network");
		check_network(c, x, net_ok);
		c->ptr.len = 7;
	}
	x = get(c, app, "resources");
	if (x != JREF_NONE) {
		buf_puts(&c->ptr, "/resources");
		only(c, x, res_ok, "the resource");
		c->ptr.len = 7;
	}
	*primp = ir_primary(c->d, app);
	x = get(c, app, "dependencies");
	if (*primp == JREF_NONE && x != JREF_NONE && !str_is(c, get(c, x, "kind"), "none")) {
		/* the deps volume is found by a function's runner, not a command */
		buf_puts(&c->ptr, "/dependencies");
		refuse(c, NULL, "dependencies of an app without a function entrypoint are not "
			"supported by this backend yet");
		c->ptr.len = 7;
	}
	check_entrypoints(c, app, *primp);
	check_mounts(c, root, app);
	check_env(c, get(c, app, "env"), 1);
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

/* The app's command entrypoint (at most one is lowered), or JREF_NONE. */
static jref command_of(const struct jdoc *d, jref app)
{
	jref eps = json_get(d, app, "entrypoints");

	for (jref x = eps != JREF_NONE ? json_first(d, eps) : JREF_NONE; x != JREF_NONE; x = json_next(d, x))
		if (json_str_eq(d, json_get(d, x, "kind"), "command"))
			return x;
	return JREF_NONE;
}

/* The network (mode "bridge": a NIC and its ports) and the command service
 * (issue #16), appended to o: ",\"network\":...,\"service\":..." or
 * nothing; the service's /etc/mvm/service.json into sj. */
static void emit_net(const struct jdoc *d, jref app, jref cmd, struct buf *o, struct buf *sj)
{
	jref net = json_get(d, app, "network"), wd, env;

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
	for (jref k = env != JREF_NONE ? json_first_key(d, env) : JREF_NONE; k != JREF_NONE;
	    k = json_next_key(d, k)) {
		size_t n;
		const char *ks = json_str(d, k, &n);
		buf_puts(sj, sj->p[sj->len - 1] == '{' ? "" : ",");
		json_put_str(sj, ks, n);
		buf_putc(sj, ':');
		json_canon(d, json_get(d, json_value(k), "value"), sj);
	}
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

static void emit_mounts(const struct jdoc *d, jref app, int deps, struct buf *o, struct buf *mt);

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
	emit_mounts(d, app, has_deps, o, mt);
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
	buf_puts(o, ",\"files\":{");
	lower_egress_emit(d, app, 1, o);
	if (mt.len) {
		put_file(o, "/etc/mvm/mounts", "0444");
		json_put_str(o, mt.p, mt.len);
		buf_puts(o, "},");
	}
	put_file(o, "/etc/mvm/service.json", "0444");
	put_canon_str(o, &sj, e, &oom);
	buf_puts(o, "}}}");
	oom |= mt.err != 0;
	buf_free(&sj);
	buf_free(&mt);
	return oom || o->err ? merr_set(e, EX_SYS, NULL, "out of memory") : 0;
}

/*
 * The members "drives" (the root, then each host_path and volume mount,
 * named m<INDEX> after its place in the app's mounts: the drive's role,
 * lib/vmm.h), "tmpfs" and "secrets" (names and where they go, never a
 * value), and into mt the text of /etc/mvm/mounts, one line a mount for
 * agent/init: "ROLE TARGET MODE drive" or "- TARGET MODE tmpfs SIZE_MB"
 * (empty when there is no mount).
 */
static void emit_mounts(const struct jdoc *d, jref app, int deps, struct buf *o, struct buf *mt)
{
	jref ms = json_get(d, app, "mounts"), env = json_get(d, app, "env"), x;
	jref root = json_root(d);
	size_t i = 0, n;
	int first = 1;

	buf_puts(o, ",\"drives\":[{\"name\":\"root\",\"target\":\"/\",\"mode\":\"ro\"}");
	if (deps)    /* the deps volume (mvm-deps(1)), read-only */
		buf_puts(o, ",{\"name\":\"deps\",\"target\":\"/mnt/deps\",\"mode\":\"ro\"}");
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
static int emit(const struct jdoc *d, jref app, jref fn, const char *hash, int dev, struct buf *o,
	struct merr *e)
{
	struct buf w = BUF_INIT, r = BUF_INIT, sj = BUF_INIT, mt = BUF_INIT;
	jref cmd = command_of(d, app);
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
		/* literals (a secret_ref goes into "secrets", emit_mounts),
		 * and the proxy's variables */
		size_t mark = r.len;

		buf_puts(&r, ",\"env\":{");
		for (jref k = env != JREF_NONE ? json_first_key(d, env) : JREF_NONE; k != JREF_NONE;
		    k = json_next_key(d, k)) {
			if (!json_str_eq(d, json_get(d, json_value(k), "kind"), "literal"))
				continue;
			if (r.p[r.len - 1] != '{')
				buf_putc(&r, ',');
			json_canon(d, k, &r);
			buf_putc(&r, ':');
			json_canon(d, json_get(d, json_value(k), "value"), &r);
		}
		lower_proxy_env(d, app, &r);
		if (r.p[r.len - 1] == '{')
			r.len = mark;    /* secrets only: no "env" */
		else
			buf_putc(&r, '}');
	}
	buf_puts(&r, ",\"functions\":[");

	buf_puts(o, ",\"files\":{");
	lower_egress_emit(d, app, 1, o);
	if (mt.len) {
		put_file(o, "/etc/mvm/mounts", "0444");
		json_put_str(o, mt.p, mt.len);
		buf_puts(o, "},");
	}
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

int ir_lower(const struct jdoc *d, unsigned flags, struct buf *out, struct ir_errors *refused,
	struct merr *e)
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
	if (app == JREF_NONE || (fn == JREF_NONE && command_of(n, app) == JREF_NONE)) {
		rc = merr_set(e, EX_SYS, NULL, "internal error: lowering an IR that is not valid");
		goto done;
	}
	if ((rc = emit(n, app, fn, hash, !!(flags & LOWER_DEV), &o, e)) != 0)
		goto done;
	rc = json_canonicalize(o.p, o.len, NULL, out, e);
done:
	json_free(n);
	buf_free(&canon);
	buf_free(&norm);
	buf_free(&o);
	return rc;
}
