/* depsnode.c — a locked Node graph, hoisted into node_modules (depsnode.h). */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "archive.h"
#include "depsnode.h"
#include "io.h"
#include "json.h"

#define NPMJS "https://registry.npmjs.org/"
#define YARNPKG "https://registry.yarnpkg.com/"

int node_add(struct node_graph *g, const char *name, size_t nn, const char *ver, size_t vn,
	size_t *ix, struct merr *e)
{
	if (g->n >= NODE_MAX_PKGS)
		return merr_set(e, EX_NO, NULL, "more than %d locked packages", NODE_MAX_PKGS);
	if (g->n == g->cap) {
		size_t c = g->cap ? g->cap * 2 : 64;
		struct node_pkg *p = realloc(g->p, c * sizeof *p);
		if (!p)
			return merr_set(e, EX_SYS, NULL, "out of memory");
		g->p = p;
		g->cap = c;
	}
	struct node_pkg *p = &g->p[g->n];
	memset(p, 0, sizeof *p);
	p->fits = -1;
	p->name = strndup(name, nn);
	p->version = strndup(ver, vn);
	*ix = g->n++;
	if (!p->name || !p->version)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	return 0;
}

int node_dep(struct node_graph *g, size_t from, const char *as, size_t an, size_t to,
	int optional, struct merr *e)
{
	struct node_pkg *p = &g->p[from];

	if (p->ndep == p->capdep) {
		size_t c = p->capdep ? p->capdep * 2 : 8;
		struct node_edge *d = realloc(p->dep, c * sizeof *d);
		if (!d)
			return merr_set(e, EX_SYS, NULL, "out of memory");
		p->dep = d;
		p->capdep = c;
	}
	p->dep[p->ndep].to = to;
	p->dep[p->ndep].optional = optional;
	if (!(p->dep[p->ndep++].as = strndup(as, an)))
		return merr_set(e, EX_SYS, NULL, "out of memory");
	return 0;
}

void node_free(struct node_graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		struct node_pkg *p = &g->p[i];
		for (size_t j = 0; j < p->ndep; j++)
			free(p->dep[j].as);
		free(p->dep);
		free(p->name);
		free(p->version);
		free(p->url);
		free(p->integrity);
	}
	free(g->p);
	memset(g, 0, sizeof *g);
}

char *node_registry_url(const char *reg, const char *name, size_t nn, const char *ver, size_t vn)
{
	struct buf u = BUF_INIT;
	const char *base = memchr(name, '/', nn);

	base = base ? base + 1 : name;
	buf_puts(&u, reg);
	buf_put(&u, name, nn);
	buf_puts(&u, "/-/");
	buf_put(&u, base, nn - (size_t)(base - name));
	buf_putc(&u, '-');
	buf_put(&u, ver, vn);
	buf_puts(&u, ".tgz");
	return buf_cstr(&u);
}

char *node_registry(const char *srcdir, const char *scratch)
{
	const char *v = getenv("npm_config_registry");
	char out[4200], err[4300];
	struct buf b = BUF_INIT;

	if (!v || !*v)
		v = getenv("NPM_CONFIG_REGISTRY");
	if (v && *v)
		buf_puts(&b, v);
	else {
		/* npm's own answer (its .npmrc files); one URL on stdout */
		snprintf(out, sizeof out, "%s/npm-registry", scratch);
		snprintf(err, sizeof err, "%s.err", out);
		const char *argv[] = { "npm", "--prefix", srcdir, "config", "get", "registry", NULL };
		FILE *f;
		char line[2048] = "";
		if (deps_cmd(argv, NULL, err, out) == 0 && (f = fopen(out, "r"))) {
			if (fgets(line, sizeof line, f))
				line[strcspn(line, "\r\n")] = '\0';
			fclose(f);
		}
		unlink(out);
		unlink(err);
		buf_puts(&b, strncmp(line, "http", 4) == 0 ? line : NPMJS);
	}
	if (b.len && b.p[b.len - 1] != '/')
		buf_putc(&b, '/');
	return buf_cstr(&b);
}

