/* auditlogs.h — the logs audit-verify -m reads, private to lib/auditset.c
 * and lib/auditlogs.c.
 *
 * auditset_logs: append to l, in order, each of paths[0..n) that is not a
 *   directory (as given: whether it exists is for the reader to find), and
 *   for each that is, the collected layout in it (lib/auditset.h):
 *   DIR/NODE/NAME.jsonl for every directory NODE and regular file
 *   NAME.jsonl, names starting with '.' skipped, nodes sorted by name and
 *   each node's logs sorted by name (strcmp).  Returns 0; EX_NO (a
 *   directory holding no such log; e names it); EX_SYS (a directory that
 *   cannot be listed, or out of memory).  On any return l holds what was
 *   appended so far: the caller frees each l->v[i], then l->v.
 */
#ifndef MVM_AUDITLOGS_H
#define MVM_AUDITLOGS_H

#include <stddef.h>
#include "err.h"

/* The list of logs to verify. */
struct paths {
	char **v;
	size_t n, cap;
};

int auditset_logs(const char *const *paths, size_t n, struct paths *l, struct merr *e);

#endif
