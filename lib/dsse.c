/* dsse.c — DSSE envelopes: PAE, parse, verify, sign */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "dsse.h"
#include "b64.h"
#include "json.h"

void dsse_pae(struct buf *out, const char *type, size_t tlen, const void *body, size_t blen)
{
	buf_printf(out, "DSSEv1 %zu ", tlen);
	buf_put(out, type, tlen);
	buf_printf(out, " %zu ", blen);
	buf_put(out, body, blen);
}

void dsse_free(struct dsse_env *env)
{
	free(env->type);
	free(env->payload);
	memset(env, 0, sizeof *env);
}

#define shape(e, where, fmt, a) merr_set((e), EX_NO, (where), fmt, a)

/* A keyid hint of our form: 32 lowercase hex digits. */
static int keyid_ok(const char *p, size_t n)
{
	size_t i;

	if (n != KEYID_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

/* DSSE allows standard or URL-safe base64: standard with padding, or
 * URL-safe with or without it (one alphabet, never mixed). */
static unsigned char *dsse_b64(const char *in, size_t n, size_t *outlen)
{
	unsigned char *out = b64_decode(in, n, outlen);
	const char *end = NULL;
	size_t cap = n / 4 * 3 + 3, got = 0;

	if (out)
		return out;
	if (!(out = malloc(cap)))
		return NULL;
	if (sodium_base642bin(out, cap, in, n, NULL, &got, &end, n % 4 == 0 ?
	    sodium_base64_VARIANT_URLSAFE : sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != in + n) {
		free(out);
		return NULL;
	}
	*outlen = got;
	return out;
}

int dsse_parse(const char *buf, size_t len, struct dsse_env *env, struct merr *e)
{
	struct jdoc *d;
	jref root, k, v, s, sk;
	const char *p;
	size_t n, i;
	char where[64];
	int r = EX_NO, seen_t = 0, seen_p = 0, seen_s = 0;

	memset(env, 0, sizeof *env);
	d = json_parse(buf, len, NULL, e);
	if (!d)
		return e ? e->code : EX_DATA;
	root = json_root(d);
	if (json_type(d, root) != J_OBJ) {
		shape(e, "", "envelope is a JSON %s, not an object", json_typename(json_type(d, root)));
		goto out;
	}
	for (k = json_first_key(d, root); k != JREF_NONE; k = json_next_key(d, k)) {
		v = json_value(k);
		if (json_str_eq(d, k, "payloadType")) {
			seen_t = 1;
			if (json_type(d, v) != J_STR) {
				shape(e, "/payloadType", "must be a string%s", "");
				goto out;
			}
			p = json_str(d, v, &n);
			if (memchr(p, 0, n) || !(env->type = malloc(n + 1))) {
				shape(e, "/payloadType", "must not contain NUL%s", "");
				goto out;
			}
			memcpy(env->type, p, n);
			env->type[n] = 0;
			env->tlen = n;
		} else if (json_str_eq(d, k, "payload")) {
			seen_p = 1;
			if (json_type(d, v) != J_STR) {
				shape(e, "/payload", "must be a string%s", "");
				goto out;
			}
			p = json_str(d, v, &n);
			env->payload = dsse_b64(p, n, &env->plen);
			if (!env->payload) {
				shape(e, "/payload", "is not base64 (standard, or URL-safe)%s", "");
				goto out;
			}
		} else if (json_str_eq(d, k, "signatures")) {
			seen_s = 1;
			if (json_type(d, v) != J_ARR) {
				shape(e, "/signatures", "must be an array%s", "");
				goto out;
			}
			n = json_len(d, v);
			if (n == 0 || n > DSSE_MAX_SIGS) {
				merr_set(e, EX_NO, "/signatures", "must hold 1 to %d signatures, not %zu",
					DSSE_MAX_SIGS, n);
				goto out;
			}
			for (i = 0, s = json_first(d, v); s != JREF_NONE; s = json_next(d, s), i++) {
				struct dsse_sig *ds = &env->sigs[i];
				int has_sig = 0;

				snprintf(where, sizeof where, "/signatures/%zu", i);
				if (json_type(d, s) != J_OBJ) {
					shape(e, where, "must be an object%s", "");
					goto out;
				}
				for (sk = json_first_key(d, s); sk != JREF_NONE; sk = json_next_key(d, sk)) {
					jref sv = json_value(sk);
					if (json_str_eq(d, sk, "keyid")) {
						snprintf(where, sizeof where, "/signatures/%zu/keyid", i);
						if (json_type(d, sv) != J_STR) {
							shape(e, where, "must be a string%s", "");
							goto out;
						}
						/* Only a hint: one that cannot be one of our
						 * key ids is ignored (every key is tried). */
						p = json_str(d, sv, &n);
						if (keyid_ok(p, n)) {
							memcpy(ds->keyid, p, n);
							ds->keyid[n] = 0;
							ds->has_keyid = 1;
						}
					} else if (json_str_eq(d, sk, "sig")) {
						unsigned char *raw;
						size_t rl = 0;
						snprintf(where, sizeof where, "/signatures/%zu/sig", i);
						if (json_type(d, sv) != J_STR) {
							shape(e, where, "must be a string%s", "");
							goto out;
						}
						p = json_str(d, sv, &n);
						raw = dsse_b64(p, n, &rl);
						if (!raw || rl != 64) {
							free(raw);
							shape(e, where, "is not the base64 of a 64-byte Ed25519 signature%s",
								"");
							goto out;
						}
						memcpy(ds->sig, raw, 64);
						free(raw);
						has_sig = 1;
					} else {
						char *name = json_strdup(d, sk);
						snprintf(where, sizeof where, "/signatures/%zu", i);
						merr_set(e, EX_NO, where, "unknown member \"%s\"", name ? name : "?");
						free(name);
						goto out;
					}
				}
				if (!has_sig) {
					snprintf(where, sizeof where, "/signatures/%zu", i);
					shape(e, where, "missing \"sig\"%s", "");
					goto out;
				}
			}
			env->nsig = i;
		} else {
			char *name = json_strdup(d, k);
			merr_set(e, EX_NO, "", "envelope has an unknown member \"%s\"", name ? name : "?");
			free(name);
			goto out;
		}
	}
	if (!seen_t || !seen_p || !seen_s) {
		shape(e, "", "envelope is missing \"%s\"",
			!seen_t ? "payloadType" : !seen_p ? "payload" : "signatures");
		goto out;
	}
	r = 0;
out:
	json_free(d);
	if (r)
		dsse_free(env);
	return r;
}

int dsse_verify(const struct dsse_env *env, const struct trustset *t, char *signer,
	int *untrusted, struct merr *e)
{
	struct buf pae = BUF_INIT;
	size_t i, j;
	const char *failed = NULL;

	*untrusted = 1;
	if (t->n == 0)
		return merr_set(e, EX_NO, NULL,
			"no trusted keys (give -k FILE or put keys in $MVM_HOME/trust/*.pub)");
	dsse_pae(&pae, env->type, env->tlen, env->payload, env->plen);
	if (pae.err) {
		buf_free(&pae);
		return merr_set(e, EX_SYS, NULL, "out of memory");
	}
	for (i = 0; i < env->nsig; i++) {
		const struct dsse_sig *s = &env->sigs[i];
		for (j = 0; j < t->n; j++) {
			if (s->has_keyid && strcmp(s->keyid, t->k[j].keyid) != 0)
				continue;
			if (crypto_sign_verify_detached(s->sig, (const unsigned char *)pae.p, pae.len,
			    t->k[j].pk) == 0) {
				if (signer)
					memcpy(signer, t->k[j].keyid, KEYID_LEN + 1);
				buf_free(&pae);
				return 0;
			}
			if (!failed && s->has_keyid)
				failed = t->k[j].keyid;
		}
	}
	buf_free(&pae);
	*untrusted = !failed;
	if (failed)
		return merr_set(e, EX_NO, NULL, "bad signature: the signature for trusted key %s "
			"does not verify over this payload", failed);
	return merr_set(e, EX_NO, NULL, "not signed by a trusted key (signed by key id %s)",
		env->sigs[0].keyid[0] ? env->sigs[0].keyid : "(none given)");
}

int dsse_sign(struct buf *out, const char *type, const void *payload, size_t n,
	const struct mvm_key *k, struct merr *e)
{
	struct buf pae = BUF_INIT, txt = BUF_INIT;
	unsigned char sig[64];
	char *bp = NULL, *bs = NULL;
	int r = 0;

	dsse_pae(&pae, type, strlen(type), payload, n);
	if (pae.err)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	crypto_sign_detached(sig, NULL, (const unsigned char *)pae.p, pae.len, k->sk);
	buf_free(&pae);
	bp = b64_encode(payload, n);
	bs = b64_encode(sig, sizeof sig);
	if (!bp || !bs) {
		r = merr_set(e, EX_SYS, NULL, "out of memory");
		goto out;
	}
	buf_puts(&txt, "{\"payloadType\":");
	json_put_str(&txt, type, strlen(type));
	buf_puts(&txt, ",\"payload\":");
	json_put_str(&txt, bp, strlen(bp));
	buf_puts(&txt, ",\"signatures\":[{\"keyid\":");
	json_put_str(&txt, k->keyid, strlen(k->keyid));
	buf_puts(&txt, ",\"sig\":");
	json_put_str(&txt, bs, strlen(bs));
	buf_puts(&txt, "}]}");
	if (txt.err) {
		r = merr_set(e, EX_SYS, NULL, "out of memory");
		goto out;
	}
	r = json_canonicalize(txt.p, txt.len, NULL, out, e);
out:
	free(bp);
	free(bs);
	buf_free(&txt);
	return r;
}
