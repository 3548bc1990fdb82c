/* t/unit/proxy.c — lib/proxy*.c without a VM: the guest's side of a
 * connection is one end of a socket pair, the destinations are two small
 * HTTP servers of this test on 127.0.0.1 (ephemeral ports).
 *
 * Known answers: the statuses of RFC 9110 15 (200, 400 Bad Request, 403
 * Forbidden, 502 Bad Gateway) and RFC 6585 5 (431 Request Header Fields
 * Too Large); the origin form a proxy sends on (RFC 9112 3.2.1: "GET
 * /x HTTP/1.1" for "GET http://h:p/x HTTP/1.1", "/" for an empty path,
 * 3.2.4); CONNECT's tunnel (RFC 9110 9.3.6: any 2xx, then the bytes).
 *
 * A resolver that never answers: this program's getaddrinfo (it comes
 * before libc's for lib/) blocks for HANG_HOST, as glibc's does for ~30 s
 * when the DNS server is silent; proxy_close must still return (it did
 * not: it waited for the thread in getaddrinfo).  A watchdog fails the
 * test if it does not within WATCHDOG_SECS. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <signal.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "proxy.h"
#define UNIT_NAME "proxy"
#include "check.h"

#define HANG_HOST "hang.example"
#define WATCHDOG_SECS 20

static pthread_mutex_t hang_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hang_cv = PTHREAD_COND_INITIALIZER;
static int hang_entered;

int getaddrinfo(const char *node, const char *serv, const struct addrinfo *hints,
	struct addrinfo **res)
{
	int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

	if (node && strcmp(node, HANG_HOST) == 0) {
		pthread_mutex_lock(&hang_mu);
		hang_entered = 1;
		pthread_cond_broadcast(&hang_cv);
		for (;;)                /* a DNS server that never answers */
			pthread_cond_wait(&hang_cv, &hang_mu);
	}
	*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	return real ? real(node, serv, hints, res) : EAI_SYSTEM;
}

static void watchdog(int sig)
{
	static const char m[] = UNIT_NAME ": FAIL: proxy_close did not return while a name "
		"was being resolved\n";

	(void)sig;
	if (write(1, m, sizeof m - 1) < 0)
		_exit(1);
	_exit(1);
}

/* proxy_close while a connection's name is in a resolver that never
 * answers: it returns, and the connection is answered 503. */
static void stop_while_resolving(const char *dir)
{
	static struct proxy p;
	static struct egress_policy pol;
	char path[128], out[512] = "";
	const char req[] = "GET http://" HANG_HOST ":80/ HTTP/1.1\r\n\r\n";
	struct merr e;
	int sv[2];
	ssize_t k;
	size_t got = 0;

	snprintf(path, sizeof path, "%s/hang.log", dir);
	egress_add(&pol, HANG_HOST, strlen(HANG_HOST), 80, &e);
	if (proxy_open(&p, &pol, path, &e) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 ||
	    proxy_start(&p, sv[1]) != 0 || write(sv[0], req, sizeof req - 1) < 0) {
		check(0, "hang: set up: %s", e.msg);
		return;
	}
	pthread_mutex_lock(&hang_mu);
	while (!hang_entered)
		pthread_cond_wait(&hang_cv, &hang_mu);
	pthread_mutex_unlock(&hang_mu);
	signal(SIGALRM, watchdog);
	alarm(WATCHDOG_SECS);
	proxy_close(&p);
	alarm(0);
	while (got < sizeof out - 1 && (k = read(sv[0], out + got, sizeof out - 1 - got)) > 0)
		got += (size_t)k;
	out[got] = 0;
	close(sv[0]);
	check(strncmp(out, "HTTP/1.1 503 ", 13) == 0 && strstr(out, "stopping before " HANG_HOST),
		"stopped while resolving: 503: %s", out);
	unlink(path);
}

struct server {
	int lfd;
	unsigned port;
	char seen[256];                 /* the last request line it read */
};

