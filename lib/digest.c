/* digest.c — SHA-256 of image files, in parallel, with a digest cache */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include "digest.h"
#include "enc.h"
#include "io.h"
#include "keys.h"
#include "sha256s.h"

/* Hash an open file from its start. */
static int fd_digest(int fd, const char *path, char out[DIGEST_LEN + 1], struct merr *e)
{
	enum { BLK = 1 << 20 };
	struct sha256s *st;
	unsigned char h[32], *blk;
	char hex[65];
	ssize_t n;
	int err;

	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	blk = malloc(BLK);
	st = blk ? sha256s_new() : NULL;
	if (!st) {
		free(blk);
		return merr_set(e, EX_SYS, NULL, "%s: unable to hash: out of memory", path);
	}
	for (;;) {
		n = read(fd, blk, BLK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || sha256s_update(st, blk, (size_t)n) != 0)
			break;
	}
	err = errno;
	free(blk);
	if (n != 0) {
		merr_set(e, EX_SYS, NULL, "%s: unable to %s: %s", path, n < 0 ? "read" : "hash",
			n < 0 ? strerror(err) : "libcrypto failed");
		sha256s_free(st);
		return EX_SYS;
	}
	if (sha256s_final(st, h) != 0)
		return merr_set(e, EX_SYS, NULL, "%s: unable to hash: libcrypto failed", path);
	hex_encode(hex, h, 32);
	snprintf(out, DIGEST_LEN + 1, "sha256:%s", hex);
	return 0;
}

/* ---- the cache ---- */

#define CACHE_TAG "mvm-digest-cache 1"

/* File systems whose ctime this host keeps itself (no NFS or FUSE, whose
 * attributes may come late from elsewhere). */
static int local_fs(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) != 0)
		return 0;
	switch ((unsigned long)sf.f_type) {
	case 0xEF53UL:       /* ext2/3/4 */
	case 0x58465342UL:   /* xfs */
	case 0x9123683EUL:   /* btrfs */
	case 0x01021994UL:   /* tmpfs */
	case 0x794C7630UL:   /* overlayfs */
		return 1;
	}
	return 0;
}

static void cache_line(char *line, size_t n, const struct stat *st, const char *digest)
{
	snprintf(line, n, CACHE_TAG " %jd %jd.%09ld %jd.%09ld %s\n", (intmax_t)st->st_size,
		(intmax_t)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (intmax_t)st->st_ctim.tv_sec,
		st->st_ctim.tv_nsec, digest);
}

static void cache_entry(char *path, size_t n, const char *dir, const struct stat *st)
{
	snprintf(path, n, "%s/%jx-%jx", dir, (uintmax_t)st->st_dev, (uintmax_t)st->st_ino);
}

/* The cached digest of the file st describes: 1 and out, or 0. */
static int cache_get(const char *dir, const struct stat *st, char out[DIGEST_LEN + 1])
{
	char path[PATH_MAX], want[256], got[256];
	struct stat es;
	ssize_t n;
	int fd, ok = 0;

	cache_entry(path, sizeof path, dir, st);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	if (fstat(fd, &es) == 0 && S_ISREG(es.st_mode) && es.st_uid == geteuid() &&
	    !(es.st_mode & 022) && (n = read(fd, got, sizeof got - 1)) > 0) {
		got[n] = '\0';
		/* the whole line must be the one this file would have */
		const char *d = strrchr(got, ' ');
		if (d && strlen(d + 1) == DIGEST_LEN + 1 && strncmp(d + 1, "sha256:", 7) == 0) {
			char digest[DIGEST_LEN + 1];
			memcpy(digest, d + 1, DIGEST_LEN);
			digest[DIGEST_LEN] = '\0';
			cache_line(want, sizeof want, st, digest);
			if (strcmp(want, got) == 0) {
				memcpy(out, digest, DIGEST_LEN + 1);
				ok = 1;
			}
		}
	}
	close(fd);
	return ok;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
		a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
		a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Remember a digest, if that is safe; failures only cost a later hash. */
static void cache_put(const char *dir, int fd, const struct stat *before, const char *digest)
{
	char path[PATH_MAX], line[256];
	struct stat after;
	struct timespec now;

	if (fstat(fd, &after) != 0 || !same_file(before, &after) || !local_fs(fd))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (after.st_ctim.tv_sec > now.tv_sec - 2)
		return;
	cache_entry(path, sizeof path, dir, &after);
	cache_line(line, sizeof line, &after, digest);
	(void)write_atomic(path, line, strlen(line), 0600, NULL);
}

/* The cache directory is used only if it is this user's alone. */
static int cache_usable(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return 0;
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
		!(st.st_mode & 022);
}

int digest_cache_dir(char *out, size_t n, struct merr *e)
{
	return mvm_path(out, n, "digests", e);
}

/* ---- in parallel ---- */

struct digest_job {
	const char *path, *cachedir;
	char *out;
	struct merr e;
	int rc, cached;
};

static void *digest_thread(void *arg)
{
	struct digest_job *j = arg;
	struct stat st;
	int fd = open(j->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		j->rc = merr_set(&j->e, EX_SYS, NULL, "%s: unable to open: %s", j->path,
			strerror(errno));
		return NULL;
	}
	int cacheable = j->cachedir && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);

	if (cacheable && cache_get(j->cachedir, &st, j->out)) {
		j->cached = 1;
	} else {
		j->rc = fd_digest(fd, j->path, j->out, &j->e);
		if (j->rc == 0 && cacheable)
			cache_put(j->cachedir, fd, &st, j->out);
	}
	close(fd);
	return NULL;
}

int file_digests(size_t n, const char *const paths[], const char *cachedir,
	char (*out)[DIGEST_LEN + 1], size_t *cached, struct merr *e)
{
	struct digest_job job[FILE_DIGESTS_MAX];
	pthread_t th[FILE_DIGESTS_MAX];
	int started[FILE_DIGESTS_MAX] = { 0 };
	size_t i;

	if (n > FILE_DIGESTS_MAX)
		return merr_set(e, EX_SYS, NULL, "file_digests: %zu files, at most %d", n,
			FILE_DIGESTS_MAX);
	if (cachedir && !cache_usable(cachedir))
		cachedir = NULL;
	for (i = 0; i < n; i++) {
		job[i] = (struct digest_job){ .path = paths[i], .cachedir = cachedir, .out = out[i] };
		/* the first (by convention the largest) on this thread */
		if (i > 0)
			started[i] = pthread_create(&th[i], NULL, digest_thread, &job[i]) == 0;
	}
	for (i = 0; i < n; i++) {
		if (i == 0 || !started[i])
			digest_thread(&job[i]);
		else
			pthread_join(th[i], NULL);
	}
	if (cached)
		*cached = 0;
	for (i = 0; i < n; i++) {
		if (job[i].rc != 0) {
			if (e)
				*e = job[i].e;
			return job[i].rc;
		}
		if (cached)
			*cached += (size_t)job[i].cached;
	}
	return 0;
}
