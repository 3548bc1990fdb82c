/* json.c — strict JSON reader and RFC 8785 (JCS) canonical writer
 *
 * The reader is a non-recursive state machine that builds a flat token
 * array ("tape") in document order: 8 bytes a value or member name, no
 * closing tokens (the last value of a container carries F_LAST), strings
 * pointing into the input unless they had escapes, integers below 2^53
 * inline and other doubles in a side array.  Objects are checked for
 * duplicate names when they close; members that are not already in
 * RFC 8785 order get a sorted permutation (side table ux[]), so the
 * writer never re-sorts and never copies subtrees.  Nothing here
 * recurses, so nesting depth is limited only by max_depth.
 *
 * Token layout (struct jtok, two 32-bit words a and b):
 *   a bits 0-2  type (enum jtype)
 *   a bit 3     F_LAST: the last value of its container (and the root)
 *   a bit 4     F_X: J_STR: text in dec[] (it had escapes);
 *               J_NUM: b indexes num[] (else an inline integer);
 *               J_OBJ: members not in canonical order, b indexes ux[]
 *   a bits 5-31 payload: J_STR length, J_ARR/J_OBJ count (PAY_SAT when
 *               that does not fit: then counted), J_NUM inline: high bits
 *   b           J_STR: offset in the input (of the text, after the quote)
 *               or in dec[]; J_ARR, J_OBJ in order: the token after the
 *               container; J_OBJ unsorted: index in ux[]; J_NUM: low 32
 *               bits of an inline integer + 2^53, or index in num[]
 * Why these limits hold: the input is < 4 GiB and every token but a
 * container's consumes at least one input byte of its own (a container
 * two), so at most len + 1 tokens; dec[] holds each escaped string's
 * decoded text (never longer than its input text) after an 8-byte prefix
 * (input offset, length) and is checked against 4 GiB.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "dtoa.h"
#include "numparse.h"
#include "json.h"

#define T_TYPE 0x7u
#define F_LAST 0x8u
#define F_X 0x10u
#define PAY_SHIFT 5
#ifndef JSON_PAY_SAT          /* t/unit/json.c makes it small to test the counted paths */
#define JSON_PAY_SAT ((1u << 27) - 1)
#endif
#define PAY_SAT JSON_PAY_SAT
#define INT_BIAS ((uint64_t)1 << 53)   /* inline integers: |i| < 2^53 */

struct jtok {
	uint32_t a;
	uint32_t b;
};

/* An object whose members are not in canonical order. */
struct jux {
	uint32_t end;      /* the token after the object */
	uint32_t count;    /* members */
	uint32_t perm;     /* offset in perm[] of its keys in canonical order */
};

struct jdoc {
	const char *in;
	size_t inlen;
	struct jtok *t;
	size_t nt, capt;
	void *tmap;        /* the tape's own mapping (large inputs), else NULL */
	size_t tmaplen;
	char *dec;         /* decoded strings, each after its uint32 input offset and length */
	size_t ndec, capdec;
	uint32_t *perm;
	size_t nperm, capperm;
	struct jux *ux;
	size_t nux, capux;
	double *num;
	size_t nnum, capnum;
};

struct frame {
	uint32_t tok;      /* the container's token */
	uint32_t keybase;  /* objects: where its keys start in keys[] */
	uint32_t count;    /* values so far */
	uint32_t last;     /* the last value's token */
};

struct parser {
	struct jdoc *d;
	const unsigned char *s, *p, *end;
	struct frame *stk;
	size_t depth, capstk;
	uint32_t *keys;
	size_t nkeys, capkeys;
	unsigned maxdepth;
	struct merr *e;
	int oom;
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need) {
		if (c > SIZE_MAX / 2 / size)
			return -1;
		c *= 2;
	}
	q = realloc(*p, c * size);
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

static int perr(struct parser *ps, const unsigned char *at, const char *msg)
{
	size_t line, col;

	json_linecol((const char *)ps->s, (size_t)(at - ps->s), &line, &col);
	return merr_setlc(ps->e, EX_DATA, line, col, "%s", msg);
}

static int poom(struct parser *ps)
{
	ps->oom = 1;
	errno = ENOMEM;
	return merr_sys(ps->e, "allocate memory for the document");
}

void json_linecol(const char *buf, size_t off, size_t *line, size_t *col)
{
	const char *p = buf, *end = buf + off, *nl;
	size_t l = 1;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		l++;
		p = nl + 1;
	}
	*line = l;
	*col = (size_t)(end - p) + 1;
}

/* The tape is sized for the worst case up front (len + 1 tokens, see the
 * top), so tokens never move.  Large tapes get their own mapping with
 * transparent huge pages: a 25 MB input's tape then costs a few dozen page
 * faults instead of tens of thousands, and untouched pages cost nothing. */
#define TAPE_MAP_MIN (4u << 20)
#define HUGE_PAGE (2u << 20)

