/* svcready.c — when a command service's VM is ready (svcready.h). */
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "frame.h"
#include "json.h"
#include "svcready.h"
#include "vsock.h"

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The status frame after the "OK n" line in in[0..len): whether its
 * "listening" holds port (1, 0; -1 no such member; -2 not whole yet). */
static int listening_in(const char *in, size_t len, unsigned port)
{
	const char *nl = memchr(in, '\n', len);
	size_t off, need;
	uint32_t flen;
	struct jdoc *d;
	struct merr e;
	jref l, x;
	int r = 0;

	if (!nl)
		return -2;
	off = (size_t)(nl + 1 - in);
	if (frame_parse(in + off, len - off, FRAME_MAX, &flen, &need) != FRAME_OK)
		return -2;
	if (!(d = json_parse(in + off + FRAME_HDR, flen, NULL, &e)))
		return 0;
	if (!json_str_eq(d, json_get(d, json_root(d), "type"), "status"))
		r = 0;
	else if ((l = json_get(d, json_root(d), "listening")) == JREF_NONE ||
	    json_type(d, l) != J_ARR)
		r = -1;
	else
		for (x = json_first(d, l); x != JREF_NONE && !r; x = json_next(d, x))
			r = json_type(d, x) == J_NUM && json_num(d, x) == (double)port;
	json_free(d);
	return r;
}

int svcready_listening(const char *vsock, unsigned guest_port, int timeout_ms)
{
	struct buf b = BUF_INIT, in = BUF_INIT;
	double end = mono_ms() + timeout_ms;
	struct pollfd p;
	int fd, r = 0;

	req_put_status(&b);
	fd = vsock_send(vsock, b.p, b.len);
	buf_free(&b);
	if (fd < 0)
		return 0;
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (mono_ms() < end && poll(&p, 1, 100) >= 0) {
		ssize_t k;

		if (!(p.revents & (POLLIN | POLLHUP)) || buf_reserve(&in, 4096) < 0)
			continue;
		if ((k = read(fd, in.p + in.len, 4096)) <= 0 || in.len + (size_t)k > FRAME_MAX)
			break;
		in.len += (size_t)k;
		if ((r = listening_in(in.p, in.len, guest_port)) != -2)
			break;
		r = 0;
	}
	close(fd);
	buf_free(&in);
	return r;
}

int svcready_wait(const struct netcfg *n, const char *vsock, double secs)
{
	unsigned host = netcfg_service_port(n), guest = 0;
	double end = mono_ms() + secs * 1e3;
	int r;

	for (size_t i = 0; i < n->nports && !guest; i++)
		if (!n->port[i].udp && n->port[i].host == host)
			guest = n->port[i].guest;
	if (!host || !guest)
		return 1;
	do {
		int left = (int)(end - mono_ms());

		if ((r = svcready_listening(vsock, guest, left > 2000 ? 2000 : left > 0 ? left : 1)) == 1)
			return 1;
		if (r < 0)
			return netcfg_wait_port(host, (end - mono_ms()) / 1e3 > 1 ? (end - mono_ms()) / 1e3 : 1);
		nanosleep(&(struct timespec){ 0, SVCREADY_POLL_MS * 1000000L }, NULL);
	} while (mono_ms() < end);
	return 0;
}
