/* jsonstr.c — JSON strings read (RFC 8259): UTF-8 checked, escapes
 * decoded into the tape (jsonput.c writes them), or for the streaming
 * writers' string values transcoded to their RFC 8785 form (json_int.h)
 *
 * The reader looks at BLK bytes at a time (jsonblk.h: SSE2,
 * 16 bytes, on x86-64; 8-byte SWAR words elsewhere) and treats the
 * bytes >= 0x80 as plain text whose UTF-8 is checked one character at a
 * time at the positions the block's high bits give, so non-ASCII text does
 * not break a run: only '"', '\\' and controls end it.  The characters
 * themselves (UTF-8 sequences, \u escapes, RFC 8785 forms): jsonchr.h.
 */
#include <stdlib.h>
#include <string.h>
#include "jsonblk.h"
#include "jsonchr.h"

/*
 * Skip the plain text of a string from p: bytes other than '"', '\\' and
 * controls, the non-ASCII ones in valid UTF-8 sequences, a block at a
 * time while BLK bytes are left.  Returns the first byte that is not plain
 * or the start of the last, short block (the caller's byte loop goes on
 * from there), or NULL with *bad at the lead byte of the first invalid
 * sequence.  A sequence may end past its block, never past a special byte
 * (those are not continuation bytes).  If dst is not NULL the text skipped
 * is also copied to dst[0..): whole blocks, so dst needs BLK bytes beyond
 * the text skipped (string_slow's slack).
 */
static inline const unsigned char *scan_plain(const unsigned char *p, const unsigned char *end,
	unsigned char *dst, const unsigned char **bad)
{
	const unsigned char *p0 = p;

	while (end - p >= BLK) {
		unsigned esc, hi, k;
		const unsigned char *stop;

		blk_masks(p, &esc, &hi);
		if (dst)
			memcpy(dst + (p - p0), p, BLK);
		k = esc ? (unsigned)__builtin_ctz(esc) : BLK;
		hi &= (unsigned)(((uint64_t)1 << k) - 1);   /* lead bytes before the special */
		stop = p + k;
		while (hi) {
			const unsigned char *q = p + __builtin_ctz(hi);
			size_t n = utf8_seq(q, end);
			if (!n) {
				*bad = q;
				return NULL;
			}
			q += n;
			if (q - p >= BLK) {
				/* the rest of a sequence past the block */
				if (dst)
					for (const unsigned char *c = p + BLK; c < q; c++)
						dst[c - p0] = *c;
				stop = q;
				break;
			}
			hi &= ~0u << (q - p);    /* drop its continuation bytes */
		}
		p = stop;
		if (k < BLK)
			break;
	}
	return p;
}

/*
 * string_slow's loop, transcoding (canon), while 32 bytes of input are
 * left, which no block, sequence or escape read here goes past: so no
 * check of the end, and for each block one branch on its first special
 * byte.  It stops at the closing quote, near the end, and before anything
 * wrong, having consumed none of it: string_slow's loop then finds that at
 * the same place.  *pp and *po (in dec) are moved on.
 */
static inline void canon_run(const unsigned char **pp, const unsigned char *end, char *dec,
	size_t *po)
{
	const unsigned char *p = *pp;
	char *o = dec + *po;

	while (end - p >= 32) {
		unsigned esc, hi, k, c, cp, lo;
		size_t adv;

		blk_masks(p, &esc, &hi);
		memcpy(o, p, BLK);
		k = (unsigned)__builtin_ctz(esc | 1u << BLK);
		hi &= (1u << k) - 1;
		adv = k;
		while (hi) {
			unsigned i = (unsigned)__builtin_ctz(hi);
			size_t n = utf8_seq(p + i, end);

			if (!n)
				goto out;
			i += (unsigned)n;
			if (i >= BLK) {   /* past the block: up to 3 bytes more */
				memcpy(o + BLK, p + BLK, 4);
				adv = i;
				break;
			}
			hi &= ~0u << i;
		}
		p += adv;
		o += adv;
		if (adv >= BLK)
			continue;
		if (*p != '\\')
			break;          /* the closing quote, or a control */
		c = unesc[p[1]];
		if (c > 1) {
			o += canon_esc2(o, p, c);
			p += 2;
			continue;
		}
		if (!c || (cp = hex4(p + 2)) == HEX_BAD)
			break;
		if ((cp & 0xF800) == 0xD800) {
			if (cp >= 0xDC00 || p[6] != '\\' || p[7] != 'u' ||
			    (lo = hex4(p + 8)) == HEX_BAD || (lo & 0xFC00) != 0xDC00)
				break;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			p += 6;
		}
		o += canon_cp(o, cp);
		p += 6;
	}
out:
	*pp = p;
	*po = (size_t)(o - dec);
}

