/* muxhost.c — one serial stream to a Firecracker-style socket (muxhost.h) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "frame.h"
#include "agentwatch.h"
#include "muxhost.h"

struct client {
	int fd;
	uint32_t stream;
	int handshaken, sent_close, got_close;
	struct buf in, out;
};

struct muxhost {
	int guest, listener;
	struct client clients[MUXHOST_CLIENTS];
	int nclients;
	uint32_t next_stream;
	struct buf gout;        /* records to the guest */
	struct buf gin;         /* records from the guest */
	struct buf ready_in;    /* the agent's reply to our ping */
	int hello_seen, ready;
	void (*guest_open)(void *ctx, int fd);
	void *guest_ctx;
};

void muxhost_on_guest_open(struct muxhost *m, void (*open)(void *ctx, int fd), void *ctx)
{
	m->guest_open = open;
	m->guest_ctx = ctx;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

struct muxhost *muxhost_new(int guest, int listener)
{
	struct muxhost *m = calloc(1, sizeof *m);

	if (!m)
		return NULL;
	m->guest = guest;
	m->listener = listener;
	m->next_stream = MUXHOST_READY_STREAM + 1;
	m->gout = m->gin = m->ready_in = (struct buf)BUF_INIT;
	set_nonblock(guest);
	return m;
}

int muxhost_ready(const struct muxhost *m)
{
	return m->ready;
}

/* A fresh stream id for a client (never 0 or the ready stream). */
static uint32_t new_stream(struct muxhost *m)
{
	uint32_t id = m->next_stream++;

	if (m->next_stream == 0 || m->next_stream >= MUX_GUEST_STREAM)
		m->next_stream = MUXHOST_READY_STREAM + 1;
	return id;
}

static void drop_client(struct muxhost *m, int i)
{
	struct client *c = &m->clients[i];

	if (c->handshaken && !c->sent_close && m->hello_seen)
		mux_put(&m->gout, c->stream, MUX_CLOSE, NULL, 0);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	m->clients[i] = m->clients[--m->nclients];
}

static struct client *find_stream(struct muxhost *m, uint32_t id)
{
	for (int i = 0; i < m->nclients; i++)
		if (m->clients[i].handshaken && m->clients[i].stream == id)
			return &m->clients[i];
	return NULL;
}

static void send_ping(struct muxhost *m)
{
	struct buf f = BUF_INIT;

	req_put_ping(&f);
	mux_put(&m->gout, MUXHOST_READY_STREAM, MUX_OPEN, NULL, 0);
	mux_put(&m->gout, MUXHOST_READY_STREAM, MUX_DATA, f.p, f.len);
	buf_free(&f);
}

void muxhost_shutdown(struct muxhost *m)
{
	struct buf f = BUF_INIT;
	uint32_t id = new_stream(m);

	req_put_shutdown(&f);
	mux_put(&m->gout, id, MUX_OPEN, NULL, 0);
	mux_put(&m->gout, id, MUX_DATA, f.p, f.len);
	buf_free(&f);
}

/* The reply on the ready stream: a PONG makes the port ready. */
static void ready_data(struct muxhost *m, const struct mux_rec *r)
{
	uint32_t len;
	size_t need;
	struct rep rp;
	struct merr e;

	buf_put(&m->ready_in, r->data, r->len);
	if (frame_parse(m->ready_in.p, m->ready_in.len, FRAME_MAX, &len, &need) == FRAME_OK &&
	    rep_parse(m->ready_in.p + FRAME_HDR, len, &rp, &e) == 0) {
		if (rp.type == REP_PONG && !m->ready) {
			m->ready = 1;
			mux_put(&m->gout, MUXHOST_READY_STREAM, MUX_CLOSE, NULL, 0);
		}
		rep_free(&rp);
	}
}

/* A stream the guest opened: a socket pair, one end ours (a client on
 * that stream), the other the handler's. */
static void guest_open(struct muxhost *m, uint32_t id)
{
	struct client *c;
	int sv[2];

	if (!m->guest_open || find_stream(m, id) || m->nclients == MUXHOST_CLIENTS ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		mux_put(&m->gout, id, MUX_CLOSE, NULL, 0);
		return;
	}
	set_nonblock(sv[0]);
	c = &m->clients[m->nclients++];
	memset(c, 0, sizeof *c);
	c->fd = sv[0];
	c->in = c->out = (struct buf)BUF_INIT;
	c->handshaken = 1;
	c->stream = id;
	m->guest_open(m->guest_ctx, sv[1]);
}

/* Handle the whole records buffered from the guest. */
static int guest_records(struct muxhost *m, struct merr *e)
{
	size_t off = 0, need;
	struct mux_rec r;
	struct client *c;
	int st;

	while ((st = mux_parse(m->gin.p + off, m->gin.len - off, &r, &need, e)) == MUX_OK) {
		off += r.size;
		if (r.kind == MUX_HELLO && m->ready)
			/* the agent started again (init restarts it): it has not
			 * been provisioned, nor would it be: fail closed */
			return merr_set(e, EX_NO, NULL, "%s", AGENTWATCH_RESTARTED), MUXHOST_FAIL;
		if (r.kind == MUX_HELLO) {
			/* (re)start: every stream is gone */
			for (int i = m->nclients - 1; i >= 0; i--)
				if (m->clients[i].handshaken) {
					m->clients[i].sent_close = 1;
					drop_client(m, i);
				}
			m->hello_seen = 1;
			if (!m->ready) {
				buf_free(&m->ready_in);
				send_ping(m);
			}
			continue;
		}
		if (r.stream == MUXHOST_READY_STREAM) {
			if (r.kind == MUX_DATA)
				ready_data(m, &r);
			continue;
		}
		if (r.kind == MUX_OPEN && (r.stream & MUX_GUEST_STREAM)) {
			guest_open(m, r.stream);
			continue;
		}
		if (!(c = find_stream(m, r.stream)))
			continue;
		if (r.kind == MUX_DATA) {
			if (c->out.len + r.len > MUXHOST_CLIENT_BUF) {
				drop_client(m, (int)(c - m->clients));
				continue;
			}
			buf_put(&c->out, r.data, r.len);
		} else if (r.kind == MUX_CLOSE) {
			c->got_close = 1;
		}
	}
	if (st == MUX_BAD) {
		m->gin.len = 0;
		return MUXHOST_BAD;
	}
	m->gin.len -= off;
	memmove(m->gin.p, m->gin.p + off, m->gin.len);
	return MUXHOST_OK;
}

/* The handshake line: "CONNECT 5252", answered once the agent is ready. */
static int handshake(struct muxhost *m, struct client *c)
{
	char *nl = memchr(c->in.p, '\n', c->in.len);
	char reply[32];
	size_t rest;

	if (!nl)
		return c->in.len > 64 ? -1 : 0;
	*nl = '\0';
	if (strcmp(c->in.p, "CONNECT 5252") != 0 || !m->ready)
		return -1;
	c->handshaken = 1;
	c->stream = new_stream(m);
	snprintf(reply, sizeof reply, "OK %u\n", c->stream);
	buf_puts(&c->out, reply);
	mux_put(&m->gout, c->stream, MUX_OPEN, NULL, 0);
	rest = c->in.len - (size_t)(nl + 1 - c->in.p);
	memmove(c->in.p, nl + 1, rest);
	c->in.len = rest;
	return 0;
}

static void client_input(struct muxhost *m, int idx)
{
	struct client *c = &m->clients[idx];
	ssize_t n;

	if (buf_reserve(&c->in, 65536) < 0) {
		drop_client(m, idx);
		return;
	}
	n = read(c->fd, c->in.p + c->in.len, MUX_DATA_MAX);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (!c->handshaken) {
			drop_client(m, idx);
			return;
		}
		if (!c->sent_close) {
			mux_put(&m->gout, c->stream, MUX_CLOSE, NULL, 0);
			c->sent_close = 1;
		}
		if (c->got_close && c->out.len == 0)
			drop_client(m, idx);
		return;
	}
	c->in.len += (size_t)n;
	if (!c->handshaken) {
		if (handshake(m, c) < 0) {
			drop_client(m, idx);
			return;
		}
		if (!c->handshaken)
			return;
	}
	if (c->in.len > 0 && !c->sent_close) {
		mux_put(&m->gout, c->stream, MUX_DATA, c->in.p, c->in.len);
		c->in.len = 0;
	}
}

