/* mvmctl — porcelain over the mvm tools (git-style: each verb runs plumbing;
 * verbs from a {name, fn, usage} table, as wireguard-tools' wg does) */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auditset.h"
#include "json.h"
#include "keys.h"
#include "netcfg.h"
#include "runstate.h"
#include "tool.h"

#define DEFAULT_IR MVM_IR

static char root[PATH_MAX - 64];   /* the checkout or prefix: <root>/bin/<tool> */

/* <root>/bin/<name> into b (PATH_MAX bytes) when it is there (a checkout
 * or prefix), else name (from PATH); returns b. */
static char *tool(char *b, const char *name)
{
	snprintf(b, PATH_MAX, "%s/bin/%s", root, name);
	if (access(b, X_OK) != 0)
		snprintf(b, PATH_MAX, "%s", name);
	return b;
}

static __attribute__((noreturn)) void run_exec(char **av)
{
	fflush(stdout);
	execvp(av[0], av);
	tool_die(EX_SYS, "unable to run %s: %s", av[0], strerror(errno));
}

/* exec tool with pre[] and then argv[0..argc) as its arguments. */
static __attribute__((noreturn)) void exec_with(const char *t, char *const *pre, int npre,
	int argc, char **argv)
{
	char *av[80];
	int k = 0;

	if (argc > 64)
		tool_die(EX_USAGE, "too many arguments");
	av[k++] = (char *)t;
	for (int i = 0; i < npre; i++)
		av[k++] = pre[i];
	for (int i = 0; i < argc; i++)
		av[k++] = argv[i];
	av[k] = NULL;
	run_exec(av);
}

/* Run av; its first line of output into line (size n). */
static int run_line(char **av, char *line, size_t n)
{
	struct buf b = BUF_INIT;
	int r = tool_run(av, &b);

	snprintf(line, n, "%.*s", (int)(b.p ? strcspn(buf_cstr(&b), "\n") : 0), b.p ? b.p : "");
	buf_free(&b);
	return r;
}

/* Run av; its output, when it succeeds, replaces path (written whole). */
static int run_to(char **av, const char *path)
{
	struct buf b = BUF_INIT;
	struct merr e;
	int r = tool_run(av, &b);

	if (r == 0 && path && write_atomic(path, b.p, b.len, 0600, &e) != 0)
		tool_fail(path, &e);
	buf_free(&b);
	return r;
}

/* The state directory of VM id, or die 2. */
static void vm_dir(const char *id, char *dir, size_t n)
{
	struct merr e;

	if (run_dir(id, dir, n, &e) != 0)
		tool_fail(NULL, &e);
}

/* ---- the verbs: each gets its operands (after the verb) ---- */

static int cmd_emit(int argc, char **argv)
{
	char t[PATH_MAX];

	exec_with(tool(t, "mvm-emit"), NULL, 0, argc, argv);
}

static int cmd_validate(int argc, char **argv)
{
	/* lockfiles resolve against the project directory (where mvmctl runs
	 * and the declaration is), not the IR file's .mvm/ */
	char t[PATH_MAX], *pre[] = { (char *)"-C", (char *)".", (char *)DEFAULT_IR };

	exec_with(tool(t, "ir-validate"), pre, argc ? 2 : 3, argc, argv);
}

static int cmd_hash(int argc, char **argv)
{
	char t[PATH_MAX];
	char *pre[] = { (char *)DEFAULT_IR };

	exec_with(tool(t, "ir-hash"), pre, argc ? 0 : 1, argc, argv);
}

static int cmd_keygen(int argc, char **argv)
{
	char t[PATH_MAX];

	exec_with(tool(t, "plan-keygen"), NULL, 0, argc, argv);
}

/* Build (or reuse) the image of IR with mvm-build (which chooses the
 * backend); imagedir gets its directory. */
static int build(const char *ir, char *imagedir, size_t n)
{
	/* sources are relative to the project directory, where mvmctl runs */
	char t[PATH_MAX], *av[] = { tool(t, "mvm-build"), (char *)"-C", (char *)".",
		(char *)"-o", (char *)MVM_DIR "/image", (char *)ir, NULL };
	int r = run_line(av, imagedir, n);

	return r == 0 && !imagedir[0] ? EX_SYS : r;
}

