/* init.c — PID 1 of an mvm guest: /sbin/init is a link to mvm-agent, and
 * main() runs init_main() when called as "init".  See mvm-agent(8), INIT.
 *
 * Mounts the kernel file systems, sets the hostname, makes /etc read-only,
 * mounts the drives (initdev.c), configures the network (initdev.c),
 * starts the agent and starts it again two seconds after it exits, reaps
 * every orphan, and on SIGTERM/SIGINT/SIGUSR2, when the agent exits 80
 * (the host asked for a shutdown) or cannot be started at all, stops the
 * agent, syncs and reboots, which makes the VMM exit (reboot=t,
 * -no-reboot).  PID 1 never exits.
 *
 * It was a busybox sh script until issue 18's boot work: under TCG the
 * shell and the processes it started (mount, mkdir, ln) cost 0.12 s of a
 * 0.83 s boot to ready on the plain root and 0.26 s through dm-verity,
 * where busybox (1.5 MB read) was hashed too (bench/RESULTS.md).  One
 * binary for both keeps the agent's pages in the page cache for its exec.
 *
 * Kernel command line (all optional):
 *   mvm.hostname=NAME    hostname (default: /etc/mvm/name, else "mvm")
 *   mvm.ip=A.B.C.D/N     eth0's address; lo and eth0 are brought up
 *
 * Tests run it on the host (environment):
 *   MVM_INIT_ROOT=DIR    every guest path is under DIR; never reboots (exits)
 *   MVM_INIT_DRYRUN=1    print each change as the command that would make
 *                        it ("+ ...") instead of making it, and exit after
 *                        starting
 *   MVM_AGENT=PATH       the agent (default /usr/bin/mvm-agent)
 *   MVM_INIT_TRANSPORT=  the agent's transport option(s), with MVM_INIT_ROOT only
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"
#include "init.h"
#include "monoclock.h"

struct init_ctx ini;

/* One console line, prefix then fmt, in one write (the console interleaves
 * the agent's lines with ours). */
static void line_out(const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "%s", prefix);

	n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	(void)!write(STDOUT_FILENO, line, (size_t)n);
}

void ilog(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line_out("mvm-init: ", fmt, ap);
	va_end(ap);
}

/* A dry run's "+ ..." line. */
void ishow(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line_out("+ ", fmt, ap);
	va_end(ap);
}

/* "-o" words of mount(8) that are flags; the rest go to the file system. */
static const struct { const char *w; unsigned long f; } mflags[] = {
	{ "ro", MS_RDONLY }, { "rw", 0 }, { "nosuid", MS_NOSUID }, { "nodev", MS_NODEV },
	{ "noexec", MS_NOEXEC }, { "bind", MS_BIND }, { "remount", MS_REMOUNT },
};

int imount(const char *type, const char *opts, const char *src, const char *dst)
{
	char data[256] = "", o[256], *w, *save;
	unsigned long flags = 0;
	size_t i;

	if (ini.dry) {
		ishow("mount -t %s -o %s %s %s", type, opts, src, dst);
		return 0;
	}
	snprintf(o, sizeof o, "%s", opts);
	for (w = strtok_r(o, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof mflags / sizeof *mflags && strcmp(w, mflags[i].w); i++)
			;
		if (i < sizeof mflags / sizeof *mflags) {
			flags |= mflags[i].f;
		} else {
			size_t l = strlen(data);
			snprintf(data + l, sizeof data - l, "%s%s", l ? "," : "", w);
		}
	}
	if (mount(src, dst, type, flags, data[0] ? data : NULL) == 0)
		return 0;
	ilog("failed: mount -t %s -o %s %s %s: %s", type, opts, src, dst, strerror(errno));
	return -1;
}

