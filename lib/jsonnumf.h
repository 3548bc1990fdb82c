/* jsonnumf.h — the common JSON number's reader (number_fast), inline
 * for jsonnum.c's jsonp_number and json.c's loop over an array's
 * numbers; private to lib/json*.c.  What it does not read (and every
 * error) is left to jsonp_number_slow, the whole RFC 8259 reader.
 */
#ifndef MVM_JSONNUMF_H
#define MVM_JSONNUMF_H

#include <math.h>
#include "numparse.h"
#include "json_int.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* The value of 8 decimal digits in memory order (little-endian load),
 * digits8z of their values 0-9 a byte, digits8 of their characters:
 * pairs, then quads, then the two halves, each a multiply and a shift. */
static inline uint64_t digits8z(uint64_t w)
{
	w = w * 10 + (w >> 8);                         /* 2-digit values in bytes 0,2,4,6 */
	w = ((w & 0x000000FF000000FFull) * (100 + (1000000ull << 32)) +
		((w >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32))) >> 32;
	return w;
}

/* The token of double v: inline if an integer below 2^53 (not -0), else
 * v in num[].  0, or out of memory. */
static inline int put_double(struct parser *ps, struct jtok *t, double v)
{
	if (v > -(double)INT_BIAS && v < (double)INT_BIAS && v == (double)(int64_t)v &&
	    (v != 0 || !signbit(v))) {
		int_token(t, (int64_t)v);
		return 0;
	}
	if (ps->d->nnum == ps->d->capnum &&
	    jsonp_grow((void **)&ps->d->num, &ps->d->capnum, ps->d->nnum + 1, sizeof *ps->d->num) < 0)
		return jsonp_oom(ps);
	ps->d->num[ps->d->nnum] = v;
	t->a = J_NUM | F_X;
	t->b = (uint32_t)ps->d->nnum++;
	return 0;
}

/*
 * The common number's two primitives, on 16 bytes at a time (SSE2, the
 * x86-64 baseline; other machines: the same on two 8-byte words):
 *   digit_bits(p)      bit i set when p[i] is '0'-'9', for i < 16
 *   digit_value(e, c)  the value of the c (1-16) digits that end just
 *                      before e (the 16 bytes before e are read; the
 *                      first 16 - c are masked off, tail_mask)
 */
static const unsigned char tail_mask[48] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF,
};

#if defined __SSE2__ && !defined JSON_PORTABLE
static inline unsigned digit_bits(const unsigned char *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);

	/* '0'-'9' to -128..-119 (signed), every other byte above */
	v = _mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - '0')));
	return (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(v, _mm_set1_epi8(-118)));
}

/* 16 digits, a value 0-9 a byte: pairs, quads and eights by pmaddwd
 * (10, 100, 10000 and 1 in alternate 16-bit lanes), then the halves. */
static inline uint64_t digit_value(const unsigned char *e, int c)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(e - 16)), z = _mm_setzero_si128();
	__m128i m = _mm_loadu_si128((const __m128i *)(const void *)(tail_mask + c)), lo, hi;
	uint64_t x;

	v = _mm_and_si128(_mm_sub_epi8(v, _mm_set1_epi8('0')), m);
	lo = _mm_madd_epi16(_mm_unpacklo_epi8(v, z), _mm_set1_epi32(1 << 16 | 10));
	hi = _mm_madd_epi16(_mm_unpackhi_epi8(v, z), _mm_set1_epi32(1 << 16 | 10));
	v = _mm_madd_epi16(_mm_packs_epi32(lo, hi), _mm_set1_epi32(1 << 16 | 100));
	v = _mm_madd_epi16(_mm_packs_epi32(v, v), _mm_set1_epi32(1 << 16 | 10000));
	x = (uint64_t)_mm_cvtsi128_si64(v);
	return (x & 0xFFFFFFFF) * 100000000 + (x >> 32);
}
#else
/* bit 7 of each byte set for '0'-'9' (no carry leaves a byte: at most
 * 0x7F + 0x50), then gathered into 8 bits */
static inline unsigned digit_bits8(uint64_t w)
{
	uint64_t l = w & ~HIGHS;
	uint64_t d = (l + ONES * (0x80 - '0')) & ~(l + ONES * (0x7F - '9')) & ~w & HIGHS;

	return (unsigned)(((d >> 7) * 0x0102040810204080ull) >> 56);
}

