/* ir-lower — validate a Workload IR, then print what a build backend needs
 * (mvm-lower(5)), or refuse what no backend delivers yet */
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <unistd.h>
#include "ir.h"
#include "json.h"
#include "lower.h"
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-L] [--dev] [-C dir] [file]\n"
		"Validate a Workload IR (as ir-validate does), then print its lowering\n"
		"(mvm-lower(5), RFC 8785 canonical JSON) on standard output.\n"
		"  -C dir  resolve lockfiles against dir (default: the IR file's directory)\n"
		"  -L      do not check lockfiles\n"
		"  --dev   a dev image: the wrappers' mode \"dev\" (tracebacks kept)\n"
		"Errors and refusals on standard error as\n"
		"  %s: file: CODE at /json/pointer: detail\n"
		"Exit: 0 lowered, 1 invalid or not supported, 2 usage, 3 malformed JSON,\n"
		"4 system error.\n",
		progname, progname);
	exit(code);
}

static void load_list(const char *dir, const char *name, struct strlist *l)
{
	char path[PATH_MAX + 64];
	struct merr e;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (strlist_load(path, l, &e) != 0)
		tool_fail(NULL, &e);
}

/* One error a line: control bytes show as '?'. */
static void put_text(const char *p)
{
	for (; *p; p++)
		fputc((unsigned char)*p < ' ' || *p == 0x7f ? '?' : *p, stderr);
}

static void report(const char *file, const struct ir_errors *l)
{
	for (size_t i = 0; i < l->n; i++) {
		fprintf(stderr, "%s: %s%s%s at ", progname, file ? file : "", file ? ": " : "",
			l->v[i].code);
		put_text(l->v[i].pointer[0] ? l->v[i].pointer : "(root)");
		fputs(": ", stderr);
		put_text(l->v[i].detail);
		fputc('\n', stderr);
	}
}

/* The directory lockfiles are resolved against: -C, else the file's. */
static char *base_dir(const char *file, const char *cdir)
{
	const char *slash = file ? strrchr(file, '/') : NULL;
	char *b;

	if (cdir)
		b = strdup(cdir);
	else if (slash)
		b = strndup(file, (size_t)(slash - file) + (slash == file));
	else
		b = strdup(".");
	if (!b)
		tool_die(EX_SYS, "out of memory");
	return b;
}

int main(int argc, char **argv)
{
	struct buf in = BUF_INIT, out;
	struct strlist langs, tokens;
	struct ir_errors errs = { 0 };
	struct ir_config cfg = { 0 };
	struct merr e;
	char dir[PATH_MAX], *base = NULL;
	const char *file = NULL, *cdir = NULL;
	int c, nolock = 0;
	unsigned flags = 0;
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "dev", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	while ((c = getopt_long(argc, argv, "LC:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'L': nolock = 1; break;
		case 'C': cdir = optarg; break;
		case 'D': flags |= LOWER_DEV; break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (argc - optind > 1)
		usage(EX_USAGE);
	if (optind < argc && strcmp(argv[optind], "-") != 0)
		file = argv[optind];
	if (sodium_init() < 0)
		tool_die(EX_SYS, "unable to initialize libsodium");

	if (read_file(file, &in, &e) != 0)
		tool_fail(file, &e);
	struct jdoc *d = json_parse(in.p ? in.p : "", in.len, NULL, &e);
	if (!d)
		tool_fail(file, &e);
	if (ir_schemas_dir(dir, sizeof dir, &e) != 0)
		tool_fail(NULL, &e);
	load_list(dir, "supported_languages.txt", &langs);
	load_list(dir, "secret_field_tokens.txt", &tokens);
	cfg.languages = &langs;
	cfg.secret_tokens = &tokens;
	if (!nolock)
		cfg.base_dir = base = base_dir(file, cdir);

	/* Valid first, then lowered: nothing is printed unless both hold. */
	if (ir_validate(d, &cfg, &errs, &e) != 0)
		tool_fail(file, &e);
	buf_init_fd(&out, STDOUT_FILENO);
	if (errs.n == 0 && ir_lower(d, flags, &out, &errs, &e) != 0)
		tool_fail(file, &e);
	report(file, &errs);
	tool_flush(&out);
	int code = errs.n ? EX_NO : EX_OK;
	ir_errors_free(&errs);
	strlist_free(&langs);
	strlist_free(&tokens);
	json_free(d);
	free(base);
	buf_free(&in);
	buf_free(&out);
	tool_exit(code);
}
