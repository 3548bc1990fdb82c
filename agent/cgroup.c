/* cgroup.c — a cgroup v2 per cold call and per warm worker: its memory
 * limit, and cgroup.kill to end every process it started (agent.h
 * "contained calls"). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"

#define CG_STALE_MAX 64          /* cgroups whose rmdir is retried later */
#define CG_WARM 0x80000000u       /* an id's bit: a worker's (w<N>), not a call's (c<N>) */

uint64_t cg_call_max;
static char base[PATH_MAX - 64];   /* DIR/mvm */
static unsigned cg_seq, stale[CG_STALE_MAX];

/* Write s to dir/file: 0, or -1 (errno). */
static int put(const char *dir, const char *file, const char *s)
{
	char p[PATH_MAX];
	int fd, rc;
	size_t n = strlen(s);

	snprintf(p, sizeof p, "%s/%s", dir, file);
	if ((fd = open(p, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	rc = write(fd, s, n) == (ssize_t)n ? 0 : -1;
	close(fd);
	return rc;
}

/* The value of "key N" in dir/file (memory.events), 0 when absent. */
static unsigned long long counter(const char *dir, const char *file, const char *key)
{
	char p[PATH_MAX], b[1024], *l;
	size_t kn = strlen(key);

	snprintf(p, sizeof p, "%s/%s", dir, file);
	if (read_small(p, b, sizeof b) < 0)
		return 0;
	for (l = b; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, kn) == 0 && l[kn] == ' ')
			return strtoull(l + kn + 1, NULL, 10);
	return 0;
}

static uint64_t mem_total(void)
{
	char b[256];
	unsigned long long kb = 0;

	if (read_small("/proc/meminfo", b, sizeof b) < 0)
		return 0;
	return sscanf(b, "MemTotal: %llu kB", &kb) == 1 ? (uint64_t)kb * 1024 : 0;
}

/* Kill what is in cgroup dir, then remove it: 0, or -1 (still populated). */
static int cg_remove(const char *dir)
{
	for (int i = 0; i < 100; i++) {
		struct timespec ts = { 0, 1000000 };

		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -1;
		put(dir, "cgroup.kill", "1");
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* The directory of cgroup id (c<N> or w<N>) into p. */
static void cg_dir(char *p, size_t n, unsigned id)
{
	snprintf(p, n, "%s/%c%u", base, id & CG_WARM ? 'w' : 'c', id & ~CG_WARM);
}

void cg_setup(const char *dir, int uid, int gid)
{
	char p[PATH_MAX], pid[32];
	uint64_t total = mem_total(), reserve = (uint64_t)CG_RESERVE_MB << 20;

	if (!dir)
		return;
	snprintf(base, sizeof base, "%s/mvm", dir);
	snprintf(p, sizeof p, "%s/agent", base);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	/* (an agent restarted by init finds its predecessor's tree) */
	if ((mkdir(base, 0755) != 0 && errno != EEXIST) ||
	    (mkdir(p, 0755) != 0 && errno != EEXIST) || put(p, "cgroup.procs", pid) != 0 ||
	    put(dir, "cgroup.subtree_control", "+memory +pids") != 0 ||
	    put(base, "cgroup.subtree_control", "+memory +pids") != 0) {
		logmsg("no cgroups for calls: %s: %s", base, strerror(errno));
		return;
	}
	snprintf(p, sizeof p, "%s/cgroup.procs", base);
	if (uid >= 0 && (chown(base, (uid_t)uid, (gid_t)gid) != 0 ||
	    chown(p, (uid_t)uid, (gid_t)gid) != 0)) {
		logmsg("no cgroups for calls: cannot delegate %s: %s", base, strerror(errno));
		return;
	}
	cg_call_max = total > 2 * reserve ? total - reserve : total / 2;
	if (!cg_call_max)
		logmsg("no cgroups for calls: no MemTotal in /proc/meminfo");
}

/* Retry the removal of the cgroups left populated, then make a new one
 * (kind: 0 or CG_WARM) with the limits agent.h gives and open its
 * cgroup.procs: 0 (*id, *procs set), or -1 (errno). */
static int cg_make(unsigned kind, unsigned *id, int *procs)
{
	char dir[PATH_MAX], v[32];

	for (unsigned i = 0; i < CG_STALE_MAX; i++)
		if (stale[i]) {
			cg_dir(dir, sizeof dir, stale[i]);
			if (cg_remove(dir) == 0)
				stale[i] = 0;
		}
	if (++cg_seq >= CG_WARM)
		cg_seq = 1;
	cg_dir(dir, sizeof dir, cg_seq | kind);
	if (mkdir(dir, 0755) != 0)
		return -1;
	snprintf(v, sizeof v, "%" PRIu64, cg_call_max);
	if (put(dir, "memory.max", v) == 0 && put(dir, "memory.oom.group", "1") == 0) {
		snprintf(v, sizeof v, "%u", RUN_NPROC);
		if (put(dir, "pids.max", v) == 0) {
			snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/cgroup.procs");
			if ((*procs = open(dir, O_WRONLY | O_CLOEXEC)) >= 0) {
				*id = cg_seq | kind;
				return 0;
			}
		}
	}
	int saved = errno;

	cg_dir(dir, sizeof dir, cg_seq | kind);
	rmdir(dir);
	errno = saved;
	return -1;
}

/* Kill everything in cgroup id and remove it (kept for a later retry when
 * it stays populated): 1 when the kernel OOM-killed in it, else 0. */
static int cg_end(unsigned id)
{
	char dir[PATH_MAX];
	int oom;

	cg_dir(dir, sizeof dir, id);
	put(dir, "cgroup.kill", "1");
	oom = counter(dir, "memory.events", "oom_kill") > 0 ||
		counter(dir, "memory.events", "oom_group_kill") > 0;
	if (cg_remove(dir) != 0) {
		unsigned i = 0;

		while (i < CG_STALE_MAX && stale[i])
			i++;
		if (i < CG_STALE_MAX)
			stale[i] = id;
		logmsg("cgroup %s is still populated", dir);
	}
	return oom;
}

int cg_call_begin(struct call *k)
{
	k->cg_id = 0;
	k->cg_procs = -1;
	return cg_call_max ? cg_make(0, &k->cg_id, &k->cg_procs) : 0;
}

int cg_call_end(struct call *k)
{
	int oom;

	if (!k->cg_id)
		return 0;
	close_fd(&k->cg_procs);
	oom = cg_end(k->cg_id);
	k->cg_id = 0;
	return oom;
}

int cg_worker_begin(struct worker *w, int *procs)
{
	w->cg_id = 0;
	*procs = -1;
	return cg_call_max ? cg_make(CG_WARM, &w->cg_id, procs) : 0;
}

/* Is pid (still) in cgroup dir (its /proc/PID/cgroup line "0::/.../w<N>")? */
static int in_cg(pid_t pid, const char *dir)
{
	char p[64], b[512];
	const char *name = strrchr(dir, '/');
	size_t nl, bl;

	snprintf(p, sizeof p, "/proc/%d/cgroup", (int)pid);
	if (read_small(p, b, sizeof b) < 0)
		return 0;
	bl = strcspn(b, "\n");
	nl = strlen(name);
	return strncmp(b, "0::", 3) == 0 && bl >= nl && memcmp(b + bl - nl, name, nl) == 0;
}

int cg_worker_strip(struct worker *w)
{
	char dir[PATH_MAX], p[PATH_MAX + 16], b[4096];

	if (!w->cg_id)
		return -1;
	cg_dir(dir, sizeof dir, w->cg_id);
	snprintf(p, sizeof p, "%s/cgroup.procs", dir);
	for (int round = 0; round < 100; round++) {
		unsigned others = 0;
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, b, sizeof b - 1) : -1;

		if (fd >= 0)
			close(fd);
		if (n < 0)
			return -1;
		b[n] = 0;
		for (char *l = b, *end; *l; l = end) {
			long pid = strtol(l, &end, 10);

			if (end == l || *end != '\n')
				break;  /* (a line cut by the buffer: the next round) */
			end++;
			if (pid <= 0 || pid == w->pid)
				continue;
			others++;
			/* through a pidfd, and only while the pid is still in
			 * this cgroup (not one the kernel gave to another) */
			int pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
			if (pfd >= 0) {
				if (in_cg((pid_t)pid, dir))
					syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
				close(pfd);
			}
		}
		if (!others)
			return 0;
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	logmsg("cgroup %s: processes left by a warm call survive SIGKILL", dir);
	return -1;
}

int cg_worker_end(struct worker *w)
{
	int oom;

	if (!w->cg_id)
		return 0;
	oom = cg_end(w->cg_id);
	w->cg_id = 0;
	return oom;
}
