/* mvm-emit — run an SDK declaration under MVM_EMITTING=1 and write its IR
 * (finding the SDK and running the child: lib/emit.c) */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include "emit.h"
#include "json.h"
#include "tool.h"

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

/* What one run works with. */
struct job {
	const char *entry;            /* NULL: standard input */
	int kind;                     /* enum emit_sdk */
	char bindir[PATH_MAX];        /* this tool's directory, "" if unknown */
	char cwd[PATH_MAX], base[PATH_MAX], entry_abs[PATH_MAX], irpath[PATH_MAX + 16];
	char sdkpath[PATH_MAX + 64], runner[PATH_MAX + 64], manifest[PATH_MAX + 16];
	char *interp, *sdk, *val;
};

/* The entry must be a regular file, or for Rust a crate with a Cargo.toml. */
static void check_entry(struct job *j)
{
	const char *entry = j->entry;
	struct merr e;

	if (j->kind == EMIT_UNKNOWN) {
		if (access(entry, F_OK) != 0) {
			merr_sys(&e, "open");
			tool_fail(entry, &e);
		}
		tool_die(EX_USAGE, "%s: unknown kind of declaration: expected .py, .ts, .mts, .js, "
			".mjs, or a Rust crate (its directory or Cargo.toml); or use -l", entry);
	}
	if (entry && j->kind != EMIT_RUST && !emit_is_file(entry)) {
		if (access(entry, F_OK) != 0)
			merr_sys(&e, "open");
		else
			merr_set(&e, EX_SYS, NULL, "not a regular file");
		tool_fail(entry, &e);
	}
	if (j->kind == EMIT_RUST) {
		if (!entry)
			tool_die(EX_USAGE, "a Rust declaration is a crate: name its directory or Cargo.toml");
		if (emit_is_dir(entry))
			xpath(j->manifest, sizeof j->manifest, "%s/Cargo.toml", entry);
		else
			xpath(j->manifest, sizeof j->manifest, "%s", entry);
		if (!emit_is_file(j->manifest)) {
			errno = ENOENT;
			merr_sys(&e, "open");
			tool_fail(j->manifest, &e);
		}
	}
}

/* The interpreter: $MVM_PYTHON, $MVM_NODE, $MVM_CARGO or the default. */
static void find_interp(struct job *j)
{
	if (j->kind == EMIT_PYTHON) {
		const char *py = getenv("MVM_PYTHON");
		j->interp = emit_which(py && *py ? py : emit_is_exe("/usr/bin/python3") ?
			"/usr/bin/python3" : "python3");
		if (!j->interp)
			tool_die(EX_SYS, "python interpreter %s not found: %s",
				py && *py ? py : "python3", emit_install_hint(j->kind));
	} else if (j->kind == EMIT_NODE) {
		const char *nd = getenv("MVM_NODE");
		j->interp = emit_which(nd && *nd ? nd : "node");
		if (!j->interp)
			tool_die(EX_SYS, "node not found: %s", emit_install_hint(j->kind));
	} else {
		const char *cg = getenv("MVM_CARGO");
		j->interp = emit_which(cg && *cg ? cg : "cargo");
		if (!j->interp)
			tool_die(EX_SYS, "cargo not found: %s", emit_install_hint(j->kind));
	}
}

/* The SDK, its runner and, for TypeScript, its transpiler. */
static void find_sdk(struct job *j)
{
	j->sdk = emit_sdk_dir(j->bindir[0] ? j->bindir : NULL);
	if (j->kind == EMIT_PYTHON) {
		xpath(j->sdkpath, sizeof j->sdkpath, "%s/python", j->sdk ? j->sdk : "");
		xpath(j->runner, sizeof j->runner, "%s/mvm/__main__.py", j->sdkpath);
	} else if (j->kind == EMIT_NODE) {
		xpath(j->sdkpath, sizeof j->sdkpath, "%s/typescript", j->sdk ? j->sdk : "");
		xpath(j->runner, sizeof j->runner, "%s/bin/mvm-emit.mjs", j->sdkpath);
	}
	if (j->kind != EMIT_RUST && (!j->sdk || !emit_is_file(j->runner)))
		tool_die(EX_SYS, "the %s SDK is not installed: no %s (set MVM_SDK_DIR to the "
			"directory holding python/ and typescript/)", emit_sdk_name[j->kind],
			j->sdk ? j->runner : "sdk/ beside this tool or ../share/mvm/sdk");
	if (j->kind == EMIT_NODE) {
		char esb[PATH_MAX + 96];
		xpath(esb, sizeof esb, "%s/node_modules/esbuild/package.json", j->sdkpath);
		if (!emit_is_file(esb))
			tool_die(EX_SYS, "the TypeScript SDK's transpiler is not installed: no %s "
				"(run: npm ci --prefix %s)", esb, j->sdkpath);
	}
}

