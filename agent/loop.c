/* loop.c — the agent's one poll() loop: which descriptors to watch, and
 * who handles each event. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include "agent.h"

/* What a poll slot is for. */
enum what {
	EV_SIGNAL, EV_ACCEPT, EV_MUX, EV_MUX_OUT, EV_CONN_IN, EV_CONN_OUT,
	EV_COLD_IN, EV_COLD_OUT, EV_COLD_ERR, EV_WARM_IN, EV_WARM_OUT, EV_WARM_ERR,
	EV_EGRESS_ACCEPT, EV_EGRESS,
};

#define NPOLL (5 + 2 * MAX_CONNS + 3 * 64 + 3 * POOL_MAX + EGRESS_CONNS)

struct pollset {
	struct pollfd pf[NPOLL];
	void *who[NPOLL];
	enum what what[NPOLL];
	nfds_t n;
};

static void add(struct pollset *s, int fd, short ev, void *who, enum what what)
{
	s->pf[s->n] = (struct pollfd){ fd, ev, 0 };
	s->who[s->n] = who;
	s->what[s->n] = what;
	s->n++;
}

/* Fill s; returns whether anything is still in progress. */
static int watch(struct pollset *s, int sfd)
{
	int busy = 0;

	s->n = 0;
	add(s, sfd, POLLIN, NULL, EV_SIGNAL);
	if (listen_fd >= 0 && !quitting)
		add(s, listen_fd, POLLIN, NULL, EV_ACCEPT);
	if (mux.on) {
		short ev = 0;

		if (!mux.hup && !quitting && !mux_full())
			ev |= POLLIN;
		if (mux.out.len > mux.out_off && !(mux.hup && !mux.is_stdio))
			ev |= POLLOUT;
		if (mux.rfd == mux.wfd) {
			if (ev)
				add(s, mux.rfd, ev, NULL, EV_MUX);
		} else {
			if (ev & POLLIN)
				add(s, mux.rfd, POLLIN, NULL, EV_MUX);
			if (ev & POLLOUT)
				add(s, mux.wfd, POLLOUT, NULL, EV_MUX_OUT);
		}
		busy |= mux.out.len > mux.out_off || !mux.hup;
	}
	if (egress_fd >= 0 && mux.on && !mux.hup && !quitting)
		add(s, egress_fd, POLLIN, NULL, EV_EGRESS_ACCEPT);
	for (long i = 0; i < EGRESS_CONNS; i++) {
		short ev;
		int fd = egress_watch((int)i, &ev);

		if (fd >= 0 && ev)
			add(s, fd, ev, (void *)i, EV_EGRESS);
	}
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &conns[i];

		if (!c->used)
			continue;
		busy = 1;
		if (c->kind != CONN_FD)
			continue;
		if (!c->rd_eof && !c->closing && !(c->call && c->in.len >= FRAME_HDR + FRAME_MAX) &&
		    !c->held && !conn_full(c))
			add(s, c->rfd, POLLIN, c, EV_CONN_IN);
		if (c->out.len > c->out_off)
			add(s, c->wfd, POLLOUT, c, EV_CONN_OUT);
	}
	/* a runner whose connection is full is not read: it blocks */
	for (struct call *k = running; k; k = k->next) {
		int full = conn_full(k->conn);

		busy = 1;
		if (k->fds[0] >= 0)
			add(s, k->fds[0], POLLOUT, k, EV_COLD_IN);
		/* stderr first: a runner past the stderr cap is caught before
		 * the result it wrote after it is sent */
		if (k->fds[2] >= 0 && !full)
			add(s, k->fds[2], POLLIN, k, EV_COLD_ERR);
		if (k->fds[1] >= 0 && !full)
			add(s, k->fds[1], POLLIN, k, EV_COLD_OUT);
	}
	for (unsigned i = 0; rt.warm && i < rt.pool_size; i++) {
		struct worker *w = &workers[i];
		int full = w->call && conn_full(w->call->conn);

		if (w->fds[0] >= 0 && w->tx.len > w->tx_off)
			add(s, w->fds[0], POLLOUT, w, EV_WARM_IN);
		if (w->fds[1] >= 0 && !full)
			add(s, w->fds[1], POLLIN, w, EV_WARM_OUT);
		if (w->fds[2] >= 0 && !full)
			add(s, w->fds[2], POLLIN, w, EV_WARM_ERR);
	}
	return busy | (queue_head != NULL);
}

