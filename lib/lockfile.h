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

/* Results of the checks. */
enum { LOCK_PINNED = 0, LOCK_UNPINNED = 1, LOCK_NOT_FOUND = 2 };

/*
 * Check the bytes of a lockfile written by tool.  Returns LOCK_PINNED, or
 * LOCK_UNPINNED with a sentence in detail (size dn) naming what is not
 * pinned.  The rules, per tool, are in man/man5/mvm-ir.5.
 */
int lockfile_check_buf(int tool, const char *p, size_t n, char *detail, size_t dn);

/*
 * Read path and check it.  LOCK_NOT_FOUND when path does not exist or is
 * not a regular file; EX_SYS with e set for other read errors.
 */
int lockfile_check(int tool, const char *path, char *detail, size_t dn, struct merr *e);

#endif
