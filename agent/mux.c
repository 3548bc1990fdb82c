/* mux.c — the serial transport: mvm-agent-protocol(5) streams multiplexed
 * over one byte stream (virtio-serial, or stdio with --serial-stdio). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent.h"
#include "json.h"
#include <poll.h>

struct agent_mux mux;

/*
 * Who the unsent bytes of mux.out belong to: a queue of segments, in
 * mux.out's order, each naming a connection slot and its use (gen), so
 * that bytes of a stream closed and reopened meanwhile are not charged
 * to the new one.  slot -1: the mux's own records.
 */
static struct seg {
	int slot;
	unsigned gen;
	size_t left;
} *segs;
static size_t seg_head, seg_n, seg_cap;

void mux_emit(struct conn *c, uint32_t stream, enum mux_kind kind, const void *p, size_t n)
{
	size_t before = mux.out.len, add;
	int slot = c ? (int)(c - conns) : -1;
	struct seg *t = seg_n > seg_head ? &segs[seg_n - 1] : NULL;

	mux_put(&mux.out, stream, kind, p, n);
	if (mux.out.err || mux.out.len == before)
		return;
	add = mux.out.len - before;
	if (c)
		c->unsent += add;
	if (t && t->slot == slot && (!c || t->gen == c->gen)) {
		t->left += add;
		return;
	}
	if (seg_n == seg_cap) {
		size_t cap = seg_cap ? 2 * seg_cap : 64;
		struct seg *q;

		if (seg_head) {         /* reuse the written part first */
			memmove(segs, segs + seg_head, (seg_n - seg_head) * sizeof *segs);
			seg_n -= seg_head;
			seg_head = 0;
		}
		if (seg_n == seg_cap) {
			if (!(q = realloc(segs, cap * sizeof *q)))
				die(4, "out of memory");
			segs = q;
			seg_cap = cap;
		}
	}
	segs[seg_n++] = (struct seg){ slot, c ? c->gen : 0, add };
}

/* n more bytes of mux.out were written: uncharge their connections. */
static void mux_sent(size_t n)
{
	while (n && seg_head < seg_n) {
		struct seg *g = &segs[seg_head];
		size_t k = n < g->left ? n : g->left;

		if (g->slot >= 0) {
			struct conn *c = &conns[g->slot];

			if (c->used && c->gen == g->gen)
				c->unsent -= k < c->unsent ? k : c->unsent;
		}
		g->left -= k;
		n -= k;
		if (!g->left)
			seg_head++;
	}
	if (seg_head == seg_n)
		seg_head = seg_n = 0;
	/* the written part of mux.out is kept no longer than it needs */
	if (mux.out_off >= OUT_COMPACT && mux.out_off < mux.out.len) {
		memmove(mux.out.p, mux.out.p + mux.out_off, mux.out.len - mux.out_off);
		mux.out.len -= mux.out_off;
		mux.out_off = 0;
	}
}

void mux_out_clear(void)
{
	mux.out.len = mux.out_off = 0;
	seg_head = seg_n = 0;
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].unsent = 0;
}

size_t mux_unsent(void)
{
	return mux.out.len - mux.out_off;
}

int mux_full(void)
{
	if (out_total_full() || egress_full())
		return 1;
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].used && conns[i].kind == CONN_STREAM && conns[i].unsent >= CONN_OUT_MAX)
			return 1;
	return 0;
}

void mux_hello(void)
{
	static const char h[] = "{\"agent\":\"mvm-agent\",\"version\":1}";

	mux_emit(NULL, 0, MUX_HELLO, h, sizeof h - 1);
}

static struct conn *stream_find(uint32_t id)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].used && conns[i].kind == CONN_STREAM && conns[i].stream == id)
			return &conns[i];
	return NULL;
}

static void mux_reset(const char *why)
{
	static unsigned long resets;

	if (++resets <= 10 || resets % 1000 == 0)
		logmsg("mux protocol error: %s; closing every stream (%lu)", why, resets);
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].used && conns[i].kind == CONN_STREAM) {
			if (!conns[i].guest_closed)
				mux_emit(&conns[i], conns[i].stream, MUX_CLOSE, NULL, 0);
			conn_release(&conns[i]);
		}
	egress_reset();
	mux.in.len = 0;
	mux_hello();
}

