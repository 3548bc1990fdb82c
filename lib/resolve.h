/* resolve.h — getaddrinfo(3) that a stop flag interrupts.
 *
 * The host's resolver cannot be interrupted: a DNS server that does not
 * answer holds getaddrinfo for its whole timeout (resolv.conf(5): 5 s per
 * try, per server, times the attempts: ~30 s with glibc's defaults), and a
 * thread blocked there cannot be cancelled safely.  So the lookup runs on
 * a detached thread of its own, and the caller waits for it, looking at
 * *stop every RESOLVE_POLL_MS: once *stop is set it returns at once and
 * leaves the lookup behind; the lookup thread frees what it holds when
 * getaddrinfo returns.  Nothing waits for it: a process may exit with one
 * still blocked.
 *
 * Nothing here prints or exits.
 */
#ifndef MVM_RESOLVE_H
#define MVM_RESOLVE_H

#include <netdb.h>

/* How often *stop is looked at while a lookup runs. */
#define RESOLVE_POLL_MS 100

/* The status when *stop was set before the lookup ended (not one of
 * getaddrinfo's EAI_* codes, which are negative on glibc and musl, and
 * nonzero). */
#define RESOLVE_STOPPED 1

/*
 * getaddrinfo(host, serv, hints, res) until *stop.
 *
 *   0                 resolved: *res as getaddrinfo gives it (the caller
 *                     frees it with freeaddrinfo)
 *   RESOLVE_STOPPED   *stop was set first; *res is NULL
 *   EAI_*             getaddrinfo's error (EAI_MEMORY, EAI_SYSTEM: also
 *                     when the lookup thread could not be started)
 */
int resolve_until(const char *host, const char *serv, const struct addrinfo *hints,
	struct addrinfo **res, const volatile int *stop);

#endif
