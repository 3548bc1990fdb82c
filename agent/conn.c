/* conn.c — connections: requests in order, replies, their I/O. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent.h"
#include "json.h"

struct conn conns[MAX_CONNS];
int listen_fd = -1;

/* ---- replies ---- */

void send_buf(struct conn *c, struct buf *b)
{
	if (c && b->len && !b->err)
		conn_send(c, b->p, b->len);
	b->len = 0;
}

void send_error(struct conn *c, const char *kind, const char *msg)
{
	struct buf b = BUF_INIT;

	rep_put_error(&b, kind, msg);
	send_buf(c, &b);
	buf_free(&b);
}

void send_chunks(struct conn *c, int is_stderr, const unsigned char *p, size_t n)
{
	struct buf b = BUF_INIT;

	while (c && n) {
		size_t k = n > FRAME_CHUNK ? FRAME_CHUNK : n;

		rep_put_chunk(&b, is_stderr, p, k);
		send_buf(c, &b);
		p += k;
		n -= k;
	}
	buf_free(&b);
}

void send_exit(struct conn *c, int code)
{
	struct buf b = BUF_INIT;

	rep_put_exit(&b, code);
	send_buf(c, &b);
	buf_free(&b);
}

void send_status(struct conn *c)
{
	struct buf b = BUF_INIT;
	size_t off = frame_begin(&b);
	unsigned slots = 0, busy = 0, maxq;

	if (rt.warm) {
		for (unsigned i = 0; i < rt.pool_size; i++) {
			if (workers[i].state == W_IDLE || workers[i].state == W_BUSY)
				slots++;
			if (workers[i].state == W_BUSY)
				busy++;
		}
		maxq = (unsigned)rt.max_queue_depth;
	} else {
		slots = opt.max_calls;
		busy = nrunning;
		maxq = 2 * opt.max_calls;
	}
	buf_puts(&b, "{\"type\":\"status\",\"agent\":\"mvm-agent\",\"version\":1,\"entrypoint\":");
	buf_puts(&b, entry.ok && !warm_failed ? "\"ok\"" : "\"invalid\"");
	if (!entry.ok || warm_failed) {
		const char *d = entry.ok ? "a warm worker failed to start" : entry.detail;

		buf_puts(&b, ",\"detail\":");
		json_put_str(&b, d, strlen(d));
	}
	buf_puts(&b, ",\"language\":");
	if (rt.present)
		json_put_str(&b, rt.language, strlen(rt.language));
	else
		buf_puts(&b, "null");
	buf_printf(&b, ",\"tier\":\"%s\",\"seccomp\":", rt.warm ? "warm" : "cold");
	if (opt.provision && !provisioned)
		buf_puts(&b, "null");   /* no tier applied yet */
	else
		json_put_str(&b, opt.seccomp, strlen(opt.seccomp));
	put_listening(&b);
	buf_printf(&b, ",\"pool\":{\"slots\":%u,\"busy\":%u,\"queued\":%u,\"max_queue\":%u,"
		"\"calls\":%lu,\"recycled\":%lu,\"respawned\":%lu,\"crashed\":%lu}}",
		slots, busy, nqueued, maxq, stats.calls, stats.recycled, stats.respawned,
		stats.crashed);
	frame_end(&b, off);
	send_buf(c, &b);
	buf_free(&b);
}

/* The connection is going away: its calls are abandoned. */
void conn_orphan_call(struct conn *c)
{
	struct call *k = c->call;

	if (!k)
		return;
	c->call = NULL;
	k->conn = NULL;
	if (k->state == CALL_QUEUED) {
		dequeue(k);
		req_free(&k->req);
#ifdef MVM_DEV
		dev_exec_free(k->dev_argv);
#endif
		free(k);
	} else if (!k->w) {
		cold_breach(k, "orphaned");    /* kill it; reaping frees it */
	}
	/* warm: the worker finishes the call, output discarded */
}

/* ---- connection I/O ---- */

void conn_release(struct conn *c)
{
	conn_orphan_call(c);
	if (c->kind == CONN_FD) {
		if (c->rfd >= 0)
			close(c->rfd);
		if (c->wfd >= 0 && c->wfd != c->rfd)
			close(c->wfd);
	}
	buf_free(&c->in);
	buf_free(&c->out);
	memset(c, 0, sizeof *c);
	c->rfd = c->wfd = -1;
}

void conn_send(struct conn *c, const void *p, size_t n)
{
	const unsigned char *s = p;

	if (!c || c->guest_closed)
		return;
	if (c->kind == CONN_FD) {
		if (c->wfd >= 0)
			buf_put(&c->out, p, n);
		return;
	}
	while (n) {
		size_t k = n > MUX_DATA_MAX ? MUX_DATA_MAX : n;

		mux_emit(c, c->stream, MUX_DATA, s, k);
		s += k;
		n -= k;
	}
}

size_t conn_unsent(const struct conn *c)
{
	if (!c)
		return 0;
	return c->kind == CONN_FD ? c->out.len - c->out_off : c->unsent;
}

int out_total_full(void)
{
	size_t t = mux_unsent();

	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].used && conns[i].kind == CONN_FD)
			t += conns[i].out.len - conns[i].out_off;
	return t >= OUT_TOTAL_MAX;
}

int conn_full(const struct conn *c)
{
	return c && (conn_unsent(c) >= CONN_OUT_MAX || out_total_full());
}

