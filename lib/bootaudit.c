/* bootaudit.c — admitting a boot's plan and recording each outcome (bootaudit.h) */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "audit.h"
#include "bootaudit.h"
#include "digest.h"
#include "enc.h"
#include "io.h"

void bootaudit_label(struct bootaudit *A, const char *k, const char *v)
{
	if (A->nl < BOOTAUDIT_LABELS)
		A->lkey[A->nl] = k, A->lval[A->nl++] = v;
}

/* The log a record of p goes to into out (its directory made). */
static int log_path(const struct bootaudit *A, const struct plan *p, char out[PATH_MAX],
	struct merr *e)
{
	char adir[PATH_MAX], sub[128];
	int r;

	if (A->log) {
		snprintf(out, PATH_MAX, "%s", A->log);
		return 0;
	}
	snprintf(sub, sizeof sub, "audit/%s.jsonl", p ? p->tenant : "local");
	if ((r = mvm_path(out, PATH_MAX, sub, e)) != 0 ||
	    (r = mvm_path(adir, sizeof adir, "audit", e)) != 0)
		return r;
	return mkdir_p(adir, 0700, e);
}

int bootaudit_record(struct bootaudit *A, const struct plan *p, const char *what,
	const char *key, const char *val, struct merr *e)
{
	char lpath[PATH_MAX], ev[AUDIT_EVENT_MAX], pid[DIGEST_LEN + 1];
	struct audit_new n;
	struct audit_appended out;
	int r = 0;

	if (!A->have_key) {
		char sp[PATH_MAX];
		if (A->keyfile)
			snprintf(sp, sizeof sp, "%s", A->keyfile);
		else if ((r = key_default_secret(sp, sizeof sp, e)) != 0)
			goto out;
		if ((r = key_load_secret(sp, &A->key, e)) != 0)
			goto out;
		A->have_key = 1;
	}
	if (p && (r = audit_plan_event(&n, p, what, ev, key, val, e)) != 0 &&
	    strncmp(what, "rejected.", 9) != 0)
		goto out;
	if (!p || r != 0) {
		/* no plan, or a refusal of one whose labels we cannot give:
		 * recorded all the same, under its ids or the envelope's bytes */
		memset(&n, 0, sizeof n);
		snprintf(ev, sizeof ev, "plan.%s", what);
		memcpy(pid, "sha256:", 7);
		sha256_hex(pid + 7, A->env.p ? A->env.p : "", A->env.len);
		n.event = ev;
		n.plan_id = p ? p->plan_id : pid;
		n.plan_version = p ? p->plan_version : 1;
		n.ir_hash = p ? p->ir_hash : AUDIT_ZERO_HASH;
		if (key) {
			n.lkey[0] = key;
			n.lval[0] = val;
			n.nlabels = 1;
		}
	}
	for (size_t i = 0; i < A->nl && n.nlabels < AUDIT_MAX_LABELS; i++) {
		n.lkey[n.nlabels] = A->lkey[i];
		n.lval[n.nlabels++] = A->lval[i];
	}
	if ((r = log_path(A, p, lpath, e)) == 0)
		r = audit_append(lpath, &n, &A->key, 0, &out, e);
out:
	A->nl = 0;
	return r;
}

int bootaudit_admit(struct bootaudit *A, struct admit_req *rq, int *rec, struct merr *re)
{
	const struct admit_verdict *v = &A->v;
	char what[64];
	struct plan up;
	struct merr e;

	rq->env = A->env.p;
	rq->envlen = A->env.len;
	if (admit(rq, &A->v) != 0) {
		const struct plan *p = v->have_plan ? &v->plan : NULL;
		/* A refusal before the plan was parsed: record the plan the
		 * envelope carries, unverified, when it is one. */
		if (!p && v->env.payload && plan_parse((const char *)v->env.payload, v->env.plen,
		    PLAN_CANONICAL, &up, &e) == 0)
			p = &up;
		snprintf(what, sizeof what, "rejected.%s", admit_reason_name(v->reason));
		*rec = bootaudit_record(A, p, what, "reason", v->e.msg, re);
		return v->code;
	}
	/* which kind of image, and its deps volume (mvm-audit(5)) */
	if (v->image_kind)
		bootaudit_label(A, "image", v->image_kind);
	if (v->deps[0]) {
		bootaudit_label(A, "deps_key", v->deps_key);
		bootaudit_label(A, "deps_sbom", v->deps_sbom);
	}
	/* how the image was checked: its root by dm-verity (the meta's root
	 * hash, the guest checking each block), or every file hashed now */
	*rec = bootaudit_record(A, &v->plan, "admitted", "digests", v->have_verity ? "verity" :
		"hashed", re);
	return 0;
}
