/* fuzz/b64.c — libFuzzer harness for base64 (lib/b64.c), differential:
 * the input decoded by ours and by libsodium (sodium_base642bin,
 * VARIANT_ORIGINAL, the whole input or nothing) must give the same answer,
 * except that ours refuses every byte >= 0x80, which libsodium 1.0.18 reads
 * as '/'; and the input's bytes encoded by ours are libsodium's text and
 * decode back to them. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *end = NULL;
	size_t n = 0, wn = 0, i, elen = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL);
	unsigned char *want = malloc(size / 4 * 3 + 1), *got = b64_decode(in, size, &n);
	char *e = b64_encode(data, size), *we = malloc(elen);
	int ok;

	if (!want || !e || !we || sodium_init() < 0)
		abort();
	for (i = 0; i < size && data[i] < 0x80; i++)
		;
	ok = i == size && size % 4 == 0 && sodium_base642bin(want, size / 4 * 3 + 1, in, size, NULL,
		&wn, &end, sodium_base64_VARIANT_ORIGINAL) == 0 && end == in + size;
	if (ok != (got != NULL) || (ok && (n != wn || memcmp(got, want, n) != 0)))
		abort();
	free(got);
	sodium_bin2base64(we, elen, data, size, sodium_base64_VARIANT_ORIGINAL);
	if (strcmp(e, we) != 0 || !(got = b64_decode(e, strlen(e), &n)) || n != size ||
	    memcmp(got, data, size) != 0)
		abort();
	free(got);
	free(e);
	free(we);
	free(want);
	return 0;
}
