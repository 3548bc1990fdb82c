/* spawn.c — starting a runner: fork, harden, exec the held file. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "agent.h"

/*
 * The tiers' programs (minimal, standard) are made at build time from the
 * lists in seccomp-gen.c (with libseccomp, on the build machine): see there
 * and mvm-agent(8).
 */
#include "seccomp-bpf.h"

/* The runners' program and seccomp_stage's, each one of those arrays
 * (the kernel only reads it); len 0 = none. */
static struct sock_fprog prog, staged;

void seccomp_commit(int keep)
{
	if (keep)
		prog = staged;
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
	const struct sock_filter *f;
	size_t n;

	seccomp_commit(0);
	if (strcmp(tier, "unrestricted") == 0)
		return 0;       /* staged: len 0, none */
	if (strcmp(tier, "minimal") == 0) {
		f = bpf_minimal;
		n = sizeof bpf_minimal / sizeof *f;
	} else if (strcmp(tier, "standard") == 0) {
		f = bpf_standard;
		n = sizeof bpf_standard / sizeof *f;
	} else {
		snprintf(msg, msglen, "unknown seccomp tier \"%.32s\" (minimal, standard, "
			"unrestricted)", tier);
		return -1;
	}
	staged.filter = (struct sock_filter *)f;
	staged.len = (unsigned short)n;
	return 0;
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
			sys_close_range(4, (unsigned)sfd - 1);
		sys_close_range((unsigned)sfd + 1, ~0U);
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
