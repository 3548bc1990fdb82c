/* auditlog.c — appending to an audit log under its lock (audit_append) */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <sodium.h>
#include "audit.h"
#include "cluster.h"
#include "enc.h"
#include "io.h"
#include "plan.h"

/* Remove PATH.checkpoint.tmp.* (only ever created under the lock, so any
 * seen under it were left by a crash). */
static void remove_stale(const char *cpath)
{
	char pat[PATH_MAX + 32];
	glob_t g;
	size_t i;

	if ((size_t)snprintf(pat, sizeof pat, "%s.tmp.*", cpath) >= sizeof pat)
		return;
	if (glob(pat, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &g) != 0)
		return;
	for (i = 0; i < g.gl_pathc; i++)
		unlink(g.gl_pathv[i]);
	globfree(&g);
}

/* Is the checkpoint's signature good: by k, or by a trusted key? */
static int cp_signed(const struct audit_checkpoint *cp, const struct mvm_key *k,
	const char *cpath, struct merr *e)
{
	struct trustset ts;
	struct merr le;
	int r;

	if (strcmp(cp->keyid, k->keyid) == 0) {
		if (crypto_sign_verify_detached(cp->sig, (const unsigned char *)cp->msg.p,
		    cp->msg.len, k->pk) == 0)
			return 0;
		return merr_set(e, EX_NO, NULL, "checkpoint %s: bad signature by this host's key "
			"%s: the checkpoint was forged or damaged; not appending (run audit-verify)",
			cpath, k->keyid);
	}
	if ((r = trust_load(&ts, NULL, 0, &le)) != 0)
		return merr_set(e, r, NULL, "checkpoint %s: signed by key %s, and the trusted "
			"keys cannot be loaded: %s", cpath, cp->keyid, le.msg);
	r = audit_sig_check(cp->keyid, cp->sig, &cp->msg, &ts, &le);
	trust_free(&ts);
	if (r)
		return merr_set(e, EX_NO, NULL, "checkpoint %s: %s; not appending (run "
			"audit-verify)", cpath, le.msg);
	return 0;
}

/*
 * Under the lock: does the log (size bytes) still extend its checkpoint?
 * 0 (*cpsize set; *none when there is none and the log is empty), or
 * EX_NO naming the damage, or EX_SYS.
 */
