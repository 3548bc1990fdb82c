/* bootrun.c — an admitted plan's VM and its launch sequence (bootrun.h) */
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include "agentwatch.h"
#include "bootrun.h"
#include "monoclock.h"
#include "svcready.h"

/* Stop the guest: the caller is told why, and bootrun returns
 * BOOTRUN_REFUSED with B->refused = code. */
static void fail(struct bootrun *B, int code, const struct merr *e)
{
	if (B->h.failed)
		B->h.failed(B->h.ctx, e);
	B->refused = code;
	*B->stop = SIGTERM;
}

/* Step 5 (Firecracker): until the guest stops, ask the agent every
 * AGENTWATCH_POLL_MS whether it is still provisioned. */
static void watch(struct bootrun *B)
{
	struct merr e = { 0 };

	while (!*B->stop) {
		for (int i = 0; i < AGENTWATCH_POLL_MS / 100 && !*B->stop; i++)
			nanosleep(&(struct timespec){ 0, 100 * 1000000L }, NULL);
		if (!*B->stop && agentwatch_unprovisioned(B->vm->vsock, 2000) == 1) {
			merr_set(&e, EX_SELF, NULL, "%s", AGENTWATCH_RESTARTED);
			fail(B, EX_SELF, &e);
		}
	}
}

/* Step 3, then 4 (and 5 under Firecracker); or, if step 2 failed, stop. */
static void provisioned(void *ctx, int rc, const struct merr *e)
{
	struct bootrun *B = ctx;

	if (rc == 0) {
		unsigned port = netcfg_service_port(B->net);
		double left = B->boot_secs - (mono_s() - B->t0);

		if (port && !svcready_wait(B->net, B->vm->vsock, left > 1 ? left : 1) &&
		    B->h.service_late)
			B->h.service_late(B->h.ctx, port);
		if (B->h.launched)
			B->h.launched(B->h.ctx);
		if (B->vm->kind == VMM_FIRECRACKER)
			watch(B);
		return;
	}
	fail(B, rc == EX_NO ? EX_NO : EX_SYS, e);
}

/* Step 1: the agent answered; step 2 starts. */
static void on_ready(void *ctx)
{
	struct bootrun *B = ctx;
	struct merr e = { 0 };

	if (launch_provision_start(B->launch, B->vm->vsock, (int)B->boot_secs * 1000,
	    provisioned, B, &e) != 0)
		fail(B, EX_SYS, &e);
}

static void on_warn(void *ctx, const struct merr *e)
{
	struct bootrun *B = ctx;

	if (B->h.warn)
		B->h.warn(B->h.ctx, e);
}

static void on_guest_open(void *ctx, int fd)
{
	struct bootrun *B = ctx;

	proxy_start(B->egress, fd);
}

int bootrun(struct bootrun *B, int logfd, int *status, struct merr *e)
{
	static const char *const why[] = {
		[VMM_EARLY_EXIT] = "the VMM exited before the agent was ready (see vmm.log)",
		[VMM_NO_PORT] = "the VMM's agent port did not appear",
		[VMM_TIMEOUT] = "the agent did not answer within boot_timeout_secs",
	};
	struct vmm_hooks vh = { on_ready, on_warn, B, B->egress ? on_guest_open : NULL };
	int code;

	B->refused = 0;
	B->t0 = mono_s();
	code = vmm_run(B->vm, B->boot_secs, logfd, B->stop, &vh, status, e);
	if (B->egress)
		proxy_close(B->egress);   /* its connections ended with the VM's port */
	launch_free(B->launch);
	if (B->refused)
		return BOOTRUN_REFUSED;
	if (code == VMM_EARLY_EXIT || code == VMM_NO_PORT || code == VMM_TIMEOUT)
		merr_set(e, EX_SELF, NULL, "%s", why[code]);
	return code;
}
