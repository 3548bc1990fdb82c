/* fuzz/dsse.c — libFuzzer harness for the DSSE envelope reader and the
 * ExecutionPlan reader (what plan-verify parses from untrusted input).
 * Checks: no crash or sanitizer report; refusals are only EX_DATA or
 * EX_NO; an accepted plan writes back to bytes that read as the same
 * plan; the PAE of an accepted envelope has the length DSSE defines. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dsse.h"
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_plan(const char *p, size_t n, int flags)
{
	struct plan a, b;
	struct buf out = BUF_INIT;
	struct merr e;
	int r = plan_parse(p, n, flags, &a, &e);

	if (r != 0) {
		if (r != EX_DATA && r != EX_NO)
			abort();
		return;
	}
	if (plan_write(&a, &out, &e) != 0)
		abort();
	/* A plan accepted as canonical is its own written form. */
	if ((flags & PLAN_CANONICAL) && (out.len != n || memcmp(out.p, p, n) != 0))
		abort();
	if (plan_parse(out.p, out.len, PLAN_CANONICAL, &b, &e) != 0)
		abort();
	if (strcmp(a.plan_id, b.plan_id) != 0 || a.valid_from != b.valid_from ||
	    a.valid_until != b.valid_until || strcmp(a.nonce, b.nonce) != 0)
		abort();
	plan_free(&b);
	plan_free(&a);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dsse_env env;
	struct merr e;
	int r;

	r = dsse_parse((const char *)data, size, &env, &e);
	if (r == 0) {
		struct buf pae = BUF_INIT;
		char num[64];
		size_t want;

		dsse_pae(&pae, env.type, env.tlen, env.payload, env.plen);
		want = 6 + 1 + (size_t)snprintf(num, sizeof num, "%zu", env.tlen) + 1 + env.tlen + 1 +
			(size_t)snprintf(num, sizeof num, "%zu", env.plen) + 1 + env.plen;
		if (pae.err || pae.len != want)
			abort();
		buf_free(&pae);
		check_plan((const char *)env.payload, env.plen, PLAN_CANONICAL);
		dsse_free(&env);
	} else if (r != EX_DATA && r != EX_NO) {
		abort();
	}
	/* The same bytes as a bare plan, canonical or not. */
	check_plan((const char *)data, size, 0);
	check_plan((const char *)data, size, PLAN_CANONICAL);
	return 0;
}
