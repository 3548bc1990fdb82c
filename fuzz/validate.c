/* fuzz/validate.c — libFuzzer harness for the Workload IR validator,
 * its normalizer and the lockfile checks.
 * Checks: no crash or sanitizer report on any input; every error has a
 * code, a pointer that is "" or starts with '/', and a detail; an IR
 * that validates normalizes to bytes that validate again and normalize
 * to themselves.  The input's first byte also picks a lockfile checker
 * that gets the rest as a lockfile. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"
#include "json.h"
#include "lockfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *langs[] = { "python", "node", "typescript" };
static char *toks[] = { "token", "password", "secret", "api_key", "apikey", "credit_card",
	"cvv", "iban", "private_key" };
static const struct strlist L = { langs, 3 }, T = { toks, 9 };

static void check_errors(const struct ir_errors *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct ir_error *e = &l->v[i];
		if (!e->code || strncmp(e->code, "E_", 2) != 0 || !e->pointer || !e->detail ||
		    !e->detail[0] || (e->pointer[0] && e->pointer[0] != '/'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jopts o = { .max_depth = 256 };
	struct ir_config cfg = { &L, &T, NULL };
	struct ir_errors errs = { 0 }, errs2 = { 0 };
	struct buf n1 = BUF_INIT, n2 = BUF_INIT;
	struct merr e;
	struct jdoc *d, *d2;
	char detail[512];

	if (size > 0) {
		int r = lockfile_check_buf(data[0] % 5, (const char *)data + 1, size - 1, detail,
			sizeof detail);
		if (r != LOCK_PINNED && (r != LOCK_UNPINNED || !detail[0]))
			abort();
	}
	d = json_parse((const char *)data, size, &o, &e);
	if (!d)
		return 0;
	if (ir_validate(d, &cfg, &errs, &e) != 0)
		abort();   /* no lockfiles are read: only memory could fail */
	check_errors(&errs);
	if (errs.n == 0) {
		if (ir_normalize(d, &n1, &e) != 0)
			abort();
		d2 = json_parse(n1.p, n1.len, &o, &e);
		if (!d2 || ir_validate(d2, &cfg, &errs2, &e) != 0 || errs2.n != 0)
			abort();   /* the normalized IR is valid */
		if (ir_normalize(d2, &n2, &e) != 0 || n1.len != n2.len ||
		    memcmp(n1.p, n2.p, n1.len) != 0)
			abort();   /* and a fixed point */
		json_free(d2);
	}
	ir_errors_free(&errs);
	ir_errors_free(&errs2);
	buf_free(&n1);
	buf_free(&n2);
	json_free(d);
	return 0;
}
