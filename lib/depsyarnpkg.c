/* depsyarnpkg.c — a yarn.lock project onto the deps volume (depsnode.h):
 * the roots from the project's package.json beside the lockfile (its
 * dependencies and optionalDependencies; not devDependencies, as npm ci
 * --omit=dev), the lockfile read by yarn_parse (depsyarn.c), each URL
 * moved to the project's registry, then node_install. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "depsnode.h"
#include "io.h"
#include "json.h"
#include "lockfile.h"

int deps_yarn(struct deps_run *x, const char *lockname, const char *lock, size_t n,
	const char *pkgjson, size_t pn, struct merr *e)
{
	struct node_graph g = { 0 };
	struct jdoc *d = json_parse(pkgjson, pn, NULL, e);
	const char **roots = NULL;
	int *ropt = NULL, r;
	size_t nr = 0, cap = 0, ig;

	if (!d) {
		char w[128];
		snprintf(w, sizeof w, "package.json:%.100s", e->where);
		memcpy(e->where, w, sizeof w);
		return EX_DATA;
	}
	r = node_add(&g, "(project)", 9, "", 0, &ig, e);
	static const char *const sect[] = { "dependencies", "optionalDependencies" };
	for (int s = 0; s < 2 && !r; s++) {
		jref o = json_get(d, json_root(d), sect[s]);
		if (o == JREF_NONE)
			continue;
		if (json_type(d, o) != J_OBJ) {
			r = merr_set(e, EX_DATA, NULL, "package.json: /%s is not an object", sect[s]);
			break;
		}
		for (jref k = json_first_key(d, o); k != JREF_NONE && !r; k = json_next_key(d, k)) {
			size_t kn, vn;
			const char *kk = json_str(d, k, &kn), *v = json_type(d, json_value(k)) == J_STR
				? json_str(d, json_value(k), &vn) : NULL;
			if (!v) {
				r = merr_set(e, EX_DATA, NULL, "package.json: /%s/%.100s is not a string", sect[s], kk);
				break;
			}
			if (nr == cap) {
				cap = cap ? cap * 2 : 16;
				const char **t = realloc(roots, cap * sizeof *t);
				int *o2 = realloc(ropt, cap * sizeof *o2);
				if (t)
					roots = t;
				if (o2)
					ropt = o2;
				if (!t || !o2) {
					r = merr_set(e, EX_SYS, NULL, "out of memory");
					break;
				}
			}
			char *rk = malloc(kn + vn + 2);
			if (!rk) {
				r = merr_set(e, EX_SYS, NULL, "out of memory");
				break;
			}
			snprintf(rk, kn + vn + 2, "%.*s@%.*s", (int)kn, kk, (int)vn, v);
			ropt[nr] = s;
			roots[nr++] = rk;
		}
	}
	if (!r)
		r = yarn_parse(lockname, lock, n, roots, ropt, nr, &g, e);
	char *reg = r ? NULL : node_registry(x->srcdir, x->scratch);
	for (size_t i = 1; !r && i < g.n; i++) {
		char *u = node_rehost(g.p[i].url, strlen(g.p[i].url), reg ? reg : "https://registry.npmjs.org/");
		if (!u)
			r = merr_set(e, EX_SYS, NULL, "out of memory");
		free(g.p[i].url);
		g.p[i].url = u;
	}
	if (!r)
		r = node_install(x, &g, e);
	free(reg);
	for (size_t i = 0; i < nr; i++)
		free((char *)roots[i]);
	free(roots);
	free(ropt);
	json_free(d);
	node_free(&g);
	return r;
}

int deps_yarn_pkgjson(const char *srcdir, const char *lockpath, struct buf *out, struct merr *e)
{
	struct buf p = BUF_INIT, real = BUF_INIT;
	const char *slash = strrchr(lockpath, '/');
	int r;

	buf_put(&p, lockpath, slash ? (size_t)(slash - lockpath) + 1 : 0);
	buf_puts(&p, "package.json");
	if (!buf_cstr(&p))
		return merr_set(e, EX_SYS, NULL, "out of memory");
	char *root = realpath(srcdir, NULL);
	r = root ? lockfile_inside(root, p.p, &real, e) : merr_sys(e, srcdir);
	free(root);
	if (r == LOCK_OUTSIDE || r == LOCK_NOT_FOUND)
		r = merr_set(e, EX_NO, NULL,
			"the package.json beside the yarn.lock %s; yarn.lock alone does not name the project's dependencies",
			r == LOCK_OUTSIDE ? "is outside the source directory" : "is missing");
	else if (r == 0 && read_file(real.p, out, e))
		r = EX_SYS;
	buf_free(&p);
	buf_free(&real);
	return r;
}