/* A private directory for the IR and, for standard input, the entry;
 * base: the declaration's directory (the current one for standard input). */
static void place_entry(struct job *j)
{
	struct merr e;

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
	xpath(j->irpath, sizeof j->irpath, "%s/ir.json", tmpdir);

	if (!j->entry && j->kind != EMIT_RUST) {
		xpath(j->entry_abs, sizeof j->entry_abs, "%s/entry.%s", tmpdir,
			j->kind == EMIT_PYTHON ? "py" : "mts");
		if (save_stdin(j->entry_abs) != 0)
			tool_die(EX_SYS, "unable to save standard input: %s", strerror(errno));
		xpath(j->base, sizeof j->base, "%s", j->cwd);
	} else {
		const char *m = j->kind == EMIT_RUST ? j->manifest : j->entry;
		char *r = realpath(m, NULL), *slash;
		if (!r) {
			merr_sys(&e, "resolve");
			tool_fail(m, &e);
		}
		xpath(j->entry_abs, sizeof j->entry_abs, "%s", r);
		xpath(j->base, sizeof j->base, "%s", r);
		slash = strrchr(j->base, '/');
		if (slash)
			slash[slash == j->base ? 1 : 0] = '\0';
		free(r);
	}
}

static void child_setenv(struct emit_child *c, const char *name, const char *val)
{
	if (emit_setenv(c, name, val) != 0)
		tool_die(EX_SYS, "unable to allocate memory");
}

/* Run the declaration under the contract; exit as mvm-emit(1) says when
 * it fails. */
static void run_declaration(struct job *j)
{
	const char *entry = j->entry;
	struct emit_child c = { 0 };
	int st;

	j->val = emit_validator(j->bindir[0] ? j->bindir : NULL);
	c.argv[0] = j->interp;
	if (j->kind == EMIT_PYTHON) {
		const char *pp = getenv("PYTHONPATH");
		char *ppv = malloc(strlen(j->sdkpath) + (pp ? strlen(pp) : 0) + 2);
		if (!ppv)
			tool_die(EX_SYS, "unable to allocate memory");
		sprintf(ppv, "%s%s%s", j->sdkpath, pp && *pp ? ":" : "", pp && *pp ? pp : "");
		c.argv[1] = "-m";
		c.argv[2] = "mvm";
		c.argv[3] = j->entry_abs;
		child_setenv(&c, "PYTHONPATH", ppv);
		child_setenv(&c, "PYTHONDONTWRITEBYTECODE", "1");
		free(ppv);
	} else if (j->kind == EMIT_NODE) {
		c.argv[1] = j->runner;
		c.argv[2] = j->entry_abs;
	} else {
		c.argv[1] = "run";
		c.argv[2] = "--quiet";
		c.argv[3] = "--offline";
		c.argv[4] = "--manifest-path";
		c.argv[5] = j->entry_abs;
		c.cwd = j->base;
	}
	child_setenv(&c, "MVM_EMITTING", "1");
	child_setenv(&c, "MVM_IR_OUT", j->irpath);
	child_setenv(&c, "MVM_EMIT_PROG", progname);
	child_setenv(&c, "MVM_EMIT_BASE", j->base);
	child_setenv(&c, "MVM_EMIT_NAME", entry ? entry : "-");
	child_setenv(&c, "MVM_IR_VALIDATE", j->val ? j->val : "");

	st = emit_run(&c, -1, -1);
	if (st < 0)
		tool_die(EX_SYS, "unable to run %s: %s", j->interp, strerror(errno));
	if (st != 0) {
		/* The SDKs exit 1 for an invalid IR, 3 for a failed declaration and
		 * 4 for a system error; cargo exits 101 when the crate does not build. */
		if (st == 1 || st == 4)
			exit(st);
		if (st == 3 || st == 101)
			tool_die(EX_DATA, "%s: the declaration failed (%s exited %d)",
				entry ? entry : "-", j->interp, st);
		if (st > 128)
			tool_die(EX_DATA, "%s: the declaration was killed by signal %d",
				entry ? entry : "-", st - 128);
		tool_die(EX_SYS, "%s: %s exited %d", entry ? entry : "-", j->interp, st);
	}
}

