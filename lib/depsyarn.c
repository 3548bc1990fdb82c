/* depsyarn.c — yarn.lock v1 (Yarn classic) onto the deps volume
 * (depsnode.h).
 *
 * Why ours: yarn.lock v1 is Yarn's own format (not YAML, not JSON; its only
 * reader is Yarn's JavaScript), and it is small:
 *
 *   # comment                       (column 1 only)
 *   KEY[, KEY]...:                  an entry; KEY is "name@range"
 *     FIELD VALUE                   version, resolved, integrity, ...
 *     FIELD:                        dependencies, optionalDependencies
 *       NAME RANGE
 *
 * with two-space indents, a VALUE or KEY either bare (no blank, quote,
 * comma or colon) or a double-quoted JSON string (escapes \" \\ \/ only).
 * Anything else is refused with lockfile:line:col.  Every key appears once;
 * each entry has version, resolved and integrity; each dependency
 * "NAME RANGE" is the key NAME@RANGE of an entry.  The roots are the
 * project's package.json dependencies and optionalDependencies (yarn.lock
 * does not record them; not devDependencies, as npm ci --omit=dev), read
 * by depsyarnpkg.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "depsnode.h"

struct key {
	char *k;
	size_t pkg;
};

struct edge {
	char *as, *range;
	size_t from, line, col;
	int optional;
};

struct yp {
	const char *name, *p;    /* lockfile name, bytes */
	size_t n, i, line;       /* position: byte, line (1-based) */
	struct key *k;
	size_t nk, capk;
	struct edge *ed;
	size_t ne, cape;
	struct merr *e;
};

static int bad(struct yp *y, size_t col, const char *msg)
{
	char w[128];

	snprintf(w, sizeof w, "%.90s:%zu:%zu", y->name, y->line, col);
	return merr_set(y->e, EX_DATA, w, "%s", msg);
}

/* A token at s[*c] of the line s (length n): quoted or bare; *c moves
 * past it.  NULL with e set on error. */
static char *token(struct yp *y, const char *s, size_t n, size_t *c)
{
	struct buf b = BUF_INIT;
	size_t i = *c;

	if (i < n && s[i] == '"') {
		for (i++; i < n && s[i] != '"'; i++) {
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
				buf_free(&b);
				return bad(y, i + 1, "a control byte in a string"), NULL;
			}
			if (s[i] == '\\') {
				if (i + 1 >= n || !strchr("\"\\/", s[i + 1])) {
					buf_free(&b);
					return bad(y, i + 1, "an escape other than \\\" \\\\ \\/"), NULL;
				}
				i++;
			}
			buf_putc(&b, s[i]);
		}
		if (i >= n) {
			buf_free(&b);
			return bad(y, *c + 1, "a string with no closing quote"), NULL;
		}
		i++;
	} else {
		for (; i < n && !strchr(" \",:#", s[i]); i++) {
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
				buf_free(&b);
				return bad(y, i + 1, "a control byte"), NULL;
			}
			buf_putc(&b, s[i]);
		}
	}
	if (b.len == 0) {
		buf_free(&b);
		return bad(y, *c + 1, "expected a name or a value"), NULL;
	}
	*c = i;
	char *r = buf_cstr(&b);
	if (!r)
		merr_set(y->e, EX_SYS, NULL, "out of memory");
	return r;
}

/* name@range: the position of the '@' that ends the name, or 0. */
static size_t at(const char *k)
{
	const char *a = strchr(k + (k[0] == '@'), '@');

	return a ? (size_t)(a - k) : 0;
}

static int keycmp(const void *a, const void *b)
{
	return strcmp(((const struct key *)a)->k, ((const struct key *)b)->k);
}

