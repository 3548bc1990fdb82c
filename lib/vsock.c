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
#include "monoclock.h"

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

/* The first frame after the "OK n" line in in[0..len): its payload's
 * offset, with its length in *flen; 0 when not whole yet. */
static size_t frame_after_ok(const char *in, size_t len, uint32_t *flen)
{
	const char *nl = memchr(in, '\n', len);
	size_t off, need;

	if (!nl)
		return 0;
	off = (size_t)(nl + 1 - in);
	if (frame_parse(in + off, len - off, FRAME_MAX, flen, &need) != FRAME_OK)
		return 0;
	return off + FRAME_HDR;
}

int vsock_ask(const char *path, const void *req, size_t n, int timeout_ms,
	int (*answer)(const char *payload, size_t len, void *arg), void *arg, int none)
{
	struct buf in = BUF_INIT;
	double end = mono_ms() + timeout_ms;
	struct pollfd p;
	int fd = vsock_send(path, req, n), r = none;
	uint32_t flen;
	size_t at;

	if (fd < 0)
		return none;
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (mono_ms() < end && poll(&p, 1, 100) >= 0) {
		ssize_t k;

		if (!(p.revents & (POLLIN | POLLHUP)) || buf_reserve(&in, 4096) < 0)
			continue;
		if ((k = read(fd, in.p + in.len, 4096)) <= 0 || in.len + (size_t)k > 64 + FRAME_MAX)
			break;
		in.len += (size_t)k;
		if ((at = frame_after_ok(in.p, in.len, &flen)) != 0) {
			r = answer(in.p + at, flen, arg);
			break;
		}
	}
	close(fd);
	buf_free(&in);
	return r;
}

static int is_pong(const char *payload, size_t len, void *arg)
{
	struct rep rp;
	struct merr e;
	int ok = 0;

	(void)arg;
	if (rep_parse(payload, len, &rp, &e) == 0) {
		ok = rp.type == REP_PONG;
		rep_free(&rp);
	}
	return ok;
}

int vsock_ping(const char *path, int timeout_ms)
{
	struct buf b = BUF_INIT;
	int ok;

	req_put_ping(&b);
	ok = b.err ? 0 : vsock_ask(path, b.p, b.len, timeout_ms, is_pong, NULL, 0);
	buf_free(&b);
	return ok;
}
