/* plan-verify — admit a signed ExecutionPlan: signature, plan, window, nonce, digests */
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <unistd.h>
#include "dsse.h"
#include "enc.h"
#include "json.h"
#include "keys.h"
#include "nonce.h"
#include "digest.h"
#include "plan.h"
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-n] [-k pubfile]... [--skew secs] [--now time] [--no-consume]\n"
		"       [--ir ir.json] [--image dir [--digest-cache]] [envelope]\n"
		"Verify a DSSE-signed ExecutionPlan and record its nonce; print the plan.\n"
		"  -k file       trusted public key (repeatable; default $MVM_HOME/trust/*.pub)\n"
		"  --skew secs   widen the validity window by secs on both sides (default 0)\n"
		"  --now time    check the window at time (YYYY-MM-DDTHH:MM:SSZ), not the clock\n"
		"  --no-consume  check the nonce store but do not record the nonce\n"
		"  --ir file     the IR must hash to the plan's ir_hash\n"
		"  --image dir   dir's rootfs.ext4, vmlinux, initrd, mvm-meta.json must match\n"
		"  --digest-cache  take a file's digest from $MVM_HOME/digests when the file is\n"
		"                unchanged (same inode, size, mtime, ctime) since it was hashed\n"
		"Exit: 0 admitted, 1 refused, 2 usage, 3 malformed input, 4 system error.\n",
		progname);
	exit(code);
}

enum { O_SKEW = 256, O_NOW, O_NOCONSUME, O_IR, O_IMAGE, O_DCACHE };

#define MAXKEYS 64

static const char *input = "-";

static __attribute__((noreturn, format(printf, 2, 3))) void refuse(const char *what,
	const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: %s: ", progname, input, what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EX_NO);
}

static __attribute__((noreturn)) void refuse_e(const char *what, const struct merr *e)
{
	if (e->code != EX_NO && e->code != EX_DATA)
		tool_fail(input, e);
	refuse(what, "%s%s%s", e->where, e->where[0] ? ": " : "", e->msg);
}

/* Compare the image's files with the plan's digests, hashing them in
 * parallel: 0 if all match, 1 with a message in msg for the first that
 * does not; a file that cannot be read is a system error (-1). */
static int image_files(const char *dir, const struct plan *p, const char *cachedir, char *msg,
	size_t n, struct merr *e)
{
	static const char *const names[] = { "rootfs.ext4", "vmlinux", "initrd",
		"mvm-meta.json" };
	const char *want[] = { p->rootfs, p->kernel, p->initrd, p->meta };
	char path[4][PATH_MAX], got[4][DIGEST_LEN + 1];
	const char *paths[4];
	size_t i, k = 0, which[4], cached = 0;

	for (i = 0; i < 4; i++) {
		snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
		if (want[i][0]) {
			which[k] = i;
			paths[k++] = path[i];
		} else if (access(path[i], F_OK) == 0) {
			snprintf(msg, n, "%s is present but the plan names no %s", path[i],
				names[i]);
			return 1;
		}
	}
	if (file_digests(k, paths, cachedir, got, &cached, e) != 0)
		return -1;
	for (i = 0; i < k; i++)
		if (strcmp(got[i], want[which[i]]) != 0) {
			snprintf(msg, n, "%s is %s, the plan says %s", paths[i], got[i],
				want[which[i]]);
			return 1;
		}
	/* said, so that vm-boot can record it with the admission */
	if (cached)
		fprintf(stderr, "%s: note: %zu of %zu image files unchanged since hashed: their "
			"digests are from %s\n", progname, cached, k, cachedir);
	return 0;
}

