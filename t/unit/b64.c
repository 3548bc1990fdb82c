/* t/unit/b64.c — base64 (lib/b64.c) against RFC 4648 section 10's test
 * vectors and against an independent implementation, libsodium's
 * sodium_bin2base64 / sodium_base642bin (VARIANT_ORIGINAL, as lib/enc.c
 * used them before base64 became ours): the same text for 4,000 random
 * inputs of 0-300 bytes, and the same answer (refused, or the same bytes)
 * for each of them with one byte changed to every value, with a byte cut
 * off, and for strings of 4-16 bytes drawn from the alphabet, '=' and a few
 * bytes outside it.  Except for one difference, on purpose: libsodium
 * 1.0.18 (Debian 12) reads every byte >= 0x80 as '/' (63), so that
 * "Zm\x80v" decodes as "Zm/v" does; those bytes are not in the alphabet and
 * ours refuses them (checked below: 128 such bytes, each refused). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "b64.h"

#define UNIT_NAME "b64"
#include "check.h"

/* libsodium's answer for in[0..n): 1 with its bytes in out (*outlen of them), or 0 */
static int sodium_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *outlen)
{
	const char *end = NULL;

	if (n % 4 != 0)
		return 0;
	return sodium_base642bin(out, cap, in, n, NULL, outlen, &end,
		sodium_base64_VARIANT_ORIGINAL) == 0 && end == in + n;
}

/* ours and libsodium's decoding of in[0..n) agree (a byte >= 0x80:
 * refused by ours, whatever libsodium says) */
static int same_decode(const char *in, size_t n)
{
	unsigned char want[512];
	size_t wn = 0, gn = 0, i;
	int ok;

	for (i = 0; i < n && (unsigned char)in[i] < 0x80; i++)
		;
	ok = i == n && sodium_decode(in, n, want, sizeof want, &wn);
	unsigned char *got = b64_decode(in, n, &gn);
	int same = ok ? got && gn == wn && memcmp(got, want, wn) == 0 : !got;

	free(got);
	return same;
}

static void rfc4648(void)
{
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *e = b64_encode((const unsigned char *)v[i][0], strlen(v[i][0]));
		size_t n = 99;
		unsigned char *d = b64_decode(v[i][1], strlen(v[i][1]), &n);

		check(e && strcmp(e, v[i][1]) == 0, "encode \"%s\": %s", v[i][0], e ? e : "NULL");
		check(d && n == strlen(v[i][0]) && memcmp(d, v[i][0], n) == 0,
			"decode \"%s\"", v[i][1]);
		free(e);
		free(d);
	}
	/* refused: not canonical, no padding, padding inside, whitespace, other letters */
	static const char *const bad[] = { "Zh==", "Zm9=", "Zg", "Zg=", "Zg==Zg==", "Z===",
		"====", "Zm 9", "Zm9v\n", "Zm-_", "Zm9\0" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = i == sizeof bad / sizeof bad[0] - 1 ? 4 : strlen(bad[i]);
		unsigned char *d = b64_decode(bad[i], n, &n);

		check(!d, "\"%s\" refused", bad[i]);
		free(d);
	}
	for (int c = 0x80; c < 0x100; c++) {
		char t[4] = { 'Z', 'm', (char)c, 'v' };
		size_t n;
		unsigned char *d = b64_decode(t, 4, &n);

		check(!d, "Zm\\x%02xv refused", c);
		free(d);
	}
}

static void against_sodium(void)
{
	static const char pick[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		"====-_ \n.";
	unsigned char in[300];
	char want[420], s[17];

	srand(4648);
	for (int t = 0; t < 4000; t++) {
		size_t n = (size_t)rand() % sizeof in, len;
		char *got;

		for (size_t i = 0; i < n; i++)
			in[i] = (unsigned char)rand();
		sodium_bin2base64(want, sizeof want, in, n, sodium_base64_VARIANT_ORIGINAL);
		got = b64_encode(in, n);
		check(got && strcmp(got, want) == 0, "encode of %zu random bytes (try %d)", n, t);
		len = strlen(want);
		check(same_decode(want, len), "decode of try %d", t);
		if (len > 0) {
			size_t at = (size_t)rand() % len;
			char keep = want[at];

			for (int c = 0; c < 256; c++) {
				want[at] = (char)c;
				check(same_decode(want, len), "try %d, byte %zu as 0x%02x", t, at, c);
			}
			want[at] = keep;
			check(same_decode(want, len - 1), "try %d cut by one byte", t);
		}
		free(got);
	}
	for (int t = 0; t < 200000; t++) {
		size_t n = 4 * (1 + (size_t)rand() % 4);

		for (size_t i = 0; i < n; i++)
			s[i] = pick[(size_t)rand() % (sizeof pick - 1)];
		check(same_decode(s, n), "drawn string %.*s", (int)n, s);
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 2;
	rfc4648();
	against_sodium();
	return check_report();
}
