/* json.c — strict JSON reader (json.h): the parser's state machine
 *
 * The tape, its layout and the split of the reader into files:
 * json_int.h.  This file holds the state machine (values, containers,
 * separators, whitespace) as jsonp_parse, which jsondoc.c runs
 * (json_parse, json_free), with the parser's errors and jsonp_grow;
 * strings, numbers and member names are read by jsonstr.c, jsonnum.c and
 * jsonkey.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json_int.h"
#include "jsonnumf.h"

int jsonp_grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need) {
		if (c > SIZE_MAX / 2 / size)
			return -1;
		c *= 2;
	}
	q = realloc(*p, c * size);
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

int jsonp_err(struct parser *ps, const unsigned char *at, const char *msg)
{
	size_t line, col;

	jsonp_linecol(ps->d, (size_t)(at - ps->s), &line, &col);
	return merr_setlc(ps->e, EX_DATA, line, col, "%s", msg);
}

int jsonp_oom(struct parser *ps)
{
	ps->oom = 1;
	errno = ENOMEM;
	return merr_sys(ps->e, "allocate memory for the document");
}

void json_linecol(const char *buf, size_t off, size_t *line, size_t *col)
{
	const char *p = buf, *end = buf + off, *nl;
	size_t l = 1;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		l++;
		p = nl + 1;
	}
	*line = l;
	*col = (size_t)(end - p) + 1;
}

static inline struct jtok *push_tok(struct parser *ps)
{
	struct jdoc *d = ps->d;

	if (__builtin_expect(d->nt == d->capt, 0))
		return NULL;   /* cannot happen: the bound in json_int.h */
	return &d->t[d->nt++];
}
/* ---- the parser ---- */

static inline int is_num_start(unsigned char c)
{
	return c == '-' || (c >= '0' && c <= '9');
}

static inline const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end)
{
	/* Most JSON has no whitespace, or a newline and a run of spaces:
	 * runs of spaces are skipped a word at a time to their end. */
	if (p < end && *p > ' ')
		return p;
	/* One space, or a newline and one space: by branches (predicted,
	 * so the next value's address waits for no load), the newline and a
	 * longer run of spaces by a word; else byte by byte below. */
	if (end - p >= 9) {
		if (p[0] == ' ' && p[1] > ' ')
			return p + 1;
		if (p[0] == '\n') {
			uint64_t w;

			if (p[1] == ' ' && p[2] > ' ')
				return p + 2;
			if ((w = load64(p + 1) ^ (ONES * ' ')) != 0 &&
			    p[1 + (__builtin_ctzll(w) >> 3)] > ' ')
				return p + 1 + (__builtin_ctzll(w) >> 3);
		}
	}
	while (p < end) {
		if (end - p >= 8) {
			uint64_t w = load64(p) ^ (ONES * ' ');
			if (w == 0) {
				p += 8;
				continue;
			}
			p += __builtin_ctzll(w) >> 3;
		}
		if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
			p++;
		else
			break;
	}
	return p;
}

static const char *describe(const unsigned char *p, const unsigned char *end)
{
	if (p >= end)
		return "end of input";
	if (*p >= 0x80)
		return "a non-ASCII byte";
	if (*p < 0x20 || *p == 0x7F)
		return "a control character";
	return NULL;
}

static int unexpected(struct parser *ps, const char *want)
{
	const char *what = describe(ps->p, ps->end);
	char buf[200];

	if (!what && (*ps->p == '/'))
		what = "'/' (comments are not JSON)";
	if (what)
		snprintf(buf, sizeof buf, "%s expected, found %s", want, what);
	else
		snprintf(buf, sizeof buf, "%s expected, found '%c'", want, *ps->p);
	return jsonp_err(ps, ps->p, buf);
}

static int push_frame(struct parser *ps, uint32_t tok)
{
	if (ps->depth == ps->capstk &&
	    jsonp_grow((void **)&ps->stk, &ps->capstk, ps->depth + 1, sizeof *ps->stk) < 0)
		return jsonp_oom(ps);
	ps->stk[ps->depth].tok = tok;
	ps->stk[ps->depth].keybase = (uint32_t)ps->nkeys;
	ps->stk[ps->depth].count = 0;
	ps->stk[ps->depth].last = 0;
	ps->depth++;
	return 0;
}

