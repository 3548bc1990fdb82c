/* toml.c — the TOML subset of uv.lock (toml.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "toml.h"

enum { F_DEFINED = 1, F_AOT = 2, F_CLOSED = 4 };

struct tp {
	const char *p;
	size_t n, i, line, col0;   /* col0: offset of the line's first byte */
	size_t nodes;
	struct merr *e;
};

static int bad(struct tp *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct tp *t, const char *fmt, ...)
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

static struct toml *node(struct tp *t, int type, struct toml *parent, const char *key, size_t kn)
{
	struct toml *v;

	if (++t->nodes > TOML_NODES_MAX) {
		bad(t, "more than %d values", TOML_NODES_MAX);
		return NULL;
	}
	if (!(v = calloc(1, sizeof *v)) || (key && !(v->key = strndup(key, kn)))) {
		free(v);
		merr_set(t->e, EX_SYS, NULL, "out of memory");
		return NULL;
	}
	v->type = type;
	v->line = t->line;
	v->col = t->i - t->col0 + 1;
	if (parent) {
		if (parent->last)
			parent->last->next = v;
		else
			parent->kids = v;
		parent->last = v;
	}
	return v;
}

void toml_free(struct toml *t)
{
	while (t) {
		struct toml *next = t->next;
		toml_free(t->kids);
		free(t->key);
		free(t->str);
		free(t);
		t = next;
	}
}

const struct toml *toml_get(const struct toml *t, const char *key)
{
	for (const struct toml *k = t && t->type == TOML_TABLE ? t->kids : NULL; k; k = k->next)
		if (!strcmp(k->key, key))
			return k;
	return NULL;
}

const char *toml_str(const struct toml *t, const char *key)
{
	const struct toml *v = toml_get(t, key);

	return v && v->type == TOML_STR ? v->str : NULL;
}

static int peek(struct tp *t)
{
	return t->i < t->n ? (unsigned char)t->p[t->i] : -1;
}

static void blanks(struct tp *t)
{
	while (peek(t) == ' ' || peek(t) == '\t')
		t->i++;
}

/* Blanks, a comment, and (when nl) newlines, over any number of lines. */
static void skip(struct tp *t, int nl)
{
	for (;;) {
		blanks(t);
		if (peek(t) == '#')
			while (peek(t) != -1 && peek(t) != '\n')
				t->i++;
		if (!nl)
			return;
		if (peek(t) == '\r' && t->i + 1 < t->n && t->p[t->i + 1] == '\n')
			t->i++;
		if (peek(t) != '\n')
			return;
		t->i++;
		t->line++;
		t->col0 = t->i;
	}
}

/* The end of a line: blanks, a comment, then a newline or the end. */
static int eol(struct tp *t)
{
	skip(t, 0);
	if (peek(t) == -1)
		return 0;
	if (peek(t) == '\r' && t->i + 1 < t->n && t->p[t->i + 1] == '\n')
		t->i++;
	if (peek(t) != '\n')
		return bad(t, "unexpected '%c' at the end of a line", peek(t) < ' ' ? '?' : peek(t));
	return 0;
}

