/* nonce.h — the persistent plan-nonce store ($MVM_HOME/nonces/<nonce>) */
#ifndef MVM_NONCE_H
#define MVM_NONCE_H

#include <stdint.h>
#include "err.h"
#include "keys.h"

/*
 * One file per admitted nonce, named by the plan's nonce alone (a plan
 * is admitted once, whoever signed it, however many signatures it
 * carries), created with O_CREAT|O_EXCL (the atomic test-and-set, safe
 * across processes and hosts sharing the directory).  It holds one line,
 * "VALID_UNTIL PLAN_ID\n" (RFC 3339 UTC, sha256:HEX); file and directory
 * are fsynced before success.  dir is "$MVM_HOME/nonces"; nonce is 32
 * lowercase hex digits.  Entries of the old layout, dir/KEYID/NONCE, are
 * still honoured by nonce_seen and nonce_consume for the KEYIDs of old
 * (the trusted keys; may be NULL): one lstat each.
 *
 * nonce_consume: 0 (recorded now), EX_NO (seen before: replay, the
 *                message names the plan that spent it), EX_SYS.
 * nonce_seen:    0 (not seen), EX_NO (seen), EX_SYS.
 * nonce_release: forget a nonce this process just recorded (only for a
 *                plan that could not be handed over: plan-verify's
 *                unwritable standard output).  0 or -1.
 * nonce_prune:   remove entries whose valid_until + LIMIT_SKEW_MAX is
 *                past by the real clock (never a caller's idea of now:
 *                admission refuses such plans whatever --now says),
 *                under an flock on dir/.lock (skipped when another
 *                process holds it).  Errors are ignored.
 * nonce_prune_after: the same, keeping entries keep seconds past their
 *                valid_until (nonce_prune: LIMIT_SKEW_MAX); a shared
 *                store keeps them longer (lib/cluster.h: CLUSTER_KEEP),
 *                and there the lock only spares work (two pruners may
 *                both unlink an expired entry: one of them fails).
 */
int nonce_consume(const char *dir, const char *nonce, const char *plan_id,
	int64_t valid_until, const struct trustset *old, struct merr *e);
int nonce_seen(const char *dir, const char *nonce, const struct trustset *old,
	struct merr *e);
int nonce_release(const char *dir, const char *nonce);
void nonce_prune(const char *dir);
void nonce_prune_after(const char *dir, int64_t keep);

#endif
