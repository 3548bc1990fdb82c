/* audit-append — append one signed, hash-chained event to an audit log */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <unistd.h>
#include "audit.h"
#include "dsse.h"
#include "enc.h"
#include "json.h"
#include "keys.h"
#include "plan.h"
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s -e event (-p plan | --plan-id id --ir-hash hash [--plan-version n])\n"
		"       [-l key=value]... [-s secretfile] [-f log | --tenant t]\n"
		"       %s --repair-torn-tail [-s secretfile] [-f log | --tenant t]\n"
		"Append a signed, hash-chained event to an audit log; print its seq and hash.\n"
		"  -e event   plan.admitted, plan.launched, plan.failed or plan.rejected.REASON\n"
		"  -p file    the plan (DSSE envelope or plan JSON) the event is about\n"
		"  -l k=v     a label (repeatable; overrides the plan's labels)\n"
		"  -s file    secret key (default $MVM_HOME/keys/host-signer.ed25519)\n"
		"  -f log     the log (default $MVM_HOME/audit/TENANT.jsonl)\n"
		"  --repair-torn-tail  cut an interrupted last line and record that, audited\n"
		"Exit: 0 ok, 1 refused (torn tail, bad event, key), 2 usage, 3 malformed input,\n"
		"4 system error.\n",
		progname, progname);
	exit(code);
}

enum { O_PLANID = 256, O_IRHASH, O_PLANVER, O_TENANT, O_REPAIR };

static const char *logpath;

static __attribute__((noreturn, format(printf, 1, 2))) void refuse(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", progname, logpath);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EX_NO);
}

static int is_hex(const char *s, size_t want)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == want;
}

/* Read a plan from a DSSE envelope or a bare plan file (not verified:
 * audit-append records, plan-verify decides). */
static void load_plan(const char *file, struct plan *p)
{
	struct buf in = BUF_INIT;
	struct merr e;
	struct jdoc *d;
	int r, env;

	if (read_file(file, &in, &e) != 0)
		tool_fail(file, &e);
	if (!(d = json_parse(in.p ? in.p : "", in.len, NULL, &e)))
		tool_fail(file, &e);
	env = json_type(d, json_root(d)) == J_OBJ &&
		json_get(d, json_root(d), "payloadType") != JREF_NONE;
	json_free(d);
	if (env) {
		struct dsse_env de;
		if ((r = dsse_parse(in.p, in.len, &de, &e)) != 0) {
			e.code = EX_DATA;
			tool_fail(file, &e);
		}
		if (strcmp(de.type, DSSE_PLAN_TYPE) != 0)
			tool_die(EX_DATA, "%s: payloadType is \"%s\", not a plan", file, de.type);
		r = plan_parse((const char *)de.payload, de.plen, PLAN_CANONICAL, p, &e);
		dsse_free(&de);
	} else {
		r = plan_parse(in.p, in.len, 0, p, &e);
	}
	if (r) {
		if (r == EX_NO)
			e.code = EX_DATA;   /* for audit-append, not a plan is bad input */
		tool_fail(file, &e);
	}
	buf_free(&in);
}

/* event must be PREFIX.admitted, .launched, .failed or .rejected.REASON. */
static int event_ok(const char *ev, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *s = ev + n + 1, *r;

	if (strncmp(ev, prefix, n) != 0 || ev[n] != '.' || !audit_event_ok(ev, strlen(ev)))
		return 0;
	if (!strcmp(s, "admitted") || !strcmp(s, "launched") || !strcmp(s, "failed"))
		return 1;
	if (strncmp(s, "rejected.", 9) != 0)
		return 0;
	for (r = s + 9; *r; r++)
		if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '_'))
			return 0;
	return r > s + 9;
}

