/* proxy.c — the host-side egress proxy (proxy.h) */
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
#include "proxy.h"
#include "resolve.h"

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

/* Wait for fd to be ready for ev up to secs, checking p->stop every 200 ms.
 * 1 ready, 0 timed out or stopping. */
static int wait_fd(struct proxy *p, int fd, short ev, int secs)
{
	struct pollfd q = { fd, ev, 0 };

	for (int left = secs * 5; left > 0 && !p->stop; left--) {
		int r = poll(&q, 1, 200);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 0;
	}
	return 0;
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
			if (errno == EAGAIN && wait_fd(p, fd, POLLOUT, PROXY_IDLE_SECS))
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
		if (!wait_fd(c->p, c->fd, POLLIN, PROXY_HEAD_SECS)) {
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

/* Is the address one a name may reach (a public unicast address)? */
static int v4_public(uint32_t a)
{
	static const struct { uint32_t net, mask; } no[] = {
		{ 0x00000000, 0xff000000 }, { 0x0a000000, 0xff000000 }, /* 0/8, 10/8 */
		{ 0x64400000, 0xffc00000 }, { 0x7f000000, 0xff000000 }, /* 100.64/10, 127/8 */
		{ 0xa9fe0000, 0xffff0000 }, { 0xac100000, 0xfff00000 }, /* 169.254/16, 172.16/12 */
		{ 0xc0000000, 0xffffff00 }, { 0xc0a80000, 0xffff0000 }, /* 192.0.0/24, 192.168/16 */
		{ 0xc6120000, 0xfffe0000 }, { 0xe0000000, 0xe0000000 }, /* 198.18/15, 224/3 */
	};

	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if ((a & no[i].mask) == no[i].net)
			return 0;
	return 1;
}

static int addr_public(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_public(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6) {
		const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(b, mapped, 12) == 0)
			return v4_public((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
				(uint32_t)b[14] << 8 | b[15]);
		/* only global unicast 2000::/3 */
		return (b[0] & 0xe0) == 0x20;
	}
	return 0;
}

/* Connect to one address within PROXY_CONNECT_SECS: the fd, or -1. */
static int connect_one(struct proxy *p, const struct addrinfo *a)
{
	int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 0;
	socklen_t el = sizeof err;

	if (fd < 0)
		return -1;
	if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS)
		goto fail;
	if (!wait_fd(p, fd, POLLOUT, PROXY_CONNECT_SECS) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* Resolve and connect: 0 (c->up set), or answered and logged. */
static int dial(struct conn *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL, *a;
	struct in_addr lit;
	char port[8], why[EGRESS_HOST_MAX + 128];
	int literal = inet_pton(AF_INET, c->r.host, &lit) == 1, permitted = 0, rc;

	snprintf(port, sizeof port, "%u", c->r.port);
	hints.ai_flags |= literal ? AI_NUMERICHOST : 0;
	if ((rc = resolve_until(c->r.host, port, &hints, &res, &c->p->stop)) != 0 || !res) {
		snprintf(why, sizeof why, rc == RESOLVE_STOPPED ? "stopping before %s resolved" :
			"%s does not resolve", c->r.host);
		refuse(c, rc == RESOLVE_STOPPED ? 503 : 502, 1, why);
		return -1;
	}
	c->up = -1;
	for (a = res; a && c->up < 0; a = a->ai_next) {
		if (!literal && !addr_public(a->ai_addr))
			continue;
		permitted = 1;
		c->up = connect_one(c->p, a);
		if (c->up >= 0)
			getnameinfo(a->ai_addr, a->ai_addrlen, c->addr, sizeof c->addr, NULL, 0,
				NI_NUMERICHOST);
	}
	freeaddrinfo(res);
	if (c->up >= 0)
		return 0;
	if (!permitted) {
		snprintf(why, sizeof why, "%s resolves only to non-public addresses "
			"(declare an IPv4 address to reach one)", c->r.host);
		refuse(c, 403, 1, why);
	} else {
		snprintf(why, sizeof why, "cannot connect to %s:%u", c->r.host, c->r.port);
		refuse(c, 502, 1, why);
	}
	return -1;
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
		char why[EGRESS_HOST_MAX + 96];
		snprintf(why, sizeof why, "no rule allows %s:%u (network.egress.allowlist)",
			c->r.host, c->r.port);
		refuse(c, 403, 1, why);
		goto out;
	}
	if (dial(c) != 0)
		goto out;
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