static int tape_alloc(struct jdoc *d, size_t ntok)
{
	size_t bytes = ntok * sizeof *d->t;

	if (bytes >= TAPE_MAP_MIN) {
		size_t len = bytes + HUGE_PAGE;
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m != MAP_FAILED) {
			char *a = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
#ifdef MADV_HUGEPAGE
			(void)madvise(a, bytes & ~(size_t)(HUGE_PAGE - 1), MADV_HUGEPAGE);
#endif
			d->tmap = m;
			d->tmaplen = len;
			d->t = (struct jtok *)(void *)a;
			d->capt = ntok;
			return 0;
		}
	}
	if (!(d->t = malloc(bytes)))
		return -1;
	d->capt = ntok;
	return 0;
}

static inline struct jtok *push_tok(struct parser *ps)
{
	struct jdoc *d = ps->d;

	if (__builtin_expect(d->nt == d->capt, 0))
		return NULL;   /* cannot happen: the bound above */
	return &d->t[d->nt++];
}

/* ---- strings ---- */

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static inline uint64_t haszero8(uint64_t x)
{
	return (x - ONES) & ~x & HIGHS;
}

/* Nonzero if any byte of w is < 0x20, '"', '\\' or >= 0x80.  (Borrows can
 * only flag bytes above a byte that is really special.) */
static inline uint64_t special8(uint64_t w)
{
	return (w & HIGHS) | ((w - ONES * 0x20) & ~w & HIGHS) |
		haszero8(w ^ (ONES * '"')) | haszero8(w ^ (ONES * '\\'));
}

/* Length of a valid UTF-8 sequence at p (lead byte p[0] >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n = (size_t)(end - p);

	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
		return n >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
		return n >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 &&
			(p[3] & 0xC0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* hexval[c]: c's value as a hex digit, or 0x10 (not one) */
#define HX16(x) 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, \
	0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10
static const unsigned char hexval[256] = {
	HX16(0), HX16(1), HX16(2),
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
	0x10, 10, 11, 12, 13, 14, 15, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
	HX16(5),
	0x10, 10, 11, 12, 13, 14, 15, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
	HX16(7), HX16(8), HX16(9), HX16(A), HX16(B), HX16(C), HX16(D), HX16(E), HX16(F),
};

