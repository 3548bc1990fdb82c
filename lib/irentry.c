/* irentry.c — the semantic rules on entrypoints (7-19 of mvm-ir(5)) and
 * on env secrets (6), and ir_primary (ir.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ir_int.h"
#include "pairset.h"

static void walk_schema(struct vctx *c, jref s, unsigned depth);

/* Walk each schema of the array x, member name of the schema walked. */
static void walk_each(struct vctx *c, const char *name, jref x, unsigned depth)
{
	size_t old = push_name(c, name), old2, i;
	jref k;

	for (i = 0, k = json_first(c->d, x); k != JREF_NONE; k = json_next(c->d, k), i++) {
		old2 = push_idx(c, i);
		walk_schema(c, k, depth);
		pop(c, old2);
	}
	pop(c, old);
}

/* Walk a JSON Schema: names under properties are checked; properties,
 * items, prefixItems, oneOf, anyOf, allOf, not, if/then/else, contains,
 * additionalProperties, patternProperties, dependentSchemas, $defs and
 * definitions are descended into. */
static void walk_schema(struct vctx *c, jref s, unsigned depth)
{
	const struct jdoc *d = c->d;
	static const char *const subs[] = { "items", "additionalProperties", "not", "if", "then",
		"else", "contains", "unevaluatedItems", "unevaluatedProperties", NULL };
	static const char *const arrs[] = { "prefixItems", "oneOf", "anyOf", "allOf", NULL };
	static const char *const maps[] = { "$defs", "definitions", "patternProperties",
		"dependentSchemas", NULL };
	char qb[400];
	size_t old, old2;
	jref p, k, x;

	if (!is_type(d, s, J_OBJ) || c->oom || depth > 10000)
		return;
	p = json_get(d, s, "properties");
	if (is_type(d, p, J_OBJ)) {
		old = push_name(c, "properties");
		for (k = json_first_key(d, p); k != JREF_NONE; k = json_next_key(d, k)) {
			size_t n;
			const char *name = json_str(d, k, &n);
			old2 = push_key(c, name, n);
			if (ir_secret_name(c->cfg->secret_tokens, name, n))
				ir_add(c, "E_SECRET_IN_SCHEMA",
					"property %s looks like a secret; pass secrets with a secret_ref, not as an argument or result",
					ir_quote(qb, sizeof qb, name, n));
			walk_schema(c, json_value(k), depth + 1);
			pop(c, old2);
		}
		pop(c, old);
	}
	for (const char *const *a = subs; *a; a++) {
		x = json_get(d, s, *a);
		if (is_type(d, x, J_OBJ)) {
			old = push_name(c, *a);
			walk_schema(c, x, depth + 1);
			pop(c, old);
		} else if (is_type(d, x, J_ARR) && strcmp(*a, "items") == 0) {
			walk_each(c, *a, x, depth + 1);
		}
	}
	for (const char *const *a = arrs; *a; a++) {
		x = json_get(d, s, *a);
		if (is_type(d, x, J_ARR))
			walk_each(c, *a, x, depth + 1);
	}
	for (const char *const *a = maps; *a; a++) {
		x = json_get(d, s, *a);
		if (!is_type(d, x, J_OBJ))
			continue;
		old = push_name(c, *a);
		for (k = json_first_key(d, x); k != JREF_NONE; k = json_next_key(d, k)) {
			size_t n;
			const char *name = json_str(d, k, &n);
			old2 = push_key(c, name, n);
			walk_schema(c, json_value(k), depth + 1);
			pop(c, old2);
		}
		pop(c, old);
	}
}

