/* pymarker.c — PEP 508 environment markers, evaluated for the target
 * Python (pyenv.h).  Grammar (PEP 508):
 *   or   = and ('or' and)*
 *   and  = expr ('and' expr)*
 *   expr = '(' or ')' | var op var
 *   var  = name | 'string' | "string"
 *   op   = <= < != === == >= > ~= | in | not in
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "pyenv.h"

struct mp {
	const char *s;
	size_t n, i;
	const struct py_target *t;
	size_t *at;
	struct merr *e;
	int depth;
};

struct mval {
	const char *p;       /* the text (a literal's inside, or the name) */
	size_t n, pos;
	int var;             /* 0 literal, 1 string variable, 2 version variable */
	char v[16];          /* a variable's value */
};

/* a text and its length for "%.*s", at most 40 bytes */
#define S(p, n) (int)((n) > 40 ? 40 : (n)), (p)

static int fail(struct mp *m, size_t pos, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct mp *m, size_t pos, int code, const char *fmt, ...)
{
	va_list ap;

	*m->at = pos;
	va_start(ap, fmt);
	vsnprintf(m->e->msg, sizeof m->e->msg, fmt, ap);
	va_end(ap);
	m->e->code = code;
	m->e->where[0] = '\0';
	return code;
}

static void ws(struct mp *m)
{
	while (m->i < m->n && (m->s[m->i] == ' ' || m->s[m->i] == '\t'))
		m->i++;
}

static int word(struct mp *m, const char *w)
{
	size_t k = strlen(w);

	ws(m);
	if (m->i + k > m->n || memcmp(m->s + m->i, w, k))
		return 0;
	char c = m->i + k < m->n ? m->s[m->i + k] : ' ';
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
		return 0;
	m->i += k;
	return 1;
}

static const struct { const char *name, *value; } vars[] = {
	{ "sys_platform", "linux" }, { "platform_system", "Linux" }, { "os_name", "posix" },
	{ "platform_machine", PY_MACHINE }, { "implementation_name", "cpython" },
	{ "platform_python_implementation", "CPython" }, { NULL, NULL } };

static int value(struct mp *m, struct mval *v)
{
	ws(m);
	memset(v, 0, sizeof *v);
	v->pos = m->i;
	if (m->i >= m->n)
		return fail(m, m->i, EX_DATA, "a marker ends where a value was expected%.*s", S("", 0));
	char q = m->s[m->i];
	if (q == '"' || q == '\'') {
		const char *end = memchr(m->s + m->i + 1, q, m->n - m->i - 1);
		if (!end)
			return fail(m, m->i, EX_DATA, "an unterminated string %.*s", S(m->s + m->i, m->n - m->i));
		v->p = m->s + m->i + 1;
		v->n = (size_t)(end - v->p);
		m->i = (size_t)(end - m->s) + 1;
		return 0;
	}
	size_t k = m->i;
	while (k < m->n && ((m->s[k] >= 'a' && m->s[k] <= 'z') || m->s[k] == '_' ||
			    (m->s[k] >= 'A' && m->s[k] <= 'Z') || (m->s[k] >= '0' && m->s[k] <= '9') || m->s[k] == '.'))
		k++;
	v->p = m->s + m->i;
	v->n = k - m->i;
	if (v->n == 0)
		return fail(m, m->i, EX_DATA, "a marker variable or a quoted string expected at \"%.*s\"",
			S(m->s + m->i, m->n - m->i));
	m->i = k;
	if ((v->n == 14 && !memcmp(v->p, "python_version", 14)) ||
	    (v->n == 19 && !memcmp(v->p, "python_full_version", 19))) {
		v->var = 2;
		snprintf(v->v, sizeof v->v, "%d.%d", m->t->major, m->t->minor);
		return 0;
	}
	for (int j = 0; vars[j].name; j++)
		if (v->n == strlen(vars[j].name) && !memcmp(v->p, vars[j].name, v->n)) {
			v->var = 1;
			snprintf(v->v, sizeof v->v, "%s", vars[j].value);
			return 0;
		}
	return fail(m, v->pos, EX_NO,
		"the marker variable %.*s cannot be known for the image (mvm-deps knows python_version, python_full_version, sys_platform, platform_system, os_name, platform_machine, implementation_name, platform_python_implementation)",
		S(v->p, v->n));
}