void conn_resume(void)
{
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &conns[i];

		if (c->used && c->held && !conn_full(c))
			conn_pump(c);
	}
}

struct conn *conn_new(enum conn_kind kind)
{
	static unsigned gen;

	for (int i = 0; i < MAX_CONNS; i++)
		if (!conns[i].used) {
			struct conn *c = &conns[i];

			memset(c, 0, sizeof *c);
			c->in = (struct buf)BUF_INIT;
			c->out = (struct buf)BUF_INIT;
			c->used = 1;
			c->kind = kind;
			c->rfd = c->wfd = -1;
			c->gen = ++gen;
			return c;
		}
	return NULL;
}

/* SIGTERM or a shutdown request: drop every connection (their calls are
 * killed), stop the workers; the loop then ends. */
void begin_quit(void)
{
	if (quitting)
		return;
	quitting = 1;
	for (int j = 0; j < MAX_CONNS; j++)
		if (conns[j].used)
			conn_release(&conns[j]);
	for (unsigned j = 0; j < POOL_MAX; j++)
		if (workers[j].pid > 0)
			kill_group(workers[j].pid, SIGKILL);
}

/* Serve the complete requests buffered on c, in order, while no call is
 * in flight on it and its output is not over the bounds; close it when
 * it is done. */
void conn_pump(struct conn *c)
{
	c->held = 0;
	while (c->used && !c->call && !c->closing && !c->guest_closed) {
		const char *p = c->in.p + c->in_off;
		size_t avail = c->in.len - c->in_off, need;
		uint32_t len;
		int r = frame_parse(p, avail, FRAME_MAX, &len, &need);
		struct merr e;
		struct req q;

		if (r == FRAME_BIG) {
			send_error(c, ERRK_PAYLOAD_CAP, "frame longer than FRAME_MAX");
			c->closing = 1;
			break;
		}
		if (r == FRAME_NEED)
			break;
		if (conn_full(c)) {
			c->held = 1;    /* conn_resume() goes on */
			break;
		}
		c->in_off += FRAME_HDR + len;
#ifdef MVM_DEV
		if (dev_exec_request(c, p + FRAME_HDR, len))
			continue;
#endif
		switch (req_parse(p + FRAME_HDR, len, &q, &e)) {
		case 0:
			break;
		case EX_NO:
			send_error(c, ERRK_PAYLOAD_CAP, "stdin is larger than 16 MiB");
			continue;
		case EX_DATA:
			/* fixed texts only: the reader names a duplicate key, which
			 * came from the host; do not echo it */
			send_error(c, ERRK_BAD_REQUEST,
				strncmp(e.msg, "duplicate member name", 21) == 0 ?
				"duplicate member name" : e.msg);
			continue;
		default:
			send_error(c, ERRK_INTERNAL, "out of memory");
			continue;
		}
		if (q.type == REQ_PING) {
			struct buf b = BUF_INIT;

			rep_put_pong(&b);
			send_buf(c, &b);
			buf_free(&b);
		} else if (q.type == REQ_STATUS) {
			send_status(c);
		} else if (q.type == REQ_SHUTDOWN) {
			/* no reply: the host sees the VMM exit */
			logmsg("shutdown asked by the host");
			shutdown_asked = 1;
			begin_quit();
			return;
		} else if (q.type == REQ_PROVISION) {
			provision(c, &q);
			req_free(&q);
		} else if (opt.provision && !provisioned) {
			send_error(c, ERRK_NOT_PROVISIONED, "the host has not provisioned the agent yet");
			req_free(&q);
		} else if (call_check(c, &q) != 0) {
			req_free(&q);
		} else {
			submit(c, &q);
		}
	}
	if (!c->used)
		return;
	/* compact consumed input */
	if (c->in_off) {
		memmove(c->in.p, c->in.p + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in_off = 0;
	}
	if (!c->call && !c->held && (c->closing || c->rd_eof)) {
		if (c->kind == CONN_STREAM) {
			if (!c->guest_closed) {
				mux_emit(c, c->stream, MUX_CLOSE, NULL, 0);
				c->guest_closed = 1;
			}
			if (c->rd_eof)
				conn_release(c);
			else
				c->in.len = 0;
		} else if (c->out.len == c->out_off) {
			conn_release(c);
		} else {
			c->closing = 1;    /* close once flushed */
		}
	}
}

void conn_read(struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (buf_reserve(&c->in, RD_CHUNK) < 0) {
			conn_release(c);
			return;
		}
		n = read(c->rfd, c->in.p + c->in.len, RD_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			c->rd_eof = 1;
			break;
		}
		c->in.len += (size_t)n;
		/* back-pressure: stop at one whole frame while a call runs,
		 * and while the output is over its bounds */
		if (c->call || (size_t)n < RD_CHUNK)
			break;
		conn_pump(c);
		if (!c->used)
			return;
		if (c->call || c->held || c->closing)
			break;
	}
	conn_pump(c);
}

void conn_write(struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = write(c->wfd, c->out.p + c->out_off, c->out.len - c->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			conn_release(c);   /* the peer is gone */
			return;
		}
		c->out_off += (size_t)n;
		if (c->out_off >= OUT_COMPACT && c->out_off < c->out.len) {
			memmove(c->out.p, c->out.p + c->out_off, c->out.len - c->out_off);
			c->out.len -= c->out_off;
			c->out_off = 0;
		}
	}
	c->out.len = c->out_off = 0;
	if (c->closing && !c->call)
		conn_release(c);
}

