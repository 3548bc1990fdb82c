/* ready.h — telling whoever waits that a supervisor's service is up, in
 * the manner of s6's readiness notification: one line (vm-boot(1): the
 * agent socket's path) written on each waiting descriptor, which is then
 * closed.  A supervisor that runs in the foreground is waited for on a
 * descriptor its caller gave it (--ready-fd); one that detaches (-d)
 * forks, and its parent waits on a pipe in its place.
 * Nothing here prints or exits.
 */
#ifndef MVM_READY_H
#define MVM_READY_H

#include <stddef.h>
#include "err.h"

/* The waiting descriptors: fd[0] the caller's, fd[1] ready_detach's pipe
 * (-1: none).  Initialise with READY_INIT. */
struct ready {
	int fd[2];
};
#define READY_INIT { { -1, -1 } }

/* The longest line ready_detach's parent takes, newline included. */
#define READY_LINE_MAX 4096u

/*
 * Detach: fork.  The child gets a session of its own, standard input
 * /dev/null, standard output and error on logpath (created 0600,
 * truncated; left as they are if it cannot be opened), and R->fd[1] the
 * pipe's write end (close-on-exec); the parent waits for a whole line on
 * the pipe's read end.  Returns
 *   0          in the child;
 *   READY_UP   in the parent: line holds the line (newline included,
 *              NUL-terminated), the child is up;
 *   READY_DOWN in the parent: the child closed the pipe without a whole
 *              line; it has been waited for: *status is its wait status;
 *   -1         no pipe or no process: e says why (nothing was forked).
 * Standard output is flushed first.
 */
enum { READY_UP = 1, READY_DOWN = 2 };
int ready_detach(struct ready *R, const char *logpath, char line[READY_LINE_MAX], int *status,
	struct merr *e);

/* Write line (a newline is added) on each waiting descriptor and close
 * it; a reader that is gone is no error. */
void ready_tell(struct ready *R, const char *line);

#endif