/* Decode the rest of a string that has an escape at p (content started at
 * start) into the decoded buffer, or with canon set, transcode it to its
 * RFC 8785 form there.  On success ps->p is past the closing quote and
 * the token is filled. */
static int string_slow(struct parser *ps, const unsigned char *start, const unsigned char *p,
	struct jtok *t, int canon)
{
	struct jdoc *d = ps->d;
	const unsigned char *end = ps->end;
	size_t base, o;
	uint32_t off32 = (uint32_t)(start - 1 - ps->s), len32;

	/* Decoded text is never longer than the input text, and scan_plain
	 * stores a block only where BLK bytes of input are left: o + BLK <=
	 * base + (end - start), inside this size. */
	if (d->ndec + 16 + (size_t)(end - start) > UINT32_MAX)
		return jsonp_err(ps, start, "document too large (escaped strings over 4 GiB)");
	if (d->ndec + 16 + (size_t)(end - start) > d->capdec) {
		if (jsonp_grow((void **)&d->dec, &d->capdec, d->ndec + 16 + (size_t)(end - start),
		    1) < 0)
			return jsonp_oom(ps);
		mem_hugepages(d->dec, d->capdec);   /* buf.h */
	}
	memcpy(d->dec + d->ndec, &off32, 4);
	base = d->ndec + 8;
	memcpy(d->dec + base, start, (size_t)(p - start));
	o = base + (size_t)(p - start);
	for (;;) {
		const unsigned char *q, *bad = NULL;
		unsigned c;

		if (canon)
			canon_run(&p, end, d->dec, &o);
		q = scan_plain(p, end, (unsigned char *)d->dec + o, &bad);
		if (!q)
			return jsonp_err(ps, bad, "invalid UTF-8");
		o += (size_t)(q - p);
		p = q;
		if (p >= end)
			return jsonp_err(ps, p, "unterminated string");
		c = *p;
		if (c == '\\') {
			unsigned cp, lo;

			if (p + 1 >= end)
				return jsonp_err(ps, p, "unterminated string");
			c = unesc[p[1]];
			if (c > 1) {
				if (canon)
					o += canon_esc2(d->dec + o, p, c);
				else
					d->dec[o++] = (char)c;
				p += 2;
				continue;
			}
			if (!c)
				return jsonp_err(ps, p, "bad escape sequence");
			if (end - p < 6 || (cp = hex4(p + 2)) == HEX_BAD)
				return jsonp_err(ps, p, "bad \\u escape: four hex digits expected");
			if ((cp & 0xF800) == 0xD800) {
				if (cp >= 0xDC00)
					return jsonp_err(ps, p, "lone low surrogate \\u escape");
				if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
				    (lo = hex4(p + 8)) == HEX_BAD || (lo & 0xFC00) != 0xDC00)
					return jsonp_err(ps, p, "lone high surrogate \\u escape");
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				p += 6;
			}
			o += canon ? canon_cp(d->dec + o, cp) : put_utf8(d->dec + o, cp);
			p += 6;
			continue;
		}
		if (c == '"') {
			p++;
			break;
		}
		if (c < 0x20)
			return jsonp_err(ps, p, "control character in string must be escaped");
		/* the last short block, a character at a time */
		if (c < 0x80) {
			d->dec[o++] = (char)c;
			p++;
			continue;
		}
		{
			size_t n = utf8_seq(p, end);
			if (!n)
				return jsonp_err(ps, p, "invalid UTF-8");
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

/* A string value of a d->canon document: t is not the member name that
 * parse_key (json.c) has just put in ps->keys. */
static inline int canon_value(const struct parser *ps, const struct jtok *t)
{
	const struct jdoc *d = ps->d;

	return d->canon && !(ps->nkeys && &d->t[ps->keys[ps->nkeys - 1]] == t);
}

/* ps->p is at the opening quote. */
int jsonp_string(struct parser *ps, struct jtok *t)
{
	const unsigned char *start = ps->p + 1, *p = start, *end = ps->end, *bad;

	for (;;) {
		if (!(p = scan_plain(p, end, NULL, &bad)))
			return jsonp_err(ps, bad, "invalid UTF-8");
		if (p >= end)
			return jsonp_err(ps, p, "unterminated string");
		if (*p == '"')
			break;
		if (*p == '\\')
			return string_slow(ps, start, p, t, canon_value(ps, t));
		if (*p < 0x20)
			return jsonp_err(ps, p, "control character in string must be escaped");
		/* the last short block, a character at a time */
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
