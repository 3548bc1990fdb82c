/* depsuv.c — uv.lock (version 1) onto the deps volume (pyinst.h).
 *
 * What is installed is what `uv sync --frozen --no-dev` would install for
 * the target: from the workspace's own packages (source virtual or
 * editable: the app, not installed) along dependencies (and the extras an
 * edge names), skipping edges whose marker is false for the target; each
 * package reached is a registry package, and the wheels of it that fit
 * the target, with their sha256, are what may be installed.  A package
 * with only an sdist, one with no wheel that fits, or one from a source
 * that would need building (directory, editable, git, path, url) is
 * refused naming it, before anything is fetched. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io.h"
#include "pyinst.h"
#include "toml.h"

enum { UV_PACKAGES_MAX = 100000 };

struct uv {
	const struct toml **pkg;   /* the [[package]] tables */
	size_t np;
	char *seen;                /* per package: reached */
	const struct toml **todo;  /* dependency lists to walk */
	size_t nt, ct;
	struct { size_t pkg; const char *extra; } *ex;   /* (package, extra) walked */
	size_t nx, cx;
	const struct py_target *t;
	const char *file;
	struct merr *e;
};

static int at(struct uv *u, const struct toml *v, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Set the error, where "FILE:LINE:COL" of v. */
static int at(struct uv *u, const struct toml *v, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->e->msg, sizeof u->e->msg, fmt, ap);
	va_end(ap);
	u->e->code = code;
	snprintf(u->e->where, sizeof u->e->where, "%.90s:%zu:%zu", u->file, v->line, v->col);
	return code;
}

static int push(struct uv *u, const struct toml *list)
{
	if (!list)
		return 0;
	if (list->type != TOML_ARRAY)
		return at(u, list, EX_DATA, "dependencies: not an array");
	if (u->nt == u->ct) {
		size_t c = u->ct ? 2 * u->ct : 64;
		const struct toml **n = realloc(u->todo, c * sizeof *n);
		if (!n)
			return merr_set(u->e, EX_SYS, NULL, "out of memory");
		u->todo = n;
		u->ct = c;
	}
	u->todo[u->nt++] = list;
	return 0;
}

/* The package an edge names (name, and version/source when given). */
static int find(struct uv *u, const struct toml *edge, size_t *idx)
{
	const char *name = toml_str(edge, "name"), *ver = toml_str(edge, "version");
	char nm[128], pn[128];
	size_t hits = 0;

	if (!name)
		return at(u, edge, EX_DATA, "a dependency without a name");
	py_norm(name, strlen(name), nm, sizeof nm);
	for (size_t i = 0; i < u->np; i++) {
		const char *n = toml_str(u->pkg[i], "name"), *v = toml_str(u->pkg[i], "version");
		py_norm(n, strlen(n), pn, sizeof pn);
		if (!strcmp(pn, nm) && (!ver || (v && !strcmp(v, ver)))) {
			*idx = i;
			hits++;
		}
	}
	if (hits != 1)
		return at(u, edge, EX_DATA, "the dependency %.100s names %s package of the lock", name,
			hits ? "more than one" : "no");
	return 0;
}

