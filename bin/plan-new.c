/* plan-new — synthesize an unsigned ExecutionPlan from an IR and an image */
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <unistd.h>
#include "enc.h"
#include "json.h"
#include "digest.h"
#include "limit.h"
#include "plan.h"
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-n] (--image dir | --rootfs f --kernel f [--initrd f] --meta f)\n"
		"       [--tenant t] [--valid-for secs] [--not-before time] [--runtime-profile p]\n"
		"       [--intent i] [--seccomp tier] [--profile-id id] [--network-policy r]\n"
		"       [--fs-policy r] [--egress-policy r] [--tool-policy r] [--secret-release s]\n"
		"       [--require-label name]... [--require-prod] [ir.json]\n"
		"Write an unsigned ExecutionPlan (RFC 8785 canonical JSON) for a Workload IR.\n"
		"  --image dir        hash dir/rootfs.ext4, dir/vmlinux, dir/initrd (if any),\n"
		"                     dir/mvm-meta.json\n"
		"  --valid-for secs   validity window length (default 600)\n"
		"  --not-before time  window start, YYYY-MM-DDTHH:MM:SSZ (default now)\n"
		"  --seccomp tier     essential, minimal, standard (default), network, unrestricted\n"
		"  --require-prod     admission refuses a dev image (mvm-build --dev)\n"
		"Exit: 0 ok, 1 image built from another IR, 2 usage, 3 malformed input, 4 system error.\n",
		progname);
	exit(code);
}

enum {
	O_IMAGE = 256, O_ROOTFS, O_KERNEL, O_INITRD, O_META, O_TENANT, O_VALID, O_NOTBEFORE,
	O_RUNTIME, O_INTENT, O_SECCOMP, O_PROFILE, O_NETPOL, O_FSPOL, O_EGRESS, O_TOOLPOL,
	O_SECRET, O_LABEL, O_PROD,
};

static char *xstrdup(const char *s)
{
	char *r = strdup(s);

	if (!r)
		tool_die(EX_SYS, "out of memory");
	return r;
}

static void check_ref(const char *opt, const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 256)
		tool_die(EX_USAGE, "%s: must be 1 to 256 bytes", opt);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			tool_die(EX_USAGE, "%s: must not contain control characters", opt);
}

static __attribute__((noreturn)) void ir_die(const char *file, const char *ptr,
	const char *msg)
{
	struct merr e;

	merr_set(&e, EX_DATA, ptr, "%s", msg);
	tool_fail(file ? file : "-", &e);
}

/* An integer in [min, max] (lib/limits.h: what the launcher can run). */
static long ir_int(const struct jdoc *d, jref v, const char *file, const char *ptr, long min,
	long max)
{
	double x;

	if (v == JREF_NONE)
		ir_die(file, ptr, "required field is missing");
	if (json_type(d, v) != J_NUM)
		ir_die(file, ptr, "must be an integer");
	x = json_num(d, v);
	if (!(x >= -9007199254740991.0 && x <= 9007199254740991.0) || x != (double)(long)x)
		ir_die(file, ptr, "must be a positive integer");
	if (x < min || x > max) {
		struct merr e;
		merr_set(&e, EX_NO, ptr, "%.0f is outside what the launcher can run (%ld to %ld)",
			x, min, max);
		tool_fail(file ? file : "-", &e);
	}
	return (long)x;
}

/* The app that holds the primary entrypoint, or the only app. */
static jref primary_app(const struct jdoc *d, jref apps, size_t *idx)
{
	jref a, ep, x;
	size_t i;

	for (a = json_first(d, apps), i = 0; a != JREF_NONE; a = json_next(d, a), i++) {
		if (json_type(d, a) != J_OBJ)
			continue;
		ep = json_get(d, a, "entrypoints");
		if (ep == JREF_NONE || json_type(d, ep) != J_ARR)
			continue;
		for (x = json_first(d, ep); x != JREF_NONE; x = json_next(d, x))
			if (json_type(d, x) == J_OBJ && json_get(d, x, "primary") != JREF_NONE &&
			    json_type(d, json_get(d, x, "primary")) == J_TRUE) {
				*idx = i;
				return a;
			}
	}
	if (json_len(d, apps) == 1) {
		*idx = 0;
		return json_first(d, apps);
	}
	return JREF_NONE;
}

