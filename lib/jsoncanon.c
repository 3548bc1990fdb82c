/* jsoncanon.c — the RFC 8785 canonical writer: a walk of the tape (no
 * recursion, no sorting: jsonkey.c sorted what needed it), and JSON
 * Pointers (RFC 6901) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "dtoa.h"
#include "json_int.h"

/* s[0..n), canonical text, between quotes */
static inline void put_quoted(struct buf *out, const char *s, size_t n)
{
	if (out->cap - out->len >= n + 2) {
		out->p[out->len] = '"';
		memcpy(out->p + out->len + 1, s, n);
		out->p[out->len + n + 1] = '"';
		out->len += n + 2;
		return;
	}
	buf_putc(out, '"');
	buf_put(out, s, n);
	buf_putc(out, '"');
}

void jsonp_put_tok_str(const struct jdoc *d, const struct jtok *t, struct buf *out)
{
	size_t n;
	const char *s = tok_str(d, t, &n);

	if (!(t->a & F_X)) {
		/* Raw input text without escapes is already canonical. */
		put_quoted(out, s, n);
		return;
	}
	json_put_str(out, s, n);
}

/* The numbers after number t in its array, each written as jsonp_canon's
 * walk would (',' and its value), while they last and the buffer has the
 * room; returns the last one written (t when none was). */
static __attribute__((noinline)) uint32_t put_numbers(const struct jdoc *d, const struct jtok *t,
	struct buf *out)
{
	while (!(t->a & F_LAST) && (t[1].a & T_TYPE) == J_NUM && !out->err &&
	       out->cap - out->len > DTOA_BUFSIZE) {
		t++;
		out->p[out->len++] = ',';
		if (t->a & F_X)
			out->len += dtoa_es(d->num[t->b], out->p + out->len);
		else
			jsonp_put_int(out, t);
	}
	return (uint32_t)(t - d->t);
}

struct eframe {
	uint32_t cur;          /* current element, or current key */
	uint32_t i, n;         /* unsorted objects: members written, members */
	int obj;
	const uint32_t *perm;  /* unsorted objects: keys in canonical order */
};

int json_canon(const struct jdoc *d, jref root, struct buf *out)
{
	void *stk = NULL;
	size_t cap = 0;
	int r = jsonp_canon(d, root, out, &stk, &cap);

	free(stk);
	return r;
}

int jsonp_canon(const struct jdoc *d, jref root, struct buf *out, void **stkp, size_t *capp)
{
	struct eframe *stk = *stkp, *f;
	size_t depth = 0, cap = *capp;
	uint32_t cur = root;
	const struct jtok *t;

value:
	t = &d->t[cur];
	switch (t->a & T_TYPE) {
	case J_NULL: buf_put_fast(out, "null", 4); break;
	case J_TRUE: buf_put_fast(out, "true", 4); break;
	case J_FALSE: buf_put_fast(out, "false", 5); break;
	case J_NUM:
		if (t->a & F_X) {
			/* json_put_num, into the buffer when it has the room */
			if (!out->err && out->cap - out->len >= DTOA_BUFSIZE) {
				out->len += dtoa_es(d->num[t->b], out->p + out->len);
			} else {
				char tmp[DTOA_BUFSIZE];
				buf_put_fast(out, tmp, dtoa_es(d->num[t->b], tmp));
			}
		} else {
			jsonp_put_int(out, t);
		}
		/* in an array, not its last value (t[1] is one of the array's) */
		if (depth > 0 && !(t->a & F_LAST) && !stk[depth - 1].obj && !stk[depth - 1].perm &&
		    (t[1].a & T_TYPE) == J_NUM)
			stk[depth - 1].cur = put_numbers(d, t, out);
		break;
	case J_STR:
		if ((t->a & F_X) && d->canon) {
			/* its canonical text already (json_int.h) */
			size_t n;
			const char *s = tok_str(d, t, &n);

			put_quoted(out, s, n);
			break;
		}
		jsonp_put_tok_str(d, t, out);
		break;
	case J_ARR:
	case J_OBJ: {
		int obj = (t->a & T_TYPE) == J_OBJ;

		if ((t->a >> PAY_SHIFT) == 0) {
			buf_put_fast(out, obj ? "{}" : "[]", 2);
			break;
		}
		buf_putc(out, obj ? '{' : '[');
		if (depth == cap && jsonp_grow((void **)&stk, &cap, depth + 1, sizeof *stk) < 0) {
			out->err = ENOMEM;
			goto done;
		}
		f = &stk[depth++];
		f->obj = obj;
		f->i = 0;
		if (obj && (t->a & F_X)) {
			const struct jux *u = &d->ux[t->b];
			f->perm = d->perm + u->perm;
			f->n = u->count;
			f->cur = f->perm[0];
		} else {
			f->perm = NULL;
			f->cur = cur + 1;
		}
		cur = f->cur;
		if (obj) {
			jsonp_put_tok_str(d, &d->t[cur], out);
			buf_putc(out, ':');
			cur++;
		}
		goto value;
	}
	}
	while (depth > 0) {
		f = &stk[depth - 1];
		/* the value just written is f->cur (+ 1 in an object) */
		if (f->perm ? ++f->i == f->n : (d->t[f->cur + (uint32_t)f->obj].a & F_LAST) != 0) {
			buf_putc(out, f->obj ? '}' : ']');
			depth--;
			continue;
		}
		buf_putc(out, ',');
		if (f->perm)
			f->cur = f->perm[f->i];
		else
			f->cur = tnext(d, f->cur + (uint32_t)f->obj);
		cur = f->cur;
		if (f->obj) {
			jsonp_put_tok_str(d, &d->t[cur], out);
			buf_putc(out, ':');
			cur++;
		}
		if (out->err)
			break;
		goto value;
	}
done:
	*stkp = stk;
	*capp = cap;
	return out->err ? EX_SYS : 0;
}

int json_canonicalize(const char *in, size_t len, const struct jopts *o, struct buf *out,
	struct merr *e)
{
	struct jdoc *d = json_parse(in, len, o, e);
	int r;

	if (!d)
		return e ? e->code : EX_DATA;
	r = json_canon(d, json_root(d), out);
	json_free(d);
	if (r) {
		errno = out->err;
		return merr_sys(e, "write canonical output");
	}
	return 0;
}

/* ---- JSON Pointer ---- */

void json_ptr_push(struct buf *ptr, const char *tok, size_t n)
{
	buf_putc(ptr, '/');
	for (size_t i = 0; i < n; i++) {
		if (tok[i] == '~')
			buf_put(ptr, "~0", 2);
		else if (tok[i] == '/')
			buf_put(ptr, "~1", 2);
		else
			buf_putc(ptr, tok[i]);
	}
}

void json_ptr_push_index(struct buf *ptr, size_t i)
{
	buf_printf(ptr, "/%zu", i);
}
