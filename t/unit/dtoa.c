/* t/unit/dtoa.c — dtoa_es() against known answers and round-trip properties
 *
 * Known answers: the JCS number vectors in $MVM_TESTDATA/jcs/numbers/
 * (default t/data/vectors, see its README.md: from the repository root,
 * where `make unit-check` runs this, or found from argv[0]): es6testfile-first100k.txt (hexbits,expected) and
 * edge-cases.txt (hexbits,input-literal,expected; for those rows strtod of
 * the literal must also give hexbits exactly, and "-" rows must overflow).
 * Missing test data is a failure, not a skip.
 *
 * Properties, on deterministic pseudo-random bit patterns and on a few
 * values of every binary exponent: strtod(dtoa_es(x)) is x bit for bit;
 * on a sample, the correctly rounded decimal one digit shorter does not
 * read back as x, and when the correctly rounded decimal of the same
 * length does, it is the one dtoa_es chose (closest wins).
 *
 * Every text is also compared with lib/dtoa.c built without its SIMD
 * digit writer (DTOA_PORTABLE, included below).
 *
 * The oracle (run_oracle): on ORACLE_CHECKS more doubles, the whole text
 * must equal the shortest correctly rounded "%.*e" that strtod reads back,
 * laid out by ECMA-262 Number::toString's steps as written in this file.
 *
 * lib/dtoa-table.h is generated: python3 tools/gen-dtoa-table.py >
 * lib/dtoa-table.h (the script also proves the rounding bounds dtoa.c
 * relies on).  If a row fails after regenerating, suspect the table.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtoa.h"

/* lib/dtoa.c again, built without its SIMD digit writer (DTOA_PORTABLE):
 * every double checked here is written both ways, and the texts must be
 * the same, so the path other machines build is tested on this one. */
size_t dtoa_es_portable(double v, char *out);
#define DTOA_PORTABLE 1
#define dtoa_es dtoa_es_portable
#include "../../lib/dtoa.c"
#undef dtoa_es

#define ROUND_TRIPS 3000000
#define SHORT_CHECKS 200000
#define ORACLE_CHECKS 1000000
#define MAX_SHOWN 10

static unsigned long passed, failed;

static void
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
	va_list ap;

	failed++;
	if (failed > MAX_SHOWN)
		return;
	va_start(ap, fmt);
	fputs("dtoa: FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static double
from_bits(uint64_t b)
{
	double d;

	memcpy(&d, &b, sizeof d);
	return d;
}

static uint64_t
to_bits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof b);
	return b;
}

/* dtoa_es, checked against the portable build of the same file */
static size_t
es(double x, char *out)
{
	char alt[DTOA_BUFSIZE];
	size_t n = dtoa_es(x, out), m = dtoa_es_portable(x, alt);

	if (m != n || strcmp(out, alt) != 0)
		fail("portable: %016llx: \"%s\", but the portable build writes \"%s\"",
		    (unsigned long long)to_bits(x), out, alt);
	return n;
}

static FILE *
open_data(const char *dir, const char *name)
{
	char path[4096];

	if (snprintf(path, sizeof path, "%s/jcs/numbers/%s", dir, name) >=
	    (int)sizeof path)
		return NULL;
	return fopen(path, "r");
}

/* The test data directory, or NULL. */
static const char *
find_testdata(const char *argv0)
{
	static char buf[4096];
	const char *env = getenv("MVM_TESTDATA");
	FILE *f;

	if (env && *env) {
		f = open_data(env, "edge-cases.txt");
		if (!f)
			fprintf(stderr, "dtoa: MVM_TESTDATA=%s: no jcs/numbers/edge-cases.txt\n", env);
		else
			fclose(f);
		return f ? env : NULL;
	}
	if ((f = open_data("t/data/vectors", "edge-cases.txt"))) {
		fclose(f);
		return "t/data/vectors";
	}
	/* run from elsewhere: argv0 is REPO/t/unit/dtoa */
	const char *slash = strrchr(argv0, '/');
	if (slash && (size_t)(slash - argv0) + 40 < sizeof buf) {
		snprintf(buf, sizeof buf, "%.*s/../data/vectors",
		    (int)(slash - argv0), argv0);
		if ((f = open_data(buf, "edge-cases.txt"))) {
			fclose(f);
			return buf;
		}
	}
	return NULL;
}

static int
parse_hex(const char *s, uint64_t *out)
{
	char *end;

	if (!*s)
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 16);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static void
check_format(uint64_t bits, const char *want, const char *where)
{
	char got[DTOA_BUFSIZE + 8];

	memset(got, 'X', sizeof got);
	size_t n = es(from_bits(bits), got);
	if (strcmp(got, want) != 0 || n != strlen(want))
		fail("%s: %016llx: got \"%.*s\" (len %zu), want \"%s\"", where,
		    (unsigned long long)bits, DTOA_BUFSIZE, got, n, want);
	else
		passed++;
}

