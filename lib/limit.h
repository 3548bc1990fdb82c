/* limit.h — what this build can run: the one set of resource limits.
 * (Named limit.h, not limits.h: with -Ilib a lib/limits.h would shadow <limits.h>.)
 *
 * Used by the IR model (ir-validate refuses an app outside them with
 * E_RESOURCE_LIMIT), plan-new (refuses to write such a plan), admission
 * (lib/admit: reason "limits", before the nonce is spent) and the
 * launcher.  A plan's format (mvm-plan(5)) allows wider numbers; these
 * are the ones the launcher accepts, all inclusive. */
#ifndef MVM_LIMIT_H
#define MVM_LIMIT_H

/* vCPUs: QEMU's microvm and Firecracker both take 1..64 here (the
 * launcher passes the number through as -smp / vcpu_count). */
#define LIMIT_VCPUS_MIN 1L
#define LIMIT_VCPUS_MAX 64L
/* Guest memory, MiB: 64 is the smallest the IR fixtures use (examples/
 * hello with memory_mb 64 booted and answered under QEMU TCG,
 * 2026-12-06); 65536 (64 GiB) the most the launcher asks a host for. */
#define LIMIT_MEMORY_MB_MIN 64L
#define LIMIT_MEMORY_MB_MAX 65536L
/* Seconds from VMM start to the agent's hello: at most one hour. */
#define LIMIT_BOOT_TIMEOUT_MIN 1L
#define LIMIT_BOOT_TIMEOUT_MAX 3600L
/* The root image, MiB: what mvm-build-rootfs --size-mb takes (at most
 * six digits). */
#define LIMIT_ROOTFS_MB_MIN 1L
#define LIMIT_ROOTFS_MB_MAX 999999L
/* The largest --skew admission takes, seconds (one day).  The nonce
 * store keeps a nonce until its plan's valid_until plus this, by the
 * real clock, and admission refuses (reason "window") a plan whose
 * valid_until plus this has passed by the real clock, whatever --now
 * says: its nonce may be gone. */
#define LIMIT_SKEW_MAX 86400L

#endif
