/* auditsign.c — building and signing audit entries and checkpoints,
 * and checking a signature with the trusted keys (audit.h) */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "audit.h"
#include "b64.h"
#include "enc.h"
#include "json.h"
#include "plan.h"

/* Sign the canonical form of the object text txt and append the object
 * with its "sig" member, canonical, to out. */
static int sign_object(const struct buf *txt, const struct mvm_key *k, struct buf *out,
	struct merr *e)
{
	struct buf c = BUF_INIT;
	unsigned char sig[64];
	char *b;
	int rc;

	if (txt->err)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	if ((rc = json_canonicalize(txt->p, txt->len, NULL, &c, e)) != 0) {
		buf_free(&c);
		return rc;
	}
	crypto_sign_detached(sig, NULL, (const unsigned char *)c.p, c.len, k->sk);
	if (!(b = b64_encode(sig, sizeof sig))) {
		buf_free(&c);
		return merr_set(e, EX_SYS, NULL, "out of memory");
	}
	c.len--;        /* drop the closing brace; the object is never empty */
	buf_printf(&c, ",\"sig\":\"%s\"}", b);
	free(b);
	if (c.err) {
		buf_free(&c);
		return merr_set(e, EX_SYS, NULL, "out of memory");
	}
	rc = json_canonicalize(c.p, c.len, NULL, out, e);
	buf_free(&c);
	return rc;
}

int audit_entry_build(const struct audit_new *n, const struct mvm_key *k, struct buf *out,
	struct merr *e)
{
	struct buf t = BUF_INIT;
	char ts[21];
	size_t i;
	int rc;

	if (rfc3339_format(n->time, ts) != 0)
		return merr_set(e, EX_SYS, NULL, "clock out of range");
	buf_printf(&t, "{\"seq\":%llu,\"time\":\"%s\",\"event\":", n->seq, ts);
	json_put_str(&t, n->event, strlen(n->event));
	if (n->plan_id) {
		buf_puts(&t, ",\"plan_id\":");
		json_put_str(&t, n->plan_id, strlen(n->plan_id));
		buf_printf(&t, ",\"plan_version\":%ld,\"ir_hash\":", n->plan_version);
		json_put_str(&t, n->ir_hash, strlen(n->ir_hash));
	}
	buf_puts(&t, ",\"labels\":{");
	for (i = 0; i < n->nlabels; i++) {
		if (i)
			buf_putc(&t, ',');
		json_put_str(&t, n->lkey[i], strlen(n->lkey[i]));
		buf_putc(&t, ':');
		json_put_str(&t, n->lval[i], strlen(n->lval[i]));
	}
	buf_printf(&t, "},\"prev\":\"%s\",\"keyid\":\"%s\"}", n->prev, k->keyid);
	rc = sign_object(&t, k, out, e);
	buf_free(&t);
	return rc;
}

int audit_checkpoint_build(unsigned long long size, unsigned long long seq, const char *head,
	int64_t time, const struct mvm_key *k, struct buf *out, struct merr *e)
{
	struct buf t = BUF_INIT;
	char ts[21];
	int rc;

	if (rfc3339_format(time, ts) != 0)
		return merr_set(e, EX_SYS, NULL, "clock out of range");
	buf_printf(&t, "{\"size\":%llu,\"seq\":%llu,\"head\":\"%s\",\"time\":\"%s\","
		"\"keyid\":\"%s\"}", size, seq, head, ts, k->keyid);
	rc = sign_object(&t, k, out, e);
	buf_free(&t);
	return rc;
}

int audit_sig_check(const char *keyid, const unsigned char sig[64], const struct buf *msg,
	const struct trustset *t, struct merr *e)
{
	const struct trusted *k = trust_find(t, keyid, strlen(keyid));

	if (!k)
		return merr_set(e, EX_NO, NULL, "signed by untrusted key %s", keyid);
	if (crypto_sign_verify_detached(sig, (const unsigned char *)msg->p, msg->len, k->pk) != 0)
		return merr_set(e, EX_NO, NULL, "bad signature (key %s)", keyid);
	return 0;
}
