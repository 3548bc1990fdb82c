/* netcfg.c — a launched VM's network from its mvm-meta.json (netcfg.h) */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "enc.h"
#include "io.h"
#include "json.h"
#include "netcfg.h"
#include "monoclock.h"

/* An integer member in [1, 65535], or 0. */
static unsigned port_num(const struct jdoc *d, jref o, const char *k)
{
	jref v = json_get(d, o, k);
	double x;

	if (v == JREF_NONE || json_type(d, v) != J_NUM)
		return 0;
	x = json_num(d, v);
	return x >= 1 && x <= 65535 && x == (double)(unsigned)x ? (unsigned)x : 0;
}

static int ports(struct netcfg *n, const struct jdoc *d, jref net, struct merr *e)
{
	jref a = json_get(d, net, "ports"), p;
	char where[64];

	if (a == JREF_NONE)
		return 0;
	if (json_type(d, a) != J_ARR)
		return merr_set(e, EX_DATA, "/network/ports", "not an array");
	for (p = json_first(d, a); p != JREF_NONE; p = json_next(d, p)) {
		struct netcfg_port *q = &n->port[n->nports];
		jref proto = json_get(d, p, "proto");

		snprintf(where, sizeof where, "/network/ports/%zu", n->nports);
		if (n->nports == NETCFG_PORTS_MAX)
			return merr_set(e, EX_DATA, where, "more than %d ports", NETCFG_PORTS_MAX);
		if (json_type(d, p) != J_OBJ || !(q->guest = port_num(d, p, "guest")) ||
		    !(q->host = port_num(d, p, "host")) || proto == JREF_NONE ||
		    !(json_str_eq(d, proto, "tcp") || json_str_eq(d, proto, "udp")))
			return merr_set(e, EX_DATA, where,
				"not a port {guest, host: 1..65535, proto: tcp|udp}");
		q->udp = json_str_eq(d, proto, "udp");
		n->nports++;
	}
	return 0;
}

int netcfg_parse(struct netcfg *n, const char *meta, size_t len, const char *plan_id,
	struct merr *e)
{
	struct jdoc *d = NULL;
	jref net, svc, eg;
	int rc;

	memset(n, 0, sizeof *n);
	if (!(d = json_parse(meta, len, NULL, e)))
		return e->code ? e->code : EX_DATA;
	rc = 0;
	net = json_get(d, json_root(d), "network");
	if (net != JREF_NONE && json_type(d, net) != J_NULL) {
		if (json_type(d, net) != J_OBJ) {
			rc = merr_set(e, EX_DATA, "/network", "not an object");
			goto out;
		}
		n->nic = 1;
		if ((rc = ports(n, d, net, e)) != 0)
			goto out;
	}
	eg = json_get(d, json_root(d), "egress");
	if (eg != JREF_NONE) {
		if ((rc = egress_from_json(&n->egress_pol, d, eg, n->egress_digest, e)) != 0)
			goto out;
		n->egress = 1;
	}
	svc = json_get(d, json_root(d), "service");
	n->service = svc != JREF_NONE && json_type(d, svc) == J_TRUE;
	snprintf(n->tap, sizeof n->tap, "mvm%.12s",
		plan_id && strlen(plan_id) >= 19 ? plan_id + 7 : "000000000000");
out:
	json_free(d);
	return rc;
}

int netcfg_load(struct netcfg *n, const char *path, const char *want, const char *plan_id,
	struct merr *e)
{
	struct buf b = BUF_INIT;
	char hex[65];
	int rc;

	memset(n, 0, sizeof *n);
	if ((rc = read_file(path, &b, e)) != 0)
		goto out;
	if (b.len > NETCFG_META_MAX) {
		rc = merr_set(e, EX_DATA, NULL, "%s: larger than %u bytes", path, NETCFG_META_MAX);
		goto out;
	}
	sha256_hex(hex, b.p ? b.p : "", b.len);
	if (strncmp(want, "sha256:", 7) != 0 || strcmp(want + 7, hex) != 0) {
		rc = merr_set(e, EX_NO, NULL, "%s: not the plan's mvm-meta.json (sha256:%s)", path,
			hex);
		goto out;
	}
	rc = netcfg_parse(n, b.p ? b.p : "", b.len, plan_id, e);
out:
	buf_free(&b);
	return rc;
}

