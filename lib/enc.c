/* enc.c — hex and SHA-256 on libsodium */
#include <string.h>
#include <sodium.h>
#include "enc.h"

void hex_encode(char *out, const unsigned char *in, size_t n)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

int hex_decode(unsigned char *out, size_t n, const char *in, size_t inlen)
{
	size_t got = 0;
	const char *end = NULL;

	if (inlen != 2 * n)
		return -1;
	if (sodium_hex2bin(out, n, in, inlen, NULL, &got, &end) != 0 || got != n || end != in + inlen)
		return -1;
	return 0;
}

void sha256(unsigned char out[32], const void *data, size_t n)
{
	crypto_hash_sha256(out, data, n);
}

void sha256_hex(char out[65], const void *data, size_t n)
{
	unsigned char h[32];

	sha256(h, data, n);
	hex_encode(out, h, sizeof h);
}
