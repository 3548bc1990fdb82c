/* t/unit/numparse.c — lib/numparse.c and the JSON reader's numbers against
 * glibc's strtod, the independent oracle (correctly rounded, ties to even)
 *
 * Every decided answer of np_decimal / np_decimal_cut, and every number the
 * JSON reader returns, must be strtod's double bit for bit.  Inputs
 * (deterministic, xorshift-seeded; NUMPARSE_ROUNDS=N multiplies the counts):
 *   - random w (1 to 20 digits) and q over and beyond the table's range;
 *   - random doubles printed with 1 to 17 significant digits;
 *   - the exact half-way points between neighbouring doubles (normal and
 *     subnormal, printed exactly from a long double), cut to 17-25 digits,
 *     one unit above and below, and with a 1 appended far out;
 *   - edges: 1e-324/5e-324/2^-1074, 2^-1022, DBL_MAX and 1e308, -0, 19-20
 *     digit mantissas, leading zeros, long digit strings;
 *   - every length of integer part and fraction up to 21 digits.
 * It also requires that random doubles' shortest forms are nearly all
 * decided without strtod (the point of the code).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "numparse.h"
#include "buf.h"
#include "err.h"

#define UNIT_NAME "numparse"
#include "check.h"

static uint64_t rs = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static uint64_t bits_of(double v)
{
	uint64_t b;

	memcpy(&b, &v, 8);
	return b;
}

static double from_bits(uint64_t b)
{
	double v;

	memcpy(&v, &b, 8);
	return v;
}

static unsigned long decided, asked;

/* np_decimal(w, q) against strtod of the same decimal */
static void one_wq(uint64_t w, int q, int neg)
{
	char s[64];
	double v = 0, want;

	snprintf(s, sizeof s, "%s%llue%d", neg ? "-" : "", (unsigned long long)w, q);
	want = strtod(s, NULL);
	asked++;
	if (np_decimal(w, q, neg, &v)) {
		decided++;
		check(bits_of(v) == bits_of(want), "np_decimal %s: %a, strtod %a", s, v, want);
	}
	if (w >= 1 && w < UINT64_MAX && np_decimal_cut(w, q, neg, &v)) {
		/* both ends agree: so must strtod of a point between them */
		snprintf(s, sizeof s, "%s%llu5e%d", neg ? "-" : "", (unsigned long long)w, q - 1);
		want = strtod(s, NULL);
		check(bits_of(v) == bits_of(want), "np_decimal_cut %s: %a, strtod %a", s, v, want);
	}
}

static void test_random_wq(unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		uint64_t w = rnd();
		int digits = 1 + (int)(rnd() % 20), q = (int)(rnd() % 700) - 370;
		uint64_t p = 1;

		for (int k = 0; k < digits && k < 19; k++)
			p *= 10;
		if (digits < 20)
			w %= p;
		one_wq(w, q, (int)(rnd() & 1));
		if (i % 8 == 0)        /* the exact path and its edges */
			one_wq(rnd() % ((1ull << 53) + 2), (int)(rnd() % 47) - 23, 0);
	}
}

/* --- texts through the JSON reader --- */

static struct buf doc = BUF_INIT;
static char **texts;
static size_t ntexts, captexts;
static unsigned long through_json;

/* strtod says inf: the reader must refuse the text alone */
static void refused(const char *s)
{
	struct merr e;
	struct jdoc *d = json_parse(s, strlen(s), NULL, &e);

	check(d == NULL, "%s: out of range, yet parsed", s);
	json_free(d);
}

static void flush(void)
{
	struct merr e;
	struct jdoc *d;
	jref v;
	size_t i = 0;

	buf_putc(&doc, ']');
	d = json_parse(doc.p, doc.len, NULL, &e);
	check(d != NULL, "batch of %zu numbers: %s", ntexts, d ? "" : e.msg);
	if (d) {
		for (v = json_first(d, json_root(d)); v != JREF_NONE; v = json_next(d, v), i++) {
			double got = json_num(d, v), want = strtod(texts[i], NULL);

			through_json++;
			check(bits_of(got) == bits_of(want), "reader %s: %a, strtod %a",
				texts[i], got, want);
		}
		check(i == ntexts, "batch: %zu of %zu numbers", i, ntexts);
		json_free(d);
	}
	for (i = 0; i < ntexts; i++)
		free(texts[i]);
	ntexts = 0;
	doc.len = 0;
}