static int depth_error(struct parser *ps)
{
	size_t line, col;

	jsonp_linecol(ps->d, (size_t)(ps->p - ps->s), &line, &col);
	return merr_setlc(ps->e, EX_DATA, line, col, "nesting deeper than %u levels", ps->maxdepth);
}

static int parse_key(struct parser *ps)
{
	struct jtok *t;
	int r;

	if (ps->p >= ps->end || *ps->p != '"')
		return unexpected(ps, "member name (a string)");
	if (ps->nkeys == ps->capkeys &&
	    jsonp_grow((void **)&ps->keys, &ps->capkeys, ps->nkeys + 1, sizeof *ps->keys) < 0)
		return jsonp_oom(ps);
	ps->keys[ps->nkeys++] = (uint32_t)ps->d->nt;
	if (!(t = push_tok(ps)))
		return jsonp_oom(ps);
	if ((r = jsonp_string(ps, t)) != 0)
		return r;
	ps->p = skip_ws(ps->p, ps->end);
	if (ps->p >= ps->end || *ps->p != ':')
		return unexpected(ps, "':'");
	ps->p = skip_ws(ps->p + 1, ps->end);
	return 0;
}

/* The numbers of an array (top of the stack f, not the streamed root)
 * from ps->p, each read as jsonp_parse's value would, while a ',' and a
 * number follow: then -1 when no ',' follows the last, or 0 at the value
 * after a ',' (not ']'), or an error. */
static __attribute__((noinline)) int array_numbers(struct parser *ps, struct frame *f)
{
	struct jdoc *d = ps->d;
	const unsigned char *end = ps->end, *p = ps->p, *q;
	struct jtok *t;
	int r;

	/* p in a register from one number to the next (number_fast inline),
	 * ps->p set only for jsonp_number_slow and on the way out */
	do {
		if (!(t = push_tok(ps)))
			return jsonp_oom(ps);
		if (!(q = number_fast(ps, p, t))) {
			ps->p = p;
			if ((r = jsonp_number_slow(ps, t)) != 0)
				return r;
			q = ps->p;
		}
		f->count++;
		f->last = (uint32_t)(d->nt - 1);
		p = skip_ws(q, end);
		if (p >= end || *p != ',') {
			ps->p = p;
			return -1;
		}
		p = skip_ws(p + 1, end);
	} while (p < end && is_num_start(*p));
	ps->p = p;
	if (p < end && *p == ']')
		return jsonp_err(ps, p, "trailing comma in array");
	return 0;
}

/* json_canon_stream: value v of the root array is complete (a container
 * closed or a scalar read): write it, then give its tokens and side
 * arrays back.  Nothing of it is looked at again: the root's own close
 * only marks token v F_LAST, and the root is written by the caller. */
static int stream_value(struct parser *ps, uint32_t v)
{
	struct jdoc *d = ps->d;
	int r;

	if (ps->win && (r = jsonp_win_before(ps)) != 0)
		return r;
	buf_putc(ps->out, ps->stk[0].count ? ',' : '[');
	if (jsonp_canon(d, v, ps->out, &ps->cstk, &ps->ccap) != 0 || ps->out->err) {
		errno = ps->out->err;
		return merr_sys(ps->e, "write canonical output");
	}
	jsonp_drop_from(d, v);   /* its first token: the one after the root's */
	/* what is before ps->p is not looked at again: the output goes there
	 * once OVER_BATCH bytes of it wait */
	if (d->ov && ps->out->len - d->ov->head >= OVER_BATCH)
		jsonp_over_move(d, ps->out, (size_t)(ps->p - ps->s));
	return ps->win ? jsonp_win_after(ps, v) : 0;
}

