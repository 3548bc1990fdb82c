/* admit.c — admission: one call, a typed verdict */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "admit.h"
#include "cluster.h"
#include "digest.h"
#include "enc.h"
#include "io.h"
#include "json.h"
#include "limit.h"
#include "nonce.h"

static const char *const names[ADMIT_NREASONS] = {
	[ADMIT_OK] = "admitted",
	[ADMIT_ENVELOPE] = "envelope",
	[ADMIT_UNTRUSTED_KEY] = "untrusted_key",
	[ADMIT_SIGNATURE] = "signature",
	[ADMIT_PLAN] = "plan",
	[ADMIT_WINDOW] = "window",
	[ADMIT_LIMITS] = "limits",
	[ADMIT_REPLAY] = "replay",
	[ADMIT_IR_DIGEST] = "ir_digest",
	[ADMIT_IMAGE_DIGEST] = "image_digest",
	[ADMIT_DEV_IMAGE] = "dev_image",
};

const char *admit_reason_name(enum admit_reason r)
{
	return (unsigned)r < ADMIT_NREASONS ? names[r] : NULL;
}

/* Refuse (or fail) at step r with the error already in v->e. */
static int stop(struct admit_verdict *v, enum admit_reason r, int code)
{
	v->reason = r;
	v->code = v->e.code = code;
	return code;
}

static int ir_check(const char *ir, const struct plan *p, struct merr *e)
{
	struct buf ib = BUF_INIT, cb = BUF_INIT;
	char h[65];
	int rc;

	if ((rc = read_file(ir, &ib, e)) != 0)
		goto out;
	if ((rc = json_canonicalize(ib.p ? ib.p : "", ib.len, NULL, &cb, e)) != 0) {
		if (rc == EX_DATA)
			rc = merr_set(e, EX_NO, NULL, "%s: not JSON: %s: %s", ir, e->where, e->msg);
		goto out;
	}
	sha256_hex(h, cb.p, cb.len);
	if (strcmp(h, p->ir_hash) != 0)
		rc = merr_set(e, EX_NO, NULL, "%s hashes to %s, the plan names ir_hash %s", ir, h,
			p->ir_hash);
out:
	buf_free(&ib);
	buf_free(&cb);
	return rc;
}

/* The deps volume an image's checked mvm-meta.json d names: its "deps"
 * member {key, sbom_digest, volume_digest, verity} names <dir>/deps.ext4
 * (mvm-meta(5)); the top of the file's hash tree must hash to the verity
 * root (the guest checks each block it reads).  A member without verity
 * (an image from before mvm-deps appended the tree) is refused, not
 * hashed whole (issue 17: admission checks verity roots); without the
 * member there must be no such file. */
static int deps_check(const char *dir, const struct jdoc *d, struct admit_verdict *v)
{
	char path[PATH_MAX];
	size_t kn = 0, sn = 0, vn = 0;
	jref x = json_type(d, json_root(d)) == J_OBJ ? json_get(d, json_root(d), "deps") : JREF_NONE;
	jref k = JREF_NONE, sb = JREF_NONE, vo = JREF_NONE;

	if ((size_t)snprintf(path, sizeof path, "%s/deps.ext4", dir) >= sizeof path)
		return merr_set(&v->e, EX_SYS, NULL, "%s: path too long", dir);
	if (x == JREF_NONE)
		return access(path, F_OK) == 0 ? merr_set(&v->e, EX_NO, NULL, "%s is present but "
			"mvm-meta.json names no deps volume", path) : 0;
	if (json_type(d, x) == J_OBJ) {
		k = json_get(d, x, "key");
		sb = json_get(d, x, "sbom_digest");
		vo = json_get(d, x, "volume_digest");
	}
	const char *key = k != JREF_NONE && json_type(d, k) == J_STR ? json_str(d, k, &kn) : NULL;
	const char *sbom = sb != JREF_NONE && json_type(d, sb) == J_STR ? json_str(d, sb, &sn) : NULL;
	const char *vol = vo != JREF_NONE && json_type(d, vo) == J_STR ? json_str(d, vo, &vn) : NULL;
	if (!key || kn != 64 || !sbom || sn != DIGEST_LEN || !vol || vn != DIGEST_LEN)
		return merr_set(&v->e, EX_NO, "/deps", "mvm-meta.json: deps needs key (64 hex), "
			"sbom_digest and volume_digest (sha256:...)");
	jref vt = json_get(d, x, "verity");
	struct verity ver;
	int rc;
	if (vt == JREF_NONE)
		return merr_set(&v->e, EX_NO, "/deps", "mvm-meta.json: the deps volume has no "
			"verity root, so it cannot be checked (an image made before deps volumes "
			"carried a dm-verity tree): rebuild the image with the current mvm-build");
	/* read through dm-verity in the guest (init: agent/init.c): the top of its
	 * tree, as for the root; the blocks are checked there */
	if (verity_parse(d, vt, &ver) != 0)
		return merr_set(&v->e, EX_NO, "/deps/verity", "mvm-meta.json: the deps "
			"volume's verity is not a SHA-256 tree of 4096-byte blocks appended "
			"to the data (mvm-meta(5))");
	if ((rc = verity_check(path, &ver, &v->e)) != 0)
		return rc;
	snprintf(v->deps, sizeof v->deps, "%s", path);
	memcpy(v->deps_key, key, 64);
	memcpy(v->deps_sbom, sbom, DIGEST_LEN);
	return 0;
}