static int cmd_build(int argc, char **argv)
{
	char image[PATH_MAX];
	int r = build(argc ? argv[0] : DEFAULT_IR, image, sizeof image);

	if (r == 0)
		printf("%s\n", image);
	return r;
}

/* Build, then a fresh plan, signed (the key made first if there is none);
 * prod: the plan requires a prod image (plan-new --require-prod). */
static int plan(const char *ir, char *image, size_t n, int prod)
{
	char t1[PATH_MAX], t2[PATH_MAX], t3[PATH_MAX], key[PATH_MAX];
	char *kg[] = { tool(t1, "plan-keygen"), NULL };
	char *pn[] = { tool(t2, "plan-new"), (char *)"--image", image, (char *)ir, NULL, NULL };
	char *ps[] = { tool(t3, "plan-sign"), (char *)MVM_DIR "/plan.json", NULL };
	struct merr e;
	int r;

	if ((r = build(ir, image, n)) != 0)
		return r;
	if (prod) {
		pn[4] = (char *)"--require-prod";
		pn[5] = (char *)ir;
	}
	if (key_default_secret(key, sizeof key, &e) != 0)
		tool_fail(NULL, &e);
	if (access(key, F_OK) != 0 && (r = run_to(kg, NULL)) != 0)
		return r;
	if ((r = run_to(pn, MVM_DIR "/plan.json")) != 0)
		return r;
	return run_to(ps, MVM_DIR "/plan.dsse.json");
}

static int cmd_plan(int argc, char **argv)
{
	char image[PATH_MAX];
	int r = plan(argc ? argv[0] : DEFAULT_IR, image, sizeof image, 0);

	if (r == 0)
		printf("%s/plan.dsse.json\n", MVM_DIR);
	return r;
}

static int cmd_up(int argc, char **argv)
{
	char t[PATH_MAX], id[RUN_ID_MAX + 1], dir[PATH_MAX], image[PATH_MAX], sock[PATH_MAX];
	char p[PATH_MAX + 32];
	/* --prod: the plan refuses a dev image (plan-new --require-prod) */
	int prod = argc && !strcmp(argv[0], "--prod");
	const char *ir = argc > prod ? argv[prod] : DEFAULT_IR;
	struct buf b = BUF_INIT;
	struct jdoc *d;
	struct merr e;
	int r;

	if (argc > prod + 1)
		tool_die(EX_USAGE, "up: [--prod] [IR]");
	if (read_file(ir, &b, &e) != 0 || !(d = json_parse(b.p ? b.p : "", b.len, NULL, &e)))
		tool_fail(ir, &e);
	if (ir_id(d, id, sizeof id, &e) != 0)
		tool_fail(ir, &e);
	json_free(d);
	vm_dir(id, dir, sizeof dir);
	if (run_pid(dir))
		tool_die(EX_NO, "%s is already running (%s); mvmctl down %s first", id, dir, id);
	/* the IR beside the VM: invoke takes the entrypoint's format from it */
	snprintf(p, sizeof p, "%s/%s", dir, RUN_IR);
	if (mkdir_p(dir, 0700, &e) != 0 || write_atomic(p, b.p, b.len, 0600, &e) != 0)
		tool_fail(p, &e);
	buf_free(&b);
	if ((r = plan(ir, image, sizeof image, prod)) != 0)
		return r;
	char *vb[] = { tool(t, "vm-boot"), (char *)"-d", (char *)"-S", dir, (char *)"-i",
		image, (char *)MVM_DIR "/plan.dsse.json", NULL };
	r = run_line(vb, sock, sizeof sock);
	/* the plan is spent either way: admitted once, or refused */
	unlink(MVM_DIR "/plan.json");
	unlink(MVM_DIR "/plan.dsse.json");
	if (r == 0)
		printf("%s %s\n", id, sock);
	return r;
}