/* Serve one request a connection: read the head, answer "hello <n>". */
static void *serve(void *arg)
{
	struct server *s = arg;
	int fd;

	while ((fd = accept(s->lfd, NULL, NULL)) >= 0) {
		char b[4096], reply[128];
		size_t n = 0;
		ssize_t k;

		while (n < sizeof b - 1 && (k = read(fd, b + n, sizeof b - 1 - n)) > 0) {
			n += (size_t)k;
			b[n] = 0;
			if (strstr(b, "\r\n\r\n"))
				break;
		}
		b[n] = 0;
		snprintf(s->seen, sizeof s->seen, "%.*s", (int)strcspn(b, "\r"), b);
		snprintf(reply, sizeof reply, "HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\nhello %u",
			s->port % 10);
		if (write(fd, reply, strlen(reply)) < 0)
			break;
		close(fd);
	}
	return NULL;
}

static void server_start(struct server *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof a;
	pthread_t t;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(s->lfd, 8) != 0 || getsockname(s->lfd, (struct sockaddr *)&a, &l) != 0) {
		perror("proxy: server");
		exit(1);
	}
	s->port = ntohs(a.sin_port);
	pthread_create(&t, NULL, serve, s);
	pthread_detach(t);
}

/* Send req through the proxy (then more, after a 200, if given); the
 * whole answer, up to the proxy's close, into out. */
static size_t through(struct proxy *p, const char *req, size_t n, const char *more, char *out,
	size_t cap)
{
	int sv[2];
	size_t got = 0;
	ssize_t k;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || proxy_start(p, sv[1]) != 0)
		return 0;
	if (write(sv[0], req, n) < 0)
		return 0;
	if (more) {
		/* CONNECT: wait for the proxy's 200, then talk through */
		while (got < cap - 1 && !strstr(out, "\r\n\r\n") && (k = read(sv[0], out + got, cap - 1 - got)) > 0) {
			got += (size_t)k;
			out[got] = 0;
		}
		if (write(sv[0], more, strlen(more)) < 0)
			return 0;
	}
	while (got < cap - 1 && (k = read(sv[0], out + got, cap - 1 - got)) > 0)
		got += (size_t)k;
	out[got] = 0;
	close(sv[0]);
	return got;
}

static size_t sthrough(struct proxy *p, const char *req, char *out, size_t cap)
{
	return through(p, req, strlen(req), NULL, out, cap);
}

