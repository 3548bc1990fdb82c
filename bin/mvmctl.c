/* mvmctl — porcelain over the mvm tools (git-style: each verb runs plumbing) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "json.h"
#include "tool.h"

#define MVM_DIR ".mvm"

static char root[PATH_MAX - 64];   /* the checkout or prefix: <root>/bin/<tool> */

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s <verb> [args]\n"
		"  emit ENTRY [-o FILE]         declaration -> Workload IR (mvm-emit)\n"
		"  validate [IR]                check an IR (ir-validate)\n"
		"  hash [IR]                    the IR's name (ir-hash)\n"
		"  build [IR]                   rootfs.ext4 + vmlinux + mvm-meta.json; prints the image dir\n"
		"  keygen                       the host signing key, once (plan-keygen)\n"
		"  plan [IR]                    plan-new + plan-sign -> .mvm/plan.dsse.json\n"
		"  up [IR]                      build, plan, sign, admit and boot (vm-boot -d)\n"
		"  invoke ID [vsock-call args]  call the VM's function, e.g. --input name=Alice\n"
		"  down ID                      stop a VM\n"
		"  ps                           list running VMs\n"
		"  logs ID                      the VM's console log\n"
		"  audit verify|tail [args]     audit-verify, or the last entries of the log\n"
		"IR defaults to .mvm/workload-ir.json; ID is the workload id (the IR's \"id\").\n"
		"Exit: the verb's tool's status; 2 usage.\n",
		progname);
	exit(code);
}

static const char *tool(const char *sub, const char *name)
{
	static char buf[4][PATH_MAX];
	static int k;
	char *b = buf[k++ % 4];

	snprintf(b, PATH_MAX, "%s/%s/%s", root, sub, name);
	if (access(b, X_OK) == 0)
		return b;
	snprintf(b, PATH_MAX, "%s", name);
	return b;
}

static __attribute__((noreturn)) void run_exec(char **av)
{
	execvp(av[0], av);
	tool_die(EX_SYS, "unable to run %s: %s", av[0], strerror(errno));
}