static int hex4(const unsigned char *p, unsigned *out)
{
	unsigned a = hexval[p[0]], b = hexval[p[1]], c = hexval[p[2]], e = hexval[p[3]];

	if ((a | b | c | e) & 0x10)
		return -1;
	*out = a << 12 | b << 8 | c << 4 | e;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decode the rest of a string that has an escape at p (content started at
 * start) into the decoded buffer.  On success ps->p is past the closing
 * quote and the token is filled. */
static int string_slow(struct parser *ps, const unsigned char *start, const unsigned char *p,
	struct jtok *t)
{
	struct jdoc *d = ps->d;
	const unsigned char *end = ps->end;
	size_t base, o;
	uint32_t off32 = (uint32_t)(start - 1 - ps->s), len32;

	/* Decoded text is never longer than the input text; 8 bytes more let
	 * the loop below store whole words past the decoded end. */
	if (d->ndec + 16 + (size_t)(end - start) > UINT32_MAX)
		return perr(ps, start, "document too large (escaped strings over 4 GiB)");
	if (grow((void **)&d->dec, &d->capdec, d->ndec + 16 + (size_t)(end - start), 1) < 0)
		return poom(ps);
	memcpy(d->dec + d->ndec, &off32, 4);
	base = d->ndec + 8;
	memcpy(d->dec + base, start, (size_t)(p - start));
	o = base + (size_t)(p - start);
	for (;;) {
		unsigned c;

		if (p >= end)
			return perr(ps, p, "unterminated string");
		c = *p;
		if (c == '"') {
			p++;
			break;
		}
		if (c == '\\') {
			unsigned cp, lo;

			if (p + 1 >= end)
				return perr(ps, p, "unterminated string");
			switch (p[1]) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case '/': c = '/'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				if (end - p < 6 || hex4(p + 2, &cp) < 0)
					return perr(ps, p, "bad \\u escape: four hex digits expected");
				if (cp >= 0xDC00 && cp <= 0xDFFF)
					return perr(ps, p, "lone low surrogate \\u escape");
				if (cp >= 0xD800 && cp <= 0xDBFF) {
					if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
					    hex4(p + 8, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
						return perr(ps, p, "lone high surrogate \\u escape");
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					p += 6;
				}
				o += put_utf8(d->dec + o, cp);
				p += 6;
				continue;
			default:
				return perr(ps, p, "bad escape sequence");
			}
			d->dec[o++] = (char)c;
			p += 2;
			continue;
		}
		if (c < 0x20)
			return perr(ps, p, "control character in string must be escaped");
		if (c < 0x80) {
			/* a run of plain ASCII: a word at a time (the store may
			 * write up to 7 bytes past the run: the slack above) */
			while (end - p >= 8) {
				uint64_t w = load64(p), m = special8(w);

				memcpy(d->dec + o, &w, 8);
				if (m) {
					size_t k = (size_t)__builtin_ctzll(m) >> 3;
					p += k;
					o += k;
					break;
				}
				p += 8;
				o += 8;
			}
			if (end - p < 8 && p < end && *p != '"' && *p != '\\' &&
			    *p >= 0x20 && *p < 0x80) {
				d->dec[o++] = (char)*p;
				p++;
			}
			continue;
		}
		{
			size_t n = utf8_seq(p, end);
			if (!n)
				return perr(ps, p, "invalid UTF-8");
			if (end - p >= 4)
				memcpy(d->dec + o, p, 4);   /* n <= 4; the slack */
			else
				memcpy(d->dec + o, p, n);
			o += n;
			p += n;
		}
	}
	len32 = (uint32_t)(o - base);
	memcpy(d->dec + base - 4, &len32, 4);
	t->a = J_STR | F_X | (len32 < PAY_SAT ? len32 : PAY_SAT) << PAY_SHIFT;
	t->b = (uint32_t)base;
	d->ndec = o;
	ps->p = p;
	return 0;
}

/* ps->p is at the opening quote. */
static int parse_string(struct parser *ps, struct jtok *t)
{
	const unsigned char *start = ps->p + 1, *p = start, *end = ps->end;

	for (;;) {
		while (end - p >= 8) {
			uint64_t m = special8(load64(p));
			if (m) {
				/* the lowest flagged byte is really special */
				p += __builtin_ctzll(m) >> 3;
				break;
			}
			p += 8;
		}
		if (p >= end)
			return perr(ps, p, "unterminated string");
		if (*p == '"')
			break;
		if (*p == '\\')
			return string_slow(ps, start, p, t);
		if (*p < 0x20)
			return perr(ps, p, "control character in string must be escaped");
		if (*p >= 0x80) {
			size_t n = utf8_seq(p, end);
			if (!n)
				return perr(ps, p, "invalid UTF-8");
			p += n;
		} else {
			p++;
		}
	}
	{
		size_t n = (size_t)(p - start);
		t->a = J_STR | (uint32_t)(n < PAY_SAT ? n : PAY_SAT) << PAY_SHIFT;
		t->b = (uint32_t)(start - ps->s);
	}
	ps->p = p + 1;
	return 0;
}

/* ---- numbers ---- */

/* Nonzero if the 8 bytes of w (in memory order) are all '0'-'9'. */
static inline int eight_digits(uint64_t w)
{
	return ((w & 0xF0F0F0F0F0F0F0F0ull) |
		(((w + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) ==
		0x3333333333333333ull;
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "load64 reads little-endian words");

/* The value of 8 decimal digits in memory order (little-endian load):
 * pairs, then quads, then the two halves, each a multiply and a shift. */
static inline uint64_t digits8(uint64_t w)
{
	w -= 0x3030303030303030ull;
	w = w * 10 + (w >> 8);                         /* 2-digit values in bytes 0,2,4,6 */
	w = ((w & 0x000000FF000000FFull) * (100 + (1000000ull << 32)) +
		((w >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32))) >> 32;
	return w;
}

static locale_t c_locale(void)
{
	static locale_t loc;

	if (!loc)
		loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	return loc;
}

static int parse_number(struct parser *ps, struct jtok *t)
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
		return perr(ps, start, "invalid number");
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			return perr(ps, start, "leading zero in number");
	} else {
		while (ndig <= 11 && end - p >= 8 && eight_digits(load64(p))) {
			mant = mant * 100000000 + digits8(load64(p));
			ndig += 8;     /* mant != 0: the first digit is 1-9 */
			p += 8;
		}
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
			return perr(ps, p, "digit expected after decimal point");
		while (mant && ndig <= 11 && end - p >= 8 && eight_digits(load64(p))) {
			mant = mant * 100000000 + digits8(load64(p));
			ndig += 8;
			dexp -= 8;
			p += 8;
		}
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
			return perr(ps, p, "digit expected in exponent");
		while (p < end && *p >= '0' && *p <= '9') {
			if (ev < 100000)
				ev = ev * 10 + (*p - '0');
			p++;
		}
		dexp += (int)(eneg ? -ev : ev);
	}
	if (!(exact ? np_decimal(mant, dexp, neg, &v) : np_decimal_cut(mant, dexp, neg, &v))) {
		/* Correctly rounded conversion; the grammar was checked above. */
		char small[64], *s = small;
		size_t n = (size_t)(p - start);

		if (n >= sizeof small && !(s = malloc(n + 1)))
			return poom(ps);
		memcpy(s, start, n);
		s[n] = '\0';
		v = strtod_l(s, NULL, c_locale());
		if (s != small)
			free(s);
		if (isinf(v))
			return perr(ps, start, "number out of range of a double");
	}
	ps->p = p;
	if (v > -(double)INT_BIAS && v < (double)INT_BIAS && v == (double)(int64_t)v &&
	    (v != 0 || !signbit(v))) {
		uint64_t u = (uint64_t)((int64_t)v + (int64_t)INT_BIAS);
		t->a = J_NUM | (uint32_t)(u >> 32) << PAY_SHIFT;
		t->b = (uint32_t)u;
		return 0;
	}
	if (grow((void **)&ps->d->num, &ps->d->capnum, ps->d->nnum + 1, sizeof *ps->d->num) < 0)
		return poom(ps);
	ps->d->num[ps->d->nnum] = v;
	t->a = J_NUM | F_X;
	t->b = (uint32_t)ps->d->nnum++;
	return 0;
}

/* ---- keys and objects ---- */

static size_t long_len(const struct jdoc *d, const struct jtok *t)
{
	uint32_t n;
	const char *s, *q;

	if (t->a & F_X) {
		memcpy(&n, d->dec + t->b - 4, 4);
		return n;
	}
	/* raw text has no quote or backslash: it ends at the next quote */
	s = d->in + t->b;
	q = memchr(s, '"', d->inlen - t->b);
	return (size_t)(q - s);
}

static inline const char *tok_str(const struct jdoc *d, const struct jtok *t, size_t *len)
{
	uint32_t n = t->a >> PAY_SHIFT;

	*len = __builtin_expect(n == PAY_SAT, 0) ? long_len(d, t) : n;
	return (t->a & F_X) ? d->dec + t->b : d->in + t->b;
}

static size_t tok_offset(const struct jdoc *d, const struct jtok *t)
{
	uint32_t off;

	if (!(t->a & F_X))
		return t->b - 1;
	memcpy(&off, d->dec + t->b - 8, 4);
	return off;
}

static inline double tok_num(const struct jdoc *d, const struct jtok *t)
{
	if (t->a & F_X)
		return d->num[t->b];
	return (double)((int64_t)((uint64_t)(t->a >> PAY_SHIFT) << 32 | t->b) - (int64_t)INT_BIAS);
}

int json_keycmp(const char *a, size_t an, const char *b, size_t bn)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	size_t n = an < bn ? an : bn, i = 0;
	unsigned cx, cy;

	/* most names differ in their first byte */
	if (n && x[0] != y[0])
		goto differ;
	while (i + 8 <= n && load64(x + i) == load64(y + i))
		i += 8;
	while (i < n && x[i] == y[i])
		i++;
	if (i == n)
		return an < bn ? -1 : an > bn;
differ:
	/* UTF-8 byte order is code point order.  UTF-16 order differs only
	 * between U+E000..U+FFFF (lead bytes EE, EF) and the supplementary
	 * characters (lead bytes F0-F4, one surrogate pair, D800-DFFF first).
	 * The first differing bytes are both lead bytes or both continuation
	 * bytes of characters with the same lead byte (same class). */
	cx = x[i];
	cy = y[i];
	if (cx >= 0xEE && cy >= 0xEE && (cx >= 0xF0) != (cy >= 0xF0))
		return cx >= 0xF0 ? -1 : 1;
	return cx < cy ? -1 : 1;
}

static int keycmp_tok(const void *pa, const void *pb, void *ctx)
{
	const struct jdoc *d = ctx;
	const struct jtok *ta = &d->t[*(const uint32_t *)pa], *tb = &d->t[*(const uint32_t *)pb];
	const char *a, *b;
	size_t an, bn;
	int r;

	a = tok_str(d, ta, &an);
	b = tok_str(d, tb, &bn);
	r = json_keycmp(a, an, b, bn);
	if (r == 0) /* keep input order among equals, to name the later one */
		r = *(const uint32_t *)pa < *(const uint32_t *)pb ? -1 : 1;
	return r;
}

static int dup_error(struct parser *ps, uint32_t k1, uint32_t k2)
{
	struct jdoc *d = ps->d;
	uint32_t later = k1 > k2 ? k1 : k2;
	const char *s;
	size_t n, line, col;
	char name[64];

	s = tok_str(d, &d->t[later], &n);
	snprintf(name, sizeof name, "%.*s%s", (int)(n > 40 ? 40 : n), s, n > 40 ? "..." : "");
	for (size_t i = 0; name[i]; i++)
		if ((unsigned char)name[i] < 0x20)
			name[i] = '?';
	json_linecol(d->in, tok_offset(d, &d->t[later]), &line, &col);
	return merr_setlc(ps->e, EX_DATA, line, col, "duplicate member name \"%s\"", name);
}

static int close_object(struct parser *ps, struct jtok *t, uint32_t keybase)
{
	struct jdoc *d = ps->d;
	uint32_t *k = ps->keys ? ps->keys + keybase : NULL;   /* {} has no keys yet */
	size_t n = ps->nkeys - keybase, i;
	int sorted = 1;

	for (i = 1; i < n; i++) {
		const char *a, *b;
		size_t an, bn;
		int r;

		a = tok_str(d, &d->t[k[i - 1]], &an);
		b = tok_str(d, &d->t[k[i]], &bn);
		r = json_keycmp(a, an, b, bn);
		if (r == 0)
			return dup_error(ps, k[i - 1], k[i]);
		if (r > 0) {
			sorted = 0;
			break;
		}
	}
	if (!sorted) {
		uint32_t *pm;

		if (grow((void **)&d->perm, &d->capperm, d->nperm + n, sizeof *d->perm) < 0 ||
		    grow((void **)&d->ux, &d->capux, d->nux + 1, sizeof *d->ux) < 0)
			return poom(ps);
		pm = d->perm + d->nperm;
		memcpy(pm, k, n * sizeof *k);
		if (n <= 16) {
			for (i = 1; i < n; i++) {
				uint32_t x = pm[i];
				size_t j = i;
				while (j > 0 && keycmp_tok(&pm[j - 1], &x, d) > 0) {
					pm[j] = pm[j - 1];
					j--;
				}
				pm[j] = x;
			}
		} else {
			qsort_r(pm, n, sizeof *pm, keycmp_tok, d);
		}
		for (i = 1; i < n; i++) {
			const char *a, *b;
			size_t an, bn;

			a = tok_str(d, &d->t[pm[i - 1]], &an);
			b = tok_str(d, &d->t[pm[i]], &bn);
			if (an == bn && memcmp(a, b, an) == 0)
				return dup_error(ps, pm[i - 1], pm[i]);
		}
		d->ux[d->nux].end = t->b;
		d->ux[d->nux].count = (uint32_t)n;
		d->ux[d->nux].perm = (uint32_t)d->nperm;
		t->b = (uint32_t)d->nux++;
		t->a |= F_X;
		d->nperm += n;
	}
	ps->nkeys = keybase;
	return 0;
}

/* ---- the parser ---- */

static inline const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end)
{
	/* Most JSON has no whitespace, or a newline and a run of spaces:
	 * runs of spaces are skipped a word at a time to their end. */
	if (p < end && *p > ' ')
		return p;
	while (p < end) {
		if (end - p >= 8) {
			uint64_t w = load64(p) ^ (ONES * ' ');
			if (w == 0) {
				p += 8;
				continue;
			}
			p += __builtin_ctzll(w) >> 3;
		}
		if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
			p++;
		else
			break;
	}
	return p;
}

