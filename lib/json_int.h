/* json_int.h — the tape and the reader's state, private to lib/json*.c
 *
 * The reader (json.h) is split along its seams:
 *   json.c       the parser's state machine
 *   jsondoc.c    the parser set up and run: json_parse, json_free and the
 *                streaming writers' parse
 *   jsontape.c   the tape's memory
 *   jsonstr.c    strings: reading (UTF-8 checks, escapes)
 *   jsonchr.h    their characters (UTF-8 sequences, \u escapes)
 *   jsonput.c    strings: writing (RFC 8785 escapes)
 *   jsonnum.c    numbers: reading (numparse.h) and writing (dtoa.h)
 *   jsonnumf.h   the common number's reader, inline (jsonnum.c, json.c)
 *   jsonkey.c    member names: RFC 8785 order, duplicates, sorted objects
 *   jsonget.c    the accessors of json.h
 *   jsoncanon.c  the canonical writer's walk of the tape, JSON Pointers
 *   jsonover.c   json_canon_over: a root array's output over its input;
 *                LINE:COL of input no longer in memory (struct jgone)
 *   jsonwin.c    json_canon_stream_fd: a root array read through a window
 *
 * The reader is a non-recursive state machine that builds a flat token
 * array ("tape") in document order: 8 bytes a value or member name, no
 * closing tokens (the last value of a container carries F_LAST), strings
 * pointing into the input unless they had escapes, integers below 2^53
 * inline and other doubles in a side array.  Objects are checked for
 * duplicate names when they close; members that are not already in
 * RFC 8785 order get a sorted permutation (side table ux[]), so the
 * writer never re-sorts and never copies subtrees.  Nothing here
 * recurses, so nesting depth is limited only by max_depth.
 *
 * Token layout (struct jtok, two 32-bit words a and b):
 *   a bits 0-2  type (enum jtype)
 *   a bit 3     F_LAST: the last value of its container (and the root)
 *   a bit 4     F_X: J_STR: text in dec[] (it had escapes);
 *               J_NUM: b indexes num[] (else an inline integer);
 *               J_OBJ: members not in canonical order, b indexes ux[]
 *   a bits 5-31 payload: J_STR length, J_ARR/J_OBJ count (PAY_SAT when
 *               that does not fit: then counted), J_NUM inline: high bits
 *   b           J_STR: offset in the input (of the text, after the quote)
 *               or in dec[]; J_ARR, J_OBJ in order: the token after the
 *               container; J_OBJ unsorted: index in ux[]; J_NUM: low 32
 *               bits of an inline integer + 2^53, or index in num[]
 * Why these limits hold: the input is < 4 GiB and every token but a
 * container's consumes at least one input byte of its own (a container
 * two), so at most len + 1 tokens; dec[] holds each escaped string's
 * decoded text (never longer than its input text) after an 8-byte prefix
 * (input offset, length) and is checked against 4 GiB.
 *
 * The streaming writers' own documents (jsondoc.c: jsonp_canon_stream)
 * are only ever written canonically, so there (canon set) an escaped
 * string value is kept in dec[] as its RFC 8785 form, between the quotes,
 * transcoded from the input in one pass (jsonstr.c): written as it is,
 * not decoded and escaped again.  Member names are decoded as anywhere
 * (they are compared and sorted by their code units).  The canonical
 * form is never longer than the input's either (an escape becomes its
 * UTF-8 or an escape at most as long).
 */
#ifndef MVM_JSON_INT_H
#define MVM_JSON_INT_H

#include <stdint.h>
#include <string.h>
#include "json.h"

#define T_TYPE 0x7u
#define F_LAST 0x8u
#define F_X 0x10u
#define PAY_SHIFT 5
#ifndef JSON_PAY_SAT          /* t/unit/json.c makes it small to test the counted paths */
#define JSON_PAY_SAT ((1u << 27) - 1)
#endif
#define PAY_SAT JSON_PAY_SAT
#define INT_BIAS ((uint64_t)1 << 53)   /* inline integers: |i| < 2^53 */

struct jtok {
	uint32_t a;
	uint32_t b;
};

/* An inline integer token: i (|i| < 2^53) + INT_BIAS, its high bits in a's
 * payload, its low 32 in b; int_of_token reads it back. */
static inline void int_token(struct jtok *t, int64_t i)
{
	uint64_t u = (uint64_t)i + INT_BIAS;

	t->a = J_NUM | (uint32_t)(u >> 32) << PAY_SHIFT;
	t->b = (uint32_t)u;
}