void ir_rule_env_secrets(struct vctx *c, jref env)
{
	const struct jdoc *d = c->d;

	if (!is_type(d, env, J_OBJ))
		return;
	size_t old = push_name(c, "env");
	for (jref k = json_first_key(d, env); k != JREF_NONE; k = json_next_key(d, k)) {
		jref v = json_value(k);
		jref hosts = get(d, get(d, v, "ref"), "allowed_hosts");
		if (str_is(d, get(d, v, "kind"), "secret_ref") && is_type(d, hosts, J_ARR) &&
		    json_len(d, hosts) == 0) {
			size_t n, old2;
			const char *name = json_str(d, k, &n);
			char qb[400];
			old2 = push_key(c, name, n);
			ir_add(c, "E_SECRET_WITHOUT_BINDING",
				"secret %s has no allowed_hosts: name the hosts it may be sent to",
				ir_quote(qb, sizeof qb, name, n));
			pop(c, old2);
		}
	}
	pop(c, old);
}

static void rule_concurrency(struct vctx *c, jref conc, jref app)
{
	const struct jdoc *d = c->d;
	jref x;
	size_t old;

	if (!str_is(d, get(d, conc, "kind"), "warm_process"))
		return;
	old = push_name(c, "concurrency");
	x = get(d, conc, "pool_size");
	if (is_type(d, x, J_NUM) && (json_num(d, x) < 1 || json_num(d, x) > 64)) {
		size_t o2 = push_name(c, "pool_size");
		ir_add(c, "E_INVALID_CONCURRENCY_POOL_SIZE", "pool_size %.0f is not from 1 to 64",
			json_num(d, x));
		pop(c, o2);
	}
	x = get(d, conc, "max_calls_per_worker");
	if (is_type(d, x, J_NUM) && json_num(d, x) < 100) {
		size_t o2 = push_name(c, "max_calls_per_worker");
		ir_add(c, "E_INVALID_CONCURRENCY_MAX_CALLS_PER_WORKER",
			"max_calls_per_worker %.0f is below 100", json_num(d, x));
		pop(c, o2);
	}
	x = get(d, conc, "max_rss_mb");
	jref mem = get(d, get(d, app, "resources"), "memory_mb");
	if (is_type(d, x, J_NUM) && is_type(d, mem, J_NUM) && json_num(d, x) > json_num(d, mem)) {
		size_t o2 = push_name(c, "max_rss_mb");
		ir_add(c, "E_INVALID_CONCURRENCY_MAX_RSS_MB",
			"max_rss_mb %.0f exceeds the app's memory_mb %.0f", json_num(d, x),
			json_num(d, mem));
		pop(c, o2);
	}
	x = get(d, conc, "in_process");
	if (str_is(d, x, "concurrent")) {
		size_t o2 = push_name(c, "in_process");
		ir_add(c, "E_UNSUPPORTED_CONCURRENCY_IN_PROCESS_MODE",
			"in_process \"concurrent\" is not supported; use \"serial\"");
		pop(c, o2);
	}
	pop(c, old);
}

static void rule_entrypoint(struct vctx *c, jref ep, jref app)
{
	const struct jdoc *d = c->d;
	jref kind = get(d, ep, "kind");
	size_t old, n;
	char qb[400], list[512];

	if (str_is(d, kind, "command")) {
		jref argv = get(d, ep, "command");
		if (is_type(d, argv, J_ARR) && ir_argv_shell(d, argv)) {
			old = push_name(c, "command");
			ir_add(c, "E_SHELL_ENTRYPOINT_FORBIDDEN",
				"the command runs a shell; run the program directly");
			pop(c, old);
		}
		ir_rule_env_secrets(c, get(d, ep, "env"));
		return;
	}
	if (!str_is(d, kind, "function"))
		return;
	const char *lang = sget(d, get(d, ep, "language"), &n);
	if (lang && !strlist_has(c->cfg->languages, lang, n)) {
		size_t k = 0;
		old = push_name(c, "language");
		list[0] = '\0';
		for (size_t i = 0; c->cfg->languages && i < c->cfg->languages->n && k < sizeof list; i++)
			k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "",
				c->cfg->languages->v[i]);
		ir_add(c, "E_UNSUPPORTED_LANGUAGE", "language %s is not supported (supported: %s)",
			ir_quote(qb, sizeof qb, lang, n), list);
		pop(c, old);
	}
	static const char *const schemas[] = { "args_schema", "return_schema", NULL };
	for (const char *const *s = schemas; *s; s++) {
		jref sc = get(d, ep, *s);
		if (is_type(d, sc, J_OBJ)) {
			old = push_name(c, *s);
			walk_schema(c, sc, 0);
			pop(c, old);
		}
	}
	rule_concurrency(c, get(d, ep, "concurrency"), app);
}

