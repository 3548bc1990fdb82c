/* fuzz/provision.c — libFuzzer harness for the guest agent's reader of
 * the provisioning request (agent/provreq.c: provision_parse, which
 * provision.c calls on the request's JSON before applying any of it).
 * The request carries the secrets, and the agent logs and answers a
 * refusal's message, so a message must never carry a value.  The input is
 * the request's bytes.  Checks (agent.h, mvm-agent-protocol(5)
 * "Provisioning"): no crash, leak or sanitizer report; a refusal's
 * message is one of the fixed texts, or "provision: secret NAME: ..."
 * where NAME is "?" or the whole name of one of the request's secrets
 * (so no byte after a name, where the value may be, is shown); an
 * accepted request has "type", "seccomp" and at most "secrets", a tier of
 * 1..PROV_TIER_MAX bytes of [A-Za-z0-9_-], and every secret of the array,
 * in order, with the request's own name and value (no NUL in the value),
 * and an env name of [A-Za-z0-9_] not starting with a digit, MVM_, LD_ or
 * PYTHON, nor PATH, HOME or NODE_OPTIONS (some of the names a call's env
 * may not set either), or a file /mnt/secrets/NAME, NAME of [A-Za-z0-9._-]
 * not starting with '.'; no env or file twice. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fixed[] = {
	"provision: /seccomp: a tier name",
	"provision: /secrets: an array",
	"provision: unknown member in request",
	"provision: /secrets: {name, value, env or file}",
	"a secret file must be " PROV_SECRETS_DIR "NAME ([A-Za-z0-9._-])",
	"out of memory",
	NULL,
};

/* Is w[0..wl) the name of one of the secrets of d? */
static int a_name(const struct jdoc *d, const char *w, size_t wl)
{
	jref a = json_get(d, json_root(d), "secrets");

	for (jref s = json_first(d, a); s != JREF_NONE; s = json_next(d, s)) {
		size_t nl;
		const char *n = json_str(d, json_get(d, s, "name"), &nl);
		if (n && nl == wl && !memcmp(n, w, wl))
			return 1;
	}
	return 0;
}

static void check_refusal(const struct jdoc *d, const char *msg)
{
	static const char pre[] = "provision: secret ";
	const char *w, *end;

	for (const char *const *f = fixed; *f; f++)
		if (!strcmp(msg, *f))
			return;
	if (strncmp(msg, pre, sizeof pre - 1))
		abort();   /* a message of no known form */
	w = msg + sizeof pre - 1;
	if (!(end = strstr(w, ": ")) ||
	    (strcmp(end, ": a NUL byte in its value") && strcmp(end, ": env var name not allowed") &&
	     strcmp(end, ": its env var is another secret's") &&
	     strcmp(end, ": its file is another secret's")))
		abort();
	if (!(end - w == 1 && *w == '?') && !a_name(d, w, (size_t)(end - w)))
		abort();   /* shows more than a secret's name: maybe its value */
	if (end - w > 64 || strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-?") !=
	    (size_t)(end - w))
		abort();
}

static void check(const struct jdoc *d, const struct prov_req *r)
{
	jref root = json_root(d), a = json_get(d, root, "secrets"), s;
	size_t i = 0, tl = strlen(r->tier);

	if (json_len(d, root) != (a == JREF_NONE ? 2u : 3u) ||
	    json_get(d, root, "type") == JREF_NONE || tl == 0 || tl > PROV_TIER_MAX ||
	    strspn(r->tier, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != tl ||
	    !json_str_eq(d, json_get(d, root, "seccomp"), r->tier))
		abort();
	for (s = json_first(d, a); s != JREF_NONE; s = json_next(d, s), i++) {
		const struct prov_secret *x = &r->s[i];
		size_t nl, vl, kl;
		const char *n = json_str(d, json_get(d, s, "name"), &nl);
		const char *v = json_str(d, json_get(d, s, "value"), &vl);
		const char *k = json_str(d, json_get(d, s, x->env ? "env" : "file"), &kl);

		if (i >= r->n || !n || !v || !k || x->name != n || x->nl != nl || x->value != v ||
		    x->vl != vl || x->key != k || x->kl != kl || memchr(v, 0, vl))
			abort();   /* not the request's secret */
		if (x->env && (!prov_tame(k, kl, "_") || (k[0] >= '0' && k[0] <= '9') ||
		    (kl >= 4 && !memcmp(k, "MVM_", 4)) || (kl >= 3 && !memcmp(k, "LD_", 3)) ||
		    (kl == 4 && !memcmp(k, "PATH", 4)) || (kl == 4 && !memcmp(k, "HOME", 4)) ||
		    (kl >= 6 && !memcmp(k, "PYTHON", 6)) || (kl == 12 && !memcmp(k, "NODE_OPTIONS", 12))))
			abort();   /* a name the runners' environment must not get from here */
		for (size_t j = 0; j < i; j++)
			if (r->s[j].env == x->env && r->s[j].kl == kl && !memcmp(r->s[j].key, k, kl))
				abort();   /* one variable or file twice */
		if (!x->env && (kl <= strlen(PROV_SECRETS_DIR) ||
		    memcmp(k, PROV_SECRETS_DIR, strlen(PROV_SECRETS_DIR)) ||
		    k[strlen(PROV_SECRETS_DIR)] == '.' ||
		    !prov_tame(k + strlen(PROV_SECRETS_DIR), kl - strlen(PROV_SECRETS_DIR), "._-")))
			abort();
	}
	if (i != r->n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct merr e = { 0 };
	struct jdoc *d = json_parse((const char *)data, size, NULL, &e);
	struct prov_req r;
	char msg[256] = "";

	if (!d)
		return 0;  /* provision() refuses it before provision_parse */
	if (provision_parse(d, &r, msg, sizeof msg) != 0) {
		if (r.n || r.s)
			abort();   /* a refusal keeps nothing */
		check_refusal(d, msg);
	} else {
		check(d, &r);
	}
	prov_req_free(&r);
	json_free(d);
	return 0;
}