/* mkdir -p of those of dirs[] that are missing, shown as one command. */
static void mkdirs(const char *const *dirs)
{
	char line[1024] = "";
	struct stat st;

	for (; *dirs; dirs++) {
		if (stat(*dirs, &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		size_t l = strlen(line);
		snprintf(line + l, sizeof line - l, " %s", *dirs);
		if (ini.dry)
			continue;
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s", *dirs);
		for (char *s = p + 1; *s; s++)
			if (*s == '/') {
				*s = 0;
				mkdir(p, 0755);
				*s = '/';
			}
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			ilog("failed: mkdir -p %s: %s", p, strerror(errno));
	}
	if (ini.dry && line[0])
		ishow("mkdir -p%s", line);
}

const char *rpath(char *buf, size_t n, const char *guest)
{
	snprintf(buf, n, "%s%s", ini.root, guest);
	return buf;
}

/* Seconds since boot from /proc/uptime, as the console shows them. */
static const char *uptime_now(char *buf, size_t n)
{
	char p[PATH_MAX], *sp;

	if (read_line(rpath(p, sizeof p, "/proc/uptime"), buf, n) != 0 || !(sp = strchr(buf, ' ')))
		return snprintf(buf, n, "?"), buf;
	*sp = 0;
	return buf;
}

/* ---- 1. kernel file systems ---- */
static void mounts(void)
{
	char pr[PATH_MAX], sy[PATH_MAX], dv[PATH_MAX], tm[PATH_MAX], ru[PATH_MAX], up[32];
	char pts[PATH_MAX], shm[PATH_MAX], cg[PATH_MAX], sec[PATH_MAX], l[PATH_MAX];
	const char *top[] = { rpath(pr, sizeof pr, "/proc"), rpath(sy, sizeof sy, "/sys"),
		rpath(dv, sizeof dv, "/dev"), rpath(tm, sizeof tm, "/tmp"),
		rpath(ru, sizeof ru, "/run"), NULL };
	static const char *const links[][2] = { { "/dev/fd", "/proc/self/fd" },
		{ "/dev/stdin", "/proc/self/fd/0" }, { "/dev/stdout", "/proc/self/fd/1" },
		{ "/dev/stderr", "/proc/self/fd/2" } };
	struct stat st;

	mkdirs(top);
	imount("proc", "nosuid,nodev,noexec", "proc", pr);
	ilog("starting at %s s", uptime_now(up, sizeof up));
	/* the kernel has mounted it already when built with DEVTMPFS_MOUNT */
	if (lstat(rpath(l, sizeof l, "/dev/null"), &st) != 0)
		imount("devtmpfs", "nosuid,mode=0755", "devtmpfs", dv);
	const char *sub[] = { rpath(pts, sizeof pts, "/dev/pts"), rpath(shm, sizeof shm, "/dev/shm"),
		NULL };
	mkdirs(sub);
	imount("sysfs", "nosuid,nodev,noexec", "sysfs", sy);
	imount("cgroup2", "nosuid,nodev,noexec", "cgroup2", rpath(cg, sizeof cg, "/sys/fs/cgroup"));
	imount("devpts", "nosuid,noexec,mode=0620,gid=5,ptmxmode=0666", "devpts", pts);
	imount("tmpfs", "nosuid,nodev,mode=1777", "tmpfs", shm);
	imount("tmpfs", "nosuid,nodev,mode=1777", "tmpfs", tm);
	imount("tmpfs", "nosuid,nodev,mode=0755", "tmpfs", ru);
	imount("tmpfs", "nosuid,nodev,noexec,mode=0700,uid=" WORKER_ID ",gid=" WORKER_ID ",size=1m",
		"tmpfs", rpath(sec, sizeof sec, "/mnt/secrets"));
	for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
		if (lstat(rpath(l, sizeof l, links[i][0]), &st) == 0)
			continue;
		if (ini.dry)
			ishow("ln -s %s %s", links[i][1], l);
		else if (symlink(links[i][1], l) != 0)
			ilog("failed: ln -s %s %s: %s", links[i][1], l, strerror(errno));
	}
}

/* ---- 6. the agent ---- */
static pid_t agent_pid;
static sigset_t sigs;   /* TERM, INT, USR2, CHLD: blocked, taken by sigtimedwait */

/* Wait up to ms milliseconds (-1: no limit) for a signal, reaping every
 * child that ended.  Returns the stop signal taken, 0 when the agent
 * ended (its shell-style status in *status), or -1 on the timeout. */
static int await(long ms, int *status)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	for (;;) {
		int s = sigtimedwait(&sigs, NULL, ms < 0 ? NULL : &ts);
		int st, ended = 0;
		pid_t p;

		if (s < 0 && errno == EINTR)
			continue;
		if (s < 0)
			return -1;
		if (s != SIGCHLD)
			return s;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0)
			if (p == agent_pid) {
				*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				agent_pid = 0;
				ended = 1;
			}
		if (ended)
			return 0;
	}
}

static void __attribute__((noreturn)) shutdown_guest(void)
{
	char up[32];
	int st;

	ilog("shutting down at %s s", uptime_now(up, sizeof up));
	if (agent_pid > 0) {
		kill(agent_pid, SIGTERM);
		for (int i = 0; i < 20 && agent_pid > 0; i++)
			await(100, &st);
		if (agent_pid > 0)
			kill(agent_pid, SIGKILL);
	}
	sync();
	if (ini.root[0] || getpid() != 1) {
		ilog("reboot -f (not PID 1 of a guest: exiting instead)");
		exit(0);
	}
	reboot(RB_AUTOBOOT);
	for (;;)   /* not reached; PID 1 must not exit */
		pause();
}