/* A PEP 440 release N(.N)* (up to 8 parts), with ".*" when star is not
 * NULL.  The number of parts, or -1. */
static int release(const char *p, size_t n, long r[8], int *star)
{
	int k = 0;
	size_t i = 0;

	if (star) {
		*star = n >= 2 && !memcmp(p + n - 2, ".*", 2);
		if (*star)
			n -= 2;
	}
	while (i < n && k < 8) {
		size_t j = i;
		long x = 0;
		while (j < n && p[j] >= '0' && p[j] <= '9' && j - i < 9)
			x = x * 10 + (p[j++] - '0');
		if (j == i || (j < n && p[j] != '.'))
			return -1;
		r[k++] = x;
		i = j + (j < n);
		if (j < n && i == n)
			return -1;   /* a trailing '.' */
	}
	return i == n ? k : -1;
}

/* Compare release a (na parts) with b (nb), padded with zeros. */
static int relcmp(const long *a, int na, const long *b, int nb)
{
	for (int i = 0; i < na || i < nb; i++) {
		long x = i < na ? a[i] : 0, y = i < nb ? b[i] : 0;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

/* Does version v (nv parts) satisfy "op L"?  L in l (nl parts), star. */
static int spec(const long *v, int nv, const char *op, const long *l, int nl, int star)
{
	if (star) {   /* == / != with .*: the prefix */
		int eq = 1;
		for (int i = 0; i < nl; i++)
			eq &= (i < nv ? v[i] : 0) == l[i];
		return op[0] == '=' ? eq : !eq;
	}
	int c = relcmp(v, nv, l, nl);
	if (!strcmp(op, "==")) return c == 0;
	if (!strcmp(op, "!=")) return c != 0;
	if (!strcmp(op, "<")) return c < 0;
	if (!strcmp(op, "<=")) return c <= 0;
	if (!strcmp(op, ">")) return c > 0;
	if (!strcmp(op, ">=")) return c >= 0;
	/* ~=: >= L and the same release but for L's last part */
	return c >= 0 && relcmp(v, nl - 1 < nv ? nl - 1 : nv, l, nl - 1) == 0;
}

static int compare(struct mp *m, struct mval *a, const char *op, struct mval *b, size_t opos,
	int *val)
{
	int in = !strcmp(op, "in"), notin = !strcmp(op, "not in");
	const char *x = a->var ? a->v : a->p, *y = b->var ? b->v : b->p;
	size_t xn = a->var ? strlen(a->v) : a->n, yn = b->var ? strlen(b->v) : b->n;

	if (in || notin) {
		int found = yn >= xn && memmem(y, yn, x, xn) != NULL;
		*val = in ? found : !found;
		return 0;
	}
	if (a->var == 2 || b->var == 2) {
		static const char *const rev[][2] = { { "<", ">" }, { "<=", ">=" }, { ">", "<" },
			{ ">=", "<=" }, { "==", "==" }, { "!=", "!=" }, { NULL, NULL } };
		struct mval *ver = a->var == 2 ? a : b, *lit = a->var == 2 ? b : a;
		const char *o = op;
		if (lit->var)
			return fail(m, lit->pos, EX_NO, "a comparison of two variables (%.*s)", S(lit->p, lit->n));
		if (ver == b) {   /* 'L' op python_version: the operator reversed */
			o = NULL;
			for (int k = 0; rev[k][0]; k++)
				if (!strcmp(op, rev[k][0]))
					o = rev[k][1];
			if (!o)
				return fail(m, opos, EX_NO, "the operator %.*s with the version on its right", S(op, strlen(op)));
		}
		if (!strcmp(o, "===")) {
			*val = lit->n == strlen(ver->v) && !memcmp(lit->p, ver->v, lit->n);
			return 0;
		}
		long l[8], v[3] = { m->t->major, m->t->minor, 0 };
		int star, nl = release(lit->p, lit->n, l, &star);
		if (nl < 1 || (star && strcmp(o, "==") && strcmp(o, "!=")) || (!strcmp(o, "~=") && nl < 2))
			return fail(m, lit->pos, EX_NO,
				"the version \"%.*s\" is not a plain release (N.N...) mvm-deps compares", S(lit->p, lit->n));
		int full = ver->n == 19;
		*val = spec(v, full ? 3 : 2, o, l, nl, star);
		if (full) {   /* the patch level is not known: both ends must agree */
			v[2] = 999999;
			if (spec(v, 3, o, l, nl, star) != *val)
				return fail(m, ver->pos, EX_NO,
					"python_full_version against \"%.*s\" depends on the image's patch level, which mvm-deps does not know",
					S(lit->p, lit->n));
		}
		return 0;
	}
	if (!strcmp(op, "==") || !strcmp(op, "===") || !strcmp(op, "!=")) {
		int eq = xn == yn && !memcmp(x, y, xn);
		*val = op[0] == '!' ? !eq : eq;
		return 0;
	}
	return fail(m, opos, EX_NO, "the operator %.*s orders strings, which PEP 508 does not define",
		S(op, strlen(op)));
}

static int or_expr(struct mp *m, int *val);

static int expr(struct mp *m, int *val)
{
	static const char *const ops[] = { "===", "<=", ">=", "!=", "==", "~=", "<", ">", NULL };
	struct mval a, b;
	const char *op = NULL;
	int rc;

	ws(m);
	if (m->i < m->n && m->s[m->i] == '(') {
		if (++m->depth > 32)
			return fail(m, m->i, EX_DATA, "parentheses nest too deep%.*s", S("", 0));
		m->i++;
		if ((rc = or_expr(m, val)))
			return rc;
		ws(m);
		if (m->i >= m->n || m->s[m->i] != ')')
			return fail(m, m->i, EX_DATA, "a ')' expected%.*s", S("", 0));
		m->i++;
		m->depth--;
		return 0;
	}
	if ((rc = value(m, &a)))
		return rc;
	ws(m);
	size_t opos = m->i;
	for (int k = 0; ops[k] && !op; k++)
		if (m->i + strlen(ops[k]) <= m->n && !memcmp(m->s + m->i, ops[k], strlen(ops[k])))
			op = ops[k];
	if (op)
		m->i += strlen(op);
	else if (word(m, "in"))
		op = "in";
	else if (word(m, "not") && word(m, "in"))
		op = "not in";
	else
		return fail(m, opos, EX_DATA, "a comparison operator expected at \"%.*s\"", S(m->s + opos, m->n - opos));
	if ((rc = value(m, &b)))
		return rc;
	if (!a.var && !b.var)
		return fail(m, a.pos, EX_DATA, "a comparison of two strings (\"%.*s\")", S(a.p, a.n));
	return compare(m, &a, op, &b, opos, val);
}

static int and_expr(struct mp *m, int *val)
{
	int v, rc = expr(m, val);

	while (!rc && word(m, "and")) {
		rc = expr(m, &v);
		*val = *val && v;
	}
	return rc;
}

static int or_expr(struct mp *m, int *val)
{
	int v, rc = and_expr(m, val);

	while (!rc && word(m, "or")) {
		rc = and_expr(m, &v);
		*val = *val || v;
	}
	return rc;
}

int py_marker(const struct py_target *t, const char *s, size_t n, int *val, size_t *at,
	struct merr *e)
{
	struct mp m = { s, n, 0, t, at, e, 0 };
	int rc = or_expr(&m, val);

	ws(&m);
	if (!rc && m.i < n)
		rc = fail(&m, m.i, EX_DATA, "unexpected \"%.*s\" in the marker", S(s + m.i, n - m.i));
	return rc;
}
