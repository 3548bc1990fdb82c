/* proxy.c — the host-side egress proxy: a connection's head, decision,
 * relay and log; its threads (proxy.h) */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "json.h"
#include "proxy_int.h"

#define RELAY_CHUNK 65536

struct conn {
	struct proxy *p;
	int fd, up;                     /* the guest's end, the destination */
	struct egress_req r;
	char head[EGRESS_HEAD_MAX];
	size_t n;                       /* bytes of head[] read */
	char addr[INET6_ADDRSTRLEN];
	unsigned long long nup, ndown;
};

static const char *kind_name(const struct egress_req *r)
{
	return r->kind == EGRESS_CONNECT ? "connect" : "http";
}

/* One log line: {"time":...,"decision":d <rest>}\n, written whole. */
static void log_line(struct proxy *p, const char *decision, const struct buf *rest)
{
	struct buf b = BUF_INIT;
	struct timespec ts;
	struct tm tm;
	char t[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(&b, "{\"time\":\"%s.%03ldZ\",\"decision\":\"%s\"", t, ts.tv_nsec / 1000000,
		decision);
	if (rest->len)
		buf_put(&b, rest->p, rest->len);
	buf_puts(&b, "}\n");
	if (!b.err && p->logfd >= 0)
		while (write(p->logfd, b.p, b.len) < 0 && errno == EINTR)
			;
	buf_free(&b);
}

/* ,"kind":K,"host":H,"port":P */
static void put_dest(struct buf *b, const struct egress_req *r)
{
	buf_printf(b, ",\"kind\":\"%s\",\"host\":", kind_name(r));
	json_put_str(b, r->host, strlen(r->host));
	buf_printf(b, ",\"port\":%u", r->port);
}

/* Write all of s to the non-blocking fd, waiting while it is full (and
 * checking p->stop).  0, or -1 (an error, stopping, idle too long). */
static int send_all(struct proxy *p, int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, s, n)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && proxy_wait_fd(p, fd, POLLOUT, PROXY_IDLE_SECS))
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Answer status with a one-line body and log it (have_req: c->r holds a
 * destination). */
static void refuse(struct conn *c, int status, int have_req, const char *reason)
{
	static const char *const text[] = { [0] = "Bad Request", [1] = "Forbidden",
		[2] = "Request Header Fields Too Large", [3] = "Bad Gateway",
		[4] = "Service Unavailable" };
	const char *st = text[status == 400 ? 0 : status == 403 ? 1 : status == 431 ? 2 :
		status == 502 ? 3 : 4];
	struct buf b = BUF_INIT, l = BUF_INIT;
	size_t blen = strlen(reason) + strlen("mvm egress proxy: \n");

	buf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
		"Connection: close\r\n\r\nmvm egress proxy: %s\n", status, st, blen, reason);
	if (!b.err)
		send_all(c->p, c->fd, b.p, b.len);
	if (have_req)
		put_dest(&l, &c->r);
	buf_printf(&l, ",\"status\":%d,\"reason\":", status);
	json_put_str(&l, reason, strlen(reason));
	log_line(c->p, have_req ? "deny" : "refuse", &l);
	buf_free(&b);
	buf_free(&l);
}

/* Read the head: 0 parsed, else answered and logged. */
static int read_head(struct conn *c)
{
	struct merr e;
	ssize_t k;
	int rc;

	for (;;) {
		if (!proxy_wait_fd(c->p, c->fd, POLLIN, PROXY_HEAD_SECS)) {
			refuse(c, 400, 0, "no complete request head in time");
			return -1;
		}
		k = read(c->fd, c->head + c->n, sizeof c->head - c->n);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0) {
			if (c->n) {
				struct buf l = BUF_INIT;
				buf_puts(&l, ",\"status\":0,\"reason\":\"the guest closed before a whole head\"");
				log_line(c->p, "refuse", &l);
				buf_free(&l);
			}
			return -1;
		}
		c->n += (size_t)k;
		if ((rc = egress_head(c->head, c->n, &c->r, &e)) == 0)
			return 0;
		if (rc != 1) {
			refuse(c, c->n >= EGRESS_HEAD_MAX ? 431 : 400, 0, e.msg);
			return -1;
		}
	}
}

/* Send the request on: CONNECT answered 200, HTTP's request line in
 * origin form; then what followed the head.  Counted in nup. */
static void forward_head(struct conn *c)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct buf b = BUF_INIT;
	const struct egress_req *r = &c->r;

	if (r->kind == EGRESS_CONNECT) {
		send_all(c->p, c->fd, ok, sizeof ok - 1);
		c->ndown += sizeof ok - 1;
	} else {
		/* the target ends at the request line's second space */
		const char *t = c->head + r->method_len + 1;
		const char *sp = memchr(t, ' ', r->head_len - r->method_len - 1);
		buf_put(&b, c->head, r->method_len + 1);
		if (r->path_len)
			buf_put(&b, c->head + r->path_off, r->path_len);
		else
			buf_putc(&b, '/');
		buf_put(&b, sp, r->head_len - (size_t)(sp - c->head));
	}
	buf_put(&b, c->head + r->head_len, c->n - r->head_len);
	if (!b.err && b.len) {
		send_all(c->p, c->up, b.p, b.len);
		c->nup += b.len;
	}
	buf_free(&b);
}

