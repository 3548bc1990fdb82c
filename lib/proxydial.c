/* proxydial.c — the egress proxy reaching a destination: resolved with a
 * stop flag, public addresses only for a name, a bounded connect (proxy_int.h) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "proxy_int.h"
#include "resolve.h"

/* Wait for fd to be ready for ev up to secs, checking p->stop every 200 ms.
 * 1 ready, 0 timed out or stopping. */
int proxy_wait_fd(struct proxy *p, int fd, short ev, int secs)
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
	if (!proxy_wait_fd(p, fd, POLLOUT, PROXY_CONNECT_SECS) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

int proxy_dial(struct proxy *p, const struct egress_req *r, char addr[INET6_ADDRSTRLEN],
	int *status, char *why, size_t whyn)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL, *a;
	struct in_addr lit;
	char port[8];
	int literal = inet_pton(AF_INET, r->host, &lit) == 1, permitted = 0, rc, fd = -1;

	snprintf(port, sizeof port, "%u", r->port);
	hints.ai_flags |= literal ? AI_NUMERICHOST : 0;
	if ((rc = resolve_until(r->host, port, &hints, &res, &p->stop)) != 0 || !res) {
		snprintf(why, whyn, rc == RESOLVE_STOPPED ? "stopping before %s resolved" :
			"%s does not resolve", r->host);
		*status = rc == RESOLVE_STOPPED ? 503 : 502;
		return -1;
	}
	for (a = res; a && fd < 0; a = a->ai_next) {
		if (!literal && !addr_public(a->ai_addr))
			continue;
		permitted = 1;
		fd = connect_one(p, a);
		if (fd >= 0)
			getnameinfo(a->ai_addr, a->ai_addrlen, addr, INET6_ADDRSTRLEN, NULL, 0,
				NI_NUMERICHOST);
	}
	freeaddrinfo(res);
	if (fd >= 0)
		return fd;
	if (!permitted) {
		snprintf(why, whyn, "%s resolves only to non-public addresses "
			"(declare an IPv4 address to reach one)", r->host);
		*status = 403;
	} else {
		snprintf(why, whyn, "cannot connect to %s:%u", r->host, r->port);
		*status = 502;
	}
	return -1;
}
