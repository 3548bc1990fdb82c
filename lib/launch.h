/* launch.h — what vm-boot adds to an admitted plan's VM besides its root:
 * the drives and secrets the image's mvm-meta.json lists in its launch
 * member (mvm-meta(5)), and the agent's one provisioning request
 * (mvm-agent-protocol(5) "Provisioning"): the plan's seccomp tier and the
 * secrets' values.
 *
 *   config drive   IMAGE/<file>, read-only, role <role>; admission has
 *                  checked its digest (lib/admit.h, image_digest)
 *   volume         $MVM_HOME/volumes/<workload>/<volume>, created on first
 *                  use (size_mb MiB, ext4 labelled mvm-<role>, its root
 *                  owned by the runner's uid 1000), attached ro or rw as
 *                  declared and locked (flock: exclusive when rw, shared
 *                  when ro) for as long as this process lives: a second VM
 *                  cannot attach it rw meanwhile.  <workload> is the signed
 *                  plan's, so another workload never reaches it.
 *   secret         resolved by lib/secret.h, held in memory only, sent in
 *                  the provisioning request, then wiped
 *
 * Nothing here prints or exits.
 */
#ifndef MVM_LAUNCH_H
#define MVM_LAUNCH_H

#include <pthread.h>
#include "buf.h"
#include "err.h"
#include "vmm.h"

/* The launch member may list at most VMM_DRIVES_MAX drives and this many
 * secrets (ir-lower lowers at most 8 drives; an app's env has no more). */
#define LAUNCH_SECRETS_MAX 64u
#define LAUNCH_TIER_MAX 32u

struct launch {
	int lock_fd[VMM_DRIVES_MAX];      /* the volumes' locked files */
	unsigned nlocks;
	struct buf req;                   /* the provisioning frame: holds values */
	char names[LAUNCH_SECRETS_MAX * 130]; /* the secrets' names, comma-separated */
	char tier[LAUNCH_TIER_MAX + 1];
	char applied[LAUNCH_TIER_MAX + 1];   /* what the agent reports (provisioned) */
	/* launch_provision_start's: */
	pthread_t thread;
	int started, timeout_ms;
	const char *vsock;
	void (*done)(void *ctx, int rc, const struct merr *e);
	void *ctx;
};

/*
 * Read IMAGE/mvm-meta.json's launch member (vm->image), attach its drives
 * to vm (vmm_add_drive), resolve its secrets and build the provisioning
 * request for the seccomp tier tier.  workload and release are the admitted
 * plan's workload and secret_release: secrets are released only under
 * "plan_bound" (the plan binds the meta, which names them);
 * "attestation_bound" needs an attestation this launcher cannot make, and
 * "none" releases nothing, so an image that lists secrets is refused.
 * Returns
 *   0         ready (launch_free L when done, whatever happens);
 *   EX_NO     refused, e says why: secrets the plan does not release, a
 *             secret missing or refused by the
 *             store, a volume in use by another VM, a volume whose size is
 *             not the declared one, a malformed launch member, a workload
 *             id that is no file name;
 *   EX_SYS    a system error (creating a volume, the store, memory).
 * An image without a launch member gets no drive and no secret; the
 * request then carries only the tier.
 */
int launch_prepare(struct launch *L, struct vmm *vm, const char *workload, const char *tier,
	const char *release, struct merr *e);

/*
 * Send the provisioning request to the agent on the socket vsock
 * ("CONNECT 5252", as vsock-call does) and read its reply, then ask its
 * status: the tier it reports applied is copied into applied.  The
 * request's bytes are wiped.  Returns 0, EX_NO (the agent refused the
 * request: an unknown tier, a secret it could not place; or it reports
 * another tier than asked; e says which), or EX_SYS (no connection, no
 * answer within timeout_ms).
 */
int launch_provision(struct launch *L, const char *vsock, int timeout_ms,
	char applied[LAUNCH_TIER_MAX + 1], struct merr *e);

/*
 * launch_provision(L, vsock, timeout_ms, L->applied, ...) on a thread of
 * its own, then done(ctx, its status, its error): for a caller whose loop
 * must go on meanwhile (vm-boot's, which serves QEMU's agent port).  0, or
 * EX_SYS with e ("VSOCK: unable to start provisioning: " and
 * pthread_create's error; done is not called).  launch_free waits for the thread.
 */
int launch_provision_start(struct launch *L, const char *vsock, int timeout_ms,
	void (*done)(void *ctx, int rc, const struct merr *e), void *ctx, struct merr *e);

/* Wait for launch_provision_start's thread (if any), wipe the request,
 * release the volumes' locks. */
void launch_free(struct launch *L);

#endif
