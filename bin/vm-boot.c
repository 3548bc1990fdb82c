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
#include "admit.h"
#include "cluster.h"
#include "audit.h"
#include "digest.h"
#include "enc.h"
#include "fcjail.h"
#include "frame.h"
#include "json.h"
#include "keys.h"
#include "launch.h"
#include "muxhost.h"
#include "svcready.h"
#include "proxy.h"
#include "plan.h"
#include "tool.h"
#include "vmm.h"
#include "monoclock.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-d] [--ready-fd n] [-k pubfile]... [-i imagedir] [-S statedir]\n"
		"       [-b backend] [-a accel] [-f auditlog] [-s secretfile] [--now time]\n"
		"       plan.dsse.json\n"
		"       %s --print-config [--jailer] [-i imagedir] [-S statedir] plan.json\n"
		"Admit a signed ExecutionPlan, record it in the audit log, boot its image and\n"
		"supervise it in the foreground, serving the guest agent on statedir/v.sock.\n"
		"  -d            detach once the agent answers (print the socket path, exit 0)\n"
		"  --ready-fd n  once the agent answers, write the socket path and a newline\n"
		"                on file descriptor n and close it\n"
		"  -k file       trusted public key (repeatable; default $MVM_HOME/trust/*.pub)\n"
		"  -i dir        the image: rootfs.ext4, vmlinux, mvm-meta.json (default .mvm/image/current)\n"
		"  -S dir        state directory (default .mvm/run/<plan id>)\n"
		"  -b backend    auto (default), qemu or firecracker\n"
		"  -a accel      auto (default), kvm or tcg (QEMU)\n"
		"  -f log        audit log (default $MVM_HOME/audit/TENANT.jsonl)\n"
		"  -s file       audit signing key (default $MVM_HOME/keys/host-signer.ed25519)\n"
		"  --now time    check the plan's window at time (tests)\n"
		"  --print-config  print a plan's Firecracker config (--jailer: its jailer); boot nothing\n"
		"Exit: 0 the VM ran and stopped (or -d: it is up), 1 plan refused, 2 usage,\n"
		"3 malformed input, 4 system error, 124 the agent was not ready in time,\n"
		"125 the VMM failed.\n",
		progname, progname);
	exit(code);
}

/* ==================== admission and the audit record ====================
 * In-process: lib/admit decides (the same call as plan-verify(1)),
 * audit_append() records (the same as audit-append(1)); the verdict's
 * reason names the refusal event.  Every outcome is recorded. */

static const char *audit_log, *audit_key, *envelope_path;
static struct mvm_key host_key;
static int have_key;

/* Record an event in the log of the plan's tenant (or -f); its plan is
 * p, or, when the envelope's plan could not be read, the envelope's
 * bytes (plan_id their SHA-256, ir_hash zeros: mvm-audit(5)).  0, or
 * the status of the failure (said on stderr). */
/* Labels the next record adds after its own (plan.admitted: image, deps;
 * plan.launched: secrets); record uses them once. */
static const char *xkey[4], *xval[4];
static struct netcfg net;   /* the image's network and egress (lib/netcfg.h) */
static size_t nx;

static void label(const char *k, const char *v)
{
	if (nx < sizeof xkey / sizeof xkey[0])
		xkey[nx] = k, xval[nx++] = v;
}

