/* proxy.h — the host-side egress proxy (issue #16): serves the HTTP proxy
 * connections a guest opens, allowing exactly its declared destinations.
 *
 * Transport.  In the guest, mvm-agent listens on 127.0.0.1:3128
 * (PROXY_GUEST_PORT) and carries each accepted connection as a mux stream
 * the guest opens (mvm-agent-protocol(5) "Egress streams"); the host's
 * muxhost hands each such stream to proxy_start as one end of a socket
 * pair.  So the guest needs no NIC for egress, and nothing the guest sends
 * reaches a network except through here.
 *
 * One connection.  Its head (egress_head, at most EGRESS_HEAD_MAX bytes,
 * within PROXY_HEAD_SECS) is
 *   CONNECT host:port HTTP/1.x   answered "200 Connection established",
 *                                then bytes are relayed both ways;
 *   METHOD http://host[:port]/p  the request is sent on to host:port with
 *                                its request line in origin form ("METHOD
 *                                /p HTTP/1.x"), header fields unchanged,
 *                                then bytes are relayed both ways (so the
 *                                connection's later requests, if any, go
 *                                to the same host:port).
 * Refusals are HTTP/1.1 responses with a short text/plain body, then
 * close:
 *   400  the head is malformed (not one of the two forms);
 *   431  the head is longer than EGRESS_HEAD_MAX;
 *   403  host:port matches no rule of the allowlist (the body names the
 *        missing rule), or the name resolves to no permitted address;
 *   502  the name does not resolve, or no address accepts within
 *        PROXY_CONNECT_SECS;
 *   503  PROXY_CONNS_MAX connections are already being served, or the
 *        proxy is stopping while the name is being resolved.
 *
 * Address classes.  The host resolves a name itself (getaddrinfo); the
 * guest has no resolver.  A rule that is a dotted IPv4 address reaches
 * that address, whatever its class (it was declared exactly: tests use
 * 127.0.0.1).  A rule that is a name reaches only public addresses: one
 * that resolves into loopback, private (RFC 1918, fc00::/7), shared
 * (100.64/10), link-local, multicast, unspecified or reserved space is
 * refused (403), so a declared name cannot be pointed (by its DNS) at
 * the host's own services or its LAN.
 *
 * Log.  Every decision is one JSON line appended to the log (O_APPEND,
 * one write(2) per line, lines never interleaved):
 *   {"time":T,"decision":"allow","kind":"connect"|"http","host":H,"port":P,"address":A}
 *   {"time":T,"decision":"close","kind":K,"host":H,"port":P,"up":N,"down":N}
 *   {"time":T,"decision":"deny","kind":K,"host":H,"port":P,"status":S,"reason":R}
 *   {"time":T,"decision":"refuse","status":S,"reason":R}   (no usable head)
 * T is UTC, RFC 3339 to the millisecond; up counts bytes from the guest
 * to the destination (the head included), down the other way.
 *
 * Every byte from the guest is hostile.  Nothing here prints or exits.
 */
#ifndef MVM_PROXY_H
#define MVM_PROXY_H

#include <pthread.h>
#include "egress.h"
#include "err.h"

#define PROXY_GUEST_PORT 3128
/* Connections served at once (one thread each). */
#define PROXY_CONNS_MAX 64
/* A head must arrive within this; a destination accept within that. */
#define PROXY_HEAD_SECS 30
#define PROXY_CONNECT_SECS 10
/* A relayed connection with no byte either way this long is closed. */
#define PROXY_IDLE_SECS 300

struct proxy {
	struct egress_policy pol;
	int logfd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned active;
	volatile int stop;
};

/*
 * Set p up for policy pol, logging to logpath (created 0600 if absent,
 * appended to).  0, or EX_SYS (e says why).
 */
int proxy_open(struct proxy *p, const struct egress_policy *pol, const char *logpath,
	struct merr *e);

/*
 * Serve the connection fd (taken over: closed when done) on a thread of
 * its own.  0, or -1 when it could not be started (PROXY_CONNS_MAX busy:
 * answered 503 and logged; or no thread): fd is closed either way.
 */
int proxy_start(struct proxy *p, int fd);

/* Serve fd on the calling thread until it is done (proxy_start's thread
 * body; fd is closed on return). */
void proxy_serve(struct proxy *p, int fd);

/* Stop: every connection is closed within about 200 ms, logged, also one
 * whose name the host's resolver holds (resolve.h: its lookup is left
 * behind); then the log is closed.  p may be opened again. */
void proxy_close(struct proxy *p);

#endif
