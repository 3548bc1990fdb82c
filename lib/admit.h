/* admit.h — admission: one call, a typed verdict (plan-verify(1), vm-boot(1))
 *
 * admit() decides whether a DSSE-signed ExecutionPlan may run.  Every
 * check is read-only and runs first; the nonce is recorded last, so a
 * refusal never has to undo anything.  The order (the first failing
 * check names the reason):
 *
 *   envelope       the bytes are a DSSE envelope (dsse_parse) whose
 *                  payloadType is DSSE_PLAN_TYPE
 *   untrusted_key  a signature names a trusted key (no trusted keys, or
 *                  only keyids of keys not trusted)
 *   signature      a signature by a trusted key verifies over PAE
 *   plan           the payload is a canonical, well-formed plan
 *                  (plan_parse with PLAN_CANONICAL)
 *   window         [valid_from, valid_until) holds at now +- skew, and
 *                  valid_until + LIMIT_SKEW_MAX is not past by the real
 *                  clock (the nonce store forgets nonces after that)
 *   limits         the resources are within lib/limit.h (plan_limits)
 *   replay         the nonce is not in the store, nor in the cluster's
 *                  shared store when there is one (read-only look-ups)
 *   ir_digest      the IR, when given, hashes (RFC 8785) to ir_hash
 *   image_digest   the image directory's mvm-meta.json, vmlinux, initrd,
 *                  when given, have the plan's digests (and no initrd
 *                  when the plan names none); rootfs.ext4 too, unless the
 *                  meta names a dm-verity root (lib/verity.h): then the
 *                  top of its hash tree must hash to that root, and the
 *                  guest checks each block it reads (the file system is
 *                  not hashed here);
 *                  then the drive files mvm-meta.json's launch member
 *                  lists (the config drives) have the digests the meta
 *                  gives them; and when the meta has a "deps" member, it
 *                  has a verity root (a volume without one is refused,
 *                  never hashed whole) and the top of the image's
 *                  deps.ext4 hash tree hashes to it, and no deps.ext4 is
 *                  there when it has none; the files without a verity
 *                  root are hashed
 *   dev_image      the image is a dev image (its mvm-meta.json does not
 *                  say "sealed": true) and the plan says require_prod, or the plan
 *                  says require_prod and no image was given to check;
 *                  the kind ("prod" or "dev") is read from the
 *                  mvm-meta.json bytes whose digest is checked here
 *   replay         then the nonce is recorded (O_EXCL: a concurrent
 *                  admission of the same plan loses here): first in the
 *                  cluster's shared store (lib/cluster.h), the one that
 *                  decides across nodes, then in the node's own.  When
 *                  the first is recorded and the second fails, the plan
 *                  is refused and stays spent in the cluster (it never
 *                  runs twice; it may run nowhere)
 *
 * The names are the reasons' stable lowercase names (admit_reason_name),
 * used as the audit event plan.rejected.<name> (mvm-audit(5)); the set is
 * closed: a new reason is a new enum value, a new name and a new line in
 * mvm-audit(5).
 */
#ifndef MVM_ADMIT_H
#define MVM_ADMIT_H

#include <stddef.h>
#include <stdint.h>
#include "dsse.h"
#include "err.h"
#include "keys.h"
#include "plan.h"
#include "verity.h"

enum admit_reason {
	ADMIT_OK = 0,
	ADMIT_ENVELOPE,
	ADMIT_UNTRUSTED_KEY,
	ADMIT_SIGNATURE,
	ADMIT_PLAN,
	ADMIT_WINDOW,
	ADMIT_LIMITS,
	ADMIT_REPLAY,
	ADMIT_IR_DIGEST,
	ADMIT_IMAGE_DIGEST,
	ADMIT_DEV_IMAGE,
	ADMIT_NREASONS
};

/* "admitted", "envelope", "untrusted_key", "signature", "plan", "window",
 * "limits", "replay", "ir_digest", "image_digest", "dev_image"; NULL out
 * of range. */
const char *admit_reason_name(enum admit_reason r);

struct admit_req {
	const char *env;             /* the envelope's bytes */
	size_t envlen;
	const struct trustset *trust;
	int64_t now;                 /* when the window is checked */
	int64_t skew;                /* 0 .. LIMIT_SKEW_MAX */
	const char *nonces;          /* the nonce store, "$MVM_HOME/nonces" */
	const char *shared;          /* the cluster's store (cluster_stores), or NULL */
	int consume;                 /* 0: look the nonce up, record nothing */
	const char *ir;              /* an IR file to check, or NULL */
	const char *image;           /* an image directory to check, or NULL */
};

struct admit_verdict {
	int code;                    /* 0, EX_NO, EX_DATA, EX_SYS (as e.code) */
	enum admit_reason reason;    /* ADMIT_OK iff code is 0; else the step */
	struct merr e;               /* why, when code is not 0 */
	struct dsse_env env;         /* parsed envelope (reason > ENVELOPE) */
	int have_plan;               /* plan parsed (reason > ADMIT_PLAN or 0) */
	struct plan plan;            /* valid when have_plan */
	char signer[KEYID_LEN + 1];  /* the verifying key, when reason > SIGNATURE */
	size_t digests;              /* image files hashed */
	int have_verity;             /* the image's root is dm-verity: verity holds it */
	struct verity verity;        /* (from the meta bytes whose digest was checked) */
	int recorded;                /* the nonce was recorded by this call */
	int recorded_shared;         /* ... in r->shared too */
	const char *image_kind;      /* "prod", "dev", or NULL (no image given) */
	/* The deps volume mvm-meta.json names, checked against its digest
	 * (image_digest): its path ("" when none), key and SBOM digest. */
	char deps[4096];
	char deps_key[65];
	char deps_sbom[DIGEST_LEN + 1];
};

/*
 * Decide.  Always fills v (admit_free it).  Returns v->code:
 *   0        admitted; the nonce is recorded when r->consume;
 *   EX_NO    refused: v->reason, v->e says why;
 *   EX_DATA  malformed input: the envelope is not JSON (ADMIT_ENVELOPE);
 *            (an IR that is not JSON is refused, EX_NO, ADMIT_IR_DIGEST);
 *   EX_SYS   a system error at step v->reason (an unreadable IR or image
 *            file, the nonce store).
 * Nothing is written anywhere unless the result is 0 and r->consume.
 */
int admit(const struct admit_req *r, struct admit_verdict *v);
void admit_free(struct admit_verdict *v);

#endif
