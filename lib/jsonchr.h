/* jsonchr.h — a JSON string's characters, for the string reader
 * (jsonstr.c); private to lib/json*.c: UTF-8 sequences checked, \u
 * escapes' hex digits read, code points written as UTF-8 or in their
 * RFC 8785 form
 */
#ifndef MVM_JSONCHR_H
#define MVM_JSONCHR_H

#include "json_int.h"

/* Length of a valid UTF-8 sequence at p (lead byte p[0] >= 0x80), or 0:
 * byte by byte, for the last 3 bytes of the input. */
static size_t utf8_seq_short(const unsigned char *p, const unsigned char *end)
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

/*
 * The same on a little-endian 32-bit load w = p[0] | p[1] << 8 | ...:
 * the marker bits of each form, then what they leave open: C0, C1
 * (overlong 2-byte); E0 with p[1] < A0 (overlong) and ED with p[1] >= A0
 * (surrogates), told apart by p[1]'s bit 5 and the lead's low nibble;
 * and a 4-byte code point's top 9 bits (cp >> 12) in 0x10..0x10F.
 */
static inline size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	uint32_t w, x;

	if (__builtin_expect(end - p < 4, 0))
		return utf8_seq_short(p, end);
	memcpy(&w, p, 4);
	if ((w & 0xC0E0) == 0x80C0)
		return (w & 0x1E) ? 2 : 0;
	if ((w & 0xC0C0F0) == 0x8080E0) {
		x = w & 0x200F;
		return x != 0 && x != 0x200D ? 3 : 0;
	}
	if ((w & 0xC0C0C0F8) == 0x808080F0) {
		x = (w & 7) << 6 | (w >> 8 & 0x3F);
		return x >= 0x10 && x <= 0x10F ? 4 : 0;
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

/* The value of the four hex digits at p, or HEX_BAD if one is not a digit. */
#define HEX_BAD 0x10000u
static inline unsigned hex4(const unsigned char *p)
{
	unsigned a = hexval[p[0]], b = hexval[p[1]], c = hexval[p[2]], e = hexval[p[3]];

	return (a | b | c | e) & 0x10 ? HEX_BAD : a << 12 | b << 8 | c << 4 | e;
}

/* unesc[c]: what the escape backslash-c stands for, 1 for 'u' (four hex
 * digits follow), 0 for no escape (RFC 8259 section 7) */
static const unsigned char unesc[256] = {
	['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b', ['f'] = '\f', ['n'] = '\n',
	['r'] = '\r', ['t'] = '\t', ['u'] = 1,
};

static inline size_t put_utf8(char *o, unsigned cp)
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

/*
 * The RFC 8785 form of an escape at o, and its length: canon_esc2 of a
 * two-byte escape at p (c = unesc[p[1]] > 1), canon_cp of a \u escape's
 * code point (a surrogate pair's, joined).  RFC 8785 escapes '"', '\\'
 * and the controls, the five with a short form as that, and writes every
 * other code point as its UTF-8: so \" \\ \b \f \n \r \t are written
 * as they are read, \/ as '/'.  Never longer than the escape read.
 */
static inline size_t canon_esc2(char *o, const unsigned char *p, unsigned c)
{
	memcpy(o, p, 2);      /* as read; for \/ the '/' goes over the '\\' */
	if (c == '/')
		o[0] = '/';
	return 2 - (c == '/');
}

static inline size_t canon_cp(char *o, unsigned cp)
{
	if (cp < 0x80 && jsonp_esc[cp][7]) {
		memcpy(o, jsonp_esc[cp], 8);   /* 8 bytes: the 6 read, and dec[]'s slack */
		return (unsigned char)jsonp_esc[cp][7];
	}
	return put_utf8(o, cp);
}

#endif