/* PID 1 runs the agent itself and starts it again two seconds after it
 * exits, unless it exits with status 80, the host's shutdown request.
 * Waiting for it also reaps the orphans the kernel hands to PID 1. */
static void __attribute__((noreturn)) run_agent(const char **argv)
{
	char up[32];
	int st = 0;

	for (;;) {
		/* logged first: the agent may talk to the host (or be signalled) at once */
		ilog("agent started at %s s", uptime_now(up, sizeof up));
		if ((agent_pid = fork()) == 0) {
			sigset_t none;

			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			execv(argv[0], (char *const *)argv);
			fprintf(stderr, "mvm-init: %s: %s\n", argv[0], strerror(errno));
			_exit(127);
		}
		if (agent_pid < 0) {
			ilog("failed: fork: %s", strerror(errno));
			agent_pid = 0;
			st = 127;
		} else if (await(-1, &st) > 0) {
			shutdown_guest();
		}
		/* 80: the host asked the agent for a shutdown */
		if (st == AGENT_EXIT_SHUTDOWN)
			shutdown_guest();
		ilog("agent exited with status %d; restarting", st);
		for (double end = mono_ms() + 2000, left = 2000; left > 0; left = end - mono_ms())
			if (await((long)left + 1, &st) > 0)
				shutdown_guest();
	}
}

int init_main(void)
{
	const char *dry = getenv("MVM_INIT_DRYRUN"), *agent = getenv("MVM_AGENT");
	const char *argv[24], *root = getenv("MVM_INIT_ROOT");
	char p[PATH_MAX], svc[PATH_MAX];
	int n = 0;

	if (root && strlen(root) >= sizeof ini.root) {
		fprintf(stderr, "mvm-init: MVM_INIT_ROOT is longer than %zu bytes\n", sizeof ini.root - 1);
		return 2;
	}
	snprintf(ini.root, sizeof ini.root, "%s", root ? root : "");
	ini.dry = dry && !strcmp(dry, "1");
	snprintf(ini.agent, sizeof ini.agent, "%s", agent ? agent : rpath(p, sizeof p, "/usr/bin/mvm-agent"));
	if (!ini.dry && !ini.root[0] && getpid() != 1) {
		fprintf(stderr, "mvm-init: not PID 1; refusing to run (set MVM_INIT_ROOT for tests)\n");
		return 2;
	}
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
	umask(022);
	/* PID 1 takes its signals in await(); the agent gets them unblocked */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR2);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	mounts();
	if (read_line(rpath(p, sizeof p, "/proc/cmdline"), ini.cmdline, sizeof ini.cmdline) != 0)
		ini.cmdline[0] = 0;
	set_hostname();
	users();
	etc_ro();
	drives();
	network();

	n = transport(argv);
	if (!n) {
		ilog("no agent transport (neither /dev/vsock nor a virtio port org.mvm.agent)");
		ilog("cannot start the agent");
		if (ini.dry)
			return 1;
		shutdown_guest();
	}
	memmove(argv + 1, argv, (size_t)n * sizeof *argv);
	argv[0] = ini.agent;
	n++;
	argv[n++] = "--provision";
	argv[n++] = "--user";
	argv[n++] = AGENT_ID ":" AGENT_ID;
	argv[n++] = "--run-uid";
	argv[n++] = WORKER_ID ":" WORKER_ID;
	/* an egress allowlist (issue #16): the agent's end of the host's proxy */
	if (access(rpath(p, sizeof p, "/etc/mvm/egress.json"), R_OK) == 0)
		argv[n++] = "--egress-proxy";
	/* the app's command service (issue #16): the agent starts it once provisioned */
	if (access(rpath(svc, sizeof svc, "/etc/mvm/service.json"), R_OK) == 0) {
		argv[n++] = "--service";
		argv[n++] = svc;
	}
	if (ini.root[0]) {
		argv[n++] = "--root";
		argv[n++] = ini.root;
	} else if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
		/* a cgroup for each call (contained calls, mvm-agent(8)) */
		argv[n++] = "--cgroup";
		argv[n++] = "/sys/fs/cgroup";
	}
	argv[n] = NULL;
	if (ini.dry) {
		char line[2048] = "";
		for (int i = 0; i < n; i++) {
			size_t l = strlen(line);
			snprintf(line + l, sizeof line - l, "%s%s", i ? " " : "", argv[i]);
		}
		ishow("%s", line);
		ishow("wait forever");
		return 0;
	}
	run_agent(argv);
}
