/* nonce.h — the persistent plan-nonce store ($MVM_HOME/nonces/<keyid>/<nonce>) */
#ifndef MVM_NONCE_H
#define MVM_NONCE_H

#include <stdint.h>
#include "err.h"

/*
 * One file per admitted nonce, created with O_CREAT|O_EXCL (the atomic
 * test-and-set, safe across processes and hosts sharing the directory),
 * holding the plan's valid_until; file and directory are fsynced before
 * success.  dir is "$MVM_HOME/nonces"; keyid and nonce are lowercase hex.
 *
 * nonce_consume: 0 (recorded now), EX_NO (seen before: replay), EX_SYS.
 * nonce_seen:    0 (not seen), EX_NO (seen), EX_SYS.
 * nonce_release: forget a nonce this process just recorded.
 * nonce_prune:   remove entries whose valid_until + skew <= now, under an
 *                flock on .lock in the signer's directory (skipped when
 *                another process holds it).  Errors are ignored.
 */
int nonce_consume(const char *dir, const char *keyid, const char *nonce, int64_t valid_until,
	struct merr *e);
int nonce_seen(const char *dir, const char *keyid, const char *nonce, struct merr *e);
int nonce_release(const char *dir, const char *keyid, const char *nonce);
void nonce_prune(const char *dir, const char *keyid, int64_t now, int64_t skew);

#endif