static const char *describe(const unsigned char *p, const unsigned char *end)
{
	if (p >= end)
		return "end of input";
	if (*p >= 0x80)
		return "a non-ASCII byte";
	if (*p < 0x20 || *p == 0x7F)
		return "a control character";
	return NULL;
}

static int unexpected(struct parser *ps, const char *want)
{
	const char *what = describe(ps->p, ps->end);
	char buf[200];

	if (!what && (*ps->p == '/'))
		what = "'/' (comments are not JSON)";
	if (what)
		snprintf(buf, sizeof buf, "%s expected, found %s", want, what);
	else
		snprintf(buf, sizeof buf, "%s expected, found '%c'", want, *ps->p);
	return perr(ps, ps->p, buf);
}

static int push_frame(struct parser *ps, uint32_t tok)
{
	if (ps->depth == ps->capstk &&
	    grow((void **)&ps->stk, &ps->capstk, ps->depth + 1, sizeof *ps->stk) < 0)
		return poom(ps);
	ps->stk[ps->depth].tok = tok;
	ps->stk[ps->depth].keybase = (uint32_t)ps->nkeys;
	ps->stk[ps->depth].count = 0;
	ps->stk[ps->depth].last = 0;
	ps->depth++;
	return 0;
}

static int depth_error(struct parser *ps)
{
	size_t line, col;

	json_linecol((const char *)ps->s, (size_t)(ps->p - ps->s), &line, &col);
	return merr_setlc(ps->e, EX_DATA, line, col, "nesting deeper than %u levels", ps->maxdepth);
}

