/* bootaudit.h — the audit trail of one boot (vm-boot(1)): the plan
 * admitted in-process (lib/admit.h, the same call as plan-verify(1)) and
 * every outcome recorded with the same append as audit-append(1)
 * (lib/audit.h), in this order:
 *
 *   plan.rejected.<reason>   admission refused; <reason> is the verdict's
 *                            name (admit_reason_name), never a message;
 *                            label reason = the message
 *   plan.admitted            label digests = "verity" (the root is
 *                            dm-verity) or "hashed" (every file hashed);
 *                            image, deps_key, deps_sbom added when known
 *   plan.launched            (the caller's labels)
 *   plan.failed              label reason = the message
 *
 * An event names the plan (audit_plan_event: its ids and required labels).
 * A refused envelope whose plan was never verified names the plan it
 * carries, unverified, when that parses; otherwise the envelope's bytes:
 * plan_id "sha256:" + their SHA-256, plan_version 1, ir_hash zeros
 * (mvm-audit(5)).  A rejection is recorded even when the plan's required
 * labels are missing (then under those bare ids).
 *
 * The log is A->log, else $MVM_HOME/audit/<tenant>.jsonl for the plan's
 * tenant ("local" without a plan; the directory made 0700); the signing
 * key A->keyfile, else key_default_secret's, loaded once.
 * Nothing here prints or exits.
 */
#ifndef MVM_BOOTAUDIT_H
#define MVM_BOOTAUDIT_H

#include <stddef.h>
#include "admit.h"
#include "buf.h"
#include "err.h"
#include "keys.h"
#include "plan.h"

/* Labels the caller may add to one record besides the event's own: the
 * most any record takes (plan.admitted: image, deps_key, deps_sbom;
 * plan.launched: secrets, egress_policy). */
#define BOOTAUDIT_LABELS 4u

struct bootaudit {
	const char *log;            /* -f, or NULL: the tenant's log */
	const char *keyfile;        /* -s, or NULL: the default host key */
	struct buf env;             /* the envelope's bytes (the caller reads them) */
	struct admit_verdict v;     /* bootaudit_admit's verdict; v.plan once admitted */
	/* internal */
	struct mvm_key key;
	int have_key;
	const char *lkey[BOOTAUDIT_LABELS], *lval[BOOTAUDIT_LABELS];
	size_t nl;
};
#define BOOTAUDIT_INIT { .env = BUF_INIT }

/* Add the label k=v to the next record only (k and v must live until
 * then); past BOOTAUDIT_LABELS, labels are dropped. */
void bootaudit_label(struct bootaudit *A, const char *k, const char *v);

/*
 * Record the event "plan.<what>" for p (NULL: no plan, the envelope's
 * bytes stand for it), with the label key=val when key is not NULL, then
 * the labels bootaudit_label added.  Returns 0, or (e says why; nothing
 * is recorded):
 *   EX_NO    the log refused the entry (audit_append: damaged, rolled
 *            back), the event misses a label the plan requires, or the
 *            key file is refused (key_load_secret: its mode, its .pub);
 *   EX_DATA  a malformed key file or cluster configuration;
 *   EX_SYS   the key, the log or its directory could not be read or
 *            written.
 */
int bootaudit_record(struct bootaudit *A, const struct plan *p, const char *what,
	const char *key, const char *val, struct merr *e);

/*
 * Admit the envelope in A->env under rq (rq->env and rq->envlen are set
 * here from A->env) into A->v, and record the verdict as above.  Returns
 * the verdict's code: 0 admitted (A->v.plan holds the plan), or EX_NO,
 * EX_DATA, EX_SYS refused (A->v.reason and A->v.e say why; nothing of the
 * plan runs).  Either way *rec is the record's status (bootaudit_record's),
 * and re says why when it is not 0.
 */
int bootaudit_admit(struct bootaudit *A, struct admit_req *rq, int *rec, struct merr *re);

#endif
