/* nothread.c — an LD_PRELOAD shim for t/vm-boot.bats: in a process whose
 * name is vm-boot, pthread_create fails with EAGAIN (as when the thread
 * limit is reached); every other process (the stand-in VMM, its agent)
 * gets the real one. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*f)(void *), void *arg)
{
	int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

	if (strcmp(program_invocation_short_name, "vm-boot") == 0)
		return EAGAIN;
	*(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
	return real(t, a, f, arg);
}