/* Read the IR the declaration wrote: it must be one canonical JSON text. */
static void read_ir(const struct job *j, struct buf *ir)
{
	const char *entry = j->entry;
	struct buf canon = BUF_INIT;
	struct merr e;

	if (read_file(j->irpath, ir, &e) != 0) {
		if (access(j->irpath, F_OK) != 0)
			tool_die(EX_DATA, "%s: the declaration wrote no IR (does it declare a workload "
				"and, in Rust, call mvm_sdk::emit?)", entry ? entry : "-");
		tool_fail(j->irpath, &e);
	}
	if (json_canonicalize(ir->p ? ir->p : "", ir->len, NULL, &canon, &e) != 0) {
		if (e.code == EX_DATA)
			tool_die(EX_DATA, "%s: the SDK wrote malformed JSON: %s%s%s",
				entry ? entry : "-", e.where, e.where[0] ? ": " : "", e.msg);
		tool_fail(NULL, &e);
	}
	if (canon.len != ir->len || memcmp(canon.p, ir->p, ir->len) != 0)
		tool_die(EX_DATA, "%s: the SDK wrote JSON that is not in RFC 8785 canonical form",
			entry ? entry : "-");
	buf_free(&canon);
}

/* Check the IR with ir-validate, from the declaration's directory
 * (lockfiles are found relative to it); exit 1 when it is invalid. */
static void validate(const struct job *j)
{
	struct emit_child v = { 0 };
	int fd = open(j->irpath, O_RDONLY | O_CLOEXEC), st;

	if (fd < 0)
		tool_die(EX_SYS, "%s: unable to open: %s", j->irpath, strerror(errno));
	v.argv[0] = j->val;
	v.argv[1] = "-C";
	v.argv[2] = j->base;
	v.argv[3] = "-";
	v.cwd = j->base;
	st = emit_run(&v, fd, 2);
	close(fd);
	if (st < 0)
		tool_die(EX_SYS, "unable to run %s: %s", j->val, strerror(errno));
	if (st == 1)
		exit(EX_NO);
	if (st != 0)
		tool_die(EX_SYS, "%s exited %d", j->val, st);
}

int main(int argc, char **argv)
{
	const char *out = NULL, *lang = NULL;
	struct job j = { 0 };
	struct buf ir = BUF_INIT;
	struct merr e;
	int opt;
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
		j.entry = argv[optind];
	if (!out && getenv("MVM_IR_OUT") && *getenv("MVM_IR_OUT"))
		out = getenv("MVM_IR_OUT");

	j.kind = emit_sdk_of(j.entry, lang);
	if (j.kind == EMIT_BADLANG)
		tool_die(EX_USAGE, "-l %s: unknown language (python, typescript or rust)", lang);
	check_entry(&j);
	if (!getcwd(j.cwd, sizeof j.cwd))
		tool_die(EX_SYS, "unable to find the current directory: %s", strerror(errno));
	find_interp(&j);
	if (tool_bindir(j.bindir, sizeof j.bindir) != 0)
		j.bindir[0] = '\0';
	find_sdk(&j);
	place_entry(&j);
	run_declaration(&j);
	read_ir(&j, &ir);
	if (j.val)
		validate(&j);

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
	free(j.interp);
	free(j.sdk);
	free(j.val);
	tool_exit(0);
}