static int cmd_invoke(int argc, char **argv)
{
	char t[PATH_MAX], dir[PATH_MAX], sock[PATH_MAX + 8], ir[PATH_MAX + 32], fmt[8];
	char *pre[] = { (char *)"-s", sock, (char *)"-r", (char *)"-f", fmt };
	struct merr e;
	int r;

	vm_dir(argv[0], dir, sizeof dir);
	if (!run_pid(dir))
		tool_die(EX_NO, "%s is not running; mvmctl up first", argv[0]);
	snprintf(sock, sizeof sock, "%s/v.sock", dir);
	/* the format: from the IR beside the VM or the project's, by function */
	if ((r = run_call_format(dir, argc - 1, argv + 1, fmt, ir, sizeof ir, &e)) > 1)
		tool_fail(ir, &e);
	exec_with(tool(t, "vsock-call"), pre, r == 0 ? 5 : 3, argc - 1, argv + 1);
}

static int cmd_down(int argc, char **argv)
{
	char dir[PATH_MAX];
	pid_t pid;

	(void)argc;
	vm_dir(argv[0], dir, sizeof dir);
	if (!(pid = run_pid(dir)))
		tool_die(EX_NO, "%s is not running", argv[0]);
	if (run_stop(pid))
		fprintf(stderr, "%s: %s did not stop in %d s: killed\n", progname, argv[0],
			RUN_STOP_SECS);
	return 0;
}

static int cmd_ps(int argc, char **argv)
{
	DIR *d = opendir(RUN_ROOT);
	char dir[PATH_MAX], ports[NETCFG_PORTS_TEXT];   /* vm-boot's ports.json, in short */
	const char *id;
	pid_t pid;

	(void)argc, (void)argv;
	printf("%-20s %8s  %s  %s\n", "ID", "PID", "SOCKET", "PORTS");
	while (d && (pid = run_next(d, dir, sizeof dir, &id)) != 0) {
		netcfg_ports_text(dir, ports);
		printf("%-20s %8ld  %s/v.sock  %s\n", id, (long)pid, dir, ports);
	}
	if (d)
		closedir(d);
	return 0;
}

static int cmd_logs(int argc, char **argv)
{
	char dir[PATH_MAX], p[PATH_MAX + 16];
	char *pre[] = { p };

	(void)argc;
	vm_dir(argv[0], dir, sizeof dir);
	snprintf(p, sizeof p, "%s/console.log", dir);
	exec_with("cat", pre, 1, 0, NULL);
}

/* audit collect DEST SRC...: each node's log into DEST/NODE/ (lib/auditset.h);
 * a JSON line per log; stops at the first that cannot be collected. */
static int collect(int argc, char **argv)
{
	struct auditset_collected c;
	struct merr e;
	struct buf out;

	if (argc < 2)
		return -1;
	buf_init_fd(&out, STDOUT_FILENO);
	for (int i = 1; i < argc; i++) {
		if (auditset_collect(argv[0], argv[i], &c, &e) != 0) {
			tool_flush(&out);
			tool_fail(NULL, &e);    /* the message names the files */
		}
		buf_printf(&out, "{\"action\":\"%s\",\"log\":", c.action);
		json_put_str(&out, c.path, strlen(c.path));
		buf_printf(&out, ",\"node\":\"%s\"}\n", c.node);
	}
	tool_flush(&out);
	buf_free(&out);
	tool_exit(0);
}

static int cmd_audit(int argc, char **argv)
{
	char t[PATH_MAX], log[PATH_MAX], *pre[] = { (char *)"-n", (char *)"10", log };
	struct merr e;

	if (!strcmp(argv[0], "collect"))
		return collect(argc - 1, argv + 1);
	if (!strcmp(argv[0], "verify"))
		exec_with(tool(t, "audit-verify"), NULL, 0, argc - 1, argv + 1);
	if (strcmp(argv[0], "tail") != 0 || argc > 2)
		return -1;
	if (argc == 2)
		snprintf(log, sizeof log, "%s", argv[1]);
	else if (mvm_path(log, sizeof log, "audit/local.jsonl", &e) != 0)
		tool_fail(NULL, &e);
	exec_with("tail", pre, 3, 0, NULL);
}

