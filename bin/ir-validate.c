/* ir-validate — check a Workload IR against the model, its rules and its
 * lockfiles; optionally print it normalized or a JSON report */
#include <getopt.h>
#include <sodium.h>
#include <unistd.h>
#include "enc.h"
#include "ir.h"
#include "json.h"
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-j | -n] [-L] [-C dir] [file]\n"
		"Validate a Workload IR: every error on standard error as\n"
		"  %s: file: CODE at /json/pointer: detail\n"
		"  -j      print a JSON report on standard output instead\n"
		"  -n      print the normalized IR (RFC 8785 canonical) when valid\n"
		"  -C dir  resolve lockfiles against dir (default: the IR file's directory)\n"
		"  -L      do not check lockfiles\n"
		"Exit: 0 valid, 1 invalid, 2 usage, 3 malformed JSON, 4 system error.\n",
		progname, progname);
	exit(code);
}

static void hash_hex(char out[65], const struct buf *b)
{
	sha256_hex(out, b->p ? b->p : "", b->len);
}

int main(int argc, char **argv)
{
	struct ir_input in;
	struct buf canon = BUF_INIT, norm = BUF_INIT, rep = BUF_INIT, out;
	struct ir_errors errs = { 0 };
	struct merr e;
	char hex[65];
	const char *file = NULL, *cdir = NULL;
	int c, json = 0, normalize = 0, nolock = 0;
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	while ((c = getopt_long(argc, argv, "jnLC:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'n': normalize = 1; break;
		case 'L': nolock = 1; break;
		case 'C': cdir = optarg; break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (argc - optind > 1 || (json && normalize))
		usage(EX_USAGE);
	if (optind < argc && strcmp(argv[optind], "-") != 0)
		file = argv[optind];
	if (sodium_init() < 0)
		tool_die(EX_SYS, "unable to initialize libsodium");

	int r = ir_config_load(&in, file, cdir, !nolock, &e);
	if (r != 0)
		tool_fail(r == 1 ? file : NULL, &e);
	const struct jdoc *d = in.doc;

	if (ir_validate(d, &in.cfg, &errs, &e) != 0)
		tool_fail(file, &e);
	if (errs.n == 0 && (normalize || json) && ir_normalize(d, &norm, &e) != 0)
		tool_fail(file, &e);

	if (json) {
		/* {"errors":[{"code","detail","pointer"}...],"ir_hash","normalized_ir_hash","valid"} */
		if (json_canon(d, json_root(d), &canon) != 0)
			tool_die(EX_SYS, "out of memory");
		buf_puts(&rep, "{\"valid\":");
		buf_puts(&rep, errs.n ? "false" : "true");
		hash_hex(hex, &canon);
		buf_puts(&rep, ",\"ir_hash\":\"");
		buf_puts(&rep, hex);
		buf_puts(&rep, "\",\"normalized_ir_hash\":");
		if (errs.n) {
			buf_puts(&rep, "null");
		} else {
			hash_hex(hex, &norm);
			buf_putc(&rep, '"');
			buf_puts(&rep, hex);
			buf_putc(&rep, '"');
		}
		buf_puts(&rep, ",\"errors\":[");
		for (size_t i = 0; i < errs.n; i++) {
			const struct ir_error *er = &errs.v[i];
			buf_puts(&rep, i ? ",{\"code\":" : "{\"code\":");
			json_put_str(&rep, er->code, strlen(er->code));
			buf_puts(&rep, ",\"pointer\":");
			json_put_str(&rep, er->pointer, strlen(er->pointer));
			buf_puts(&rep, ",\"detail\":");
			json_put_str(&rep, er->detail, strlen(er->detail));
			buf_putc(&rep, '}');
		}
		buf_puts(&rep, "]}");
		if (rep.err)
			tool_die(EX_SYS, "out of memory");
		buf_init_fd(&out, STDOUT_FILENO);
		if (json_canonicalize(rep.p, rep.len, NULL, &out, &e) != 0)
			tool_fail(NULL, &e);
		buf_putc(&out, '\n');
	} else {
		ir_errors_text(&rep, progname, file, &errs);
		if (rep.len)
			fwrite(rep.p, 1, rep.len, stderr);
		buf_init_fd(&out, STDOUT_FILENO);
		if (normalize && errs.n == 0 && norm.len)
			buf_put(&out, norm.p, norm.len);
	}
	tool_flush(&out);
	int code = errs.n ? EX_NO : EX_OK;
	ir_errors_free(&errs);
	ir_input_free(&in);
	buf_free(&canon);
	buf_free(&norm);
	buf_free(&rep);
	buf_free(&out);
	tool_exit(code);
}
