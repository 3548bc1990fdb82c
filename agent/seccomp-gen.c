/* seccomp-gen.c — the seccomp tiers' BPF programs, made at build time.
 *
 * A host program (not part of the agent): it builds each tier's filter
 * with libseccomp, exports its BPF and prints agent/seccomp-bpf.h, the
 * programs as C arrays, which spawn.c picks by tier name.  The agent then
 * needs neither libseccomp nor the time to compile a filter when it is
 * provisioned (15-17 ms of a boot under TCG, bench/RESULTS.md), and its
 * static binary is 100 KB smaller.  The same libseccomp that would have
 * compiled the filter in the guest compiles it here, for this machine's
 * architecture (the guest's: the agent is built here too).
 *
 *   agent/seccomp-gen >agent/seccomp-bpf.h
 */
#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The "standard" tier: everything is allowed except these, which fail
 * with EPERM (clone3 with ENOSYS, so that libc falls back to clone, whose
 * namespace flags are then refused).  Keep mvm-agent(8) in step.
 */
static const char *const denied[] = {
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
	"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
	"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	"unshare", "setns",
	"kexec_load", "kexec_file_load", "reboot",
	"init_module", "finit_module", "delete_module",
	"bpf", "perf_event_open", "userfaultfd",
	"keyctl", "add_key", "request_key",
	"swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"sethostname", "setdomainname", "iopl", "ioperm",
	"lookup_dcookie", "open_by_handle_at", "name_to_handle_at",
	"syslog", "vhangup", "uselib", "nfsservctl",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	NULL
};

/*
 * The "minimal" tier: an allowlist; every other call fails with EPERM
 * (clone3 with ENOSYS, and clone with a namespace flag with EPERM, as in
 * "standard").  The list is what the runners made from their execve on
 * when tools/seccomp-measure.sh ran them (Python 3.11 and Node 18 of
 * Debian 12, oneshot and longrunning, answering examples/hello's greet),
 * less socket and connect (glibc's nscd look-up, which falls back), plus
 * what a function's own plain file and time work needs and the runners
 * happened not to: rt_sigreturn, sigaltstack, clone, wait4, the
 * file calls (fsync, fdatasync, ftruncate, rename*, unlink*, mkdirat,
 * fchmod, dup, dup3, pipe, poll, ppoll, pwrite64, readv, writev,
 * faccessat2, readlinkat, fchdir) and the clocks (clock_gettime,
 * clock_nanosleep, nanosleep, gettimeofday, sched_yield).  Keep
 * mvm-agent(8) in step.
 */
static const char *const minimal_allowed[] = {
	/* measured */
	"access", "arch_prctl", "brk", "capget", "chdir", "close", "dup2",
	"epoll_create1", "epoll_ctl", "epoll_pwait", "eventfd2", "execve", "exit",
	"exit_group", "fcntl", "fstat", "futex", "getcwd", "getdents64", "getegid",
	"geteuid", "getgid", "getpid", "getrandom", "gettid", "getuid", "ioctl", "lseek",
	"madvise", "mkdir", "mmap", "mprotect", "munmap", "newfstatat", "openat", "pipe2",
	"pkey_alloc", "prctl", "pread64", "prlimit64", "read", "readlink", "rseq",
	"rt_sigaction", "rt_sigprocmask", "sched_getaffinity", "set_robust_list",
	"set_tid_address", "statx", "sysinfo", "umask", "uname", "write",
	/* a function's plain work */
	"rt_sigreturn", "sigaltstack", "clone", "wait4", "fsync", "fdatasync", "ftruncate",
	"rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdirat", "fchmod", "dup",
	"dup3", "pipe", "poll", "ppoll", "pwrite64", "readv", "writev", "faccessat2",
	"readlinkat", "fchdir", "clock_gettime", "clock_nanosleep", "nanosleep",
	"gettimeofday", "sched_yield", "getppid", "stat", "lstat", "open",
	NULL
};

/* tier's program into *out (malloc'd): 0, or -1 with msg. */
static int build(const char *tier, struct sock_fprog *out, char *msg, size_t msglen)
{
	static const unsigned long nsflags[] = { CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID,
		CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWCGROUP };
	scmp_filter_ctx ctx;
	struct stat st;
	int fd = -1, rc = -1;
	int minimal = strcmp(tier, "minimal") == 0;

	memset(out, 0, sizeof *out);
	ctx = seccomp_init(minimal ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_ALLOW);
	if (!ctx) {
		snprintf(msg, msglen, "seccomp_init failed");
		return -1;
	}
	for (const char *const *p = minimal ? minimal_allowed : denied; *p; p++) {
		int nr = seccomp_syscall_resolve_name(*p);

		if (nr == __NR_SCMP_ERROR)
			continue;  /* not on this architecture */
		if (minimal && nr == __NR_clone)
			continue;   /* allowed below, without namespace flags */
		if (seccomp_rule_add(ctx, minimal ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EPERM), nr, 0) != 0) {
			snprintf(msg, msglen, "seccomp rule for %s failed", *p);
			goto out;
		}
	}
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0) {
		snprintf(msg, msglen, "seccomp rule for clone3 failed");
		goto out;
	}
	if (minimal) {
		unsigned long all = 0;
		for (size_t i = 0; i < sizeof nsflags / sizeof nsflags[0]; i++)
			all |= nsflags[i];
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, all, 0)) != 0) {
			snprintf(msg, msglen, "seccomp rule for clone failed");
			goto out;
		}
	}
	for (size_t i = 0; !minimal && i < sizeof nsflags / sizeof nsflags[0]; i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, nsflags[i], nsflags[i])) != 0) {
			snprintf(msg, msglen, "seccomp rule for clone failed");
			goto out;
		}
	/* The children set no_new_privs themselves (and before the filter). */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	fd = memfd_create("seccomp-gen", MFD_CLOEXEC);
	if (fd < 0 || seccomp_export_bpf(ctx, fd) != 0 || fstat(fd, &st) != 0 ||
	    st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		snprintf(msg, msglen, "cannot export the seccomp filter");
		goto out;
	}
	out->filter = malloc((size_t)st.st_size);
	if (!out->filter || pread(fd, out->filter, (size_t)st.st_size, 0) != st.st_size) {
		snprintf(msg, msglen, "cannot read back the seccomp filter");
		goto out;
	}
	out->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return rc;
}

int main(void)
{
	static const char *const tiers[] = { "minimal", "standard" };
	char msg[256];

	printf("/* seccomp-bpf.h — made by agent/seccomp-gen (libseccomp %u.%u.%u); do not edit */\n",
		seccomp_version()->major, seccomp_version()->minor, seccomp_version()->micro);
	for (int t = 0; t < 2; t++) {
		struct sock_fprog p;

		if (build(tiers[t], &p, msg, sizeof msg) != 0) {
			fprintf(stderr, "seccomp-gen: %s: %s\n", tiers[t], msg);
			return 1;
		}
		printf("static const struct sock_filter bpf_%s[] = {\n", tiers[t]);
		for (unsigned i = 0; i < p.len; i++)
			printf("\t{ 0x%04x, %u, %u, 0x%08x },\n", p.filter[i].code, p.filter[i].jt,
				p.filter[i].jf, p.filter[i].k);
		printf("};\n");
		free(p.filter);
	}
	return ferror(stdout) || fflush(stdout) ? 1 : 0;
}
