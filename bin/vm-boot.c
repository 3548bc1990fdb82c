/* vm-boot — run an admitted plan: boot its image as a microVM, supervise it,
 * serve its agent on a Firecracker-style socket (vm-boot(1)) */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "enc.h"
#include "frame.h"
#include "json.h"
#include "muxhost.h"
#include "tool.h"
#include "vmm.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-d] [--ready-fd n] [-k pubfile]... [-i imagedir] [-S statedir]\n"
		"       [-b backend] [-a accel] [-f auditlog] [-s secretfile] [--rehash] [--now time]\n"
		"       plan.dsse.json\n"
		"       %s --print-config [-i imagedir] [-S statedir] plan.json\n"
		"Admit a signed ExecutionPlan, record it in the audit log, boot its image and\n"
		"supervise it in the foreground, serving the guest agent on statedir/v.sock.\n"
		"  -d            detach once the agent answers (print the socket path, exit 0)\n"
		"  --ready-fd n  once the agent answers, write the socket path and a newline\n"
		"                on file descriptor n and close it\n"
		"  -k file       trusted public key for plan-verify (repeatable)\n"
		"  -i dir        the image: rootfs.ext4, vmlinux, mvm-meta.json (default .mvm/image/current)\n"
		"  -S dir        state directory (default .mvm/run/<plan id>)\n"
		"  -b backend    auto (default), qemu or firecracker\n"
		"  -a accel      auto (default), kvm or tcg (QEMU)\n"
		"  -f log        audit log for audit-append (default its own)\n"
		"  -s file       secret key for audit-append (default its own)\n"
		"  --rehash      hash every image file, even one unchanged since it was last\n"
		"                hashed (default: plan-verify --digest-cache)\n"
		"  --now time    check the plan's window at time (tests)\n"
		"  --print-config  print the Firecracker config for a plan and image; boot nothing\n"
		"Exit: 0 the VM ran and stopped (or -d: it is up), 1 plan refused, 2 usage,\n"
		"3 malformed input, 4 system error, 124 the agent was not ready in time,\n"
		"125 the VMM failed.\n",
		progname, progname);
	exit(code);
}

/* ==================== admission and the audit record ====================
 * Everything vm-boot knows about admitting a plan and recording what
 * happened: plan-verify decides (exec'd), audit-append records (exec'd),
 * plan_read takes what the launcher needs from the admitted plan.  Kept in
 * this one section so that it can be replaced by in-process calls to
 * lib/admit and lib/audit (issue 12) without touching the launcher. */

static char self_dir[PATH_MAX - 64];

/* Our sibling tools first (a checkout's bin/), then PATH. */
static const char *tool_path(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", self_dir, name);
	if (self_dir[0] && access(buf, X_OK) == 0)
		return buf;
	snprintf(buf, n, "%s", name);
	return buf;
}

/* Run argv; capture stdout into out (if not NULL) and stderr into err.
 * Returns the exit status, or -1. */