static int record(const struct plan *p, const struct buf *env, const char *what,
	const char *key, const char *val)
{
	char lpath[PATH_MAX], adir[PATH_MAX], sub[128], ev[AUDIT_EVENT_MAX], pid[DIGEST_LEN + 1];
	struct audit_new n;
	struct audit_appended out;
	struct merr e;
	int r = 0;

	if (!have_key) {
		char sp[PATH_MAX];
		if (audit_key)
			snprintf(sp, sizeof sp, "%s", audit_key);
		else if ((r = key_default_secret(sp, sizeof sp, &e)) != 0)
			goto fail;
		if ((r = key_load_secret(sp, &host_key, &e)) != 0)
			goto fail;
		have_key = 1;
	}
	if (p && (r = audit_plan_event(&n, p, what, ev, key, val, &e)) != 0 &&
	    strncmp(what, "rejected.", 9) != 0)
		goto fail;
	if (!p || r != 0) {
		/* no plan, or a refusal of one whose labels we cannot give:
		 * recorded all the same, under its ids or the envelope's bytes */
		memset(&n, 0, sizeof n);
		snprintf(ev, sizeof ev, "plan.%s", what);
		memcpy(pid, "sha256:", 7);
		sha256_hex(pid + 7, env->p ? env->p : "", env->len);
		n.event = ev;
		n.plan_id = p ? p->plan_id : pid;
		n.plan_version = p ? p->plan_version : 1;
		n.ir_hash = p ? p->ir_hash : AUDIT_ZERO_HASH;
		if (key) {
			n.lkey[0] = key;
			n.lval[0] = val;
			n.nlabels = 1;
		}
	}
	for (size_t i = 0; i < nx && n.nlabels < AUDIT_MAX_LABELS; i++) {
		n.lkey[n.nlabels] = xkey[i];
		n.lval[n.nlabels++] = xval[i];
	}
	nx = 0;
	if (audit_log) {
		snprintf(lpath, sizeof lpath, "%s", audit_log);
	} else {
		snprintf(sub, sizeof sub, "audit/%s.jsonl", p ? p->tenant : "local");
		if ((r = mvm_path(lpath, sizeof lpath, sub, &e)) != 0)
			goto fail;
		if ((r = mvm_path(adir, sizeof adir, "audit", &e)) != 0 ||
		    (r = mkdir_p(adir, 0700, &e)) != 0)
			goto fail;
	}
	if ((r = audit_append(audit_log ? audit_log : lpath, &n, &host_key, 0, &out, &e)) == 0)
		return 0;
fail:
	fprintf(stderr, "%s: warning: unable to record %s in the audit log: %s\n", progname,
		what, e.msg);
	return r;
}

/* The plan the launched VM runs (for plan.launched / plan.failed). */
static struct admit_verdict verdict;
static struct buf envbytes = BUF_INIT;

static void audit(const char *what, const char *key, const char *val)
{
	record(&verdict.plan, &envbytes, what, key, val);
}

/* Admit the plan at envelope_path for the image (lib/admit), record the
 * verdict; on a refusal exit 1 (3, 4 as plan-verify), having booted
 * nothing.  On admission, verdict holds the plan. */
static void admit_and_record(char *const *keys, int nkeys, const char *image, const char *now)
{
	char nonces[PATH_MAX], what[64];
	struct admit_req rq = { 0 };
	struct cluster cl;
	struct trustset ts;
	struct merr e;
	size_t i;

	if (trust_load(&ts, keys, (size_t)nkeys, &e) != 0)
		tool_fail(NULL, &e);
	for (i = 0; i < ts.nwarn; i++)
		fprintf(stderr, "%s: warning: %s (skipped)\n", progname, ts.warn[i].msg);
	if (read_file(envelope_path, &envbytes, &e) != 0)
		tool_fail(envelope_path, &e);
	if (cluster_load(&cl, &e) != 0 || cluster_stores(&rq, nonces, &cl, &e) != 0)
		tool_fail(NULL, &e);    /* the cluster's store too (lib/cluster.h) */
	rq.env = envbytes.p;
	rq.envlen = envbytes.len;
	rq.trust = &ts;
	rq.now = time_now();
	if (now && rfc3339_parse(now, strlen(now), &rq.now) != 0)
		tool_die(EX_USAGE, "--now: %s is not a time of the form YYYY-MM-DDTHH:MM:SSZ",
			now);
	rq.consume = 1;
	rq.image = image;
	if (admit(&rq, &verdict) != 0) {
		const struct plan *p = verdict.have_plan ? &verdict.plan : NULL;
		struct plan up;
		/* A refusal before the plan was parsed: record the plan the
		 * envelope carries, unverified, when it is one. */
		if (!p && verdict.env.payload && plan_parse((const char *)verdict.env.payload,
		    verdict.env.plen, PLAN_CANONICAL, &up, &e) == 0)
			p = &up;
		snprintf(what, sizeof what, "rejected.%s", admit_reason_name(verdict.reason));
		fprintf(stderr, "%s: %s: %s: %s%s%s\n", progname, envelope_path,
			admit_reason_name(verdict.reason), verdict.e.where,
			verdict.e.where[0] ? ": " : "", verdict.e.msg);
		record(p, &envbytes, what, "reason", verdict.e.msg);
		tool_die(verdict.code == EX_NO ? EX_NO : verdict.code, "%s: not admitted; nothing "
			"booted", envelope_path);
	}
	trust_free(&ts);
	/* which kind of image, and its deps volume (mvm-audit(5)) */
	if (verdict.image_kind)
		label("image", verdict.image_kind);
	if (verdict.deps[0]) {
		label("deps_key", verdict.deps_key);
		label("deps_sbom", verdict.deps_sbom);
	}
	/* how the image was checked: its root by dm-verity (the meta's root
	 * hash, the guest checking each block), or every file hashed now */
	if (record(&verdict.plan, &envbytes, "admitted", "digests", verdict.have_verity ? "verity" :
	    "hashed") != 0)
		tool_die(EX_SYS, "%s: admitted, but the admission could not be recorded; nothing "
			"booted", envelope_path);
}
/* ==================== end of admission ==================== */

