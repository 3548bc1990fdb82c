/* digest.h — SHA-256 of image files, in parallel
 *
 * Every file is hashed each time: there is no cache keyed on a file's
 * metadata (issue 17: a trust decision must not rest on inode, size and
 * times).  Images with a dm-verity root (lib/verity.h) are not hashed at
 * admission at all, only their kernel and meta.
 */
#ifndef MVM_DIGEST_H
#define MVM_DIGEST_H

#include "err.h"
#include "plan.h"          /* DIGEST_LEN */

/* SHA-256 of n files' bytes as "sha256:<hex>", each on its own thread
 * (they hash in the time of the largest).  0, or the error of the first
 * file, in the order given, that failed. */
#define FILE_DIGESTS_MAX 8
int file_digests(size_t n, const char *const paths[], char (*out)[DIGEST_LEN + 1],
	struct merr *e);

#endif
