/* ir-validate — check a Workload IR against the model, its rules and its
 * lockfiles; optionally print it normalized or a JSON report */
#include <getopt.h>
#include <limits.h>
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

static void load_list(const char *dir, const char *name, struct strlist *l)
{
	char path[PATH_MAX + 64];
	struct merr e;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (strlist_load(path, l, &e) != 0)
		tool_fail(NULL, &e);
}

/* Text for an error line: control bytes would break the one-error-a-line
 * form, so they show as '?'. */
static void put_text(FILE *f, const char *p)
{
	for (; *p; p++)
		fputc((unsigned char)*p < ' ' || *p == 0x7f ? '?' : *p, f);
}

static void hash_hex(char out[65], const struct buf *b)
{
	sha256_hex(out, b->p ? b->p : "", b->len);
}

int main(int argc, char **argv)
{
	struct buf in = BUF_INIT, canon = BUF_INIT, norm = BUF_INIT, rep = BUF_INIT, out;
	struct strlist langs, tokens;
	struct ir_errors errs = { 0 };
	struct ir_config cfg = { 0 };
	struct merr e;
	char dir[PATH_MAX], *base = NULL, hex[65];
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
	if (!nolock) {
		if (cdir) {
			cfg.base_dir = cdir;
		} else if (file) {
			const char *slash = strrchr(file, '/');
			base = slash ? strndup(file, (size_t)(slash - file) + (slash == file)) : strdup(".");
			if (!base)
				tool_die(EX_SYS, "out of memory");
			cfg.base_dir = base;
		} else {
			cfg.base_dir = ".";
		}
	}

	if (ir_validate(d, &cfg, &errs, &e) != 0)
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
		for (size_t i = 0; i < errs.n; i++) {
			fprintf(stderr, "%s: %s%s%s at ", progname, file ? file : "", file ? ": " : "",
				errs.v[i].code);
			put_text(stderr, errs.v[i].pointer[0] ? errs.v[i].pointer : "(root)");
			fputs(": ", stderr);
			put_text(stderr, errs.v[i].detail);
			fputc('\n', stderr);
		}
		buf_init_fd(&out, STDOUT_FILENO);
		if (normalize && errs.n == 0 && norm.len)
			buf_put(&out, norm.p, norm.len);
	}
	tool_flush(&out);
	int code = errs.n ? EX_NO : EX_OK;
	ir_errors_free(&errs);
	strlist_free(&langs);
	strlist_free(&tokens);
	json_free(d);
	free(base);
	buf_free(&in);
	buf_free(&canon);
	buf_free(&norm);
	buf_free(&rep);
	buf_free(&out);
	tool_exit(code);
}