/* Write what is queued to fd; 0, or -1 on a hard error. */
static int drain(int fd, struct buf *b)
{
	ssize_t n;

	while (b->len > 0) {
		n = write(fd, b->p, b->len);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		b->len -= (size_t)n;
		memmove(b->p, b->p + n, b->len);
	}
	return 0;
}

static void accept_client(struct muxhost *m)
{
	int cfd = accept4(m->listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct client *c;

	if (cfd < 0)
		return;
	c = &m->clients[m->nclients++];
	memset(c, 0, sizeof *c);
	c->fd = cfd;
	c->in = c->out = (struct buf)BUF_INIT;
}

/* Read from the guest; 1 if it was at end of file. */
static int guest_input(struct muxhost *m, int *st, struct merr *e)
{
	ssize_t n;

	if (buf_reserve(&m->gin, 65536 + MUX_HDR) < 0) {
		merr_set(e, EX_SYS, NULL, "out of memory");
		*st = MUXHOST_FAIL;
		return 0;
	}
	n = read(m->guest, m->gin.p + m->gin.len, m->gin.cap - m->gin.len - 1);
	if (n == 0) {
		/* the guest side went away: the VMM is exiting */
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
		return 1;
	}
	if (n > 0) {
		m->gin.len += (size_t)n;
		*st = guest_records(m, e);
	}
	return 0;
}

int muxhost_step(struct muxhost *m, int timeout_ms, struct merr *e)
{
	struct pollfd pf[MUXHOST_CLIENTS + 2];
	int np = 0, st = MUXHOST_OK;

	pf[np++] = (struct pollfd){ m->guest, POLLIN | (m->gout.len ? POLLOUT : 0), 0 };
	pf[np++] = (struct pollfd){ m->listener, m->nclients < MUXHOST_CLIENTS ? POLLIN : 0, 0 };
	for (int i = 0; i < m->nclients; i++) {
		short ev = m->clients[i].out.len ? POLLOUT : 0;
		if (m->gout.len < MUXHOST_GUEST_HIGH && !m->clients[i].sent_close &&
		    m->clients[i].out.len < MUXHOST_CLIENT_HIGH)
			ev |= POLLIN;
		pf[np++] = (struct pollfd){ m->clients[i].fd, ev, 0 };
	}
	if (poll(pf, (nfds_t)np, timeout_ms) < 0)
		return errno == EINTR ? MUXHOST_OK : (merr_sys(e, "poll"), MUXHOST_FAIL);
	if (pf[0].revents & (POLLIN | POLLHUP | POLLERR))
		if (guest_input(m, &st, e) || st == MUXHOST_FAIL)
			return st;
	if (pf[0].revents & POLLOUT && drain(m->guest, &m->gout) < 0)
		return merr_sys(e, "write to the guest"), MUXHOST_FAIL;
	if (pf[1].revents & POLLIN)
		accept_client(m);
	/* clients: walk backwards, drop_client moves the last one into i */
	for (int i = np - 3; i >= 0; i--) {
		struct pollfd *p = &pf[i + 2];
		if (i >= m->nclients || m->clients[i].fd != p->fd)
			continue;
		if (p->revents & POLLOUT && drain(m->clients[i].fd, &m->clients[i].out) < 0) {
			drop_client(m, i);
			continue;
		}
		if (p->revents & (POLLIN | POLLHUP | POLLERR))
			client_input(m, i);
	}
	for (int i = m->nclients - 1; i >= 0; i--) {
		struct client *c = &m->clients[i];
		if (c->got_close && c->out.len == 0) {
			if (c->sent_close)
				drop_client(m, i);
			else
				shutdown(c->fd, SHUT_WR);
		}
	}
	if (m->gout.len && drain(m->guest, &m->gout) < 0)
		return merr_sys(e, "write to the guest"), MUXHOST_FAIL;
	return st;
}

void muxhost_free(struct muxhost *m)
{
	if (!m)
		return;
	while (m->nclients)
		drop_client(m, m->nclients - 1);
	buf_free(&m->gout);
	buf_free(&m->gin);
	buf_free(&m->ready_in);
	free(m);
}
