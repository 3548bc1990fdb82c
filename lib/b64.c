/* b64.c — base64 (b64.h) */
#include <stdint.h>
#include <stdlib.h>
#include "b64.h"

static const char alphabet[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const unsigned char *in, size_t n)
{
	char *out, *o;
	size_t i = 0;

	if (n / 3 >= (SIZE_MAX - 1) / 4 - 1)
		return NULL;
	if (!(out = o = malloc((n + 2) / 3 * 4 + 1)))
		return NULL;
	for (; n - i >= 3; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		o[0] = alphabet[v >> 18];
		o[1] = alphabet[v >> 12 & 63];
		o[2] = alphabet[v >> 6 & 63];
		o[3] = alphabet[v & 63];
		o += 4;
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (n - i == 2 ? (uint32_t)in[i + 1] << 8 : 0);

		o[0] = alphabet[v >> 18];
		o[1] = alphabet[v >> 12 & 63];
		o[2] = n - i == 2 ? alphabet[v >> 6 & 63] : '=';
		o[3] = '=';
		o += 4;
	}
	*o = 0;
	return out;
}

/* value[c]: c's 6 bits, or 64 when c is not a letter of the alphabet */
#define N8 64, 64, 64, 64, 64, 64, 64, 64
#define N16 N8, N8
static const unsigned char value[256] = {
	N16, N16,
	N8, 64, 64, 64, 62, 64, 64, 64, 63,                     /* '+' 0x2b, '/' 0x2f */
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,
	64, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 64,
	64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,
	N16, N16, N16, N16, N16, N16, N16, N16,
};

unsigned char *b64_decode(const char *in, size_t inlen, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	unsigned char *out, *o;
	size_t i, whole;

	if (inlen % 4 != 0)
		return NULL;
	if (!(out = o = malloc(inlen / 4 * 3 + 1)))
		return NULL;
	/* every quantum but the last has no padding */
	whole = inlen >= 4 ? inlen - 4 : 0;
	for (i = 0; i < whole; i += 4) {
		unsigned a = value[p[i]], b = value[p[i + 1]], c = value[p[i + 2]], d = value[p[i + 3]];

		if ((a | b | c | d) & 64)
			goto bad;
		o[0] = (unsigned char)(a << 2 | b >> 4);
		o[1] = (unsigned char)(b << 4 | c >> 2);
		o[2] = (unsigned char)(c << 6 | d);
		o += 3;
	}
	if (inlen > 0) {
		unsigned a = value[p[i]], b = value[p[i + 1]], c = value[p[i + 2]], d = value[p[i + 3]];
		int pad = p[i + 3] != '=' ? 0 : p[i + 2] != '=' ? 1 : 2;

		if ((a | b) & 64 || (pad < 2 && c & 64) || (pad < 1 && d & 64))
			goto bad;
		/* canonical: the bits past the last whole byte are zero */
		if ((pad == 2 && (b & 15)) || (pad == 1 && (c & 3)))
			goto bad;
		*o++ = (unsigned char)(a << 2 | b >> 4);
		if (pad < 2)
			*o++ = (unsigned char)(b << 4 | c >> 2);
		if (pad < 1)
			*o++ = (unsigned char)(c << 6 | d);
	}
	*outlen = (size_t)(o - out);
	return out;
bad:
	free(out);
	return NULL;
}