int main(int argc, char **argv)
{
	const char *file = NULL, *image = NULL, *rootfs = NULL, *kernel = NULL, *initrd = NULL,
		*meta = NULL, *notbefore = NULL;
	char pathbuf[PATH_MAX], hex[65], ptr[64];
	struct buf in = BUF_INIT, canon = BUF_INIT, out;
	struct plan p;
	struct merr e;
	unsigned char nb[16];
	unsigned long validfor = 600;
	int c, nl = 0;
	size_t appi;
	static const struct option lopts[] = {
		{ "image", required_argument, NULL, O_IMAGE },
		{ "rootfs", required_argument, NULL, O_ROOTFS },
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initrd", required_argument, NULL, O_INITRD },
		{ "meta", required_argument, NULL, O_META },
		{ "tenant", required_argument, NULL, O_TENANT },
		{ "valid-for", required_argument, NULL, O_VALID },
		{ "not-before", required_argument, NULL, O_NOTBEFORE },
		{ "runtime-profile", required_argument, NULL, O_RUNTIME },
		{ "intent", required_argument, NULL, O_INTENT },
		{ "seccomp", required_argument, NULL, O_SECCOMP },
		{ "profile-id", required_argument, NULL, O_PROFILE },
		{ "network-policy", required_argument, NULL, O_NETPOL },
		{ "fs-policy", required_argument, NULL, O_FSPOL },
		{ "egress-policy", required_argument, NULL, O_EGRESS },
		{ "tool-policy", required_argument, NULL, O_TOOLPOL },
		{ "secret-release", required_argument, NULL, O_SECRET },
		{ "require-label", required_argument, NULL, O_LABEL },
		{ "require-prod", no_argument, NULL, O_PROD },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	memset(&p, 0, sizeof p);
	p.plan_version = 1;
	while ((c = getopt_long(argc, argv, "nh", lopts, NULL)) != -1) {
		switch (c) {
		case 'n': nl = 1; break;
		case O_IMAGE: image = optarg; break;
		case O_ROOTFS: rootfs = optarg; break;
		case O_KERNEL: kernel = optarg; break;
		case O_INITRD: initrd = optarg; break;
		case O_META: meta = optarg; break;
		case O_TENANT:
			if (!plan_name_ok(optarg, strlen(optarg), 0))
				tool_die(EX_USAGE, "--tenant: must be 1 to 64 of [A-Za-z0-9._-], "
					"starting with a letter or digit");
			free(p.tenant);
			p.tenant = xstrdup(optarg);
			break;
		case O_VALID: validfor = tool_num("--valid-for", optarg, 1, 315360000); break;
		case O_NOTBEFORE: notbefore = optarg; break;
		case O_RUNTIME:
			if (!plan_name_ok(optarg, strlen(optarg), 0))
				tool_die(EX_USAGE, "--runtime-profile: must be 1 to 64 of [A-Za-z0-9._-]");
			free(p.runtime_profile);
			p.runtime_profile = xstrdup(optarg);
			break;
		case O_INTENT: check_ref("--intent", optarg); free(p.intent); p.intent = xstrdup(optarg); break;
		case O_SECCOMP:
			if (!plan_seccomp_tier_ok(optarg))
				tool_die(EX_USAGE, "--seccomp: %s is not one of essential, minimal, "
					"standard, network, unrestricted", optarg);
			free(p.seccomp_tier);
			p.seccomp_tier = xstrdup(optarg);
			break;
		case O_PROFILE: check_ref("--profile-id", optarg); free(p.ap_id); p.ap_id = xstrdup(optarg); break;
		case O_NETPOL: check_ref("--network-policy", optarg); free(p.network_policy); p.network_policy = xstrdup(optarg); break;
		case O_FSPOL: check_ref("--fs-policy", optarg); free(p.fs_policy); p.fs_policy = xstrdup(optarg); break;
		case O_EGRESS: check_ref("--egress-policy", optarg); free(p.egress_policy); p.egress_policy = xstrdup(optarg); break;
		case O_TOOLPOL: check_ref("--tool-policy", optarg); free(p.tool_policy); p.tool_policy = xstrdup(optarg); break;
		case O_SECRET:
			if (!plan_secret_release_ok(optarg))
				tool_die(EX_USAGE, "--secret-release: %s is not one of none, plan_bound, "
					"attestation_bound", optarg);
			free(p.secret_release);
			p.secret_release = xstrdup(optarg);
			break;
		case O_LABEL: {
			size_t i;
			if (!plan_name_ok(optarg, strlen(optarg), 1))
				tool_die(EX_USAGE, "--require-label: must be 1 to 64 of [A-Za-z0-9._:-]");
			for (i = 0; i < p.nrequired; i++)
				if (strcmp(p.required_labels[i], optarg) == 0)
					break;
			if (i == p.nrequired) {
				if (p.nrequired + 3 >= PLAN_MAX_LABELS)
					tool_die(EX_USAGE, "--require-label: too many labels");
				p.required_labels[p.nrequired++] = xstrdup(optarg);
			}
			break;
		}
		case O_PROD: p.require_prod = 1; break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (argc - optind > 1)
		usage(EX_USAGE);
	if (optind < argc)
		file = argv[optind];
	if (image && (rootfs || kernel || initrd || meta))
		tool_die(EX_USAGE, "--image and --rootfs/--kernel/--initrd/--meta exclude each other");
	if (!image && !(rootfs && kernel && meta))
		tool_die(EX_USAGE, "an image is required: --image DIR, or --rootfs, --kernel and "
			"--meta");
	if (sodium_init() < 0)
		tool_die(EX_SYS, "unable to initialize libsodium");

	/* Defaults. */
	if (!p.tenant) p.tenant = xstrdup("local");
	if (!p.runtime_profile) p.runtime_profile = xstrdup("qemu-microvm");
	if (!p.intent) p.intent = xstrdup("vm:boot");
	if (!p.seccomp_tier) p.seccomp_tier = xstrdup("standard");
	if (!p.ap_id) {
		snprintf(pathbuf, sizeof pathbuf, "%s:%s", p.intent, p.seccomp_tier);
		check_ref("--profile-id", pathbuf);
		p.ap_id = xstrdup(pathbuf);
	}
	if (!p.network_policy) p.network_policy = xstrdup("local-default");
	if (!p.fs_policy) p.fs_policy = xstrdup("local-default");
	if (!p.egress_policy) p.egress_policy = xstrdup("local-default");
	if (!p.tool_policy) p.tool_policy = xstrdup("local-default");
	if (!p.secret_release) p.secret_release = xstrdup("none");
	p.event_prefix = xstrdup("plan");
	{
		/* The three labels every plan event carries, then the asked-for ones. */
		static const char *const std[] = { "admission_profile", "intent", "seccomp_tier" };
		char *keep[PLAN_MAX_LABELS];
		size_t i, j, n = 0;
		for (i = 0; i < 3; i++)
			keep[n++] = xstrdup(std[i]);
		for (i = 0; i < p.nrequired; i++) {
			for (j = 0; j < 3; j++)
				if (strcmp(p.required_labels[i], std[j]) == 0)
					break;
			if (j == 3)
				keep[n++] = p.required_labels[i];
			else
				free(p.required_labels[i]);
		}
		memcpy(p.required_labels, keep, n * sizeof keep[0]);
		p.nrequired = n;
	}
	if (notbefore) {
		if (rfc3339_parse(notbefore, strlen(notbefore), &p.valid_from) != 0)
			tool_die(EX_USAGE, "--not-before: %s is not a time of the form "
				"YYYY-MM-DDTHH:MM:SSZ", notbefore);
	} else {
		p.valid_from = time_now();
	}
	p.valid_until = p.valid_from + (int64_t)validfor;
	{
		char t[21];
		if (rfc3339_format(p.valid_until, t) != 0)
			tool_die(EX_USAGE, "--valid-for: the window ends after year 9999");
	}

	/* The IR: its hash, its id, its primary app's resources. */
	if (read_file(file, &in, &e) != 0)
		tool_fail(file, &e);
	{
		struct jdoc *d = json_parse(in.p ? in.p : "", in.len, NULL, &e);
		jref root, v, apps, app, res;
		if (!d)
			tool_fail(file ? file : "-", &e);
		if (json_canon(d, json_root(d), &canon) != 0)
			tool_die(EX_SYS, "out of memory");
		sha256_hex(p.ir_hash, canon.p, canon.len);
		root = json_root(d);
		if (json_type(d, root) != J_OBJ)
			ir_die(file, "", "a Workload IR is a JSON object");
		v = json_get(d, root, "id");
		if (v == JREF_NONE)
			ir_die(file, "/id", "required field is missing");
		if (json_type(d, v) != J_STR || json_len(d, v) == 0 || json_len(d, v) > 256 ||
		    !(p.workload = json_strdup(d, v)))
			ir_die(file, "/id", "must be a non-empty string of at most 256 bytes");
		{
			size_t i;
			for (i = 0; p.workload[i]; i++)
				if ((unsigned char)p.workload[i] < 0x20 || p.workload[i] == 0x7f)
					ir_die(file, "/id", "must not contain control characters");
		}
		apps = json_get(d, root, "apps");
		if (apps == JREF_NONE)
			ir_die(file, "/apps", "required field is missing");
		if (json_type(d, apps) != J_ARR || json_len(d, apps) == 0)
			ir_die(file, "/apps", "must be a non-empty array");
		app = primary_app(d, apps, &appi);
		if (app == JREF_NONE)
			ir_die(file, "/apps", "no app has a primary entrypoint");
		snprintf(ptr, sizeof ptr, "/apps/%zu", appi);
		if (json_type(d, app) != J_OBJ)
			ir_die(file, ptr, "must be an object");
		snprintf(ptr, sizeof ptr, "/apps/%zu/resources", appi);
		res = json_get(d, app, "resources");
		if (res == JREF_NONE)
			ir_die(file, ptr, "required field is missing");
		if (json_type(d, res) != J_OBJ)
			ir_die(file, ptr, "must be an object");
		snprintf(ptr, sizeof ptr, "/apps/%zu/resources/vcpus", appi);
		p.vcpus = ir_int(d, json_get(d, res, "vcpus"), file, ptr, LIMIT_VCPUS_MIN,
			LIMIT_VCPUS_MAX);
		snprintf(ptr, sizeof ptr, "/apps/%zu/resources/memory_mb", appi);
		p.memory_mb = ir_int(d, json_get(d, res, "memory_mb"), file, ptr,
			LIMIT_MEMORY_MB_MIN, LIMIT_MEMORY_MB_MAX);
		snprintf(ptr, sizeof ptr, "/apps/%zu/resources/boot_timeout_secs", appi);
		v = json_get(d, res, "boot_timeout_secs");
		p.boot_timeout_secs = v == JREF_NONE ? 30 : ir_int(d, v, file, ptr,
			LIMIT_BOOT_TIMEOUT_MIN, LIMIT_BOOT_TIMEOUT_MAX);
		json_free(d);
	}

	/* The image: its files hashed in parallel. */
	{
		char rp[PATH_MAX], kp[PATH_MAX], ip[PATH_MAX], dg[3][DIGEST_LEN + 1];
		const char *paths[3];
		size_t n = 2;
		if (image) {
			snprintf(rp, sizeof rp, "%s/rootfs.ext4", image);
			snprintf(kp, sizeof kp, "%s/vmlinux", image);
			snprintf(ip, sizeof ip, "%s/initrd", image);
			rootfs = rp;
			kernel = kp;
			initrd = access(ip, F_OK) == 0 ? ip : NULL;
			snprintf(pathbuf, sizeof pathbuf, "%s/mvm-meta.json", image);
			meta = pathbuf;
		}
		paths[0] = rootfs;
		paths[1] = kernel;
		if (initrd)
			paths[n++] = initrd;
		if (file_digests(n, paths, dg, &e) != 0)
			tool_fail(NULL, &e);
		memcpy(p.rootfs, dg[0], sizeof p.rootfs);
		memcpy(p.kernel, dg[1], sizeof p.kernel);
		if (initrd)
			memcpy(p.initrd, dg[2], sizeof p.initrd);
	}
	{
		struct buf mb = BUF_INIT;
		struct jdoc *d;
		jref v;
		if (read_file(meta, &mb, &e) != 0)
			tool_fail(meta, &e);
		sha256_hex(hex, mb.p ? mb.p : "", mb.len);
		snprintf(p.meta, sizeof p.meta, "sha256:%s", hex);
		if (!(d = json_parse(mb.p ? mb.p : "", mb.len, NULL, &e)))
			tool_fail(meta, &e);
		if (json_type(d, json_root(d)) != J_OBJ) {
			merr_set(&e, EX_DATA, "", "mvm-meta.json must be a JSON object");
			tool_fail(meta, &e);
		}
		v = json_get(d, json_root(d), "ir_hash");
		if (v != JREF_NONE && !json_str_eq(d, v, p.ir_hash)) {
			char *s = json_strdup(d, v);
			tool_die(EX_NO, "%s: /ir_hash: the image was built from IR %s, not from this "
				"IR (%s)", meta, s ? s : "(not a string)", p.ir_hash);
		}
		json_free(d);
		buf_free(&mb);
	}

	randombytes_buf(nb, sizeof nb);
	hex_encode(p.nonce, nb, sizeof nb);
	buf_init_fd(&out, STDOUT_FILENO);
	if (plan_write(&p, &out, &e) != 0)
		tool_fail(NULL, &e);
	if (nl)
		buf_putc(&out, '\n');
	tool_flush(&out);
	plan_free(&p);
	buf_free(&out);
	buf_free(&in);
	buf_free(&canon);
	tool_exit(0);
}