static void accept_one(void)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct conn *c;

	if (fd < 0)
		return;
	if (!(c = conn_new(CONN_FD))) {
		close(fd);
		return;
	}
	c->rfd = c->wfd = fd;
}

/* Handle slot i's events.  Earlier handlers may have ended what a later
 * slot names: each handler checks that its object is still live. */
static void dispatch(struct pollset *s, nfds_t i, int sfd)
{
	short re = s->pf[i].revents;
	enum what what = s->what[i];

	switch (what) {
	case EV_SIGNAL: {
		struct signalfd_siginfo si;

		while (read(sfd, &si, sizeof si) == sizeof si) {
			if (si.ssi_signo == SIGCHLD)
				continue;
			begin_quit();
		}
		reap();
		break;
	}
	case EV_ACCEPT:
		accept_one();
		break;
	case EV_EGRESS_ACCEPT:
		egress_accept();
		break;
	case EV_EGRESS:
		/* (a slot released and reused meanwhile is served as it is now) */
		if (re & POLLOUT)
			egress_write((long)s->who[i]);
		if (re & (POLLIN | POLLHUP | POLLERR))
			egress_read((int)(long)s->who[i]);
		break;
	case EV_MUX:
		if (re & POLLOUT)
			mux_write();
		if (re & (POLLIN | POLLHUP | POLLERR))
			mux_read();
		break;
	case EV_MUX_OUT:
		mux_write();
		break;
	case EV_CONN_IN:
		if (((struct conn *)s->who[i])->used)
			conn_read(s->who[i]);
		break;
	case EV_CONN_OUT:
		if (((struct conn *)s->who[i])->used)
			conn_write(s->who[i]);
		break;
	case EV_COLD_IN: case EV_COLD_OUT: case EV_COLD_ERR: {
		struct call *k = s->who[i];
		int live = 0, fd = (int)(what - EV_COLD_IN);

		for (struct call *q = running; q; q = q->next)
			live |= q == k;
		if (!live)
			break;
		if (fd == 0 && k->fds[0] >= 0)
			cold_write(k);
		else if (fd != 0 && k->fds[fd] >= 0)
			cold_read(k, fd);
		break;
	}
	case EV_WARM_IN: case EV_WARM_OUT: case EV_WARM_ERR: {
		struct worker *w = s->who[i];

		if (what == EV_WARM_IN && w->fds[0] >= 0)
			worker_write(w);
		else if (what == EV_WARM_OUT && w->fds[1] >= 0)
			worker_read(w);
		else if (what == EV_WARM_ERR && w->fds[2] >= 0)
			worker_drain_err(w);
		break;
	}
	}
}

/* stdio transports end when the host has gone and all is answered */
static int mux_stdio_done(void)
{
	int any = 0;

	if (!(exit_when_idle && mux.on && mux.is_stdio && mux.hup))
		return 0;
	for (int i = 0; i < MAX_CONNS; i++)
		any |= conns[i].used;
	return !any && mux.out.len == mux.out_off && !running;
}

void agent_loop(int sfd)
{
	static struct pollset s;

	for (;;) {
		uint64_t next = timers(), t;
		int busy = watch(&s, sfd), timeout;

		if (exit_when_idle && !busy)
			break;
		if (quitting && !running)
			break;
		t = now_ms();
		timeout = next == UINT64_MAX ? -1 : next <= t ? 0 : next - t > 60000 ? 60000 : (int)(next - t);
		if (mux.on && mux.hup && !mux.is_stdio && (timeout < 0 || timeout > 200))
			timeout = 200;
		if (poll(s.pf, s.n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			die(4, "poll: %s", strerror(errno));
		}
		for (nfds_t i = 0; i < s.n; i++)
			if (s.pf[i].revents)
				dispatch(&s, i, sfd);
		reap();
		conn_resume();
		if (mux.on && mux.hup && !mux.is_stdio)
			mux_reconnect();
		if (mux_stdio_done())
			break;
	}
}
