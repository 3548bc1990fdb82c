/* frame_int.h — the parts of the agent protocol codec (frame.h) that
 * lib/framereq.c and lib/framerep.c share; private to lib/frame*.c. */
#ifndef MVM_FRAME_INT_H
#define MVM_FRAME_INT_H

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include "buf.h"
#include "b64.h"
#include "err.h"

static inline int bad(struct merr *e, const char *where, const char *msg)
{
	return merr_set(e, EX_DATA, where, "%s", msg);
}

/* An integer-valued number in [lo, hi]? */
static inline int num_in(double v, double lo, double hi)
{
	return isfinite(v) && v == floor(v) && v >= lo && v <= hi;
}

/* Append the base64 of p[0..n) to b (nothing when n is 0; b->err on
 * ENOMEM). */
static inline void put_b64(struct buf *b, const void *p, size_t n)
{
	char *s;

	if (n == 0)
		return;
	s = b64_encode(p, n);
	if (!s) {
		if (!b->err)
			b->err = ENOMEM;
		return;
	}
	buf_puts(b, s);
	free(s);
}

#endif
