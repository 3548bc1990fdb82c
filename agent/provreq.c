/* provreq.c — the provisioning request read and checked whole, before
 * provision.c applies any of it (agent.h "provision_parse"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"

/* n bytes of s, all of [A-Za-z0-9] or extra (no NUL), n > 0. */
int prov_tame(const char *s, size_t n, const char *extra)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr(extra, s[i])) || !s[i])
			return 0;
	return 1;
}

/* A secret's name for a message: its bytes when tame and short, else "?"
 * (never more: the value may follow the name in the request). */
static int who(const struct prov_secret *x, const char **s)
{
	*s = prov_tame(x->name, x->nl, "._-") && x->nl <= 64 ? x->name : "?";
	return *s == x->name ? (int)x->nl : 1;
}

/* One secret {name, value, env or file} s into x; 0, or -1 with msg. */
static int secret(const struct jdoc *d, jref s, struct prov_secret *x, char *msg, size_t ml)
{
	jref nm = json_get(d, s, "name"), v = json_get(d, s, "value");
	jref env = json_get(d, s, "env"), file = json_get(d, s, "file");
	const char *w;
	int wl;

	if (json_type(d, s) != J_OBJ || nm == JREF_NONE || json_type(d, nm) != J_STR ||
	    v == JREF_NONE || json_type(d, v) != J_STR || json_len(d, s) != 3 ||
	    (env == JREF_NONE) == (file == JREF_NONE) ||
	    json_type(d, env != JREF_NONE ? env : file) != J_STR) {
		snprintf(msg, ml, "provision: /secrets: {name, value, env or file}");
		return -1;
	}
	x->name = json_str(d, nm, &x->nl);
	x->value = json_str(d, v, &x->vl);
	x->key = json_str(d, env != JREF_NONE ? env : file, &x->kl);
	x->env = env != JREF_NONE;
	wl = who(x, &w);
	if (memchr(x->value, 0, x->vl)) {
		snprintf(msg, ml, "provision: secret %.*s: a NUL byte in its value", wl, w);
		return -1;
	}
	if (x->env && (!prov_tame(x->key, x->kl, "_") || (x->key[0] >= '0' && x->key[0] <= '9') ||
	    req_env_reserved(x->key, x->kl))) {
		snprintf(msg, ml, "provision: secret %.*s: env var name not allowed", wl, w);
		return -1;
	}
	if (!x->env && (x->kl <= strlen(PROV_SECRETS_DIR) ||
	    strncmp(x->key, PROV_SECRETS_DIR, strlen(PROV_SECRETS_DIR)) ||
	    !prov_tame(x->key + strlen(PROV_SECRETS_DIR), x->kl - strlen(PROV_SECRETS_DIR), "._-") ||
	    x->key[strlen(PROV_SECRETS_DIR)] == '.')) {
		snprintf(msg, ml, "a secret file must be " PROV_SECRETS_DIR "NAME ([A-Za-z0-9._-])");
		return -1;
	}
	return 0;
}

int provision_parse(const struct jdoc *d, struct prov_req *r, char *msg, size_t ml)
{
	jref root = json_root(d), tier = json_get(d, root, "seccomp");
	jref secrets = json_get(d, root, "secrets");
	size_t n, members = 2;
	const char *t;

	memset(r, 0, sizeof *r);
	if (tier == JREF_NONE || json_type(d, tier) != J_STR || !(t = json_str(d, tier, &n)) ||
	    !prov_tame(t, n, "_-") || n > PROV_TIER_MAX) {
		snprintf(msg, ml, "provision: /seccomp: a tier name");
		return -1;
	}
	if (secrets == JREF_NONE)
		members = 1;
	else if (json_type(d, secrets) != J_ARR) {
		snprintf(msg, ml, "provision: /secrets: an array");
		return -1;
	}
	if (json_len(d, root) != members + 1 || json_get(d, root, "type") == JREF_NONE) {
		snprintf(msg, ml, "provision: unknown member in request");
		return -1;
	}
	memcpy(r->tier, t, n);
	r->tier[n] = 0;
	if (json_len(d, secrets) &&
	    !(r->s = calloc(json_len(d, secrets), sizeof *r->s))) {
		snprintf(msg, ml, "out of memory");
		return -1;
	}
	for (jref s = json_first(d, secrets); s != JREF_NONE; s = json_next(d, s)) {
		const struct prov_secret *x = &r->s[r->n];

		if (secret(d, s, &r->s[r->n], msg, ml) != 0)
			goto bad;
		/* one variable or file, one secret: a second would be a second
		 * NAME= in the environment, or fail to be created */
		for (size_t i = 0; i < r->n; i++)
			if (r->s[i].env == x->env && r->s[i].kl == x->kl &&
			    !memcmp(r->s[i].key, x->key, x->kl)) {
				const char *w;
				int wl = who(x, &w);
				snprintf(msg, ml, "provision: secret %.*s: its %s is another secret's", wl,
					w, x->env ? "env var" : "file");
				goto bad;
			}
		r->n++;
	}
	return 0;
bad:
	free(r->s);
	memset(r, 0, sizeof *r);
	return -1;
}

void prov_req_free(struct prov_req *r)
{
	free(r->s);
	memset(r, 0, sizeof *r);
}