static inline int64_t int_of_token(const struct jtok *t)
{
	return (int64_t)((uint64_t)(t->a >> PAY_SHIFT) << 32 | t->b) - (int64_t)INT_BIAS;
}

/* An object whose members are not in canonical order. */
struct jux {
	uint32_t end;      /* the token after the object */
	uint32_t count;    /* members */
	uint32_t perm;     /* offset in perm[] of its keys in canonical order */
};

struct jdoc {
	const char *in;
	size_t inlen;
	struct jtok *t;
	size_t nt, capt;
	void *tmap;        /* the tape's own mapping (large inputs), else NULL */
	size_t tmaplen;
	char *dec;         /* decoded strings, each after its uint32 input offset and length */
	size_t ndec, capdec;
	uint32_t *perm;
	size_t nperm, capperm;
	struct jux *ux;
	size_t nux, capux;
	double *num;
	size_t nnum, capnum;
	struct jover *ov;  /* json_canon_over's state, else NULL */
	int canon;         /* escaped string values in dec[] are canonical (above) */
	/* What jsonp_linecol needs of input text no longer in memory: in[0]
	 * is the input's byte base, and in[0..from) no longer holds input
	 * (json_canon_over writes there); the input before in + from holds
	 * lines newlines, the last of them ending at input byte bol - 1.
	 * All 0 (calloc) when everything is in memory. */
	struct jgone {
		size_t base, from, lines, bol;
	} gone;
};

/* json_canon_over: the output kept at the start of the input, in
 * in[0..d->gone.from), and at the end in[0..kept); out's bytes before
 * head are already moved there. */
struct jover {
	char *in;
	size_t head, kept;
};

/* json_canon_over moves the output into the input once this many bytes
 * of it wait in out (a few long moves, not one a value; out holds that
 * much more at most, beside what does not fit yet). */
#define OVER_BATCH 4096

/* json_canon_stream_fd: the input is read into buf, a window of cap bytes
 * (len of them read) that moves on between the root array's values; eof:
 * buf holds the input's end.  ck: a value was written, and the parse can
 * resume after it, from buf + ck_p with the root's count ck_count and its
 * last value's token ck_last (parse()'s label resume). */
struct jwin {
	int fd, eof, ck;
	char *buf;
	size_t cap, len, ck_p;
	uint32_t ck_count, ck_last;
};

struct frame {
	uint32_t tok;      /* the container's token */
	uint32_t keybase;  /* objects: where its keys start in keys[] */
	uint32_t count;    /* values so far */
	uint32_t last;     /* the last value's token */
};

struct parser {
	struct jdoc *d;
	const unsigned char *s, *p, *end;
	struct frame *stk;
	size_t depth, capstk;
	uint32_t *keys;
	size_t nkeys, capkeys;
	unsigned maxdepth;
	struct merr *e;
	int oom;
	struct buf *out;   /* json_canon_stream: the root array's values go here */
	void *cstk;        /* and jsonp_canon's stack, kept between them */
	size_t ccap;
	struct jwin *win;  /* json_canon_stream_fd's window, else NULL */
	int resume;        /* parse() goes on from win's checkpoint */
};

/* The state machine (json.c) run on ps, which jsondoc.c sets up: d with
 * its tape for the whole input, s = p, end, e, maxdepth; out for
 * json_canon_stream (each value of a root array written, then dropped),
 * win for json_canon_stream_fd (resume set: go on from win's checkpoint).
 * The document's tokens onto d's tape.  0, or the error set in ps->e
 * (EX_DATA at LINE:COL; EX_SYS: memory, or writing out); ps->stk,
 * ps->keys and ps->cstk are the caller's to free either way. */
int jsonp_parse(struct parser *ps);
/* Grow *p (*cap elements of size bytes) to hold need: 0, or -1 (no memory). */
int jsonp_grow(void **p, size_t *cap, size_t need, size_t size);
/* json_linecol of offset off of d's input, also when json_canon_over has
 * written over the text before it (off is never in that part: nothing is
 * reported about a value already written). */
void jsonp_linecol(const struct jdoc *d, size_t off, size_t *line, size_t *col);
/* json_canon_stream, and json_canon_over when ov is not NULL, and
 * json_canon_stream_fd when win is not NULL (in: its buffer). */
int jsonp_canon_stream(const char *in, size_t len, const struct jopts *o, struct buf *out,
	struct jover *ov, struct jwin *win, struct merr *e);
/* json_canon_over: move out's bytes past d->ov->head into the input's
 * bytes [gone.from, dead), which are not looked at again, as many as fit. */