void netcfg_qemu_netdev(const struct netcfg *n, char out[NETCFG_NETDEV_MAX])
{
	size_t l;

	l = (size_t)snprintf(out, NETCFG_NETDEV_MAX, "user,id=net0,restrict=on,ipv6=off");
	for (size_t i = 0; i < n->nports && l < NETCFG_NETDEV_MAX; i++)
		l += (size_t)snprintf(out + l, NETCFG_NETDEV_MAX - l, ",hostfwd=%s:127.0.0.1:%u-:%u",
			n->port[i].udp ? "udp" : "tcp", n->port[i].host, n->port[i].guest);
}

void netcfg_ports_json(const struct netcfg *n, struct buf *b)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < n->nports; i++)
		buf_printf(b, "%s{\"address\":\"127.0.0.1\",\"guest\":%u,\"host\":%u,\"proto\":\"%s\"}",
			i ? "," : "", n->port[i].guest, n->port[i].host,
			n->port[i].udp ? "udp" : "tcp");
	buf_putc(b, ']');
}

int netcfg_port_ready(unsigned port, int settle_ms, int *closed_ms)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct pollfd p;
	char c;
	int fd, r, ok = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
		double t = mono_s();

		p = (struct pollfd){ .fd = fd, .events = POLLIN };
		while ((r = poll(&p, 1, settle_ms)) < 0 && errno == EINTR)
			;
		/* quiet for settle_ms, or bytes: a listener; EOF or reset: none */
		ok = r == 0 || (r > 0 && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1);
		if (!ok && r > 0 && closed_ms)
			*closed_ms = (int)((mono_s() - t) * 1000);
	}
	close(fd);
	return ok;
}

unsigned netcfg_service_port(const struct netcfg *n)
{
	if (!n->service)
		return 0;
	for (size_t i = 0; i < n->nports; i++)
		if (!n->port[i].udp)
			return n->port[i].host;
	return 0;
}

int netcfg_wait_port(unsigned port, double secs)
{
	double end = mono_s() + secs;
	int settle = NETCFG_SETTLE_MS, took;

	do {
		took = 0;
		if (netcfg_port_ready(port, settle, &took))
			return 1;
		if (took * NETCFG_SETTLE_FACTOR > settle)
			settle = took > NETCFG_SETTLE_MAX_MS / NETCFG_SETTLE_FACTOR ?
				NETCFG_SETTLE_MAX_MS : took * NETCFG_SETTLE_FACTOR;
		nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
	} while (mono_s() < end);
	return 0;
}

void netcfg_ports_text(const char *dir, char out[NETCFG_PORTS_TEXT])
{
	char path[4096];
	struct buf b = BUF_INIT;
	struct jdoc *d = NULL;
	struct merr e;
	size_t l = 0, i = 0;

	snprintf(out, NETCFG_PORTS_TEXT, "-");
	snprintf(path, sizeof path, "%s/ports.json", dir);
	if (read_file(path, &b, &e) != 0 || b.len > NETCFG_META_MAX ||
	    !(d = json_parse(b.p ? b.p : "", b.len, NULL, &e)) || json_type(d, json_root(d)) != J_ARR)
		goto out;
	for (jref p = json_first(d, json_root(d)); p != JREF_NONE && i < NETCFG_PORTS_MAX;
	    p = json_next(d, p), i++) {
		unsigned g = port_num(d, p, "guest"), h = port_num(d, p, "host");
		if (!g || !h || l >= NETCFG_PORTS_TEXT)
			continue;
		l += (size_t)snprintf(out + l, NETCFG_PORTS_TEXT - l, "%s127.0.0.1:%u->%u/%s",
			l ? "," : "", h, g, json_str_eq(d, json_get(d, p, "proto"), "udp") ? "udp" : "tcp");
	}
out:
	json_free(d);
	buf_free(&b);
}