/* Returns 0, or -1 if the file could not be read. */
static int
run_es6(const char *dir)
{
	const char *name = "es6testfile-first100k.txt";
	FILE *f = open_data(dir, name);
	char line[512], where[64];
	unsigned long lineno = 0;

	if (!f) {
		fail("%s/jcs/numbers/%s: cannot open", dir, name);
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		char *comma = strchr(line, ',');
		uint64_t bits;
		snprintf(where, sizeof where, "es6:%lu", lineno);
		if (!comma) {
			fail("%s: malformed line", where);
			continue;
		}
		*comma = '\0';
		if (parse_hex(line, &bits) < 0) {
			fail("%s: bad hexbits \"%s\"", where, line);
			continue;
		}
		check_format(bits, comma + 1, where);
	}
	if (ferror(f) || lineno != 100000)
		fail("%s: read error or %lu lines, expected 100000", name, lineno);
	fclose(f);
	return 0;
}

static int
run_edge(const char *dir)
{
	const char *name = "edge-cases.txt";
	FILE *f = open_data(dir, name);
	char line[2048], where[64];
	unsigned long lineno = 0, rows = 0;

	if (!f) {
		fail("%s/jcs/numbers/%s: cannot open", dir, name);
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			fail("edge:%lu: line too long", lineno);
			return -1;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		rows++;
		snprintf(where, sizeof where, "edge:%lu", lineno);
		char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		if (!c2) {
			fail("%s: malformed line", where);
			continue;
		}
		*c1 = *c2 = '\0';
		const char *hex = line, *lit = c1 + 1, *want = c2 + 1;
		char *end;
		double d = strtod(lit, &end);
		if (*end) {
			fail("%s: strtod stopped early in \"%s\"", where, lit);
			continue;
		}
		if (strcmp(hex, "-") == 0) {
			/* the literal overflows; nothing to format */
			if (strcmp(want, "ERROR") != 0 || !isinf(d))
				fail("%s: \"%s\" should overflow (want %s)", where, lit, want);
			else
				passed++;
			continue;
		}
		uint64_t bits;
		if (parse_hex(hex, &bits) < 0) {
			fail("%s: bad hexbits \"%s\"", where, hex);
			continue;
		}
		if (to_bits(d) != bits) {
			fail("%s: strtod(\"%.40s\") = %016llx, want %016llx", where,
			    lit, (unsigned long long)to_bits(d), (unsigned long long)bits);
			continue;
		}
		check_format(bits, want, where);
	}
	if (ferror(f) || rows != 2915)
		fail("%s: read error or %lu rows, expected 2915", name, rows);
	fclose(f);
	return 0;
}

static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/*
 * The significant digits of a decimal in ES or printf %e form, without
 * leading or trailing zeros, and the exponent: value = 0.DIGITS 10^*exp.
 */
static size_t
sig_digits(const char *s, char *dig, int *exp)
{
	size_t n = 0, lead;
	int point = -1;

	if (*s == '-')
		s++;
	for (; *s && *s != 'e'; s++) {
		if (*s == '.')
			point = (int)n;
		else
			dig[n++] = *s;
	}
	if (point < 0)
		point = (int)n;
	for (lead = 0; lead < n && dig[lead] == '0'; lead++)
		point--;
	memmove(dig, dig + lead, n - lead);
	n -= lead;
	while (n > 0 && dig[n - 1] == '0')
		n--;
	dig[n] = '\0';
	*exp = point + (*s == 'e' ? atoi(s + 1) : 0);
	return n;
}

static void
check_value(uint64_t bits, int deep)
{
	char got[DTOA_BUFSIZE], alt[64], d1[40], d2[40];
	double x = from_bits(bits);
	char *end;

	size_t n = es(x, got);
	double back = strtod(got, &end);
	uint64_t want = x == 0 ? 0 : bits;    /* -0 is written "0" */
	if (n != strlen(got) || n >= DTOA_BUFSIZE || *end || to_bits(back) != want) {
		fail("round-trip: %016llx (%.17g) -> \"%s\" -> %016llx",
		    (unsigned long long)bits, x, got, (unsigned long long)to_bits(back));
		return;
	}
	if (!deep || x == 0) {
		passed++;
		return;
	}
	int e1, e2;
	size_t nd = sig_digits(got, d1, &e1);
	if (nd >= 2) {
		snprintf(alt, sizeof alt, "%.*e", (int)nd - 2, x);
		if (strtod(alt, NULL) == x) {
			fail("not shortest: %016llx -> \"%s\", but \"%s\" reads back",
			    (unsigned long long)bits, got, alt);
			return;
		}
	}
	snprintf(alt, sizeof alt, "%.*e", (int)nd - 1, x);
	if (strtod(alt, NULL) == x) {
		sig_digits(alt, d2, &e2);
		if (strcmp(d1, d2) != 0 || e1 != e2) {
			fail("not closest: %016llx -> \"%s\", but \"%s\" reads back",
			    (unsigned long long)bits, got, alt);
			return;
		}
	}
	passed++;
}