static int walk_edge(struct uv *u, const struct toml *edge)
{
	const struct toml *extras = toml_get(edge, "extra"), *m = toml_get(edge, "marker");
	size_t i = 0, off = 0;
	int val = 1, rc;

	if (edge->type != TOML_TABLE)
		return at(u, edge, EX_DATA, "a dependency is not an inline table");
	if (m) {
		if (m->type != TOML_STR)
			return at(u, m, EX_DATA, "a marker is not a string");
		if ((rc = py_marker(u->t, m->str, strlen(m->str), &val, &off, u->e))) {
			char msg[400];
			snprintf(msg, sizeof msg, "%.380s", u->e->msg);
			return at(u, m, rc, "the marker of a dependency on %.100s cannot be evaluated for the image: %s",
				toml_str(edge, "name") ? toml_str(edge, "name") : "?", msg);
		}
		if (!val)
			return 0;
	}
	if ((rc = find(u, edge, &i)))
		return rc;
	if (!u->seen[i]) {
		u->seen[i] = 1;
		if ((rc = push(u, toml_get(u->pkg[i], "dependencies"))))
			return rc;
	}
	for (const struct toml *x = extras && extras->type == TOML_ARRAY ? extras->kids : NULL; x; x = x->next) {
		size_t k;
		if (x->type != TOML_STR)
			return at(u, x, EX_DATA, "an extra is not a string");
		for (k = 0; k < u->nx && !(u->ex[k].pkg == i && !strcmp(u->ex[k].extra, x->str)); k++)
			;
		if (k < u->nx)
			continue;
		if (u->nx == u->cx) {
			size_t c = u->cx ? 2 * u->cx : 16;
			void *n = realloc(u->ex, c * sizeof *u->ex);
			if (!n)
				return merr_set(u->e, EX_SYS, NULL, "out of memory");
			u->ex = n;
			u->cx = c;
		}
		u->ex[u->nx].pkg = i;
		u->ex[u->nx++].extra = x->str;
		const struct toml *od = toml_get(toml_get(u->pkg[i], "optional-dependencies"), x->str);
		if (!od)
			return at(u, x, EX_DATA, "the extra %.60s of %.100s is not in the lock", x->str,
				toml_str(u->pkg[i], "name"));
		if ((rc = push(u, od)))
			return rc;
	}
	return 0;
}

static int local(const struct toml *src)
{
	return toml_get(src, "virtual") || toml_get(src, "editable");
}

/* The request for reached package p: the wheels that fit, their hashes. */
static int request(struct uv *u, const struct toml *p, struct py_req *r)
{
	const struct toml *src = toml_get(p, "source"), *w = toml_get(p, "wheels");
	const char *name = toml_str(p, "name"), *ver = toml_str(p, "version");
	struct buf urls = BUF_INIT;
	int rc = 0;

	memset(r, 0, sizeof *r);
	if (!ver)
		return at(u, p, EX_DATA, "the package %.100s has no version", name);
	snprintf(r->name, sizeof r->name, "%s", name);
	snprintf(r->ver, sizeof r->ver, "%s", ver);
	py_norm(name, strlen(name), r->nm, sizeof r->nm);
	if (!toml_str(src, "registry"))
		return at(u, src ? src : p, EX_NO,
			"%.100s: its source is not a registry (a directory, editable, git, path or url source needs building or is not located by the pip configuration); mvm-deps installs registry wheels only",
			name);
	r->sdist = toml_get(p, "sdist") != NULL;
	for (const struct toml *x = w && w->type == TOML_ARRAY ? w->kids : NULL; x && !rc; x = x->next) {
		const char *url = toml_str(x, "url"), *h = toml_str(x, "hash");
		const char *fn = url ? strrchr(url, '/') : NULL;
		fn = fn ? fn + 1 : toml_str(x, "filename");
		if (!fn || !h || strncmp(h, "sha256:", 7) || strlen(h) != 71 ||
		    strspn(h + 7, "0123456789abcdef") != 64) {
			rc = at(u, x, EX_NO, "%.100s==%.60s: a wheel without a file name or a sha256 hash",
				name, ver);
			break;
		}
		int f = py_wheel_fits(u->t, fn);
		if (f == 0 && !r->misfit[0])
			snprintf(r->misfit, sizeof r->misfit, "%.190s", fn);
		if (f != 1 || r->nh == PY_HASHES_MAX)
			continue;
		memcpy(r->hashes[r->nh++], h + 7, 65);
		if (url && (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7))) {
			buf_puts(&urls, urls.len ? "\n" : "");
			buf_puts(&urls, url);
		}
	}
	if (!rc && r->nh == 0 && r->misfit[0])
		rc = at(u, p, EX_NO, "%s==%s: no locked wheel fits the image's Python (CPython %d.%d, linux x86_64, glibc %d.%d): %s does not",
			name, ver, u->t->major, u->t->minor, PY_GLIBC_MAJOR, PY_GLIBC_MINOR, r->misfit);
	else if (!rc && r->nh == 0)
		rc = at(u, p, EX_NO, "%s==%s: only an sdist is locked%s; sdists are refused (building one runs package code on the host)",
			name, ver, r->sdist ? "" : " (or no artifact at all)");
	if (!rc && urls.len && !(r->urls = strdup(buf_cstr(&urls) ? urls.p : "")))
		rc = merr_set(u->e, EX_SYS, NULL, "out of memory");
	buf_free(&urls);
	return rc;
}

