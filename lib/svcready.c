/* svcready.c — when a command service's VM is ready (svcready.h). */
#include <string.h>
#include <time.h>
#include "buf.h"
#include "frame.h"
#include "json.h"
#include "svcready.h"
#include "vsock.h"
#include "monoclock.h"

/* The agent's status reply: whether its "listening" holds *port (1, 0;
 * -1 no such member: an older agent). */
static int listening_in(const char *payload, size_t len, void *port)
{
	struct jdoc *d = json_parse(payload, len, NULL, &(struct merr){ 0 });
	jref l, x;
	int r = 0;

	if (!d)
		return 0;
	if (!json_str_eq(d, json_get(d, json_root(d), "type"), "status"))
		r = 0;
	else if (json_type(d, l = json_get(d, json_root(d), "listening")) != J_ARR)
		r = -1;
	else
		for (x = json_first(d, l); x != JREF_NONE && !r; x = json_next(d, x))
			r = json_type(d, x) == J_NUM && json_num(d, x) == (double)*(unsigned *)port;
	json_free(d);
	return r;
}

int svcready_listening(const char *vsock, unsigned guest_port, int timeout_ms)
{
	struct buf b = BUF_INIT;
	int r;

	req_put_status(&b);
	r = b.err ? 0 : vsock_ask(vsock, b.p, b.len, timeout_ms, listening_in, &guest_port, 0);
	buf_free(&b);
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
