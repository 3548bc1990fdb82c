/* jsonwin.c — json_canon_stream_fd: a root array read through a window
 *
 * Why: ir-hash read its whole input into memory of its own, 25 MB that
 * the kernel must fault in and zero for a 25 MB input (up to a fifth of
 * its time on a guest whose faults are dear), to keep one value of it.
 * Here the input is read into a window (WIN_MIN bytes, more only for a
 * value larger than that) that moves on between the root array's values:
 * when less than a sixteenth of it is left to read, what is left goes to its
 * front and the rest is filled from the file.
 *
 * The parser (json.c) is not resumable inside a value, so a value is
 * written only when the window holds it whole and the byte after it
 * (jsonp_win_before: a number at the window's end may go on past it).
 * When a value fails to parse and the input is not all read, the error
 * may be the window's end: jsonp_win_retry moves the window to the
 * checkpoint after the last value written, reads more (doubling the
 * window when the value fills it) and parse() goes on from there; at the
 * end of the input the error stands, the same as json_canonicalize's.
 * Nothing is written twice: out receives a value once, when it is whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "json_int.h"

#define WIN_MIN ((size_t)1 << 20)

/* Fill the window to its size, or to the end of the input: 0 or EX_SYS. */
static int fill(struct jwin *w, struct merr *e)
{
	while (!w->eof && w->len < w->cap) {
		ssize_t n = read(w->fd, w->buf + w->len, w->cap - w->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return merr_sys(e, "read");
		if (n == 0)
			w->eof = 1;
		w->len += (size_t)n;
	}
	if (w->len >= UINT32_MAX)
		return merr_set(e, EX_DATA, NULL, "a value larger than 4 GiB");
	return 0;
}

/* Drop the window's first n bytes (counted for LINE:COL), make it at
 * least cap bytes large and fill it; the parser then reads from its start. */
static int move_on(struct parser *ps, size_t n, size_t cap)
{
	struct jwin *w = ps->win;
	struct jdoc *d = ps->d;
	int r;

	jsonp_forget(d, n);
	d->gone.base += n;
	memmove(w->buf, w->buf + n, w->len - n);
	w->len -= n;
	if (cap > w->cap) {
		char *b = realloc(w->buf, cap);

		if (!b)
			return jsonp_oom(ps);
		w->buf = b;
		w->cap = cap;
	}
	if ((r = fill(w, ps->e)) != 0)
		return r;
	d->in = w->buf;
	d->inlen = w->len;
	ps->s = ps->p = (const unsigned char *)w->buf;
	ps->end = ps->s + w->len;
	return 0;
}

int jsonp_win_before(struct parser *ps)
{
	if (!ps->win->eof && ps->p >= ps->end)
		return merr_set(ps->e, EX_DATA, NULL, "more input needed");
	return 0;
}

int jsonp_win_after(struct parser *ps, uint32_t v)
{
	struct jwin *w = ps->win;
	size_t at = (size_t)(ps->p - ps->s);

	w->ck = 1;
	w->ck_p = at;
	w->ck_count = ps->stk[0].count;
	w->ck_last = v;
	if (w->eof || w->len - at >= w->cap / 16)
		return 0;
	w->ck_p = 0;
	return move_on(ps, at, w->cap);
}

int jsonp_win_retry(struct parser *ps)
{
	struct jwin *w = ps->win;
	struct jdoc *d = ps->d;
	size_t cap = w->cap;

	if (w->eof || ps->oom || ps->out->err)
		return 0;
	if (!w->ck) {
		/* the first value: read everything, and parse from the start */
		while (!w->eof)
			if (move_on(ps, 0, w->cap * 2) != 0)
				return 0;
		ps->depth = ps->nkeys = 0;
		jsonp_drop_from(d, 0);
	} else {
		if (w->ck_p == 0 && w->len == w->cap)
			cap *= 2;    /* the value fills the window */
		if (move_on(ps, w->ck_p, cap) != 0)
			return 0;
		w->ck_p = 0;
		ps->depth = 1;
		ps->nkeys = 0;
		ps->stk[0].count = w->ck_count;
		jsonp_drop_from(d, w->ck_last);
		ps->resume = 1;
	}
	if (w->len + 1 > d->capt && jsonp_tape(d, w->len + 1) != 0) {
		jsonp_oom(ps);
		return 0;
	}
	return 1;
}

int json_canon_stream_fd(int fd, const struct jopts *o, struct buf *out, struct merr *e)
{
	struct jwin w = { .fd = fd, .cap = o && o->window ? o->window : WIN_MIN };
	int r;

	if (!(w.buf = malloc(w.cap)))
		return merr_sys(e, "allocate memory for the document");
	if ((r = fill(&w, e)) == 0) {
		/* any other root is parsed whole (json_canon_stream) */
		while (!json_streams(w.buf, w.len) && !w.eof && r == 0) {
			char *b = realloc(w.buf, w.cap * 2);

			if (!b) {
				r = merr_sys(e, "allocate memory for the document");
				break;
			}
			w.buf = b;
			w.cap *= 2;
			r = fill(&w, e);
		}
	}
	if (r == 0)
		r = jsonp_canon_stream(w.buf, w.len, o, out, NULL,
			json_streams(w.buf, w.len) ? &w : NULL, e);
	free(w.buf);
	return r;
}
