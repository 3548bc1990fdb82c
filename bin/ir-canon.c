/* ir-canon — write the RFC 8785 canonical form of a JSON text */
#include <getopt.h>
#include <unistd.h>
#include "json.h"
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-n] [-d depth] [file]\n"
		"Write the RFC 8785 (JCS) canonical form of one JSON text.\n"
		"  -n        end the output with a newline (not part of the canonical bytes)\n"
		"  -d depth  maximum nesting depth (default %u)\n"
		"Exit: 0 ok, 2 usage, 3 malformed input, 4 system error.\n",
		progname, JSON_DEFAULT_MAX_DEPTH);
	exit(code);
}

int main(int argc, char **argv)
{
	struct jopts o = { 0 };
	struct input in;
	struct buf out;
	struct merr e;
	const char *file = NULL;
	int c, nl = 0;
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	while ((c = getopt_long(argc, argv, "nd:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'n': nl = 1; break;
		case 'd': o.max_depth = (unsigned)tool_num("-d", optarg, 1, 10000000); break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (argc - optind > 1)
		usage(EX_USAGE);
	if (optind < argc)
		file = argv[optind];
	if (in_open(file, &in, &e) != 0)
		tool_fail(file, &e);

	/* Check everything before writing a byte.  A root array's values are
	 * canonicalized as they are read, into the memory of the input read
	 * so far (json_canon_over); any other root from the whole document,
	 * as it is written. */
	if (json_streams(in.p, in.len)) {
		size_t kept;

		out = (struct buf)BUF_INIT;
		if (json_canon_over(in.b.p, in.len, &o, &out, &kept, &e) != 0)
			tool_fail(file, &e);
		if (write_all(STDOUT_FILENO, in.b.p, kept) != 0)
			out.err = errno;   /* tool_flush reports it */
		out.fd = STDOUT_FILENO;   /* buf.h: from now on it drains there */
	} else {
		struct jdoc *d = json_parse(in.p, in.len, &o, &e);
		if (!d)
			tool_fail(file, &e);
		buf_init_fd(&out, STDOUT_FILENO);
		json_canon(d, json_root(d), &out);
		json_free(d);
	}
	if (nl)
		buf_putc(&out, '\n');
	tool_flush(&out);
	buf_free(&out);
	in_close(&in);
	tool_exit(0);
}
