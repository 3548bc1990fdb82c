/* ir-lower — validate a Workload IR, then print what a build backend needs
 * (mvm-lower(5)), or refuse what no backend delivers yet */
#include <getopt.h>
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

/* The errors on standard error, one a line (ir_errors_text). */
static void report(const char *file, const struct ir_errors *l)
{
	struct buf t = BUF_INIT;

	ir_errors_text(&t, progname, file, l);
	if (t.len)
		fwrite(t.p, 1, t.len, stderr);
	buf_free(&t);
}

int main(int argc, char **argv)
{
	struct buf out;
	struct ir_input in;
	struct ir_errors errs = { 0 };
	struct merr e;
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

	int r = ir_config_load(&in, file, cdir, !nolock, &e);
	if (r != 0)
		tool_fail(r == 1 ? file : NULL, &e);

	/* Valid first, then lowered: nothing is printed unless both hold. */
	if (ir_validate(in.doc, &in.cfg, &errs, &e) != 0)
		tool_fail(file, &e);
	buf_init_fd(&out, STDOUT_FILENO);
	if (errs.n == 0 && ir_lower(in.doc, flags, &out, &errs, &e) != 0)
		tool_fail(file, &e);
	report(file, &errs);
	tool_flush(&out);
	int code = errs.n ? EX_NO : EX_OK;
	ir_errors_free(&errs);
	ir_input_free(&in);
	buf_free(&out);
	tool_exit(code);
}
