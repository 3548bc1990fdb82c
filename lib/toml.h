/* toml.h — a strict reader of the subset of TOML 1.0 that uv writes in
 * uv.lock (depsuv.c), into a tree.
 *
 * Why our own: Debian 12 has no maintained C TOML library (apt-cache
 * search toml: C++ cpptoml, Go, Perl and Python ones only), and uv.lock
 * uses a small, regular part of TOML.
 *
 * The subset: UTF-8 text; comments; [table] and [[array.of.tables]]
 * headers with dotted keys; key = value with one (bare or quoted) key;
 * values: basic strings "..." (all TOML escapes), literal strings '...',
 * decimal integers (at most 18 digits), true, false, arrays (over lines,
 * with comments and a trailing comma) and one-line inline tables.
 * Refused as malformed (EX_DATA, e->where "LINE:COL"): anything else
 * (multi-line strings, floats, dates, dotted keys left of '='), a key
 * defined twice, a table defined twice or extended after being closed
 * (inline), control characters, invalid UTF-8, nesting deeper than
 * TOML_DEPTH_MAX, more than TOML_NODES_MAX values.
 */
#ifndef MVM_TOML_H
#define MVM_TOML_H

#include <stddef.h>
#include "err.h"

enum { TOML_TABLE, TOML_ARRAY, TOML_STR, TOML_INT, TOML_BOOL };

/* Inline tables and arrays nest at most this deep (a recursion bound). */
#define TOML_DEPTH_MAX 32
/* Values in one document: a bound on memory (uv.lock of a large project
 * has some 10^4-10^5). */
#define TOML_NODES_MAX 2000000

struct toml {
	int type;
	char *key;          /* its key in the table that holds it, or NULL */
	char *str;          /* TOML_STR: the value, NUL-terminated (no NUL inside) */
	long long i;        /* TOML_INT; TOML_BOOL: 0 or 1 */
	struct toml *kids, *last, *next;
	size_t line, col;   /* where it is defined (1-based) */
	int flags;          /* internal */
};

/* Parse p[0..n).  The root table, or NULL with e set (EX_DATA, EX_SYS:
 * out of memory). */
struct toml *toml_parse(const char *p, size_t n, struct merr *e);

void toml_free(struct toml *t);

/* The member key of table t, or NULL (also when t is NULL). */
const struct toml *toml_get(const struct toml *t, const char *key);

/* The string member key of table t, or NULL. */
const char *toml_str(const struct toml *t, const char *key);

#endif
