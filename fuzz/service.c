/* fuzz/service.c — libFuzzer harness for the guest agent's reader of
 * /etc/mvm/service.json (agent/service.c: service_parse, what the
 * service's supervisor does with the file's bytes).  The file comes with
 * the image, whose builder chose its bytes.  The first input byte picks
 * the provisioned variables before the file's (none, PATH, PATH and a
 * secret, or 255 of them: the most the supervisor's array holds); the
 * rest is the file.  Checks (agent.h): no crash, leak or sanitizer
 * report; a refusal says why, its where printable ASCII; an accepted
 * file gives exactly its command
 * (1 to SERVICE_ARGS words, in order, NULL after), the provisioned
 * variables, HOME=/tmp, then every member of its env in order as
 * NAME=VALUE (none dropped), NULL after, no name empty or given twice;
 * and its working_dir as the working directory (none when absent). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What service.c uses of the rest of the agent. */
struct agent_opt opt;
char **base_env;
size_t nbase_env;
void logmsg(const char *fmt, ...) { (void)fmt; }
int seccomp_apply(void) { abort(); }

static char *argv[SERVICE_ARGS + 1], *env[SERVICE_ENV + 2];
static char *base[SERVICE_ENV];

static void init_base(void)
{
	static char path[] = "PATH=/usr/bin:/bin", key[] = "API_KEY=v-1";
	base[0] = path;
	base[1] = key;
	for (size_t i = 2; i < SERVICE_ENV; i++) {
		char s[32];
		snprintf(s, sizeof s, "SECRET_%zu=x", i);
		if (!(base[i] = strdup(s)))
			abort();
	}
}

/* Does "NAME=..." s name n bytes k? */
static int names(const char *s, const char *k, size_t n)
{
	return !strncmp(s, k, n) && s[n] == '=';
}

static void check(const char *p, size_t len, size_t nbase, const char *cwd)
{
	struct merr e = { 0 };
	struct jdoc *d = json_parse(p, len, NULL, &e);
	jref c, x;
	size_t n = 0, m;

	if (!d)
		abort();   /* accepted, yet not JSON */
	c = json_get(d, json_root(d), "command");
	for (x = json_first(d, c); x != JREF_NONE; x = json_next(d, x), n++) {
		size_t wl;
		const char *w = json_str(d, x, &wl);
		if (n >= SERVICE_ARGS || !argv[n] || strlen(argv[n]) != wl || memcmp(argv[n], w, wl))
			abort();   /* not the file's word */
	}
	if (n == 0 || argv[n])
		abort();
	for (m = 0; m < nbase; m++)
		if (env[m] != base[m])
			abort();   /* a provisioned variable dropped or moved */
	if (!env[m] || strcmp(env[m++], "HOME=/tmp"))
		abort();
	x = json_get(d, json_root(d), "env");
	for (jref k = json_first_key(d, x); k != JREF_NONE; k = json_next_key(d, k), m++) {
		size_t kl, vl;
		const char *ks = json_str(d, k, &kl), *vs = json_str(d, json_value(k), &vl);
		if (m > SERVICE_ENV || !env[m] || !names(env[m], ks, kl) ||
		    strlen(env[m] + kl + 1) != vl || memcmp(env[m] + kl + 1, vs, vl))
			abort();   /* not the file's variable, or dropped */
	}
	if (env[m])
		abort();
	for (size_t i = 0; i < m; i++) {
		const char *eq = strchr(env[i], '=');
		if (!eq || eq == env[i])
			abort();   /* no name */
		for (size_t j = 0; j < i; j++)
			if (names(env[j], env[i], (size_t)(eq - env[i])))
				abort();   /* one name twice */
	}
	x = json_get(d, json_root(d), "working_dir");
	if (x == JREF_NONE ? cwd != NULL :
	    !cwd || json_type(d, x) != J_STR || strlen(cwd) != json_len(d, x) ||
	    memcmp(cwd, json_str(d, x, &n), json_len(d, x)))
		abort();   /* not the file's working directory */
	json_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t nb[4] = { 0, 1, 2, SERVICE_ENV - 1 };
	struct merr e = { 0 };
	char *cwd = NULL;
	size_t nbase;
	int rc;

	if (size < 1)
		return 0;
	if (!base[0])
		init_base();
	nbase = nb[data[0] % 4];
	memset(argv, 0, sizeof argv);
	memset(env, 0, sizeof env);
	rc = service_parse((const char *)data + 1, size - 1, base, nbase, argv, env, &cwd, &e);
	if (rc != 0 && (rc != -1 || !e.msg[0] || !e.code))
		abort();   /* a refusal says why */
	for (const char *w = e.where; rc != 0 && *w; w++)
		if (*w < 0x20 || *w >= 0x7f)
			abort();   /* the pointer reaches the console as it is */
	if (rc == 0)
		check((const char *)data + 1, size - 1, nbase, cwd);
	for (size_t i = 0; i <= SERVICE_ARGS; i++)
		free(argv[i]);
	for (size_t i = nbase + 1; i < SERVICE_ENV + 2; i++)
		free(env[i]);
	free(cwd);
	return 0;
}