static int parse_key(struct parser *ps)
{
	struct jtok *t;
	int r;

	if (ps->p >= ps->end || *ps->p != '"')
		return unexpected(ps, "member name (a string)");
	if (ps->nkeys == ps->capkeys &&
	    grow((void **)&ps->keys, &ps->capkeys, ps->nkeys + 1, sizeof *ps->keys) < 0)
		return poom(ps);
	ps->keys[ps->nkeys++] = (uint32_t)ps->d->nt;
	if (!(t = push_tok(ps)))
		return poom(ps);
	if ((r = parse_string(ps, t)) != 0)
		return r;
	ps->p = skip_ws(ps->p, ps->end);
	if (ps->p >= ps->end || *ps->p != ':')
		return unexpected(ps, "':'");
	ps->p = skip_ws(ps->p + 1, ps->end);
	return 0;
}

static int parse(struct parser *ps)
{
	struct jdoc *d = ps->d;
	const unsigned char *end = ps->end;
	struct jtok *t;
	uint32_t last = 0;
	int r;

	if (end - ps->p >= 3 && ps->p[0] == 0xEF && ps->p[1] == 0xBB && ps->p[2] == 0xBF)
		return perr(ps, ps->p, "byte order mark not allowed");
	ps->p = skip_ws(ps->p, end);
value:
	if (ps->p >= end)
		return unexpected(ps, "a value");
	if (!(t = push_tok(ps)))
		return poom(ps);
	switch (*ps->p) {
	case '{':
	case '[': {
		int obj = *ps->p == '{';

		t->a = obj ? J_OBJ : J_ARR;
		t->b = 0;
		if (ps->depth >= ps->maxdepth)
			return depth_error(ps);
		if ((r = push_frame(ps, (uint32_t)(d->nt - 1))) != 0)
			return r;
		ps->p = skip_ws(ps->p + 1, end);
		if (ps->p < end && *ps->p == (obj ? '}' : ']')) {
			ps->p++;
			goto close;
		}
		if (obj && (r = parse_key(ps)) != 0)
			return r;
		goto value;
	}
	case '"':
		if ((r = parse_string(ps, t)) != 0)
			return r;
		break;
	case 't':
	case 'f':
	case 'n': {
		static const char *const lit[] = { "true", "false", "null" };
		static const uint32_t type[] = { J_TRUE, J_FALSE, J_NULL };
		int i = *ps->p == 't' ? 0 : *ps->p == 'f' ? 1 : 2;
		size_t n = strlen(lit[i]);

		if ((size_t)(end - ps->p) < n || memcmp(ps->p, lit[i], n) != 0)
			return perr(ps, ps->p, "invalid literal (true, false or null expected)");
		t->a = type[i];
		t->b = 0;
		ps->p += n;
		break;
	}
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
			if ((r = parse_number(ps, t)) != 0)
				return r;
			break;
		}
		d->nt--;
		return unexpected(ps, "a value");
	}
	last = (uint32_t)(d->nt - 1);
