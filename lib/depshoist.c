/* depshoist.c — where each package of a locked Node graph goes in
 * node_modules (depsnode.h, node_hoist). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "depsnode.h"


static int grow(void **p, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 4;
	void *q = realloc(*p, c * sz);
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

/* A package name as a path component: "x" or "@s/x", no ".", "..", empty,
 * leading dot, backslash or control byte. */
static int name_ok(const char *s)
{
	size_t n = strlen(s), parts = 0;

	if (!n || n > 214)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && s[j] != '/')
			j++;
		if (j == i || s[i] == '.')
			return 0;
		for (size_t q = i; q < j; q++)
			if ((unsigned char)s[q] < 0x21 || s[q] == '\\' || s[q] == 0x7f)
				return 0;
		parts++;
		i = j + 1;
		if (j == n - 1)
			return 0;
	}
	return parts == 1 ? s[0] != '@' : parts == 2 && s[0] == '@';
}

static size_t kid(const struct node_layout *h, size_t d, const char *as)
{
	for (size_t i = 0; i < h->pl[d].nkid; i++)
		if (strcmp(h->pl[h->pl[d].kid[i]].as, as) == 0)
			return h->pl[d].kid[i];
	return SIZE_MAX;
}

static size_t passed(const struct node_layout *h, size_t d, const char *as)
{
	for (size_t i = 0; i < h->pl[d].nps; i++)
		if (strcmp(h->pl[d].ps[i].as, as) == 0)
			return h->pl[d].ps[i].to;
	return SIZE_MAX;
}

/* Record that the dirs from d up to (not including) top resolve as to to. */
static int mark(struct node_layout *h, size_t d, size_t top, const char *as, size_t to)
{
	for (; d != top && d != SIZE_MAX; d = h->pl[d].parent) {
		if (passed(h, d, as) != SIZE_MAX)
			continue;
		struct node_place *p = &h->pl[d];
		if (grow((void **)&p->ps, &p->capps, p->nps, sizeof *p->ps))
			return -1;
		p->ps[p->nps++] = (struct node_pass){ as, to };
	}
	return 0;
}

static int edgecmp(const void *a, const void *b)
{
	return strcmp(((const struct node_edge *)a)->as, ((const struct node_edge *)b)->as);
}

int node_hoist(const struct node_graph *g, struct node_layout *h, struct merr *e)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->p[i].ndep > 1)
			qsort(g->p[i].dep, g->p[i].ndep, sizeof *g->p[i].dep, edgecmp);
	if (grow((void **)&h->pl, &h->cap, 0, sizeof *h->pl))
		return merr_set(e, EX_SYS, NULL, "out of memory");
	memset(&h->pl[0], 0, sizeof *h->pl);
	h->pl[0].parent = SIZE_MAX;
	h->pl[0].as = "";
	h->pl[0].path = strdup("");
	h->n = 1;
	/* breadth first: placement order is the queue */
	for (size_t q = 0; q < h->n; q++) {
		const struct node_pkg *p = &g->p[h->pl[q].pkg];
		for (size_t i = 0; i < p->ndep; i++) {
			const char *as = p->dep[i].as;
			size_t to = p->dep[i].to, cand = SIZE_MAX, a = q, found = SIZE_MAX;
			if (!name_ok(as))
				return merr_set(e, EX_DATA, NULL, "%s@%s: dependency name \"%.100s\" is not a package name",
					p->name, p->version, as);
			for (;;) {
				size_t c = kid(h, a, as), t = passed(h, a, as);
				if (c != SIZE_MAX) {
					if (h->pl[c].pkg == to)
						found = c;
					break;
				}
				if (t != SIZE_MAX && t != to)
					break;
				cand = a;
				if (h->pl[a].parent == SIZE_MAX)
					break;
				a = h->pl[a].parent;
			}
			if (found != SIZE_MAX) {
				if (mark(h, q, h->pl[found].parent, as, to))
					return merr_set(e, EX_SYS, NULL, "out of memory");
				continue;
			}
			if (cand == SIZE_MAX) /* the same name twice with two versions */
				return merr_set(e, EX_DATA, NULL, "%s@%s: requires \"%.100s\" as two different packages",
					p->name, p->version, as);
			if (h->n >= NODE_MAX_PLACED)
				return merr_set(e, EX_NO, NULL, "more than %d packages to place", NODE_MAX_PLACED);
			struct node_place *c = &h->pl[cand];
			size_t pl = strlen(c->path) + strlen(as) + 14;
			if (pl > NODE_MAX_PATH)
				return merr_set(e, EX_NO, NULL, "%s: nested deeper than %d bytes", as, NODE_MAX_PATH);
			if (grow((void **)&c->kid, &c->capkid, c->nkid, sizeof *c->kid) ||
			    grow((void **)&h->pl, &h->cap, h->n, sizeof *h->pl))
				return merr_set(e, EX_SYS, NULL, "out of memory");
			c = &h->pl[cand];
			c->kid[c->nkid++] = h->n;
			struct node_place *np = &h->pl[h->n];
			memset(np, 0, sizeof *np);
			np->pkg = to;
			np->parent = cand;
			np->as = as;
			if (!(np->path = malloc(pl + 1)))
				return merr_set(e, EX_SYS, NULL, "out of memory");
			snprintf(np->path, pl + 1, "%s%snode_modules/%s", c->path, *c->path ? "/" : "", as);
			h->n++;
			if (mark(h, q, cand, as, to))
				return merr_set(e, EX_SYS, NULL, "out of memory");
		}
	}
	return 0;
}

void node_layout_free(struct node_layout *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->pl[i].path);
		free(h->pl[i].kid);
		free(h->pl[i].ps);
	}
	free(h->pl);
}