static void text(const char *s)
{
	if (isinf(strtod(s, NULL))) {
		refused(s);
		return;
	}
	if (ntexts == captexts) {
		captexts = captexts ? 2 * captexts : 4096;
		texts = realloc(texts, captexts * sizeof *texts);
		if (!texts)
			abort();
	}
	texts[ntexts++] = strdup(s);
	buf_putc(&doc, ntexts == 1 ? '[' : ',');
	buf_put(&doc, s, strlen(s));
	if (ntexts == 4096)
		flush();
}

static double rnd_double(void)
{
	double v;

	do
		v = from_bits(rnd() & ~(1ull << 63));
	while (!isfinite(v));
	return v;
}

/* Random doubles as %.Ne (1-17 digits, "e+NN"/"e-NN": JSON allows the
 * sign) and %.17g through the reader, and their 17 digits through
 * np_decimal. */
static void test_random_doubles(unsigned long n)
{
	char s[64];
	unsigned long i, d0 = decided, a0 = asked;

	for (i = 0; i < n; i++) {
		double v = rnd_double();
		int prec = (int)(rnd() % 17);

		snprintf(s, sizeof s, "%s%.*e", rnd() & 1 ? "-" : "", prec, v);
		text(s);
		snprintf(s, sizeof s, "%.17g", v);
		text(s);
		/* the shortest form's digits, through np_decimal */
		{
			char *e, *p;
			uint64_t w = 0;
			int q, nd = 0;

			snprintf(s, sizeof s, "%.16e", v);
			e = strchr(s, 'e');
			q = atoi(e + 1) - 16;
			for (p = s; p < e; p++)
				if (*p >= '0' && *p <= '9') {
					w = w * 10 + (uint64_t)(*p - '0');
					nd++;
				}
			one_wq(w, q, 0);
		}
	}
	/* nearly every 17-digit double is decided without strtod */
	check((asked - a0) > 0 && (double)(decided - d0) / (double)(asked - a0) > 0.99,
		"random doubles decided without strtod: %lu of %lu", decided - d0, asked - a0);
}

/* exact half-way points between v and its successor, and their neighbours */
static void test_halfway(unsigned long n)
{
#if LDBL_MANT_DIG >= 64
	static char s[1200], t[1300];
	unsigned long i;

	for (i = 0; i < n; i++) {
		double v = rnd_double(), up;
		long double m;
		char *e;
		size_t len;

		if (i % 4 == 0)        /* subnormals and the smallest normals */
			v = from_bits(rnd() % (1ull << 53));
		if (i % 16 == 1)       /* integers near 2^53..2^64 */
			v = ldexp((double)(rnd() >> 11), 11 + (int)(rnd() % 12));
		up = nextafter(v, INFINITY);
		if (isinf(up))
			continue;
		m = ((long double)v + (long double)up) / 2;   /* exact */
		snprintf(s, sizeof s, "%.800Le", m);  /* exact: glibc prints every digit */
		e = strchr(s, 'e');
		/* strip trailing zeros of the mantissa: the exact midpoint */
		len = (size_t)(e - s);
		while (s[len - 1] == '0')
			len--;
		snprintf(t, sizeof t, "%.*s%s", (int)len, s, e);
		text(t);               /* exactly half way: ties to even */
		snprintf(t, sizeof t, "%.*s0000000000000000000001%s", (int)len, s, e);
		text(t);               /* just above half way */
		for (int cut = 17; cut <= 25; cut += 2) {
			/* cut to `cut` significant digits (d.ddd: cut + 1 chars) */
			if ((size_t)cut + 1 < len) {
				snprintf(t, sizeof t, "%.*s%s", cut + 1, s, e);
				text(t);       /* just below half way */
			}
		}
		snprintf(t, sizeof t, "-%.*s%s", (int)len, s, e);
		text(t);
	}
#else
	(void)n;
	printf("numparse: skipped half-way cases: long double cannot hold them here\n");
#endif
}

/* Every length of integer part (1-21 digits) and fraction (none, 1-21),
 * with and without exponents: each of the reader's ways to a mantissa
 * (one digit, one or two 16-byte windows, too long: jsonp_number_slow). */
