/* cgroup.c — a cgroup v2 per cold call: its memory limit, and cgroup.kill
 * to end every process it started (agent.h "contained calls"). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"

#define CG_STALE_MAX 64          /* cgroups whose rmdir is retried later */

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
	int fd;
	ssize_t n;
	size_t kn = strlen(key);

	snprintf(p, sizeof p, "%s/%s", dir, file);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return 0;
	b[n] = 0;
	for (l = b; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, kn) == 0 && l[kn] == ' ')
			return strtoull(l + kn + 1, NULL, 10);
	return 0;
}

static uint64_t mem_total(void)
{
	char b[256];
	unsigned long long kb = 0;
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, b, sizeof b - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	b[n] = 0;
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

int cg_call_begin(struct call *k)
{
	char dir[PATH_MAX], v[32];

	k->cg_id = 0;
	k->cg_procs = -1;
	if (!cg_call_max)
		return 0;
	for (unsigned i = 0; i < CG_STALE_MAX; i++)
		if (stale[i]) {
			snprintf(dir, sizeof dir, "%s/c%u", base, stale[i]);
			if (cg_remove(dir) == 0)
				stale[i] = 0;
		}
	if (++cg_seq == 0)
		cg_seq = 1;
	snprintf(dir, sizeof dir, "%s/c%u", base, cg_seq);
	if (mkdir(dir, 0755) != 0)
		return -1;
	snprintf(v, sizeof v, "%" PRIu64, cg_call_max);
	if (put(dir, "memory.max", v) == 0 && put(dir, "memory.oom.group", "1") == 0) {
		snprintf(v, sizeof v, "%u", RUN_NPROC);
		if (put(dir, "pids.max", v) == 0) {
			snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/cgroup.procs");
			if ((k->cg_procs = open(dir, O_WRONLY | O_CLOEXEC)) >= 0) {
				k->cg_id = cg_seq;
				return 0;
			}
		}
	}
	int saved = errno;

	snprintf(dir, sizeof dir, "%s/c%u", base, cg_seq);
	rmdir(dir);
	errno = saved;
	return -1;
}

int cg_call_end(struct call *k)
{
	char dir[PATH_MAX];
	int oom;

	if (!k->cg_id)
		return 0;
	close_fd(&k->cg_procs);
	snprintf(dir, sizeof dir, "%s/c%u", base, k->cg_id);
	put(dir, "cgroup.kill", "1");
	oom = counter(dir, "memory.events", "oom_kill") > 0 ||
		counter(dir, "memory.events", "oom_group_kill") > 0;
	if (cg_remove(dir) != 0) {
		unsigned i = 0;

		while (i < CG_STALE_MAX && stale[i])
			i++;
		if (i < CG_STALE_MAX)
			stale[i] = k->cg_id;
		logmsg("cgroup %s is still populated", dir);
	}
	k->cg_id = 0;
	return oom;
}
