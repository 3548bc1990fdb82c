/* jsonstr.c — JSON strings: read (RFC 8259: UTF-8 checked, escapes
 * decoded) into the tape, and written as RFC 8785 string literals */
#include <stdlib.h>
#include <string.h>
#include "json_int.h"

/* Nonzero if any byte of w is < 0x20, '"', '\\' or >= 0x80.  (Borrows can
 * only flag bytes above a byte that is really special.) */
static inline uint64_t special8(uint64_t w)
{
	return (w & HIGHS) | ((w - ONES * 0x20) & ~w & HIGHS) |
		haszero8(w ^ (ONES * '"')) | haszero8(w ^ (ONES * '\\'));
}


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
		return jsonp_err(ps, start, "document too large (escaped strings over 4 GiB)");
	if (d->ndec + 16 + (size_t)(end - start) > d->capdec &&
	    jsonp_grow((void **)&d->dec, &d->capdec, d->ndec + 16 + (size_t)(end - start), 1) < 0)
		return jsonp_oom(ps);
	memcpy(d->dec + d->ndec, &off32, 4);
	base = d->ndec + 8;
	memcpy(d->dec + base, start, (size_t)(p - start));
	o = base + (size_t)(p - start);
	for (;;) {
		unsigned c;

		if (p >= end)
			return jsonp_err(ps, p, "unterminated string");
		c = *p;
		if (c == '"') {
			p++;
			break;
		}
		if (c == '\\') {
			unsigned cp, lo;

			if (p + 1 >= end)
				return jsonp_err(ps, p, "unterminated string");
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
					return jsonp_err(ps, p, "bad \\u escape: four hex digits expected");
				if (cp >= 0xDC00 && cp <= 0xDFFF)
					return jsonp_err(ps, p, "lone low surrogate \\u escape");
				if (cp >= 0xD800 && cp <= 0xDBFF) {
					if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
					    hex4(p + 8, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
						return jsonp_err(ps, p, "lone high surrogate \\u escape");
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					p += 6;
				}
				o += put_utf8(d->dec + o, cp);
				p += 6;
				continue;
			default:
				return jsonp_err(ps, p, "bad escape sequence");
			}
			d->dec[o++] = (char)c;
			p += 2;
			continue;
		}
		if (c < 0x20)
			return jsonp_err(ps, p, "control character in string must be escaped");
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
				return jsonp_err(ps, p, "invalid UTF-8");
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
int jsonp_string(struct parser *ps, struct jtok *t)
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
			return jsonp_err(ps, p, "unterminated string");
		if (*p == '"')
			break;
		if (*p == '\\')
			return string_slow(ps, start, p, t);
		if (*p < 0x20)
			return jsonp_err(ps, p, "control character in string must be escaped");
		if (*p >= 0x80) {
			size_t n = utf8_seq(p, end);
			if (!n)
				return jsonp_err(ps, p, "invalid UTF-8");
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
