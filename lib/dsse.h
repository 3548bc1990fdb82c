/* dsse.h — DSSE envelopes (Dead Simple Signing Envelope, v1) with Ed25519 */
#ifndef MVM_DSSE_H
#define MVM_DSSE_H

#include <stddef.h>
#include "buf.h"
#include "err.h"
#include "keys.h"

#define DSSE_PLAN_TYPE "application/vnd.mvm.execution-plan+json"
#define DSSE_MAX_SIGS 16

/* PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body,
 * LEN as ASCII decimal without leading zeros.  Appended to out. */
void dsse_pae(struct buf *out, const char *type, size_t tlen, const void *body, size_t blen);

struct dsse_sig {
	char keyid[KEYID_LEN + 1];   /* "" when absent or not of our form */
	int has_keyid;               /* a keyid of our form (32 chars) was given */
	unsigned char sig[64];
};

struct dsse_env {
	char *type;                  /* payloadType (NUL-free) */
	size_t tlen;
	unsigned char *payload;      /* decoded payload bytes */
	size_t plen;
	struct dsse_sig sigs[DSSE_MAX_SIGS];
	size_t nsig;
};

/*
 * Parse an envelope.  The JSON must be an object with exactly payloadType
 * (string), payload (base64: standard with padding, or URL-safe with or
 * without, as DSSE allows) and signatures (1 to DSSE_MAX_SIGS objects
 * with sig (base64 of 64 bytes, same forms) and an optional keyid
 * (string: a hint when it is 32 lowercase hex digits, else ignored));
 * nothing else.  Malformed JSON: EX_DATA; any other
 * shape problem: EX_NO with a JSON Pointer.  Does not check payloadType.
 */
int dsse_parse(const char *buf, size_t len, struct dsse_env *env, struct merr *e);
void dsse_free(struct dsse_env *env);

/* Verify: some signature whose keyid names a trusted key (or, with no
 * keyid, any trusted key) verifies over PAE(type, payload).  0 and the
 * signer's key id in signer (may be NULL), or EX_NO with *untrusted
 * telling why: 1 when no signature names a trusted key by its keyid (or
 * there are no trusted keys, or signatures without a keyid verify under
 * none), 0 when a signature naming a trusted key does not verify. */
int dsse_verify(const struct dsse_env *env, const struct trustset *t, char *signer,
	int *untrusted, struct merr *e);

/* Sign payload as type with k and append the canonical envelope to out
 * (standard base64, with padding). */
int dsse_sign(struct buf *out, const char *type, const void *payload, size_t n,
	const struct mvm_key *k, struct merr *e);

#endif