int main(void)
{
	static struct server s1, s2;
	static struct proxy p;
	static struct egress_policy pol;
	static char out[65536], req[EGRESS_HEAD_MAX + 64], log[16384];
	char tmpl[] = "/tmp/mvm-proxy-unit-XXXXXX", path[64];
	struct merr e;
	FILE *f;
	size_t n;

	server_start(&s1);
	server_start(&s2);
	if (!mkdtemp(tmpl))
		return perror("mkdtemp"), 1;
	snprintf(path, sizeof path, "%s/egress.log", tmpl);
	egress_add(&pol, "127.0.0.1", 9, s1.port, &e);
	egress_add(&pol, "localhost", 9, s1.port, &e);
	if (proxy_open(&p, &pol, path, &e) != 0)
		return printf("proxy: %s\n", e.msg), 1;

	snprintf(req, sizeof req, "GET http://127.0.0.1:%u/x?y=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", s1.port);
	n = sthrough(&p, req, out, sizeof out);
	check(n > 0 && strncmp(out, "HTTP/1.0 200 OK\r\n", 17) == 0 && strstr(out, "\r\n\r\nhello "),
		"allowed GET answered by the destination: %s", out);
	check(strcmp(s1.seen, "GET /x?y=1 HTTP/1.1") == 0, "origin form sent on: %s", s1.seen);

	snprintf(req, sizeof req, "HEAD http://127.0.0.1:%u HTTP/1.0\r\n\r\n", s1.port);
	sthrough(&p, req, out, sizeof out);
	check(strcmp(s1.seen, "HEAD / HTTP/1.0") == 0, "empty path sent as /: %s", s1.seen);

	snprintf(req, sizeof req, "CONNECT 127.0.0.1:%u HTTP/1.1\r\nHost: x\r\n\r\n", s1.port);
	through(&p, req, strlen(req), "GET /tunnel HTTP/1.0\r\n\r\n", out, sizeof out);
	check(strncmp(out, "HTTP/1.1 200 ", 13) == 0 && strstr(out, "HTTP/1.0 200 OK") &&
		strcmp(s1.seen, "GET /tunnel HTTP/1.0") == 0, "CONNECT tunnels: %s", out);

	snprintf(req, sizeof req, "GET http://127.0.0.1:%u/ HTTP/1.1\r\n\r\n", s2.port);
	s2.seen[0] = 0;
	sthrough(&p, req, out, sizeof out);
	snprintf(log, sizeof log, "no rule allows 127.0.0.1:%u", s2.port);
	check(strncmp(out, "HTTP/1.1 403 Forbidden\r\n", 24) == 0 && strstr(out, log) &&
		s2.seen[0] == 0, "other port refused 403 naming it, nothing sent: %s", out);

	snprintf(req, sizeof req, "CONNECT 127.0.0.2:%u HTTP/1.1\r\n\r\n", s1.port);
	sthrough(&p, req, out, sizeof out);
	check(strncmp(out, "HTTP/1.1 403 ", 13) == 0, "other host refused: %s", out);

	snprintf(req, sizeof req, "GET http://LocalHost:%u/ HTTP/1.1\r\n\r\n", s1.port);
	sthrough(&p, req, out, sizeof out);
	check(strncmp(out, "HTTP/1.1 403 ", 13) == 0 && strstr(out, "non-public"),
		"a name resolving to loopback refused: %s", out);

	sthrough(&p, "hello\r\n\r\n", out, sizeof out);
	check(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0, "malformed: 400: %s", out);
	sthrough(&p, "GET https://127.0.0.1/ HTTP/1.1\r\n\r\n", out, sizeof out);
	check(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "https target: 400: %s", out);
	memset(req, 'a', EGRESS_HEAD_MAX + 10);
	memcpy(req, "GET http://127.0.0.1/ HTTP/1.1\r\nX: ", 35);
	through(&p, req, EGRESS_HEAD_MAX + 10, NULL, out, sizeof out);
	check(strncmp(out, "HTTP/1.1 431 ", 13) == 0, "long head: 431: %.40s", out);

	proxy_close(&p);
	f = fopen(path, "r");
	n = f ? fread(log, 1, sizeof log - 1, f) : 0;
	log[n] = 0;
	if (f)
		fclose(f);
	{
		unsigned allow = 0, close_ = 0, deny = 0, refuse = 0;
		for (char *l = log, *nl; *l; l = nl + 1) {
			check(strncmp(l, "{\"time\":\"20", 11) == 0 && (nl = strchr(l, '\n')), "a JSON line: %.60s", l);
			if (!(nl = strchr(l, '\n')))
				break;
			*nl = 0;
			allow += strstr(l, "\"decision\":\"allow\"") && strstr(l, "\"kind\":\"http\",\"host\":\"127.0.0.1\"") ? 1 : 0;
			close_ += strstr(l, "\"decision\":\"close\"") && strstr(l, ",\"up\":") && !strstr(l, "\"down\":0") ? 1 : 0;
			deny += strstr(l, "\"decision\":\"deny\"") && strstr(l, "\"status\":403") ? 1 : 0;
			refuse += strstr(l, "\"decision\":\"refuse\"") ? 1 : 0;
		}
		check(allow == 2 && close_ == 3 && deny == 3 && refuse == 3,
			"log: %u allow (2), %u close (3), %u deny (3), %u refuse (3):\n%s", allow, close_,
			deny, refuse, log);
	}
	unlink(path);
	stop_while_resolving(tmpl);
	rmdir(tmpl);
	return check_report();
}
