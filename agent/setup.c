/* setup.c — the agent's options, global state, transports and privileges,
 * and the small helpers every unit uses. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/vm_sockets.h>
#include "agent.h"

const char *progname = "mvm-agent";
struct agent_opt opt = { "", "", "/tmp", NULL, "standard", 0, -2, -2, 4, 0 };
struct entry entry;
struct runtime rt;
char **base_env;
size_t nbase_env;
volatile int quitting;
int shutdown_asked;
int exit_when_idle;
struct agent_stats stats;

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void logmsg(const char *fmt, ...)
{
	char line[8000];   /* one write a line: the service supervisor shares the console */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", progname, line);
}

void die(int code, const char *fmt, ...)
{
	char line[8000];   /* one write, as logmsg's */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: fatal: %s\n", progname, line);
	exit(code);
}

void kill_group(pid_t pid, int sig)
{
	if (pid > 0)
		kill(-pid, sig);
}

void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

ssize_t read_small(const char *path, char *b, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r = fd >= 0 ? read(fd, b, n - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (r <= 0)
		return -1;
	b[r] = 0;
	return r;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s (--stdio | --serial-stdio | --vsock | --serial PATH|auto) [--port N]\n"
		"       [--root DIR] [--etc DIR] [--tmp DIR] [--run-uid UID[:GID]] [--user UID[:GID]]\n"
		"       [--seccomp minimal|standard|unrestricted] [--provision] [--egress-proxy]\n"
		"       [--egress-port N] [--max-calls N]\n"
		"       [--wrapper-config PATH] [--cgroup DIR] [--service FILE]\n"
		"       [--insecure-owner] [--check] [-v]\n", progname);
	exit(2);
}

static int parse_ids(const char *s, int *uid, int *gid)
{
	char *end;
	long u = strtol(s, &end, 10), g = u;

	if (end == s || u < 0 || u > 65534)
		return -1;
	if (*end == ':') {
		const char *gs = end + 1;

		g = strtol(gs, &end, 10);
		if (end == gs || g < 0 || g > 65534)
			return -1;
	}
	if (*end)
		return -1;
	*uid = (int)u;
	*gid = (int)g;
	return 0;
}

static unsigned long num_arg(const char *o, const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		die(2, "%s: a number is required", o);
	v = strtoul(s, &end, 10);
	if (*end || v < lo || v > hi)
		die(2, "%s: %s is not a number from %lu to %lu", o, s, lo, hi);
	return v;
}

/* Find the virtio-serial port named org.mvm.agent; make its node if the
 * kernel's devtmpfs has none.  Writes the path to out. */
static int find_serial(char *out, size_t n)
{
	const char *base = "/sys/class/virtio-ports";
	DIR *d = opendir(base);
	struct dirent *de;
	int found = -1;

	if (!d)
		return -1;
	while (found < 0 && (de = readdir(d))) {
		char p[PATH_MAX], name[128] = "", dev[32] = "";
		FILE *f;
		unsigned maj, min;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s/name", base, de->d_name);
		if (!(f = fopen(p, "re")))
			continue;
		if (!fgets(name, sizeof name, f))
			name[0] = 0;
		fclose(f);
		name[strcspn(name, "\n")] = 0;
		if (strcmp(name, "org.mvm.agent") != 0)
			continue;
		snprintf(out, n, "/dev/%s", de->d_name);
		found = 0;
		if (access(out, F_OK) == 0)
			break;
		snprintf(p, sizeof p, "%s/%s/dev", base, de->d_name);
		if (!(f = fopen(p, "re")))
			break;
		if (fgets(dev, sizeof dev, f) && sscanf(dev, "%u:%u", &maj, &min) == 2 &&
		    mknod(out, S_IFCHR | 0600, makedev(maj, min)) != 0 && errno != EEXIST)
			logmsg("cannot make %s: %s", out, strerror(errno));
		fclose(f);
	}
	closedir(d);
	return found;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die(4, "unable to make fd %d non-blocking: %s", fd, strerror(errno));
}

int base_env_add(char **kv, size_t n)
{
	char **v = realloc(base_env, (nbase_env + n + 1) * sizeof *v);

	if (!v)
		return -1;
	base_env = v;
	for (size_t i = 0; i < n; i++)
		base_env[nbase_env++] = kv[i];
	base_env[nbase_env] = NULL;
	return 0;
}

void base_env_init(void)
{
	static char path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
	static char cfg[PATH_MAX + 32];

	base_env = calloc(3, sizeof *base_env);
	if (!base_env)
		die(4, "out of memory");
	base_env[nbase_env++] = path;
	if (opt.wrapper_config) {
		snprintf(cfg, sizeof cfg, "MVM_WRAPPER_CONFIG=%s", opt.wrapper_config);
		base_env[nbase_env++] = cfg;
	}
}

/* Become uid:gid keeping the capabilities the agent still uses: SETUID
 * and SETGID (runners run as --run-uid; the call's directory is handled
 * with their file-system ids, calldir.c) and KILL (what a call started
 * dies with it).  Nothing over files (no DAC_OVERRIDE, FOWNER, CHOWN).
 * The bounding set is emptied first (as root, with CAP_SETPCAP): no
 * program the agent or a runner executes can ever gain a capability. */
