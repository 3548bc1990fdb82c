/* jsonget.c — the accessors of json.h over the tape */
#include <stdlib.h>
#include <string.h>
#include "json_int.h"

size_t jsonp_long_len(const struct jdoc *d, const struct jtok *t)
{
	uint32_t n;
	const char *s, *q;

	if (t->a & F_X) {
		memcpy(&n, d->dec + t->b - 4, 4);
		return n;
	}
	/* raw text has no quote or backslash: it ends at the next quote */
	s = d->in + t->b;
	q = memchr(s, '"', d->inlen - t->b);
	return (size_t)(q - s);
}

static inline double tok_num(const struct jdoc *d, const struct jtok *t)
{
	if (t->a & F_X)
		return d->num[t->b];
	return (double)int_of_token(t);
}

/* Elements or members of a container, counted when the tape could not hold
 * the number (2^27 or more). */
static size_t tcount(const struct jdoc *d, uint32_t v)
{
	uint32_t n = d->t[v].a >> PAY_SHIFT, k;
	size_t c = 0;

	if (n != PAY_SAT)
		return n;
	if ((d->t[v].a & T_TYPE) == J_OBJ && (d->t[v].a & F_X))
		return d->ux[d->t[v].b].count;
	for (k = v + 1;; c++) {
		if ((d->t[v].a & T_TYPE) == J_OBJ)
			k++;
		if (d->t[k].a & F_LAST)
			return c + 1;
		k = tnext(d, k);
	}
}

jref json_root(const struct jdoc *d)
{
	(void)d;
	return 0;
}

enum jtype json_type(const struct jdoc *d, jref v)
{
	return v == JREF_NONE ? J_NONE : (enum jtype)(d->t[v].a & T_TYPE);
}

const char *json_typename(enum jtype t)
{
	switch (t) {
	case J_NULL: return "null";
	case J_FALSE:
	case J_TRUE: return "boolean";
	case J_NUM: return "number";
	case J_STR: return "string";
	case J_ARR: return "array";
	case J_OBJ: return "object";
	case J_NONE: return "absent";
	}
	return "?";
}

const char *json_str(const struct jdoc *d, jref v, size_t *len)
{
	size_t n;
	const char *s;

	if (json_type(d, v) != J_STR) {
		if (len)
			*len = 0;
		return NULL;
	}
	s = tok_str(d, &d->t[v], &n);
	if (len)
		*len = n;
	return s;
}

int json_str_eq(const struct jdoc *d, jref v, const char *s)
{
	size_t n;
	const char *p = json_str(d, v, &n);

	return p && n == strlen(s) && memcmp(p, s, n) == 0;
}

char *json_strdup(const struct jdoc *d, jref v)
{
	size_t n;
	const char *p = json_str(d, v, &n);
	char *s;

	if (!p || memchr(p, '\0', n) || !(s = malloc(n + 1)))
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

double json_num(const struct jdoc *d, jref v)
{
	return json_type(d, v) == J_NUM ? tok_num(d, &d->t[v]) : 0;
}

size_t json_len(const struct jdoc *d, jref v)
{
	enum jtype t = json_type(d, v);

	size_t n;

	if (t == J_STR) {
		tok_str(d, &d->t[v], &n);
		return n;
	}
	return t == J_ARR || t == J_OBJ ? tcount(d, v) : 0;
}

jref json_first(const struct jdoc *d, jref arr)
{
	enum jtype t = json_type(d, arr);

	if ((t != J_ARR && t != J_OBJ) || (d->t[arr].a >> PAY_SHIFT) == 0)
		return JREF_NONE;
	return arr + 1;
}

jref json_first_key(const struct jdoc *d, jref obj)
{
	return json_type(d, obj) == J_OBJ ? json_first(d, obj) : JREF_NONE;
}

jref json_next(const struct jdoc *d, jref v)
{
	return v == JREF_NONE || (d->t[v].a & F_LAST) ? JREF_NONE : tnext(d, v);
}

jref json_next_key(const struct jdoc *d, jref key)
{
	return json_next(d, key + 1);
}

jref json_get(const struct jdoc *d, jref obj, const char *key)
{
	const struct jtok *t;
	size_t kn = strlen(key), lo = 0, hi;

	if (json_type(d, obj) != J_OBJ || ((t = &d->t[obj])->a >> PAY_SHIFT) == 0)
		return JREF_NONE;
	if (!(t->a & F_X)) {
		/* members in canonical order: walk (objects are small) */
		for (uint32_t k = obj + 1;; k = tnext(d, k + 1)) {
			size_t n;
			const char *s = tok_str(d, &d->t[k], &n);
			int r = json_keycmp(s, n, key, kn);
			if (r == 0)
				return k + 1;
			if (r > 0 || (d->t[k + 1].a & F_LAST))
				break;
		}
		return JREF_NONE;
	}
	hi = d->ux[t->b].count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2, n;
		uint32_t k = d->perm[d->ux[t->b].perm + mid];
		const char *s = tok_str(d, &d->t[k], &n);
		int r = json_keycmp(s, n, key, kn);

		if (r == 0)
			return k + 1;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return JREF_NONE;
}