/* The entry starting at line s (indent 0): its keys; then its fields. */
static int entry(struct yp *y, const char *s, size_t n, struct node_graph *g)
{
	size_t c = 0, first = y->nk, pkg;
	char *ver = NULL, *res = NULL, *integ = NULL;
	int r = 0, section = 0; /* 0 none, 1 dependencies, 2 optional, 3 other */

	for (;;) {
		char *k = token(y, s, n, &c);
		if (!k)
			return y->e->code;
		if (!at(k) || at(k) + 1 == strlen(k)) {
			free(k);
			return bad(y, 1, "an entry key is not name@range");
		}
		if (y->nk == y->capk) {
			size_t cp = y->capk ? y->capk * 2 : 64;
			struct key *t = realloc(y->k, cp * sizeof *t);
			if (!t) {
				free(k);
				return merr_set(y->e, EX_SYS, NULL, "out of memory");
			}
			y->k = t;
			y->capk = cp;
		}
		y->k[y->nk++] = (struct key){ k, g->n };
		if (c < n && s[c] == ':' && c + 1 == n)
			break;
		if (!(c + 2 < n && s[c] == ',' && s[c + 1] == ' '))
			return bad(y, c + 1, "expected \", \" or \":\" at the end of the line");
		c += 2;
	}
	/* the package's name: the first key's, or an npm: alias's target */
	const char *k0 = y->k[first].k, *nm = k0;
	size_t nn = at(k0);
	if (strncmp(k0 + nn + 1, "npm:", 4) == 0 && at(k0 + nn + 5)) {
		nm = k0 + nn + 5;
		nn = at(nm);
	}
	if ((r = node_add(g, nm, nn, "", 0, &pkg, y->e)) != 0)
		return r;
	/* the fields */
	while (y->i < y->n && r == 0) {
		const char *l = y->p + y->i, *eol = memchr(l, '\n', y->n - y->i);
		size_t ln = eol ? (size_t)(eol - l) : y->n - y->i, ind = 0;
		if (ln == 0 || (l[0] != ' ' && ln > 0))
			break;
		y->i += ln + (eol != NULL);
		y->line++;
		if (ln && l[ln - 1] == '\r')
			ln--;
		while (ind < ln && l[ind] == ' ')
			ind++;
		if (ind == ln)
			continue;
		size_t c2 = ind;
		char *f = token(y, l, ln, &c2), *v = NULL;
		if (!f) {
			r = y->e->code;
			break;
		}
		if (ind == 2 && c2 + 1 == ln && l[c2] == ':') {
			section = strcmp(f, "dependencies") == 0 ? 1 : strcmp(f, "optionalDependencies") == 0 ? 2 : 3;
		} else if ((ind == 2 || (ind == 4 && section)) && c2 < ln && l[c2] == ' ') {
			c2++;
			if (!(v = token(y, l, ln, &c2)))
				r = y->e->code;
			else if (c2 != ln)
				r = bad(y, c2 + 1, "more after the value");
			else if (ind == 2) {
				char **slot = strcmp(f, "version") == 0 ? &ver : strcmp(f, "resolved") == 0 ? &res
					: strcmp(f, "integrity") == 0 ? &integ : NULL;
				section = 0;
				if (slot && *slot)
					r = bad(y, 3, "a field given twice");
				else if (slot) {
					*slot = v;
					v = NULL;
				}
			} else if (section != 3) {
				if (y->ne == y->cape) {
					size_t cp = y->cape ? y->cape * 2 : 64;
					struct edge *t = realloc(y->ed, cp * sizeof *t);
					if (!t)
						r = merr_set(y->e, EX_SYS, NULL, "out of memory");
					else {
						y->ed = t;
						y->cape = cp;
					}
				}
				if (!r) {
					y->ed[y->ne++] = (struct edge){ f, v, pkg, y->line, 5, section == 2 };
					f = v = NULL;
				}
			}
		} else {
			r = bad(y, ind + 1, ind == 2 || ind == 4 ? "expected \"FIELD VALUE\" or \"FIELD:\""
							      : "indented by other than 2 or 4 spaces");
		}
		free(f);
		free(v);
	}
	if (!r && (!ver || !res || !integ)) {
		char m[200];
		snprintf(m, sizeof m, "entry %.100s: no %s", y->k[first].k,
			!ver ? "version" : !res ? "resolved" : "integrity");
		r = merr_set(y->e, !ver ? EX_DATA : EX_NO, NULL, "%.90s: %s", y->name, m);
	}
	if (!r) {
		free(g->p[pkg].version);
		g->p[pkg].version = ver;
		g->p[pkg].url = res;
		g->p[pkg].integrity = integ;
		return 0;
	}
	free(ver);
	free(res);
	free(integ);
	return r;
}

