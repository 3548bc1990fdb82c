/* vsock.c — Unix sockets and the client side of the agent socket (vsock.h) */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "frame.h"
#include "io.h"
#include "vsock.h"

/* A SOCK_STREAM Unix socket bound (listen) or connected to path; flags are
 * socket(2)'s extra type flags.  -1 with errno on failure, nothing left open. */
static int unix_socket(const char *path, int flags, int listening)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (listening)
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd < 0)
		return -1;
	if (listening)
		r = bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0 ? -1 : 0;
	else
		r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	if (r < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int unix_listen(const char *path)
{
	return unix_socket(path, SOCK_NONBLOCK, 1);
}

int unix_connect(const char *path)
{
	return unix_socket(path, 0, 0);
}

int vsock_send(const char *path, const void *frames, size_t n)
{
	int fd = unix_connect(path);

	if (fd >= 0 && (write_all(fd, "CONNECT 5252\n", 13) < 0 || write_all(fd, frames, n) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The reply after the "OK n" line in in[0..len): 1 a PONG, 0 something
 * else, -1 not whole yet. */
static int pong_in(const char *in, size_t len)
{
	const char *nl = memchr(in, '\n', len);
	size_t off, need;
	uint32_t flen;
	struct rep rp;
	struct merr e;
	int ok = 0;

	if (!nl)
		return -1;
	off = (size_t)(nl + 1 - in);
	if (frame_parse(in + off, len - off, FRAME_MAX, &flen, &need) != FRAME_OK)
		return -1;
	if (rep_parse(in + off + FRAME_HDR, flen, &rp, &e) == 0) {
		ok = rp.type == REP_PONG;
		rep_free(&rp);
	}
	return ok;
}

int vsock_ping(const char *path, int timeout_ms)
{
	struct buf b = BUF_INIT, in = BUF_INIT;
	double end = mono_ms() + timeout_ms;
	struct pollfd p;
	int fd, ok = 0;

	req_put_ping(&b);
	fd = vsock_send(path, b.p, b.len);
	buf_free(&b);
	if (fd < 0)
		return 0;
	p.fd = fd;
	p.events = POLLIN;
	while (mono_ms() < end && poll(&p, 1, 200) >= 0) {
		ssize_t n;
		int r;

		if (!(p.revents & POLLIN) || buf_reserve(&in, 4096) < 0)
			continue;
		n = read(fd, in.p + in.len, 4096);
		if (n <= 0)
			break;
		in.len += (size_t)n;
		if ((r = pong_in(in.p, in.len)) >= 0) {
			ok = r;
			break;
		}
	}
	close(fd);
	buf_free(&in);
	return ok;
}
