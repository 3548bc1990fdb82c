/* secret.h — resolving a secret_ref's value on the host at launch.
 *
 * The store is $MVM_HOME/secrets/NAME, one regular file per secret, mode
 * 0600 or narrower (a wider mode is refused, saying how to fix it), owned
 * by the user running vm-boot; or, when MVM_SECRET_CMD is set, an
 * external store: that program is run (execvp, no shell) with NAME as its
 * one argument, standard input /dev/null, and its standard output is the
 * value (its standard error passes through; exit 0 is required).  Either
 * way one trailing newline is dropped.  The value is held in memory only:
 * nothing here writes it anywhere, and secret_free wipes it.
 * Nothing here prints or exits.
 */
#ifndef MVM_SECRET_H
#define MVM_SECRET_H

#include <stddef.h>
#include "err.h"

/* The largest value: 64 KiB (a key or a certificate chain; the whole
 * provisioning request stays far below FRAME_MAX). */
#define SECRET_MAX 65536u
/* A name: 1..SECRET_NAME_MAX of [A-Za-z0-9._-], not starting with '.'
 * (as ir-lower accepts). */
#define SECRET_NAME_MAX 128u

struct secret {
	char *value;    /* NUL-terminated, valid UTF-8 without NUL */
	size_t len;
};

/*
 * Resolve name into s.  Returns
 *   0         s holds the value (secret_free it);
 *   EX_NO     refused: a bad name, no such secret, a store file with a
 *             wider mode than 0600 or another owner, not a regular file,
 *             a value larger than SECRET_MAX, with a NUL or not UTF-8,
 *             MVM_SECRET_CMD exiting non-zero (e says which; never the
 *             value);
 *   EX_SYS    the store cannot be read, the program cannot be run.
 */
int secret_get(const char *name, struct secret *s, struct merr *e);

/* Wipe and free the value. */
void secret_free(struct secret *s);

#endif
