/* proxy_int.h — private to lib/proxy*.c:
 *   proxy.c      a connection: its head, the decision, the relay, the log;
 *                the threads (proxy.h)
 *   proxydial.c  reaching the destination (proxy_dial)
 */
#ifndef MVM_PROXY_INT_H
#define MVM_PROXY_INT_H

#include <netinet/in.h>
#include <stddef.h>
#include "egress.h"
#include "proxy.h"

/* Wait up to secs for fd to be ready for ev (poll(2) events), looking at
 * p->stop every 200 ms.  1 ready, 0 timed out, stopping or a poll error. */
int proxy_wait_fd(struct proxy *p, int fd, short ev, int secs);

/*
 * Resolve r->host (resolve_until, stopped by p->stop) and connect to the
 * first of its addresses that it may reach within PROXY_CONNECT_SECS: any
 * for an IPv4 literal, else only public unicast ones (not 0/8, 10/8,
 * 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.168/16,
 * 198.18/15, 224/3, nor those mapped into IPv6; IPv6 only 2000::/3).
 * Returns the connected non-blocking descriptor, its address in addr
 * (numeric); or -1 with the answer for the guest in *status and why:
 *   502  the name does not resolve, or no address accepted;
 *   503  p->stop was set before the name resolved;
 *   403  the name resolves only to addresses it may not reach.
 */
int proxy_dial(struct proxy *p, const struct egress_req *r, char addr[INET6_ADDRSTRLEN],
	int *status, char *why, size_t whyn);

#endif
