/* jsonnum.c — JSON numbers: read (RFC 8259 grammar; the value correctly
 * rounded, numparse.h) and written the RFC 8785 way (dtoa.h) */
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dtoa.h"
#include "numparse.h"
#include "json_int.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* How many of the 8 bytes of w (in memory order) are '0'-'9' before the
 * first that is not.  A byte of m is 0x00 for a digit, and exactly so up
 * to the first non-digit: the + 6 carries out of a byte only when it is
 * 0xFA-0xFF, into the bytes after it. */
static inline int digit_run(uint64_t w)
{
	uint64_t m = ((w & 0xF0F0F0F0F0F0F0F0ull) |
		(((w + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) ^
		0x3333333333333333ull;

	return m ? __builtin_ctzll(m) >> 3 : 8;
}


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

static inline uint64_t digits8(uint64_t w)
{
	return digits8z(w - 0x3030303030303030ull);
}

static const uint64_t pow10_8[9] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
	100000000 };

/*
 * Add the run of digits at *pp to *mant (*ndig significant digits so far,
 * at most 11: the run's first 8 digits at most, read at once, then again
 * while there is room for 8 more), at least 8 bytes before end; returns
 * how many were added, and steps *pp past them.  The caller's per-digit
 * loop takes what is left: a run near end or past 19 digits.  The run
 * starts with 1-9 unless *mant is not 0, so every digit is significant.
 */
static inline int digit_runs(const unsigned char **pp, const unsigned char *end, uint64_t *mant,
	int *ndig)
{
	const unsigned char *p = *pp;
	int k, n = 0;

	while (*ndig <= 11 && end - p >= 8) {
		uint64_t w = load64(p);

		if ((k = digit_run(w)) == 0)
			break;
		if (k < 8)    /* the k digits last, after 8 - k '0's */
			w = w << (8 * (8 - k)) | 0x3030303030303030ull >> (8 * k);
		*mant = *mant * pow10_8[k] + digits8(w);
		*ndig += k;
		n += k;
		p += k;
		if (k < 8)
			break;
	}
	*pp = p;
	return n;
}

static locale_t c_locale(void)
{
	static locale_t loc;

	if (!loc)
		loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	return loc;
}

/* The token of double v: inline if an integer below 2^53 (not -0), else
 * v in num[].  0, or out of memory. */
static inline int put_double(struct parser *ps, struct jtok *t, double v)
{
	if (v > -(double)INT_BIAS && v < (double)INT_BIAS && v == (double)(int64_t)v &&
	    (v != 0 || !signbit(v))) {
		uint64_t u = (uint64_t)((int64_t)v + (int64_t)INT_BIAS);
		t->a = J_NUM | (uint32_t)(u >> 32) << PAY_SHIFT;
		t->b = (uint32_t)u;
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

/* The reader for every number: what number_fast leaves (a number near the
 * input's end, long, malformed, or out of np_decimal's reach). */
static __attribute__((noinline)) int number_slow(struct parser *ps, struct jtok *t)
{
	const unsigned char *p = ps->p, *start = p, *end = ps->end;
	uint64_t mant = 0;
	int ndig = 0, dexp = 0, neg = 0, exact = 1;
	double v;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (p >= end || *p < '0' || *p > '9')
		return jsonp_err(ps, start, "invalid number");
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			return jsonp_err(ps, start, "leading zero in number");
	} else {
		digit_runs(&p, end, &mant, &ndig);    /* the first digit is 1-9 */
		while (p < end && *p >= '0' && *p <= '9') {
			if (ndig < 19) {
				mant = mant * 10 + (uint64_t)(*p - '0');
				if (mant)
					ndig++;
			} else {
				dexp++;
				exact = 0;
			}
			p++;
		}
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return jsonp_err(ps, p, "digit expected after decimal point");
		if (!mant)    /* 0.000ddd: the zeros only scale */
			while (p < end && *p == '0') {
				dexp--;
				p++;
			}
		dexp -= digit_runs(&p, end, &mant, &ndig);
		while (p < end && *p >= '0' && *p <= '9') {
			if (ndig < 19) {
				mant = mant * 10 + (uint64_t)(*p - '0');
				if (mant)
					ndig++;
				dexp--;
			} else {
				exact = 0;
			}
			p++;
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		int eneg = 0;
		long ev = 0;

		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p >= end || *p < '0' || *p > '9')
			return jsonp_err(ps, p, "digit expected in exponent");
		while (p < end && *p >= '0' && *p <= '9') {
			if (ev < 100000)
				ev = ev * 10 + (*p - '0');
			p++;
		}
		dexp += (int)(eneg ? -ev : ev);
	}
	if (exact && dexp == 0 && mant < INT_BIAS && (mant || !neg)) {
		/* an integer below 2^53 (not -0): the inline token, as below */
		uint64_t u = (neg ? INT_BIAS - mant : INT_BIAS + mant);
		t->a = J_NUM | (uint32_t)(u >> 32) << PAY_SHIFT;
		t->b = (uint32_t)u;
		ps->p = p;
		return 0;
	}
	if (!(exact ? np_decimal(mant, dexp, neg, &v) : np_decimal_cut(mant, dexp, neg, &v))) {
		/* Correctly rounded conversion; the grammar was checked above. */
		char small[64], *s = small;
		size_t n = (size_t)(p - start);

		if (n >= sizeof small && !(s = malloc(n + 1)))
			return jsonp_oom(ps);
		memcpy(s, start, n);
		s[n] = '\0';
		v = strtod_l(s, NULL, c_locale());
		if (s != small)
			free(s);
		if (isinf(v))
			return jsonp_err(ps, start, "number out of range of a double");
	}
	ps->p = p;
	return put_double(ps, t, v);
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
 * The common number without a per-digit loop: the runs of digits found
 * in one 32-byte mask, at most 19 digits before the exponent (so the
 * mantissa cannot wrap), an exponent of 1-4 digits, the value decided by
 * np_decimal.  Anything else, and any error, goes to number_slow, which
 * starts again from ps->p: nothing is written before.  Bytes read: from
 * ps->p - 15 (digits_before: the 32 before the end of a fraction of 17
 * or more digits, which is at least 19 bytes past the sign, or of an
 * integer part of 17 or more; the 16 before that of a shorter run, which
 * is at least 1 byte past the sign) to ps->p + NUM_FAST_MIN: the sign
 * 1, the mask 32; the digits end at p + 21 at most (19 and '.', after
 * the sign), the exponent's sign at p + 22, its 4 digits and the byte
 * after them at p + 27 at most.
 */
#define NUM_FAST_MIN 33

int jsonp_number(struct parser *ps, struct jtok *t)
{
	const unsigned char *p = ps->p, *e;
	uint64_t mant, m;
	int neg, ki, kf = 0, dexp = 0;
	double v;

	if (ps->end - p < NUM_FAST_MIN || p - ps->s < 16)
		return number_slow(ps, t);
	neg = *p == '-';
	p += neg;
	m = digit_bits(p) | (uint64_t)digit_bits(p + 16) << 16;
	ki = __builtin_ctzll(~m);
	if (ki == 0 || (*p == '0' && ki > 1))
		return number_slow(ps, t);
	e = p + ki;
	if (*e == '.') {
		kf = __builtin_ctzll(~(m >> (ki + 1)));
		if (kf == 0)
			return number_slow(ps, t);
		e += 1 + kf;
	}
	if (ki + kf > 19)
		return number_slow(ps, t);
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
			return number_slow(ps, t);
		for (ev = (int)c, i = 1; (c = (unsigned)p[i] - '0') <= 9; i++) {
			if (i == 4)
				return number_slow(ps, t);
			ev = ev * 10 + (int)c;
		}
		p += i;
		dexp += eneg ? -ev : ev;
	}
	if (dexp == 0 && mant < INT_BIAS && (mant || !neg)) {
		/* an integer below 2^53 (not -0): the inline token, as below */
		uint64_t u = (neg ? INT_BIAS - mant : INT_BIAS + mant);
		t->a = J_NUM | (uint32_t)(u >> 32) << PAY_SHIFT;
		t->b = (uint32_t)u;
		ps->p = p;
		return 0;
	}
	if (!np_decimal_exact(mant, dexp, neg, &v) && !np_decimal(mant, dexp, neg, &v))
		return number_slow(ps, t);
	ps->p = p;
	return put_double(ps, t, v);
}

void json_put_num(struct buf *out, double v)
{
	char tmp[DTOA_BUFSIZE];

	buf_put_fast(out, tmp, dtoa_es(v, tmp));
}

/* Integers below 2^53 in magnitude: their ECMAScript form is the decimal. */
void jsonp_put_int(struct buf *out, const struct jtok *t)
{
	static const char digits2[] =
		"00010203040506070809101112131415161718192021222324252627282930313233"
		"34353637383940414243444546474849505152535455565758596061626364656667"
		"6869707172737475767778798081828384858687888990919293949596979899";
	int64_t i = (int64_t)((uint64_t)(t->a >> PAY_SHIFT) << 32 | t->b) - (int64_t)INT_BIAS;
	char tmp[24], *e = tmp + sizeof tmp, *p = e;
	uint64_t u = i < 0 ? (uint64_t)-i : (uint64_t)i;

	while (u >= 100) {
		p -= 2;
		memcpy(p, digits2 + 2 * (u % 100), 2);
		u /= 100;
	}
	if (u >= 10) {
		p -= 2;
		memcpy(p, digits2 + 2 * u, 2);
	} else {
		*--p = (char)('0' + u);
	}
	if (i < 0)
		*--p = '-';
	buf_put_fast(out, p, (size_t)(e - p));
}