/* The meta's bytes (read once: what is checked is what is used, kept in
 * *b for the checks that follow) against the plan's digest, then its
 * verity root, if any, into v. */
static int meta_check(const char *path, const char *want, struct buf *b,
	struct admit_verdict *v)
{
	char got[DIGEST_LEN + 1];

	if (read_file(path, b, &v->e) != 0)
		return EX_SYS;
	memcpy(got, "sha256:", 7);
	sha256_hex(got + 7, b->p ? b->p : "", b->len);
	if (strcmp(got, want) != 0)
		return merr_set(&v->e, EX_NO, NULL, "%s is %s, the plan says %s", path, got, want);
	return verity_from_meta(b->p ? b->p : "", b->len, &v->verity, &v->have_verity, &v->e);
}

/* The image's files against the plan's digests.  The meta first; when it
 * names a verity root, the root file system is checked by the top of its
 * hash tree (the guest verifies each block it reads) and only the kernel
 * and initrd are hashed; else every file is hashed, in parallel. */
static int image_check(const char *dir, struct buf *meta, struct admit_verdict *v)
{
	static const char *const files[] = { "rootfs.ext4", "vmlinux", "initrd",
		"mvm-meta.json" };
	const struct plan *p = &v->plan;
	const char *want[] = { p->rootfs, p->kernel, p->initrd, p->meta };
	char path[4][PATH_MAX], got[4][DIGEST_LEN + 1];
	const char *paths[4];
	size_t i, k = 0, which[4];
	int rc;

	for (i = 0; i < 4; i++) {
		if ((size_t)snprintf(path[i], sizeof path[i], "%s/%s", dir, files[i]) >=
		    sizeof path[i])
			return merr_set(&v->e, EX_SYS, NULL, "%s: path too long", dir);
		if (!want[i][0] && access(path[i], F_OK) == 0)
			return merr_set(&v->e, EX_NO, NULL, "%s is present but the plan names no %s",
				path[i], files[i]);
	}
	if (want[3][0] && (rc = meta_check(path[3], want[3], meta, v)) != 0)
		return rc;
	if (v->have_verity && (rc = verity_check(path[0], &v->verity, &v->e)) != 0)
		return rc;
	for (i = v->have_verity ? 1 : 0; i < 3; i++)
		if (want[i][0]) {
			which[k] = i;
			paths[k++] = path[i];
		}
	if (file_digests(k, paths, got, &v->e) != 0)
		return EX_SYS;
	v->digests = k + (want[3][0] != 0);
	for (i = 0; i < k; i++)
		if (strcmp(got[i], want[which[i]]) != 0)
			return merr_set(&v->e, EX_NO, NULL, "%s is %s, the plan says %s", paths[i],
				got[i], want[which[i]]);
	return 0;
}

/* The image's kind from its checked mvm-meta.json d (mvm-meta(5)
 * "sealed"): "prod" when it says "sealed": true; anything else is not. */
static void image_kind(const struct jdoc *d, struct admit_verdict *v)
{
	jref s = d && json_type(d, json_root(d)) == J_OBJ ? json_get(d, json_root(d), "sealed") :
		JREF_NONE;

	v->image_kind = s != JREF_NONE && json_type(d, s) == J_TRUE ? "prod" : "dev";
}

