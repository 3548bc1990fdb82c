/* msgpack.c — JSON <-> MessagePack (https://github.com/msgpack/msgpack/blob/master/spec.md) */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "b64.h"
#include "msgpack.h"

/* ---- encoding ---- */

static void put_be(struct buf *b, uint8_t tag, uint64_t v, int bytes)
{
	unsigned char t[9];
	int i;

	t[0] = tag;
	for (i = 0; i < bytes; i++)
		t[1 + i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	buf_put(b, t, (size_t)bytes + 1);
}

static void put_len(struct buf *b, size_t n, uint8_t fix, size_t fixmax, uint8_t t8, uint8_t t16,
	uint8_t t32)
{
	if (n <= fixmax)
		buf_putc(b, (char)(fix | n));
	else if (t8 && n <= 0xFF)
		put_be(b, t8, n, 1);
	else if (n <= 0xFFFF)
		put_be(b, t16, n, 2);
	else
		put_be(b, t32, n, 4);
}

static void put_int(struct buf *b, double x)
{
	if (x >= 0) {
		uint64_t u = (uint64_t)x;
		if (u < 128)
			buf_putc(b, (char)u);
		else if (u <= 0xFF)
			put_be(b, 0xcc, u, 1);
		else if (u <= 0xFFFF)
			put_be(b, 0xcd, u, 2);
		else if (u <= 0xFFFFFFFFu)
			put_be(b, 0xce, u, 4);
		else
			put_be(b, 0xcf, u, 8);
	} else {
		int64_t i = (int64_t)x;
		if (i >= -32)
			buf_putc(b, (char)(uint8_t)i);
		else if (i >= INT8_MIN)
			put_be(b, 0xd0, (uint64_t)i, 1);
		else if (i >= INT16_MIN)
			put_be(b, 0xd1, (uint64_t)i, 2);
		else if (i >= INT32_MIN)
			put_be(b, 0xd2, (uint64_t)i, 4);
		else
			put_be(b, 0xd3, (uint64_t)i, 8);
	}
}

static int enc(const struct jdoc *d, jref v, struct buf *out, int depth, struct merr *e)
{
	size_t n;
	const char *s;
	double x;
	uint64_t bits;
	jref c;

	switch (json_type(d, v)) {
	case J_NULL: buf_putc(out, (char)0xc0); return 0;
	case J_FALSE: buf_putc(out, (char)0xc2); return 0;
	case J_TRUE: buf_putc(out, (char)0xc3); return 0;
	case J_NUM:
		x = json_num(d, v);
		if (x == floor(x) && x >= -9223372036854775808.0 && x < 18446744073709551616.0 &&
		    !(x == 0 && signbit(x))) {
			put_int(out, x);
		} else {
			memcpy(&bits, &x, 8);
			put_be(out, 0xcb, bits, 8);
		}
		return 0;
	case J_STR:
		s = json_str(d, v, &n);
		put_len(out, n, 0xa0, 31, 0xd9, 0xda, 0xdb);
		buf_put(out, s, n);
		return 0;
	case J_ARR:
	case J_OBJ:
		if (depth >= MSGPACK_MAX_DEPTH)
			return merr_set(e, EX_DATA, NULL, "nesting deeper than %d", MSGPACK_MAX_DEPTH);
		n = json_len(d, v);
		if (json_type(d, v) == J_ARR) {
			put_len(out, n, 0x90, 15, 0, 0xdc, 0xdd);
			for (c = json_first(d, v); c != JREF_NONE; c = json_next(d, c))
				if (enc(d, c, out, depth + 1, e))
					return EX_DATA;
		} else {
			put_len(out, n, 0x80, 15, 0, 0xde, 0xdf);
			for (c = json_first_key(d, v); c != JREF_NONE; c = json_next_key(d, c)) {
				if (enc(d, c, out, depth + 1, e) || enc(d, json_value(c), out, depth + 1, e))
					return EX_DATA;
			}
		}
		return 0;
	case J_NONE:
		break;
	}
	return merr_set(e, EX_DATA, NULL, "no value");
}

int msgpack_from_json(const struct jdoc *d, jref v, struct buf *out, struct merr *e)
{
	int r = enc(d, v, out, 0, e);

	if (!r && out->err)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	return r;
}

/* ---- decoding ---- */

struct dec {
	const unsigned char *p, *end;
	struct buf *out;
	struct merr *e;
};

static int need(struct dec *s, size_t n)
{
	if ((size_t)(s->end - s->p) < n)
		return merr_set(s->e, EX_DATA, NULL, "truncated MessagePack value");
	return 0;
}

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int dec_value(struct dec *s, int depth, int key);

static int dec_str(struct dec *s, size_t n)
{
	if (need(s, n))
		return EX_DATA;
	json_put_str(s->out, (const char *)s->p, n);
	s->p += n;
	return 0;
}

static int dec_container(struct dec *s, uint64_t n, int map, int depth)
{
	if (depth >= MSGPACK_MAX_DEPTH)
		return merr_set(s->e, EX_DATA, NULL, "nesting deeper than %d", MSGPACK_MAX_DEPTH);
	/* every element takes at least one byte: refuse counts the input cannot hold */
	if (n > (uint64_t)(s->end - s->p) / (map ? 2 : 1))
		return merr_set(s->e, EX_DATA, NULL, "truncated MessagePack value");
	buf_putc(s->out, map ? '{' : '[');
	for (uint64_t i = 0; i < n; i++) {
		if (i)
			buf_putc(s->out, ',');
		if (map) {
			if (dec_value(s, depth + 1, 1))
				return EX_DATA;
			buf_putc(s->out, ':');
		}
		if (dec_value(s, depth + 1, 0))
			return EX_DATA;
	}
	buf_putc(s->out, map ? '}' : ']');
	return 0;
}

static int dec_value(struct dec *s, int depth, int key)
{
	unsigned c;
	int n = 0;
	uint64_t u;

	if (need(s, 1))
		return EX_DATA;
	c = *s->p++;
	if (key && !((c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb)))
		return merr_set(s->e, EX_DATA, NULL, "map key is not a string");
	if (c <= 0x7f) {
		buf_printf(s->out, "%u", c);
		return 0;
	}
	if (c >= 0xe0) {
		buf_printf(s->out, "%d", (int)(int8_t)c);
		return 0;
	}
	if (c >= 0xa0 && c <= 0xbf)
		return dec_str(s, c & 0x1f);
	if (c >= 0x90 && c <= 0x9f)
		return dec_container(s, c & 0x0f, 0, depth);
	if (c >= 0x80 && c <= 0x8f)
		return dec_container(s, c & 0x0f, 1, depth);
	switch (c) {
	case 0xc0: buf_puts(s->out, "null"); return 0;
	case 0xc2: buf_puts(s->out, "false"); return 0;
	case 0xc3: buf_puts(s->out, "true"); return 0;
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		n = 1 << (c - 0xcc);
		if (need(s, (size_t)n))
			return EX_DATA;
		buf_printf(s->out, "%llu", (unsigned long long)be(s->p, n));
		s->p += n;
		return 0;
	case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
		int64_t i;
		n = 1 << (c - 0xd0);
		if (need(s, (size_t)n))
			return EX_DATA;
		u = be(s->p, n);
		if (n < 8 && (u >> (8 * n - 1)))
			u |= ~0ull << (8 * n);   /* sign-extend */
		memcpy(&i, &u, 8);
		buf_printf(s->out, "%lld", (long long)i);
		s->p += n;
		return 0;
	}
	case 0xca: case 0xcb: {
		double x;
		if (c == 0xca) {
			float f;
			uint32_t w;
			if (need(s, 4))
				return EX_DATA;
			w = (uint32_t)be(s->p, 4);
			memcpy(&f, &w, 4);
			x = f;
			s->p += 4;
		} else {
			if (need(s, 8))
				return EX_DATA;
			u = be(s->p, 8);
			memcpy(&x, &u, 8);
			s->p += 8;
		}
		if (!isfinite(x))
			return merr_set(s->e, EX_DATA, NULL, "non-finite float");
		json_put_num(s->out, x);
		return 0;
	}
	case 0xd9: case 0xda: case 0xdb:
		n = 1 << (c - 0xd9);
		if (need(s, (size_t)n))
			return EX_DATA;
		u = be(s->p, n);
		s->p += n;
		return dec_str(s, u);
	case 0xc4: case 0xc5: case 0xc6: {
		char *b64;
		n = 1 << (c - 0xc4);
		if (need(s, (size_t)n))
			return EX_DATA;
		u = be(s->p, n);
		s->p += n;
		if (need(s, u))
			return EX_DATA;
		if (!(b64 = b64_encode(s->p, u)))
			return merr_set(s->e, EX_SYS, NULL, "out of memory");
		buf_puts(s->out, "{\"$bin\":\"");
		buf_puts(s->out, b64);
		buf_puts(s->out, "\"}");
		free(b64);
		s->p += u;
		return 0;
	}
	case 0xdc: case 0xdd:
		n = c == 0xdc ? 2 : 4;
		if (need(s, (size_t)n))
			return EX_DATA;
		u = be(s->p, n);
		s->p += n;
		return dec_container(s, u, 0, depth);
	case 0xde: case 0xdf:
		n = c == 0xde ? 2 : 4;
		if (need(s, (size_t)n))
			return EX_DATA;
		u = be(s->p, n);
		s->p += n;
		return dec_container(s, u, 1, depth);
	}
	return merr_set(s->e, EX_DATA, NULL, "MessagePack type 0x%02x is not allowed", c);
}

int msgpack_to_json(const void *p, size_t n, struct buf *out, struct merr *e)
{
	struct buf tmp = BUF_INIT;
	struct dec s = { p, (const unsigned char *)p + n, &tmp, e };
	struct jopts o = { .max_depth = MSGPACK_MAX_DEPTH + 1 };
	int r;

	r = dec_value(&s, 0, 0);
	if (!r && s.p != s.end)
		r = merr_set(e, EX_DATA, NULL, "trailing bytes after the MessagePack value");
	if (!r && tmp.err)
		r = merr_set(e, EX_SYS, NULL, "out of memory");
	/* The JSON reader checks UTF-8, duplicate keys, and canonicalizes. */
	if (!r)
		r = json_canonicalize(tmp.p ? tmp.p : "", tmp.len, &o, out, e);
	buf_free(&tmp);
	return r;
}
