/* egress.c — the guest end of the egress proxy (issue #16; agent.h
 * "egress").  With --egress-proxy the agent listens on 127.0.0.1:3128 and
 * carries each accepted connection, byte for byte (no frames), as a mux
 * stream it opens itself (MUX_GUEST_STREAM | n); the host's proxy
 * (lib/proxy.h) reads the request head and decides.  Nothing here parses
 * what the runner sends: the host does. */
#include <errno.h>
#include <poll.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "agent.h"

static struct egconn {
	int used;
	int fd;
	uint32_t stream;
	struct buf out;                 /* from the host, to the socket */
	size_t out_off;
	int rd_eof;                     /* the socket said EOF: our CLOSE sent */
	int host_eof;                   /* the host's CLOSE came */
} eg[EGRESS_CONNS];

int egress_fd = -1;
static uint32_t next_id = 1;

void egress_listen(void)
{
	unsigned port = opt.egress_port ? opt.egress_port : EGRESS_PORT;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	egress_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (egress_fd < 0)
		die(4, "egress proxy: socket: %s", strerror(errno));
	setsockopt(egress_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(egress_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(egress_fd, 64) != 0)
		die(4, "egress proxy: listen on 127.0.0.1:%u: %s", port, strerror(errno));
}

static void release(struct egconn *c)
{
	close(c->fd);
	buf_free(&c->out);
	memset(c, 0, sizeof *c);
}

void egress_reset(void)
{
	for (int i = 0; i < EGRESS_CONNS; i++)
		if (eg[i].used)
			release(&eg[i]);
}

void egress_accept(void)
{
	int fd = accept4(egress_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct egconn *c = NULL;

	if (fd < 0)
		return;
	for (int i = 0; i < EGRESS_CONNS && !c; i++)
		if (!eg[i].used)
			c = &eg[i];
	if (!c || mux.hup) {
		close(fd);   /* the runner sees a reset: no proxy now */
		return;
	}
	c->used = 1;
	c->fd = fd;
	c->out = (struct buf)BUF_INIT;
	c->stream = MUX_GUEST_STREAM | next_id;
	next_id = next_id + 1 < MUX_GUEST_STREAM ? next_id + 1 : 1;
	mux_emit(NULL, c->stream, MUX_OPEN, NULL, 0);
}

static void finish(struct egconn *c)
{
	if (c->host_eof && c->out_off == c->out.len) {
		shutdown(c->fd, SHUT_WR);
		if (c->rd_eof)
			release(c);
	}
}

void egress_record(const struct mux_rec *r)
{
	struct egconn *c = NULL;

	for (int i = 0; i < EGRESS_CONNS && !c; i++)
		if (eg[i].used && eg[i].stream == r->stream)
			c = &eg[i];
	if (!c) {
		/* the host opening a stream in the guest's range: refused */
		if (r->kind == MUX_OPEN)
			mux_emit(NULL, r->stream, MUX_CLOSE, NULL, 0);
		return;
	}
	if (r->kind == MUX_DATA && !c->host_eof) {
		buf_put(&c->out, r->data, r->len);
		if (c->out.err) {
			if (!c->rd_eof)
				mux_emit(NULL, c->stream, MUX_CLOSE, NULL, 0);
			release(c);
			return;
		}
		egress_write(c - eg);
	} else if (r->kind == MUX_CLOSE || r->kind == MUX_OPEN) {
		c->host_eof = 1;
		finish(c);
	}
}

void egress_read(int i)
{
	struct egconn *c = &eg[i];
	unsigned char b[MUX_DATA_MAX];
	ssize_t n;

	if (!c->used || c->rd_eof)
		return;
	n = read(c->fd, b, sizeof b);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->rd_eof = 1;
		mux_emit(NULL, c->stream, MUX_CLOSE, NULL, 0);
		if (n < 0 || c->host_eof)
			release(c);
		return;
	}
	mux_emit(NULL, c->stream, MUX_DATA, b, (size_t)n);
}

void egress_write(long i)
{
	struct egconn *c = &eg[i];
	ssize_t n;

	while (c->used && c->out_off < c->out.len) {
		n = write(c->fd, c->out.p + c->out_off, c->out.len - c->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* the runner is gone: stop this stream */
			if (!c->rd_eof)
				mux_emit(NULL, c->stream, MUX_CLOSE, NULL, 0);
			release(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->used) {
		c->out.len = c->out_off = 0;
		finish(c);
	}
}

int egress_full(void)
{
	for (int i = 0; i < EGRESS_CONNS; i++)
		if (eg[i].used && eg[i].out.len - eg[i].out_off >= CONN_OUT_MAX)
			return 1;
	return 0;
}

int egress_watch(int i, short *ev)
{
	struct egconn *c = &eg[i];

	if (!c->used)
		return -1;
	*ev = 0;
	if (!c->rd_eof && !mux.hup && !out_total_full())
		*ev |= POLLIN;
	if (c->out_off < c->out.len)
		*ev |= POLLOUT;
	return c->fd;
}