next:
	ps->p = skip_ws(ps->p, end);
	if (ps->depth == 0) {
		if (ps->p < end)
			return perr(ps, ps->p, "trailing data after the JSON value");
		d->t[0].a |= F_LAST;
		return 0;
	}
	{
		struct frame *f = &ps->stk[ps->depth - 1];
		int obj = (d->t[f->tok].a & T_TYPE) == J_OBJ;

		f->count++;
		f->last = last;
		if (ps->p < end && *ps->p == ',') {
			ps->p = skip_ws(ps->p + 1, end);
			if (obj) {
				if ((r = parse_key(ps)) != 0)
					return r;
			} else if (ps->p < end && *ps->p == ']') {
				return perr(ps, ps->p, "trailing comma in array");
			}
			goto value;
		}
		if (ps->p < end && *ps->p == (obj ? '}' : ']')) {
			ps->p++;
			goto close;
		}
		return unexpected(ps, obj ? "',' or '}'" : "',' or ']'");
	}
close:
	{
		struct frame *f = &ps->stk[ps->depth - 1];

		t = &d->t[f->tok];
		t->b = (uint32_t)d->nt;  /* the token after the container */
		t->a |= (f->count < PAY_SAT ? f->count : PAY_SAT) << PAY_SHIFT;
		if (f->count)
			d->t[f->last].a |= F_LAST;
		if ((t->a & T_TYPE) == J_OBJ && (r = close_object(ps, t, f->keybase)) != 0)
			return r;
		last = f->tok;
		ps->depth--;
	}
	goto next;
}

struct jdoc *json_parse(const char *buf, size_t len, const struct jopts *o, struct merr *e)
{
	struct parser ps;
	struct jdoc *d;
	int r;

	if (len >= UINT32_MAX) {
		merr_set(e, EX_DATA, NULL, "input larger than 4 GiB");
		return NULL;
	}
	d = calloc(1, sizeof *d);
	if (!d) {
		merr_sys(e, "allocate memory for the document");
		return NULL;
	}
	d->in = buf;
	d->inlen = len;
	if (tape_alloc(d, len + 1) < 0) {
		free(d);
		merr_sys(e, "allocate memory for the document");
		return NULL;
	}
	memset(&ps, 0, sizeof ps);
	ps.d = d;
	ps.s = ps.p = (const unsigned char *)buf;
	ps.end = ps.s + len;
	ps.e = e;
	ps.maxdepth = o && o->max_depth ? o->max_depth : JSON_DEFAULT_MAX_DEPTH;
	r = parse(&ps);
	free(ps.stk);
	free(ps.keys);
	if (r != 0) {
		json_free(d);
		return NULL;
	}
	return d;
}

void json_free(struct jdoc *d)
{
	if (!d)
		return;
	if (d->tmap)
		munmap(d->tmap, d->tmaplen);
	else
		free(d->t);
	free(d->dec);
	free(d->perm);
	free(d->ux);
	free(d->num);
	free(d);
}

/* ---- accessors ---- */

static inline uint32_t tnext(const struct jdoc *d, uint32_t i)
{
	uint32_t a = d->t[i].a;

	if ((a & T_TYPE) < J_ARR)
		return i + 1;
	return (a & T_TYPE) == J_OBJ && (a & F_X) ? d->ux[d->t[i].b].end : d->t[i].b;
}

/* Elements or members of a container, counted when the tape could not hold
 * the number (2^27 or more). */
static size_t tcount(const struct jdoc *d, uint32_t v)
{
	uint32_t n = d->t[v].a >> PAY_SHIFT, k;
	size_t c = 0;

	if (n != PAY_SAT)
		return n;
	if ((d->t[v].a & T_TYPE) == J_OBJ && (d->t[v].a & F_X))
		return d->ux[d->t[v].b].count;
	for (k = v + 1;; c++) {
		if ((d->t[v].a & T_TYPE) == J_OBJ)
			k++;
		if (d->t[k].a & F_LAST)
			return c + 1;
		k = tnext(d, k);
	}
}

