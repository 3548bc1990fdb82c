/* toml.c — the TOML subset of uv.lock (toml.h): the tree,
 * values and tables; the lexical layer is tomllex.c. */
#include <stdlib.h>
#include <string.h>
#include "toml_int.h"

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
	tp_blanks(t);
	if (peek(t) == '}') {
		t->i++;
		return 0;
	}
	for (;;) {
		tp_blanks(t);
		if ((rc = tp_key(t, &kb)))
			break;
		if (member(v, kb.p)) {
			rc = bad(t, "the key \"%.60s\" is defined twice", kb.p);
			break;
		}
		tp_blanks(t);
		if (peek(t) != '=') {
			rc = bad(t, "'=' expected after a key (dotted keys are not in the subset)");
			break;
		}
		t->i++;
		tp_blanks(t);
		if ((rc = value(t, v, kb.p, kb.len, depth + 1)))
			break;
		tp_blanks(t);
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
		tp_skip(t, 1);
		if (peek(t) == ']') {
			t->i++;
			return 0;
		}
		int rc = value(t, v, NULL, 0, depth + 1);
		if (rc)
			return rc;
		tp_skip(t, 1);
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
		if (!(v = node(t, TOML_STR, parent, k, kn)) || tp_string(t, &b)) {
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
		tp_blanks(t);
		if ((rc = tp_key(t, &kb)))
			break;
		tp_blanks(t);
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
	return rc ? rc : tp_eol(t);
}

struct toml *toml_parse(const char *p, size_t n, struct merr *e)
{
	struct tp t = { p, n, 0, 1, 0, 0, e };
	struct toml *root, *cur;
	struct buf kb = BUF_INIT;
	size_t u = tp_utf8_ok((const unsigned char *)p, n), ks;
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
		tp_skip(&t, 1);
		if (peek(&t) == -1)
			break;
		if (peek(&t) == '[') {
			rc = header(&t, root, &cur);
		} else if ((ks = t.i, !(rc = tp_key(&t, &kb)))) {
			tp_blanks(&t);
			if (member(cur, kb.p)) {
				t.i = ks;
				rc = bad(&t, "the key \"%.60s\" is defined twice", kb.p);
			}
			else if (peek(&t) != '=')
				rc = bad(&t, "'=' expected after a key (dotted keys are not in the subset uv writes)");
			else {
				t.i++;
				tp_blanks(&t);
				rc = value(&t, cur, kb.p, kb.len, 0);
				if (!rc)
					rc = tp_eol(&t);
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
