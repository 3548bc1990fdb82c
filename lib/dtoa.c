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
#if defined(__SSE2__) && !defined(DTOA_PORTABLE)
#include <emmintrin.h>
#define DTOA_SSE2 1
#endif

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
 * defined right shift of negative numbers).  flog10pow2_less gives
 * floor(log10(3/4 2^q)) when three_quarters is 1, else floor(log10(2^q)).
 */
static int
flog10pow2_less(int q, int three_quarters)
{
	return (int)((uint64_t)((int64_t)q * 661971961083 -
	    (274743187321 & -(int64_t)three_quarters) + ((int64_t)1024 << 41)) >> 41) - 1024;
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
 * sticky bit.  The product is x 2^64 + y (x = g[0] cp, y = g[1] cp);
 * with z = x + (y >> 64) (x < 2^124: no carry out), its bits from 2^127
 * up are z's from 2^63, and its bits 60..126 are z's low 63 and y's bits
 * 60..63.
 */
static inline uint64_t
rop(const uint64_t g[2], uint64_t cp)
{
	u128 x = (u128)g[0] * cp;
	u128 y = (u128)g[1] * cp;
	u128 z = x + (uint64_t)(y >> 64);

	return (uint64_t)(z >> 63) | (uint64_t)(((uint64_t)z << 1 | (uint64_t)y >> 60) != 0);
}

/*
 * The ECMAScript digits of c 2^q (c > 0) as f 10^e.  Which candidate wins
 * turns on the value's digits, so all three answers are computed and one
 * is picked without a branch (3% less CPU on floats, bench/RESULTS.md).
 */
static void
schubfach(uint64_t c, int q, uint64_t *fp, int *ep)
{
	uint64_t out = c & 1;    /* odd c: the interval ends are excluded */
	/* a power of two (not the least subnormal exponent): the gap below
	 * is half the gap above, and k is floor(log10(3/4 2^q)) */
	int pow2 = c == C_MIN && q != Q_MIN;
	uint64_t cb = c << 2, cbr = cb + 2, cbl = cb - 2 + (uint64_t)pow2;
	int k = flog10pow2_less(q, pow2);
	int h = q + flog2pow10(-k) + 2;
	const uint64_t *g = dtoa_g[k - DTOA_K_MIN];
	uint64_t vb = rop(g, cb << h);
	uint64_t vbl = rop(g, cbl << h);
	uint64_t vbr = rop(g, cbr << h);

	/* vb, vbl, vbr are 4 v / 10^k and the ends of R at that scale */
	uint64_t s = vb >> 2;
	uint64_t sp10 = s / 10 * 10, tp10 = sp10 + 10;
	uint64_t upin = vbl + out <= sp10 << 2;
	uint64_t wpin = (tp10 << 2) + out <= vbr;
	uint64_t uin = vbl + out <= s << 2;
	uint64_t win = ((s + 1) << 2) + out <= vbr;
	uint64_t mid = (s << 2) + 2;
	/* one multiple of 10^(k+1) in R: it; else one of s, s + 1 in R: it;
	 * else the closer to v, the even one on a tie */
	uint64_t f1 = tp10 - 10 * upin;
	uint64_t f2 = s + 1 - uin;
	uint64_t f3 = s + ((uint64_t)(vb > mid) | ((uint64_t)(vb == mid) & s & 1));
	uint64_t m1 = -(upin ^ wpin), m2 = -(uin ^ win);

	*fp = (f1 & m1) | (~m1 & ((f2 & m2) | (f3 & ~m2)));
	*ep = k;
}

static const char digits2[] =
	"00010203040506070809101112131415161718192021222324252627282930313233"
	"34353637383940414243444546474849505152535455565758596061626364656667"
	"6869707172737475767778798081828384858687888990919293949596979899";

/*
 * Write n < 10^8 as 8 digits, with leading zeros, ending at end: the two
 * halves of 4 digits in the two 32-bit lanes of one word, then each lane
 * split in two 16-bit lanes of 2 digits, then each of those in two bytes,
 * by multiplying with reciprocals (x / 100 = x 10486 >> 20 for x < 43700,
 * x / 10 = x 103 >> 10 for x < 179) that never carry into the next lane.
 */
static inline uint64_t
put8(uint32_t n, char *end)
{
	uint64_t x = n / 10000 | (uint64_t)(n % 10000) << 32;
	uint64_t q = (x * 10486) >> 20 & 0x0000007F0000007Full;
	uint64_t y = q | (x - q * 100) << 16;
	uint64_t t = (y * 103) >> 10 & 0x000F000F000F000Full;
	uint64_t z = (t | (y - t * 10) << 8) | 0x3030303030303030ull;

	memcpy(end - 8, &z, 8);
	return z;
}

/* The number of decimal digits of f > 0. */
static inline int
ndigits(uint64_t f)
{
	static const uint64_t pow10[20] = { 1, 10, 100, 1000, 10000, 100000, 1000000,
		10000000, 100000000, 1000000000, 10000000000u, 100000000000u,
		1000000000000u, 10000000000000u, 100000000000000u, 1000000000000000u,
		10000000000000000u, 100000000000000000u, 1000000000000000000u,
		10000000000000000000u };
	int t = (64 - __builtin_clzll(f)) * 1233 >> 12;    /* log10(2) ~ 1233 / 4096 */

	return t + (f >= pow10[t]);
}

/*
 * Write f < 10^17 as 17 digits with leading zeros at tmp[0..16], then '0's
 * up to tmp[47]; returns how many of tmp[1..16] are '0's at their end.
 * With SSE2, tmp[1..16] come from one vector: 8-digit halves to 4-digit
 * groups (x / 10^4 = x 109951163 >> 40 for x < 10^8), to 2-digit pairs
 * (x / 100 = x 5243 >> 19 for x < 10^4), to digits (x / 10 = x 6554 >> 16
 * for x < 100); the trailing '0's are the zero bytes' mask.  Otherwise two
 * put8 and the words' leading zero bytes.
 */
static inline int
digits17(uint64_t f, char *tmp)
{
	uint64_t a = f / 100000000;
	uint32_t hi8 = (uint32_t)(a % 100000000), lo8 = (uint32_t)(f - a * 100000000);

	memset(tmp + 16, '0', 32);
	tmp[0] = (char)('0' + a / 100000000);
#ifdef DTOA_SSE2
	__m128i x = _mm_set_epi64x((long long)lo8, (long long)hi8);
	__m128i q = _mm_srli_epi64(_mm_mul_epu32(x, _mm_set1_epi64x(109951163)), 40);
	__m128i r = _mm_sub_epi64(x, _mm_mul_epu32(q, _mm_set1_epi64x(10000)));
	__m128i v = _mm_or_si128(q, _mm_slli_epi64(r, 32));    /* 4-digit groups, 32-bit lanes */
	__m128i q2 = _mm_srli_epi16(_mm_mulhi_epu16(v, _mm_set1_epi32(5243)), 3);
	__m128i r2 = _mm_sub_epi16(v, _mm_mullo_epi16(q2, _mm_set1_epi16(100)));
	__m128i w = _mm_or_si128(q2, _mm_slli_epi32(r2, 16));  /* 2-digit pairs, 16-bit lanes */
	__m128i t = _mm_mulhi_epu16(w, _mm_set1_epi16(6554));
	__m128i o = _mm_sub_epi16(w, _mm_mullo_epi16(t, _mm_set1_epi16(10)));
	__m128i d = _mm_or_si128(t, _mm_slli_epi16(o, 8));     /* digits, bytes */
	unsigned zero = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128()));

	_mm_storeu_si128((__m128i *)(void *)(tmp + 1), _mm_or_si128(d, _mm_set1_epi8('0')));
	return __builtin_clz(~(zero << 16));
