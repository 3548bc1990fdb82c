/* lockfile.h — is a dependency lockfile hash-pinned? */
#ifndef MVM_LOCKFILE_H
#define MVM_LOCKFILE_H

#include <stddef.h>
#include "err.h"

/* The tools of the IR's dependencies (python: uv, pip_tools; node: pnpm,
 * npm, yarn). */
enum lock_tool { LOCK_UV, LOCK_PIP_TOOLS, LOCK_PNPM, LOCK_NPM, LOCK_YARN };

/* The tool named as in the IR ("uv", "pip_tools", ...), or -1. */
int lockfile_tool(const char *name, size_t n);

#include "buf.h"

/* Results of the checks. */
enum { LOCK_PINNED = 0, LOCK_UNPINNED = 1, LOCK_NOT_FOUND = 2, LOCK_OUTSIDE = 3 };

/*
 * Check the bytes of a lockfile written by tool.  Returns LOCK_PINNED, or
 * LOCK_UNPINNED with a sentence in detail (size dn) naming what is not
 * pinned.  The rules, per tool, are in man/man5/mvm-ir.5.  A pip file's
 * -r/-c includes cannot be followed here and make it LOCK_UNPINNED.
 * Names quoted in detail are cut at the first byte that is not one of
 * the characters of names and versions: no free text of the file.
 */
int lockfile_check_buf(int tool, const char *p, size_t n, char *detail, size_t dn);

/*
 * Where lockfile lock of the source directory srcdir is: its real path in
 * *out (a C string).  Returns 0; LOCK_OUTSIDE when lock is absolute, has a
 * ".." component, or resolves (symlinks followed) outside the real path of
 * srcdir; LOCK_NOT_FOUND when it or srcdir does not exist or it is not a
 * regular file; EX_SYS with e set.  Nothing is read.
 */
int lockfile_resolve(const char *srcdir, const char *lock, struct buf *out, struct merr *e);

/* Is path (symlinks followed) a regular file under the real directory
 * root?  0 (yes: its real path in *real unless NULL), LOCK_OUTSIDE,
 * LOCK_NOT_FOUND, or EX_SYS. */
int lockfile_inside(const char *root, const char *path, struct buf *real, struct merr *e);

/*
 * Resolve lock in srcdir (lockfile_resolve), read it and check it; a pip
 * file's -r/-c includes are checked through (the same containment, resolved
 * against the including file's directory, at most 8 deep).  Returns
 * LOCK_PINNED, LOCK_UNPINNED (detail set), LOCK_NOT_FOUND, LOCK_OUTSIDE
 * (the file was not read), or EX_SYS with e set.
 */
int lockfile_check(int tool, const char *srcdir, const char *lock, char *detail, size_t dn,
	struct merr *e);

#endif
