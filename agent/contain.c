/* contain.c — what a call started dies when the call ends.
 *
 * A cold call's cgroup (cgroup.c) ends every process of it by cgroup.kill
 * when there are cgroups, and a warm worker's cgroup is emptied of all but
 * the worker after each call; this sweep is the net under both (an agent
 * without --cgroup): the agent, a child subreaper, finds what to kill in
 * /proc: every process
 * descending from the agent that is not a live runner or warm worker, or
 * a descendant of one (nor the command service's supervisor and what it
 * runs: service.c).  A process that leaves its runner's tree (setsid,
 * a double fork, Node's detached spawn: its parent exits and it is handed
 * to the agent) is thus killed at the latest when its call ends. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"

#define SWEEP_ROUNDS 200
#define SWEEP_MAX 4096          /* processes looked at in one round */

struct proc {
	pid_t pid, ppid;
	char state;
};

/* pid's parent and state from /proc/PID/stat: 0, or -1 (gone). */
static int proc_stat(pid_t pid, pid_t *ppid, char *state)
{
	char p[64], b[512], *r;
	int ppid_i;

	snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
	if (read_small(p, b, sizeof b) < 0)
		return -1;
	/* "pid (comm) S ppid ...": comm may hold anything, so from the last ')' */
	if (!(r = strrchr(b, ')')) || sscanf(r + 1, " %c %d", state, &ppid_i) != 2)
		return -1;
	*ppid = (pid_t)ppid_i;
	return 0;
}

static size_t proc_list(struct proc *ps, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while (n < max && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		ps[n].pid = (pid_t)pid;
		if (proc_stat(ps[n].pid, &ps[n].ppid, &ps[n].state) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Is pid a live runner or worker, or the command service's supervisor
 * (the root of a kept subtree)? */
static int kept_root(pid_t pid)
{
	if (pid == service_supervisor() && pid > 0)
		return 1;
	for (struct call *k = running; k; k = k->next)
		if (k->pid == pid && !k->exited)
			return 1;
	for (unsigned i = 0; i < POOL_MAX; i++)
		if (workers[i].pid == pid && workers[i].state != W_EMPTY)
			return 1;
	return 0;
}

static const struct proc *find(const struct proc *ps, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (ps[i].pid == pid)
			return &ps[i];
	return NULL;
}

/* Does p descend from the agent (self) through no kept root, or through
 * the worker strip? */
static int doomed(const struct proc *ps, size_t n, const struct proc *p, pid_t self, pid_t strip)
{
	pid_t a = p->ppid;

	if (p->state == 'Z' || p->pid == self || kept_root(p->pid))
		return 0;
	for (int depth = 0; depth < 4096; depth++) {
		const struct proc *q;

		if (a == self)
			return 1;
		if (kept_root(a))
			return a == strip;
		if (!(q = find(ps, n, a)))
			return 0;
		a = q->ppid;
	}
	return 0;
}

/* Kill p (a descendant, its parent ppid): through a pidfd, and only if
 * the process that pidfd names still has that parent, so that a pid the
 * kernel gave to someone else meanwhile is not hit. */
static void kill_verified(pid_t pid, pid_t ppid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	pid_t now;
	char st;

	if (fd < 0) {
		if (errno == ENOSYS && proc_stat(pid, &now, &st) == 0 && now == ppid)
			kill(pid, SIGKILL);
		return;
	}
	if (proc_stat(pid, &now, &st) == 0 && now == ppid)
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	close(fd);
}

void contain_sweep(pid_t strip)
{
	static struct proc ps[SWEEP_MAX];
	pid_t self = getpid();

	for (int round = 0; round < SWEEP_ROUNDS; round++) {
		size_t n = proc_list(ps, SWEEP_MAX);
		unsigned hit = 0;

		for (size_t i = 0; i < n; i++)
			if (doomed(ps, n, &ps[i], self, strip)) {
				kill_verified(ps[i].pid, ps[i].ppid);
				hit++;
			}
		if (!hit)
			return;
		if (round > 2) {
			/* the killed are still dying: give them a moment */
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	logmsg("processes left by a call survive SIGKILL");
}
