/* vm-boot — run an admitted plan: boot its image as a microVM, supervise it,
 * serve its agent on a Firecracker-style socket (vm-boot(1)) */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bootaudit.h"
#include "bootrun.h"
#include "cluster.h"
#include "fcjail.h"
#include "launch.h"
#include "monoclock.h"
#include "netcfg.h"
#include "proxy.h"
#include "ready.h"
#include "runstate.h"
#include "tool.h"
#include "vmm.h"

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

/* ---- admission and the audit record (lib/bootaudit.h) ---- */

static struct bootaudit A = BOOTAUDIT_INIT;   /* the envelope, the verdict, the log */
static const char *envelope_path;

static void unrecorded(const char *what, const struct merr *e)
{
	fprintf(stderr, "%s: warning: unable to record %s in the audit log: %s\n", progname,
		what, e->msg);
}

/* Record an event of the admitted plan (plan.launched, plan.failed). */
static void audit(const char *what, const char *key, const char *val)
{
	struct merr e;

	if (bootaudit_record(&A, &A.v.plan, what, key, val, &e) != 0)
		unrecorded(what, &e);
}

/* Admit the plan at envelope_path for the image and record the verdict;
 * on a refusal exit 1 (3, 4 as plan-verify), having booted nothing.  On
 * admission, A.v holds the plan. */
static void admit_and_record(char *const *keys, int nkeys, const char *image, const char *now)
{
	char nonces[PATH_MAX], what[64];
	struct admit_req rq = { 0 };
	struct cluster cl;
	struct trustset ts;
	struct merr e, re;
	int code, rec;

	if (trust_load(&ts, keys, (size_t)nkeys, &e) != 0)
		tool_fail(NULL, &e);
	for (size_t i = 0; i < ts.nwarn; i++)
		fprintf(stderr, "%s: warning: %s (skipped)\n", progname, ts.warn[i].msg);
	if (read_file(envelope_path, &A.env, &e) != 0)
		tool_fail(envelope_path, &e);
	if (cluster_load(&cl, &e) != 0 || cluster_stores(&rq, nonces, &cl, &e) != 0)
		tool_fail(NULL, &e);    /* the cluster's store too (lib/cluster.h) */
	rq.trust = &ts;
	rq.now = time_now();
	if (now && rfc3339_parse(now, strlen(now), &rq.now) != 0)
		tool_die(EX_USAGE, "--now: %s is not a time of the form YYYY-MM-DDTHH:MM:SSZ",
			now);
	rq.consume = 1;
	rq.image = image;
	if ((code = bootaudit_admit(&A, &rq, &rec, &re)) != 0) {
		fprintf(stderr, "%s: %s: %s: %s%s%s\n", progname, envelope_path,
			admit_reason_name(A.v.reason), A.v.e.where, A.v.e.where[0] ? ": " : "",
			A.v.e.msg);
		snprintf(what, sizeof what, "rejected.%s", admit_reason_name(A.v.reason));
		if (rec != 0)
			unrecorded(what, &re);
		tool_die(code, "%s: not admitted; nothing booted", envelope_path);
	}
	trust_free(&ts);
	if (rec != 0) {
		unrecorded("admitted", &re);
		tool_die(EX_SYS, "%s: admitted, but the admission could not be recorded; nothing "
			"booted", envelope_path);
	}
}

/* ---- readiness ---- */

static struct ready ready = READY_INIT; /* --ready-fd, and -d's pipe */
static struct netcfg net;              /* the image's network and egress (lib/netcfg.h) */
static struct launch launch;           /* drives, secrets, provisioning (lib/launch.h) */
static struct proxy egress;            /* the egress proxy (lib/proxy.h) */
static struct bootrun run;             /* the launch sequence (lib/bootrun.h) */

/* The agent is provisioned (and a service listens): record the launch,
 * tell whoever waits. */