/* ---- the run state directory (vm-boot(1) FILES) ---- */

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
	const void *planjs, size_t planlen)
{
	char dir[PATH_MAX], abs[PATH_MAX], line[PATH_MAX + 1];
	const char *id = p->plan_id + 7;
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
	state_file(vm, "plan.json", planjs, planlen);
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

static struct launch launch;   /* drives, secrets, provisioning (lib/launch.h) */
static volatile sig_atomic_t refused;

/* The agent answered: record the launch, tell whoever waits. */
static void announce_ready(const struct vmm *vm, double t0)
{
	struct buf b = BUF_INIT;
	struct merr e;
	char *p;

	fprintf(stderr, "%s: agent ready after %.3f s (host)", progname, mono_s() - t0);
	/* init's console line "mvm-init: agent started at <guest uptime>" */
	if (read_file(vm->console, &b, &e) == 0 && buf_cstr(&b) &&
	    (p = strstr(b.p, "mvm-init: agent started at ")) != NULL)
		fprintf(stderr, "; guest init started it %.3f s after kernel start",
			strtod(p + strlen("mvm-init: agent started at "), NULL));
	fprintf(stderr, "\n");
	buf_free(&b);
	/* what ran: the tier the agent reports applied, the secrets released */
	if (launch.names[0])
		label("secrets", launch.names);
	if (net.egress)
		label("egress_policy", net.egress_digest);
	audit("launched", "seccomp_tier", launch.applied);
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
static unsigned boot_secs;

/* Once the agent answers, lib/launch provisions it from a thread while the
 * VMM loop goes on serving its port; then a command service with a port
 * must accept too, and the launch is announced; or, if the agent refused,
 * it is recorded as failed and the guest stopped. */
static void provisioned(void *ctx, int rc, const struct merr *e)
{
	if (rc == 0) {
		unsigned port = netcfg_service_port(&net);
		double left = boot_secs - (mono_s() - t0);

		if (port && !svcready_wait(&net, ((struct vmm *)ctx)->vsock, left > 1 ? left : 1))
			fprintf(stderr, "%s: warning: the service does not listen behind 127.0.0.1:%u\n",
				progname, port);
		announce_ready(ctx, t0);
		return;
	}
	fprintf(stderr, "%s: %s\n", progname, e->msg);
	audit("failed", "reason", e->msg);
	refused = rc == EX_NO ? 1 : 2;
	got_signal = SIGTERM;
}

static void on_ready(void *ctx)
{
	struct vmm *vm = ctx;

	if (launch_provision_start(&launch, vm->vsock, (int)verdict.plan.boot_timeout_secs * 1000,
	    provisioned, vm) != 0)
		refused = 2, got_signal = SIGTERM;
}

/* Load the image's network (lib/netcfg.h) into vm->net; print and record
 * the forwarded ports once state is known (statedir/ports.json). */
static void net_load(struct vmm *vm, const struct plan *p)
{
	char path[PATH_MAX + 16];
	struct merr e;

	snprintf(path, sizeof path, "%s/mvm-meta.json", vm->image);
	if (netcfg_load(&net, path, p->meta, p->plan_id, &e) != 0)
		tool_fail(path, &e);
	vm->net = &net;
	if (net.egress && vm->kind == VMM_FIRECRACKER)
		tool_die(EX_NO, "the image has an egress allowlist, whose proxy is served over "
			"QEMU's agent port only; nothing booted");
}

/* The egress proxy (lib/proxy.h) for each stream the guest opens; its
 * decisions in STATE/egress.log. */
static struct proxy egress;

static void on_guest_open(void *ctx, int fd)
{
	(void)ctx;
	proxy_start(&egress, fd);
}

static void net_record(const struct vmm *vm)
{
	struct buf b = BUF_INIT;
	struct merr e;
	char p[PATH_MAX];

	snprintf(p, sizeof p, "%s/egress.log", vm->state);
	if (net.egress && proxy_open(&egress, &net.egress_pol, p, &e) != 0)
		tool_fail(NULL, &e);

	netcfg_ports_json(&net, &b);
	buf_putc(&b, '\n');
	state_file(vm, "ports.json", b.p, b.len);
	buf_free(&b);
	for (size_t i = 0; i < net.nports; i++)
		fprintf(stderr, "%s: port %s 127.0.0.1:%u -> guest %u\n", progname,
			net.port[i].udp ? "udp" : "tcp", net.port[i].host, net.port[i].guest);
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
	struct vmm_hooks h = { on_ready, on_warn, vm, net.egress ? on_guest_open : NULL };
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
	t0 = mono_s();
	code = vmm_run(vm, boot_timeout, logfd, &got_signal, &h, &status, &e);
	if (net.egress)
		proxy_close(&egress);   /* its connections ended with the VM's port */
	launch_free(&launch);
	snprintf(p, sizeof p, "%s/pid", vm->state);
	unlink(p);
	if (refused)
		return refused == 1 ? EX_NO : EX_SYS;
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
	audit("failed", "reason", e.msg);
	return code == VMM_TIMEOUT ? EX_TIMEOUT : EX_SELF;
}

int main(int argc, char **argv)
{
	struct vmm vm = { 0 };
	const char *image = ".mvm/image/current", *state = NULL, *backend = "auto", *accel = "auto";
	const char *now = NULL, *note;
	char *keys[32];
	int nkeys = 0, detached = 0, print_config = 0, c;
	struct buf out = BUF_INIT;
	struct plan plan;
	struct verity ver;
	struct merr e;
	int r;
	enum { O_NOW = 256, O_PRINT_CONFIG, O_READY_FD, O_JAILER };
	static const struct option lopts[] = {
		{ "now", required_argument, NULL, O_NOW },
		{ "print-config", no_argument, NULL, O_PRINT_CONFIG },
		{ "jailer", no_argument, NULL, O_JAILER },
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
		case O_PRINT_CONFIG: print_config |= 1; break;
		case O_JAILER: print_config |= 2; break;
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
	if (argc - optind != 1 || print_config == 2)   /* (--jailer needs --print-config) */
		usage(EX_USAGE);
	envelope_path = argv[optind];
	if (vmm_choose(&vm, backend, accel, &note, &e) == EX_USAGE)
		tool_fail(NULL, &e);
	if (!realpath(image, vm.image))
		tool_die(EX_SYS, "%s: no image directory: %s", image, strerror(errno));

	if (print_config) {
		/* A plan (not signed): the Firecracker config vm-boot would use,
		 * or (--jailer) the jailer's invocation (lib/fcjail.h). */
		if (fcjail_load(&vm, envelope_path, state, &plan, &ver, &e) != 0)
			tool_fail(envelope_path, &e);
		net_load(&vm, &plan);
		if (print_config == 1)
			vmm_firecracker_config(&vm, &out);
		else if (fcjail_json(&vm, &plan, &out, &e) != 0)
			tool_fail(NULL, &e);
		buf_putc(&out, '\n');
		fwrite(out.p, 1, out.len, stdout);
		tool_exit(0);
	}

	admit_and_record(keys, nkeys, vm.image, now);
	if (verdict.deps[0] && vmm_add_drive(&vm, verdict.deps, "deps", 1, &e) != 0)
		tool_fail(NULL, &e);   /* the deps volume, checked by admission */
	vm.vcpus = (unsigned)verdict.plan.vcpus;
	vm.memory_mb = (unsigned)verdict.plan.memory_mb;
	vm.qemu = getenv("MVM_QEMU");
	vm.verity = verdict.have_verity ? &verdict.verity : NULL;
	if (vmm_choose(&vm, backend, accel, &note, &e) != 0)
		tool_fail(NULL, &e);
	if (note)
		fprintf(stderr, "%s: using TCG (software emulation): %s\n", progname, note);
	net_load(&vm, &verdict.plan);
	if ((r = launch_prepare(&launch, &vm, verdict.plan.workload, verdict.plan.seccomp_tier,
	    verdict.plan.secret_release, &e)) != 0) {
		audit("failed", "reason", e.msg);
		launch_free(&launch);
		tool_die(r, "%s; nothing booted", e.msg);
	}
	state_open(&vm, state, &verdict.plan, verdict.env.payload, verdict.env.plen);
	net_record(&vm);
	boot_secs = (unsigned)verdict.plan.boot_timeout_secs;
	if (detached)
		detach(&vm);
	{
		char pidtext[32];
		snprintf(pidtext, sizeof pidtext, "%ld\n", (long)getpid());
		state_file(&vm, "pid", pidtext, strlen(pidtext));
	}
	fprintf(stderr, "%s: plan %s\n", progname, verdict.plan.plan_id);
	c = run_vm(&vm, (unsigned)verdict.plan.boot_timeout_secs);
	if (c == 0)
		tool_exit(0);
	exit(c);
}
