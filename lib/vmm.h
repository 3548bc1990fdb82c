/* vmm.h — the virtual machine monitors vm-boot drives: choosing one, their
 * command lines and configuration, starting one.  QEMU (microvm machine)
 * and Firecracker are made to look the same to the caller: both boot
 * IMAGE/vmlinux with IMAGE/rootfs.ext4 read-only, and both end with the
 * agent reachable on STATE/v.sock (Firecracker makes that socket itself;
 * for QEMU the caller serves it with lib/muxhost.h over STATE/agent.serial).
 * Nothing here prints or exits.
 *
 *   vmm.c       choosing a VMM; the VM's paths, drives, kernel command line
 *   vmmconf.c   the VM as each VMM is told it: QEMU's argument vector,
 *               Firecracker's config file
 *   vmmspawn.c  starting the VMM, QEMU confined (vmm_spawn)
 *   vmmrun.c    supervising it: serving the agent, stopping it (vmm_run)
 */
#ifndef MVM_VMM_H
#define MVM_VMM_H

#include <limits.h>
#include <signal.h>
#include <sys/types.h>
#include "buf.h"
#include "err.h"
#include "netcfg.h"
#include "verity.h"

/*
 * Socket paths live in the state directory, and a Unix socket path holds at
 * most 107 bytes (sun_path is 108 with its NUL).  The longest socket name
 * is "/agent.serial" (13 bytes), so an absolute state directory may take
 * 107 - 13 = 94 bytes.
 */
#define VMM_SUN_PATH 107u
#define VMM_STATE_MAX (VMM_SUN_PATH - 13u)

enum vmm_kind { VMM_QEMU, VMM_FIRECRACKER };

/*
 * Drives besides the root.  The guest finds each by its role: QEMU gives
 * the drive the virtio-blk serial "mvm-<role>" (init's find_drive, agent/initdev.c
 * reads /sys/block/vdX/serial); Firecracker gives no serial, so there the
 * drive's file system must carry the label "mvm-<role>" (find_drive falls
 * back to findfs LABEL=mvm-<role>; mkfs.ext4 -L takes at most 16 bytes).
 * A virtio-blk serial holds 20 bytes (VIRTIO_BLK_ID_BYTES) and an ext4
 * label 16, so "mvm-" + role fits both when the role has at most 12:
 * VMM_ROLE_MAX.  Roles are [a-z0-9_] (Firecracker's drive_id is the
 * role), and "root" and "rootfs" are the root drive's.
 * VMM_DRIVES_MAX: the root, the config drive, the deps volume, and the
 * data volumes of one app fit; microvm has 24 virtio-mmio slots and also
 * needs the serial, rng (and later net) devices.
 */
#define VMM_ROLE_MAX 12u
#define VMM_DRIVES_MAX 12u

struct vmm_drive {
	char path[PATH_MAX];            /* the file on the host */
	char role[VMM_ROLE_MAX + 1];
	int readonly;
};

struct vmm {
	enum vmm_kind kind;
	int kvm;                   /* QEMU: -accel kvm (else tcg) */
	unsigned vcpus, memory_mb;
	const char *qemu;          /* QEMU binary; NULL: qemu-system-x86_64 */
	const struct verity *verity;  /* the root's dm-verity (the admitted meta's), or NULL */
	char image[PATH_MAX];      /* the image directory (absolute to boot) */
	/* Set by vmm_paths from the state directory: */
	char state[VMM_STATE_MAX + 1];
	char vsock[VMM_SUN_PATH + 1];     /* STATE/v.sock: the agent socket */
	char chardev[VMM_SUN_PATH + 1];   /* STATE/agent.serial: QEMU's serial port */
	char api[VMM_SUN_PATH + 1];       /* STATE/fc.api: Firecracker's API socket */
	char console[PATH_MAX];           /* STATE/console.log: the serial console */
	char fcconf[PATH_MAX];            /* STATE/firecracker.json */
	/* The network (lib/netcfg.h), or NULL / net->nic 0: no NIC at all.
	 * With a NIC, the kernel command line gets NETCFG_GUEST_ARGS. */
	const struct netcfg *net;
	/* Drives besides the root, in the order given (vmm_add_drive): */
	unsigned ndrives;
	struct vmm_drive drive[VMM_DRIVES_MAX];
};

/* The kernel command lines, for a root without dm-verity. */
extern const char vmm_cmdline_qemu[], vmm_cmdline_firecracker[];

