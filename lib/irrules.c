/* irrules.c — ir_validate (ir.h): the structural check, then the semantic
 * rules in their order (mvm-ir(5) numbers them): version, ids, apps,
 * network, dependencies and lockfiles, addons, volumes.  The entrypoint
 * rules are in irentry.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ir_int.h"
#include "lockfile.h"
#include "pairset.h"

/* The id rule: 1 to 63 bytes of [a-z0-9-], starting with [a-z]. */
static int valid_id(const char *s, size_t n)
{
	if (n < 1 || n > 63 || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static void check_id(struct vctx *c, jref v, const char *what)
{
	size_t n;
	const char *s = sget(c->d, v, &n);
	char qb[400];

	if (s && !valid_id(s, n))
		ir_add(c, "E_INVALID_ID", "%s %s does not match ^[a-z][a-z0-9-]{0,62}$", what,
			ir_quote(qb, sizeof qb, s, n));
}

/* A decimal u32 without sign or leading zeros; -1 if not. */
static long long parse_u32(const char *s, size_t n)
{
	long long v = 0;

	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v > 4294967295LL ? -1 : v;
}

static void rule_version(struct vctx *c, jref v)
{
	size_t n, old;
	const char *s = sget(c->d, v, &n);
	const char *dot;
	char qb[400];
	long long major, minor;

	if (!s)
		return;
	old = push_name(c, "schema_version");
	dot = memchr(s, '.', n);
	if (!dot || (major = parse_u32(s, (size_t)(dot - s))) < 0 ||
	    (minor = parse_u32(dot + 1, n - (size_t)(dot - s) - 1)) < 0) {
		ir_add(c, "E_MALFORMED_VERSION", "schema_version %s is not MAJOR.MINOR (e.g. \"0.1\")",
			ir_quote(qb, sizeof qb, s, n));
	} else if (major != IR_MAJOR) {
		ir_add(c, "E_UNSUPPORTED_MAJOR", "major version %lld is not supported (this validator reads %d.x)",
			major, IR_MAJOR);
	} else if (minor > IR_MINOR) {
		ir_add(c, "E_MINOR_TOO_HIGH",
			"minor version %lld is newer than this validator supports (%d.%d)",
			minor, IR_MAJOR, IR_MINOR);
	}
	pop(c, old);
}

static int has_function(const struct jdoc *d, jref app)
{
	jref eps = get(d, app, "entrypoints");

	if (!is_type(d, eps, J_ARR))
		return 0;
	for (jref x = json_first(d, eps); x != JREF_NONE; x = json_next(d, x))
		if (str_is(d, get(d, x, "kind"), "function"))
			return 1;
	return 0;
}

static void rule_network(struct vctx *c, jref app)
{
	const struct jdoc *d = c->d;
	jref net = get(d, app, "network"), x, hosts, ports;
	size_t old, old2, old3, i;
	char qb[400];

	if (!is_type(d, net, J_OBJ))
		return;
	old = push_name(c, "network");
	jref mode = get(d, net, "mode");
	ports = get(d, net, "ports");
	if (str_is(d, mode, "none") && is_type(d, ports, J_ARR) && json_len(d, ports) > 0) {
		old2 = push_name(c, "ports");
		ir_add(c, "E_NETWORK_PORTS_WITH_NONE", "mode \"none\" has no network to forward ports from");
		pop(c, old2);
	}
	if (str_is(d, mode, "host") && has_function(d, app)) {
		old2 = push_name(c, "mode");
		ir_add(c, "E_FUNCTION_NETWORK_HOST_FORBIDDEN",
			"a function workload may not share the host's network");
		pop(c, old2);
	}
	hosts = get(d, get(d, net, "egress"), "allowlist");
	if (is_type(d, hosts, J_ARR)) {
		old2 = push_name(c, "egress");
		push_name(c, "allowlist");
		for (i = 0, x = json_first(d, hosts); x != JREF_NONE; x = json_next(d, x), i++) {
			size_t n;
			const char *h = sget(d, get(d, x, "host"), &n);
			if (!h || !ir_wildcard_host(h, n))
				continue;
			old3 = push_idx(c, i);
			push_name(c, "host");
			ir_add(c, "E_NETWORK_WILDCARD",
				"egress host %s allows everything; name hosts (exact, or *.domain)",
				ir_quote(qb, sizeof qb, h, n));
			pop(c, old3);
		}
		pop(c, old2);
	}
	x = get(d, net, "peers");
	if (is_type(d, x, J_ARR)) {
		old2 = push_name(c, "peers");
		for (i = 0, x = json_first(d, x); x != JREF_NONE; x = json_next(d, x), i++) {
			old3 = push_idx(c, i);
			check_id(c, x, "peer");
			pop(c, old3);
		}
		pop(c, old2);
	}
	pop(c, old);
}

static void rule_addons(struct vctx *c, jref app)
{
	const struct jdoc *d = c->d;
	jref addons = get(d, app, "addons"), a;
	size_t old, old2, old3, i;
	char qb[400];
	struct pairset seen;

	if (!is_type(d, addons, J_ARR))
		return;
	if (pairset_init(&seen, json_len(d, addons)) != 0) {
		c->oom = 1;
		return;
	}
	old = push_name(c, "addons");
	for (i = 0, a = json_first(d, addons); a != JREF_NONE; a = json_next(d, a), i++) {
		old2 = push_idx(c, i);
		old3 = push_name(c, "name");
		check_id(c, get(d, a, "name"), "addon name");
		pop(c, old3);
		jref alias = get(d, a, "alias");
		if (is_type(d, alias, J_STR)) {
			old3 = push_name(c, "alias");
			check_id(c, alias, "addon alias");
			pop(c, old3);
		}
		/* an earlier addon had the same name (a string) and the same
		 * alias, or like this one no alias (a non-string counts as none) */
		struct strpair p = { NULL, NULL, 0, 0 };
		p.a = sget(d, get(d, a, "name"), &p.an);
		p.b = sget(d, alias, &p.bn);
		if (p.a && (is_type(d, alias, J_STR) ? p.b != NULL : 1) && pairset_seen(&seen, &p))
			ir_add(c, "E_ADDON_ENV_COLLISION",
				"addon %s is attached twice with the same alias; give each a distinct alias",
				ir_quote(qb, sizeof qb, p.a, p.an));
		if (str_is(d, get(d, a, "tier"), "in_vm")) {
			old3 = push_name(c, "tier");
			ir_add(c, "E_ADDON_TIER_NOT_IMPLEMENTED", "tier \"in_vm\" is not implemented; use \"separate\"");
			pop(c, old3);
		}
		size_t n;
		const char *sha = sget(d, get(d, a, "sha256"), &n);
		if (sha && !is_hex64(sha, n)) {
			old3 = push_name(c, "sha256");
			ir_add(c, "E_ADDON_SHA_MISMATCH", "sha256 must be 64 lowercase hex digits");
			pop(c, old3);
		}
		jref ref = get(d, a, "ref");
		jref rk = get(d, ref, "kind");
		if (str_is(d, rk, "registry")) {
			static const char *const keys[] = { "url", "version", NULL };
			for (const char *const *k = keys; *k; k++) {
				jref x = get(d, ref, *k);
				if (is_type(d, x, J_STR) && json_len(d, x) == 0) {
					old3 = push_name(c, "ref");
					push_name(c, *k);
					ir_add(c, "E_ADDON_NOT_FOUND", "registry addon has an empty %s", *k);
					pop(c, old3);
				}
			}
		} else if (str_is(d, rk, "local")) {
			jref x = get(d, ref, "path");
			if (is_type(d, x, J_STR) && json_len(d, x) == 0) {
				old3 = push_name(c, "ref");
				push_name(c, "path");
				ir_add(c, "E_ADDON_LOCAL_PATH_DRIFT", "local addon has an empty path");
				pop(c, old3);
			}
		}
		pop(c, old2);
	}
	pop(c, old);
	free(seen.slot);
}

static int rule_lockfile(struct vctx *c, jref app, struct merr *e)
{
	const struct jdoc *d = c->d;
	jref deps = get(d, app, "dependencies"), src = get(d, app, "source");
	size_t tn, ln, pn, old;
	const char *tool = sget(d, get(d, deps, "tool"), &tn);
	const char *lock = sget(d, get(d, deps, "lockfile"), &ln);
	const char *path = sget(d, get(d, src, "path"), &pn);
	char detail[512];
	struct buf p = BUF_INIT;
	int t, r;

	if (!c->cfg->base_dir || !tool || !lock || !str_is(d, get(d, src, "kind"), "local_path") ||
	    !path || (t = lockfile_tool(tool, tn)) < 0 || ln == 0 || memchr(lock, '\0', ln) ||
	    memchr(path, '\0', pn))
		return 0;
	if (path[0] != '/') {
		buf_puts(&p, c->cfg->base_dir);
		buf_putc(&p, '/');
	}
	buf_put(&p, path, pn);
	if (!buf_cstr(&p)) {
		buf_free(&p);
		return merr_set(e, EX_SYS, NULL, "out of memory");
	}
	char *lk = strndup(lock, ln);
	if (!lk) {
		buf_free(&p);
		return merr_set(e, EX_SYS, NULL, "out of memory");
	}
	r = lockfile_check(t, p.p, lk, detail, sizeof detail, e);
	free(lk);
	if (r == EX_SYS) {
		buf_free(&p);
		return EX_SYS;
	}
	old = push_name(c, "dependencies");
	push_name(c, "lockfile");
	if (r == LOCK_NOT_FOUND)
		ir_add(c, "E_LOCKFILE_NOT_FOUND", "dependency lockfile not found: %s/%.*s", p.p, (int)ln, lock);
	else if (r == LOCK_OUTSIDE)
		ir_add(c, "E_LOCKFILE_NOT_FOUND",
			"dependency lockfile %.*s is outside the source directory %s (absolute, \"..\", or a symlink leaving it); it was not read",
			(int)ln, lock, p.p);
	else if (r == LOCK_UNPINNED)
		ir_add(c, "E_UNPINNED_DEPS", "lockfile %s/%.*s is not hash-pinned: %s", p.p, (int)ln, lock, detail);
	pop(c, old);
	buf_free(&p);
	return 0;
}

static int rule_app(struct vctx *c, jref app, struct merr *e)
{
	const struct jdoc *d = c->d;
	size_t old;
	jref x;

	if (!is_type(d, app, J_OBJ))
		return 0;
	/* 4: name */
	old = push_name(c, "name");
	check_id(c, get(d, app, "name"), "app name");
	pop(c, old);
	/* 5: deferred source kinds */
	x = get(d, get(d, app, "source"), "kind");
	if (str_is(d, x, "nix_derivation") || str_is(d, x, "oci_image")) {
		size_t n;
		const char *k = sget(d, x, &n);
		old = push_name(c, "source");
		push_name(c, "kind");
		ir_add(c, "E_SOURCE_KIND_DEFERRED", "source kind \"%.*s\" is not supported yet; use local_path",
			(int)n, k);
		pop(c, old);
	}
	/* 6: app env secrets */
	ir_rule_env_secrets(c, get(d, app, "env"));
	/* 7-19: entrypoints */
	ir_rule_entrypoints(c, app);
	/* 20-23: network */
	rule_network(c, app);
	/* 24: a dependency posture */
	x = get(d, app, "dependencies");
	if (x == JREF_NONE || json_type(d, x) == J_NULL) {
		old = push_name(c, "dependencies");
		if (has_function(d, app))
			ir_add(c, "E_DEPS_REQUIRED_FOR_FUNCTION_WORKLOAD",
				"a function app must declare its dependencies ({\"kind\":\"none\"} for none)");
		else
			ir_add(c, E_MALFORMED, "missing required field \"dependencies\" ({\"kind\":\"none\"} for none)");
		pop(c, old);
	} else if (rule_lockfile(c, app, e) != 0) {
		return EX_SYS;
	}
	/* 25-31: addons */
	rule_addons(c, app);
	return 0;
}

int ir_validate(const struct jdoc *d, const struct ir_config *cfg, struct ir_errors *out,
	struct merr *e)
{
	struct vctx c = { d, cfg, out, BUF_INIT, 0 };
	jref root = json_root(d), x;
	size_t i, old;

	ir_check_shape(&c);
	if (is_type(d, root, J_OBJ)) {
		/* 1: schema_version */
		rule_version(&c, get(d, root, "schema_version"));
		/* 2: id */
		old = push_name(&c, "id");
		check_id(&c, get(d, root, "id"), "workload id");
		pop(&c, old);
		/* 3: apps */
		jref apps = get(d, root, "apps");
		if (is_type(d, apps, J_ARR)) {
			old = push_name(&c, "apps");
			if (json_len(d, apps) == 0)
				ir_add(&c, "E_EMPTY_APPS", "the workload has no apps");
			else if (json_len(d, apps) > 1)
				ir_add(&c, "E_MULTI_APP_DEFERRED",
					"%zu apps: a workload has exactly one app for now",
					json_len(d, apps));
			for (i = 0, x = json_first(d, apps); x != JREF_NONE; x = json_next(d, x), i++) {
				size_t o2 = push_idx(&c, i);
				if (rule_app(&c, x, e) != 0) {
					buf_free(&c.ptr);
					return EX_SYS;
				}
				pop(&c, o2);
			}
			pop(&c, old);
		}
		/* 32: volumes */
		jref vols = get(d, root, "volumes");
		if (is_type(d, vols, J_ARR)) {
			old = push_name(&c, "volumes");
			for (i = 0, x = json_first(d, vols); x != JREF_NONE; x = json_next(d, x), i++) {
				if (!is_type(d, get(d, x, "persist"), J_TRUE))
					continue;
				size_t o2 = push_idx(&c, i);
				push_name(&c, "persist");
				ir_add(&c, "E_PERSIST_DEFERRED", "persistent volumes are not supported yet");
				pop(&c, o2);
			}
			pop(&c, old);
		}
	}
	buf_free(&c.ptr);
	if (c.oom)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	return 0;
}
