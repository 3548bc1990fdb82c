/* fcjail.h — what vm-boot --print-config prints for a plan (vm-boot(1)):
 * Firecracker's configuration, or, with --jailer, the invocation of
 * Firecracker's own confinement, its `jailer`.
 *
 * vm-boot confines QEMU itself (lib/vmm.h vmm_spawn).  Firecracker is
 * confined by its jailer (Firecracker's docs/jailer.md): started as root,
 * it makes the chroot CHROOT_BASE/firecracker/ID/root, puts itself in the
 * cgroups it is given (cgroup v2 here) and in new mount and PID
 * namespaces, drops to --uid/--gid and executes a copy of --exec-file
 * there, with the arguments after "--".  Everything Firecracker opens must
 * then be inside the chroot: the kernel, the root and the other drives,
 * hard-linked in (same file system as the chroot base; the jailer does
 * not make them), and the configuration, whose paths are the chroot's.
 * Nothing here runs the jailer (no KVM on the test hosts): it is a
 * description a host with KVM follows.  Nothing here prints or exits.
 */
#ifndef MVM_FCJAIL_H
#define MVM_FCJAIL_H

#include "buf.h"
#include "err.h"
#include "plan.h"
#include "verity.h"
#include "vmm.h"

/* The jailer's chroot base: its default (docs/jailer.md). */
#define FCJAIL_BASE "/srv/jailer"
/* The VMM's cgroup limits: memory.max is the guest's memory and this much
 * for Firecracker itself (its docs measure < 5 MiB of overhead); pids.max
 * is one thread per vCPU and this many more (API, VMM, event threads). */
#define FCJAIL_MEM_EXTRA_MB 64u
#define FCJAIL_PIDS_EXTRA 16u

/*
 * Read the (unsigned) plan file plan_path into *p (parsed, within the
 * limits), set vm's paths from state (".mvm/run/vm" when NULL), vcpus
 * and memory from it, and vm->verity to *ver when the image's
 * mvm-meta.json names a dm-verity root (read, not checked: nothing boots).
 * 0, or EX_SYS / EX_DATA / EX_NO / EX_USAGE as e says.
 */
int fcjail_load(struct vmm *vm, const char *plan_path, const char *state, struct plan *p,
	struct verity *ver, struct merr *e);

/*
 * The jailer for vm and plan p, as canonical JSON:
 *   {"argv": [JAILER, "--id", ID, "--exec-file", FIRECRACKER,
 *             "--uid", U, "--gid", G, "--chroot-base-dir", FCJAIL_BASE,
 *             "--cgroup-version", "2", "--cgroup", "memory.max=BYTES",
 *             "--cgroup", "pids.max=N", "--new-pid-ns", "--",
 *             "--config-file", "/firecracker.json", "--no-api"],
 *    "chroot": FCJAIL_BASE "/firecracker/" ID "/root",
 *    "links": [{"from": HOST PATH, "to": NAME IN THE CHROOT}...],
 *    "config": Firecracker's configuration with the chroot's paths}
 * ID is the plan id's 64 hex digits (the jailer takes up to 64 of
 * [A-Za-z0-9-]); JAILER and FIRECRACKER are found on PATH (else
 * /usr/bin/NAME); U and G are VMM_USER's.  links: vmlinux, rootfs.ext4,
 * and each drive as ROLE.ext4.  0, or EX_SYS (no user VMM_USER).
 */
int fcjail_json(const struct vmm *vm, const struct plan *p, struct buf *out, struct merr *e);

#endif
