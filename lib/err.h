/* err.h — errors returned by lib/ (lib/ never prints and never exits) */
#ifndef MVM_ERR_H
#define MVM_ERR_H

#include <stddef.h>

/* Exit statuses shared by every tool (DESIGN.md, "Tool contracts"). */
enum {
	EX_OK = 0,      /* success, or "yes" for predicates */
	EX_NO = 1,      /* "no": invalid IR, bad signature, expired, replayed, tampered */
	EX_USAGE = 2,   /* bad command line */
	EX_DATA = 3,    /* malformed input */
	EX_SYS = 4,     /* system or I/O error */
	EX_TIMEOUT = 124, /* vm-boot, vsock-call: timed out */
	EX_SELF = 125,  /* vm-boot, vsock-call: own failure */
};

/*
 * An error: the exit status class it maps to, where it happened (line:col,
 * a JSON Pointer, a line number of a log, or empty) and a message.
 * Tools print it as "prog: [file: ][where: ]msg".
 */
struct merr {
	int code;
	char where[128];
	char msg[512];
};

/* Set e (if not NULL) and return code.  where may be NULL. */
int merr_set(struct merr *e, int code, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Same, with a where of the form "LINE:COL". */
int merr_setlc(struct merr *e, int code, size_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Set a system error: msg is "unable to <what>: strerror(errno)". */
int merr_sys(struct merr *e, const char *what);
void merr_clear(struct merr *e);

#endif
