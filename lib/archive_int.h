/* archive_int.h — what the unpackers of archive.h share, private to
 * lib/archive*.c:
 *   archive.c     entry names checked, parent directories made, files opened
 *   archivetar.c  untar_npm (gzip'd ustar, pax and GNU long names)
 *   archivezip.c  unzip_wheel (zip: stored or deflated, CRC-32 checked)
 * Every name an archive gives goes through archive_clean_name before
 * anything is made for it, and every path made is below dir. */
#ifndef MVM_ARCHIVE_INT_H
#define MVM_ARCHIVE_INT_H

#include <stddef.h>
#include "archive.h"
#include "buf.h"
#include "err.h"

/* A printable form of the name s[0..n) for a message, in dst (size dn):
 * at most 100 bytes and "...", control bytes as '?'.  Returns dst. */
const char *archive_shown(char *dst, size_t dn, const char *s, size_t n);

/* Check the relative name s[0..n) (1 to 4095 bytes, no leading '/', no
 * '\\', no control byte, no ".." component) and drop its first skip
 * components (empty and "." components do not count); the rest, joined
 * by '/', in out as a C string (possibly empty).  0, EX_DATA (the
 * message names the entry) or EX_SYS (memory). */
int archive_clean_name(const char *s, size_t n, int skip, struct buf *out, struct merr *e);

/* Make dir/rel's parent directories (and rel itself when last), mode
 * 0755, never through a symlink (lstat says what is there: anything but
 * a directory is EX_DATA); then full = "dir/rel".  0, EX_DATA or EX_SYS. */
int archive_make_parents(const char *dir, const char *rel, struct buf *full, int last,
	struct merr *e);

/* Create dir/rel (its parents made) for writing, mode 0755 when exec
 * else 0644, truncated, never through a symlink; full = its path.  The
 * descriptor, or -1 with e set (EX_DATA: a directory of that name). */
int archive_open_out(const char *dir, const char *rel, int exec, struct buf *full, struct merr *e);

#endif
