/* audit-verify — verify an audit log's chain, signatures and checkpoints */
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <unistd.h>
#include "audit.h"
#include "auditset.h"
#include "json.h"
#include "keys.h"
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-q] [-k pubfile]... [--checkpoint file]... [log]\n"
		"       %s -m [-q] [-k pubfile]... log|dir...\n"
		"Verify every line of an audit log and its checkpoints; name the first bad line.\n"
		"  -m                 several nodes' logs (a dir: its NODE/NAME.jsonl, as mvmctl\n"
		"                     audit collect lays them out) as one trail: each log, then\n"
		"                     no plan admitted twice, no launch before its admission;\n"
		"                     prints the counts (JSON)\n"
		"  -k file            trusted public key (repeatable; default $MVM_HOME/trust/*.pub)\n"
		"  --checkpoint file  also check this (newer, kept elsewhere) checkpoint\n"
		"  -q                 print nothing but system errors; the status tells\n"
		"Exit: 0 intact, 1 tampered, torn or unverifiable, 2 usage, 4 system error.\n",
		progname, progname);
	exit(code);
}

#define MAXKEYS 64
#define MAXCP 16

static const char *input = "-";
static int quiet;

/* Exit 1; unless -q, say why. */
static __attribute__((noreturn, format(printf, 1, 2))) void no(const char *fmt, ...)
{
	va_list ap;

	if (!quiet) {
		fprintf(stderr, "%s: ", progname);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	exit(EX_NO);
}

static __attribute__((noreturn)) void refuse(const struct merr *e)
{
	if (e->code != EX_NO)
		tool_fail(input, e);
	no("%s: %s%s%s", input, e->where, e->where[0] ? ": " : "", e->msg);
}

/* Read, parse and verify a checkpoint; fill x and return 1, or return 0
 * with the reason in bad (reported after the lines: the first bad line
 * comes first). */
static int load_checkpoint(const char *path, const struct trustset *ts, struct audit_expect *x,
	struct merr *bad)
{
	struct buf b = BUF_INIT;
	struct audit_checkpoint cp;
	struct merr e;
	int ok = 1;

	memset(&cp, 0, sizeof cp);
	if (read_file(path, &b, &e) != 0)
		tool_fail(path, &e);
	if (audit_checkpoint_parse(b.p ? b.p : "", b.len, &cp, &e) != 0 ||
	    audit_sig_check(cp.keyid, cp.sig, &cp.msg, ts, &e) != 0) {
		if (e.code == EX_SYS)
			tool_fail(path, &e);
		if (!bad->code)
			merr_set(bad, EX_NO, path, "checkpoint: %s%s%s", e.where,
				e.where[0] ? ": " : "", e.msg);
		ok = 0;
	} else {
		x->size = cp.size;
		x->seq = cp.seq;
		memcpy(x->head, cp.head, sizeof x->head);
		x->name = path;
	}
	buf_free(&cp.msg);
	buf_free(&b);
	return ok;
}

/* -m: the logs as one trail (lib/auditset.h); one JSON object on stdout,
 * the counts or the violation (audit-verify(1), "Several nodes"). */
static __attribute__((noreturn)) void multi(const char *const *logs, size_t n,
	const struct trustset *ts)
{
	struct auditset_counts c;
	struct auditset_violation v;
	struct buf out;
	struct merr e;
	int rc = auditset_verify(logs, n, ts, &c, &v, &e);

	if (rc != 0 && rc != EX_NO)
		tool_fail(NULL, &e);
	buf_init_fd(&out, STDOUT_FILENO);
	if (rc == 0)
		buf_printf(&out, "{\"admitted\":%llu,\"entries\":%llu,\"failed\":%llu,"
			"\"launched\":%llu,\"logs\":%llu,\"nodes\":%llu,\"refused\":%llu}\n",
			c.admitted, c.entries, c.failed, c.launched, c.logs, c.nodes, c.refused);
	else {
		buf_puts(&out, "{\"log\":");
		json_put_str(&out, v.log, strlen(v.log));
		buf_puts(&out, ",\"node\":");
		json_put_str(&out, v.node, strlen(v.node));
		buf_printf(&out, ",\"plan_id\":\"%s\",\"seq\":%llu,\"violation\":\"%s\"}\n",
			v.plan_id, v.seq, v.kind);
	}
	if (!quiet)
		tool_flush(&out);
	buf_free(&out);
	if (rc)
		no("%s", e.msg);
	tool_exit(0);
}

int main(int argc, char **argv)
{
	char *keys[MAXKEYS], cpath[PATH_MAX + 16];
	const char *file = NULL, *cps[MAXCP];
	struct audit_expect x[MAXCP + 1];
	struct audit_result res;
	struct trustset ts;
	struct input in;
	struct merr e, bad;
	size_t nkeys = 0, ncp = 0, nx = 0, i;
	int c, m = 0;
	static const struct option lopts[] = {
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	while ((c = getopt_long(argc, argv, "mqk:c:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'm': m = 1; break;
		case 'q': quiet = 1; break;
		case 'k':
			if (nkeys == MAXKEYS)
				tool_die(EX_USAGE, "-k: at most %d keys", MAXKEYS);
			keys[nkeys++] = optarg;
			break;
		case 'c':
			if (ncp == MAXCP)
				tool_die(EX_USAGE, "--checkpoint: at most %d", MAXCP);
			cps[ncp++] = optarg;
			break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if ((!m && argc - optind > 1) || (m && (optind == argc || ncp)))
		usage(EX_USAGE);
	if (optind < argc && strcmp(argv[optind], "-") != 0)
		file = input = argv[optind];
	if (sodium_init() < 0)
		tool_die(EX_SYS, "unable to initialize libsodium");
	if (trust_load(&ts, keys, nkeys, &e) != 0)
		tool_fail(NULL, &e);
	for (i = 0; i < ts.nwarn; i++)
		fprintf(stderr, "%s: warning: %s (skipped)\n", progname, ts.warn[i].msg);
	if (ts.n == 0)
		no("no trusted keys (give -k FILE or put keys in $MVM_HOME/trust/)");
	if (m)
		multi((const char *const *)argv + optind, (size_t)(argc - optind), &ts);
	/* read to the size it had when opened (io.h), whatever is appended */
	if (in_open(file, &in, &e) != 0)
		tool_fail(file, &e);

	/* The checkpoint beside the log (required for a non-empty log read
	 * from a file), then any given ones. */
	merr_clear(&bad);
	if (file) {
		snprintf(cpath, sizeof cpath, "%s.checkpoint", file);
		if (access(cpath, F_OK) == 0)
			nx += load_checkpoint(cpath, &ts, &x[nx], &bad);
		else if (in.len > 0 && ncp == 0)
			no("%s: no checkpoint (%s): a truncated tail could not be detected", file,
				cpath);
	}
	for (i = 0; i < ncp; i++)
		nx += load_checkpoint(cps[i], &ts, &x[nx], &bad);

	if (audit_verify_buf(in.p ? in.p : "", in.len, &ts, x, nx, &res, &e) != 0)
		refuse(&e);
	if (bad.code)
		no("%s: %s", bad.where, bad.msg);
	if (!quiet)
		printf("%llu entries, head %s\n", res.entries, res.head);
	trust_free(&ts);
	in_close(&in);
	tool_exit(0);
}