void drop_to(int uid, int gid)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };
	unsigned keep = 1u << CAP_SETUID | 1u << CAP_SETGID | 1u << CAP_KILL;

	for (int c = 0; prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
			die(4, "unable to empty the capability bounding set: %s", strerror(errno));
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(0, NULL) != 0 ||
	    setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0 ||
	    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0)
		die(4, "unable to become %d:%d: %s", uid, gid, strerror(errno));
	d[0].effective = d[0].permitted = keep;
	if (syscall(SYS_capset, &h, d) != 0)
		die(4, "unable to keep capabilities: %s", strerror(errno));
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

int signals_init(void)
{
	sigset_t mask;
	int sfd;

	/* SIGCHLD must not be inherited as ignored (children would be reaped
	 * behind our back and never reported). */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
	    (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		die(4, "unable to set up signals: %s", strerror(errno));
	return sfd;
}

void args_parse(int argc, char **argv, struct args *a)
{
	*a = (struct args){ .transport = T_NONE, .port = AGENT_PORT, .user_uid = -1,
		.user_gid = -1 };
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

#define ARG() do { if (!v) usage(); i++; } while (0)
		if (!strcmp(o, "--stdio"))
			a->transport = T_STDIO;
		else if (!strcmp(o, "--serial-stdio"))
			a->transport = T_SERIAL_STDIO;
		else if (!strcmp(o, "--vsock"))
			a->transport = T_VSOCK;
		else if (!strcmp(o, "--serial")) {
			ARG();
			a->transport = T_SERIAL;
			a->serial = v;
		} else if (!strcmp(o, "--port")) {
			ARG();
			a->port = num_arg(o, v, 1, 0xffffffffUL - 1);
		} else if (!strcmp(o, "--root")) {
			ARG();
			opt.root = v;
		} else if (!strcmp(o, "--etc")) {
			ARG();
			snprintf(opt.etc, sizeof opt.etc, "%s", v);
		} else if (!strcmp(o, "--tmp")) {
			ARG();
			opt.tmp = v;
		} else if (!strcmp(o, "--run-uid")) {
			ARG();
			if (parse_ids(v, &opt.run_uid, &opt.run_gid) != 0)
				die(2, "--run-uid: %s is not UID[:GID]", v);
		} else if (!strcmp(o, "--user")) {
			ARG();
			if (parse_ids(v, &a->user_uid, &a->user_gid) != 0)
				die(2, "--user: %s is not UID[:GID]", v);
		} else if (!strcmp(o, "--seccomp")) {
			ARG();
			opt.seccomp = v;
		} else if (!strcmp(o, "--max-calls")) {
			ARG();
			opt.max_calls = (unsigned)num_arg(o, v, 1, 64);
		} else if (!strcmp(o, "--wrapper-config")) {
			ARG();
			opt.wrapper_config = v;
		} else if (!strcmp(o, "--insecure-owner"))
			opt.insecure_owner = 1;
		else if (!strcmp(o, "--cgroup")) {
			ARG();
			opt.cgroup = v;
		} else if (!strcmp(o, "--provision"))
			opt.provision = 1;
		else if (!strcmp(o, "--egress-proxy"))
			opt.egress = 1;
		else if (!strcmp(o, "--service")) {
			ARG();
			opt.service = v;
		} else if (!strcmp(o, "--egress-port")) {
			ARG();
			opt.egress_port = (unsigned)num_arg(o, v, 1, 65535);
		}
		else if (!strcmp(o, "--check"))
			a->check = 1;
		else if (!strcmp(o, "-v") || !strcmp(o, "--verbose"))
			opt.verbose = 1;
		else
			usage();
#undef ARG
	}
	if (a->transport == T_NONE && !a->check)
		usage();
	if (!opt.etc[0])
		snprintf(opt.etc, sizeof opt.etc, "%s/etc/mvm", opt.root);
	if (opt.run_uid == -2) {
		/* default: the runner as uid 1000 when the agent is root */
		if (geteuid() == 0)
			opt.run_uid = opt.run_gid = 1000;
		else
			opt.run_uid = opt.run_gid = -1;
	} else if (geteuid() != 0) {
		die(2, "--run-uid needs the agent to start as root");
	}
	if (a->user_uid >= 0 && geteuid() != 0)
		die(2, "--user needs the agent to start as root");
}

void transport_open(const struct args *a)
{
	static char spath[PATH_MAX];
	const char *serial = a->serial;

	switch (a->transport) {
	case T_STDIO: {
		struct conn *c = conn_new(CONN_FD);

		c->rfd = 0;
		c->wfd = 1;
		set_nonblock(0);
		set_nonblock(1);
		exit_when_idle = 1;
		break;
	}
	case T_SERIAL_STDIO:
		mux.on = 1;
		mux.rfd = 0;
		mux.wfd = 1;
		mux.is_stdio = 1;
		set_nonblock(0);
		set_nonblock(1);
		exit_when_idle = 1;
		break;
	case T_SERIAL:
		if (!strcmp(serial, "auto")) {
			if (find_serial(spath, sizeof spath) != 0)
				die(4, "no virtio-serial port named org.mvm.agent");
			serial = spath;
		}
		mux.on = 1;
		mux.rfd = mux.wfd = open(serial, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (mux.rfd < 0)
			die(4, "unable to open %s: %s", serial, strerror(errno));
		break;
	case T_VSOCK: {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
			.svm_port = (unsigned)a->port };

		listen_fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
		    listen(listen_fd, 16) != 0)
			die(4, "unable to listen on vsock port %lu: %s", a->port, strerror(errno));
		break;
	}
	default:
		usage();
	}
}
