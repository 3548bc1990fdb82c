/* bootrun.h — running an admitted plan's VM to its end (vm-boot(1)): the
 * VMM under vmm_run (lib/vmm.h) and, from the agent's first answer, the
 * launch sequence:
 *
 *   1. ready      the agent has said HELLO and answered a ping;
 *   2. provision  the agent gets its one provisioning request (the plan's
 *                 seccomp tier, the secrets: launch_provision_start, on a
 *                 thread of its own while vmm_run goes on serving the
 *                 agent's port);
 *   3. service    a command service with a port (netcfg_service_port) is
 *                 given what is left of the boot timeout, at least 1 s, to
 *                 accept behind 127.0.0.1 (svcready_wait); if it does not,
 *                 the caller is told (service_late) and the launch goes on;
 *   4. launched   the caller is told (launched): vm-boot records
 *                 plan.launched and answers whoever waits;
 *   5. watch      Firecracker only: until the guest stops, the agent is
 *                 asked every AGENTWATCH_POLL_MS whether it is still the
 *                 provisioned one (agentwatch.h; under QEMU the muxhost
 *                 sees a restarted agent's hello instead, muxhost.h).
 *
 * If step 2 fails (its thread cannot be started, or the agent refuses),
 * or step 5 finds an unprovisioned agent, the caller is told (failed,
 * with the reason), and the guest is stopped: *stop is set to SIGTERM, as
 * a signal would.  Each stream the guest opens (QEMU only) is handed to
 * the egress proxy when there is one.  The hooks of steps 3 and 4 and
 * failed run on the provisioning thread (failed for a thread that could
 * not be started: on vmm_run's).  Nothing here prints or exits.
 */
#ifndef MVM_BOOTRUN_H
#define MVM_BOOTRUN_H

#include <signal.h>
#include "err.h"
#include "launch.h"
#include "netcfg.h"
#include "proxy.h"
#include "vmm.h"

/* The caller's part; any may be NULL.  warn: a malformed record from the
 * guest (serving goes on). */
struct bootrun_hooks {
	void (*launched)(void *ctx);
	void (*service_late)(void *ctx, unsigned port);
	void (*failed)(void *ctx, const struct merr *e);
	void (*warn)(void *ctx, const struct merr *e);
	void *ctx;
};

struct bootrun {
	const struct vmm *vm;        /* paths set (vmm_paths), config written */
	struct launch *launch;       /* prepared (launch_prepare) */
	const struct netcfg *net;    /* the image's network (vm->net) */
	struct proxy *egress;        /* an open egress proxy (proxy_open), or NULL */
	unsigned boot_secs;          /* the plan's boot_timeout_secs */
	volatile sig_atomic_t *stop; /* the caller's signal handler sets it */
	struct bootrun_hooks h;
	/* set by bootrun: */
	double t0;                   /* mono_s() when the VMM was started */
	int refused;                 /* EX_NO, EX_SYS (step 2), EX_SELF (step 5) */
};

/*
 * Run the VM (vmm_run with B->boot_secs, the VMM's output on logfd) and
 * the launch sequence, then close the egress proxy and free the launch
 * (launch_free).  Returns
 *   BOOTRUN_REFUSED  step 2 failed (B->refused: EX_NO, or EX_SYS: also no
 *                    thread for it) or step 5
 *                    found the agent started again (EX_SELF); the guest
 *                    was stopped;
 *   VMM_STOPPED      the agent was ready, then the VMM exited: *status;
 *   VMM_SIGNALLED    *stop was set: the guest was asked to shut down;
 *   another enum vmm_outcome: the VM failed, e says why.
 * No VMM process, connection or socket file is left (vmm_run).
 */
#define BOOTRUN_REFUSED (-1)
int bootrun(struct bootrun *B, int logfd, int *status, struct merr *e);

#endif