jref json_root(const struct jdoc *d)
{
	(void)d;
	return 0;
}

enum jtype json_type(const struct jdoc *d, jref v)
{
	return (enum jtype)(d->t[v].a & T_TYPE);
}

const char *json_typename(enum jtype t)
{
	switch (t) {
	case J_NULL: return "null";
	case J_FALSE:
	case J_TRUE: return "boolean";
	case J_NUM: return "number";
	case J_STR: return "string";
	case J_ARR: return "array";
	case J_OBJ: return "object";
	}
	return "?";
}

const char *json_str(const struct jdoc *d, jref v, size_t *len)
{
	size_t n;
	const char *s;

	if (json_type(d, v) != J_STR) {
		if (len)
			*len = 0;
		return NULL;
	}
	s = tok_str(d, &d->t[v], &n);
	if (len)
		*len = n;
	return s;
}

int json_str_eq(const struct jdoc *d, jref v, const char *s)
{
	size_t n;
	const char *p = json_str(d, v, &n);

	return p && n == strlen(s) && memcmp(p, s, n) == 0;
}

char *json_strdup(const struct jdoc *d, jref v)
{
	size_t n;
	const char *p = json_str(d, v, &n);
	char *s;

	if (!p || memchr(p, '\0', n) || !(s = malloc(n + 1)))
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

double json_num(const struct jdoc *d, jref v)
{
	return json_type(d, v) == J_NUM ? tok_num(d, &d->t[v]) : 0;
}

size_t json_len(const struct jdoc *d, jref v)
{
	enum jtype t = json_type(d, v);

	size_t n;

	if (t == J_STR) {
		tok_str(d, &d->t[v], &n);
		return n;
	}
	return t == J_ARR || t == J_OBJ ? tcount(d, v) : 0;
}

jref json_first(const struct jdoc *d, jref arr)
{
	enum jtype t = json_type(d, arr);

	if ((t != J_ARR && t != J_OBJ) || (d->t[arr].a >> PAY_SHIFT) == 0)
		return JREF_NONE;
	return arr + 1;
}

jref json_first_key(const struct jdoc *d, jref obj)
{
	return json_type(d, obj) == J_OBJ ? json_first(d, obj) : JREF_NONE;
}

jref json_next(const struct jdoc *d, jref v)
{
	return (d->t[v].a & F_LAST) ? JREF_NONE : tnext(d, v);
}

jref json_next_key(const struct jdoc *d, jref key)
{
	return json_next(d, key + 1);
}

jref json_get(const struct jdoc *d, jref obj, const char *key)
{
	const struct jtok *t = &d->t[obj];
	size_t kn = strlen(key), lo = 0, hi;

	if ((t->a & T_TYPE) != J_OBJ || (t->a >> PAY_SHIFT) == 0)
		return JREF_NONE;
	if (!(t->a & F_X)) {
		/* members in canonical order: walk (objects are small) */
		for (uint32_t k = obj + 1;; k = tnext(d, k + 1)) {
			size_t n;
			const char *s = tok_str(d, &d->t[k], &n);
			int r = json_keycmp(s, n, key, kn);
			if (r == 0)
				return k + 1;
			if (r > 0 || (d->t[k + 1].a & F_LAST))
				break;
		}
		return JREF_NONE;
	}
	hi = d->ux[t->b].count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2, n;
		uint32_t k = d->perm[d->ux[t->b].perm + mid];
		const char *s = tok_str(d, &d->t[k], &n);
		int r = json_keycmp(s, n, key, kn);

		if (r == 0)
			return k + 1;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return JREF_NONE;
}

/* ---- the canonical writer ---- */

void json_put_str(struct buf *out, const char *s, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *e = p + n, *run;

	buf_putc(out, '"');
	run = p;
	while (p < e) {
		unsigned c;

		/* runs without a byte to escape, 8 bytes at a time (as
		 * special8 without the non-ASCII bytes, which are written as
		 * they are) */
		while (e - p >= 8) {
			uint64_t w = load64(p);
			uint64_t m = ((w - ONES * 0x20) & ~w & HIGHS) |
				haszero8(w ^ (ONES * '"')) | haszero8(w ^ (ONES * '\\'));
			if (m) {
				p += __builtin_ctzll(m) >> 3;
				break;
			}
			p += 8;
		}
		if (p >= e)
			break;
		c = *p;
		if (c >= 0x20 && c != '"' && c != '\\') {
			p++;
			continue;
		}
		buf_put(out, run, (size_t)(p - run));
		switch (c) {
		case '"': buf_put(out, "\\\"", 2); break;
		case '\\': buf_put(out, "\\\\", 2); break;
		case '\b': buf_put(out, "\\b", 2); break;
		case '\f': buf_put(out, "\\f", 2); break;
		case '\n': buf_put(out, "\\n", 2); break;
		case '\r': buf_put(out, "\\r", 2); break;
		case '\t': buf_put(out, "\\t", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15] };
			buf_put(out, u, 6);
		}
		}
		run = ++p;
	}
	buf_put(out, run, (size_t)(p - run));
	buf_putc(out, '"');
}