jref ir_primary(const struct jdoc *d, jref app)
{
	jref eps = get(d, app, "entrypoints"), x, lone = JREF_NONE, prim = JREF_NONE;
	size_t nfunc = 0, nprim = 0;

	if (!is_type(d, eps, J_ARR))
		return JREF_NONE;
	for (x = json_first(d, eps); x != JREF_NONE; x = json_next(d, x)) {
		if (!str_is(d, get(d, x, "kind"), "function"))
			continue;
		nfunc++;
		lone = x;
		if (is_type(d, get(d, x, "primary"), J_TRUE)) {
			nprim++;
			prim = x;
		}
	}
	if (nprim == 1)
		return prim;
	/* A lone function is its own primary, marked or not. */
	return nprim == 0 && nfunc == 1 ? lone : JREF_NONE;
}

void ir_rule_entrypoints(struct vctx *c, jref app)
{
	const struct jdoc *d = c->d;
	jref eps = get(d, app, "entrypoints");
	size_t nfunc = 0, nprim = 0, i, old, old2;
	jref x;
	char qb[400], qb2[160];

	if (!is_type(d, eps, J_ARR))
		return;
	old = push_name(c, "entrypoints");
	if (json_len(d, eps) == 0)
		ir_add(c, "E_EMPTY_APPS", "the app has no entrypoints");
	for (x = json_first(d, eps); x != JREF_NONE; x = json_next(d, x)) {
		if (!str_is(d, get(d, x, "kind"), "function"))
			continue;
		nfunc++;
		if (is_type(d, get(d, x, "primary"), J_TRUE))
			nprim++;
	}
	if (nfunc > 1) {
		/* a function entrypoint whose (module, function), both strings,
		 * an earlier function entrypoint already had */
		struct pairset seen = { NULL, 0 };
		if (pairset_init(&seen, nfunc) != 0)
			c->oom = 1;
		for (i = 0, x = json_first(d, eps); seen.slot && x != JREF_NONE; x = json_next(d, x), i++) {
			if (!str_is(d, get(d, x, "kind"), "function"))
				continue;
			struct strpair p = { NULL, NULL, 0, 0 };
			p.a = sget(d, get(d, x, "module"), &p.an);
			p.b = sget(d, get(d, x, "function"), &p.bn);
			if (!p.a || !p.b || !pairset_seen(&seen, &p))
				continue;
			old2 = push_idx(c, i);
			ir_add(c, "E_DUPLICATE_ENTRYPOINT_FUNCTION", "module %s function %s is declared twice",
				ir_quote(qb, sizeof qb, p.a, p.an), ir_quote(qb2, sizeof qb2, p.b, p.bn));
			pop(c, old2);
		}
		free(seen.slot);
		if (nprim == 0 && ir_primary(d, app) == JREF_NONE)
			ir_add(c, "E_NO_PRIMARY_ENTRYPOINT",
				"%zu function entrypoints and none is primary: mark exactly one \"primary\": true",
				nfunc);
	}
	if (nprim > 1)
		ir_add(c, "E_MULTIPLE_PRIMARY_ENTRYPOINTS",
			"%zu entrypoints are marked primary; exactly one may be", nprim);
	for (i = 0, x = json_first(d, eps); x != JREF_NONE; x = json_next(d, x), i++) {
		old2 = push_idx(c, i);
		rule_entrypoint(c, x, app);
		pop(c, old2);
	}
	pop(c, old);
}