#else
	/* the last digit is the top byte of lo (memory order, little-endian) */
	uint64_t hi = put8(hi8, tmp + 9) ^ 0x3030303030303030ull;
	uint64_t lo = put8(lo8, tmp + 17) ^ 0x3030303030303030ull;

	return lo ? __builtin_clzll(lo) >> 3 : hi ? 8 + (__builtin_clzll(hi) >> 3) : 16;
#endif
}

/*
 * Lay out f 10^e (0 < f < 10^17) as ECMAScript does; returns the length.
 * The digits are written once, 17 wide with leading zeros, into a buffer
 * whose tail is '0's; each case then copies fixed 16- or 24-byte blocks
 * (no length-dependent copy, no division to strip trailing zeros) and
 * steps over what it needs: out has DTOA_BUFSIZE bytes, of which the
 * largest step below reaches 34.
 */
static size_t
layout(uint64_t f, int e, char *out)
{
	char tmp[48];
	char *p = out;
	int tz = digits17(f, tmp);
	int nd = ndigits(f);
	const char *d = tmp + 17 - nd;
	int n = nd + e;    /* the value is 0.DIGITS times 10^n */

	nd -= tz;    /* f > 0: not every digit is 0 */
	if (nd <= n && n <= 21) {
		memcpy(p, d, 24);    /* the digits, then '0's up to 10^n */
		p += n;
	} else if (0 < n && n <= 21) {
		/* n < nd <= 17 */
		memcpy(p, d, 16);
		p[n] = '.';
		memcpy(p + n + 1, d + n, 16);
		p += nd + 1;
	} else if (-6 < n && n <= 0) {
		memcpy(p, "0.000000", 8);
		memcpy(p + 2 - n, d, 24);
		p += 2 - n + nd;
	} else {
		/* d[.ddd]e(+|-)x, x < 1000: the exponent's three digits in one
		 * word, shifted down past its leading zeros */
		int x = n - 1, ax = x < 0 ? -x : x;
		int xd = 1 + (ax >= 10) + (ax >= 100);
		uint32_t xw = (uint32_t)('0' + ax / 100) | (uint32_t)digits2[2 * (ax % 100)] << 8 |
		    (uint32_t)digits2[2 * (ax % 100) + 1] << 16;

		p[0] = d[0];
		p[1] = '.';
		memcpy(p + 2, d + 1, 16);
		p += nd + (nd > 1);    /* "5e-324": no point, and 'e' over it */
		p[0] = 'e';
		p[1] = x < 0 ? '-' : '+';
		xw >>= 8 * (3 - xd);
		memcpy(p + 2, &xw, 4);
		p += 2 + xd;
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
	*p = '-';
	p += bits >> 63;
	if (bq != 0) {
		c = t | C_MIN;
		q = (int)bq - 1075;
	} else {
		c = t;
		q = Q_MIN;
	}
	/* an integer below 2^53 is its own shortest form (one branch, taken
	 * or not by the value's kind, not by its digits) */
	int small = (unsigned)(q + 52) <= 52;
	unsigned sh = (unsigned)-q & -(unsigned)small;
	f = c >> sh;
	if (small & (f << sh == c)) {
		e = 0;
		goto done;
	}
	schubfach(c, q, &f, &e);
done:
	return (size_t)(p - out) + layout(f, e, p);
}
