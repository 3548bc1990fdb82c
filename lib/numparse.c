/* numparse.c — a decimal w * 10^q to the nearest double (numparse.h)
 *
 * The Eisel-Lemire method (D. Lemire, "Number Parsing at a Gigabyte per
 * Second", 2021; the same idea as Go's strconv and Rust's dec2flt), written
 * here from its error argument:
 *
 * Let T = T(q) be the table's floor(10^q * 2^(127 - L)), L = floor(log2
 * 10^q), and n = w << lz with lz leading zeros, so 2^63 <= n < 2^64.  Then
 * w * 10^q = n * (T + f) * 2^(L - 127 - lz) with 0 <= f < 1, and the top
 * 128 bits of the 192-bit product n * (T + f), call them V (a real number,
 * in units of 2^64), are what is rounded.
 *
 *  1. x = n * Thi (Thi, Tlo: T's halves).  V = x + (n * Tlo + n * f) / 2^64
 *     and n * Tlo + n * f < n * 2^64, so x <= V < x + n.  If x's low word
 *     plus n does not wrap, the high word of V is x's (hi exact); if hi's
 *     nine low bits are not all ones, a carry into hi stops below bit 9.
 *     Either way bits 9..63 of hi are V's.
 *  2. otherwise X = x + (n * Tlo >> 64): X <= V < X + (low word of n * Tlo
 *     + n) / 2^64, so V < X + 1 when that low word plus n does not wrap,
 *     else V < X + 2, which changes hi only if X's low word is all ones, and
 *     changes bits 9.. of hi only if hi's nine low bits are all ones too:
 *     only then is the answer "not decided".
 *  3. The result keeps 53 bits of hi (fewer for a subnormal) and the bit
 *     below them, the half bit, is at position 9 or higher: so the kept
 *     bits and the half bit are exact.  Below the half bit, V's bits are
 *     x's plus something non-negative that does not carry into the half
 *     bit: if x shows any bit set there, V is above half way (round up when
 *     the half bit is set); if x shows none and the half bit is set, V may
 *     be exactly half way (round to even) or just above (round up): when
 *     those differ (the kept bits even) the answer is "not decided".
 *
 * The shift L(q) = (q * 217706) >> 16 = floor(q log2 10) over the table's
 * range is checked by tools/gen-pow10-table.py; it needs an arithmetic
 * right shift of a negative int (GCC and Clang: yes; asserted below).
 */
#include "numparse.h"
#include "numparse-table.h"

#include <string.h>

__extension__ typedef unsigned __int128 u128;

_Static_assert((-217706 >> 16) == -4, "numparse.c needs an arithmetic right shift");

const double np_exact10[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

#define BITS_MANT 52
#define EXP_INF 0x7FF

/* *bits = the bits of the double nearest w * 10^q (w >= 1), sign clear:
 * 1; or 0, not decided. */
static int eisel_lemire(uint64_t w, int q, uint64_t *bits)
{
	const uint64_t *t10;
	uint64_t hi, lo, m, below;
	u128 x;
	int lz, msb, e, shift;

	if (q < NP_Q_MIN || q > NP_Q_MAX)
		return 0;
	t10 = np_pow10[q - NP_Q_MIN];
	lz = __builtin_clzll(w);
	w <<= lz;
	x = (u128)w * t10[0];
	hi = (uint64_t)(x >> 64);
	lo = (uint64_t)x;
	if ((hi & 0x1FF) == 0x1FF && lo + w < w) {
		/* step 2: add the product with T's low half */
		u128 y = (u128)w * t10[1];
		uint64_t yhi = (uint64_t)(y >> 64), ylo = (uint64_t)y;

		lo += yhi;
		hi += lo < yhi;
		if ((hi & 0x1FF) == 0x1FF && lo == UINT64_MAX && ylo + w < w)
			return 0;
	}
	/* V's top bit is bit 127 or 126 (n and T both have their top bit
	 * set); the result is 2^(e - 1023) times [1, 2), e biased. */
	msb = (int)(hi >> 63);
	e = ((q * 217706) >> 16) + 1086 - lz + msb;
	shift = msb + 9;               /* keep 53 bits and the half bit */
	if (e <= 0) {
		/* subnormal: 2^-1074 units, so 1 - e fewer bits */
		shift += 1 - e;
		if (shift > 63)
			return 0;
	}
	m = hi >> shift;
	below = hi & ((1ull << shift) - 1);
	if ((((m & 3) ^ 1) | below | lo) == 0)
		return 0;              /* half way, or just above: step 3 */
	m = (m + 1) >> 1;              /* round half up, the half bit out */
	if (e <= 0) {
		/* a subnormal; 2^52 here is the smallest normal, and its
		 * bits are those of exponent 1, mantissa 0 */
		*bits = m;
		return 1;
	}
	if (m >> (BITS_MANT + 1)) {    /* rounded up to 2^53 */
		m >>= 1;
		e++;
	}
	if (e >= EXP_INF)
		return 0;
	*bits = (uint64_t)e << BITS_MANT | (m & ((1ull << BITS_MANT) - 1));
	return 1;
}

static double with_sign(uint64_t bits, int neg)
{
	double v;

	bits |= (uint64_t)(neg != 0) << 63;
	memcpy(&v, &bits, sizeof v);
	return v;
}

int np_decimal(uint64_t w, int q, int neg, double *out)
{
	uint64_t bits;

	if (w == 0) {
		*out = with_sign(0, neg);
		return 1;
	}
	if (np_decimal_exact(w, q, neg, out))
		return 1;
	if (!eisel_lemire(w, q, &bits))
		return 0;
	*out = with_sign(bits, neg);
	return 1;
}

int np_decimal_cut(uint64_t w, int q, int neg, double *out)
{
	uint64_t lo, hi;

	if (w == 0 || w == UINT64_MAX || !eisel_lemire(w, q, &lo) ||
	    !eisel_lemire(w + 1, q, &hi) || lo != hi)
		return 0;
	*out = with_sign(lo, neg);
	return 1;
}