static int plan(struct uv *u, const struct toml *root, struct py_req **reqs, size_t *nr)
{
	const struct toml *v = toml_get(root, "version"), *pk = toml_get(root, "package");
	int rc = 0;

	if (!v || v->type != TOML_INT || v->i != 1)
		return at(u, v ? v : root, EX_DATA, "not a uv.lock of version 1");
	if (!pk || pk->type != TOML_ARRAY)
		return at(u, root, EX_DATA, "no [[package]]");
	for (const struct toml *p = pk->kids; p; p = p->next)
		u->np++;
	if (u->np > UV_PACKAGES_MAX)
		return at(u, root, EX_DATA, "more than %d packages", UV_PACKAGES_MAX);
	u->pkg = calloc(u->np, sizeof *u->pkg);
	u->seen = calloc(u->np, 1);
	if (!u->pkg || !u->seen)
		return merr_set(u->e, EX_SYS, NULL, "out of memory");
	size_t i = 0, roots = 0;
	for (const struct toml *p = pk->kids; p; p = p->next) {
		u->pkg[i++] = p;
		if (!toml_str(p, "name") || !toml_get(p, "source") ||
		    toml_get(p, "source")->type != TOML_TABLE)
			return at(u, p, EX_DATA, "a package without a name or a source");
	}
	for (i = 0; i < u->np && !rc; i++)
		if (local(toml_get(u->pkg[i], "source"))) {
			u->seen[i] = 2;   /* the workspace: walked, not installed */
			roots++;
			rc = push(u, toml_get(u->pkg[i], "dependencies"));
		}
	if (!rc && !roots)
		return at(u, root, EX_DATA, "no package of the workspace (source virtual or editable)");
	while (!rc && u->nt) {
		const struct toml *list = u->todo[--u->nt];
		for (const struct toml *edge = list->kids; edge && !rc; edge = edge->next)
			rc = walk_edge(u, edge);
	}
	for (i = 0; i < u->np && !rc; i++) {
		if (u->seen[i] != 1)
			continue;
		struct py_req *n = realloc(*reqs, (*nr + 1) * sizeof **reqs);
		if (!n)
			return merr_set(u->e, EX_SYS, NULL, "out of memory");
		*reqs = n;
		rc = request(u, u->pkg[i], &n[*nr]);
		if (!rc || n[*nr].urls)
			++*nr;
	}
	return rc;
}

int deps_uv(struct deps_run *x, const char *lockpath, struct merr *e)
{
	struct buf b = BUF_INIT;
	struct py_target t;
	struct py_req *reqs = NULL;
	struct toml *root = NULL;
	size_t nr = 0, sl = strlen(x->srcdir);
	struct uv u = { 0 };
	int rc = py_target_of(x, &t, e);

	u.t = &t;
	u.e = e;
	u.file = !strncmp(lockpath, x->srcdir, sl) && lockpath[sl] == '/' ? lockpath + sl + 1 : lockpath;
	if (!rc && read_file(lockpath, &b, e))
		rc = EX_SYS;
	if (!rc && !(root = toml_parse(b.p ? b.p : "", b.len, e))) {
		char w[128];
		snprintf(w, sizeof w, "%s", e->where);
		snprintf(e->where, sizeof e->where, "%.90s:%.30s", u.file, w);
		rc = e->code;
	}
	if (!rc)
		rc = plan(&u, root, &reqs, &nr);
	if (!rc)
		rc = py_install(x, reqs, nr, e);
	for (size_t i = 0; i < nr; i++)
		free(reqs[i].urls);
	free(reqs);
	free(u.pkg);
	free(u.seen);
	free(u.todo);
	free(u.ex);
	toml_free(root);
	buf_free(&b);
	return rc;
}