int jsonp_parse(struct parser *ps)
{
	struct jdoc *d = ps->d;
	const unsigned char *end = ps->end;
	struct jtok *t;
	uint32_t last = 0;
	int r;

	if (ps->resume) {  /* json_canon_stream_fd: after its last value written */
		ps->resume = 0;
		last = ps->win->ck_last;
		goto resume;
	}
	if (end - ps->p >= 3 && ps->p[0] == 0xEF && ps->p[1] == 0xBB && ps->p[2] == 0xBF)
		return jsonp_err(ps, ps->p, "byte order mark not allowed");
	ps->p = skip_ws(ps->p, end);
value:
	if (ps->p >= end)
		return unexpected(ps, "a value");
	if (!(t = push_tok(ps)))
		return jsonp_oom(ps);
	switch (*ps->p) {
	case '{':
	case '[': {
		int obj = *ps->p == '{';

		t->a = obj ? J_OBJ : J_ARR;
		t->b = 0;
		if (ps->depth >= ps->maxdepth)
			return depth_error(ps);
		if ((r = push_frame(ps, (uint32_t)(d->nt - 1))) != 0)
			return r;
		ps->p = skip_ws(ps->p + 1, end);
		if (ps->p < end && *ps->p == (obj ? '}' : ']')) {
			ps->p++;
			goto close;
		}
		if (obj && (r = parse_key(ps)) != 0)
			return r;
		goto value;
	}
	case '"':
		if ((r = jsonp_string(ps, t)) != 0)
			return r;
		break;
	case 't':
	case 'f':
	case 'n': {
		static const char *const lit[] = { "true", "false", "null" };
		static const uint32_t type[] = { J_TRUE, J_FALSE, J_NULL };
		int i = *ps->p == 't' ? 0 : *ps->p == 'f' ? 1 : 2;
		size_t n = strlen(lit[i]);

		if ((size_t)(end - ps->p) < n || memcmp(ps->p, lit[i], n) != 0)
			return jsonp_err(ps, ps->p, "invalid literal (true, false or null expected)");
		t->a = type[i];
		t->b = 0;
		ps->p += n;
		break;
	}
	default:
		if (is_num_start(*ps->p)) {
			if ((r = jsonp_number(ps, t)) != 0)
				return r;
			break;
		}
		d->nt--;
		return unexpected(ps, "a value");
	}
	last = (uint32_t)(d->nt - 1);
next:
	ps->p = skip_ws(ps->p, end);
	if (ps->out && ps->depth == 1 && (r = stream_value(ps, last)) != 0)
		return r;
resume:
	end = ps->end;     /* json_canon_stream_fd's window moves on */
	if (ps->depth == 0) {
		if (ps->win && !ps->win->eof)   /* what follows must be read */
			return merr_set(ps->e, EX_DATA, NULL, "more input needed");
		if (ps->p < end)
			return jsonp_err(ps, ps->p, "trailing data after the JSON value");
		d->t[0].a |= F_LAST;
		return 0;
	}
	{
		struct frame *f = &ps->stk[ps->depth - 1];
		int obj = (d->t[f->tok].a & T_TYPE) == J_OBJ;

		f->count++;
		f->last = last;
		if (ps->p < end && *ps->p == ',') {
			ps->p = skip_ws(ps->p + 1, end);
			if (obj) {
				if ((r = parse_key(ps)) != 0)
					return r;
			} else if (ps->p < end && *ps->p == ']') {
				return jsonp_err(ps, ps->p, "trailing comma in array");
			} else if (ps->p < end && is_num_start(*ps->p) && (ps->depth > 1 || !ps->out)) {
				if ((r = array_numbers(ps, f)) > 0)
					return r;
				if (r < 0 && ps->p < end && *ps->p == ']') {
					ps->p++;
					goto close;
				}
				if (r < 0)
					return unexpected(ps, "',' or ']'");
			}
			goto value;
		}
		if (ps->p < end && *ps->p == (obj ? '}' : ']')) {
			ps->p++;
			goto close;
		}
		return unexpected(ps, obj ? "',' or '}'" : "',' or ']'");
	}
close:
	{
		struct frame *f = &ps->stk[ps->depth - 1];

		t = &d->t[f->tok];
		t->b = (uint32_t)d->nt;  /* the token after the container */
		t->a |= (f->count < PAY_SAT ? f->count : PAY_SAT) << PAY_SHIFT;
		if (f->count)
			d->t[f->last].a |= F_LAST;
		if ((t->a & T_TYPE) == J_OBJ) {
			size_t nk = ps->nkeys - f->keybase;

			/* one member is in order and has no duplicate */
			if (nk <= 1)
				ps->nkeys = f->keybase;
			else if ((r = jsonp_close_object(ps, t, f->keybase)) != 0)
				return r;
		}
		last = f->tok;
		ps->depth--;
	}
	goto next;
}

int json_streams(const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in, *q = skip_ws(s, s + len);

	return q < s + len && *q == '[';
}