static int run_capture(char *const argv[], struct buf *out, struct buf *err)
{
	int po[2], pe[2], status;
	pid_t pid;
	struct merr e;

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: unable to run %s: %s\n", progname, argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* outputs are small (a plan, a message): read one after the other */
	if (out)
		read_fd(po[0], out, &e);
	read_fd(pe[0], err, &e);
	close(po[0]);
	close(pe[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- audit ---- */

static const char *audit_log, *audit_key, *envelope_path;

/* Record event for the plan, with one label key=value (or none). */
static void audit(const char *event, const char *key, const char *value)
{
	char tool[PATH_MAX], lab[600];
	char *argv[16];
	int n = 0, r;
	struct buf out = BUF_INIT, err = BUF_INIT;

	argv[n++] = (char *)tool_path("audit-append", tool, sizeof tool);
	argv[n++] = (char *)"-e";
	argv[n++] = (char *)event;
	argv[n++] = (char *)"-p";
	argv[n++] = (char *)envelope_path;
	if (key) {
		snprintf(lab, sizeof lab, "%s=%.500s", key, value);
		argv[n++] = (char *)"-l";
		argv[n++] = lab;
	}
	if (audit_log) {
		argv[n++] = (char *)"-f";
		argv[n++] = (char *)audit_log;
	}
	if (audit_key) {
		argv[n++] = (char *)"-s";
		argv[n++] = (char *)audit_key;
	}
	argv[n] = NULL;
	r = run_capture(argv, &out, &err);
	if (r != 0)
		fprintf(stderr, "%s: warning: audit-append %s failed: %.*s", progname, event,
			(int)err.len, err.p ? err.p : "");
	buf_free(&out);
	buf_free(&err);
}

/* plan-verify's message -> the reason part of plan.rejected.<reason> */
static const char *reject_reason(const char *msg)
{
	static const struct { const char *word, *reason; } map[] = {
		{ "already", "replayed" }, { "replay", "replayed" }, { "nonce", "replayed" },
		{ "expired", "expired" }, { "not yet valid", "not_yet_valid" },
		{ "window", "window" }, { "signature", "signature" }, { "trusted", "signature" },
		{ "payloadType", "envelope" }, { "envelope", "envelope" },
		{ "ir_hash", "digest" }, { "digest", "digest" }, { "does not match", "digest" },
		{ "schema", "schema" },
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strstr(msg, map[i].word))
			return map[i].reason;
	return "invalid";
}

/* ---- the plan ---- */

struct plan {
	char id[80];
	unsigned vcpus, memory_mb, boot_timeout;
};

static int plan_read(const char *text, size_t n, struct plan *p, struct merr *e)
{
	struct jdoc *d = json_parse(text, n, NULL, e);
	jref root, res, v;
	const char *s;
	size_t len;

	if (!d)
		return EX_DATA;
	root = json_root(d);
	res = json_get(d, root, "resources");
	v = json_get(d, root, "plan_id");
	s = v != JREF_NONE ? json_str(d, v, &len) : NULL;
	if (res == JREF_NONE || !s || len >= sizeof p->id) {
		json_free(d);
		return merr_set(e, EX_DATA, NULL, "the plan has no resources or plan_id");
	}
	memcpy(p->id, s, len);
	p->id[len] = '\0';
#define NUM(field, dst, def, max) do { \
		jref x = json_get(d, res, field); \
		double f = x != JREF_NONE ? json_num(d, x) : def; \
		if (f < 1 || f > max || f != (unsigned)f) { json_free(d); \
			return merr_set(e, EX_DATA, "/resources/" field, "out of range"); } \
		dst = (unsigned)f; } while (0)
	NUM("vcpus", p->vcpus, 1, 64);
	NUM("memory_mb", p->memory_mb, 256, 65536);
	NUM("boot_timeout_secs", p->boot_timeout, 30, 3600);
#undef NUM
	json_free(d);
	return 0;
}

/* Admit the plan at envelope_path for the image (plan-verify), record the
 * verdict (audit-append); on a refusal exit 1 (or plan-verify's status),
 * having booted nothing.  On admission planjs holds the admitted plan's
 * bytes and p what the launcher needs of it. */
static void admit_and_record(const char *const *keys, int nkeys, const char *image, int rehash,
	const char *now, struct buf *planjs, struct plan *p)
{
	char tool[PATH_MAX];
	struct buf err = BUF_INIT;
	struct merr e;
	int r;
	ssize_t sl = readlink("/proc/self/exe", self_dir, sizeof self_dir - 1);

	if (sl > 0 && (size_t)sl < sizeof self_dir - 1) {
		self_dir[sl] = '\0';
		*strrchr(self_dir, '/') = '\0';
	}
	/* 1. Admission: plan-verify decides; every outcome is audited. */
	{
		char *av[80];
		int n = 0;

		av[n++] = (char *)tool_path("plan-verify", tool, sizeof tool);
		for (int i = 0; i < nkeys; i++) {
			av[n++] = (char *)"-k";
			av[n++] = (char *)keys[i];
		}
		av[n++] = (char *)"--image";
		av[n++] = (char *)image;
		if (!rehash)
			av[n++] = (char *)"--digest-cache";
		if (now) {
			av[n++] = (char *)"--now";
			av[n++] = (char *)now;
		}
		av[n++] = (char *)envelope_path;
		av[n] = NULL;
		r = run_capture(av, planjs, &err);
		if (r != 0) {
			char ev[64];
			buf_cstr(&err);
			fprintf(stderr, "%.*s", (int)err.len, err.p ? err.p : "");
			if (r == EX_NO) {
				char *nl = err.p ? strchr(err.p, '\n') : NULL;
				if (nl)
					*nl = '\0';
				snprintf(ev, sizeof ev, "plan.rejected.%s", reject_reason(err.p ? err.p : ""));
				audit(ev, "reason", err.p ? err.p : "refused");
				tool_die(EX_NO, "%s: not admitted; nothing booted", envelope_path);
			}
			tool_die(r > 0 && r < 5 ? r : EX_SYS, "%s: plan-verify failed; nothing booted",
				envelope_path);
		}
	}
	if (plan_read(planjs->p ? planjs->p : "", planjs->len, p, &e) != 0)
		tool_fail(envelope_path, &e);
	/* how the image's digests were checked: each file hashed now, or
	 * some taken from plan-verify's digest cache (it says so) */
	buf_cstr(&err);
	audit("plan.admitted", "digests", err.p && strstr(err.p, "digests are from") ?
		"cached" : "hashed");
	buf_free(&err);
}
/* ==================== end of admission ==================== */

/* ---- the run state directory (vm-boot(1) FILES) ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Write statedir/name holding text, or exit 4. */
static void state_file(const struct vmm *vm, const char *name, const void *text, size_t n)
{
	char p[PATH_MAX];
	struct merr e;

	snprintf(p, sizeof p, "%s/%s", vm->state, name);
	if (write_atomic(p, text, n, 0600, &e) != 0)
		tool_fail(p, &e);
}

/* Create the state directory (default .mvm/run/<first 16 hex of plan_id>)
 * and record what runs there: the admitted plan, the image, the VMM. */
static void state_open(struct vmm *vm, const char *state, const struct plan *p,
	const struct buf *planjs)
{
	char dir[PATH_MAX], abs[PATH_MAX], line[PATH_MAX + 1];
	const char *id = strncmp(p->id, "sha256:", 7) == 0 ? p->id + 7 : p->id;
	struct merr e;

	if (state)
		snprintf(dir, sizeof dir, "%s", state);
	else
		snprintf(dir, sizeof dir, ".mvm/run/%.16s", id);
	if (mkdir_p(dir, 0700, &e) != 0)
		tool_fail(NULL, &e);
	if (!realpath(dir, abs))
		tool_die(EX_SYS, "%s: %s", dir, strerror(errno));
	if (vmm_paths(vm, abs, &e) != 0)
		tool_fail(NULL, &e);
	state_file(vm, "plan.json", planjs->p, planjs->len);
	snprintf(line, sizeof line, "%s\n", vm->image);
	state_file(vm, "image", line, strlen(line));
	snprintf(line, sizeof line, "%s\n", vmm_name(vm));
	state_file(vm, "vmm", line, strlen(line));
	if (vm->kind == VMM_FIRECRACKER) {
		struct buf cfg = BUF_INIT;
		vmm_firecracker_config(vm, &cfg);
		state_file(vm, "firecracker.json", cfg.p, cfg.len);
		buf_free(&cfg);
	}
}

/* ---- readiness ---- */

static int ready_fd[2] = { -1, -1 };   /* --ready-fd, and -d's pipe */

/* The agent answered: record the launch, tell whoever waits. */
static void announce_ready(const struct vmm *vm, double t0)
{
	struct buf b = BUF_INIT;
	struct merr e;
	char *p;

	fprintf(stderr, "%s: agent ready after %.3f s (host)", progname, now_s() - t0);
	/* init's console line "mvm-init: agent started at <guest uptime>" */
	if (read_file(vm->console, &b, &e) == 0 && buf_cstr(&b) &&
	    (p = strstr(b.p, "mvm-init: agent started at ")) != NULL)
		fprintf(stderr, "; guest init started it %.3f s after kernel start",
			strtod(p + strlen("mvm-init: agent started at "), NULL));
	fprintf(stderr, "\n");
	buf_free(&b);
	audit("plan.launched", NULL, NULL);
	for (int i = 0; i < 2; i++)
		if (ready_fd[i] >= 0) {
			if (dprintf(ready_fd[i], "%s\n", vm->vsock) < 0)
				{ /* the reader is gone: keep serving */ }
			close(ready_fd[i]);
			ready_fd[i] = -1;
		}
	printf("%s\n", vm->vsock);
	fflush(stdout);
}

/* -d: fork; the parent waits for the socket path on a pipe (the child's
 * ready fd) and prints it, or exits with the child's status. */
static void detach(const struct vmm *vm)
{
	char logp[PATH_MAX], line[PATH_MAX + 2];
	int pfd[2], st, fd;
	size_t n = 0;
	ssize_t r;
	pid_t child;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		tool_die(EX_SYS, "unable to create a pipe: %s", strerror(errno));
	fflush(stdout);
	if ((child = fork()) < 0)
		tool_die(EX_SYS, "unable to fork: %s", strerror(errno));
	if (child > 0) {
		close(pfd[1]);
		while (n < sizeof line - 1 && (r = read(pfd[0], line + n, sizeof line - 1 - n)) != 0)
			if (r > 0)
				n += (size_t)r;
			else if (errno != EINTR)
				break;
		if (n > 0 && line[n - 1] == '\n') {
			fwrite(line, 1, n, stdout);
			tool_exit(0);
		}
		while (waitpid(child, &st, 0) < 0 && errno == EINTR)
			;
		fprintf(stderr, "%s: the VM did not come up; see %s/vm-boot.log\n", progname, vm->state);
		exit(WIFEXITED(st) && WEXITSTATUS(st) ? WEXITSTATUS(st) : EX_SELF);
	}
	close(pfd[0]);
	ready_fd[1] = pfd[1];
	setsid();
	snprintf(logp, sizeof logp, "%s/vm-boot.log", vm->state);
	if ((fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0)
		dup2(fd, 0);
}

/* ---- supervising the VM ---- */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static double t0;

static void on_ready(void *ctx)
{
	announce_ready(ctx, t0);
}

static void on_warn(void *ctx, const struct merr *e)
{
	(void)ctx;
	fprintf(stderr, "%s: bad record from the guest: %s\n", progname, e->msg);
}

/* Boot, serve, stop (lib/vmm.h); the exit status of vm-boot(1). */
static int run_vm(struct vmm *vm, unsigned boot_timeout)
{
	static const char *const why[] = {
		[VMM_EARLY_EXIT] = "the VMM exited before the agent was ready (see vmm.log)",
		[VMM_NO_PORT] = "the VMM's agent port did not appear",
		[VMM_TIMEOUT] = "the agent did not answer within boot_timeout_secs",
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct vmm_hooks h = { on_ready, on_warn, vm };
	char p[PATH_MAX];
	int logfd, status, code;
	struct merr e;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	snprintf(p, sizeof p, "%s/vmm.log", vm->state);
	logfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fprintf(stderr, "%s: booting (%s, %u vCPU, %u MiB); boot timeout %u s\n", progname,
		vmm_name(vm), vm->vcpus, vm->memory_mb, boot_timeout);
	t0 = now_s();
	code = vmm_run(vm, boot_timeout, logfd, &got_signal, &h, &status, &e);
	snprintf(p, sizeof p, "%s/pid", vm->state);
	unlink(p);
	switch (code) {
	case VMM_SIGNALLED:
		fprintf(stderr, "%s: stopped by signal %d\n", progname, (int)got_signal);
		return 0;
	case VMM_STOPPED:
		code = WIFEXITED(status) ? WEXITSTATUS(status) : EX_SELF;
		fprintf(stderr, "%s: the VM stopped (VMM status %d)\n", progname, code);
		return code <= 123 ? code : EX_SELF;
	}
	if (code != VMM_NOSTART && code != VMM_SERVE_FAIL)
		snprintf(e.msg, sizeof e.msg, "%s", why[code]);
	fprintf(stderr, "%s: %s\n", progname, e.msg);
	audit("plan.failed", "reason", e.msg);
	return code == VMM_TIMEOUT ? EX_TIMEOUT : EX_SELF;
}

int main(int argc, char **argv)
{
	struct vmm vm = { 0 };
	const char *image = ".mvm/image/current", *state = NULL, *backend = "auto", *accel = "auto";
	const char *now = NULL, *note, *keys[32];
	int nkeys = 0, detached = 0, print_config = 0, rehash = 0, c;
	struct buf planjs = BUF_INIT, out = BUF_INIT;
	struct plan plan;
	struct merr e;
	enum { O_NOW = 256, O_PRINT_CONFIG, O_REHASH, O_READY_FD };
	static const struct option lopts[] = {
		{ "now", required_argument, NULL, O_NOW },
		{ "rehash", no_argument, NULL, O_REHASH },
		{ "print-config", no_argument, NULL, O_PRINT_CONFIG },
		{ "ready-fd", required_argument, NULL, O_READY_FD },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	while ((c = getopt_long(argc, argv, "dk:i:S:b:a:f:s:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'd': detached = 1; break;
		case 'k':
			if (nkeys == 32)
				tool_die(EX_USAGE, "-k: at most 32 keys");
			keys[nkeys++] = optarg;
			break;
		case 'i': image = optarg; break;
		case 'S': state = optarg; break;
		case 'b': backend = optarg; break;
		case 'a': accel = optarg; break;
		case 'f': audit_log = optarg; break;
		case 's': audit_key = optarg; break;
		case O_NOW: now = optarg; break;
		case O_PRINT_CONFIG: print_config = 1; break;
		case O_REHASH: rehash = 1; break;
		case O_READY_FD:
			ready_fd[0] = (int)tool_num("--ready-fd", optarg, 0, INT_MAX);
			if (fcntl(ready_fd[0], F_SETFD, FD_CLOEXEC) < 0)
				tool_die(EX_USAGE, "--ready-fd: %d is not an open file descriptor",
					ready_fd[0]);
			break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (argc - optind != 1)
		usage(EX_USAGE);
	envelope_path = argv[optind];
	if (vmm_choose(&vm, backend, accel, &note, &e) == EX_USAGE)
		tool_fail(NULL, &e);
	if (!realpath(image, vm.image))
		tool_die(EX_SYS, "%s: no image directory: %s", image, strerror(errno));

	if (print_config) {
		/* A plan (not signed): the Firecracker config vm-boot would use. */
		if (read_file(envelope_path, &planjs, &e) != 0)
			tool_fail(envelope_path, &e);
		if (plan_read(planjs.p ? planjs.p : "", planjs.len, &plan, &e) != 0)
			tool_fail(envelope_path, &e);
		if (vmm_paths(&vm, state ? state : ".mvm/run/vm", &e) != 0)
			tool_fail(NULL, &e);
		vm.vcpus = plan.vcpus;
		vm.memory_mb = plan.memory_mb;
		vmm_firecracker_config(&vm, &out);
		buf_putc(&out, '\n');
		fwrite(out.p, 1, out.len, stdout);
		tool_exit(0);
	}

	admit_and_record(keys, nkeys, vm.image, rehash, now, &planjs, &plan);
	vm.vcpus = plan.vcpus;
	vm.memory_mb = plan.memory_mb;
	vm.qemu = getenv("MVM_QEMU");
	if (vmm_choose(&vm, backend, accel, &note, &e) != 0)
		tool_fail(NULL, &e);
	if (note)
		fprintf(stderr, "%s: using TCG (software emulation): %s\n", progname, note);
	state_open(&vm, state, &plan, &planjs);
	if (detached)
		detach(&vm);
	{
		char pidtext[32];
		snprintf(pidtext, sizeof pidtext, "%ld\n", (long)getpid());
		state_file(&vm, "pid", pidtext, strlen(pidtext));
	}
	fprintf(stderr, "%s: plan %s\n", progname, plan.id);
	c = run_vm(&vm, plan.boot_timeout);
	if (c == 0)
		tool_exit(0);
	exit(c);
}
