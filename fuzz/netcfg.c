/* fuzz/netcfg.c — libFuzzer harness for the network members of
 * mvm-meta.json (lib/netcfg.c: netcfg_parse, what netcfg_load does once
 * the plan's digest matched).  The meta comes with the image, whose
 * builder chose its bytes; vm-boot puts what is accepted on QEMU's
 * command line (-netdev, netcfg_qemu_netdev), so an accepted port must
 * not be able to add an option there.  Checks (netcfg.h's contract): no
 * crash or sanitizer report; a refusal is EX_DATA (or EX_SYS) with a
 * message and, where it names one, a JSON Pointer; an accepted config
 * has ports only with a NIC, at most NETCFG_PORTS_MAX of them, each
 * 1..65535 both sides, tcp or udp; the TAP name is "mvm" and 12 bytes
 * of the plan id; the -netdev value is not truncated and is exactly
 *   user,id=net0,restrict=on,ipv6=off{,hostfwd=P:127.0.0.1:H-:G}
 * once per port in order (so no other comma, no other option); the
 * ports' JSON is canonical and holds the same ports; the egress
 * allowlist holds at most EGRESS_RULES_MAX lowercase rules, each allowing
 * its own host (or a name below a "*." one) and port, and its digest is
 * sha256: and 64 lowercase hex digits; the service port is the first TCP
 * port's host side when "service" is true, else 0. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PLAN_ID "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void check_netdev(const struct netcfg *n)
{
	char out[NETCFG_NETDEV_MAX], want[64];
	static const char head[] = "user,id=net0,restrict=on,ipv6=off";
	size_t at = sizeof head - 1;

	netcfg_qemu_netdev(n, out);
	if (strlen(out) >= NETCFG_NETDEV_MAX - 1 || strncmp(out, head, at))
		abort();   /* truncated, or not QEMU's user network */
	for (size_t i = 0; i < n->nports; i++) {
		int l = snprintf(want, sizeof want, ",hostfwd=%s:127.0.0.1:%u-:%u",
			n->port[i].udp ? "udp" : "tcp", n->port[i].host, n->port[i].guest);
		if (strncmp(out + at, want, (size_t)l))
			abort();
		at += (size_t)l;
	}
	if (out[at])
		abort();   /* something after the last rule */
}

static void check_ports_json(const struct netcfg *n)
{
	struct buf b = BUF_INIT, c = BUF_INIT;
	struct merr e = { 0 };
	struct jdoc *d;
	size_t i = 0;

	netcfg_ports_json(n, &b);
	if (b.err || json_canonicalize(b.p, b.len, NULL, &c, &e) != 0 || c.len != b.len ||
	    memcmp(c.p, b.p, b.len) || !(d = json_parse(b.p, b.len, NULL, &e)))
		abort();
	for (jref p = json_first(d, json_root(d)); p != JREF_NONE; p = json_next(d, p), i++)
		if (i >= n->nports ||
		    json_num(d, json_get(d, p, "guest")) != n->port[i].guest ||
		    json_num(d, json_get(d, p, "host")) != n->port[i].host ||
		    !json_str_eq(d, json_get(d, p, "proto"), n->port[i].udp ? "udp" : "tcp") ||
		    !json_str_eq(d, json_get(d, p, "address"), "127.0.0.1"))
			abort();
	if (i != n->nports)
		abort();
	json_free(d);
	buf_free(&b);
	buf_free(&c);
}

static void check_egress(const struct netcfg *n)
{
	const struct egress_policy *p = &n->egress_pol;
	char name[EGRESS_HOST_MAX + 8];

	if (!n->egress) {
		if (p->n || n->egress_digest[0])
			abort();
		return;
	}
	if (p->n > EGRESS_RULES_MAX || strlen(n->egress_digest) != EGRESS_DIGEST_LEN ||
	    strncmp(n->egress_digest, "sha256:", 7) ||
	    strspn(n->egress_digest + 7, "0123456789abcdef") != 64)
		abort();
	for (size_t i = 0; i < p->n; i++) {
		const struct egress_rule *r = &p->r[i];
		size_t hl = strnlen(r->host, sizeof r->host);

		if (hl == 0 || hl > EGRESS_HOST_MAX || r->port < 1 || r->port > 65535 ||
		    strspn(r->host, "abcdefghijklmnopqrstuvwxyz0123456789.-*") != hl)
			abort();
		if (!strncmp(r->host, "*.", 2)) {
			snprintf(name, sizeof name, "a%s", r->host + 1);
			if (strchr(r->host + 2, '*'))
				abort();
		} else {
			if (strchr(r->host, '*'))
				abort();
			snprintf(name, sizeof name, "%s", r->host);
		}
		if (strlen(name) <= EGRESS_HOST_MAX && !egress_allowed(p, name, r->port))
			abort();   /* a rule that allows nothing */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct netcfg n;
	struct merr e = { 0 };
	int rc = netcfg_parse(&n, (const char *)data, size, PLAN_ID, &e);

	if (rc != 0) {
		if ((rc != EX_DATA && rc != EX_SYS) || e.code != rc || !e.msg[0] ||
		    (e.where[0] && e.where[0] != '/' && (e.where[0] < '0' || e.where[0] > '9')))
			abort();   /* a refusal says why, and where: a pointer or LINE:COL */
		return 0;
	}
	if ((n.nic != 0 && n.nic != 1) || (n.service != 0 && n.service != 1) ||
	    (!n.nic && n.nports) || n.nports > NETCFG_PORTS_MAX ||
	    strcmp(n.tap, "mvm0123456789ab"))
		abort();
	for (size_t i = 0; i < n.nports; i++)
		if (n.port[i].guest < 1 || n.port[i].guest > 65535 || n.port[i].host < 1 ||
		    n.port[i].host > 65535 || (n.port[i].udp != 0 && n.port[i].udp != 1))
			abort();
	check_netdev(&n);
	check_ports_json(&n);
	check_egress(&n);

	unsigned sp = netcfg_service_port(&n), want = 0;
	for (size_t i = 0; n.service && i < n.nports && !want; i++)
		if (!n.port[i].udp)
			want = n.port[i].host;
	if (sp != want)
		abort();
	return 0;
}
