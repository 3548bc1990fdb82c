/* loweregress.h — what ir-lower(1) makes of an app's network.egress
 * (issue #16; mvm-lower(5) "egress"), apart from lib/lower.c.
 *
 * An allowlist (network.egress an object) is delivered: the lowering's
 * "egress" member (mvm-meta.json carries it, vm-boot's proxy enforces it,
 * lib/proxy.h), the guest file /etc/mvm/egress.json (init then starts the
 * agent with --egress-proxy), and the proxy variables in the function's
 * and the service's environment.  The IR is valid (ir-validate) when these
 * are called.  Nothing here prints or exits.
 */
#ifndef MVM_LOWEREGRESS_H
#define MVM_LOWEREGRESS_H

#include <stddef.h>
#include "buf.h"
#include "egress.h"
#include "json.h"

/* The app's network.egress when it is an object (an allowlist), else
 * JREF_NONE (absent, null, or no network). */
jref lower_egress_of(const struct jdoc *d, jref app);

/* 1 if the env name k[0..n) is one the proxy sets (HTTP_PROXY,
 * HTTPS_PROXY, http_proxy, https_proxy): the IR may not set it itself. */
int lower_proxy_var(const char *k, size_t n);

/* Add the rule r ({"host","port"}) to p as the proxy will match it: 0, or
 * EX_DATA when the proxy cannot match the host (e says why: an IPv6
 * literal, ...) or p is full (EGRESS_RULES_MAX). */
int lower_egress_rule(struct egress_policy *p, const struct jdoc *d, jref r, struct merr *e);

/* With an allowlist, append the proxy variables, each EGRESS_GUEST_URL,
 * to the JSON object open in o (its last byte '{' or a value). */
void lower_proxy_env(const struct jdoc *d, jref app, struct buf *o);

/* With an allowlist: file 0 appends ",\"egress\":{...}" (canonical) to
 * o; file 1 appends the files member's entry for /etc/mvm/egress.json
 * ("PATH":{"mode":"0444","content":...},), its trailing comma included. */
void lower_egress_emit(const struct jdoc *d, jref app, int file, struct buf *o);

#endif