/* Run av with stdout to out_path (atomically, when not NULL); status. */
static int run(char **av, const char *out_path)
{
	char tmp[PATH_MAX];
	int status, fd = -1;
	pid_t pid;

	if (out_path && strcmp(out_path, "/dev/null") == 0) {
		/* discard: open it, never replace it */
		fd = open(out_path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			tool_die(EX_SYS, "/dev/null: %s", strerror(errno));
		out_path = NULL;
	} else if (out_path) {
		snprintf(tmp, sizeof tmp, "%s.tmp", out_path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			tool_die(EX_SYS, "%s: %s", tmp, strerror(errno));
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tool_die(EX_SYS, "unable to fork: %s", strerror(errno));
	if (pid == 0) {
		if (fd >= 0)
			dup2(fd, 1);
		run_exec(av);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			tool_die(EX_SYS, "waitpid: %s", strerror(errno));
	status = WIFEXITED(status) ? WEXITSTATUS(status) : EX_SYS;
	if (fd >= 0 && !out_path) {
		close(fd);
	} else if (fd >= 0) {
		if (fsync(fd) < 0 && status == 0)
			status = EX_SYS;
		close(fd);
		if (status == 0 && rename(tmp, out_path) < 0)
			tool_die(EX_SYS, "%s: %s", out_path, strerror(errno));
		if (status != 0)
			unlink(tmp);
	}
	return status;
}

/* Run av and capture one line of its stdout into line. */
static int run_line(char **av, char *line, size_t n)
{
	int p[2], status;
	pid_t pid;
	ssize_t r;
	size_t got = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		tool_die(EX_SYS, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		tool_die(EX_SYS, "unable to fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(p[1], 1);
		run_exec(av);
	}
	close(p[1]);
	while (got < n - 1 && (r = read(p[0], line + got, n - 1 - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		got += (size_t)r;
	}
	close(p[0]);
	line[got] = '\0';
	line[strcspn(line, "\n")] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EX_SYS;
	return WIFEXITED(status) ? WEXITSTATUS(status) : EX_SYS;
}

static const char *ir_arg(int argc, char **argv)
{
	return argc > 0 ? argv[0] : MVM_DIR "/workload-ir.json";
}

/* The IR's "id": the VM's name under .mvm/run/. */
static void workload_id(const char *ir, char *id, size_t n)
{
	struct buf b = BUF_INIT;
	struct merr e;
	struct jdoc *d;
	jref v;
	size_t len;
	const char *s;

	if (read_file(ir, &b, &e) != 0)
		tool_fail(ir, &e);
	if (!(d = json_parse(b.p ? b.p : "", b.len, NULL, &e)))
		tool_fail(ir, &e);
	v = json_get(d, json_root(d), "id");
	s = v != JREF_NONE ? json_str(d, v, &len) : NULL;
	if (!s || len == 0 || len >= n || memchr(s, '/', len) || memchr(s, '\0', len) || s[0] == '.')
		tool_die(EX_DATA, "%s: /id: a workload id usable as a directory name is required", ir);
	memcpy(id, s, len);
	id[len] = '\0';
	json_free(d);
	buf_free(&b);
}

static void run_dir(const char *id, char *dir, size_t n)
{
	if (!id[0] || strchr(id, '/') || id[0] == '.')
		tool_die(EX_USAGE, "%s: not a VM id", id);
	snprintf(dir, n, "%s/run/%s", MVM_DIR, id);
}

static pid_t read_pid(const char *dir)
{
	char p[PATH_MAX + 8], buf[32] = "";
	FILE *f;
	long v;

	snprintf(p, sizeof p, "%s/pid", dir);
	if (!(f = fopen(p, "r")))
		return 0;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	v = strtol(buf, NULL, 10);
	return v > 1 && kill((pid_t)v, 0) == 0 ? (pid_t)v : 0;
}

static int cmd_build(int argc, char **argv, char *imagedir, size_t n)
{
	/* MVM_BUILDER: nix, debian, or auto (Nix when mvm-build-nix --probe
	 * finds nix and a nixpkgs) */
	const char *want = getenv("MVM_BUILDER") ? getenv("MVM_BUILDER") : "auto";
	const char *builder = "mvm-build-rootfs";
	if (!strcmp(want, "nix")) {
		builder = "mvm-build-nix";
	} else if (!strcmp(want, "auto")) {
		char *probe[] = { (char *)tool("libexec", "mvm-build-nix"), (char *)"--probe", NULL };
		char line[64];
		if (access(probe[0], X_OK) == 0 && run_line(probe, line, sizeof line) == 0)
			builder = "mvm-build-nix";
	} else if (strcmp(want, "debian") != 0) {
		tool_die(EX_USAGE, "MVM_BUILDER: nix, debian or auto, not %s", want);
	}
	/* sources are relative to the project directory, where mvmctl runs */
	char *av[] = { (char *)tool("libexec", builder), (char *)"-C", (char *)".",
		(char *)"-o", (char *)MVM_DIR "/image", (char *)ir_arg(argc, argv), NULL };
	int r = run_line(av, imagedir, n);

	if (r == 0 && !imagedir[0])
		r = EX_SYS;
	return r;
}

/* Build (or reuse) the image, then plan and sign; image gets its directory. */
static int cmd_plan(int argc, char **argv, char *image, size_t n)
{
	const char *ir = ir_arg(argc, argv);
	int r = cmd_build(argc, argv, image, n);
	char key[PATH_MAX];
	char *kg[] = { (char *)tool("bin", "plan-keygen"), NULL };
	char *pn[] = { (char *)tool("bin", "plan-new"), (char *)"--image", image, (char *)ir, NULL };
	char *ps[] = { (char *)tool("bin", "plan-sign"), (char *)MVM_DIR "/plan.json", NULL };
	const char *home = getenv("MVM_HOME");

	if (r)
		return r;
	snprintf(key, sizeof key, "%s%s/keys/host-signer.ed25519", home ? home : getenv("HOME"),
		home ? "" : "/.mvm");
	if (access(key, F_OK) != 0 && (r = run(kg, "/dev/null")) != 0)
		return r;
	if ((r = run(pn, MVM_DIR "/plan.json")) != 0)
		return r;
	return run(ps, MVM_DIR "/plan.dsse.json");
}

static int cmd_up(int argc, char **argv)
{
	char id[128], dir[PATH_MAX], image[PATH_MAX], sock[PATH_MAX];
	const char *ir = ir_arg(argc, argv);
	int r;

	workload_id(ir, id, sizeof id);
	run_dir(id, dir, sizeof dir);
	if (read_pid(dir))
		tool_die(EX_NO, "%s is already running (%s); mvmctl down %s first", id, dir, id);
	if ((r = cmd_plan(argc, argv, image, sizeof image)) != 0)
		return r;
	char *vb[] = { (char *)tool("bin", "vm-boot"), (char *)"-d", (char *)"-S", dir, (char *)"-i",
		image, (char *)MVM_DIR "/plan.dsse.json", NULL };
	r = run_line(vb, sock, sizeof sock);
	/* the plan is spent either way: admitted once, or refused */
	unlink(MVM_DIR "/plan.json");
	unlink(MVM_DIR "/plan.dsse.json");
	if (r == 0)
		printf("%s %s\n", id, sock);
	return r;
}

static int cmd_down(const char *id)
{
	char dir[PATH_MAX];
	pid_t pid;

	run_dir(id, dir, sizeof dir);
	if (!(pid = read_pid(dir)))
		tool_die(EX_NO, "%s is not running", id);
	kill(pid, SIGTERM);
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++) {
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	if (kill(pid, 0) == 0) {
		kill(pid, SIGKILL);
		fprintf(stderr, "%s: %s did not stop in 10 s: killed\n", progname, id);
	}
	return 0;
}

static int cmd_ps(void)
{
	DIR *d = opendir(MVM_DIR "/run");
	struct dirent *de;

	printf("%-20s %8s  %s\n", "ID", "PID", "SOCKET");
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char dir[PATH_MAX];
		pid_t pid;

		if (de->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof dir, "%s/run/%.200s", MVM_DIR, de->d_name);
		if ((pid = read_pid(dir)))
			printf("%-20s %8ld  %s/v.sock\n", de->d_name, (long)pid, dir);
	}
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t n;
	const char *verb;

	tool_init(argv);
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';              /* .../bin */
		char *up = strrchr(self, '/');
		if (up && (size_t)(up - self) < sizeof root) {
			*up = '\0';
			memcpy(root, self, strlen(self) + 1);
		}
	}
	if (argc < 2)
		usage(EX_USAGE);
	verb = argv[1];
	argc -= 2;
	argv += 2;
	if (!strcmp(verb, "-h") || !strcmp(verb, "--help") || !strcmp(verb, "help"))
		usage(0);
	/* the verbs that write state make .mvm/ first */
	if ((!strcmp(verb, "emit") || !strcmp(verb, "build") || !strcmp(verb, "plan") ||
	     !strcmp(verb, "up")) && mkdir(MVM_DIR, 0755) < 0 && errno != EEXIST)
		tool_die(EX_SYS, "unable to create %s: %s", MVM_DIR, strerror(errno));
	if (!strcmp(verb, "emit") || !strcmp(verb, "validate") || !strcmp(verb, "hash") ||
	    !strcmp(verb, "keygen")) {
		static const char *const map[][2] = { { "emit", "mvm-emit" }, { "validate", "ir-validate" },
			{ "hash", "ir-hash" }, { "keygen", "plan-keygen" } };
		char *av[64];
		int k = 0;
		for (size_t i = 0; i < 4; i++)
			if (!strcmp(verb, map[i][0]))
				av[k++] = (char *)tool("bin", map[i][1]);
		if (argc > 60)
			usage(EX_USAGE);
		for (int i = 0; i < argc; i++)
			av[k++] = argv[i];
		if ((!strcmp(verb, "validate") || !strcmp(verb, "hash")) && argc == 0)
			av[k++] = (char *)MVM_DIR "/workload-ir.json";
		av[k] = NULL;
		run_exec(av);
	}
	if (!strcmp(verb, "build")) {
		char image[PATH_MAX];
		int r;
		if (argc > 1)
			usage(EX_USAGE);
		if ((r = cmd_build(argc, argv, image, sizeof image)) == 0)
			printf("%s\n", image);
		tool_exit(r);
	}
	if (!strcmp(verb, "plan")) {
		if (argc > 1)
			usage(EX_USAGE);
		char image[PATH_MAX];
		int r = cmd_plan(argc, argv, image, sizeof image);
		if (r == 0)
			printf("%s/plan.dsse.json\n", MVM_DIR);
		tool_exit(r);
	}
	if (!strcmp(verb, "up")) {
		if (argc > 1)
			usage(EX_USAGE);
		tool_exit(cmd_up(argc, argv));
	}
	if (!strcmp(verb, "invoke")) {
		char dir[PATH_MAX], sock[PATH_MAX + 8];
		char *av[72];
		int k = 0;
		if (argc < 1 || argc > 64)
			usage(EX_USAGE);
		run_dir(argv[0], dir, sizeof dir);
		if (!read_pid(dir))
			tool_die(EX_NO, "%s is not running; mvmctl up first", argv[0]);
		snprintf(sock, sizeof sock, "%s/v.sock", dir);
		av[k++] = (char *)tool("bin", "vsock-call");
		av[k++] = (char *)"-s";
		av[k++] = sock;
		av[k++] = (char *)"-r";
		for (int i = 1; i < argc; i++)
			av[k++] = argv[i];
		av[k] = NULL;
		run_exec(av);
	}
	if (!strcmp(verb, "down")) {
		if (argc != 1)
			usage(EX_USAGE);
		tool_exit(cmd_down(argv[0]));
	}
	if (!strcmp(verb, "ps")) {
		if (argc != 0)
			usage(EX_USAGE);
		tool_exit(cmd_ps());
	}
	if (!strcmp(verb, "logs")) {
		char dir[PATH_MAX], p[PATH_MAX + 16];
		if (argc != 1)
			usage(EX_USAGE);
		run_dir(argv[0], dir, sizeof dir);
		snprintf(p, sizeof p, "%s/console.log", dir);
		char *av[] = { (char *)"cat", p, NULL };
		run_exec(av);
	}
	if (!strcmp(verb, "audit")) {
		if (argc < 1)
			usage(EX_USAGE);
		if (!strcmp(argv[0], "verify")) {
			char *av[64];
			int k = 0;
			av[k++] = (char *)tool("bin", "audit-verify");
			for (int i = 1; i < argc && k < 63; i++)
				av[k++] = argv[i];
			av[k] = NULL;
			run_exec(av);
		}
		if (!strcmp(argv[0], "tail")) {
			const char *home = getenv("MVM_HOME");
			char log[PATH_MAX];
			if (argc > 2)
				usage(EX_USAGE);
			if (argc == 2)
				snprintf(log, sizeof log, "%s", argv[1]);
			else
				snprintf(log, sizeof log, "%s%s/audit/local.jsonl",
					home ? home : getenv("HOME"), home ? "" : "/.mvm");
			char *av[] = { (char *)"tail", (char *)"-n", (char *)"10", log, NULL };
			run_exec(av);
		}
		usage(EX_USAGE);
	}
	fprintf(stderr, "%s: %s: unknown verb\n", progname, verb);
	usage(EX_USAGE);
}
