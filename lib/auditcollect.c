/* auditcollect.c — gathering the nodes' logs into one trail (lib/auditset.h) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "auditset.h"
#include "buf.h"
#include "io.h"

static int read_opt(const char *path, struct buf *b, int *there, struct merr *e)
{
	*there = access(path, F_OK) == 0;
	return *there ? read_file_named(path, b, e) : 0;
}

int auditset_collect(const char *dest, const char *src, struct auditset_collected *out,
	struct merr *e)
{
	char cs[PATH_MAX], dir[PATH_MAX], cd[PATH_MAX + 16];
	struct buf log = BUF_INIT, cp = BUF_INIT, old = BUF_INIT;
	const char *base = strrchr(src, '/');
	unsigned long long bad;
	int rc, have_cp, have_old, lk = -1;

	memset(out, 0, sizeof *out);
	base = base ? base + 1 : src;
	if (base[0] == '.' || strlen(base) < 7 || strcmp(base + strlen(base) - 6, ".jsonl") != 0)
		return merr_set(e, EX_NO, NULL, "%s: not a log's name (NAME.jsonl)", src);
	if ((size_t)snprintf(cs, sizeof cs, "%s.checkpoint", src) >= sizeof cs)
		return merr_set(e, EX_SYS, NULL, "%s: path too long", src);
	if ((size_t)snprintf(dir, sizeof dir, "%s/.collect.lock", dest) >= sizeof dir)
		return merr_set(e, EX_SYS, NULL, "%s: path too long", dest);
	/* One collector at a time in dest, from reading src to the renames:
	 * else two could both find their copy "a grown one" and the slower
	 * put back a shorter log, or a checkpoint past its log's end. */
	if ((rc = mkdir_p(dest, 0700, e)) != 0)
		return rc;
	if ((lk = open(dir, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 ||
	    flock(lk, LOCK_EX) != 0) {
		int en = errno;
		snprintf(cd, sizeof cd, "lock %s", dir);
		errno = en;
		rc = merr_sys(e, cd);
		goto out;
	}
	/* the checkpoint first: the log read after it extends it */
	if ((rc = read_opt(cs, &cp, &have_cp, e)) != 0 || (rc = read_file_named(src, &log, e)) != 0)
		goto out;
	if ((rc = auditset_node(log.p ? log.p : "", log.len, out->node, &bad, e)) != 0) {
		struct merr was = *e;
		merr_set(e, rc, NULL, "%s: %s", src, was.msg);
		goto out;
	}
	if (!out->node[0]) {
		rc = merr_set(e, EX_NO, NULL, "%s: no entry names its node (label node): not the "
			"log of a cluster's node", src);
		goto out;
	}
	if ((size_t)snprintf(dir, sizeof dir, "%s/%s", dest, out->node) >= sizeof dir ||
	    (size_t)snprintf(out->path, sizeof out->path, "%s/%s", dir, base) >= sizeof out->path) {
		rc = merr_set(e, EX_SYS, NULL, "%s: path too long", dest);
		goto out;
	}
	snprintf(cd, sizeof cd, "%s.checkpoint", out->path);
	if ((rc = mkdir_p(dir, 0700, e)) != 0 || (rc = read_opt(out->path, &old, &have_old, e)) != 0)
		goto out;
	out->action = !have_old ? "new" : old.len == log.len ? "unchanged" : "extended";
	if (have_old && (old.len > log.len || (old.len && memcmp(old.p, log.p, old.len) != 0))) {
		rc = merr_set(e, EX_NO, NULL, "%s holds a different log than %s (not a prefix of "
			"it): not overwritten", out->path, src);
		goto out;
	}
	if (strcmp(out->action, "unchanged") != 0 &&
	    (rc = write_atomic(out->path, log.p ? log.p : "", log.len, 0600, e)) != 0)
		goto out;
	if (have_cp)
		rc = write_atomic(cd, cp.p, cp.len, 0600, e);
out:
	if (lk >= 0)
		close(lk);    /* the lock with it */
	buf_free(&log);
	buf_free(&cp);
	buf_free(&old);
	return rc;
}
