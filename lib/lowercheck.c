/* lowercheck.c — the refusals of ir_lower: the workload, its app, network, entrypoints, functions and env (lower_int.h) */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "loweregress.h"
#include "lower.h"
#include "lower_int.h"

/* Append a refusal at the current pointer (+ tok when not NULL). */
void lower_refuse(struct lctx *c, const char *tok, const char *fmt, ...)
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


/* Refuse every member of obj not in the list `ok`. */
void lower_only(struct lctx *c, jref obj, const char *const *ok, const char *what)
{
	for (jref k = json_first_key(c->d, obj); k != JREF_NONE; k = json_next_key(c->d, k)) {
		size_t n, old = c->ptr.len;
		const char *s = json_str(c->d, k, &n);
		if (in(ok, s, n))
			continue;
		json_ptr_push(&c->ptr, s, n);
		lower_refuse(c, NULL, "%s \"%.*s\" is not supported by this backend yet", what,
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
	lower_refuse(c, "kind", "%s kind \"%.*s\" is not supported by this backend yet", field,
		(int)(n > 64 ? 64 : n), s);
	c->ptr.len = old;
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
	lower_only(c, x, fn_ok, "the function's");
	for (const char *const *k = schemas; *k; k++) {
		jref v = get(c, x, *k);
		size_t o2 = c->ptr.len;

		if (v == JREF_NONE || json_type(c->d, v) == J_NULL)
			continue;
		json_ptr_push(&c->ptr, *k, strlen(*k));
		lower_schema_check(c, v);
		c->ptr.len = o2;
	}
	if (nfn > 1 && get(c, x, "concurrency") != JREF_NONE)
		lower_refuse(c, "concurrency", "a warm pool in an app of more than one function is not "
			"supported by this backend yet (a pool serves one function)");
	if (prim != JREF_NONE && x != prim) {
		if (!same_str(c, get(c, x, "language"), get(c, prim, "language")))
			lower_refuse(c, "language", "functions of another language than the primary's are not "
				"supported by this backend yet (an image has one runner)");
		if (!same_str(c, get(c, x, "working_dir"), get(c, prim, "working_dir")))
			lower_refuse(c, "working_dir", "a working_dir other than the primary's is not supported "
				"by this backend yet (an image has one source tree)");
	}
	/* the name: unique in the app */
	for (jref y = json_first(c->d, eps); y != JREF_NONE && y != x; y = json_next(c->d, y), j++)
		if (str_is(c, get(c, y, "kind"), "function") &&
		    same_str(c, get(c, y, "function"), get(c, x, "function"))) {
			lower_refuse(c, "function", "a second function entrypoint named like entrypoint %zu is "
				"not supported by this backend yet (a call names a function by its "
				"\"function\")", j);
			break;
		}
	c->ptr.len = old;
}

/* The app's env: literals are delivered (runtime.json "env"); a
 * secret_ref is not yet; a name the agent reserves is refused. */

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
			lower_refuse(c, NULL, "an env name the agent reserves (LD_*, PYTHON*, NODE_OPTIONS, "
				"PATH, HOME, MVM_*, ...: mvm-agent-protocol(5)) is not supported by this "
				"backend yet");
		else if (c->egress && lower_proxy_var(ks, n))
			lower_refuse(c, NULL, "the egress proxy sets this variable (network.egress)");
		else if (str_is(c, kind, "secret_ref") && secrets)
			lower_check_secret(c, k);    /* delivered by the provisioning */
		else if (str_is(c, kind, "secret_ref"))
			lower_refuse(c, "kind", "a secret_ref env entry of a command is not supported by "
				"this backend yet");
		else if (!str_is(c, kind, "literal"))
			lower_refuse(c, "kind", "this env entry kind is not supported by this backend yet");
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
			lower_refuse(c, idx, "a second command entrypoint is not supported by this backend yet");
		} else {
			/* issue #16: one command service (service.json) */
			size_t o2 = c->ptr.len;

			json_ptr_push(&c->ptr, idx, strlen(idx));
			lower_only(c, x, cmd_ok, "the command's");
			check_env(c, get(c, x, "env"), 0);
			c->ptr.len = o2;
		}
	}
	if (prim == JREF_NONE && ncmd == 0)
		lower_refuse(c, NULL, "an app without a function or command entrypoint is not supported by this backend yet");
	c->ptr.len = old;
}