static int extends(int fd, off_t size, const char *cpath, const struct mvm_key *k,
	unsigned long long *cpsize, int *none, struct merr *e)
{
	struct buf cb = BUF_INIT, lb = BUF_INIT;
	struct audit_checkpoint cp;
	struct merr le;
	unsigned char h[32];
	char head[65], c;
	off_t ls;
	int rc, cfd;

	memset(&cp, 0, sizeof cp);
	*none = 0;
	*cpsize = 0;
	if ((cfd = open(cpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			return merr_set(e, EX_SYS, NULL, "%s: unable to open: %s", cpath,
				strerror(errno));
		if (size == 0) {
			*none = 1;
			return 0;
		}
		return merr_set(e, EX_NO, NULL, "no checkpoint (%s) for a non-empty log: deleted? "
			"A truncation or rollback could not be detected; not appending (run "
			"audit-verify)", cpath);
	}
	rc = read_fd(cfd, &cb, &le);
	close(cfd);
	if (rc) {
		buf_free(&cb);
		return merr_set(e, EX_SYS, NULL, "%s: %s", cpath, le.msg);
	}
	rc = audit_checkpoint_parse(cb.p ? cb.p : "", cb.len, &cp, &le);
	buf_free(&cb);
	if (rc) {
		buf_free(&cp.msg);
		if (rc == EX_SYS) {
			*e = le;
			return EX_SYS;
		}
		return merr_set(e, EX_NO, NULL, "checkpoint %s is not a checkpoint (%s%s%s): "
			"overwritten or damaged; not appending (run audit-verify)", cpath, le.where,
			le.where[0] ? ": " : "", le.msg);
	}
	rc = cp_signed(&cp, k, cpath, e);
	buf_free(&cp.msg);
	if (rc)
		return rc;
	if ((unsigned long long)size < cp.size)
		return merr_set(e, EX_NO, NULL, "truncated or rolled back: the log is %lld bytes "
			"but its checkpoint records %llu entries in %llu bytes; not appending (run "
			"audit-verify)", (long long)size, cp.seq, cp.size);
	*cpsize = cp.size;
	if (cp.size == 0)
		return 0;
	if (pread(fd, &c, 1, (off_t)cp.size - 1) != 1)
		return merr_sys(e, "read the log");
	rc = c == '\n' ? audit_line_before(fd, (off_t)cp.size - 1, &ls, &lb, e) : 0;
	if (rc) {
		buf_free(&lb);
		return rc;
	}
	if (c == '\n') {
		crypto_hash_sha256(h, (const unsigned char *)(lb.p ? lb.p : ""), lb.len);
		hex_encode(head, h, 32);
	}
	buf_free(&lb);
	if (c != '\n' || strcmp(head, cp.head) != 0)
		return merr_set(e, EX_NO, NULL, "rewritten or rolled back: the line ending at byte "
			"%llu is not entry %llu of the checkpoint (head %.16s...); not appending (run "
			"audit-verify)", cp.size, cp.seq, cp.head);
	return 0;
}

static int write_cp(const char *cpath, unsigned long long size, unsigned long long seq,
	const char *head, int64_t t, const struct mvm_key *k, struct merr *e)
{
	struct buf cp = BUF_INIT;
	int rc;

	if ((rc = audit_checkpoint_build(size, seq, head, t, k, &cp, e)) != 0) {
		buf_free(&cp);
		return rc;
	}
	buf_putc(&cp, '\n');
	rc = cp.err ? merr_set(e, EX_SYS, NULL, "out of memory") :
		write_atomic(cpath, cp.p, cp.len, 0600, e);
	buf_free(&cp);
	return rc;
}

/* Cut a torn tail (not covered by the checkpoint): what was dropped into
 * out, the repair entry's labels into m. */
static int repair(int fd, struct audit_tail *t, unsigned long long cpsize,
	struct audit_appended *out, struct audit_new *m, struct merr *e)
{
	static char nbuf[32];
	struct buf db = BUF_INIT;
	size_t dn = (size_t)(t->size - t->good);

	if (cpsize > (unsigned long long)t->good)
		return merr_set(e, EX_NO, NULL, "the damaged bytes after byte %lld are covered by "
			"the checkpoint (size %llu): this is not an interrupted append; not repaired "
			"(run audit-verify)", (long long)t->good, cpsize);
	if (buf_reserve(&db, dn + 1) < 0)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	if (pread(fd, db.p, dn, t->good) != (ssize_t)dn) {
		buf_free(&db);
		return merr_set(e, EX_SYS, NULL, "unable to read the torn tail");
	}
	sha256_hex(out->dropped_sha256, db.p, dn);
	buf_free(&db);
	out->dropped = dn;
	if (ftruncate(fd, t->good) < 0 || fsync(fd) < 0)
		return merr_sys(e, "truncate the log");
	t->size = t->good;
	snprintf(nbuf, sizeof nbuf, "%zu", dn);
	m->event = "log.repaired";
	m->plan_id = NULL;
	m->ir_hash = NULL;
	m->nlabels = 0;
	m->lkey[m->nlabels] = "dropped_bytes";
	m->lval[m->nlabels++] = nbuf;
	m->lkey[m->nlabels] = "dropped_sha256";
	m->lval[m->nlabels++] = out->dropped_sha256;
	m->lkey[m->nlabels] = "reason";
	m->lval[m->nlabels++] = "torn_tail";
	return 0;
}

static int locked(int fd, const char *cpath, const struct audit_new *n,
	const struct mvm_key *k, int flags, struct audit_appended *out, struct merr *e)
{
	struct buf line = BUF_INIT;
	struct audit_tail t;
	struct audit_new m = *n;
	unsigned long long cpsize;
	int rc, none;
	ssize_t w;

	remove_stale(cpath);
	if ((rc = audit_read_tail(fd, &t, e)) != 0)
		return rc;
	if ((rc = extends(fd, t.size, cpath, k, &cpsize, &none, e)) != 0)
		return rc;
	if (t.torn && !(flags & AUDIT_REPAIR))
		return merr_set(e, EX_NO, NULL, "torn last line (%lld bytes after line %llu are not "
			"a complete entry: an interrupted append?); not appending.  Inspect with "
			"audit-verify, then run audit-append --repair-torn-tail",
			(long long)(t.size - t.good), t.seq);
	if (flags & AUDIT_REPAIR) {
		if (!t.torn)
			return 0;
		if ((rc = repair(fd, &t, cpsize, out, &m, e)) != 0)
			return rc;
	}
	if (none && (rc = write_cp(cpath, 0, 0, AUDIT_ZERO_HASH, time_now(), k, e)) != 0)
		return rc;
	m.seq = t.seq + 1;
	m.time = time_now();
	m.prev = t.head;
	if ((rc = audit_entry_build(&m, k, &line, e)) != 0)
		goto out;
	sha256_hex(out->head, line.p, line.len);
	buf_putc(&line, '\n');
	if (line.err) {
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
		goto out;
	}
	/* One write(2) of the whole line: a crash leaves it whole or torn. */
	w = write(fd, line.p, line.len);
	if (w != (ssize_t)line.len) {
		int err = w < 0 ? errno : ENOSPC;
		if (ftruncate(fd, t.size) == 0)
			fsync(fd);
		rc = merr_set(e, EX_SYS, NULL, "unable to append: %s", strerror(err));
		goto out;
	}
	if (fsync(fd) < 0) {
		rc = merr_sys(e, "fsync the log");
		goto out;
	}
	out->seq = m.seq;
	rc = write_cp(cpath, (unsigned long long)t.size + line.len, m.seq, out->head, m.time, k,
		e);
out:
	buf_free(&line);
	return rc;
}

/* n with the label node=<this node's id> (lib/cluster.h) into *m, when
 * this host has one and n has no such label; a different one is refused. */
static int with_node(const struct audit_new *n, struct audit_new *m, struct cluster *c,
	struct merr *e)
{
	size_t i;
	int rc;

	*m = *n;
	if ((rc = cluster_load(c, e)) != 0 || !c->node[0])
		return rc;
	for (i = 0; i < n->nlabels; i++)
		if (strcmp(n->lkey[i], "node") == 0)
			return strcmp(n->lval[i], c->node) == 0 ? 0 : merr_set(e, EX_NO, NULL,
				"label node=%s, but this is node %s", n->lval[i], c->node);
	if (m->nlabels == AUDIT_MAX_LABELS)
		return merr_set(e, EX_NO, NULL, "no room for the label node");
	m->lkey[m->nlabels] = "node";
	m->lval[m->nlabels++] = c->node;
	return 0;
}

int audit_append(const char *path, const struct audit_new *n0, const struct mvm_key *k,
	int flags, struct audit_appended *out, struct merr *e)
{
	char cpath[PATH_MAX];
	struct audit_new nn, *n = &nn;
	struct cluster cl;
	int fd, rc;

	memset(out, 0, sizeof *out);
	if ((rc = with_node(n0, &nn, &cl, e)) != 0)
		return rc;
	if ((size_t)snprintf(cpath, sizeof cpath, "%s.checkpoint", path) >= sizeof cpath)
		return merr_set(e, EX_SYS, NULL, "%s: path too long", path);
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return merr_set(e, EX_SYS, NULL, "%s: unable to open: %s", path, strerror(errno));
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			rc = merr_set(e, EX_SYS, NULL, "%s: unable to lock: %s", path,
				strerror(errno));
			close(fd);
			return rc;
		}
	rc = locked(fd, cpath, n, k, flags, out, e);
	if (close(fd) < 0 && rc == 0)
		rc = merr_set(e, EX_SYS, NULL, "%s: unable to close: %s", path, strerror(errno));
	return rc;
}

int audit_plan_event(struct audit_new *n, const struct plan *p, const char *what,
	char ev[AUDIT_EVENT_MAX], const char *key, const char *val, struct merr *e)
{
	const char *std[3][2] = { { "admission_profile", p->ap_id }, { "intent", p->intent },
		{ "seccomp_tier", p->seccomp_tier } };
	size_t i, j;

	memset(n, 0, sizeof *n);
	if ((size_t)snprintf(ev, AUDIT_EVENT_MAX, "%s.%s", p->event_prefix, what) >=
	    AUDIT_EVENT_MAX || !audit_event_ok(ev, strlen(ev)))
		return merr_set(e, EX_NO, NULL, "%s.%s is not an audit event name",
			p->event_prefix, what);
	n->event = ev;
	n->plan_id = p->plan_id;
	n->plan_version = p->plan_version;
	n->ir_hash = p->ir_hash;
	for (i = 0; i < 3; i++)
		if (!key || strcmp(key, std[i][0]) != 0) {
			n->lkey[n->nlabels] = std[i][0];
			n->lval[n->nlabels++] = std[i][1];
		}
	if (key) {
		n->lkey[n->nlabels] = key;
		n->lval[n->nlabels++] = val;
	}
	for (j = 0; j < p->nrequired; j++) {
		for (i = 0; i < n->nlabels; i++)
			if (strcmp(n->lkey[i], p->required_labels[j]) == 0)
				break;
		if (i == n->nlabels)
			return merr_set(e, EX_NO, NULL, "the plan requires label \"%s\" on its "
				"events", p->required_labels[j]);
	}
	return 0;
}
