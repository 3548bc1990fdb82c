/* dtoa.c — shortest round-trip double to text, ECMAScript style
 *
 * The digits come from Schubfach (Raffaello Giulietti, "The Schubfach way
 * to render doubles", 2020), written here from the published description.
 * For v = c 2^q it picks the decimal exponent k with 10^k <= 2^q (3/4 2^q
 * for a power of two, whose gap below is smaller), the width of the
 * rounding interval R of v, so that R holds at most one multiple of
 * 10^(k+1) and at least one of 10^k.  If such a multiple of 10^(k+1) lies
 * in R it is the unique shortest decimal; otherwise the answer is
 * whichever of s 10^k, (s+1) 10^k (s = floor(v / 10^k)) lies in R, the
 * closer to v if both do, the even one on a tie: exactly what
 * ECMAScript's Number::toString asks for.  All comparisons are done on
 * 4 v / 10^k and the ends of R at that scale, each rounded to odd from a
 * product with a 126-bit power of ten (dtoa-table.h); rounding to odd
 * keeps every comparison with an even integer exact, and
 * tools/gen-dtoa-table.py proves that the rounding itself is exact for
 * every double.
 *
 * Differences from the Java reference implementation: no minimum of two
 * digits (Java prints 4.9E-324, ECMAScript 5e-324), so no special case
 * for tiny subnormals; and the product's error is discarded as its low
 * 60 bits, with a bound the generator checks, instead of a 63+63-bit
 * split.
 *
 * Why Schubfach and not Ryu: one table of 617 entries instead of two,
 * no trailing-zero tracking while digits are removed, and a short
 * straight-line search (one pair of candidates, then another) instead of
 * a digit-removal loop.
 */
#include <stdint.h>
#include <string.h>

#include "dtoa.h"
#include "dtoa-table.h"

__extension__ typedef unsigned __int128 u128;

#define C_MIN ((uint64_t)1 << 52)    /* hidden bit of a normal double */
#define T_MASK (C_MIN - 1)
#define Q_MIN (-1074)                /* exponent of the subnormals */

/*
 * floor(log10(2^q)), floor(log10(3/4 2^q)) and floor(log2(10^e)) in
 * fixed point; the generator checks them over every exponent in use.
 * The offsets keep the shifted values non-negative (no implementation-
 * defined right shift of negative numbers).
 */
static int
flog10pow2(int q)
{
	return (int)((uint64_t)((int64_t)q * 661971961083 +
	    ((int64_t)1024 << 41)) >> 41) - 1024;
}

static int
flog10three_quarters_pow2(int q)
{
	return (int)((uint64_t)((int64_t)q * 661971961083 - 274743187321 +
	    ((int64_t)1024 << 41)) >> 41) - 1024;
}

static int
flog2pow10(int e)
{
	return (int)((uint64_t)((int64_t)e * 913124641741 +
	    ((int64_t)4096 << 38)) >> 38) - 4096;
}

/*
 * Round to odd of g cp / 2^127, where g = dtoa_g[] is 10^-k scaled up and
 * rounded up.  The low 60 bits of the 186-bit product hold the error of g
 * (below cp < 2^60) and are dropped; the bits below 2^127 left give the
 * sticky bit.
 */
static inline uint64_t
rop(const uint64_t g[2], uint64_t cp)
{
	u128 hi = (u128)g[0] * cp;
	u128 lo = (u128)g[1] * cp;
	u128 y = (hi << 4) + (lo >> 60);

	return (uint64_t)(y >> 67) | (uint64_t)((y << 61) != 0);
}

/* The ECMAScript digits of c 2^q (c > 0) as f 10^e. */
static void
schubfach(uint64_t c, int q, uint64_t *fp, int *ep)
{
	uint64_t out = c & 1;    /* odd c: the interval ends are excluded */
	uint64_t cb = c << 2, cbr = cb + 2, cbl;
	int k;

	if (c != C_MIN || q == Q_MIN) {
		cbl = cb - 2;
		k = flog10pow2(q);
	} else {
		/* a power of two: the gap below is half the gap above */
		cbl = cb - 1;
		k = flog10three_quarters_pow2(q);
	}
	int h = q + flog2pow10(-k) + 2;
	const uint64_t *g = dtoa_g[k - DTOA_K_MIN];
	uint64_t vb = rop(g, cb << h);
	uint64_t vbl = rop(g, cbl << h);
	uint64_t vbr = rop(g, cbr << h);

	/* vb, vbl, vbr are 4 v / 10^k and the ends of R at that scale */
	uint64_t s = vb >> 2;
	uint64_t sp10 = s / 10 * 10, tp10 = sp10 + 10;
	int upin = vbl + out <= sp10 << 2;
	int wpin = (tp10 << 2) + out <= vbr;
	if (upin != wpin) {
		*fp = upin ? sp10 : tp10;
		*ep = k;
		return;
	}
	uint64_t t = s + 1;
	int uin = vbl + out <= s << 2;
	int win = (t << 2) + out <= vbr;
	*ep = k;
	if (uin != win) {
		*fp = uin ? s : t;
		return;
	}
	uint64_t mid = (s << 2) + 2;
	*fp = vb < mid || (vb == mid && (s & 1) == 0) ? s : t;
}