static void announce_ready(void *ctx)
{
	const struct vmm *vm = ctx;
	struct buf b = BUF_INIT;
	struct merr e;
	char *p;

	fprintf(stderr, "%s: agent ready after %.3f s (host)", progname, mono_s() - run.t0);
	/* init's console line "mvm-init: agent started at <guest uptime>" */
	if (read_file(vm->console, &b, &e) == 0 && buf_cstr(&b) &&
	    (p = strstr(b.p, "mvm-init: agent started at ")) != NULL)
		fprintf(stderr, "; guest init started it %.3f s after kernel start",
			strtod(p + strlen("mvm-init: agent started at "), NULL));
	fprintf(stderr, "\n");
	buf_free(&b);
	/* what ran: the tier the agent reports applied, the secrets released */
	if (launch.names[0])
		bootaudit_label(&A, "secrets", launch.names);
	if (net.egress)
		bootaudit_label(&A, "egress_policy", net.egress_digest);
	audit("launched", "seccomp_tier", launch.applied);
	ready_tell(&ready, vm->vsock);
	printf("%s\n", vm->vsock);
	fflush(stdout);
}

/* -d: fork; the parent waits for the child's ready line (lib/ready.h)
 * and prints it, or exits with the child's status. */
static void detach(const struct vmm *vm)
{
	char logp[PATH_MAX], line[READY_LINE_MAX];
	struct merr e;
	int st;

	snprintf(logp, sizeof logp, "%s/vm-boot.log", vm->state);
	switch (ready_detach(&ready, logp, line, &st, &e)) {
	case 0:
		return;
	case READY_UP:
		fputs(line, stdout);
		tool_exit(0);
	case READY_DOWN:
		fprintf(stderr, "%s: the VM did not come up; see %s\n", progname, logp);
		exit(WIFEXITED(st) && WEXITSTATUS(st) ? WEXITSTATUS(st) : EX_SELF);
	}
	tool_fail(NULL, &e);
}

/* ---- the network ---- */

/* Load the image's network (lib/netcfg.h) into vm->net. */
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

/* Once state is known: open the egress proxy (its decisions in
 * STATE/egress.log), print and record the forwarded ports
 * (STATE/ports.json). */
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
	if (run_file(vm->state, "ports.json", b.p, b.len, &e) != 0)
		tool_fail(NULL, &e);
	buf_free(&b);
	for (size_t i = 0; i < net.nports; i++)
		fprintf(stderr, "%s: port %s 127.0.0.1:%u -> guest %u\n", progname,
			net.port[i].udp ? "udp" : "tcp", net.port[i].host, net.port[i].guest);
}

/* ---- supervising the VM (lib/bootrun.h) ---- */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void service_late(void *ctx, unsigned port)
{
	(void)ctx;
	fprintf(stderr, "%s: warning: the service does not listen behind 127.0.0.1:%u\n",
		progname, port);
}

/* The agent refused its provisioning or started again unprovisioned, or the
 * VM failed. */
static void failed(void *ctx, const struct merr *e)
{
	(void)ctx;
	fprintf(stderr, "%s: %s\n", progname, e->msg);
	audit("failed", "reason", e->msg);
}

static void on_warn(void *ctx, const struct merr *e)
{
	(void)ctx;
	fprintf(stderr, "%s: bad record from the guest: %s\n", progname, e->msg);
}

/* Boot, serve, stop; the exit status of vm-boot(1). */
static int run_vm(struct vmm *vm)
{
	struct sigaction sa = { .sa_handler = on_signal };
	char p[PATH_MAX];
	int logfd, status, code;
	struct merr e;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	snprintf(p, sizeof p, "%s/vmm.log", vm->state);
	logfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	run = (struct bootrun){ .vm = vm, .launch = &launch, .net = &net,
		.egress = net.egress ? &egress : NULL, .stop = &got_signal,
		.boot_secs = (unsigned)A.v.plan.boot_timeout_secs,
		.h = { announce_ready, service_late, failed, on_warn, vm } };
	fprintf(stderr, "%s: booting (%s, %u vCPU, %u MiB); boot timeout %u s\n", progname,
		vmm_name(vm), vm->vcpus, vm->memory_mb, run.boot_secs);
	code = bootrun(&run, logfd, &status, &e);
	snprintf(p, sizeof p, "%s/pid", vm->state);
	unlink(p);
	switch (code) {
	case BOOTRUN_REFUSED:
		return run.refused;
	case VMM_SIGNALLED:
		fprintf(stderr, "%s: stopped by signal %d\n", progname, (int)got_signal);
		return 0;
	case VMM_STOPPED:
		code = WIFEXITED(status) ? WEXITSTATUS(status) : EX_SELF;
		fprintf(stderr, "%s: the VM stopped (VMM status %d)\n", progname, code);
		return code <= 123 ? code : EX_SELF;
	}
	failed(NULL, &e);
	return code == VMM_TIMEOUT ? EX_TIMEOUT : EX_SELF;
}