static void test_shapes(void)
{
	static const char *const exps[] = { "", "e5", "E-12", "e+300", "e-0300", "e00009", "e-330" };
	static const char dg[] = "98765432109876543210123";
	char s[80];

	for (int ki = 1; ki <= 21; ki++)
		for (int kf = 0; kf <= 21; kf++)
			for (size_t x = 0; x < sizeof exps / sizeof *exps; x++) {
				snprintf(s, sizeof s, "%s%.*s%s%.*s%s", (ki + kf) % 3 ? "" : "-",
					ki, ki == 1 && kf % 2 ? "0" : dg + kf % 3, kf ? "." : "",
					kf, dg + ki % 5, exps[x]);
				text(s);
			}
	flush();
}

/* A signed number of 32 digits ending the input 33 bytes after its sign
 * (the fast path's least room), in a buffer of exactly the input's size,
 * so that SANITIZE=address builds and valgrind see any read past it:
 * refused at the end, as the whole reader does. */
static void test_room(void)
{
	static const char s[] = "[                -12345678901234567890123456789012";
	char *b = malloc(sizeof s - 1);
	struct merr e;
	struct jdoc *d;

	if (!b)
		abort();
	memcpy(b, s, sizeof s - 1);
	d = json_parse(b, sizeof s - 1, NULL, &e);
	check(!d && strcmp(e.where, "1:51") == 0 &&
		strcmp(e.msg, "',' or ']' expected, found end of input") == 0,
		"32 digits at the end: %s at %s", d ? "accepted" : e.msg, d ? "" : e.where);
	json_free(d);
	free(b);
}

static void test_edges(void)
{
	static const char *const edge[] = {
		"0", "-0", "0.0", "-0.0", "0e10", "-0e-400", "0.000e+5",
		"5e-324", "4e-324", "3e-324", "2.5e-324", "2.4703282292062328e-324",
		"2.4703282292062327e-324", "2.470328229206232720882e-324", "1e-324", "-1e-324",
		"1e-400", "4.9406564584124654e-324", "2.2250738585072011e-308",
		"2.2250738585072014e-308", "2.2250738585072012e-308", "2.225073858507201136057409796709131975934819546351645648e-308",
		"1e308", "1.7976931348623157e308", "1.7976931348623158e308",
		"1.7976931348623157081e308", "1.797693134862315807e308", "1.7976931348623159e308", "1e309", "-1e309",
		"9007199254740993", "9007199254740992", "9007199254740993.0000000000000001",
		"18446744073709551615", "18446744073709551616", "18446744073709551617",
		"99999999999999999999", "9999999999999999999", "10000000000000000000",
		"12345678901234567890123", "0.1", "0.30000000000000004", "1e23", "8.589973e9",
		"123456789012345678901234567890e-30", "0.000000000000000000000000000001",
		"1e22", "1e-22", "9007199254740993e22", "4503599627370497e-22",
		"7.2057594037927933e16", "1.00000000000000011102230246251565404236316680908203125",
		"1.00000000000000011102230246251565404236316680908203124",
		"1.00000000000000011102230246251565404236316680908203126",
		"100000000000000016777215", "100000000000000016777216", "100000000000000016777217",
		"1E5", "1e+5", "1.5E-5",
	};
	size_t i;

	for (i = 0; i < sizeof edge / sizeof *edge; i++)
		text(edge[i]);
	/* a thousand digits, and many leading zeros */
	{
		static char s[2100];
		int k;

		for (k = 0; k < 3; k++) {
			memset(s, "193"[k], 1000);
			memcpy(s + 1000, ".5e-700", 8);
			text(s);
			memcpy(s, "0.", 2);
			memset(s + 2, '0', 300);
			snprintf(s + 302, 40, "%d4703282292062327e-20", k);
			text(s);
		}
	}
	flush();
}

int main(void)
{
	unsigned long r = 1;
	const char *env = getenv("NUMPARSE_ROUNDS");

	if (env && atol(env) > 0)
		r = (unsigned long)atol(env);
	test_edges();
	test_shapes();
	test_room();
	test_random_wq(400000 * r);
	test_random_doubles(200000 * r);
	test_halfway(40000 * r);
	flush();
	printf("numparse: %lu (w, q) pairs, %lu decided without strtod; %lu texts through the reader\n",
		asked, decided, through_json);
	buf_free(&doc);
	free(texts);
	return check_report();
}