static const char digits2[] =
	"00010203040506070809101112131415161718192021222324252627282930313233"
	"34353637383940414243444546474849505152535455565758596061626364656667"
	"6869707172737475767778798081828384858687888990919293949596979899";

/* Write n's 8 low digits, with leading zeros, ending at end. */
static char *
put8(uint32_t n, char *end)
{
	uint32_t hi = n / 10000, lo = n % 10000;

	memcpy(end - 2, digits2 + 2 * (lo % 100), 2);
	memcpy(end - 4, digits2 + 2 * (lo / 100), 2);
	memcpy(end - 6, digits2 + 2 * (hi % 100), 2);
	memcpy(end - 8, digits2 + 2 * (hi / 100), 2);
	return end - 8;
}

/* Write f > 0 in decimal ending at end; returns the start. */
static char *
put_digits(uint64_t f, char *end)
{
	char *d = end;

	while (f >= 100000000) {
		uint64_t q = f / 100000000;
		d = put8((uint32_t)(f - q * 100000000), d);
		f = q;
	}
	uint32_t n = (uint32_t)f;
	while (n >= 100) {
		d -= 2;
		memcpy(d, digits2 + 2 * (n % 100), 2);
		n /= 100;
	}
	if (n >= 10) {
		d -= 2;
		memcpy(d, digits2 + 2 * n, 2);
	} else {
		*--d = (char)('0' + n);
	}
	return d;
}

/* Lay out f 10^e (f > 0) as ECMAScript does; returns the length. */
static size_t
layout(uint64_t f, int e, char *out)
{
	char tmp[24], *end = tmp + sizeof tmp, *d;
	char *p = out;

	if (f % 100000000 == 0) {
		f /= 100000000;
		e += 8;
	}
	while (f % 10 == 0) {
		f /= 10;
		e++;
	}
	d = put_digits(f, end);
	int nd = (int)(end - d);
	int n = nd + e;    /* the value is 0.DIGITS times 10^n */

	if (nd <= n && n <= 21) {
		memcpy(p, d, (size_t)nd);
		p += nd;
		memset(p, '0', (size_t)(n - nd));
		p += n - nd;
	} else if (0 < n && n <= 21) {
		memcpy(p, d, (size_t)n);
		p += n;
		*p++ = '.';
		memcpy(p, d + n, (size_t)(nd - n));
		p += nd - n;
	} else if (-6 < n && n <= 0) {
		*p++ = '0';
		*p++ = '.';
		memset(p, '0', (size_t)-n);
		p += -n;
		memcpy(p, d, (size_t)nd);
		p += nd;
	} else {
		int x = n - 1;
		*p++ = d[0];
		if (nd > 1) {
			*p++ = '.';
			memcpy(p, d + 1, (size_t)(nd - 1));
			p += nd - 1;
		}
		*p++ = 'e';
		*p++ = x < 0 ? '-' : '+';
		if (x < 0)
			x = -x;
		if (x >= 100) {
			*p++ = (char)('0' + x / 100);
			x %= 100;
			memcpy(p, digits2 + 2 * x, 2);
			p += 2;
		} else if (x >= 10) {
			memcpy(p, digits2 + 2 * x, 2);
			p += 2;
		} else {
			*p++ = (char)('0' + x);
		}
	}
	*p = '\0';
	return (size_t)(p - out);
}

size_t
dtoa_es(double v, char *out)
{
	uint64_t bits, c, f;
	int q, e;
	char *p = out;

	memcpy(&bits, &v, sizeof bits);
	unsigned bq = (unsigned)(bits >> 52) & 0x7ff;
	uint64_t t = bits & T_MASK;

	if (bq == 0x7ff) {
		/* not allowed by the contract; write what ECMAScript would */
		const char *s = t ? "NaN" : bits >> 63 ? "-Infinity" : "Infinity";
		size_t n = strlen(s);
		memcpy(out, s, n + 1);
		return n;
	}
	if ((bits << 1) == 0) {    /* +0 and -0 */
		out[0] = '0';
		out[1] = '\0';
		return 1;
	}
	if (bits >> 63)
		*p++ = '-';
	if (bq != 0) {
		c = t | C_MIN;
		q = (int)bq - 1075;
		/* an integer below 2^53 is its own shortest form */
		if (-52 <= q && q <= 0) {
			f = c >> -q;
			if (f << -q == c) {
				e = 0;
				goto done;
			}
		}
	} else {
		c = t;
		q = Q_MIN;
	}
	schubfach(c, q, &f, &e);
done:
	return (size_t)(p - out) + layout(f, e, p);
}