char *node_rehost(const char *url, size_t n, const char *reg)
{
	struct buf u = BUF_INIT;
	const char *hash = memchr(url, '#', n);

	if (hash)
		n = (size_t)(hash - url);
	if (n > strlen(NPMJS) && strncmp(url, NPMJS, strlen(NPMJS)) == 0) {
		buf_puts(&u, reg);
		buf_put(&u, url + strlen(NPMJS), n - strlen(NPMJS));
	} else if (n > strlen(YARNPKG) && strncmp(url, YARNPKG, strlen(YARNPKG)) == 0) {
		buf_puts(&u, reg);
		buf_put(&u, url + strlen(YARNPKG), n - strlen(YARNPKG));
	} else {
		buf_put(&u, url, n);
	}
	return buf_cstr(&u);
}

/* ---- install ---- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return (flag == FTW_DP ? rmdir(p) : unlink(p)) == 0 || errno == ENOENT ? 0 : -1;
}

/* Does a string array (os, cpu) of package.json allow want?  As npm:
 * absent allows all, "!x" excludes x, a list of names allows those. */
static int allows(const struct jdoc *d, jref a, const char *want)
{
	int any = 0, neg = 0;

	if (a == JREF_NONE || json_type(d, a) != J_ARR)
		return 1;
	for (jref v = json_first(d, a); v != JREF_NONE; v = json_next(d, v)) {
		size_t n;
		const char *s = json_type(d, v) == J_STR ? json_str(d, v, &n) : NULL;
		if (!s)
			continue;
		if (n && s[0] == '!') {
			neg = 1;
			if (n - 1 == strlen(want) && memcmp(s + 1, want, n - 1) == 0)
				return 0;
		} else if (n == strlen(want) && memcmp(s, want, n) == 0) {
			any = 1;
		}
	}
	return any || neg;
}

/* The unpacked package in dir: -1 optional and not for this OS/CPU (left
 * out, as npm does, whatever its scripts), EX_NO needs an install script,
 * else 0. */
static int inspect(const char *dir, const char *what, int optional, struct merr *e)
{
	static const char *const hooks[] = { "preinstall", "install", "postinstall" };
	char p[NODE_MAX_PATH + 4400];
	struct buf b = BUF_INIT;
	struct merr ign = { 0 };
	struct jdoc *d;
	int r = 0;

	snprintf(p, sizeof p, "%s/package.json", dir);
	if (read_file(p, &b, &ign) || !(d = json_parse(b.p ? b.p : "", b.len, NULL, &ign)))
		d = NULL;
	if (d && optional && !(allows(d, json_get(d, json_root(d), "os"), "linux") &&
			       allows(d, json_get(d, json_root(d), "cpu"), "x64")))
		r = -1;
	snprintf(p, sizeof p, "%s/binding.gyp", dir);
	if (!r && access(p, F_OK) == 0)
		r = merr_set(e, EX_NO, NULL,
			"%s: has an install script (a binding.gyp, built by node-gyp); mvm-deps never runs package code on the host and refuses it",
			what);
	jref s = d && !r ? json_get(d, json_root(d), "scripts") : JREF_NONE;
	for (size_t i = 0; i < 3 && !r; i++) {
		jref h = s == JREF_NONE ? JREF_NONE : json_get(d, s, hooks[i]);
		if (h != JREF_NONE && json_type(d, h) == J_STR)
			r = merr_set(e, EX_NO, NULL,
				"%s: has an install script (scripts.%s in its package.json); mvm-deps never runs package code on the host and refuses it",
				what, hooks[i]);
	}
	json_free(d);
	buf_free(&b);
	return r;
}

