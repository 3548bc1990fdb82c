/* fuzz/canon.c — libFuzzer harness for the JSON reader and RFC 8785 writer.
 * Checks: no crash or sanitizer report on any input, and for every input
 * that is accepted, canon(canon(x)) == canon(x) and canon(x) is accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jopts o = { .max_depth = 256 };
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct merr e;

	if (json_canonicalize((const char *)data, size, &o, &a, &e) != 0) {
		if (e.code != EX_DATA)
			abort();   /* only malformed input may be refused */
		buf_free(&a);
		return 0;
	}
	if (json_canonicalize(a.p ? a.p : "", a.len, &o, &b, &e) != 0)
		abort();           /* canonical output must be accepted */
	if (a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0))
		abort();           /* and be a fixed point */
	buf_free(&a);
	buf_free(&b);
	return 0;
}
