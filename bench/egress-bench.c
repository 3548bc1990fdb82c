/* bench/egress-bench.c — the egress proxy's added latency per request
 * (issue #16; bench/egress.sh builds and runs it).
 *
 *   egress-bench N
 *
 * An HTTP server of this program on 127.0.0.1 (a thread: reads the head,
 * answers 200 with a 2-byte body, closes).  N requests each way,
 * interleaved: direct (connect to it, GET /, read to EOF) and through
 * lib/proxy exactly as vm-boot serves a guest's connection (a socket pair,
 * proxy_start on one end; absolute-form GET on the other, read to EOF:
 * the proxy's thread, head parse, allowlist, resolution of the literal
 * address, connect, relay, and its log line).  The guest's side (agent,
 * mux, virtio-serial) is not in this figure.  Prints the medians and the
 * ratio. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "proxy.h"

static int lfd;
static unsigned port;

static void *serve(void *arg)
{
	static const char ok[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
	int fd;

	(void)arg;
	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		char b[2048];
		size_t n = 0;
		ssize_t k;

		while (n < sizeof b - 1 && (k = read(fd, b + n, sizeof b - 1 - n)) > 0) {
			n += (size_t)k;
			b[n] = 0;
			if (strstr(b, "\r\n\r\n"))
				break;
		}
		if (write(fd, ok, sizeof ok - 1) < 0)
			{ /* the client went */ }
		close(fd);
	}
	return NULL;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One request on fd (already connected); 0 if the answer came. */
static int request(int fd, const char *req)
{
	char b[512];
	size_t n = 0;
	ssize_t k;

	if (write(fd, req, strlen(req)) < 0)
		return -1;
	while ((k = read(fd, b + n, sizeof b - 1 - n)) > 0)
		n += (size_t)k;
	b[n] = 0;
	close(fd);
	return strncmp(b, "HTTP/1.0 200", 12) == 0 && strstr(b, "\r\n\r\nok") ? 0 : -1;
}

static double direct(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	double t0 = now();
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    request(fd, "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n") != 0)
		exit(1);
	return now() - t0;
}

static double proxied(struct proxy *p)
{
	char req[128];
	int sv[2];
	double t0 = now();

	snprintf(req, sizeof req, "GET http://127.0.0.1:%u/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", port);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || proxy_start(p, sv[1]) != 0 ||
	    request(sv[0], req) != 0)
		exit(1);
	return now() - t0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof a;
	static struct proxy p;
	static struct egress_policy pol;
	struct merr e;
	pthread_t t;
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	double *d = calloc((size_t)n, sizeof *d), *q = calloc((size_t)n, sizeof *q);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (n < 1 || !d || !q || (lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 64) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &l) != 0)
		return perror("egress-bench"), 4;
	port = ntohs(a.sin_port);
	pthread_create(&t, NULL, serve, NULL);
	egress_add(&pol, "127.0.0.1", 9, port, &e);
	if (proxy_open(&p, &pol, "/dev/null", &e) != 0)
		return fprintf(stderr, "egress-bench: %s\n", e.msg), 4;
	for (int i = 0; i < n; i++) {
		d[i] = direct();
		q[i] = proxied(&p);
	}
	qsort(d, (size_t)n, sizeof *d, cmp);
	qsort(q, (size_t)n, sizeof *q, cmp);
	printf("requests: %d each, interleaved\n", n);
	printf("direct  median %.1f us  p90 %.1f us\n", d[n / 2] * 1e6, d[n * 9 / 10] * 1e6);
	printf("proxied median %.1f us  p90 %.1f us\n", q[n / 2] * 1e6, q[n * 9 / 10] * 1e6);
	printf("added   median %.1f us; ratio proxied/direct %.2fx\n", (q[n / 2] - d[n / 2]) * 1e6,
		q[n / 2] / d[n / 2]);
	proxy_close(&p);
	return 0;
}
