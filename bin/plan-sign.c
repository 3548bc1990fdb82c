/* plan-sign — wrap a canonical ExecutionPlan in a signed DSSE envelope */
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <unistd.h>
#include "dsse.h"
#include "json.h"
#include "keys.h"
#include "plan.h"
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-n] [-s secretfile] [plan]\n"
		"Sign a canonical, schema-valid ExecutionPlan; write its DSSE envelope.\n"
		"  -s file  secret key (default $MVM_HOME/keys/host-signer.ed25519)\n"
		"  -n       end the output with a newline\n"
		"Exit: 0 ok, 1 plan or key refused, 2 usage, 3 malformed input, 4 system error.\n",
		progname);
	exit(code);
}

int main(int argc, char **argv)
{
	char spath[PATH_MAX];
	const char *file = NULL, *sarg = NULL;
	struct buf in = BUF_INIT, out;
	struct mvm_key k;
	struct plan p;
	struct merr e;
	int c, nl = 0, r;
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	while ((c = getopt_long(argc, argv, "ns:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'n': nl = 1; break;
		case 's': sarg = optarg; break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (argc - optind > 1)
		usage(EX_USAGE);
	if (optind < argc)
		file = argv[optind];
	if (sodium_init() < 0)
		tool_die(EX_SYS, "unable to initialize libsodium");
	if (sarg)
		snprintf(spath, sizeof spath, "%s", sarg);
	else if (key_default_secret(spath, sizeof spath, &e) != 0)
		tool_fail(NULL, &e);

	if (read_file(file, &in, &e) != 0)
		tool_fail(file, &e);
	/* The plan is checked whole before the key is touched. */
	if ((r = plan_parse(in.p ? in.p : "", in.len, PLAN_CANONICAL, &p, &e)) != 0) {
		if (r == EX_NO)
			snprintf(e.msg + strlen(e.msg), sizeof e.msg - strlen(e.msg),
				"; not signed");
		tool_fail(file ? file : "-", &e);
	}
	plan_free(&p);
	if (key_load_secret(spath, &k, &e) != 0)
		tool_fail(NULL, &e);
	buf_init_fd(&out, STDOUT_FILENO);
	r = dsse_sign(&out, DSSE_PLAN_TYPE, in.p, in.len, &k, &e);
	key_wipe(&k);
	if (r)
		tool_fail(NULL, &e);
	if (nl)
		buf_putc(&out, '\n');
	tool_flush(&out);
	buf_free(&out);
	buf_free(&in);
	tool_exit(0);
}
