/* audit.c — the signed, hash-chained audit log and its checkpoint */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "audit.h"
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

/* ---- the tail ---- */

int audit_line_before(int fd, off_t end, off_t *start, struct buf *b, struct merr *e)
{
	off_t lo, chunk = 4096;
	ssize_t got;
	char *nl;

	for (;;) {
		lo = end > chunk ? end - chunk : 0;
		b->len = 0;
		if (buf_reserve(b, (size_t)(end - lo) + 1) < 0)
			return merr_set(e, EX_SYS, NULL, "out of memory");
		got = pread(fd, b->p, (size_t)(end - lo), lo);
		if (got < 0)
			return merr_sys(e, "read the log");
		if (got != end - lo)
			return merr_set(e, EX_SYS, NULL, "the log shrank while locked");
		b->len = (size_t)got;
		nl = memrchr(b->p, '\n', b->len);
		if (nl) {
			size_t off = (size_t)(nl - b->p) + 1;
			memmove(b->p, b->p + off, b->len - off);
			b->len -= off;
			*start = lo + (off_t)off;
			return 0;
		}
		if (lo == 0) {
			*start = 0;
			return 0;
		}
		chunk *= 2;
	}
}

int audit_read_tail(int fd, struct audit_tail *t, struct merr *e)
{
	struct buf b = BUF_INIT;
	struct audit_line a;
	struct merr le;
	off_t end, ls;
	char last;
	int rc = 0;

	memset(t, 0, sizeof *t);
	memset(&a, 0, sizeof a);
	strcpy(t->head, AUDIT_ZERO_HASH);
	if ((t->size = lseek(fd, 0, SEEK_END)) < 0)
		return merr_sys(e, "seek in the log");
	t->good = t->size;
	if (t->size == 0)
		return 0;
	if (pread(fd, &last, 1, t->size - 1) != 1)
		return merr_sys(e, "read the log");
	end = t->size;
	if (last != '\n') {
		/* Torn: the bytes after the last newline. */
		if ((rc = audit_line_before(fd, t->size, &ls, &b, e)) != 0)
			goto out;
		t->torn = 1;
		t->good = ls;
		end = ls;
	}
	while (end > 0) {
		if ((rc = audit_line_before(fd, end - 1, &ls, &b, e)) != 0)
			goto out;
		if (audit_line_parse(b.p ? b.p : "", b.len, &a, &le) == 0) {
			t->seq = a.seq;
			sha256_hex(t->head, b.p, b.len);
			break;
		}
		if (le.code == EX_SYS) {
			*e = le;
			rc = EX_SYS;
			goto out;
		}
		/* Only one line may be damaged: the last one. */
		if (t->torn) {
			rc = merr_set(e, EX_NO, NULL, "the log is damaged before its last line "
				"(at byte %lld: %s%s%s); run audit-verify", (long long)ls,
				le.where, le.where[0] ? ": " : "", le.msg);
			goto out;
		}
		t->torn = 1;
		t->good = ls;
		end = ls;
	}
out:
	buf_free(&a.msg);
	buf_free(&b);
	return rc;
}

/* ---- whole logs ---- */

static int line_err(struct merr *e, size_t lineno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int line_err(struct merr *e, size_t lineno, const char *fmt, ...)
{
	char where[32];
	va_list ap;

	if (!e)
		return EX_NO;
	snprintf(where, sizeof where, "line %zu", lineno);
	e->code = EX_NO;
	snprintf(e->where, sizeof e->where, "%s", where);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return EX_NO;
}

int audit_verify_buf(const char *p, size_t n, const struct trustset *t,
	const struct audit_expect *x, size_t nx, struct audit_result *res, struct merr *e)
{
	struct audit_line a;
	struct merr le;
	char running[65];
	unsigned char h[32];
	unsigned long long expect = 1, cpseq = 0;
	size_t off = 0, lineno = 0, i;
	unsigned char matched[64] = { 0 };
	int rc = 0;

	memset(&a, 0, sizeof a);
	memset(res, 0, sizeof *res);
	strcpy(running, AUDIT_ZERO_HASH);
	if (nx > sizeof matched)
		nx = sizeof matched;
	while (off < n) {
		const char *s = p + off, *nl = memchr(s, '\n', n - off);
		size_t len, prev_off = off;

		lineno++;
		if (!nl) {
			rc = line_err(e, lineno, "torn last line: %zu bytes without a newline (an "
				"interrupted append); audit-append --repair-torn-tail removes it, audited",
				n - off);
			goto out;
		}
		len = (size_t)(nl - s);
		if ((rc = audit_line_parse(s, len, &a, &le)) != 0) {
			if (rc == EX_SYS) {
				*e = le;
				goto out;
			}
			if (le.code == EX_DATA)
				rc = line_err(e, lineno, "not a JSON text: %s (line:col %s)", le.msg,
					le.where);
			else
				rc = line_err(e, lineno, "malformed entry: %s%s%s", le.where,
					le.where[0] ? ": " : "", le.msg);
			goto out;
		}
		if (a.seq != expect) {
			rc = line_err(e, lineno, "seq is %llu, expected %llu (a line was deleted, "
				"inserted or moved)", a.seq, expect);
			goto out;
		}
		if (strcmp(a.prev, running) != 0) {
			if (lineno == 1)
				rc = line_err(e, lineno, "prev is not 64 zeros: the chain does not start "
					"here (lines before it removed?)");
			else
				rc = line_err(e, lineno, "prev does not match the SHA-256 of line %zu: "
					"chain broken", lineno - 1);
			goto out;
		}
		if (audit_sig_check(a.keyid, a.sig, &a.msg, t, &le) != 0) {
			rc = line_err(e, lineno, "%s", le.msg);
			goto out;
		}
		sha256(h, s, len);
		hex_encode(running, h, 32);
		off = (size_t)(nl - p) + 1;
		for (i = 0; i < nx; i++) {
			if (x[i].size == off) {
				if (x[i].seq != a.seq || strcmp(x[i].head, running) != 0) {
					rc = line_err(e, lineno, "does not match checkpoint %s (seq %llu, head "
						"%.16s...): the log was rewritten or rolled back", x[i].name,
						x[i].seq, x[i].head);
					goto out;
				}
				matched[i] = 1;
				if (x[i].seq > cpseq)
					cpseq = x[i].seq;
			} else if (x[i].size > prev_off && x[i].size < off) {
				rc = line_err(e, lineno, "checkpoint %s ends inside this line (at byte "
					"%llu): the log was rewritten or rolled back", x[i].name, x[i].size);
				goto out;
			}
		}
		expect++;
	}
	for (i = 0; i < nx; i++) {
		if (matched[i] || (x[i].size == 0 && x[i].seq == 0))
			continue;
		rc = line_err(e, lineno + 1, "missing: the log ends after line %zu (%zu bytes) but "
			"checkpoint %s records %llu entries (%llu bytes): truncated or rolled back",
			lineno, n, x[i].name, x[i].seq, x[i].size);
		goto out;
	}
	res->entries = lineno;
	memcpy(res->head, running, sizeof running);
	res->after = lineno - cpseq;
out:
	buf_free(&a.msg);
	return rc;
}
