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
#include "nonce.h"
#include "plan.h"

int nonce_consume(const char *dir, const char *keyid, const char *nonce, int64_t valid_until,
	struct merr *e)
{
	char sd[PATH_MAX], f[PATH_MAX], line[32];
	int fd;

	if ((size_t)snprintf(sd, sizeof sd, "%s/%s", dir, keyid) >= sizeof sd ||
	    (size_t)snprintf(f, sizeof f, "%s/%s", sd, nonce) >= sizeof f)
		return merr_set(e, EX_SYS, NULL, "nonce store path too long");
	if (mkdir_p(sd, 0700, e) != 0)
		return EX_SYS;
	fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return merr_set(e, EX_NO, NULL, "replay: nonce %s was already admitted for "
				"signer %s", nonce, keyid);
		return merr_set(e, EX_SYS, NULL, "%s: unable to create: %s", f, strerror(errno));
	}
	rfc3339_format(valid_until, line);
	line[20] = '\n';
	if (write_all(fd, line, 21) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		merr_set(e, EX_SYS, NULL, "%s: unable to write: %s", f, strerror(errno));
		unlink(f);
		return EX_SYS;
	}
	if (fsync_dir(sd) < 0) {
		merr_set(e, EX_SYS, NULL, "%s: unable to fsync: %s", sd, strerror(errno));
		unlink(f);
		return EX_SYS;
	}
	return 0;
}

int nonce_seen(const char *dir, const char *keyid, const char *nonce, struct merr *e)
{
	char f[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(f, sizeof f, "%s/%s/%s", dir, keyid, nonce) >= sizeof f)
		return merr_set(e, EX_SYS, NULL, "nonce store path too long");
	if (lstat(f, &st) == 0)
		return merr_set(e, EX_NO, NULL, "replay: nonce %s was already admitted for "
			"signer %s", nonce, keyid);
	if (errno != ENOENT && errno != ENOTDIR)
		return merr_set(e, EX_SYS, NULL, "%s: unable to stat: %s", f, strerror(errno));
	return 0;
}

int nonce_release(const char *dir, const char *keyid, const char *nonce)
{
	char f[PATH_MAX];

	if ((size_t)snprintf(f, sizeof f, "%s/%s/%s", dir, keyid, nonce) >= sizeof f)
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

void nonce_prune(const char *dir, const char *keyid, int64_t now, int64_t skew)
{
	char sd[PATH_MAX], lk[PATH_MAX];
	struct dirent *de;
	DIR *dp;
	int lfd, dfd, removed = 0;

	if ((size_t)snprintf(sd, sizeof sd, "%s/%s", dir, keyid) >= sizeof sd ||
	    (size_t)snprintf(lk, sizeof lk, "%s/.lock", sd) >= sizeof lk)
		return;
	lfd = open(lk, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lfd < 0)
		return;
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		close(lfd);
		return;
	}
	dfd = open(sd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dp = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dp) {
		if (dfd >= 0)
			close(dfd);
		close(lfd);
		return;
	}
	while ((de = readdir(dp))) {
		char line[32];
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
		/* An entry still being written (empty) is young: keep it. */
		if (n != 21 || line[20] != '\n' || rfc3339_parse(line, 20, &until) != 0)
			continue;
		if (until + skew <= now && unlinkat(dfd, de->d_name, 0) == 0)
			removed++;
	}
	if (removed)
		fsync(dfd);
	closedir(dp);
	close(lfd);
}
