/* auditread.c — an audit log's tail (audit-append) and a whole log
 * (audit-verify) (audit.h) */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "audit.h"
#include "enc.h"

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