static void check_network(struct lctx *c, jref x, const char *const *net_ok)
{
	jref ports = get(c, x, "ports"), eg = get(c, x, "egress"), peers = get(c, x, "peers");
	jref dns = get(c, x, "dns");
	int none = str_is(c, get(c, x, "mode"), "none");

	lower_only(c, x, net_ok, "the network's");
	if (!none && !str_is(c, get(c, x, "mode"), "bridge"))
		lower_refuse(c, "mode", "a network mode other than \"none\" or \"bridge\" is not supported by this backend yet");
	/* (ports with mode "none": ir-validate's E_NETWORK_PORTS_WITH_NONE) */
	if (ports != JREF_NONE && json_len(c->d, ports) > 16)
		lower_refuse(c, "ports", "more than 16 ports are not supported by this backend yet");
	/* A UDP port is forwarded by QEMU (hostfwd=udp:...), but in a boot
	 * test no datagram from the host was answered through it under
	 * restrict=on, so it is refused rather than declared and not
	 * delivered. */
	size_t pi = 0, o1 = c->ptr.len;
	for (jref p = ports != JREF_NONE ? json_first(c->d, ports) : JREF_NONE; p != JREF_NONE;
	    p = json_next(c->d, p), pi++)
		if (str_is(c, get(c, p, "proto"), "udp")) {
			json_ptr_push(&c->ptr, "ports", 5);
			json_ptr_push_index(&c->ptr, pi);
			lower_refuse(c, "proto", "a UDP port is not supported by this backend yet "
				"(only TCP ports are forwarded)");
			c->ptr.len = o1;
		}
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
				lower_refuse(c, "host", "%s: not supported by this backend", e.msg);
			c->ptr.len = o2;
		}
	}
	if (peers != JREF_NONE && json_len(c->d, peers) > 0)
		lower_refuse(c, "peers", "peers are not supported by this backend yet");
	if (dns != JREF_NONE && json_type(c->d, dns) != J_NULL && !str_is(c, get(c, dns, "kind"), "none"))
		lower_refuse(c, "dns", "a guest resolver is not supported by this backend (only the egress proxy resolves)");
}

/* Everything the backends do not deliver, refused (lower.h). */
void lower_check(struct lctx *c, jref root, jref *appp, jref *primp)
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

	lower_only(c, root, top_ok, "the workload's");
	for (i = 0, x = app; x != JREF_NONE; x = json_next(c->d, x), i++) {
		if (i == 0)
			continue;
		snprintf(idx, sizeof idx, "/apps/%zu", i);
		buf_puts(&c->ptr, idx);
		lower_refuse(c, NULL, "a second app is not supported by this backend yet");
		c->ptr.len = 0;
	}
	*appp = app;
	*primp = JREF_NONE;
	if (app == JREF_NONE)
		return;
	buf_puts(&c->ptr, "/apps/0");
	lower_only(c, app, app_ok, "the app's");
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
		lower_refuse(c, "tool", "dependencies tool is not supported by this backend yet (mvm-deps installs pip_tools, uv, npm, pnpm and yarn lockfiles)");
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
		lower_only(c, x, res_ok, "the resource");
		c->ptr.len = 7;
	}
	*primp = ir_primary(c->d, app);
	x = get(c, app, "dependencies");
	if (*primp == JREF_NONE && x != JREF_NONE && !str_is(c, get(c, x, "kind"), "none")) {
		/* the deps volume is found by a function's runner, not a command */
		buf_puts(&c->ptr, "/dependencies");
		lower_refuse(c, NULL, "dependencies of an app without a function entrypoint are not "
			"supported by this backend yet");
		c->ptr.len = 7;
	}
	check_entrypoints(c, app, *primp);
	lower_check_mounts(c, root, app);
	check_env(c, get(c, app, "env"), 1);
	c->ptr.len = 0;
}
