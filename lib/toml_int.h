/* toml_int.h — the parts of the uv.lock TOML reader (toml.h) that
 * lib/toml.c (the tree, values, tables) and lib/tomllex.c (blanks,
 * comments, line ends, strings, keys, UTF-8) share; private to them. */
#ifndef MVM_TOML_INT_H
#define MVM_TOML_INT_H

#include <stdarg.h>
#include <stdio.h>
#include "buf.h"
#include "toml.h"

enum { F_DEFINED = 1, F_AOT = 2, F_CLOSED = 4 };

struct tp {
	const char *p;
	size_t n, i, line, col0;   /* col0: offset of the line's first byte */
	size_t nodes;
	struct merr *e;
};

static inline int bad(struct tp *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline int bad(struct tp *t, const char *fmt, ...)
{
	va_list ap;

	if (t->e->code)
		return t->e->code;
	va_start(ap, fmt);
	vsnprintf(t->e->msg, sizeof t->e->msg, fmt, ap);
	va_end(ap);
	t->e->code = EX_DATA;
	snprintf(t->e->where, sizeof t->e->where, "%zu:%zu", t->line, t->i - t->col0 + 1);
	return EX_DATA;
}

static inline int peek(struct tp *t)
{
	return t->i < t->n ? (unsigned char)t->p[t->i] : -1;
}

/* tomllex.c */
void tp_blanks(struct tp *t);
/* Blanks, a comment, and (when nl) newlines, over any number of lines. */
void tp_skip(struct tp *t, int nl);
/* The end of a line: blanks, a comment, then a newline or the end. */
int tp_eol(struct tp *t);
/* A basic or literal one-line string at t->i into b. */
int tp_string(struct tp *t, struct buf *b);
/* One key (bare or quoted) into b. */
int tp_key(struct tp *t, struct buf *b);
/* Is p[0..n) UTF-8 without overlongs and surrogates?  The offset of the
 * first bad byte, or n. */
size_t tp_utf8_ok(const unsigned char *p, size_t n);

#endif
