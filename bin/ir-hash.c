/* ir-hash — SHA-256 of the RFC 8785 canonical form of a JSON text */
#include <getopt.h>
#include "enc.h"
#include "json.h"
#include "sha256s.h"
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-d depth] [-c hash] [file]\n"
		"Print the lowercase hex SHA-256 of the RFC 8785 canonical form of one JSON text.\n"
		"  -c hash   check: exit 0 if the hash is this one, 1 if not (prints nothing)\n"
		"  -d depth  maximum nesting depth (default %u)\n"
		"Exit: 0 ok, 1 hash differs (-c), 2 usage, 3 malformed input, 4 system error.\n",
		progname, JSON_DEFAULT_MAX_DEPTH);
	exit(code);
}

/* The canonical bytes go to SHA-256 as the writer drains them (64 KiB at a
 * time); they never exist as a whole. */
static int hash_sink(void *ctx, const void *p, size_t n)
{
	return sha256s_update(ctx, p, n) == 0 ? 0 : EIO;
}

int main(int argc, char **argv)
{
	struct jopts o = { 0 };
	struct buf out;
	struct merr e;
	unsigned char h[32];
	char hex[65];
	const char *file = NULL, *check = NULL;
	int c, fd;
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	while ((c = getopt_long(argc, argv, "c:d:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': check = optarg; break;
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
	if (check) {
		size_t i, n = strlen(check);
		for (i = 0; i < n; i++)
			if (!strchr("0123456789abcdef", check[i]))
				break;
		if (n != 64 || i != n)
			tool_die(EX_USAGE, "-c: %s is not 64 lowercase hex digits", check);
	}
	if ((fd = in_fd(file, &e)) < 0)
		tool_fail(file, &e);

	/* Hash the canonical bytes as the writer produces them: the same
	 * writer as ir-canon, never a second serializer.  A root array's
	 * values are read and written one at a time (json_canon_stream_fd),
	 * so the hash of a document that turns out malformed is thrown away. */
	struct sha256s *hs = sha256s_new();
	if (!hs) {
		merr_sys(&e, "start hashing");
		tool_fail(NULL, &e);
	}
	buf_init_sink(&out, hash_sink, hs);
	int rc = json_canon_stream_fd(fd, &o, &out, &e);
	if (rc == 0 && buf_flush(&out) < 0) {
		errno = out.err;
		rc = merr_sys(&e, "canonicalize");
	}
	if (sha256s_final(hs, h) != 0 && rc != EX_DATA && (!out.err || out.err == EIO))
		tool_die(EX_SYS, "unable to hash: libcrypto failed");
	if (rc)
		tool_fail(file, &e);
	hex_encode(hex, h, sizeof h);
	buf_free(&out);
	if (fd > 0)
		close(fd);
	if (check)
		tool_exit(strcmp(hex, check) == 0 ? EX_OK : EX_NO);
	printf("%s\n", hex);
	tool_exit(0);
}