/* --print-config: a plan (not signed) and the Firecracker config vm-boot
 * would use, or (--jailer) the jailer's invocation (lib/fcjail.h). */
static void print_config(struct vmm *vm, const char *state, int jailer)
{
	struct buf out = BUF_INIT;
	struct plan plan;
	struct verity ver;
	struct merr e;

	if (fcjail_load(vm, envelope_path, state, &plan, &ver, &e) != 0)
		tool_fail(envelope_path, &e);
	net_load(vm, &plan);
	if (!jailer)
		vmm_firecracker_config(vm, &out);
	else if (fcjail_json(vm, &plan, &out, &e) != 0)
		tool_fail(NULL, &e);
	buf_putc(&out, '\n');
	fwrite(out.p, 1, out.len, stdout);
	tool_exit(0);
}

int main(int argc, char **argv)
{
	struct vmm vm = { 0 };
	const char *image = ".mvm/image/current", *state = NULL, *backend = "auto", *accel = "auto";
	const char *now = NULL, *note;
	char *keys[32], pidtext[32];
	int nkeys = 0, detached = 0, print = 0, c;
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
		case 'f': A.log = optarg; break;
		case 's': A.keyfile = optarg; break;
		case O_NOW: now = optarg; break;
		case O_PRINT_CONFIG: print |= 1; break;
		case O_JAILER: print |= 2; break;
		case O_READY_FD:
			ready.fd[0] = (int)tool_num("--ready-fd", optarg, 0, INT_MAX);
			if (fcntl(ready.fd[0], F_SETFD, FD_CLOEXEC) < 0)
				tool_die(EX_USAGE, "--ready-fd: %d is not an open file descriptor",
					ready.fd[0]);
			break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (argc - optind != 1 || print == 2)   /* (--jailer needs --print-config) */
		usage(EX_USAGE);
	envelope_path = argv[optind];
	if (vmm_choose(&vm, backend, accel, &note, &e) == EX_USAGE)
		tool_fail(NULL, &e);
	if (!realpath(image, vm.image))
		tool_die(EX_SYS, "%s: no image directory: %s", image, strerror(errno));
	if (print)
		print_config(&vm, state, print & 2);

	/* admit, or boot nothing; then the VM the plan describes */
	admit_and_record(keys, nkeys, vm.image, now);
	if (A.v.deps[0] && vmm_add_drive(&vm, A.v.deps, "deps", 1, &e) != 0)
		tool_fail(NULL, &e);   /* the deps volume, checked by admission */
	vm.vcpus = (unsigned)A.v.plan.vcpus;
	vm.memory_mb = (unsigned)A.v.plan.memory_mb;
	vm.qemu = getenv("MVM_QEMU");
	vm.verity = A.v.have_verity ? &A.v.verity : NULL;
	if (vmm_choose(&vm, backend, accel, &note, &e) != 0)
		tool_fail(NULL, &e);
	if (note)
		fprintf(stderr, "%s: using TCG (software emulation): %s\n", progname, note);
	net_load(&vm, &A.v.plan);
	/* its drives and secrets (the image's launch member), or boot nothing */
	if ((r = launch_prepare(&launch, &vm, A.v.plan.workload, A.v.plan.seccomp_tier,
	    A.v.plan.secret_release, &e)) != 0) {
		audit("failed", "reason", e.msg);
		launch_free(&launch);
		tool_die(r, "%s; nothing booted", e.msg);
	}
	/* its state directory (vm-boot(1) FILES); detach (-d); run it to its end */
	if (run_state_open(&vm, state, A.v.plan.plan_id, A.v.env.payload, A.v.env.plen, &e) != 0)
		tool_fail(NULL, &e);
	net_record(&vm);
	if (detached)
		detach(&vm);
	snprintf(pidtext, sizeof pidtext, "%ld\n", (long)getpid());
	if (run_file(vm.state, "pid", pidtext, strlen(pidtext), &e) != 0)
		tool_fail(NULL, &e);
	fprintf(stderr, "%s: plan %s\n", progname, A.v.plan.plan_id);
	c = run_vm(&vm);
	if (c == 0)
		tool_exit(0);
	exit(c);
}
