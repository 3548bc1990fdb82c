/* numparse.h — a decimal w * 10^q to the nearest double, without strtod
 * when that can be decided cheaply
 *
 * The JSON reader (lib/jsonnum.c) gathers a number's first 19 significant
 * digits into w and its decimal exponent into q, and calls these; when they
 * answer 0 it hands the text to strtod, which is correctly rounded.  So
 * these must never answer 1 with another double than strtod's: correctly
 * rounded, ties to even, the sign kept on zero.
 *
 * How (lib/numparse.c):
 *   - w <= 2^53 and |q| <= 22: w and 10^|q| are both doubles exactly, so
 *     one IEEE multiply or divide is the correctly rounded result.
 *   - otherwise the Eisel-Lemire method: w times a 128-bit truncation of
 *     10^q (lib/numparse-table.h), widened to 192 bits when the error of
 *     the 128-bit product could reach the bits that decide the rounding; it
 *     answers 0 when even the wider product cannot decide, when the product
 *     looks exactly half way between two doubles (the truncated factor may
 *     hide a value just above), and outside q in [NP_Q_MIN, NP_Q_MAX] or
 *     for results that overflow or lie below 2^-1075 (they round to
 *     zero): rare inputs, left to strtod.  Subnormals are decided.
 *
 * Contract:
 *   np_decimal(w, q, neg, &v)
 *       v = (neg ? -1 : 1) * w * 10^q, rounded to the nearest double.
 *       1   decided, v set (w == 0 gives +0 or -0)
 *       0   not decided, v untouched: use a correctly rounded conversion
 *   np_decimal_cut(w, q, neg, &v)
 *       for a decimal whose digits after w's were dropped (w >= 1): the
 *       value lies in [w * 10^q, (w + 1) * 10^q]; decided (1) only when
 *       both ends round to the same double, which is then every value's
 *       between them.  w must be below 2^64 - 1.
 *   np_decimal_exact(w, q, neg, &v)
 *       np_decimal's first case inline (w <= 2^53, |q| <= 22): 1 and v
 *       set, else 0 and v untouched; callers then ask np_decimal.
 *   None reads memory other than the tables, allocates nor sets errno.
 */
#ifndef MVM_NUMPARSE_H
#define MVM_NUMPARSE_H

#include <stdint.h>

int np_decimal(uint64_t w, int q, int neg, double *out);

/* 10^0 .. 10^22: every one a double exactly (5^22 < 2^53) */
extern const double np_exact10[23];

static inline int np_decimal_exact(uint64_t w, int q, int neg, double *out)
{
	double v;

	if (w > 1ull << 53 || q < -22 || q > 22)
		return 0;
	v = (double)w;
	v = q < 0 ? v / np_exact10[-q] : v * np_exact10[q];
	*out = neg ? -v : v;     /* the sign bit alone: v is not a NaN */
	return 1;
}
int np_decimal_cut(uint64_t w, int q, int neg, double *out);

#endif
