/* fuzz/lower.c — libFuzzer harness for the lowering (lib/lower.c) of IRs
 * the validator accepts.
 * Checks: no crash or sanitizer report; a valid IR is either refused,
 * every refusal E_NOT_SUPPORTED with a pointer starting with '/' and a
 * detail, with nothing written, or lowered to canonical JSON (its own
 * RFC 8785 form) whose guest files are canonical JSON too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"
#include "json.h"
#include "lower.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *langs[] = { "python", "node", "typescript" };
static char *toks[] = { "token", "password", "secret" };
static const struct strlist L = { langs, 3 }, T = { toks, 3 };

/* The string member k of obj, canonical JSON itself. */
static void canonical_content(const struct jdoc *d, jref files, const char *path)
{
	struct buf c = BUF_INIT;
	struct merr e;
	size_t n;
	jref f = json_get(d, files, path), s;
	const char *p;

	if (f == JREF_NONE || (s = json_get(d, f, "content")) == JREF_NONE ||
	    !(p = json_str(d, s, &n)))
		abort();
	if (json_canonicalize(p, n, NULL, &c, &e) != 0 || c.len != n || memcmp(c.p, p, n) != 0)
		abort();
	buf_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jopts o = { .max_depth = 256 };
	struct ir_config cfg = { &L, &T, NULL };
	struct ir_errors errs = { 0 };
	struct buf out = BUF_INIT, again = BUF_INIT;
	struct merr e;
	struct jdoc *d, *l;

	d = json_parse((const char *)data, size, &o, &e);
	if (!d)
		return 0;
	if (ir_validate(d, &cfg, &errs, &e) != 0)
		abort();
	if (errs.n == 0) {
		if (ir_lower(d, 0, &out, &errs, &e) != 0)
			abort();
		for (size_t i = 0; i < errs.n; i++)
			if (strcmp(errs.v[i].code, E_NOT_SUPPORTED) != 0 ||
			    errs.v[i].pointer[0] != '/' || !errs.v[i].detail[0])
				abort();
		if (errs.n && out.len)
			abort();
		if (!errs.n) {
			if (!(l = json_parse(out.p, out.len, &o, &e)) ||
			    json_canon(l, json_root(l), &again) != 0 || again.len != out.len ||
			    memcmp(again.p, out.p, out.len) != 0)
				abort();
			jref files = json_get(l, json_root(l), "files");
			canonical_content(l, files, "/etc/mvm/runtime.json");
			canonical_content(l, files, "/etc/mvm/wrapper.json");
			json_free(l);
		}
	}
	ir_errors_free(&errs);
	buf_free(&out);
	buf_free(&again);
	json_free(d);
	return 0;
}