void jsonp_over_move(struct jdoc *d, struct buf *out, size_t dead);
/* The n input bytes at d->in + d->gone.from are about to be lost: count
 * their newlines into d->gone (the caller then moves from or base). */
void jsonp_forget(struct jdoc *d, size_t n);
/* json_canon_stream_fd, from the parser: before value v of the root array
 * is written, 0 or EX_DATA when the window may end inside it (it is then
 * read again with more); after, the checkpoint, and the window moved on
 * when less than a sixteenth of it is left to read (0, or EX_SYS). */
int jsonp_win_before(struct parser *ps);
int jsonp_win_after(struct parser *ps, uint32_t v);
/* After a failed parse: 1 if more input may change the outcome and the
 * parser is set to go again (from the checkpoint, or from the start with
 * the whole input), 0 if the error stands. */
int jsonp_win_retry(struct parser *ps);
/* The tape of d for ntok tokens (jsontape.c): 0, or -1 out of memory;
 * jsonp_tape replaces one, t[0] kept. */
int jsonp_tape_alloc(struct jdoc *d, size_t ntok);
int jsonp_tape(struct jdoc *d, size_t ntok);
void jsonp_tape_free(struct jdoc *d);
/* Set ps->e to EX_DATA, msg at the LINE:COL of at; returns EX_DATA. */
int jsonp_err(struct parser *ps, const unsigned char *at, const char *msg);
/* Out of memory: sets ps->e (EX_SYS) and ps->oom; returns EX_SYS. */
int jsonp_oom(struct parser *ps);

/* The string (ps->p at its opening quote) or number at ps->p into *t;
 * ps->p is left past it.  0, or an error from jsonp_err/jsonp_oom.  In a
 * d->canon document an escaped string value (not a member name: t is not
 * the last of ps->keys) is kept as its RFC 8785 form; the errors are the
 * same either way. */
int jsonp_string(struct parser *ps, struct jtok *t);
int jsonp_number(struct parser *ps, struct jtok *t);
/* jsonp_number without the fast path (jsonnumf.h): any number, and the
 * errors. */
int jsonp_number_slow(struct parser *ps, struct jtok *t);
/* An object closes: duplicate names are refused; members out of RFC 8785
 * order get their sorted permutation (t->b then indexes ux[]). */
int jsonp_close_object(struct parser *ps, struct jtok *t, uint32_t keybase);

/* json_canon of v with the walk's stack kept in *stk (*cap frames) for the
 * next call; the caller frees *stk. */
int jsonp_canon(const struct jdoc *d, jref v, struct buf *out, void **stk, size_t *cap);

/* Writers of a string token (a member name, or a value of a document
 * that is not d->canon) and of an inline integer token. */
void jsonp_put_tok_str(const struct jdoc *d, const struct jtok *t, struct buf *out);
void jsonp_put_int(struct buf *out, const struct jtok *t);

/* jsonp_esc[c]: the escape RFC 8785 writes for byte c in its first
 * jsonp_esc[c][7] bytes (2, or 6: \u00xx), or jsonp_esc[c][7] == 0 for
 * a byte written as it is; 8 bytes a store (jsonput.c). */
extern const char jsonp_esc[256][8];

/* The length of a string whose token could not hold it (PAY_SAT). */
size_t jsonp_long_len(const struct jdoc *d, const struct jtok *t);

static inline const char *tok_str(const struct jdoc *d, const struct jtok *t, size_t *len)
{
	uint32_t n = t->a >> PAY_SHIFT;

	*len = __builtin_expect(n == PAY_SAT, 0) ? jsonp_long_len(d, t) : n;
	return (t->a & F_X) ? d->dec + t->b : d->in + t->b;
}

/* The token after value i (skipping a container's contents). */
static inline uint32_t tnext(const struct jdoc *d, uint32_t i)
{
	uint32_t a = d->t[i].a;

	if ((a & T_TYPE) < J_ARR)
		return i + 1;
	return (a & T_TYPE) == J_OBJ && (a & F_X) ? d->ux[d->t[i].b].end : d->t[i].b;
}

/* Give the tape back from token nt on, and every side array (a streamed
 * value is written, or is to be read again). */
static inline void jsonp_drop_from(struct jdoc *d, size_t nt)
{
	d->nt = nt;
	d->ndec = d->nnum = d->nperm = d->nux = 0;
}

/* ---- 8 bytes at a time ---- */

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "load64 reads little-endian words");

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static inline uint64_t haszero8(uint64_t x)
{
	return (x - ONES) & ~x & HIGHS;
}

#endif