static void utf8(struct buf *b, unsigned long c)
{
	if (c < 0x80) {
		buf_putc(b, (char)c);
	} else if (c < 0x800) {
		buf_putc(b, (char)(0xc0 | c >> 6));
		buf_putc(b, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		buf_putc(b, (char)(0xe0 | c >> 12));
		buf_putc(b, (char)(0x80 | (c >> 6 & 0x3f)));
		buf_putc(b, (char)(0x80 | (c & 0x3f)));
	} else {
		buf_putc(b, (char)(0xf0 | c >> 18));
		buf_putc(b, (char)(0x80 | (c >> 12 & 0x3f)));
		buf_putc(b, (char)(0x80 | (c >> 6 & 0x3f)));
		buf_putc(b, (char)(0x80 | (c & 0x3f)));
	}
}

/* A basic or literal one-line string at t->i into b. */
static int string(struct tp *t, struct buf *b)
{
	int q = peek(t);

	b->len = 0;
	if (t->i + 2 < t->n && t->p[t->i + 1] == q && t->p[t->i + 2] == q)
		return bad(t, "a multi-line string (not in the subset uv writes)");
	for (t->i++;; t->i++) {
		int c = peek(t);
		if (c == -1 || c == '\n')
			return bad(t, "an unterminated string");
		if (c == q) {
			t->i++;
			return buf_cstr(b) ? 0 : merr_set(t->e, EX_SYS, NULL, "out of memory");
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return bad(t, "a control character in a string");
		if (c != '\\' || q == '\'') {
			buf_putc(b, (char)c);
			continue;
		}
		static const char esc[] = "b\bt\tn\nf\fr\r\"\"\\\\";
		const char *s;
		c = ++t->i < t->n ? (unsigned char)t->p[t->i] : -1;
		if (c > 0 && c != 'u' && c != 'U' && (s = strchr(esc, c)) && (s - esc) % 2 == 0) {
			buf_putc(b, s[1]);
			continue;
		}
		size_t k = c == 'u' ? 4 : c == 'U' ? 8 : 0;
		unsigned long u = 0;
		if (!k || t->i + k >= t->n)
			return bad(t, "an invalid escape in a string");
		for (size_t j = 1; j <= k; j++) {
			char h = t->p[t->i + j];
			int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 :
				h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
			if (d < 0)
				return bad(t, "an invalid \\u escape");
			u = u << 4 | (unsigned long)d;
		}
		if (u == 0 || (u >= 0xd800 && u <= 0xdfff) || u > 0x10ffff)
			return bad(t, "an escape that is not a Unicode scalar value (or is NUL)");
		utf8(b, u);
		t->i += k;
	}
}

/* One key (bare or quoted) into b. */
static int key(struct tp *t, struct buf *b)
{
	b->len = 0;
	if (peek(t) == '"' || peek(t) == '\'') {
		if (string(t, b))
			return EX_DATA;
		return b->len && !memchr(b->p, '\0', b->len) ? 0 : bad(t, "an empty or NUL key");
	}
	while (peek(t) > 0 && (strchr("_-", peek(t)) || (peek(t) >= 'a' && peek(t) <= 'z') ||
				 (peek(t) >= 'A' && peek(t) <= 'Z') || (peek(t) >= '0' && peek(t) <= '9')))
		buf_putc(b, t->p[t->i++]);
	if (b->len == 0)
		return bad(t, "a key expected");
	return buf_cstr(b) ? 0 : merr_set(t->e, EX_SYS, NULL, "out of memory");
}

static struct toml *member(struct toml *tab, const char *k)
{
	return (struct toml *)toml_get(tab, k);
}

static int value(struct tp *t, struct toml *parent, const char *k, size_t kn, int depth);

/* An inline table {k = v, ...} on one line. */
static int inline_table(struct tp *t, struct toml *v, int depth)
{
	struct buf kb = BUF_INIT;
	int rc = 0;

	t->i++;
	blanks(t);
	if (peek(t) == '}') {
		t->i++;
		return 0;
	}
	for (;;) {
		blanks(t);
		if ((rc = key(t, &kb)))
			break;
		if (member(v, kb.p)) {
			rc = bad(t, "the key \"%.60s\" is defined twice", kb.p);
			break;
		}
		blanks(t);
		if (peek(t) != '=') {
			rc = bad(t, "'=' expected after a key (dotted keys are not in the subset)");
			break;
		}
		t->i++;
		blanks(t);
		if ((rc = value(t, v, kb.p, kb.len, depth + 1)))
			break;
		blanks(t);
		if (peek(t) == ',') {
			t->i++;
			continue;
		}
		if (peek(t) == '}') {
			t->i++;
			break;
		}
		rc = bad(t, "',' or '}' expected in an inline table");
		break;
	}
	buf_free(&kb);
	return rc;
}

static int array(struct tp *t, struct toml *v, int depth)
{
	t->i++;
	for (;;) {
		skip(t, 1);
		if (peek(t) == ']') {
			t->i++;
			return 0;
		}
		int rc = value(t, v, NULL, 0, depth + 1);
		if (rc)
			return rc;
		skip(t, 1);
		if (peek(t) == ',') {
			t->i++;
			continue;
		}
		if (peek(t) == ']') {
			t->i++;
			return 0;
		}
		return bad(t, "',' or ']' expected in an array");
	}
}

static int value(struct tp *t, struct toml *parent, const char *k, size_t kn, int depth)
{
	int c = peek(t);
	struct toml *v;

	if (depth > TOML_DEPTH_MAX)
		return bad(t, "values nest deeper than %d", TOML_DEPTH_MAX);
	if (c == '"' || c == '\'') {
		struct buf b = BUF_INIT;
		if (!(v = node(t, TOML_STR, parent, k, kn)) || string(t, &b)) {
			buf_free(&b);
			return t->e->code;
		}
		if (memchr(b.p, '\0', b.len)) {
			buf_free(&b);
			return bad(t, "a NUL in a string");
		}
		v->str = b.p;
		return 0;
	}
	if (c == '[' || c == '{') {
		if (!(v = node(t, c == '[' ? TOML_ARRAY : TOML_TABLE, parent, k, kn)))
			return t->e->code;
		v->flags = F_CLOSED | F_DEFINED;
		return c == '[' ? array(t, v, depth) : inline_table(t, v, depth);
	}
	if (t->n - t->i >= 4 && !memcmp(t->p + t->i, "true", 4)) {
		if (!(v = node(t, TOML_BOOL, parent, k, kn)))
			return t->e->code;
		v->i = 1;
		t->i += 4;
		return 0;
	}
	if (t->n - t->i >= 5 && !memcmp(t->p + t->i, "false", 5)) {
		if (!(v = node(t, TOML_BOOL, parent, k, kn)))
			return t->e->code;
		t->i += 5;
		return 0;
	}
	size_t s = t->i + (c == '+' || c == '-'), j = s;
	long long x = 0;
	while (j < t->n && t->p[j] >= '0' && t->p[j] <= '9' && j - s < 18)
		x = x * 10 + (t->p[j++] - '0');
	if (j == s || (j < t->n && (!t->p[j] || strchr("0123456789._:eExob-", t->p[j]))) ||
	    (t->p[s] == '0' && j - s > 1))
		return bad(t, "a value expected (a string, an integer, true, false, an array or an inline table)");
	if (!(v = node(t, TOML_INT, parent, k, kn)))
		return t->e->code;
	v->i = c == '-' ? -x : x;
	t->i = j;
	return 0;
}

/* A [header] or [[header]] at t->i: the table it opens in *cur. */
static int header(struct tp *t, struct toml *root, struct toml **cur)
{
	int aot = t->n - t->i >= 2 && t->p[t->i + 1] == '[';
	size_t col = t->i - t->col0 + 1;
	struct buf kb = BUF_INIT;
	struct toml *tab = root, *v = NULL;
	int rc;

	t->i += aot ? 2 : 1;
	for (;;) {
		blanks(t);
		if ((rc = key(t, &kb)))
			break;
		blanks(t);
		int last = peek(t) != '.';
		v = member(tab, kb.p);
		if (last)
			break;
		t->i++;
		if (!v) {
			if (!(v = node(t, TOML_TABLE, tab, kb.p, kb.len))) {
				rc = t->e->code;
				break;
			}
		} else if (v->type == TOML_ARRAY && (v->flags & F_AOT)) {
			v = v->last;
		} else if (v->type != TOML_TABLE || (v->flags & F_CLOSED)) {
			rc = bad(t, "\"%.60s\" is not a table that can be extended", kb.p);
			break;
		}
		tab = v;
	}
	if (!rc && (peek(t) != ']' || (aot && (t->i + 1 >= t->n || t->p[t->i + 1] != ']'))))
		rc = bad(t, "'%s' expected", aot ? "]]" : "]");
	if (!rc) {
		t->i += aot ? 2 : 1;
		if (aot) {
			if (v && (v->type != TOML_ARRAY || !(v->flags & F_AOT)))
				rc = bad(t, "\"%.60s\" is already defined, not as an array of tables", kb.p);
			else if (!v && !(v = node(t, TOML_ARRAY, tab, kb.p, kb.len)))
				rc = t->e->code;
			if (!rc) {
				v->flags = F_AOT;
				if (!(*cur = node(t, TOML_TABLE, v, NULL, 0)))
					rc = t->e->code;
				else
					(*cur)->col = col;
			}
		} else if (v && (v->type != TOML_TABLE || (v->flags & (F_DEFINED | F_CLOSED)))) {
			rc = bad(t, "the table \"%.60s\" is defined twice", kb.p);
		} else if (!v && !(v = node(t, TOML_TABLE, tab, kb.p, kb.len))) {
			rc = t->e->code;
		} else {
			v->flags |= F_DEFINED;
			v->col = col;
			*cur = v;
		}
	}
	buf_free(&kb);
	return rc ? rc : eol(t);
}

/* Is p[0..n) UTF-8 without overlongs and surrogates?  The offset of the
 * first bad byte, or n. */
static size_t utf8_ok(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		size_t k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
			(c & 0xf8) == 0xf0 ? 3 : 9;
		if (k == 9 || i + k >= n + (k == 0) || (k == 1 && c < 0xc2))
			return i;
		unsigned long u = c & (0x7f >> k);
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return i;
			u = u << 6 | (p[i + j] & 0x3f);
		}
		if ((k == 2 && (u < 0x800 || (u >= 0xd800 && u <= 0xdfff))) ||
		    (k == 3 && (u < 0x10000 || u > 0x10ffff)))
			return i;
		i += k + 1;
	}
	return n;
}

