/* digest.c — SHA-256 of image files, in parallel */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "digest.h"
#include "enc.h"
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

/* ---- in parallel ---- */

struct digest_job {
	const char *path;
	char *out;
	struct merr e;
	int rc;
};

static void *digest_thread(void *arg)
{
	struct digest_job *j = arg;
	int fd = open(j->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		j->rc = merr_set(&j->e, EX_SYS, NULL, "%s: unable to open: %s", j->path,
			strerror(errno));
		return NULL;
	}
	j->rc = fd_digest(fd, j->path, j->out, &j->e);
	close(fd);
	return NULL;
}

int file_digests(size_t n, const char *const paths[], char (*out)[DIGEST_LEN + 1],
	struct merr *e)
{
	struct digest_job job[FILE_DIGESTS_MAX];
	pthread_t th[FILE_DIGESTS_MAX];
	int started[FILE_DIGESTS_MAX] = { 0 };
	size_t i;

	if (n > FILE_DIGESTS_MAX)
		return merr_set(e, EX_SYS, NULL, "file_digests: %zu files, at most %d", n,
			FILE_DIGESTS_MAX);
	for (i = 0; i < n; i++) {
		job[i] = (struct digest_job){ .path = paths[i], .out = out[i] };
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
	for (i = 0; i < n; i++)
		if (job[i].rc != 0) {
			if (e)
				*e = job[i].e;
			return job[i].rc;
		}
	return 0;
}