static inline unsigned digit_bits(const unsigned char *p)
{
	return digit_bits8(load64(p)) | digit_bits8(load64(p + 8)) << 8;
}

/* masked before '0' is taken off: no byte borrows */
static inline uint64_t digit_value(const unsigned char *e, int c)
{
	uint64_t m0 = load64(tail_mask + c), m1 = load64(tail_mask + c + 8);

	return digits8z((load64(e - 16) & m0) - (ONES * '0' & m0)) * 100000000 +
		digits8z((load64(e - 8) & m1) - (ONES * '0' & m1));
}
#endif

/* The value of the c (1-19) digits that end just before e. */
static inline uint64_t digits_before(const unsigned char *e, int c)
{
	if (__builtin_expect(c > 16, 0))
		return digit_value(e - 16, c - 16) * 10000000000000000u + digit_value(e, 16);
	return digit_value(e, c);
}

static const uint64_t pow10_19[20] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
	100000000, 1000000000, 10000000000, 100000000000, 1000000000000, 10000000000000,
	100000000000000, 1000000000000000, 10000000000000000, 100000000000000000,
	1000000000000000000, 10000000000000000000u };

/*
 * number_fast(ps, p, t): the number at p into *t, and its end; or NULL,
 * and the caller hands the number to jsonp_number_slow from p (t, ps->p
 * untouched; ps->e only when num[] could not grow, which the slow reader
 * then finds again).  The common number without a per-digit loop: the
 * runs of digits found in one 32-byte mask, at most 19 digits before the
 * exponent (so the mantissa cannot wrap), an exponent of 1-4 digits, the
 * value decided by np_decimal; anything else, and any error, is the slow
 * reader's.  Bytes read: from p - 15 (digits_before: the 32 before the
 * end of a fraction of 17 or more digits, which is at least 19 bytes
 * past the sign, or of an integer part of 17 or more; the 16 before that
 * of a shorter run, which is at least 1 byte past the sign) to
 * p + NUM_FAST_MIN - 1: the masks p[0..32) after a sign (so up to
 * p[32]); the byte after an integer part of at most 19 digits (else no
 * more is read) at p + 20; after a fraction that brings the digits to 19
 * at most, p + 21; the exponent's sign at p + 22, its 4 digits and the
 * byte after them at p + 27 at most.
 */
#define NUM_FAST_MIN 33

static inline const unsigned char *number_fast(struct parser *ps, const unsigned char *p,
	struct jtok *t)
{
	const unsigned char *e;
	uint64_t mant, m;
	int neg, ki, kf = 0, dexp = 0;
	double v;

	if (ps->end - p < NUM_FAST_MIN || p - ps->s < 16)
		return NULL;
	neg = *p == '-';
	p += neg;
	m = digit_bits(p) | (uint64_t)digit_bits(p + 16) << 16;
	ki = __builtin_ctzll(~m);
	if (ki == 0 || ki > 19 || (*p == '0' && ki > 1))
		return NULL;
	e = p + ki;
	if (*e == '.') {
		kf = __builtin_ctzll(~(m >> (ki + 1)));
		if (kf == 0)
			return NULL;
		e += 1 + kf;
	}
	if (ki + kf > 19)
		return NULL;
	mant = ki == 1 ? (uint64_t)(*p - '0') : digits_before(p + ki, ki);
	if (kf) {
		mant = mant * pow10_19[kf] + digits_before(e, kf);
		dexp = -kf;
	}
	p = e;
	if ((*p | 0x20) == 'e') {
		/* 1-4 digits, one at a time (most exponents have 1-3) */
		int eneg = p[1] == '-', ev, i;
		unsigned c;

		p += 1 + (p[1] == '-' || p[1] == '+');
		if ((c = (unsigned)*p - '0') > 9)
			return NULL;
		for (ev = (int)c, i = 1; (c = (unsigned)p[i] - '0') <= 9; i++) {
			if (i == 4)
				return NULL;
			ev = ev * 10 + (int)c;
		}
		p += i;
		dexp += eneg ? -ev : ev;
	}
	if (dexp == 0 && mant < INT_BIAS && (mant || !neg)) {
		/* an integer below 2^53 (not -0): the inline token, as below */
		int_token(t, neg ? -(int64_t)mant : (int64_t)mant);
		return p;
	}
	if (!np_decimal_exact(mant, dexp, neg, &v) && !np_decimal(mant, dexp, neg, &v))
		return NULL;
	return put_double(ps, t, v) == 0 ? p : NULL;
}


#endif