/* Added for QEMU under TCG with one vCPU (bench/RESULTS.md, "Boot and call
 * latency", measured each): noapictimer, no calibration of the local APIC
 * timer (~100 ms of guest busy-waiting, 0.2-0.25 s of a TCG boot; the PIT
 * ticks instead, enough for one CPU); no_timer_check, no test of the
 * IO-APIC timer interrupt (a ~40 ms delay); lpj=, a fixed delay-loop value
 * (this machine's calibration) instead of calibrating it.  A KVM guest skips
 * all three by itself (TSC deadline timer, known TSC).  And
 * rcupdate.rcu_expedited=1: synchronize_rcu() ends its grace period at once
 * instead of waiting ticks (HZ=250) for one; the agent's first cgroup
 * write (cgroup_threadgroup_rwsem) waited 9 ms for it, and the boot more:
 * agent ready 0.850 -> 0.808 s and 0.814 -> 0.739 s, provisioned after
 * the agent's start 71 -> 51 and 64 -> 47 ms (7 interleaved boots each,
 * both orders).  Likewise QEMU's
 * virtio-serial-device gets max_ports=2 (port 0, reserved for a console,
 * and the agent's): the default 31 ports cost the guest's probe 20-50 ms
 * allocating their queues. */
#define VMM_CMDLINE_TCG " noapictimer no_timer_check lpj=744448 rcupdate.rcu_expedited=1"

/* The kernel command line for vm: the one above (with VMM_CMDLINE_TCG under
 * TCG with one vCPU), and, when vm->verity is set, the root as dm-verity over /dev/vda (verity_cmdline, with
 * dm-mod.waitfor=/dev/vda) instead of root=/dev/vda.  VMM_CMDLINE_MAX
 * bytes always suffice. */
#define VMM_CMDLINE_MAX 1024
void vmm_cmdline(const struct vmm *vm, char out[VMM_CMDLINE_MAX]);

/* Fill vm's paths from the state directory state.  0, or EX_USAGE when
 * state is longer than VMM_STATE_MAX bytes (e says so). */
int vmm_paths(struct vmm *vm, const char *state, struct merr *e);

/*
 * Attach the file path (a raw disk image; made absolute here) to vm as a
 * drive of role role, read-only when readonly.  The root drive
 * (IMAGE/rootfs.ext4) stays /dev/vda; the others follow it in the order
 * they were added (the guest finds them by role, never by name: see
 * above).  Returns
 *   0         attached;
 *   EX_USAGE  role is not 1..VMM_ROLE_MAX bytes of [a-z0-9_], is "root"
 *             or "rootfs", or is already attached; VMM_DRIVES_MAX reached;
 *   EX_SYS    path cannot be resolved (realpath).
 */
int vmm_add_drive(struct vmm *vm, const char *path, const char *role, int readonly,
	struct merr *e);

/* 1 if KVM really works here: /dev/kvm opens and the host is not a PVM
 * hypervisor (/sys/module/kvm_pvm), where stock guests hang.  Else 0 and
 * *why says which. */
int vmm_kvm_usable(const char **why);

/* 1 if an executable name is on PATH. */
int vmm_on_path(const char *name);

/*
 * Choose the VMM: backend "auto" (Firecracker when it is on PATH and KVM is
 * usable, else QEMU), "qemu" or "firecracker"; accel (QEMU) "auto", "kvm"
 * or "tcg".  Sets vm->kind and vm->kvm.  *note is set (else NULL) when
 * accel "auto" falls back to TCG, saying why.  Returns
 *   0         chosen;
 *   EX_USAGE  an unknown backend or accel;
 *   EX_SELF   "firecracker" asked for but not on PATH.
 */
int vmm_choose(struct vmm *vm, const char *backend, const char *accel, const char **note,
	struct merr *e);

/* "firecracker", "qemu/kvm" or "qemu/tcg". */
const char *vmm_name(const struct vmm *vm);

/* Firecracker's --config-file for vm, as canonical JSON (boot-source,
 * drives: "rootfs" first, then each of vm->drive with drive_id its role,
 * machine-config, vsock on vm->vsock with guest CID 3, logger into
 * vm->console; with a NIC, network-interfaces: eth0 on the TAP device
 * vm->net->tap, which the host must have made, vm-boot(1)). */
void vmm_firecracker_config(const struct vmm *vm, struct buf *b);

/* The user QEMU runs as when vm-boot runs as root (tools/install-deps.sh
 * creates it). */
#define VMM_USER "mvm-vmm"

/* The descriptors vm-boot's child opens and hands QEMU (it opens no path
 * of ours): the kernel, the root drive, the console, the agent's
 * listening socket, and each of vm->drive (read-only or read-write as
 * attached). */
struct vmm_fds {
	int kernel, root, console, chardev;
	int drive[VMM_DRIVES_MAX];     /* read-only, or read-write as attached */
	int drive_ro[VMM_DRIVES_MAX];  /* a read-write drive's read-only twin */
};