/*
 * The drive files mvm-meta.json's launch member lists (mvm-meta(5): the
 * config drives), each against the digest the meta gives it: the plan
 * binds the meta's digest, so it binds these.  d is the meta as parsed
 * from the bytes image_check read and checked.
 */
static int drives_check(const char *dir, const struct jdoc *d, struct admit_verdict *v)
{
	char path[PATH_MAX], got[1][DIGEST_LEN + 1], want[DIGEST_LEN + 1];
	jref drives, x;
	size_t n;

	snprintf(path, sizeof path, "%s/mvm-meta.json", dir);
	drives = json_type(d, json_root(d)) == J_OBJ ? json_get(d, json_root(d), "launch") : JREF_NONE;
	drives = drives != JREF_NONE && json_type(d, drives) == J_OBJ ? json_get(d, drives, "drives") :
		JREF_NONE;
	for (x = drives != JREF_NONE && json_type(d, drives) == J_ARR ? json_first(d, drives) :
	     JREF_NONE; x != JREF_NONE; x = json_next(d, x)) {
		jref f = json_type(d, x) == J_OBJ ? json_get(d, x, "file") : JREF_NONE;
		jref h = f != JREF_NONE ? json_get(d, x, "sha256") : JREF_NONE;
		jref vo = f != JREF_NONE ? json_get(d, x, "verity") : JREF_NONE;
		const char *fs, *hs = NULL, *p1 = path;
		size_t hn = 0;
		struct verity ver;

		if (f == JREF_NONE)
			continue;
		if (json_type(d, f) != J_STR || (fs = json_str(d, f, &n)) == NULL || n == 0 ||
		    n > 64 || strspn(fs, "abcdefghijklmnopqrstuvwxyz0123456789_.") < n ||
		    fs[0] == '.' || (vo != JREF_NONE ? verity_parse(d, vo, &ver) != 0 :
		    h == JREF_NONE || json_type(d, h) != J_STR ||
		    (hs = json_str(d, h, &hn)) == NULL || hn != 64)) {
			return merr_set(&v->e, EX_NO, NULL, "%s: /launch/drives: a file without a "
				"plain name, or without a sha256 or a verity root (mvm-meta(5))", path);
		}
		snprintf(path, sizeof path, "%s/%.*s", dir, (int)n, fs);
		/* a config drive the guest reads through dm-verity: the top of
		 * its hash tree, as for the root (the blocks are checked there) */
		if (vo != JREF_NONE) {
			int rc = verity_check(path, &ver, &v->e);

			if (rc != 0)
				return rc;
			continue;
		}
		if (file_digests(1, &p1, got, &v->e) != 0)
			return EX_SYS;
		v->digests++;
		snprintf(want, sizeof want, "sha256:%.64s", hs);
		if (strcmp(got[0], want) != 0)
			return merr_set(&v->e, EX_NO, NULL, "%s is %s, mvm-meta.json says %s", path,
				got[0], want);
	}
	return 0;
}

/* The image: its files (image_check), then what its checked
 * mvm-meta.json lists: the config drives, the deps volume, its kind. */
static int image_files(const char *dir, struct admit_verdict *v)
{
	struct buf meta = BUF_INIT;
	struct jdoc *d = NULL;
	int rc;

	v->image_kind = "dev";    /* unless its meta says "sealed": true */
	if ((rc = image_check(dir, &meta, v)) != 0 || !v->plan.meta[0])
		goto out;
	if (!(d = json_parse(meta.p ? meta.p : "", meta.len, NULL, &v->e))) {
		rc = merr_set(&v->e, EX_NO, NULL, "%s/mvm-meta.json is not JSON", dir);
		goto out;
	}
	if ((rc = drives_check(dir, d, v)) == 0 && (rc = deps_check(dir, d, v)) == 0)
		image_kind(d, v);
out:
	json_free(d);
	buf_free(&meta);
	return rc;
}

