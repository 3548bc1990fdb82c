/* plan-verify — admit a signed ExecutionPlan: signature, plan, window, nonce, digests */
#include <getopt.h>
#include <signal.h>
#include <limits.h>
#include <sodium.h>
#include <unistd.h>
#include "admit.h"
#include "cluster.h"
#include "digest.h"
#include "keys.h"
#include "limit.h"
#include "nonce.h"
#include "plan.h"
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-n] [-k pubfile]... [--skew secs] [--now time] [--no-consume]\n"
		"       [--ir ir.json] [--image dir] [envelope]\n"
		"Verify a DSSE-signed ExecutionPlan and record its nonce; print the plan.\n"
		"  -k file       trusted public key (repeatable; default $MVM_HOME/trust/*.pub)\n"
		"  --skew secs   widen the validity window by secs on both sides (default 0)\n"
		"  --now time    check the window at time (YYYY-MM-DDTHH:MM:SSZ), not the clock\n"
		"  --no-consume  check the nonce store but do not record the nonce\n"
		"  --ir file     the IR must hash to the plan's ir_hash\n"
		"  --image dir   dir's mvm-meta.json, vmlinux, initrd must match; rootfs.ext4\n"
		"                too, or, with a dm-verity root in the meta, the top of its tree\n"
		"The nonce store: $MVM_HOME/nonces, and in a cluster ($MVM_CLUSTER_DIR, or dir=\n"
		"in $MVM_HOME/cluster.conf) DIR/nonces too: admitted once in the cluster.\n"
		"Exit: 0 admitted, 1 refused, 2 usage, 3 malformed input, 4 system error.\n",
		progname);
	exit(code);
}

enum { O_SKEW = 256, O_NOW, O_NOCONSUME, O_IR, O_IMAGE };

#define MAXKEYS 64

int main(int argc, char **argv)
{
	char *keys[MAXKEYS], nonces[PATH_MAX];
	const char *file = NULL, *input = "-";
	struct admit_req rq = { 0 };
	struct admit_verdict v;
	struct buf in = BUF_INIT, out;
	struct trustset ts;
	struct cluster cl;
	struct merr e;
	size_t nkeys = 0, i;
	int c, nl = 0, have_now = 0;
	static const struct option lopts[] = {
		{ "skew", required_argument, NULL, O_SKEW },
		{ "now", required_argument, NULL, O_NOW },
		{ "no-consume", no_argument, NULL, O_NOCONSUME },
		{ "ir", required_argument, NULL, O_IR },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	/* An unwritable standard output is an error to handle (the plan was
	 * not handed over), not a signal to die of with the nonce spent. */
	signal(SIGPIPE, SIG_IGN);
	rq.consume = 1;
	while ((c = getopt_long(argc, argv, "nk:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'n': nl = 1; break;
		case 'k':
			if (nkeys == MAXKEYS)
				tool_die(EX_USAGE, "-k: at most %d keys", MAXKEYS);
			keys[nkeys++] = optarg;
			break;
		case O_SKEW: rq.skew = (int64_t)tool_num("--skew", optarg, 0, LIMIT_SKEW_MAX); break;
		case O_NOW:
			if (rfc3339_parse(optarg, strlen(optarg), &rq.now) != 0)
				tool_die(EX_USAGE, "--now: %s is not a time of the form "
					"YYYY-MM-DDTHH:MM:SSZ", optarg);
			have_now = 1;
			break;
		case O_NOCONSUME: rq.consume = 0; break;
		case O_IR: rq.ir = optarg; break;
		case O_IMAGE: rq.image = optarg; break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (argc - optind > 1)
		usage(EX_USAGE);
	if (optind < argc)
		file = input = argv[optind];
	if (sodium_init() < 0)
		tool_die(EX_SYS, "unable to initialize libsodium");
	if (!have_now)
		rq.now = time_now();
	if (trust_load(&ts, keys, nkeys, &e) != 0)
		tool_fail(NULL, &e);
	for (i = 0; i < ts.nwarn; i++)
		fprintf(stderr, "%s: warning: %s (skipped)\n", progname, ts.warn[i].msg);
	if (read_file(file, &in, &e) != 0)
		tool_fail(file, &e);
	/* the node's store, and the cluster's when in one (lib/cluster.h) */
	if (cluster_load(&cl, &e) != 0 || cluster_stores(&rq, nonces, &cl, &e) != 0)
		tool_fail(NULL, &e);
	rq.env = in.p;
	rq.envlen = in.len;
	rq.trust = &ts;

	/* Every check, read-only; the nonce recorded last (lib/admit.h). */
	if (admit(&rq, &v) != 0) {
		if (v.code == EX_DATA || v.code == EX_SYS)
			tool_fail(input, &v.e);
		fprintf(stderr, "%s: %s: %s: %s%s%s\n", progname, input,
			admit_reason_name(v.reason), v.e.where, v.e.where[0] ? ": " : "", v.e.msg);
		exit(EX_NO);
	}

	/* Admitted: print the signed bytes, exactly.  The nonce was recorded
	 * first, so a crash here leaves the plan spent (never admitted twice);
	 * a plan that cannot be written out was not handed over: forget it. */
	buf_init_fd(&out, STDOUT_FILENO);
	buf_put(&out, v.env.payload, v.env.plen);
	if (nl)
		buf_putc(&out, '\n');
	if (buf_flush(&out) < 0 || close_stdout(&e) != 0) {
		if (v.recorded)
			nonce_release(nonces, v.plan.nonce);
		if (v.recorded_shared)
			nonce_release(rq.shared, v.plan.nonce);
		if (out.err) {
			errno = out.err;
			merr_sys(&e, "write to standard output");
		}
		tool_fail(NULL, &e);
	}
	admit_free(&v);
	trust_free(&ts);
	buf_free(&out);
	buf_free(&in);
	return 0;
}
