/* mvm-emit — run an SDK declaration under MVM_EMITTING=1 and write its IR */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "json.h"
#include "tool.h"

enum sdk { SDK_PYTHON, SDK_NODE, SDK_RUST };
static const char *const sdk_name[] = { "python", "typescript", "rust" };

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-o file] [-l python|typescript|rust] [entry]\n"
		"Run a workload declaration (entry.py, entry.ts/.mts/.js/.mjs, or a Rust\n"
		"crate's directory or Cargo.toml) under MVM_EMITTING=1 and write its Workload\n"
		"IR, validated and canonical, to file, $MVM_IR_OUT or standard output.\n"
		"  -o file  write the IR to file (atomically) instead of standard output\n"
		"  -l lang  the declaration's language (default: from entry's name;\n"
		"           python when entry is standard input)\n"
		"Exit: 0 written, 1 the IR is invalid, 2 usage, 3 the declaration failed\n"
		"or declared no workload, 4 system error (interpreter or SDK missing, I/O).\n",
		progname);
	exit(code);
}

/* snprintf into a path buffer, or die: a path too long is a system error. */
static void xpath(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void xpath(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= n)
		tool_die(EX_SYS, "path too long: %s", out);
}

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_exe(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* Find prog on PATH (or take it as is when it has a slash); NULL if absent. */
static char *which(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (!prog || !*prog)
		return NULL;
	if (strchr(prog, '/'))
		return is_exe(prog) ? strdup(prog) : NULL;
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *c = strchr(path, ':');
		size_t n = c ? (size_t)(c - path) : strlen(path);
		if (n == 0) {
			snprintf(buf, sizeof buf, "./%s", prog);
		} else if (n + strlen(prog) + 2 <= sizeof buf) {
			memcpy(buf, path, n);
			snprintf(buf + n, sizeof buf - n, "/%s", prog);
		} else {
			buf[0] = '\0';
		}
		if (buf[0] && is_exe(buf))
			return strdup(buf);
		path += n + (c ? 1 : 0);
	}
	return NULL;
}

/*
 * The SDK directory: $MVM_SDK_DIR, else <exe dir>/../sdk (a checkout), else
 * <exe dir>/../share/mvm/sdk (installed).  NULL if none exists.
 */
static char *sdk_dir(void)
{
	const char *env = getenv("MVM_SDK_DIR");
	char exe[PATH_MAX], p[PATH_MAX + 32];

	if (env && *env)
		return is_dir(env) ? realpath(env, NULL) : NULL;
	if (tool_bindir(exe, sizeof exe) != 0)
		return NULL;
	snprintf(p, sizeof p, "%s/../sdk", exe);
	if (is_dir(p))
		return realpath(p, NULL);
	snprintf(p, sizeof p, "%s/../share/mvm/sdk", exe);
	if (is_dir(p))
		return realpath(p, NULL);
	return NULL;
}

/* ir-validate: $MVM_IR_VALIDATE ("" = none), else beside this tool, else on PATH. */
static char *validator(void)
{
	const char *env = getenv("MVM_IR_VALIDATE");
	char exe[PATH_MAX], p[PATH_MAX + 32];

	if (env)
		return *env ? which(env) : NULL;
	if (tool_bindir(exe, sizeof exe) == 0) {
		snprintf(p, sizeof p, "%s/ir-validate", exe);
		if (is_exe(p))
			return strdup(p);
	}
	return which("ir-validate");
}

static int sdk_of(const char *entry, const char *lang)
{
	if (lang) {
		if (!strcmp(lang, "python") || !strcmp(lang, "py"))
			return SDK_PYTHON;
		if (!strcmp(lang, "typescript") || !strcmp(lang, "ts") || !strcmp(lang, "node") ||
		    !strcmp(lang, "javascript") || !strcmp(lang, "js"))
			return SDK_NODE;
		if (!strcmp(lang, "rust") || !strcmp(lang, "rs"))
			return SDK_RUST;
		tool_die(EX_USAGE, "-l %s: unknown language (python, typescript or rust)", lang);
	}
	if (!entry)
		return SDK_PYTHON;
	if (ends_with(entry, ".py"))
		return SDK_PYTHON;
	if (ends_with(entry, ".ts") || ends_with(entry, ".mts") || ends_with(entry, ".js") ||
	    ends_with(entry, ".mjs"))
		return SDK_NODE;
	if (ends_with(entry, "/Cargo.toml") || !strcmp(entry, "Cargo.toml") || is_dir(entry))
		return SDK_RUST;
	return -1;
}

