/* svcready.h — when a command service's VM is ready: once its first TCP
 * port listens in the guest, by the agent's word.
 *
 * The agent's status reply lists the TCP ports something listens on in
 * the guest, not on a loopback address ("listening",
 * mvm-agent-protocol(5)).  That is the event vm-boot waits for: QEMU's
 * user-mode network accepts a forwarded connection on the host before it
 * knows whether the guest will, so from the host a service that does not
 * listen yet looks, for as long as the loaded guest takes to refuse, like
 * one that does (netcfg_port_ready's guess).  An agent whose status has no
 * "listening" member (older than this) gets that guess instead.
 *
 * Every byte from the agent is hostile: the reply is parsed as JSON and
 * only the port numbers are read.  Nothing here prints or exits.
 */
#ifndef MVM_SVCREADY_H
#define MVM_SVCREADY_H

#include "netcfg.h"

/* How often the agent is asked while waiting. */
#define SVCREADY_POLL_MS 100

/*
 * Ask the agent behind the vsock socket for its status, once.
 *   1   its "listening" lists guest_port
 *   0   it does not, or no status within timeout_ms
 *  -1   a status without "listening" (an older agent)
 */
int svcready_listening(const char *vsock, unsigned guest_port, int timeout_ms);

/*
 * Wait up to secs seconds for n's command service (netcfg_service_port:
 * its first TCP port) to listen in the guest: svcready_listening on the
 * port's guest side, every SVCREADY_POLL_MS; with an older agent,
 * netcfg_wait_port on its host side.  1 ready (also when n has no such
 * port), 0 not within secs.
 */
int svcready_wait(const struct netcfg *n, const char *vsock, double secs);

#endif