int admit(const struct admit_req *r, struct admit_verdict *v)
{
	int rc, untrusted;

	memset(v, 0, sizeof *v);
	/* 1. The envelope's shape and payload type. */
	if ((rc = dsse_parse(r->env ? r->env : "", r->envlen, &v->env, &v->e)) != 0)
		return stop(v, ADMIT_ENVELOPE, rc);
	if (v->env.tlen != strlen(DSSE_PLAN_TYPE) || strcmp(v->env.type, DSSE_PLAN_TYPE) != 0) {
		merr_set(&v->e, EX_NO, NULL, "payloadType is \"%s\", not \"%s\"", v->env.type,
			DSSE_PLAN_TYPE);
		return stop(v, ADMIT_ENVELOPE, EX_NO);
	}
	/* 2. A signature by a trusted key over PAE(type, payload bytes). */
	if ((rc = dsse_verify(&v->env, r->trust, v->signer, &untrusted, &v->e)) != 0)
		return stop(v, rc == EX_NO && untrusted ? ADMIT_UNTRUSTED_KEY : ADMIT_SIGNATURE,
			rc);
	/* 3. The signed bytes, parsed only now: canonical, supported, well formed. */
	if ((rc = plan_parse((const char *)v->env.payload, v->env.plen, PLAN_CANONICAL,
	    &v->plan, &v->e)) != 0)
		return stop(v, ADMIT_PLAN, rc == EX_DATA ? EX_NO : rc);
	v->have_plan = 1;
	/* 4. The window, at the caller's now; and, by the real clock, not so
	 * long past that the nonce store may have forgotten the nonce. */
	if ((rc = plan_window(&v->plan, r->now, r->skew, &v->e)) != 0)
		return stop(v, ADMIT_WINDOW, rc);
	if (v->plan.valid_until + LIMIT_SKEW_MAX <= time_now()) {
		merr_set(&v->e, EX_NO, "/valid_until", "expired more than %ld s ago by the "
			"system clock, whatever the time asked: its nonce may be forgotten",
			LIMIT_SKEW_MAX);
		return stop(v, ADMIT_WINDOW, EX_NO);
	}
	/* 5. What the launcher can run. */
	if ((rc = plan_limits(&v->plan, &v->e)) != 0)
		return stop(v, ADMIT_LIMITS, rc);
	/* 6. The nonce, never admitted before (looked up only). */
	if ((rc = nonce_seen(r->nonces, v->plan.nonce, r->trust, &v->e)) != 0 ||
	    (r->shared && (rc = nonce_seen(r->shared, v->plan.nonce, NULL, &v->e)) != 0))
		return stop(v, ADMIT_REPLAY, rc);
	/* 7. The IR and the image, when given. */
	if (r->ir && (rc = ir_check(r->ir, &v->plan, &v->e)) != 0)
		return stop(v, ADMIT_IR_DIGEST, rc);
	if (r->image && (rc = image_files(r->image, v)) != 0)
		return stop(v, ADMIT_IMAGE_DIGEST, rc);
	/* 8. A plan for production runs no dev image. */
	if (v->plan.require_prod && !r->image) {
		merr_set(&v->e, EX_NO, "/admission_profile/require_prod",
			"the plan requires a prod image and no image was given to check");
		return stop(v, ADMIT_DEV_IMAGE, EX_NO);
	}
	if (v->plan.require_prod && strcmp(v->image_kind, "prod") != 0) {
		merr_set(&v->e, EX_NO, "/admission_profile/require_prod",
			"the plan requires a prod image; %s/mvm-meta.json says \"sealed\": false "
			"(mvm-build --dev)", r->image);
		return stop(v, ADMIT_DEV_IMAGE, EX_NO);
	}
	/* 9. Last: record the nonce (a concurrent admission loses here), in
	 * the cluster's store first: it decides across nodes. */
	if (r->consume && r->shared) {
		nonce_prune_after(r->shared, CLUSTER_KEEP);
		if ((rc = nonce_consume(r->shared, v->plan.nonce, v->plan.plan_id,
		    v->plan.valid_until, NULL, &v->e)) != 0)
			return stop(v, ADMIT_REPLAY, rc);
		v->recorded_shared = 1;
	}
	if (r->consume) {
		nonce_prune(r->nonces);
		if ((rc = nonce_consume(r->nonces, v->plan.nonce, v->plan.plan_id,
		    v->plan.valid_until, r->trust, &v->e)) != 0)
			return stop(v, ADMIT_REPLAY, rc);
		v->recorded = 1;
	}
	v->reason = ADMIT_OK;
	v->code = 0;
	return 0;
}

void admit_free(struct admit_verdict *v)
{
	if (v->have_plan)
		plan_free(&v->plan);
	dsse_free(&v->env);
	v->have_plan = 0;
}
