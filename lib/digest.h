/* digest.h — SHA-256 of image files, in parallel, with a digest cache
 *
 * The cache spares a boot from hashing an image that has not changed since
 * it was last hashed, the way Bazel's and git's stat caches do: an entry is
 * used only for the same file (device, inode) with the same size, mtime and
 * ctime.  Writing a file changes its ctime, and a ctime cannot be set back
 * without changing the system clock.  Entries are made only for files on
 * local file systems whose ctime is at least two seconds old (a change in
 * the same clock tick as the hashing would otherwise go unseen), and only
 * in a directory that belongs to this user alone.
 */
#ifndef MVM_DIGEST_H
#define MVM_DIGEST_H

#include "err.h"
#include "plan.h"          /* DIGEST_LEN */

/* SHA-256 of n files' bytes as "sha256:<hex>", each on its own thread (an image's rootfs,
 * kernel, initrd and meta hash in the time of the largest).  cachedir: the
 * digest cache, or NULL for none; *cached (if not NULL) is how many digests
 * came from it.  0, or the error of the first file, in the order given,
 * that failed. */
#define FILE_DIGESTS_MAX 8
int file_digests(size_t n, const char *const paths[], const char *cachedir,
	char (*out)[DIGEST_LEN + 1], size_t *cached, struct merr *e);

/* The default cache directory, $MVM_HOME/digests. */
int digest_cache_dir(char *out, size_t n, struct merr *e);

#endif