int main(int argc, char **argv)
{
	char spath[PATH_MAX], lpath[PATH_MAX], sub[128];
	const char *event = NULL, *planfile = NULL, *planid = NULL, *irhash = NULL,
		*sarg = NULL, *farg = NULL, *tenant = NULL;
	const char *lkey[AUDIT_MAX_LABELS], *lval[AUDIT_MAX_LABELS];
	size_t nl = 0, i;
	long planver = 1;
	int c, repair = 0, have_plan = 0, r;
	struct plan p;
	struct mvm_key k;
	struct merr e;
	struct audit_new n;
	struct audit_appended out;
	static const struct option lopts[] = {
		{ "plan-id", required_argument, NULL, O_PLANID },
		{ "ir-hash", required_argument, NULL, O_IRHASH },
		{ "plan-version", required_argument, NULL, O_PLANVER },
		{ "tenant", required_argument, NULL, O_TENANT },
		{ "repair-torn-tail", no_argument, NULL, O_REPAIR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	memset(&p, 0, sizeof p);
	memset(&n, 0, sizeof n);
	while ((c = getopt_long(argc, argv, "e:p:l:s:f:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'e': event = optarg; break;
		case 'p': planfile = optarg; break;
		case 'l': {
			char *eq = strchr(optarg, '=');
			if (!eq || !plan_name_ok(optarg, (size_t)(eq - optarg), 1))
				tool_die(EX_USAGE, "-l: %s is not KEY=VALUE with KEY 1 to 64 of "
					"[A-Za-z0-9._:-]", optarg);
			if (strlen(eq + 1) > 1024)
				tool_die(EX_USAGE, "-l: values are at most 1024 bytes");
			*eq = 0;
			for (i = 0; i < nl; i++)
				if (strcmp(lkey[i], optarg) == 0)
					break;
			if (i == nl && nl + 3 >= AUDIT_MAX_LABELS)
				tool_die(EX_USAGE, "-l: too many labels");
			lkey[i] = optarg;
			lval[i] = eq + 1;
			if (i == nl)
				nl++;
			break;
		}
		case 's': sarg = optarg; break;
		case 'f': farg = optarg; break;
		case O_PLANID: planid = optarg; break;
		case O_IRHASH: irhash = optarg; break;
		case O_PLANVER: planver = (long)tool_num("--plan-version", optarg, 1, 4294967295UL); break;
		case O_TENANT:
			if (!plan_name_ok(optarg, strlen(optarg), 0))
				tool_die(EX_USAGE, "--tenant: must be 1 to 64 of [A-Za-z0-9._-]");
			tenant = optarg;
			break;
		case O_REPAIR: repair = 1; break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);
	if (farg && tenant)
		tool_die(EX_USAGE, "-f and --tenant exclude each other");
	if (repair) {
		if (event || planfile || planid || irhash || nl)
			tool_die(EX_USAGE, "--repair-torn-tail takes no event, plan or labels");
	} else {
		if (!event)
			tool_die(EX_USAGE, "-e EVENT is required");
		if (planfile && (planid || irhash))
			tool_die(EX_USAGE, "-p and --plan-id/--ir-hash exclude each other");
		if (!planfile && !(planid && irhash))
			tool_die(EX_USAGE, "name the plan: -p FILE, or --plan-id and --ir-hash");
		if (planid && !(strncmp(planid, "sha256:", 7) == 0 && is_hex(planid + 7, 64)))
			tool_die(EX_USAGE, "--plan-id: %s is not sha256: and 64 lowercase hex digits",
				planid);
		if (irhash && !is_hex(irhash, 64))
			tool_die(EX_USAGE, "--ir-hash: %s is not 64 lowercase hex digits", irhash);
	}
	if (sodium_init() < 0)
		tool_die(EX_SYS, "unable to initialize libsodium");

	/* Everything about the event is settled before the log is touched. */
	if (planfile) {
		load_plan(planfile, &p);
		have_plan = 1;
		planid = p.plan_id;
		irhash = p.ir_hash;
		planver = p.plan_version;
		if (!tenant && !farg)
			tenant = p.tenant;
	}
	if (!repair && !event_ok(event, have_plan ? p.event_prefix : "plan"))
		tool_die(EX_USAGE, "-e: %s is not %s.admitted, .launched, .failed or .rejected.REASON",
			event, have_plan ? p.event_prefix : "plan");
	if (have_plan) {
		const char *std[3][2] = { { "admission_profile", p.ap_id }, { "intent", p.intent },
			{ "seccomp_tier", p.seccomp_tier } };
		size_t j;
		for (j = 0; j < 3; j++) {
			for (i = 0; i < nl; i++)
				if (strcmp(lkey[i], std[j][0]) == 0)
					break;
			if (i == nl) {
				lkey[nl] = std[j][0];
				lval[nl++] = std[j][1];
			}
		}
		for (j = 0; j < p.nrequired; j++) {
			for (i = 0; i < nl; i++)
				if (strcmp(lkey[i], p.required_labels[j]) == 0)
					break;
			if (i == nl)
				tool_die(EX_NO, "%s: the plan requires label \"%s\" on its events (-l %s=...)",
					planfile, p.required_labels[j], p.required_labels[j]);
		}
	}
	if (sarg)
		snprintf(spath, sizeof spath, "%s", sarg);
	else if (key_default_secret(spath, sizeof spath, &e) != 0)
		tool_fail(NULL, &e);
	if (key_load_secret(spath, &k, &e) != 0)
		tool_fail(NULL, &e);

	if (farg) {
		snprintf(lpath, sizeof lpath, "%s", farg);
	} else {
		snprintf(sub, sizeof sub, "audit/%s.jsonl", tenant ? tenant : "local");
		if (mvm_path(lpath, sizeof lpath, sub, &e) != 0)
			tool_fail(NULL, &e);
		char *dc = strdup(lpath);
		if (!dc || mkdir_p(dirname(dc), 0700, &e) != 0)
			tool_fail(NULL, &e);
		free(dc);
	}
	logpath = lpath;

	n.event = event;
	n.plan_id = planid;
	n.plan_version = planver;
	n.ir_hash = irhash;
	for (i = 0; i < nl; i++) {
		n.lkey[i] = lkey[i];
		n.lval[i] = lval[i];
	}
	n.nlabels = nl;
	/* The lock, the checkpoint check, the torn tail, the append and the
	 * new checkpoint: all in audit_append(). */
	r = audit_append(lpath, &n, &k, repair ? AUDIT_REPAIR : 0, &out, &e);
	key_wipe(&k);
	if (r == EX_NO)
		refuse("%s", e.msg);
	if (r)
		tool_fail(lpath, &e);
	if (repair && out.seq == 0) {
		fprintf(stderr, "%s: %s: the last line is complete; nothing to repair\n", progname,
			lpath);
		tool_exit(0);
	}
	if (repair)
		fprintf(stderr, "%s: %s: dropped %zu torn bytes (sha256 %s), recorded as entry %llu\n",
			progname, lpath, out.dropped, out.dropped_sha256, out.seq);
	printf("%llu %s\n", out.seq, out.head);
	plan_free(&p);
	tool_exit(0);
}
