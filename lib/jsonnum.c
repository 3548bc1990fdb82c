/* jsonnum.c — JSON numbers: read (RFC 8259 grammar; the value correctly
 * rounded, numparse.h) and written the RFC 8785 way (dtoa.h) */
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dtoa.h"
#include "numparse.h"
#include "jsonnumf.h"

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

int jsonp_number_slow(struct parser *ps, struct jtok *t)
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
		int_token(t, neg ? -(int64_t)mant : (int64_t)mant);
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

int jsonp_number(struct parser *ps, struct jtok *t)
{
	const unsigned char *q = number_fast(ps, ps->p, t);

	if (!q)
		return jsonp_number_slow(ps, t);
	ps->p = q;
	return 0;
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
	int64_t i = int_of_token(t);
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
