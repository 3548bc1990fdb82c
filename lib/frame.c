/* frame.c — agent protocol codec: frames and mux records.  Requests:
 * framereq.c; replies: framerep.c.  See frame.h and
 * mvm-agent-protocol(5). */
#include <string.h>
#include "frame.h"

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

int frame_parse(const void *p, size_t n, uint32_t max, uint32_t *len, size_t *need)
{
	uint32_t l;

	if (n < FRAME_HDR) {
		if (need)
			*need = FRAME_HDR;
		return FRAME_NEED;
	}
	l = get32(p);
	if (len)
		*len = l;
	if (l > max)
		return FRAME_BIG;
	if (need)
		*need = FRAME_HDR + (size_t)l;
	return n - FRAME_HDR >= l ? FRAME_OK : FRAME_NEED;
}

size_t frame_begin(struct buf *b)
{
	size_t off = b->len;

	buf_put(b, "\0\0\0\0", 4);
	return off;
}

void frame_end(struct buf *b, size_t off)
{
	if (b->err || b->len < off + FRAME_HDR)
		return;
	put32((unsigned char *)b->p + off, (uint32_t)(b->len - off - FRAME_HDR));
}

void frame_put(struct buf *b, const void *body, size_t n)
{
	unsigned char h[4];

	put32(h, (uint32_t)n);
	buf_put(b, h, 4);
	buf_put(b, body, n);
}

int mux_parse(const void *p, size_t n, struct mux_rec *r, size_t *need, struct merr *e)
{
	const unsigned char *s = p;
	uint32_t l;

	if (n < MUX_HDR) {
		if (need)
			*need = MUX_HDR;
		return MUX_NEED;
	}
	r->stream = get32(s);
	r->kind = s[4];
	l = r->len = get32(s + 5);
	switch (r->kind) {
	case MUX_OPEN:
	case MUX_CLOSE:
		if (l != 0)
			return merr_set(e, EX_DATA, NULL, "mux record kind %u with length %u", r->kind, l),
				MUX_BAD;
		break;
	case MUX_DATA:
		if (l < 1 || l > MUX_DATA_MAX)
			return merr_set(e, EX_DATA, NULL, "mux DATA length %u outside 1..%u", l,
				MUX_DATA_MAX), MUX_BAD;
		break;
	case MUX_HELLO:
		if (r->stream != 0)
			return merr_set(e, EX_DATA, NULL, "mux HELLO on stream %u", r->stream), MUX_BAD;
		if (l < 1 || l > MUX_HELLO_MAX)
			return merr_set(e, EX_DATA, NULL, "mux HELLO length %u outside 1..%u", l,
				MUX_HELLO_MAX), MUX_BAD;
		break;
	default:
		return merr_set(e, EX_DATA, NULL, "unknown mux record kind %u", r->kind), MUX_BAD;
	}
	if (need)
		*need = MUX_HDR + (size_t)l;
	if (n - MUX_HDR < l)
		return MUX_NEED;
	r->data = s + MUX_HDR;
	r->size = MUX_HDR + (size_t)l;
	return MUX_OK;
}

void mux_put(struct buf *b, uint32_t stream, enum mux_kind kind, const void *data, size_t n)
{
	unsigned char h[MUX_HDR];

	put32(h, stream);
	h[4] = (unsigned char)kind;
	put32(h + 5, (uint32_t)n);
	buf_put(b, h, MUX_HDR);
	if (n)
		buf_put(b, data, n);
}
