/* launchprov.c — the agent's provisioning of a launch: the request sent,
 * the reply and the agent's status read, on the caller's thread or one of
 * its own (launch.h) */
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include "frame.h"
#include "io.h"
#include "json.h"
#include "launch.h"
#include "launch_int.h"
#include "monoclock.h"
#include "vsock.h"

/* Read one reply frame on fd (after skip bytes of in already used) into a
 * parsed JSON document.  NULL with e set. */
static struct jdoc *reply(int fd, struct buf *in, size_t *used, double end, struct merr *e)
{
	for (;;) {
		uint32_t len;
		size_t need;
		int r = frame_parse(in->p ? in->p + *used : "", in->len - *used, FRAME_MAX, &len, &need);
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (r == FRAME_OK) {
			struct jdoc *d = json_parse(in->p + *used + FRAME_HDR, len, NULL, e);
			*used += FRAME_HDR + len;
			if (!d)
				merr_set(e, EX_SYS, NULL, "the agent's reply is not JSON");
			return d;
		}
		if (r == FRAME_BIG)
			return merr_set(e, EX_SYS, NULL, "the agent's reply is too long"), NULL;
		if (mono_ms() > end || poll(&p, 1, 100) < 0)
			return merr_set(e, EX_SYS, NULL, "the agent did not answer the provisioning"), NULL;
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		if (buf_reserve(in, 4096) < 0)
			return merr_set(e, EX_SYS, NULL, "out of memory"), NULL;
		if ((n = read(fd, in->p + in->len, 4096)) <= 0)
			return merr_set(e, EX_SYS, NULL, "the agent closed the connection"), NULL;
		in->len += (size_t)n;
	}
}

int launch_provision(struct launch *L, const char *vsock, int timeout_ms,
	char applied[LAUNCH_TIER_MAX + 1], struct merr *e)
{
	struct buf in = BUF_INIT, st = BUF_INIT;
	double end = mono_ms() + timeout_ms;
	struct jdoc *d = NULL;
	size_t used = 0;
	char *nl;
	int fd, rc = 0;

	applied[0] = 0;
	fd = vsock_send(vsock, L->req.p, L->req.len);
	explicit_bzero(L->req.p, L->req.len);
	L->req.len = 0;
	if (fd < 0)
		return merr_sys(e, vsock);
	/* "OK <port>\n" first */
	while (!(in.p && (nl = memchr(in.p, '\n', in.len)))) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		if (mono_ms() > end || poll(&p, 1, 100) < 0 || buf_reserve(&in, 256) < 0) {
			rc = merr_set(e, EX_SYS, NULL, "%s: no OK from the agent's socket", vsock);
			goto out;
		}
		if ((p.revents & (POLLIN | POLLHUP)) && (n = read(fd, in.p + in.len, 256)) <= 0) {
			rc = merr_set(e, EX_SYS, NULL, "%s: closed before OK", vsock);
			goto out;
		} else if (p.revents & (POLLIN | POLLHUP)) {
			in.len += (size_t)n;
		}
	}
	if (in.len < 3 || memcmp(in.p, "OK ", 3) != 0) {
		rc = merr_set(e, EX_SYS, NULL, "%s: no OK from the agent's socket", vsock);
		goto out;
	}
	used = (size_t)(nl + 1 - in.p);
	if (!(d = reply(fd, &in, &used, end, e))) {
		rc = EX_SYS;
		goto out;
	}
	char type[16] = "";
	launch_mstr(d, json_root(d), "type", type, sizeof type);
	if (!strcmp(type, "error")) {
		char msg[256] = "?";
		launch_mstr(d, json_root(d), "message", msg, sizeof msg);
		rc = merr_set(e, EX_NO, NULL, "the agent refused the provisioning: %s", msg);
		goto out;
	}
	if (strcmp(type, "provisioned") != 0) {
		rc = merr_set(e, EX_SYS, NULL, "the agent's answer to the provisioning is not "
			"\"provisioned\"");
		goto out;
	}
	json_free(d);
	/* what the agent reports it applied: its status */
	req_put_status(&st);
	if (write_all(fd, st.p, st.len) < 0) {
		rc = merr_sys(e, vsock);
		goto out;
	}
	if (!(d = reply(fd, &in, &used, end, e))) {
		rc = EX_SYS;
		goto out;
	}
	if (!launch_mstr(d, json_root(d), "seccomp", applied, LAUNCH_TIER_MAX + 1)) {
		rc = merr_set(e, EX_NO, NULL, "the agent's status reports no seccomp tier");
		goto out;
	}
	if (strcmp(applied, L->tier) != 0)
		rc = merr_set(e, EX_NO, NULL, "the agent reports seccomp tier %s applied, the plan "
			"says %s", applied, L->tier);
out:
	json_free(d);
	close(fd);
	buf_free(&in);
	buf_free(&st);
	return rc;
}

static void *provision_main(void *arg)
{
	struct launch *L = arg;
	struct merr e = { 0 };
	int rc = launch_provision(L, L->vsock, L->timeout_ms, L->applied, &e);

	L->done(L->ctx, rc, &e);
	return NULL;
}

int launch_provision_start(struct launch *L, const char *vsock, int timeout_ms,
	void (*done)(void *ctx, int rc, const struct merr *e), void *ctx, struct merr *e)
{
	L->vsock = vsock;
	L->timeout_ms = timeout_ms;
	L->done = done;
	L->ctx = ctx;
	int r = pthread_create(&L->thread, NULL, provision_main, L);
	if (r != 0)
		return merr_set(e, EX_SYS, NULL, "%s: unable to start provisioning: %s", vsock,
			strerror(r));
	L->started = 1;
	return 0;
}