static void mux_record(const struct mux_rec *r)
{
	struct conn *c = r->stream ? stream_find(r->stream) : NULL;

	if (r->stream == 0 || r->kind == MUX_HELLO) {
		mux_reset("record on stream 0 or HELLO from the host");
		return;
	}
	if (r->stream & MUX_GUEST_STREAM) {
		egress_record(r);
		return;
	}
	switch (r->kind) {
	case MUX_OPEN:
		if (c) {
			if (!c->guest_closed) {
				mux_emit(c, r->stream, MUX_CLOSE, NULL, 0);
				c->guest_closed = 1;
				conn_orphan_call(c);
			}
			return;
		}
		c = conn_new(CONN_STREAM);
		if (!c) {
			mux_emit(NULL, r->stream, MUX_CLOSE, NULL, 0);
			return;   /* the host's CLOSE will find no stream: ignored */
		}
		c->stream = r->stream;
		break;
	case MUX_DATA:
		if (!c || c->guest_closed || c->rd_eof)
			return;
		buf_put(&c->in, r->data, r->len);
		if (c->in.err) {
			conn_release(c);
			return;
		}
		/* a stream may hold one whole frame beyond the one being served
		 * (or held) */
		if ((c->call || c->held) && c->in.len > FRAME_HDR + FRAME_MAX + FRAME_HDR + FRAME_MAX) {
			send_error(c, ERRK_PAYLOAD_CAP, "too much input buffered on the stream");
			c->closing = 1;
			conn_orphan_call(c);
		}
		conn_pump(c);
		break;
	case MUX_CLOSE:
		if (!c)
			return;
		c->rd_eof = 1;
		if (c->guest_closed)
			conn_release(c);
		else
			conn_pump(c);
		break;
	}
}

void mux_read(void)
{
	for (;;) {
		ssize_t n;
		size_t off = 0, need;
		struct mux_rec r;
		struct merr e;
		int rc;

		if (buf_reserve(&mux.in, RD_CHUNK) < 0)
			die(4, "out of memory");
		n = read(mux.rfd, mux.in.p + mux.in.len, RD_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (mux.is_stdio) {
				/* the host is gone: end every stream */
				for (int i = 0; i < MAX_CONNS; i++)
					if (conns[i].used && conns[i].kind == CONN_STREAM) {
						conns[i].rd_eof = 1;
						conn_pump(&conns[i]);
					}
				mux.hup = 1;
			} else if (!mux.hup) {
				/* host not connected: its streams are gone; retry later */
				mux.hup = 1;
				for (int i = 0; i < MAX_CONNS; i++)
					if (conns[i].used && conns[i].kind == CONN_STREAM)
						conn_release(&conns[i]);
				egress_reset();
				mux.in.len = 0;
				mux_out_clear();
			}
			return;
		}
		if (mux.hup && !mux.is_stdio) {
			mux.hup = 0;
			mux_out_clear();
			mux_hello();
		}
		mux.in.len += (size_t)n;
		while ((rc = mux_parse(mux.in.p + off, mux.in.len - off, &r, &need, &e)) == MUX_OK) {
			off += r.size;
			mux_record(&r);
			if (mux.in.len == 0)        /* reset */
				return;
		}
		if (rc == MUX_BAD) {
			mux_reset(e.msg);   /* back to the loop: write HELLO, see signals */
			return;
		}
		memmove(mux.in.p, mux.in.p + off, mux.in.len - off);
		mux.in.len -= off;
		if ((size_t)n < RD_CHUNK || mux_full())
			return;
	}
}

void mux_write(void)
{
	while (mux.out_off < mux.out.len) {
		ssize_t n = write(mux.wfd, mux.out.p + mux.out_off, mux.out.len - mux.out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			if (mux.is_stdio)
				die(4, "cannot write to the host: %s", strerror(errno));
			mux_out_clear();  /* host gone: drop */
			mux.hup = 1;
			return;
		}
		mux.out_off += (size_t)n;
		mux_sent((size_t)n);
	}
	mux.out.len = mux.out_off = 0;
}

void mux_reconnect(void)
{
	/* virtio-serial reports POLLHUP while no host is connected: look
	 * again; once it is back, say HELLO and read */
	struct pollfd q = { mux.rfd, POLLIN, 0 };

	if (poll(&q, 1, 0) >= 0 && !(q.revents & (POLLHUP | POLLERR))) {
		for (int i = 0; i < MAX_CONNS; i++)
			if (conns[i].used && conns[i].kind == CONN_STREAM)
				conn_release(&conns[i]);
		egress_reset();
		mux.hup = 0;
		mux.in.len = 0;
		mux_out_clear();
		mux_hello();
		if (q.revents & POLLIN)
			mux_read();
	}
}