struct child {
	const char *argv[8];
	const char *cwd;
	char *env[12];  /* NAME=VALUE set in the child */
	int nenv;
};

static void child_setenv(struct child *c, const char *name, const char *val)
{
	size_t n = strlen(name) + strlen(val) + 2;
	char *s = malloc(n);

	if (!s)
		tool_die(EX_SYS, "unable to allocate memory");
	snprintf(s, n, "%s=%s", name, val);
	c->env[c->nenv++] = s;
}

/*
 * Run c with stdout sent to our stderr (the declaration's prints must not
 * mix with the IR) and stdin from in_fd (or /dev/null).  Returns the exit
 * status, 128+signal, or -1 when it could not be started (errno set).
 */
static int run(struct child *c, int in_fd, int out_fd)
{
	int pfd[2];
	int status, err = 0;
	pid_t pid;
	ssize_t k;

	if (pipe2(pfd, O_CLOEXEC) != 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int fd = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(out_fd >= 0 ? out_fd : 2, 1) < 0)
			goto fail;
		if (c->cwd && chdir(c->cwd) != 0)
			goto fail;
		for (int i = 0; i < c->nenv; i++)
			if (putenv(c->env[i]) != 0)
				goto fail;
		signal(SIGPIPE, SIG_DFL);
		execv(c->argv[0], (char *const *)c->argv);
fail:
		err = errno;
		if (write(pfd[1], &err, sizeof err) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	do
		k = read(pfd[0], &err, sizeof err);
	while (k < 0 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (k == (ssize_t)sizeof err) {
		errno = err;
		return -1;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static char tmpdir[PATH_MAX];

static void cleanup(void)
{
	char p[PATH_MAX + 32];

	if (!tmpdir[0])
		return;
	snprintf(p, sizeof p, "%s/ir.json", tmpdir);
	unlink(p);
	snprintf(p, sizeof p, "%s/entry.py", tmpdir);
	unlink(p);
	snprintf(p, sizeof p, "%s/entry.mts", tmpdir);
	unlink(p);
	rmdir(tmpdir);
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Copy standard input to path; 0 or -1. */
static int save_stdin(const char *path)
{
	struct buf b = BUF_INIT;
	struct merr e;
	int fd, r = -1;

	if (read_fd(0, &b, &e) != 0)
		tool_fail("-", &e);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		r = write_all(fd, b.p ? b.p : "", b.len);
		if (close(fd) != 0)
			r = -1;
	}
	buf_free(&b);
	return r;
}

static const char *install_hint(int sdk)
{
	switch (sdk) {
	case SDK_PYTHON:
		return "install Debian's python3 (apt-get install python3) or set MVM_PYTHON";
	case SDK_NODE:
		return "install Node.js 18 or later (apt-get install nodejs npm) or set MVM_NODE";
	default:
		return "install Rust's cargo (https://rustup.rs, or apt-get install cargo) or set MVM_CARGO";
	}
}

int main(int argc, char **argv)
{
	const char *out = NULL, *lang = NULL, *entry = NULL;
	char cwd[PATH_MAX], base[PATH_MAX], entry_abs[PATH_MAX], irpath[PATH_MAX + 16];
	char sdkpath[PATH_MAX + 64], runner[PATH_MAX + 64], manifest[PATH_MAX + 16];
	char *interp, *sdk, *val;
	struct child c = { 0 };
	struct buf ir = BUF_INIT, canon = BUF_INIT;
	struct merr e;
	int opt, kind, st;
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	while ((opt = getopt_long(argc, argv, "o:l:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'l': lang = optarg; break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (argc - optind > 1)
		usage(EX_USAGE);
	if (optind < argc && strcmp(argv[optind], "-") != 0)
		entry = argv[optind];
	if (!out && getenv("MVM_IR_OUT") && *getenv("MVM_IR_OUT"))
		out = getenv("MVM_IR_OUT");

	kind = sdk_of(entry, lang);
	if (kind < 0) {
		if (access(entry, F_OK) != 0) {
			merr_sys(&e, "open");
			tool_fail(entry, &e);
		}
		tool_die(EX_USAGE, "%s: unknown kind of declaration: expected .py, .ts, .mts, .js, "
			".mjs, or a Rust crate (its directory or Cargo.toml); or use -l", entry);
	}
	if (entry && kind != SDK_RUST && !is_file(entry)) {
		if (access(entry, F_OK) != 0)
			merr_sys(&e, "open");
		else
			merr_set(&e, EX_SYS, NULL, "not a regular file");
		tool_fail(entry, &e);
	}
	if (kind == SDK_RUST) {
		if (!entry)
			tool_die(EX_USAGE, "a Rust declaration is a crate: name its directory or Cargo.toml");
		if (is_dir(entry))
			xpath(manifest, sizeof manifest, "%s/Cargo.toml", entry);
		else
			xpath(manifest, sizeof manifest, "%s", entry);
		if (!is_file(manifest)) {
			errno = ENOENT;
			merr_sys(&e, "open");
			tool_fail(manifest, &e);
		}
	}
	if (!getcwd(cwd, sizeof cwd))
		tool_die(EX_SYS, "unable to find the current directory: %s", strerror(errno));

	/* The interpreter. */
	if (kind == SDK_PYTHON) {
		const char *py = getenv("MVM_PYTHON");
		interp = which(py && *py ? py : is_exe("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
		if (!interp)
			tool_die(EX_SYS, "python interpreter %s not found: %s",
				py && *py ? py : "python3", install_hint(kind));
	} else if (kind == SDK_NODE) {
		const char *nd = getenv("MVM_NODE");
		interp = which(nd && *nd ? nd : "node");
		if (!interp)
			tool_die(EX_SYS, "node not found: %s", install_hint(kind));
	} else {
		const char *cg = getenv("MVM_CARGO");
		interp = which(cg && *cg ? cg : "cargo");
		if (!interp)
			tool_die(EX_SYS, "cargo not found: %s", install_hint(kind));
	}

	/* The SDK. */
	sdk = sdk_dir();
	if (kind == SDK_PYTHON) {
		xpath(sdkpath, sizeof sdkpath, "%s/python", sdk ? sdk : "");
		xpath(runner, sizeof runner, "%s/mvm/__main__.py", sdkpath);
	} else if (kind == SDK_NODE) {
		xpath(sdkpath, sizeof sdkpath, "%s/typescript", sdk ? sdk : "");
		xpath(runner, sizeof runner, "%s/bin/mvm-emit.mjs", sdkpath);
	}
	if (kind != SDK_RUST && (!sdk || !is_file(runner)))
		tool_die(EX_SYS, "the %s SDK is not installed: no %s (set MVM_SDK_DIR to the "
			"directory holding python/ and typescript/)", sdk_name[kind],
			sdk ? runner : "sdk/ beside this tool or ../share/mvm/sdk");
	if (kind == SDK_NODE) {
		char esb[PATH_MAX + 96];
		xpath(esb, sizeof esb, "%s/node_modules/esbuild/package.json", sdkpath);
		if (!is_file(esb))
			tool_die(EX_SYS, "the TypeScript SDK's transpiler is not installed: no %s "
				"(run: npm ci --prefix %s)", esb, sdkpath);
	}

	/* A private directory for the IR and, for standard input, the entry. */
	xpath(tmpdir, sizeof tmpdir, "%s/mvm-emit.XXXXXX",
		getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		tmpdir[0] = '\0';
		tool_die(EX_SYS, "unable to create a temporary directory: %s", strerror(errno));
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	xpath(irpath, sizeof irpath, "%s/ir.json", tmpdir);

	if (!entry && kind != SDK_RUST) {
		xpath(entry_abs, sizeof entry_abs, "%s/entry.%s", tmpdir,
			kind == SDK_PYTHON ? "py" : "mts");
		if (save_stdin(entry_abs) != 0)
			tool_die(EX_SYS, "unable to save standard input: %s", strerror(errno));
		xpath(base, sizeof base, "%s", cwd);
	} else {
		const char *m = kind == SDK_RUST ? manifest : entry;
		char *r = realpath(m, NULL), *slash;
		if (!r) {
			merr_sys(&e, "resolve");
			tool_fail(m, &e);
		}
		xpath(entry_abs, sizeof entry_abs, "%s", r);
		xpath(base, sizeof base, "%s", r);
		slash = strrchr(base, '/');
		if (slash)
			slash[slash == base ? 1 : 0] = '\0';
		free(r);
	}

	/* Run the declaration under the contract. */
	val = validator();
	c.argv[0] = interp;
	if (kind == SDK_PYTHON) {
		const char *pp = getenv("PYTHONPATH");
		char *ppv = malloc(strlen(sdkpath) + (pp ? strlen(pp) : 0) + 2);
		if (!ppv)
			tool_die(EX_SYS, "unable to allocate memory");
		sprintf(ppv, "%s%s%s", sdkpath, pp && *pp ? ":" : "", pp && *pp ? pp : "");
		c.argv[1] = "-m";
		c.argv[2] = "mvm";
		c.argv[3] = entry_abs;
		child_setenv(&c, "PYTHONPATH", ppv);
		child_setenv(&c, "PYTHONDONTWRITEBYTECODE", "1");
		free(ppv);
	} else if (kind == SDK_NODE) {
		c.argv[1] = runner;
		c.argv[2] = entry_abs;
	} else {
		c.argv[1] = "run";
		c.argv[2] = "--quiet";
		c.argv[3] = "--offline";
		c.argv[4] = "--manifest-path";
		c.argv[5] = entry_abs;
		c.cwd = base;
	}
	child_setenv(&c, "MVM_EMITTING", "1");
	child_setenv(&c, "MVM_IR_OUT", irpath);
	child_setenv(&c, "MVM_EMIT_PROG", progname);
	child_setenv(&c, "MVM_EMIT_BASE", base);
	child_setenv(&c, "MVM_EMIT_NAME", entry ? entry : "-");
	child_setenv(&c, "MVM_IR_VALIDATE", val ? val : "");

	st = run(&c, -1, -1);
	if (st < 0)
		tool_die(EX_SYS, "unable to run %s: %s", interp, strerror(errno));
	if (st != 0) {
		/* The SDKs exit 1 for an invalid IR, 3 for a failed declaration and
		 * 4 for a system error; cargo exits 101 when the crate does not build. */
		if (st == 1 || st == 4)
			exit(st);
		if (st == 3 || st == 101)
			tool_die(EX_DATA, "%s: the declaration failed (%s exited %d)",
				entry ? entry : "-", interp, st);
		if (st > 128)
			tool_die(EX_DATA, "%s: the declaration was killed by signal %d",
				entry ? entry : "-", st - 128);
		tool_die(EX_SYS, "%s: %s exited %d", entry ? entry : "-", interp, st);
	}
	if (read_file(irpath, &ir, &e) != 0) {
		if (access(irpath, F_OK) != 0)
			tool_die(EX_DATA, "%s: the declaration wrote no IR (does it declare a workload "
				"and, in Rust, call mvm_sdk::emit?)", entry ? entry : "-");
		tool_fail(irpath, &e);
	}

	/* The bytes must be one canonical JSON text. */
	if (json_canonicalize(ir.p ? ir.p : "", ir.len, NULL, &canon, &e) != 0) {
		if (e.code == EX_DATA)
			tool_die(EX_DATA, "%s: the SDK wrote malformed JSON: %s%s%s",
				entry ? entry : "-", e.where, e.where[0] ? ": " : "", e.msg);
		tool_fail(NULL, &e);
	}
	if (canon.len != ir.len || memcmp(canon.p, ir.p, ir.len) != 0)
		tool_die(EX_DATA, "%s: the SDK wrote JSON that is not in RFC 8785 canonical form",
			entry ? entry : "-");

	/* Check it with ir-validate, from the declaration's directory (lockfiles
	 * are found relative to it). */
	if (val) {
		struct child v = { 0 };
		int fd = open(irpath, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			tool_die(EX_SYS, "%s: unable to open: %s", irpath, strerror(errno));
		v.argv[0] = val;
		v.argv[1] = "-C";
		v.argv[2] = base;
		v.argv[3] = "-";
		v.cwd = base;
		st = run(&v, fd, 2);
		close(fd);
		if (st < 0)
			tool_die(EX_SYS, "unable to run %s: %s", val, strerror(errno));
		if (st == 1)
			exit(EX_NO);
		if (st != 0)
			tool_die(EX_SYS, "%s exited %d", val, st);
	}

	if (out) {
		mode_t um = umask(0);
		umask(um);
		if (write_atomic(out, ir.p, ir.len, 0666 & ~um, &e) != 0)
			tool_fail(out, &e);
	} else if (write_all(STDOUT_FILENO, ir.p, ir.len) != 0) {
		merr_sys(&e, "write to standard output");
		tool_fail(NULL, &e);
	}
	buf_free(&ir);
	buf_free(&canon);
	free(interp);
	free(sdk);
	free(val);
	tool_exit(0);
}
