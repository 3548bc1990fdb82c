/* egress.h — the host-side egress proxy's decisions (issue #16): the
 * allowlist a workload declares (IR network.egress.allowlist), and the
 * head of an HTTP proxy request from the guest.
 *
 * The transport (QEMU's guestfwd=...-cmd forks a process per connection,
 * which the sandbox's spawn=deny forbids) is a channel over the agent's
 * mux: the agent listens in the guest on 127.0.0.1:3128 and carries each
 * connection as a mux stream to vm-boot, whose proxy (proxy.h) calls
 * egress_head() and egress_allowed() on it, resolves the name on the host
 * and connects.
 *
 * Every byte given here is hostile.  Nothing here prints, exits, resolves
 * or connects.
 */
#ifndef MVM_EGRESS_H
#define MVM_EGRESS_H

#include <stddef.h>
#include "err.h"
#include "json.h"

/* A DNS name is at most 253 bytes written out (RFC 1035 2.3.4: 255 octets
 * on the wire, minus the length of the first label and the root). */
#define EGRESS_HOST_MAX 253
/* What the guest's HTTP clients are pointed at (HTTP_PROXY, HTTPS_PROXY,
 * http_proxy, https_proxy: ir-lower(1)): the agent's end of the proxy. */
#define EGRESS_GUEST_URL "http://127.0.0.1:3128"
/* Rules in one allowlist. */
#define EGRESS_RULES_MAX 64
/* A request head (request line and header fields) is at most 8 KiB; a
 * longer one is refused (431), as common proxies do. */
#define EGRESS_HEAD_MAX 8192

struct egress_rule {
	char host[EGRESS_HOST_MAX + 1];  /* lowercase; "*.example.com": any name below it */
	unsigned port;                   /* 1..65535 */
};

struct egress_policy {
	size_t n;
	struct egress_rule r[EGRESS_RULES_MAX];
};

/*
 * Add a rule ("host" as declared: a DNS name or dotted IPv4 address,
 * optionally "*." before a name of two labels or more; compared
 * case-insensitively).  0, or EX_DATA (not such a host, port out of
 * range, too many rules; e says which).
 */
int egress_add(struct egress_policy *p, const char *host, size_t hlen, unsigned port,
	struct merr *e);

/* 1 if host:port (host lowercase, as egress_head gives it) is allowed:
 * a rule with that port whose host is equal, or "*.D" and host ends in
 * ".D" (D itself is not matched by "*.D").  Else 0. */
int egress_allowed(const struct egress_policy *p, const char *host, unsigned port);

/*
 * The policy as mvm-meta.json's "egress" member carries it (the IR's
 * network.egress, mvm-meta(5)): {"allowlist":[{"host":H,"port":P},...]},
 * x in d.  Each rule is added (egress_add); digest gets "sha256:<hex>" of
 * the member's canonical bytes (RFC 8785, json_canon): the policy's
 * digest plan.launched records.  0, or EX_DATA (e says where, a JSON
 * Pointer under "/egress"), or EX_SYS (out of memory).
 */
#define EGRESS_DIGEST_LEN 71
int egress_from_json(struct egress_policy *p, const struct jdoc *d, jref x,
	char digest[EGRESS_DIGEST_LEN + 1], struct merr *e);

enum egress_kind { EGRESS_CONNECT, EGRESS_HTTP };

struct egress_req {
	enum egress_kind kind;
	char host[EGRESS_HOST_MAX + 1];  /* lowercase, validated */
	unsigned port;                   /* CONNECT: given; HTTP: given or 80 */
	size_t head_len;                 /* bytes of the head, through CRLF CRLF */
	/* HTTP: the method and the origin-form target ("/..."), as offsets
	 * into the buffer given, to forward the request line rewritten. */
	size_t method_len, path_off, path_len;
};

/*
 * Parse the head of a proxy request at buf[0..n): "CONNECT host:port
 * HTTP/1.x" or "METHOD http://host[:port][/path] HTTP/1.x", then header
 * lines up to an empty line.  Returns
 *   0         *r filled;
 *   1         incomplete: read more (n < EGRESS_HEAD_MAX);
 *   EX_DATA   malformed, or not a form above (e says why: the proxy
 *             answers 400), or the head is longer than EGRESS_HEAD_MAX
 *             (431).
 */
int egress_head(const char *buf, size_t n, struct egress_req *r, struct merr *e);

#endif
