/* nonce.c — the persistent plan-nonce store */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io.h"
#include "limit.h"
#include "nonce.h"
#include "plan.h"

#define LINE_LEN (20 + 1 + DIGEST_LEN + 1)   /* "TIME PLAN_ID\n" */

/* Seen: 1 with the spending plan's id in by (may be ""), 0, or -1. */
static int seen(const char *dir, const char *nonce, const struct trustset *old,
	char by[DIGEST_LEN + 1])
{
	char f[PATH_MAX], line[LINE_LEN];
	struct stat st;
	ssize_t n;
	size_t i;
	int fd;

	by[0] = 0;
	if ((size_t)snprintf(f, sizeof f, "%s/%s", dir, nonce) >= sizeof f)
		return -1;
	fd = open(f, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT) {
		if (lstat(f, &st) == 0)
			return 1;
		return errno == ENOENT ? 0 : -1;
	}
	if (fd >= 0) {
		n = read(fd, line, sizeof line);
		close(fd);
		if (n == LINE_LEN && line[20] == ' ' && line[LINE_LEN - 1] == '\n') {
			memcpy(by, line + 21, DIGEST_LEN);
			by[DIGEST_LEN] = 0;
		}
		return 1;
	}
	/* the old layout: dir/KEYID/NONCE, KEYID a trusted key's (only a
	 * trusted key could have admitted it) */
	for (i = 0; old && i < old->n; i++) {
		if ((size_t)snprintf(f, sizeof f, "%s/%s/%s", dir, old->k[i].keyid, nonce) >=
		    sizeof f)
			return -1;
		if (lstat(f, &st) == 0)
			return 1;
		if (errno != ENOENT && errno != ENOTDIR)
			return -1;
	}
	return 0;
}

static int replay(struct merr *e, const char *nonce, const char *by)
{
	return merr_set(e, EX_NO, NULL, "nonce %s was already admitted%s%s%s", nonce,
		by[0] ? " (plan " : "", by, by[0] ? ")" : "");
}

int nonce_consume(const char *dir, const char *nonce, const char *plan_id,
	int64_t valid_until, const struct trustset *old, struct merr *e)
{
	char f[PATH_MAX], line[LINE_LEN + 1], by[DIGEST_LEN + 1];
	int fd, r;

	if ((size_t)snprintf(f, sizeof f, "%s/%s", dir, nonce) >= sizeof f)
		return merr_set(e, EX_SYS, NULL, "nonce store path too long");
	if (strlen(plan_id) != DIGEST_LEN || rfc3339_format(valid_until, line) != 0)
		return merr_set(e, EX_SYS, NULL, "nonce_consume: bad plan_id or time");
	if (mkdir_p(dir, 0700, e) != 0)
		return EX_SYS;
	if ((r = seen(dir, nonce, old, by)) != 0) {
		if (r < 0)
			return merr_set(e, EX_SYS, NULL, "%s: unable to look up nonce %s: %s", dir,
				nonce, strerror(errno));
		return replay(e, nonce, by);
	}
	fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return replay(e, nonce, "");
		return merr_set(e, EX_SYS, NULL, "%s: unable to create: %s", f, strerror(errno));
	}
	snprintf(line + 20, sizeof line - 20, " %s\n", plan_id);
	if (write_all(fd, line, LINE_LEN) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		merr_set(e, EX_SYS, NULL, "%s: unable to write: %s", f, strerror(errno));
		unlink(f);
		return EX_SYS;
	}
	if (fsync_dir(dir) < 0) {
		merr_set(e, EX_SYS, NULL, "%s: unable to fsync: %s", dir, strerror(errno));
		unlink(f);
		return EX_SYS;
	}
	return 0;
}

int nonce_seen(const char *dir, const char *nonce, const struct trustset *old,
	struct merr *e)
{
	char by[DIGEST_LEN + 1];
	int r = seen(dir, nonce, old, by);

	if (r < 0)
		return merr_set(e, EX_SYS, NULL, "%s: unable to look up nonce %s: %s", dir, nonce,
			strerror(errno));
	return r ? replay(e, nonce, by) : 0;
}

int nonce_release(const char *dir, const char *nonce)
{
	char f[PATH_MAX];

	if ((size_t)snprintf(f, sizeof f, "%s/%s", dir, nonce) >= sizeof f)
		return -1;
	return unlink(f);
}

static int is_nonce_name(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 32;
}

void nonce_prune(const char *dir)
{
	nonce_prune_after(dir, LIMIT_SKEW_MAX);
}

void nonce_prune_after(const char *dir, int64_t keep)
{
	char lk[PATH_MAX];
	struct dirent *de;
	DIR *dp;
	int lfd, dfd, removed = 0;
	int64_t now = time_now();

	if ((size_t)snprintf(lk, sizeof lk, "%s/.lock", dir) >= sizeof lk)
		return;
	lfd = open(lk, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lfd < 0)
		return;
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		close(lfd);
		return;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dp = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dp) {
		if (dfd >= 0)
			close(dfd);
		close(lfd);
		return;
	}
	while ((de = readdir(dp))) {
		char line[LINE_LEN];
		int64_t until;
		ssize_t n;
		int fd;

		if (!is_nonce_name(de->d_name))
			continue;
		fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, line, sizeof line);
		close(fd);
		/* An entry still being written (short) is young: keep it. */
		if (n != LINE_LEN || rfc3339_parse(line, 20, &until) != 0)
			continue;
		if (until + keep <= now && unlinkat(dfd, de->d_name, 0) == 0)
			removed++;
	}
	if (removed)
		fsync(dfd);
	closedir(dp);
	close(lfd);
}