static int pathcmp(const void *a, const void *b)
{
	return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

int node_install(struct deps_run *x, struct node_graph *g, struct merr *e)
{
	struct node_layout h = { 0 };
	char *req = calloc(g->n ? g->n : 1, 1), (*digest)[16 + 129] = calloc(g->n ? g->n : 1, sizeof *digest);
	size_t *fetch = calloc(g->n ? g->n : 1, sizeof *fetch), *q = calloc(g->n ? g->n : 1, sizeof *q);
	struct deps_get *get = calloc(g->n ? g->n : 1, sizeof *get);
	char **dest = calloc(g->n ? g->n : 1, sizeof *dest), **what = calloc(g->n ? g->n : 1, sizeof *what);
	char ***order = NULL;
	size_t nq = 0, nget = 0;
	int rc = 0;

	if (!req || !digest || !fetch || !q || !get || !dest || !what)
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
	/* required: reached from the project through non-optional edges; the
	 * rest is optional */
	if (!rc && g->n) {
		req[0] = 1;
		q[nq++] = 0;
	}
	for (size_t i = 0; !rc && i < nq; i++)
		for (size_t j = 0; j < g->p[q[i]].ndep; j++) {
			size_t t = g->p[q[i]].dep[j].to;
			if (!req[t] && !g->p[q[i]].dep[j].optional) {
				req[t] = 1;
				q[nq++] = t;
			}
		}
	for (size_t i = 1; !rc && i < g->n; i++)
		g->p[i].optional = !req[i];
	if (!rc)
		rc = node_hoist(g, &h, e);
	/* each placed package fetched once, unless optional and not for here */
	for (size_t i = 1; !rc && i < h.n; i++) {
		struct node_pkg *p = &g->p[h.pl[i].pkg];
		size_t k = h.pl[i].pkg;
		if ((p->optional && p->fits == 0) || h.pl[h.pl[i].parent].skip) {
			h.pl[i].skip = 1;
			continue;
		}
		if (fetch[k])
			continue;
		struct buf w = BUF_INIT;
		buf_printf(&w, "%s@%s", p->name, p->version);
		what[k] = buf_cstr(&w);
		dest[k] = malloc(strlen(x->scratch) + 32);
		if (!what[k] || !dest[k] || !p->url || !p->integrity) {
			rc = merr_set(e, EX_SYS, NULL, "out of memory");
			break;
		}
		sprintf(dest[k], "%s/%zu.tgz", x->scratch, nget);
		get[nget++] = (struct deps_get){ what[k], p->url, dest[k] };
		fetch[k] = nget;
	}
	if (!rc)
		rc = deps_fetch_all(x, get, nget, e);
	/* verified, all of them, before anything is unpacked */
	for (size_t k = 1; !rc && k < g->n; k++)
		if (fetch[k])
			rc = deps_sri_verify(dest[k], g->p[k].integrity, what[k], digest[k],
				digest[k] + 16, e);
	if (!rc && !(order = calloc(h.n, sizeof *order)))
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
	for (size_t i = 0; !rc && i < h.n; i++)
		order[i] = &h.pl[i].path;
	if (!rc)
		qsort(order, h.n, sizeof *order, pathcmp);
	/* in path order: a package before what is nested in it */
	for (size_t o = 0; !rc && o < h.n; o++) {
		struct node_place *pl = (struct node_place *)((char *)order[o] - offsetof(struct node_place, path));
		size_t k = pl->pkg;
		char dir[NODE_MAX_PATH + 4200], w2[600];
		if (pl->parent == SIZE_MAX || pl->skip || (pl->skip = h.pl[pl->parent].skip))
			continue;
		snprintf(dir, sizeof dir, "%s/%s", x->tree, pl->path);
		if ((rc = untar_npm(dest[k], dir, e)) != 0) {
			snprintf(w2, sizeof w2, "%.80s: %.400s", what[k], e->msg);
			snprintf(e->msg, sizeof e->msg, "%.500s", w2);
			break;
		}
		int v = inspect(dir, what[k], g->p[k].optional, e);
		if (v == -1) {
			pl->skip = 1;
			nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
			continue;
		}
		if (v > 0) {
			rc = v;
			break;
		}
		struct buf purl = BUF_INIT;
		const char *nm = g->p[k].name;
		buf_puts(&purl, "pkg:npm/");
		buf_puts(&purl, nm[0] == '@' ? "%40" : "");
		buf_puts(&purl, nm[0] == '@' ? nm + 1 : nm);
		buf_printf(&purl, "@%s", g->p[k].version);
		rc = buf_cstr(&purl) ? deps_add_pkg(x, nm, strlen(nm), g->p[k].version, pl->path,
					       purl.p, digest[k], digest[k] + 16, e)
				     : merr_set(e, EX_SYS, NULL, "out of memory");
		buf_free(&purl);
	}
	for (size_t k = 0; k < g->n && dest && what; k++) {
		free(dest[k]);
		free(what[k]);
	}
	free(order);
	free(dest);
	free(what);
	free(get);
	free(q);
	free(fetch);
	free(digest);
	free(req);
	node_layout_free(&h);
	return rc;
}
