/* spawn.c — starting a runner: fork, harden, exec the held file. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "agent.h"

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

static struct sock_fprog prog;  /* the compiled filter; len 0 = none */
static struct sock_fprog staged;        /* seccomp_stage's, until committed */

void seccomp_commit(int keep)
{
	if (keep) {
		free(prog.filter);
		prog = staged;
	} else {
		free(staged.filter);
	}
	memset(&staged, 0, sizeof staged);
}

int seccomp_prepare(const char *tier, char *msg, size_t msglen)
{
	if (seccomp_stage(tier, msg, msglen) != 0)
		return -1;
	seccomp_commit(1);
	return 0;
}

int seccomp_stage(const char *tier, char *msg, size_t msglen)
{
	static const unsigned long nsflags[] = { CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID,
		CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWCGROUP };
	scmp_filter_ctx ctx;
	char path[] = "/tmp/mvm-agent-bpf-XXXXXX";
	struct stat st;
	int fd = -1, rc = -1;

	seccomp_commit(0);
	if (strcmp(tier, "unrestricted") == 0)
		return 0;       /* staged: len 0, none */
	if (strcmp(tier, "standard") != 0 && strcmp(tier, "minimal") != 0) {
		snprintf(msg, msglen, "unknown seccomp tier \"%.32s\" (minimal, standard, "
			"unrestricted)", tier);
		return -1;
	}
	int minimal = strcmp(tier, "minimal") == 0;
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
	/* Compile once: export the BPF program and keep it, so a child only
	 * needs prctl() between fork and exec. */
	fd = memfd_create("mvm-agent-bpf", MFD_CLOEXEC);
	if (fd < 0) {
		fd = mkstemp(path);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0 || seccomp_export_bpf(ctx, fd) != 0 || fstat(fd, &st) != 0 ||
	    st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0) {
		snprintf(msg, msglen, "cannot export the seccomp filter");
		goto out;
	}
	staged.filter = malloc((size_t)st.st_size);
	if (!staged.filter || pread(fd, staged.filter, (size_t)st.st_size, 0) != st.st_size) {
		snprintf(msg, msglen, "cannot read back the seccomp filter");
		goto out;
	}
	staged.len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	rc = 0;
out:
	if (rc != 0)
		seccomp_commit(0);
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return rc;
}

int seccomp_apply(void)
{
	return prog.len ? prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) : 0;
}

/* In the child: report errno on the status pipe and die. */
static __attribute__((noreturn)) void child_fail(int sfd, int step)
{
	int v[2] = { step, errno };

	if (write(sfd, v, sizeof v) < 0)
		_exit(127);
	_exit(127);
}

pid_t spawn_runner(const struct spawn *s, int fds[3])
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, st[2] = { -1, -1 };
	int v[2];
	pid_t pid;
	ssize_t n;
	char exe[32];

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) ||
	    pipe2(st, O_CLOEXEC))
		goto fail;
	snprintf(exe, sizeof exe, "/proc/self/fd/3");
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		sigset_t all;
		struct rlimit rl = { 0, 0 };
		int hi[4], i, sfd;

		sfd = fcntl(st[1], F_DUPFD_CLOEXEC, 10);
		if (sfd < 0)
			sfd = st[1];
		/* into the call's cgroup while still the agent's uid (agent.h) */
		if (s->cg_procs >= 0 && write(s->cg_procs, "0", 1) != 1)
			child_fail(sfd, 10);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		for (i = 1; i < NSIG; i++)
			signal(i, SIG_DFL);
		if (setpgid(0, 0) != 0)
			child_fail(sfd, 1);
		/* move what we keep above 10, then into 0..3 */
		hi[0] = fcntl(in[0], F_DUPFD_CLOEXEC, 10);
		hi[1] = fcntl(out[1], F_DUPFD_CLOEXEC, 10);
		hi[2] = fcntl(err[1], F_DUPFD_CLOEXEC, 10);
		hi[3] = fcntl(s->runner_fd, F_DUPFD_CLOEXEC, 10);
		for (i = 0; i < 4; i++)
			if (hi[i] < 0 || dup2(hi[i], i) != i)
				child_fail(sfd, 2);
		if (setrlimit(RLIMIT_CORE, &rl) != 0)
			child_fail(sfd, 4);
		if (s->set_ids) {
			/* (counted per uid: every runner together); never above
			 * the hard limit the agent has, which it may not raise */
			struct rlimit np;

			if (getrlimit(RLIMIT_NPROC, &np) != 0)
				child_fail(sfd, 4);
			if (np.rlim_max == RLIM_INFINITY || np.rlim_max > RUN_NPROC)
				np.rlim_max = RUN_NPROC;
			np.rlim_cur = np.rlim_max;
			if (setrlimit(RLIMIT_NPROC, &np) != 0)
				child_fail(sfd, 4);
			if (setgroups(0, NULL) != 0 || setresgid(s->gid, s->gid, s->gid) != 0 ||
			    setresuid(s->uid, s->uid, s->uid) != 0)
				child_fail(sfd, 5);
		}
		/* as the runner: its directory is its own (calldir.c) */
		if (s->cwd && chdir(s->cwd) != 0)
			child_fail(sfd, 3);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			child_fail(sfd, 6);
		/* only 0..3 and the status pipe (close-on-exec) survive */
		if (sfd > 4)
			close_range(4, (unsigned)sfd - 1, 0);
		close_range((unsigned)sfd + 1, ~0U, 0);
		if (prog.len && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
			child_fail(sfd, 8);
		execve(exe, s->argv ? s->argv : (char *const[]){ (char *)s->argv0, NULL }, s->env);
		child_fail(sfd, 9);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	close(st[1]);
	in[0] = out[1] = err[1] = st[1] = -1;
	/* exec succeeded iff the status pipe closes empty */
	do
		n = read(st[0], v, sizeof v);
	while (n < 0 && errno == EINTR);
	close(st[0]);
	if (n == sizeof v) {
		int status;

		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		close(in[1]);
		close(out[0]);
		close(err[0]);
		errno = v[1];
		return -1;
	}
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	fds[0] = in[1];
	fds[1] = out[0];
	fds[2] = err[0];
	return pid;
fail:
	{
		int saved = errno;

		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
			if (err[i] >= 0)
				close(err[i]);
			if (st[i] >= 0)
				close(st[i]);
		}
		errno = saved;
	}
	return -1;
}

/* Remove the entry name of the directory dfd (on device dev). */
static int rm_at(int dfd, const char *name, dev_t dev, int depth)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != ENOTDIR && errno != ELOOP)
			return -1;
		/* not a directory (a symlink included): the entry itself */
		return unlinkat(dfd, name, 0) == 0 || errno == ENOENT ? 0 : -1;
	}
	if (fstat(fd, &st) != 0 || st.st_dev != dev || depth >= RMTREE_DEPTH ||
	    !(d = fdopendir(fd))) {
		close(fd);
		return -1;      /* a mount point, or too deep: left alone */
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    rm_at(dirfd(d), de->d_name, dev, depth + 1) != 0)
			rc = -1;
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

int rmtree(const char *path)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	struct stat st;
	int dfd, rc;

	if (slash)
		snprintf(parent, sizeof parent, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	else
		snprintf(parent, sizeof parent, ".");
	/* (O_PATH: a sticky /tmp need not be readable, calldir.c) */
	if (!*base || (dfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fstat(dfd, &st) == 0 ? rm_at(dfd, base, st.st_dev, 0) : -1;
	close(dfd);
	return rc;
}
