/* dtoa.h — shortest round-trip double to text, ECMAScript style */
#ifndef MVM_DTOA_H
#define MVM_DTOA_H

#include <stddef.h>

#define DTOA_BUFSIZE 48    /* the longest text is 25 bytes; the rest is room for
                             * dtoa.c's fixed-size copies */

/*
 * Write finite v as ECMAScript Number.prototype.toString(v) does, which
 * is RFC 8785's number form: the shortest decimal that reads back as v
 * (ties to the even digit), fixed notation for 1e-6 <= |v| < 1e21,
 * otherwise d[.ddd]e(+|-)n; -0 is written "0".  out must hold
 * DTOA_BUFSIZE bytes; it is NUL-terminated; returns the length.
 * v must be finite (NaN and infinities are the caller's error).
 */
size_t dtoa_es(double v, char *out);

#endif
