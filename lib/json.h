/* json.h — strict JSON reader (RFC 8259) and RFC 8785 canonical writer */
#ifndef MVM_JSON_H
#define MVM_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "err.h"

/*
 * The reader accepts exactly RFC 8259 JSON text and rejects, with
 * EX_DATA and a LINE:COL where: invalid UTF-8 (overlong forms, encoded
 * surrogates, code points above U+10FFFF), lone or reversed surrogate
 * escapes, duplicate member names (compared after unescaping), numbers
 * that overflow a double, NaN/Infinity, comments, trailing commas,
 * trailing garbage, a byte order mark, and nesting deeper than max_depth.
 *
 * The parsed document is a flat array of tokens ("tape").  Values are
 * referred to by jref, an index into it.  Strings that had no escape in
 * the input point into the input buffer, which must outlive the doc.
 */

typedef uint32_t jref;
#define JREF_NONE ((jref)-1)

/* J_NONE is no value: the type of JREF_NONE (a member json_get did not
 * find), so json_type(d, json_get(d, o, "k")) == J_STR needs no check of
 * its own.  Every accessor below takes JREF_NONE: json_str gives NULL,
 * json_num 0, json_len 0, json_get/json_first/json_next JREF_NONE. */
enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ, J_NONE };

#define JSON_DEFAULT_MAX_DEPTH 4096

struct jopts {
	unsigned max_depth;      /* 0 means JSON_DEFAULT_MAX_DEPTH */
	size_t window;           /* json_canon_stream_fd's first window; 0: 1 MiB
	                          * (tests make it small to move it often) */
};

struct jdoc;

/* Parse buf[0..len).  Returns NULL with e set (EX_DATA, or EX_SYS when
 * out of memory). */
struct jdoc *json_parse(const char *buf, size_t len, const struct jopts *o, struct merr *e);
void json_free(struct jdoc *d);

jref json_root(const struct jdoc *d);
enum jtype json_type(const struct jdoc *d, jref v);
const char *json_typename(enum jtype t);   /* "null", "boolean", "number", ... */

/* Strings: decoded UTF-8 (may contain NUL), not NUL-terminated. */
const char *json_str(const struct jdoc *d, jref v, size_t *len);
/* Compare a string value with a C string: 1 if equal. */
int json_str_eq(const struct jdoc *d, jref v, const char *s);
/* Copy a string value into a malloc'd NUL-terminated C string; NULL if it
 * is not a string, contains NUL, or allocation fails. */
char *json_strdup(const struct jdoc *d, jref v);
double json_num(const struct jdoc *d, jref v);
/* Number of elements of an array or members of an object, or length in
 * bytes of a string. */
size_t json_len(const struct jdoc *d, jref v);

/* Arrays: first element (JREF_NONE if empty), then json_next. */
jref json_first(const struct jdoc *d, jref arr);
/* The element after v in its array, JREF_NONE at the end. */
jref json_next(const struct jdoc *d, jref v);
/* Objects: first member's key in input order (JREF_NONE if empty); the
 * value of a member is json_value(key); the next key is json_next_key(). */
jref json_first_key(const struct jdoc *d, jref obj);
jref json_next_key(const struct jdoc *d, jref key);
static inline jref json_value(jref key) { return key + 1; }
/* Value of member named key in obj, or JREF_NONE. */
jref json_get(const struct jdoc *d, jref obj, const char *key);
/* LINE:COL of a byte offset in buf (1-based, columns counted in bytes). */
void json_linecol(const char *buf, size_t off, size_t *line, size_t *col);

/* RFC 8785 canonical form of value v (the root: json_root(d)).
 * Returns 0, or EX_SYS when out of is in error. */
int json_canon(const struct jdoc *d, jref v, struct buf *out);

/* Parse and canonicalize in one step. */
int json_canonicalize(const char *in, size_t len, const struct jopts *o, struct buf *out,
	struct merr *e);

/* json_canonicalize for a reader of the output that can discard it: when
 * the root is an array, each of its values is written as soon as it is
 * read and its tape is given back, so the tape never holds more than one
 * of them (memory and time: a 25 MB array of small objects never builds a
 * 25 MB tape).  The bytes written are json_canonicalize's, but on an
 * error (EX_DATA or EX_SYS, e set) out already holds the values before
 * it: the caller must then throw out away (ir-hash: nothing is printed
 * but the hash of a whole document).  Any other root: as
 * json_canonicalize. */
int json_canon_stream(const char *in, size_t len, const struct jopts *o, struct buf *out,
	struct merr *e);
/* json_canon_stream for a caller that owns in and will not read it again:
 * the output is written over in, where in's values already read were
 * (no memory beside the input for it).  On success (0) the canonical form
 * is in[0..*kept) followed by out's bytes; in's other bytes are garbage.
 * Errors as json_canonicalize's, the same LINE:COL; in is then garbage
 * and out must be thrown out.  A root that is not an array: as
 * json_canonicalize (*kept = 0). */
int json_canon_over(char *in, size_t len, const struct jopts *o, struct buf *out, size_t *kept,
	struct merr *e);
/* json_canon_stream of the text read from fd to its end, for a reader of
 * the output that can discard it (ir-hash): a root array is read through
 * a window of 1 MiB (more only for a value larger than that) instead of
 * whole.  The same bytes and errors (LINE:COL too) as json_canon_stream's
 * on the whole text; EX_SYS when fd cannot be read. */
int json_canon_stream_fd(int fd, const struct jopts *o, struct buf *out, struct merr *e);
/* 1 if json_canon_stream writes in's values as it reads them: the first
 * byte after white space is '[' (what follows is not looked at). */
int json_streams(const char *in, size_t len);

/* Write s[0..n) as an RFC 8785 string literal (with quotes). */
void json_put_str(struct buf *out, const char *s, size_t n);
/* Write a finite double the way RFC 8785 / ECMAScript Number::toString
 * does (shortest round trip; -0 as 0). */
void json_put_num(struct buf *out, double v);

/* Compare two UTF-8 strings by UTF-16 code units (RFC 8785 key order). */
int json_keycmp(const char *a, size_t an, const char *b, size_t bn);

/* Append a JSON Pointer token (RFC 6901: ~ as ~0, / as ~1) to a pointer. */
void json_ptr_push(struct buf *ptr, const char *tok, size_t n);
void json_ptr_push_index(struct buf *ptr, size_t i);

#endif