static size_t find(const struct yp *y, const char *as, const char *range)
{
	size_t an = strlen(as), rn = strlen(range);
	char *k = y->nk ? malloc(an + rn + 2) : NULL;

	if (!k)
		return SIZE_MAX;
	sprintf(k, "%s@%s", as, range);
	struct key want = { k, 0 }, *f = bsearch(&want, y->k, y->nk, sizeof *y->k, keycmp);
	free(k);
	return f ? f->pkg : SIZE_MAX;
}

int yarn_parse(const char *lockname, const char *p, size_t n, const char *const *roots,
	const int *ropt, size_t nroots, struct node_graph *g, struct merr *e)
{
	struct yp y = { lockname, p, n, 0, 0, NULL, 0, 0, NULL, 0, 0, e };
	int r = 0, header = 0;

	while (y.i < n && r == 0) {
		const char *l = p + y.i, *eol = memchr(l, '\n', n - y.i);
		size_t ln = eol ? (size_t)(eol - l) : n - y.i;
		y.i += ln + (eol != NULL);
		y.line++;
		if (ln && l[ln - 1] == '\r')
			ln--;
		if (ln == 0)
			continue;
		if (l[0] == '#') {
			if (ln == 18 && memcmp(l, "# yarn lockfile v1", 18) == 0)
				header = 1;
			continue;
		}
		if (l[0] == ' ')
			r = bad(&y, 1, "an indented line outside an entry");
		else if (!header)
			r = bad(&y, 1, "no \"# yarn lockfile v1\" line before the first entry");
		else
			r = entry(&y, l, ln, g);
	}
	if (!r && !header)
		r = merr_set(e, EX_DATA, NULL, "%.90s: no \"# yarn lockfile v1\" line; not a Yarn classic lockfile", lockname);
	if (y.nk)
		qsort(y.k, y.nk, sizeof *y.k, keycmp);
	for (size_t i = 1; !r && i < y.nk; i++)
		if (strcmp(y.k[i - 1].k, y.k[i].k) == 0)
			r = merr_set(e, EX_DATA, NULL, "%.90s: key %.200s appears twice", lockname, y.k[i].k);
	for (size_t i = 0; !r && i < y.ne; i++) {
		size_t to = find(&y, y.ed[i].as, y.ed[i].range);
		char w[128];
		snprintf(w, sizeof w, "%.90s:%zu:%zu", lockname, y.ed[i].line, y.ed[i].col);
		if (to == SIZE_MAX)
			r = merr_set(e, EX_DATA, w, "%.100s@%.100s is not an entry of the lockfile",
				y.ed[i].as, y.ed[i].range);
		else
			r = node_dep(g, y.ed[i].from, y.ed[i].as, strlen(y.ed[i].as), to, y.ed[i].optional, e);
	}
	for (size_t i = 0; !r && i < nroots; i++) {
		size_t a = roots[i][0] ? at(roots[i]) : 0, to = SIZE_MAX;
		if (a) {
			char *as = strndup(roots[i], a);
			to = as ? find(&y, as, roots[i] + a + 1) : SIZE_MAX;
			free(as);
		}
		if (to == SIZE_MAX)
			r = merr_set(e, EX_NO, NULL,
				"package.json requires %.200s, which %.90s does not lock (run yarn install)",
				roots[i], lockname);
		else
			r = node_dep(g, 0, roots[i], a, to, ropt ? ropt[i] : 0, e);
	}
	for (size_t i = 0; i < y.nk; i++)
		free(y.k[i].k);
	for (size_t i = 0; i < y.ne; i++) {
		free(y.ed[i].as);
		free(y.ed[i].range);
	}
	free(y.k);
	free(y.ed);
	return r;
}
