/* audit.c — the signed, hash-chained audit log and its checkpoint:
 * reading one line and one checkpoint (audit.h).  Building and signing
 * them: auditsign.c; the tail and whole logs: auditread.c. */
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "b64.h"
#include "enc.h"
#include "json.h"
#include "plan.h"

static int lower_hex(const char *s, size_t n, size_t want)
{
	size_t i;

	if (n != want)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int audit_event_ok(const char *s, size_t n)
{
	size_t i, seg = 0, dots = 0;

	if (n == 0 || n > 128)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (seg == 0)
				return 0;
			dots++;
			seg = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		    (c == '-' && seg > 0)) {
			seg++;
		} else {
			return 0;
		}
	}
	return seg > 0 && dots > 0 && s[0] >= 'a' && s[0] <= 'z';
}

/* The canonical bytes of object obj without its "sig" member, written by
 * the canonical writer member by member (obj's members are in canonical
 * order because the caller checked the bytes are canonical). */
static int unsigned_bytes(const struct jdoc *d, jref obj, struct buf *out)
{
	jref k;
	int first = 1;

	out->len = 0;
	buf_putc(out, '{');
	for (k = json_first_key(d, obj); k != JREF_NONE; k = json_next_key(d, k)) {
		const char *s;
		size_t n;

		if (json_str_eq(d, k, "sig"))
			continue;
		if (!first)
			buf_putc(out, ',');
		first = 0;
		s = json_str(d, k, &n);
		json_put_str(out, s, n);
		buf_putc(out, ':');
		if (json_canon(d, json_value(k), out) != 0)
			return -1;
	}
	buf_putc(out, '}');
	return out->err ? -1 : 0;
}

static int is_canonical(const struct jdoc *d, const char *p, size_t n, struct buf *tmp)
{
	tmp->len = 0;
	if (json_canon(d, json_root(d), tmp) != 0)
		return -1;
	return tmp->len == n && memcmp(tmp->p, p, n) == 0;
}

static int get_sig(const struct jdoc *d, jref v, unsigned char sig[64])
{
	const char *s;
	size_t n, got = 0;
	unsigned char *raw;

	if (json_type(d, v) != J_STR)
		return -1;
	s = json_str(d, v, &n);
	if (n != 88)
		return -1;
	raw = b64_decode(s, n, &got);
	if (!raw || got != 64) {
		free(raw);
		return -1;
	}
	memcpy(sig, raw, 64);
	free(raw);
	return 0;
}

static int get_uint(const struct jdoc *d, jref v, unsigned long long min,
	unsigned long long max, unsigned long long *out)
{
	double x;

	if (json_type(d, v) != J_NUM)
		return -1;
	x = json_num(d, v);
	if (!(x >= (double)min && x <= (double)max) || x != (double)(unsigned long long)x)
		return -1;
	*out = (unsigned long long)x;
	return 0;
}

static int get_hexstr(const struct jdoc *d, jref v, size_t want, char *out)
{
	const char *s;
	size_t n;

	if (json_type(d, v) != J_STR)
		return -1;
	s = json_str(d, v, &n);
	if (!lower_hex(s, n, want))
		return -1;
	memcpy(out, s, n);
	out[n] = 0;
	return 0;
}

static int get_time(const struct jdoc *d, jref v, int64_t *t)
{
	const char *s;
	size_t n;

	if (json_type(d, v) != J_STR)
		return -1;
	s = json_str(d, v, &n);
	return rfc3339_parse(s, n, t);
}

static int bad(struct merr *e, const char *ptr, const char *msg)
{
	return merr_set(e, EX_NO, ptr, "%s", msg);
}

