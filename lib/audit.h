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
/* Read the line that ends at end (exclusive; end is the offset of its
 * newline, or of EOF) into b (replacing its contents); its start into
 * *start.  Reads backwards in growing chunks: O(line).  0 or EX_SYS. */
int audit_line_before(int fd, off_t end, off_t *start, struct buf *b, struct merr *e);
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

/*
 * Append one entry to the log at path, the whole protocol of
 * audit-append(1) under an flock on the log:
 *   1. stale PATH.checkpoint.tmp.* files (left by a crash) are removed;
 *   2. the log must still extend its checkpoint PATH.checkpoint: the
 *      checkpoint parses, is signed by k (or by a key in
 *      $MVM_HOME/trust when another key id signed it), the log is at
 *      least its size, and the line ending at its size hashes to its
 *      head.  O(1) in the log's length (one line is read).  A non-empty
 *      log without a checkpoint is refused; an empty log without one
 *      first gets a signed empty checkpoint (size 0, seq 0), so that a
 *      crash after the first line cannot leave a log without one;
 *   3. the last line must be whole (a torn tail is refused; with
 *      AUDIT_REPAIR it is cut, if the checkpoint does not cover it, and
 *      the entry appended is log.repaired with labels dropped_bytes,
 *      dropped_sha256 and reason "torn_tail", whatever n says);
 *   4. the entry (n's event, plan fields and labels, and the label node
 *      naming this node when it has an id (lib/cluster.h: MVM_NODE, ...;
 *      a label node naming another is refused, EX_NO); seq, time and prev
 *      are set here) is signed with k and written with one write(2),
 *      then fsynced; the checkpoint is replaced (temp file, fsync,
 *      rename).
 * Returns (codes as audit-append(1)'s exit statuses):
 *   0        appended: out->seq, out->head (the new line's SHA-256);
 *            with AUDIT_REPAIR and a whole last line, nothing is written
 *            and out->seq is 0;
 *   EX_NO    refused, nothing written; e->msg names the damage
 *            (truncated or rolled back, rewritten, no checkpoint, a
 *            checkpoint that is not one or not signed by a known key,
 *            a torn last line, damage before the last line);
 *   EX_DATA  this node's cluster configuration is malformed (lib/cluster.h);
 *   EX_SYS   an I/O error (a line that could not be written whole is
 *            cut again before returning).
 */
#define AUDIT_REPAIR 1
struct plan;
struct audit_appended {
	unsigned long long seq;
	char head[65];
	size_t dropped;               /* AUDIT_REPAIR: bytes cut */
	char dropped_sha256[65];
};
int audit_append(const char *path, const struct audit_new *n, const struct mvm_key *k,
	int flags, struct audit_appended *out, struct merr *e);

/*
 * An event about plan p, as audit-append -p makes it: event
 * "<event_prefix>.<what>" written into ev, the plan's plan_id,
 * plan_version and ir_hash, the labels admission_profile, intent and
 * seccomp_tier, and the label key=val when key is not NULL (it overrides
 * those).  n points into p, ev, key and val.  EX_NO when the event is not
 * a valid event name or a label of the plan's required_labels is
 * missing.
 */
#define AUDIT_EVENT_MAX 129
int audit_plan_event(struct audit_new *n, const struct plan *p, const char *what,
	char ev[AUDIT_EVENT_MAX], const char *key, const char *val, struct merr *e);

#endif