/* Copy both ways until both sides are done, idle too long, or stopping. */
static void relay(struct conn *c)
{
	char chunk[RELAY_CHUNK];
	int in_open[2] = { 1, 1 };      /* 0: the guest, 1: the destination */
	int fds[2] = { c->fd, c->up }, idle = 0;

	while ((in_open[0] || in_open[1]) && !c->p->stop && idle < PROXY_IDLE_SECS * 5) {
		struct pollfd q[2] = { { fds[0], in_open[0] ? POLLIN : 0, 0 },
			{ fds[1], in_open[1] ? POLLIN : 0, 0 } };
		int r = poll(q, 2, 200);

		if (r < 0 && errno != EINTR)
			return;
		if (r <= 0) {
			idle++;
			continue;
		}
		idle = 0;
		for (int i = 0; i < 2; i++) {
			ssize_t k;

			if (!(q[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			k = read(fds[i], chunk, sizeof chunk);
			if (k < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (k <= 0) {
				/* one side is done sending: tell the other; a
				 * destination that closes ends the connection */
				in_open[i] = 0;
				shutdown(fds[!i], SHUT_WR);
				if (i == 1 || k < 0)
					return;
				continue;
			}
			if (send_all(c->p, fds[!i], chunk, (size_t)k) != 0)
				return;
			*(i == 0 ? &c->nup : &c->ndown) += (unsigned long long)k;
		}
	}
}

void proxy_serve(struct proxy *p, int fd)
{
	struct conn *c = calloc(1, sizeof *c);
	struct buf l = BUF_INIT;
	char why[EGRESS_HOST_MAX + 128];
	int status;

	if (!c) {
		close(fd);
		return;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c->p = p;
	c->fd = fd;
	c->up = -1;
	if (read_head(c) != 0)
		goto out;
	if (!egress_allowed(&p->pol, c->r.host, c->r.port)) {
		snprintf(why, sizeof why, "no rule allows %s:%u (network.egress.allowlist)",
			c->r.host, c->r.port);
		refuse(c, 403, 1, why);
		goto out;
	}
	if ((c->up = proxy_dial(p, &c->r, c->addr, &status, why, sizeof why)) < 0) {
		refuse(c, status, 1, why);
		goto out;
	}
	put_dest(&l, &c->r);
	buf_puts(&l, ",\"address\":");
	json_put_str(&l, c->addr, strlen(c->addr));
	log_line(p, "allow", &l);
	forward_head(c);
	relay(c);
	l.len = 0;
	put_dest(&l, &c->r);
	buf_printf(&l, ",\"up\":%llu,\"down\":%llu", c->nup, c->ndown);
	log_line(p, "close", &l);
out:
	if (c->up >= 0)
		close(c->up);
	close(fd);
	buf_free(&l);
	free(c);
}

struct start {
	struct proxy *p;
	int fd;
};

static void *thread_main(void *arg)
{
	struct start s = *(struct start *)arg;

	free(arg);
	proxy_serve(s.p, s.fd);
	pthread_mutex_lock(&s.p->mu);
	s.p->active--;
	pthread_cond_broadcast(&s.p->cv);
	pthread_mutex_unlock(&s.p->mu);
	return NULL;
}

int proxy_open(struct proxy *p, const struct egress_policy *pol, const char *logpath,
	struct merr *e)
{
	memset(p, 0, sizeof *p);
	p->pol = *pol;
	if ((p->logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return merr_sys(e, logpath);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	return 0;
}

int proxy_start(struct proxy *p, int fd)
{
	struct start *s = malloc(sizeof *s);
	pthread_attr_t at;
	pthread_t t;
	int busy, rc = -1;

	pthread_mutex_lock(&p->mu);
	busy = p->active >= PROXY_CONNS_MAX || p->stop;
	if (!busy)
		p->active++;
	pthread_mutex_unlock(&p->mu);
	if (busy || !s) {
		struct conn c = { .p = p, .fd = fd };
		refuse(&c, 503, 0, "too many connections at once");
		goto fail;
	}
	s->p = p;
	s->fd = fd;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &at, thread_main, s);
	pthread_attr_destroy(&at);
	if (rc == 0)
		return 0;
	pthread_mutex_lock(&p->mu);
	p->active--;
	pthread_mutex_unlock(&p->mu);
fail:
	free(s);
	close(fd);
	return -1;
}

void proxy_close(struct proxy *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	while (p->active)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	if (p->logfd >= 0)
		close(p->logfd);
	p->logfd = -1;
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
}