int main(int argc, char **argv)
{
	char *keys[MAXKEYS], nonces[PATH_MAX], signer[KEYID_LEN + 1];
	const char *ir = NULL, *image = NULL, *file = NULL;
	struct buf in = BUF_INIT, out;
	struct trustset ts;
	struct dsse_env env;
	struct plan p;
	struct merr e;
	size_t nkeys = 0;
	int64_t now = 0, skew = 0;
	int c, nl = 0, consume = 1, have_now = 0, r, recorded = 0, dcache = 0;
	static const struct option lopts[] = {
		{ "skew", required_argument, NULL, O_SKEW },
		{ "now", required_argument, NULL, O_NOW },
		{ "no-consume", no_argument, NULL, O_NOCONSUME },
		{ "ir", required_argument, NULL, O_IR },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "digest-cache", no_argument, NULL, O_DCACHE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	while ((c = getopt_long(argc, argv, "nk:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'n': nl = 1; break;
		case 'k':
			if (nkeys == MAXKEYS)
				tool_die(EX_USAGE, "-k: at most %d keys", MAXKEYS);
			keys[nkeys++] = optarg;
			break;
		case O_SKEW: skew = (int64_t)tool_num("--skew", optarg, 0, 86400); break;
		case O_NOW:
			if (rfc3339_parse(optarg, strlen(optarg), &now) != 0)
				tool_die(EX_USAGE, "--now: %s is not a time of the form "
					"YYYY-MM-DDTHH:MM:SSZ", optarg);
			have_now = 1;
			break;
		case O_NOCONSUME: consume = 0; break;
		case O_IR: ir = optarg; break;
		case O_IMAGE: image = optarg; break;
		case O_DCACHE: dcache = 1; break;
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
		now = time_now();
	if (trust_load(&ts, keys, nkeys, &e) != 0)
		tool_fail(NULL, &e);
	if (read_file(file, &in, &e) != 0)
		tool_fail(file, &e);

	/* 1. The envelope's shape and payload type. */
	if ((r = dsse_parse(in.p ? in.p : "", in.len, &env, &e)) != 0) {
		if (r == EX_DATA)
			tool_fail(input, &e);
		refuse_e("envelope", &e);
	}
	if (env.tlen != strlen(DSSE_PLAN_TYPE) || strcmp(env.type, DSSE_PLAN_TYPE) != 0)
		refuse("envelope", "payloadType is \"%s\", not \"%s\"", env.type, DSSE_PLAN_TYPE);
	/* 2. A signature by a trusted key over PAE(type, payload bytes). */
	if (dsse_verify(&env, &ts, signer, &e) != 0)
		refuse_e("signature", &e);
	/* 3. The signed bytes, parsed only now: canonical, supported, well formed. */
	if (plan_parse((const char *)env.payload, env.plen, PLAN_CANONICAL, &p, &e) != 0)
		refuse_e("plan", &e);
	/* 4. The validity window. */
	if (plan_window(&p, now, skew, &e) != 0)
		refuse_e("window", &e);
	/* 5. The nonce, never seen before for this signer. */
	if (mvm_path(nonces, sizeof nonces, "nonces", &e) != 0)
		tool_fail(NULL, &e);
	if (consume) {
		nonce_prune(nonces, signer, now, skew);
		if ((r = nonce_consume(nonces, signer, p.nonce, p.valid_until, &e)) != 0) {
			if (r == EX_NO)
				refuse_e("nonce", &e);
			tool_fail(NULL, &e);
		}
		recorded = 1;
	} else if ((r = nonce_seen(nonces, signer, p.nonce, &e)) != 0) {
		if (r == EX_NO)
			refuse_e("nonce", &e);
		tool_fail(NULL, &e);
	}
	/* 6. The IR and the image, when given.  A plan refused here does not
	 * keep its nonce: it was not admitted. */
	if (ir) {
		struct buf ib = BUF_INIT, cb = BUF_INIT;
		char h[65];
		if (read_file(ir, &ib, &e) != 0) {
			if (recorded)
				nonce_release(nonces, signer, p.nonce);
			tool_fail(ir, &e);
		}
		if (json_canonicalize(ib.p ? ib.p : "", ib.len, NULL, &cb, &e) != 0) {
			if (recorded)
				nonce_release(nonces, signer, p.nonce);
			if (e.code == EX_DATA)
				refuse("ir", "%s: %s: %s", ir, e.where, e.msg);
			tool_fail(ir, &e);
		}
		sha256_hex(h, cb.p, cb.len);
		if (strcmp(h, p.ir_hash) != 0) {
			if (recorded)
				nonce_release(nonces, signer, p.nonce);
			refuse("ir", "%s hashes to %s, the plan names ir_hash %s", ir, h, p.ir_hash);
		}
		buf_free(&ib);
		buf_free(&cb);
	}
	if (image) {
		char msg[PATH_MAX + 256], cachedir[PATH_MAX];
		if (dcache && digest_cache_dir(cachedir, sizeof cachedir, &e) != 0)
			tool_fail(NULL, &e);
		r = image_files(image, &p, dcache ? cachedir : NULL, msg, sizeof msg, &e);
		if (r != 0 && recorded)
			nonce_release(nonces, signer, p.nonce);
		if (r < 0)
			tool_fail(NULL, &e);
		if (r > 0)
			refuse("image", "%s", msg);
	}

	/* Admitted: print the signed bytes, exactly. */
	buf_init_fd(&out, STDOUT_FILENO);
	buf_put(&out, env.payload, env.plen);
	if (nl)
		buf_putc(&out, '\n');
	if (buf_flush(&out) < 0) {
		/* Not handed over, so not admitted: forget the nonce. */
		if (recorded)
			nonce_release(nonces, signer, p.nonce);
		errno = out.err;
		merr_sys(&e, "write to standard output");
		tool_fail(NULL, &e);
	}
	plan_free(&p);
	dsse_free(&env);
	trust_free(&ts);
	buf_free(&out);
	buf_free(&in);
	tool_exit(0);
}