struct toml *toml_parse(const char *p, size_t n, struct merr *e)
{
	struct tp t = { p, n, 0, 1, 0, 0, e };
	struct toml *root, *cur;
	struct buf kb = BUF_INIT;
	size_t u = utf8_ok((const unsigned char *)p, n), ks;
	int rc = 0;

	merr_clear(e);
	if (u < n) {
		for (size_t i = 0; i < u; i++)
			if (p[i] == '\n')
				t.line++, t.col0 = i + 1;
		t.i = u;
		bad(&t, "not UTF-8");
		return NULL;
	}
	if (!(root = cur = node(&t, TOML_TABLE, NULL, NULL, 0)))
		return NULL;
	for (;;) {
		skip(&t, 1);
		if (peek(&t) == -1)
			break;
		if (peek(&t) == '[') {
			rc = header(&t, root, &cur);
		} else if ((ks = t.i, !(rc = key(&t, &kb)))) {
			blanks(&t);
			if (member(cur, kb.p)) {
				t.i = ks;
				rc = bad(&t, "the key \"%.60s\" is defined twice", kb.p);
			}
			else if (peek(&t) != '=')
				rc = bad(&t, "'=' expected after a key (dotted keys are not in the subset uv writes)");
			else {
				t.i++;
				blanks(&t);
				rc = value(&t, cur, kb.p, kb.len, 0);
				if (!rc)
					rc = eol(&t);
			}
		}
		if (rc)
			break;
	}
	buf_free(&kb);
	if (rc) {
		toml_free(root);
		return NULL;
	}
	return root;
}
