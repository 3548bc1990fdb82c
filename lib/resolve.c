/* resolve.c — getaddrinfo(3) that a stop flag interrupts (resolve.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "resolve.h"

/* One lookup, shared by the caller and its thread: whichever lets go last
 * frees it (refs under mu). */
struct lookup {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs, done, rc;
	char *host, *serv;
	struct addrinfo hints, *res;
};

static void let_go(struct lookup *l)
{
	int last;

	pthread_mutex_lock(&l->mu);
	last = --l->refs == 0;
	pthread_mutex_unlock(&l->mu);
	if (!last)
		return;
	if (l->res)
		freeaddrinfo(l->res);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l->host);
	free(l->serv);
	free(l);
}

static void *lookup_main(void *arg)
{
	struct lookup *l = arg;
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(l->host, l->serv, &l->hints, &res);

	pthread_mutex_lock(&l->mu);
	l->rc = rc;
	l->res = rc == 0 ? res : NULL;
	l->done = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	let_go(l);
	return NULL;
}

int resolve_until(const char *host, const char *serv, const struct addrinfo *hints,
	struct addrinfo **res, const volatile int *stop)
{
	struct lookup *l = calloc(1, sizeof *l);
	pthread_condattr_t ca;
	pthread_attr_t at;
	pthread_t t;
	int rc;

	*res = NULL;
	if (!l || !(l->host = strdup(host)) || (serv && !(l->serv = strdup(serv)))) {
		if (l)
			free(l->host);
		free(l);
		return EAI_MEMORY;
	}
	l->hints = *hints;
	l->refs = 2;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &at, lookup_main, l);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		l->refs = 1;
		let_go(l);
		errno = rc;
		return EAI_SYSTEM;
	}
	pthread_mutex_lock(&l->mu);
	while (!l->done && !*stop) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += RESOLVE_POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L)
			ts.tv_sec++, ts.tv_nsec -= 1000000000L;
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	}
	if (l->done) {
		rc = l->rc;
		*res = l->res;      /* the caller's now */
		l->res = NULL;
	} else {
		rc = RESOLVE_STOPPED;
	}
	pthread_mutex_unlock(&l->mu);
	let_go(l);
	return rc;
}
