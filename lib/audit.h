/* audit.h — the signed, hash-chained audit log and its checkpoint */
#ifndef MVM_AUDIT_H
#define MVM_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "buf.h"
#include "err.h"
#include "keys.h"

#define AUDIT_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_MAX_LABELS 64
#define AUDIT_MAX_SEQ 9007199254740991ULL    /* 2^53 - 1 */

/* One line of the log (its bytes without the newline), checked. */
struct audit_line {
	unsigned long long seq;
	char event[129];
	char prev[65];
	char keyid[KEYID_LEN + 1];
	unsigned char sig[64];
	struct buf msg;          /* the signed bytes: canonical entry without sig */
};

/*
 * Read one line: strict JSON (EX_DATA if not JSON), then (EX_NO, where =
 * a JSON Pointer): RFC 8785 canonical bytes, and the fields of
 * mvm-audit(5) with their types and formats, nothing else.  a->msg is
 * reused across calls (buf_free it at the end).  Signature not checked.
 */
int audit_line_parse(const char *line, size_t n, struct audit_line *a, struct merr *e);

/* A new entry. */
struct audit_new {
	unsigned long long seq;
	int64_t time;
	const char *event;
	const char *plan_id;          /* NULL for log.* events */
	long plan_version;
	const char *ir_hash;
	const char *lkey[AUDIT_MAX_LABELS], *lval[AUDIT_MAX_LABELS];
	size_t nlabels;
	const char *prev;             /* 64 hex */
};

/* Build, sign and canonicalize an entry: the line's bytes (no newline)
 * are appended to out. */
int audit_entry_build(const struct audit_new *n, const struct mvm_key *k, struct buf *out,
	struct merr *e);

/* Is this an event name audit-verify accepts? */
int audit_event_ok(const char *s, size_t n);

struct audit_checkpoint {
	unsigned long long size, seq;
	char head[65];
	int64_t time;
	char keyid[KEYID_LEN + 1];
	unsigned char sig[64];
	struct buf msg;
};

int audit_checkpoint_build(unsigned long long size, unsigned long long seq, const char *head,
	int64_t time, const struct mvm_key *k, struct buf *out, struct merr *e);
/* Parse a checkpoint file's bytes (a final newline is allowed); as
 * audit_line_parse.  buf_free(&cp->msg) afterwards. */
int audit_checkpoint_parse(const char *p, size_t n, struct audit_checkpoint *cp,
	struct merr *e);
/* Verify a signed object's signature with the trusted keys: 0, EX_NO. */
int audit_sig_check(const char *keyid, const unsigned char sig[64], const struct buf *msg,
	const struct trustset *t, struct merr *e);

/* The tail of a log, as audit-append sees it under its lock. */
struct audit_tail {
	unsigned long long seq;       /* seq of the last good line, 0 if none */
	char head[65];                /* its SHA-256, or zeros */
	off_t size;                   /* file size */
	off_t good;                   /* end of the last good line (with its newline) */
	int torn;                     /* bytes after good: no newline, or not an entry */
};
/* Find the last good line reading backwards from the end (O(line), not
 * O(file)).  EX_NO when the damage reaches beyond the last line. */
int audit_read_tail(int fd, struct audit_tail *t, struct merr *e);

/* A checkpoint that a log must contain (size bytes, ending with line seq
 * whose hash is head). */
struct audit_expect {
	unsigned long long size, seq;
	char head[65];
	const char *name;
};

struct audit_result {
	unsigned long long entries;
	char head[65];
	unsigned long long after;     /* entries after the newest checkpoint */
};

/*
 * Verify a whole log in p[0..n): every line canonical and well formed,
 * seq 1, 2, 3 ..., prev chaining each line to the SHA-256 of the one
 * before, signed by a trusted key; then each expected checkpoint is
 * contained.  EX_NO with where "line N" for the first failure.
 */
int audit_verify_buf(const char *p, size_t n, const struct trustset *t,
	const struct audit_expect *x, size_t nx, struct audit_result *res, struct merr *e);

#endif
