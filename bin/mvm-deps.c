/* mvm-deps — a workload's locked dependencies onto a content-addressed,
 * read-only deps volume, without running any package code on the host */
#include <getopt.h>
#include <libgen.h>
#include "deps.h"
#include "json.h"
#include "pyenv.h"
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-C dir] [-c cache] [-p 3.Y] [ir.json]\n"
		"Build (or find in the cache) the deps volume of the IR's dependencies and print\n"
		"{\"cached\",\"dir\",\"key\",\"sbom_digest\",\"verity\",\"volume_digest\"} (null: no\n"
		"dependencies); the volume ends with its dm-verity tree (libexec/mvm-verity-format).\n"
		"  -C dir    the declaration's directory (default: the IR file's directory, or .)\n"
		"  -c cache  the cache root (default $MVM_DEPS_CACHE, $MVM_HOME/deps, ~/.cache/mvm/deps)\n"
		"  -p 3.Y    the image's Python, for wheels and markers (default " PY_DEFAULT ")\n"
		"Exit: 0 ok, 1 refused (unpinned, integrity, install script, sdist), 2 usage,\n"
		"3 malformed input, 4 system error (fetch, mke2fs).\n", progname);
	exit(code);
}

/* The string member k of o, as a C string (or NULL). */
static char *member(const struct jdoc *d, jref o, const char *k)
{
	jref v = json_get(d, o, k);

	return v != JREF_NONE && json_type(d, v) == J_STR ? json_strdup(d, v) : NULL;
}

/* What main allocates, freed at exit, whichever way it exits (tool_fail
 * exits too): nothing is left for LeakSanitizer to report. */
static struct buf in = BUF_INIT, src = BUF_INIT, out = BUF_INIT;
static struct jdoc *d;
static char *kind, *srcpath, *tool, *lockfile, *basecopy;

static void cleanup(void)
{
	json_free(d);
	buf_free(&in);
	buf_free(&src);
	buf_free(&out);
	free(kind);
	free(srcpath);
	free(tool);
	free(lockfile);
	free(basecopy);
}

int main(int argc, char **argv)
{
	const char *base = NULL, *file = NULL;
	char cache[4096] = "", lx[PATH_MAX], fmt[PATH_MAX + 32];
	struct merr e = { 0 };
	struct deps_req r = { 0 };
	struct deps_out o;
	int c;

	tool_init(argv);
	atexit(cleanup);
	while ((c = getopt(argc, argv, "C:c:p:h")) != -1) {
		switch (c) {
		case 'C': base = optarg; break;
		case 'c': snprintf(cache, sizeof cache, "%s", optarg); break;
		case 'p': r.python = optarg; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	struct py_target pt;
	if (argc - optind > 1 || (r.python && py_target_parse(r.python, &pt)))
		usage(2);
	if (argc > optind && strcmp(argv[optind], "-") != 0)
		file = argv[optind];
	if ((file ? read_file(file, &in, &e) : read_fd(0, &in, &e)) != 0)
		tool_fail(file, &e);
	d = json_parse(in.p ? in.p : "", in.len, NULL, &e);
	if (!d)
		tool_fail(file, &e);
	if (!base)
		base = file ? dirname((basecopy = strdup(file))) : ".";
	if (!cache[0] && deps_cache_root(cache, sizeof cache, &e))
		tool_fail(NULL, &e);
	jref app = json_first(d, json_get(d, json_root(d), "apps"));
	jref deps = json_get(d, app, "dependencies");
	kind = member(d, deps, "kind");
	buf_init_fd(&out, 1);
	if (kind && strcmp(kind, "none") == 0) {
		buf_puts(&out, "null\n");
		tool_flush(&out);
		return 0;
	}
	srcpath = member(d, json_get(d, app, "source"), "path");
	r.language = kind;
	r.tool = tool = member(d, deps, "tool");
	r.lockfile = lockfile = member(d, deps, "lockfile");
	if (!kind || !r.tool || !r.lockfile || !srcpath)
		tool_die(EX_DATA, "%s: /apps/0: no dependencies {kind, tool, lockfile} or source.path",
			file ? file : "-");
	if (srcpath[0] != '/') {
		buf_puts(&src, base);
		buf_putc(&src, '/');
	}
	buf_puts(&src, srcpath);
	r.srcdir = buf_cstr(&src);
	r.cache = cache;
	tool_libexec(lx, sizeof lx);
	snprintf(fmt, sizeof fmt, "%s/mvm-verity-format", lx);
	r.verity_format = fmt;
	if (!r.srcdir || deps_build(&r, &o, &e) != 0)
		tool_fail(file, &e);
	buf_printf(&out, "{\"cached\":%s,\"dir\":", o.cached ? "true" : "false");
	json_put_str(&out, o.dir, strlen(o.dir));
	buf_printf(&out, ",\"key\":\"%s\",\"sbom_digest\":\"%s\",\"verity\":", o.key,
		o.sbom_digest);
	verity_put(&out, &o.verity);
	buf_printf(&out, ",\"volume_digest\":\"%s\"}\n", o.volume_digest);
	tool_flush(&out);
	return 0;
}
