/* vmmrun.c — supervising a VM: serving its agent, stopping it (vmm.h) */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "frame.h"
#include "muxhost.h"
#include "vsock.h"
#include "vmm.h"
#include "monoclock.h"

struct run {
	const struct vmm *vm;
	const struct vmm_hooks *h;
	volatile sig_atomic_t *stop;
	pid_t pid;
	int *status, gone, ready, outcome;
	double deadline;
	struct muxhost *m;
	int lsock, gfd;
};

static void nap_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

/* 1 if the VMM has exited (its status kept). */
static int exited(struct run *r)
{
	if (!r->gone && waitpid(r->pid, r->status, WNOHANG) == r->pid)
		r->gone = 1;
	return r->gone;
}

static void became_ready(struct run *r)
{
	r->ready = 1;
	if (r->h && r->h->ready)
		r->h->ready(r->h->ctx);
}

/* QEMU: connect to the agent's serial port, then serve it as vm->vsock. */
static int serve_qemu(struct run *r, struct merr *e)
{
	int st;

	while ((r->gfd = unix_connect(r->vm->chardev)) < 0 && !*r->stop) {
		if (exited(r))
			return VMM_EARLY_EXIT;
		if (mono_s() > r->deadline)
			return VMM_NO_PORT;
		nap_ms(10);
	}
	if (r->gfd < 0)
		return VMM_SIGNALLED;
	if (!(r->m = muxhost_new(r->gfd, r->lsock)))
		return merr_set(e, EX_SYS, NULL, "out of memory"), VMM_SERVE_FAIL;
	if (r->h && r->h->guest_open)
		muxhost_on_guest_open(r->m, r->h->guest_open, r->h->ctx);
	while (!*r->stop) {
		if ((st = muxhost_step(r->m, 200, e)) == MUXHOST_FAIL)
			return VMM_SERVE_FAIL;
		if (st == MUXHOST_BAD && r->h && r->h->warn)
			r->h->warn(r->h->ctx, e);
		if (!r->ready && muxhost_ready(r->m))
			became_ready(r);
		if (exited(r))
			return r->ready ? VMM_STOPPED : VMM_EARLY_EXIT;
		if (!r->ready && mono_s() > r->deadline)
			return VMM_TIMEOUT;
	}
	return VMM_SIGNALLED;
}

/* Firecracker: ready when the agent answers a ping through the socket
 * Firecracker made; then wait for *stop or the VMM's exit. */
static int serve_firecracker(struct run *r)
{
	while (!*r->stop && !r->ready) {
		if (exited(r))
			return VMM_EARLY_EXIT;
		if (mono_s() > r->deadline)
			return VMM_TIMEOUT;
		if (vsock_ping(r->vm->vsock, 2000))
			became_ready(r);
		else
			nap_ms(100);
	}
	while (!*r->stop)
		if (exited(r))
			return VMM_STOPPED;
		else
			nap_ms(100);
	return VMM_SIGNALLED;
}

/* Ask a ready guest to shut down, then terminate what is left. */
static void stop_vmm(struct run *r)
{
	struct buf f = BUF_INIT;
	struct merr e;
	int fd = -1;

	if (!r->gone && r->ready && *r->stop) {
		double end = mono_s() + VMM_GUEST_STOP_SECS;
		req_put_shutdown(&f);
		if (r->m)
			muxhost_shutdown(r->m);
		else if (r->vm->kind == VMM_FIRECRACKER)
			fd = vsock_send(r->vm->vsock, f.p, f.len);
		while (mono_s() < end && !exited(r))
			if (!r->m || muxhost_step(r->m, 10, &e) == MUXHOST_FAIL)
				nap_ms(10);
		if (fd >= 0)
			close(fd);
		buf_free(&f);
	}
	if (r->gone)
		return;
	kill(r->pid, SIGTERM);
	for (int i = 0; i < VMM_TERM_SECS * 100 && !exited(r); i++)
		nap_ms(10);
	if (!r->gone) {
		kill(-r->pid, SIGKILL);
		kill(r->pid, SIGKILL);
		while (waitpid(r->pid, r->status, 0) < 0 && errno == EINTR)
			;
		r->gone = 1;
	}
}

int vmm_run(const struct vmm *vm, unsigned boot_timeout, int logfd,
	volatile sig_atomic_t *stop, const struct vmm_hooks *h, int *status, struct merr *e)
{
	struct run r = { .vm = vm, .h = h, .stop = stop, .status = status, .lsock = -1, .gfd = -1 };

	*status = 0;
	/* Firecracker makes its vsock socket itself; for QEMU, we do. */
	if (vm->kind == VMM_QEMU && (r.lsock = unix_listen(vm->vsock)) < 0)
		return merr_sys(e, "listen on the agent socket"), VMM_NOSTART;
	r.deadline = mono_s() + boot_timeout;
	if ((r.pid = vmm_spawn(vm, logfd, e)) < 0) {
		r.outcome = VMM_NOSTART;
	} else {
		r.outcome = vm->kind == VMM_QEMU ? serve_qemu(&r, e) : serve_firecracker(&r);
		stop_vmm(&r);
	}
	muxhost_free(r.m);
	if (r.lsock >= 0)
		close(r.lsock);
	if (r.gfd >= 0)
		close(r.gfd);
	unlink(vm->vsock);
	unlink(vm->chardev);
	return r.outcome;
}