static void
run_properties(void)
{
	uint64_t state = 0x6d766d2d64746f61u;    /* "mvm-dtoa" */

	for (long i = 0; i < ROUND_TRIPS; i++) {
		uint64_t b = splitmix64(&state);
		if ((b >> 52 & 0x7ff) == 0x7ff)
			b ^= (uint64_t)1 << 62;    /* make it finite */
		check_value(b, i < SHORT_CHECKS);
	}
	/* every binary exponent, both signs, a few significands each */
	for (uint64_t bq = 0; bq < 0x7ff; bq++) {
		uint64_t m[] = { 0, 1, 2, 3, 5, 0xfffffffffffffu, 0xffffffffffffeu,
			0x8000000000000u, splitmix64(&state) >> 12 };
		for (size_t j = 0; j < sizeof m / sizeof m[0]; j++) {
			check_value(bq << 52 | m[j], 1);
			check_value((uint64_t)1 << 63 | bq << 52 | m[j], 1);
		}
	}
	/* all subnormals with a small significand, all small integers */
	for (uint64_t b = 1; b < 20000; b++)
		check_value(b, 1);
	for (int i = 1; i < 20000; i++)
		check_value(to_bits((double)i), 1);
}

/*
 * The independent oracle: the shortest correctly rounded "%.*e" that
 * strtod reads back as x (found by bisection over 1..17 digits: for a
 * double that is not a power of two the property is monotone, since a
 * shorter decimal that reads back is also a longer one and the correctly
 * rounded longer one is at least as close), laid out by ECMA-262's
 * Number::toString steps, written here from the standard: k digits s,
 * value s 10^(n-k).  Powers of two (an interval twice as wide above as
 * below) are left to the vectors and the exponent sweep above.
 */
static void
es_layout(const char *s, int k, int n, int neg, char *out)
{
	char *p = out;

	if (neg)
		*p++ = '-';
	if (k <= n && n <= 21) {
		p += sprintf(p, "%s%.*s", s, n - k, "000000000000000000000");
	} else if (0 < n && n <= 21) {
		p += sprintf(p, "%.*s.%s", n, s, s + n);
	} else if (-6 < n && n <= 0) {
		p += sprintf(p, "0.%.*s%s", -n, "000000", s);
	} else {
		p += sprintf(p, "%c%s%s", s[0], k > 1 ? "." : "", s + 1);
		p += sprintf(p, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
	}
}

static void
oracle(double x, char *out)
{
	char buf[64], s[24];
	int lo = 1, hi = 17;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		snprintf(buf, sizeof buf, "%.*e", mid - 1, x);
		if (strtod(buf, NULL) == x)
			hi = mid;
		else
			lo = mid + 1;
	}
	snprintf(buf, sizeof buf, "%.*e", lo - 1, x);
	/* buf: [-]d[.ddd]e(+|-)xx */
	const char *b = buf + (buf[0] == '-');
	int k = 0;
	for (; *b != 'e'; b++)
		if (*b != '.')
			s[k++] = *b;
	while (k > 1 && s[k - 1] == '0')
		k--;
	s[k] = '\0';
	es_layout(s, k, atoi(b + 1) + 1, buf[0] == '-', out);
}

static unsigned long oracle_n, oracle_failed;

static void
run_oracle(void)
{
	uint64_t state = 0x6f7261636c653031u;    /* "oracle01" */
	char got[DTOA_BUFSIZE], want[64];
	unsigned long n = 0;

	for (long i = 0; i < ORACLE_CHECKS; i++) {
		uint64_t b = splitmix64(&state);
		if (i & 1)    /* every other one in fixed notation's range (1e-7..1e21) */
			b = (b & 0x800fffffffffffffu) | (uint64_t)(1023 - 24 + (b >> 52 & 0x7f) % 95) << 52;
		if ((b >> 52 & 0x7ff) == 0x7ff || (b & 0xfffffffffffffu) == 0)
			continue;    /* not finite, or a power of two */
		es(from_bits(b), got);
		oracle(from_bits(b), want);
		n++;
		if (strcmp(got, want) != 0 && ++oracle_failed)
			fail("oracle: %016llx: got \"%s\", the shortest %%.*e that reads back, "
			    "laid out by ECMA-262, is \"%s\"", (unsigned long long)b, got, want);
		else
			passed++;
	}
	oracle_n = n;
	if (n < ORACLE_CHECKS / 2)
		fail("oracle: only %lu values checked", n);
}

int
main(int argc, char **argv)
{
	(void)argc;
	const char *dir = find_testdata(argv[0] ? argv[0] : "");

	if (!dir) {
		fprintf(stderr, "dtoa: FAIL: test data not found: set MVM_TESTDATA "
		    "or run from the repository root (t/data/vectors)\n");
		return 1;
	}
	run_es6(dir);
	run_edge(dir);
	unsigned long vec_passed = passed, vec_failed = failed;
	run_properties();
	run_oracle();
	printf("dtoa: %lu passed, %lu failed (vectors %lu/%lu, properties %lu/%lu, "
	    "of which oracle %lu/%lu)\n",
	    passed, failed, vec_passed, vec_passed + vec_failed,
	    passed - vec_passed, passed - vec_passed + failed - vec_failed,
	    oracle_n - oracle_failed, oracle_n);
	if (failed > MAX_SHOWN)
		fprintf(stderr, "dtoa: %lu more failures not shown\n", failed - MAX_SHOWN);
	return failed ? 1 : 0;
}