void json_put_num(struct buf *out, double v)
{
	char tmp[DTOA_BUFSIZE];

	buf_put_fast(out, tmp, dtoa_es(v, tmp));
}

static void put_tok_str(const struct jdoc *d, const struct jtok *t, struct buf *out)
{
	size_t n;
	const char *s = tok_str(d, t, &n);

	if (!(t->a & F_X)) {
		/* Raw input text without escapes is already canonical. */
		if (out->cap - out->len >= n + 2) {
			out->p[out->len] = '"';
			memcpy(out->p + out->len + 1, s, n);
			out->p[out->len + n + 1] = '"';
			out->len += n + 2;
			return;
		}
		buf_putc(out, '"');
		buf_put(out, s, n);
		buf_putc(out, '"');
		return;
	}
	json_put_str(out, s, n);
}

/* Integers below 2^53 in magnitude: their ECMAScript form is the decimal. */
static void put_int(struct buf *out, const struct jtok *t)
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

struct eframe {
	uint32_t cur;          /* current element, or current key */
	uint32_t i, n;         /* unsorted objects: members written, members */
	int obj;
	const uint32_t *perm;  /* unsorted objects: keys in canonical order */
};

int json_canon(const struct jdoc *d, jref root, struct buf *out)
{
	struct eframe *stk = NULL, *f;
	size_t depth = 0, cap = 0;
	uint32_t cur = root;
	const struct jtok *t;

value:
	t = &d->t[cur];
	switch (t->a & T_TYPE) {
	case J_NULL: buf_put_fast(out, "null", 4); break;
	case J_TRUE: buf_put_fast(out, "true", 4); break;
	case J_FALSE: buf_put_fast(out, "false", 5); break;
	case J_NUM:
		if (t->a & F_X)
			json_put_num(out, d->num[t->b]);
		else
			put_int(out, t);
		break;
	case J_STR:
		put_tok_str(d, t, out);
		break;
	case J_ARR:
	case J_OBJ: {
		int obj = (t->a & T_TYPE) == J_OBJ;

		if ((t->a >> PAY_SHIFT) == 0) {
			buf_put_fast(out, obj ? "{}" : "[]", 2);
			break;
		}
		buf_putc(out, obj ? '{' : '[');
		if (depth == cap && grow((void **)&stk, &cap, depth + 1, sizeof *stk) < 0) {
			free(stk);
			out->err = ENOMEM;
			return EX_SYS;
		}
		f = &stk[depth++];
		f->obj = obj;
		f->i = 0;
		if (obj && (t->a & F_X)) {
			const struct jux *u = &d->ux[t->b];
			f->perm = d->perm + u->perm;
			f->n = u->count;
			f->cur = f->perm[0];
		} else {
			f->perm = NULL;
			f->cur = cur + 1;
		}
		cur = f->cur;
		if (obj) {
			put_tok_str(d, &d->t[cur], out);
			buf_putc(out, ':');
			cur++;
		}
		goto value;
	}
	}
	while (depth > 0) {
		f = &stk[depth - 1];
		/* the value just written is f->cur (+ 1 in an object) */
		if (f->perm ? ++f->i == f->n : (d->t[f->cur + (uint32_t)f->obj].a & F_LAST) != 0) {
			buf_putc(out, f->obj ? '}' : ']');
			depth--;
			continue;
		}
		buf_putc(out, ',');
		if (f->perm)
			f->cur = f->perm[f->i];
		else
			f->cur = tnext(d, f->cur + (uint32_t)f->obj);
		cur = f->cur;
		if (f->obj) {
			put_tok_str(d, &d->t[cur], out);
			buf_putc(out, ':');
			cur++;
		}
		if (out->err)
			break;
		goto value;
	}
	free(stk);
	return out->err ? EX_SYS : 0;
}

int json_canonicalize(const char *in, size_t len, const struct jopts *o, struct buf *out,
	struct merr *e)
{
	struct jdoc *d = json_parse(in, len, o, e);
	int r;

	if (!d)
		return e ? e->code : EX_DATA;
	r = json_canon(d, json_root(d), out);
	json_free(d);
	if (r) {
		errno = out->err;
		return merr_sys(e, "write canonical output");
	}
	return 0;
}

/* ---- JSON Pointer ---- */

void json_ptr_push(struct buf *ptr, const char *tok, size_t n)
{
	buf_putc(ptr, '/');
	for (size_t i = 0; i < n; i++) {
		if (tok[i] == '~')
			buf_put(ptr, "~0", 2);
		else if (tok[i] == '/')
			buf_put(ptr, "~1", 2);
		else
			buf_putc(ptr, tok[i]);
	}
}

void json_ptr_push_index(struct buf *ptr, size_t i)
{
	buf_printf(ptr, "/%zu", i);
}