/*
 * QEMU's argument vector for vm with the descriptors q, NULL-terminated,
 * argv[0] the program: sandboxed (-sandbox on with obsolete,
 * elevateprivileges, spawn and resourcecontrol denied), no monitor, no
 * defaults; the root in fdset 1, the console in fdset 2, the i-th of
 * vm->drive in fdset 3 + i (a read-write drive with a read-only twin of
 * its descriptor in the same set: QEMU opens it read-only too, for
 * probing and locking, and a set lends only a descriptor of the access
 * mode asked for), each of these adding
 *   -drive file=/dev/fdset/N,if=none,format=raw,id=d-ROLE[,readonly=on]
 *   -device virtio-blk-device,drive=d-ROLE,serial=mvm-ROLE
 * after the root's; with a NIC, the user-mode netdev and its device.  The
 * strings are allocated: vmm_argv_free frees them.  0, or EX_SYS (out of
 * memory; nothing is left allocated).
 */
#define VMM_ARGV_MAX (64u + 6u * VMM_DRIVES_MAX)
struct vmm_argv {
	char *argv[VMM_ARGV_MAX + 1];
	int argc;
};
int vmm_qemu_argv(const struct vmm *vm, const struct vmm_fds *q, struct vmm_argv *a,
	struct merr *e);
void vmm_argv_free(struct vmm_argv *a);

/*
 * Start the VMM (Firecracker reads vm->fcconf, which the caller wrote)
 * with its standard output and error on logfd (if >= 0), standard input
 * /dev/null, no other descriptor of the caller's, in its own process
 * group, killed (SIGKILL) if the caller dies.  QEMU is confined: it is
 * given its kernel, root drive, console and agent port (vm->chardev, a
 * listening socket made here) as descriptors and opens none of our paths;
 * -sandbox on with obsolete, elevateprivileges, spawn and resourcecontrol
 * denied; -nodefaults and no monitor; run as root, it runs as VMM_USER (no
 * other groups but /dev/kvm's when KVM is used) with no_new_privs, in a
 * private mount namespace where /home, /root, /srv, /mnt, /media, /opt and
 * /var's data directories are empty.  Returns the pid once the VMM program
 * has been executed, or -1 with e set (EX_SYS: no process, or a step of
 * the confinement or the program failed: e names it).
 */
pid_t vmm_spawn(const struct vmm *vm, int logfd, struct merr *e);

/* ---- supervising a VM ---- */

/* How vmm_run ended. */
enum vmm_outcome {
	VMM_STOPPED,     /* the agent was ready, then the VMM exited: *status */
	VMM_SIGNALLED,   /* *stop was set: the guest was asked to shut down */
	VMM_NOSTART,     /* the VMM could not be started (e says why) */
	VMM_EARLY_EXIT,  /* the VMM exited before the agent was ready */
	VMM_NO_PORT,     /* QEMU's agent port did not appear in time */
	VMM_TIMEOUT,     /* the agent did not answer within the boot timeout */
	VMM_SERVE_FAIL,  /* serving the agent's port failed (e says why) */
};

/* The caller's part: ready() once the agent first answers a ping; warn()
 * for a malformed record from the guest (serving goes on); guest_open()
 * for each stream the guest opens (QEMU only: muxhost_on_guest_open, the
 * egress proxy's connections).  Any may be NULL. */
struct vmm_hooks {
	void (*ready)(void *ctx);
	void (*warn)(void *ctx, const struct merr *e);
	void *ctx;
	void (*guest_open)(void *ctx, int fd);
};

/* Seconds a shut-down guest has to stop before its VMM is terminated, and
 * a terminated VMM has before it is killed. */
#define VMM_GUEST_STOP_SECS 5
#define VMM_TERM_SECS 5

/*
 * Run the VM: start the VMM (vmm_spawn, output on logfd), serve its agent
 * on vm->vsock (QEMU: a muxhost over vm->chardev; Firecracker: its own
 * socket), and wait until the agent answers a ping within boot_timeout
 * seconds.  Then supervise until the VMM exits or *stop becomes nonzero
 * (a signal handler sets it; the caller installs the handler).  On *stop,
 * a ready guest is asked to shut down (the agent's shutdown request) and
 * given VMM_GUEST_STOP_SECS; a VMM still running then gets SIGTERM, and
 * SIGKILL (its process group) VMM_TERM_SECS later.  When vmm_run returns no
 * VMM process, client connection or socket file (vsock, chardev) is left.
 * Returns an enum vmm_outcome; *status is the VMM's wait status when it
 * exited.
 */
int vmm_run(const struct vmm *vm, unsigned boot_timeout, int logfd,
	volatile sig_atomic_t *stop, const struct vmm_hooks *h, int *status, struct merr *e);

#endif