int audit_line_parse(const char *line, size_t n, struct audit_line *a, struct merr *e)
{
	struct jdoc *d;
	jref root, k, v;
	const char *s;
	size_t sl;
	int rc = EX_NO, c;
	unsigned seen = 0;
	enum { F_SEQ = 1, F_TIME = 2, F_EVENT = 4, F_PID = 8, F_PVER = 16, F_IRH = 32,
		F_LABELS = 64, F_PREV = 128, F_KEYID = 256, F_SIG = 512 };
	int64_t t;
	unsigned long long u;

	d = json_parse(line, n, NULL, e);
	if (!d)
		return e ? e->code : EX_DATA;
	root = json_root(d);
	if (json_type(d, root) != J_OBJ) {
		bad(e, "", "an entry is a JSON object");
		goto out;
	}
	c = is_canonical(d, line, n, &a->msg);
	if (c < 0) {
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
		goto out;
	}
	if (!c) {
		bad(e, "", "not in RFC 8785 canonical form");
		goto out;
	}
	for (k = json_first_key(d, root); k != JREF_NONE; k = json_next_key(d, k)) {
		v = json_value(k);
		if (json_str_eq(d, k, "seq")) {
			seen |= F_SEQ;
			if (get_uint(d, v, 1, AUDIT_MAX_SEQ, &a->seq)) {
				bad(e, "/seq", "must be an integer from 1 to 2^53-1");
				goto out;
			}
		} else if (json_str_eq(d, k, "time")) {
			seen |= F_TIME;
			if (get_time(d, v, &t)) {
				bad(e, "/time", "must be an RFC 3339 UTC time YYYY-MM-DDTHH:MM:SSZ");
				goto out;
			}
		} else if (json_str_eq(d, k, "event")) {
			seen |= F_EVENT;
			if (json_type(d, v) != J_STR || (s = json_str(d, v, &sl), !audit_event_ok(s, sl))) {
				bad(e, "/event", "must be an event name such as plan.admitted");
				goto out;
			}
			memcpy(a->event, s, sl);
			a->event[sl] = 0;
		} else if (json_str_eq(d, k, "plan_id")) {
			seen |= F_PID;
			if (json_type(d, v) != J_STR || (s = json_str(d, v, &sl), sl != 71) ||
			    memcmp(s, "sha256:", 7) != 0 || !lower_hex(s + 7, 64, 64)) {
				bad(e, "/plan_id", "must be \"sha256:\" and 64 lowercase hex digits");
				goto out;
			}
		} else if (json_str_eq(d, k, "plan_version")) {
			seen |= F_PVER;
			if (get_uint(d, v, 1, 4294967295ULL, &u)) {
				bad(e, "/plan_version", "must be an integer from 1 to 2^32-1");
				goto out;
			}
		} else if (json_str_eq(d, k, "ir_hash")) {
			char h[65];
			seen |= F_IRH;
			if (get_hexstr(d, v, 64, h)) {
				bad(e, "/ir_hash", "must be 64 lowercase hex digits");
				goto out;
			}
		} else if (json_str_eq(d, k, "labels")) {
			jref lk;
			seen |= F_LABELS;
			if (json_type(d, v) != J_OBJ || json_len(d, v) > AUDIT_MAX_LABELS) {
				bad(e, "/labels", "must be an object of at most 64 labels");
				goto out;
			}
			for (lk = json_first_key(d, v); lk != JREF_NONE; lk = json_next_key(d, lk)) {
				jref lv = json_value(lk);
				s = json_str(d, lk, &sl);
				if (!plan_name_ok(s, sl, 1)) {
					bad(e, "/labels", "label names are 1 to 64 of [A-Za-z0-9._:-]");
					goto out;
				}
				if (json_type(d, lv) != J_STR || json_len(d, lv) > 1024) {
					struct buf p = BUF_INIT;
					buf_puts(&p, "/labels");
					json_ptr_push(&p, s, sl);
					bad(e, buf_cstr(&p) ? p.p : "/labels",
						"label values are strings of at most 1024 bytes");
					buf_free(&p);
					goto out;
				}
			}
		} else if (json_str_eq(d, k, "prev")) {
			seen |= F_PREV;
			if (get_hexstr(d, v, 64, a->prev)) {
				bad(e, "/prev", "must be 64 lowercase hex digits");
				goto out;
			}
		} else if (json_str_eq(d, k, "keyid")) {
			seen |= F_KEYID;
			if (get_hexstr(d, v, KEYID_LEN, a->keyid)) {
				bad(e, "/keyid", "must be 32 lowercase hex digits");
				goto out;
			}
		} else if (json_str_eq(d, k, "sig")) {
			seen |= F_SIG;
			if (get_sig(d, v, a->sig)) {
				bad(e, "/sig", "must be the base64 of a 64-byte Ed25519 signature");
				goto out;
			}
		} else {
			struct buf p = BUF_INIT;
			s = json_str(d, k, &sl);
			json_ptr_push(&p, s, sl);
			bad(e, buf_cstr(&p) ? p.p : "", "unknown field");
			buf_free(&p);
			goto out;
		}
	}
	{
		static const struct { unsigned f; const char *name; } req[] = {
			{ F_SEQ, "/seq" }, { F_TIME, "/time" }, { F_EVENT, "/event" },
			{ F_LABELS, "/labels" }, { F_PREV, "/prev" }, { F_KEYID, "/keyid" },
			{ F_SIG, "/sig" },
		};
		size_t i;
		int is_log = strncmp(a->event, "log.", 4) == 0;

		for (i = 0; i < sizeof req / sizeof req[0]; i++)
			if (!(seen & req[i].f)) {
				bad(e, req[i].name, "required field is missing");
				goto out;
			}
		if (!is_log && (seen & (F_PID | F_PVER | F_IRH)) != (F_PID | F_PVER | F_IRH)) {
			bad(e, !(seen & F_PID) ? "/plan_id" : !(seen & F_PVER) ? "/plan_version"
				: "/ir_hash", "required field is missing (plan events name their plan)");
			goto out;
		}
		if (is_log && (seen & (F_PID | F_PVER | F_IRH))) {
			bad(e, "/event", "log.* events do not name a plan");
			goto out;
		}
	}
	if (unsigned_bytes(d, root, &a->msg) != 0) {
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_free(d);
	return rc;
}

int audit_checkpoint_parse(const char *p, size_t n, struct audit_checkpoint *cp,
	struct merr *e)
{
	struct jdoc *d;
	jref root, k, v;
	int rc = EX_NO, c;
	unsigned seen = 0;

	if (n && p[n - 1] == '\n')
		n--;
	d = json_parse(p, n, NULL, e);
	if (!d)
		return e ? e->code : EX_DATA;
	root = json_root(d);
	if (json_type(d, root) != J_OBJ) {
		bad(e, "", "a checkpoint is a JSON object");
		goto out;
	}
	c = is_canonical(d, p, n, &cp->msg);
	if (c <= 0) {
		rc = c < 0 ? merr_set(e, EX_SYS, NULL, "out of memory") : bad(e, "",
			"not in RFC 8785 canonical form");
		goto out;
	}
	for (k = json_first_key(d, root); k != JREF_NONE; k = json_next_key(d, k)) {
		v = json_value(k);
		if (json_str_eq(d, k, "size")) {
			seen |= 1;
			if (get_uint(d, v, 0, AUDIT_MAX_SEQ, &cp->size)) {
				bad(e, "/size", "must be a non-negative integer");
				goto out;
			}
		} else if (json_str_eq(d, k, "seq")) {
			seen |= 2;
			if (get_uint(d, v, 0, AUDIT_MAX_SEQ, &cp->seq)) {
				bad(e, "/seq", "must be a non-negative integer");
				goto out;
			}
		} else if (json_str_eq(d, k, "head")) {
			seen |= 4;
			if (get_hexstr(d, v, 64, cp->head)) {
				bad(e, "/head", "must be 64 lowercase hex digits");
				goto out;
			}
		} else if (json_str_eq(d, k, "time")) {
			seen |= 8;
			if (get_time(d, v, &cp->time)) {
				bad(e, "/time", "must be an RFC 3339 UTC time");
				goto out;
			}
		} else if (json_str_eq(d, k, "keyid")) {
			seen |= 16;
			if (get_hexstr(d, v, KEYID_LEN, cp->keyid)) {
				bad(e, "/keyid", "must be 32 lowercase hex digits");
				goto out;
			}
		} else if (json_str_eq(d, k, "sig")) {
			seen |= 32;
			if (get_sig(d, v, cp->sig)) {
				bad(e, "/sig", "must be the base64 of a 64-byte Ed25519 signature");
				goto out;
			}
		} else {
			bad(e, "", "unknown field in checkpoint");
			goto out;
		}
	}
	if (seen != 63) {
		bad(e, "", "checkpoint is missing a field (size, seq, head, time, keyid, sig)");
		goto out;
	}
	if ((cp->size == 0) != (cp->seq == 0)) {
		bad(e, "", "size and seq disagree");
		goto out;
	}
	if (unsigned_bytes(d, root, &cp->msg) != 0) {
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_free(d);
	return rc;
}