/* A batch of calls as a Slurm job array: mvm-submit(1), a tool of its own */
static int cmd_submit(int argc, char **argv)
{
	char t[PATH_MAX];

	exec_with(tool(t, "mvm-submit"), NULL, 0, argc, argv);
}

static const struct verb {
	const char *name, *args, *help;
	int (*fn)(int argc, char **argv);
	int min, max;      /* operands; fn returns -1 for a usage error */
	int writes;        /* makes .mvm/ first */
} verbs[] = {
	{ "emit", "ENTRY [-o FILE]", "declaration -> Workload IR (mvm-emit)", cmd_emit, 0, 64, 1 },
	{ "validate", "[IR]", "check an IR, lockfiles from here (ir-validate -C .)", cmd_validate, 0, 64, 0 },
	{ "hash", "[IR]", "the IR's name (ir-hash)", cmd_hash, 0, 64, 0 },
	{ "build", "[IR]", "the image (mvm-build -C . -o .mvm/image); prints its dir", cmd_build, 0, 1, 1 },
	{ "keygen", "", "the host signing key, once (plan-keygen)", cmd_keygen, 0, 64, 0 },
	{ "plan", "[IR]", "build, plan-new, plan-sign -> .mvm/plan.dsse.json", cmd_plan, 0, 1, 1 },
	{ "up", "[--prod] [IR]", "build, plan, sign, admit and boot (vm-boot -d); --prod: no dev image", cmd_up, 0, 2, 1 },
	{ "invoke", "ID [vsock-call args]", "call the VM's function, e.g. --input name=Alice", cmd_invoke, 1, 65, 0 },
	{ "down", "ID", "stop a VM", cmd_down, 1, 1, 0 },
	{ "ps", "", "list running VMs (every .mvm/run/ID/)", cmd_ps, 0, 0, 0 },
	{ "submit", "-i IMAGE CALLS PLAN...", "a batch of calls on Slurm, a plan per task (mvm-submit)", cmd_submit, 0, 64, 0 },
	{ "logs", "ID", "the VM's console log", cmd_logs, 1, 1, 0 },
	{ "audit", "verify|tail|collect [args]", "audit-verify, the log's last entries, or collect DEST LOG... (nodes' logs)", cmd_audit, 1, 64, 0 },
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

static void usage(int code)
{
	FILE *f = code ? stderr : stdout;
	char left[64];

	fprintf(f, "usage: %s <verb> [args]\n", progname);
	for (size_t i = 0; i < NVERBS; i++) {
		snprintf(left, sizeof left, "%s %s", verbs[i].name, verbs[i].args);
		fprintf(f, "  %-28s %s\n", left, verbs[i].help);
	}
	fprintf(f, "IR defaults to %s; ID is the workload id (the IR's \"id\").\n"
		"Exit: the verb's tool's status; 2 usage.\n", DEFAULT_IR);
	exit(code);
}

int main(int argc, char **argv)
{
	char bin[PATH_MAX], *up;
	const struct verb *v = NULL;
	int r;

	tool_init(argv);
	if (tool_bindir(bin, sizeof bin) == 0 && strlen(up = dirname(bin)) < sizeof root)
		memcpy(root, up, strlen(up) + 1);   /* the checkout or prefix */
	if (argc < 2)
		usage(EX_USAGE);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
		usage(0);
	for (size_t i = 0; i < NVERBS; i++)
		if (!strcmp(argv[1], verbs[i].name))
			v = &verbs[i];
	if (!v) {
		fprintf(stderr, "%s: %s: unknown verb\n", progname, argv[1]);
		usage(EX_USAGE);
	}
	argc -= 2;
	argv += 2;
	if (argc < v->min || argc > v->max)
		usage(EX_USAGE);
	if (v->writes && mkdir(MVM_DIR, 0755) < 0 && errno != EEXIST)
		tool_die(EX_SYS, "unable to create %s: %s", MVM_DIR, strerror(errno));
	if ((r = v->fn(argc, argv)) < 0)
		usage(EX_USAGE);
	tool_exit(r);
}
