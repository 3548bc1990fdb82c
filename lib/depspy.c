/* depspy.c — locked Python wheels onto the deps volume (pyinst.h): wheels
 * only, each verified against its locked SHA-256 before archive.c unpacks
 * it into site-packages/; no pip, no package code.  The lockfiles are
 * read by pyreq.c (pip-tools requirements.txt) and depsuv.c (uv.lock).
 *
 * Where wheels come from is the user's pip configuration: PIP_FIND_LINKS,
 * PIP_INDEX_URL, PIP_NO_INDEX, else the find-links, index-url and no-index
 * of [global] and [install] in pip.conf ($PIP_CONFIG_FILE, /etc/pip.conf,
 * $XDG_CONFIG_HOME/pip/pip.conf or ~/.config/pip/pip.conf, ~/.pip/pip.conf;
 * later files win), else https://pypi.org/simple/.  A find-links entry is
 * a local directory (or file: URL) or an http(s) page of links; an index
 * is PEP 503 (<index>/<name>/). */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive.h"
#include "deps.h"
#include "io.h"
#include "pyinst.h"

struct src {
	char *links;       /* space-separated find-links */
	char *index;
	int no_index, index_set;   /* index_set: the configuration names an index */
};

static void set(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
}

static int truthy(const char *v)
{
	return !strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	       !strcasecmp(v, "on");
}

static void conf_file(const char *path, struct src *s)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int on = 0;

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *p = line, *eq;
		line[strcspn(line, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '[') {
			on = !strncmp(p, "[global]", 8) || !strncmp(p, "[install]", 9);
			continue;
		}
		if (!on || *p == '#' || *p == ';' || !(eq = strchr(p, '=')))
			continue;
		char *k = p, *v = eq + 1;
		for (*eq = '\0'; eq > k && (eq[-1] == ' ' || eq[-1] == '\t'); eq--)
			eq[-1] = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		if (!strcmp(k, "index-url"))
			set(&s->index, v);
		else if (!strcmp(k, "find-links"))
			set(&s->links, v);
		else if (!strcmp(k, "no-index"))
			s->no_index = truthy(v);
	}
	fclose(f);
}

static void sources(struct src *s)
{
	const char *v, *h = getenv("HOME"), *x = getenv("XDG_CONFIG_HOME");
	char p[4096];

	conf_file("/etc/pip.conf", s);
	if (x && *x) {
		snprintf(p, sizeof p, "%s/pip/pip.conf", x);
		conf_file(p, s);
	} else if (h) {
		snprintf(p, sizeof p, "%s/.config/pip/pip.conf", h);
		conf_file(p, s);
	}
	if (h) {
		snprintf(p, sizeof p, "%s/.pip/pip.conf", h);
		conf_file(p, s);
	}
	if ((v = getenv("PIP_CONFIG_FILE")) && *v)
		conf_file(v, s);
	if ((v = getenv("PIP_FIND_LINKS")) && *v)
		set(&s->links, v);
	if ((v = getenv("PIP_INDEX_URL")) && *v)
		set(&s->index, v);
	if ((v = getenv("PIP_NO_INDEX")) && *v)
		s->no_index = truthy(v);
	s->index_set = s->index != NULL;
	if (!s->index)
		set(&s->index, "https://pypi.org/simple/");
}

void py_norm(const char *s, size_t n, char *out, size_t on)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < on; i++) {
		if (s[i] == '-' || s[i] == '_' || s[i] == '.') {
			if (k == 0 || out[k - 1] != '-')
				out[k++] = '-';
		} else {
			out[k++] = (char)tolower((unsigned char)s[i]);
		}
	}
	out[k] = '\0';
}

int py_target_of(const struct deps_run *x, struct py_target *t, struct merr *e)
{
	const char *p = x->python ? x->python : PY_DEFAULT;

	if (py_target_parse(p, t))
		return merr_set(e, EX_NO, NULL, "the target Python \"%.40s\" is not 3.Y", p);
	return 0;
}

enum { NOT_IT, WHEEL, WHEEL_OTHER, SDIST };

/* What the candidates of one request were: how many sdists, the first
 * wheel that does not fit the target. */
struct seen {
	const struct py_target *t;
	int sd;
	char misfit[200];
};

/* What file name fn is for normalized name nm, version ver. */
static int classify(const char *fn, const struct py_req *r, struct seen *sn)
{
	size_t vl = strlen(r->ver);
	char dn[256];
	const char *dash = strchr(fn, '-');

	if (!dash || (size_t)(dash - fn) >= sizeof dn)
		return NOT_IT;
	py_norm(fn, (size_t)(dash - fn), dn, sizeof dn);
	if (strcmp(dn, r->nm) || strncmp(dash + 1, r->ver, vl))
		return NOT_IT;
	const char *rest = dash + 1 + vl;
	if (*rest == '-') {
		int f = py_wheel_fits(sn->t, fn);
		if (f == 0 && !sn->misfit[0])
			snprintf(sn->misfit, sizeof sn->misfit, "%.190s", fn);
		return f == 1 ? WHEEL : f == 0 ? WHEEL_OTHER : NOT_IT;
	}
	if (!strcmp(rest, ".tar.gz") || !strcmp(rest, ".zip") || !strcmp(rest, ".tar.bz2")) {
		sn->sd++;
		return SDIST;
	}
	return NOT_IT;
}

/* The candidates for r on a page of links: "url\n" lines of wheels that
 * fit into w. */
static void links_page(const char *page, const char *base, const struct py_req *r,
	struct buf *w, struct seen *sn)
{
	struct buf b = BUF_INIT;
	struct merr e;

	if (read_file(page, &b, &e) || !buf_cstr(&b))
		return;
	for (char *p = b.p; (p = strstr(p, "href=\"")); ) {
		p += 6;
		char *q = strchr(p, '"');
		if (!q)
			break;
		*q = '\0';
		char *frag = strchr(p, '#');
		if (frag)
			*frag = '\0';
		const char *fn = strrchr(p, '/');
		fn = fn ? fn + 1 : p;
		if (classify(fn, r, sn) == WHEEL) {
			if (!strncmp(p, "http://", 7) || !strncmp(p, "https://", 8))
				buf_puts(w, p);
			else if (p[0] == '/') {   /* same host */
				const char *h = strstr(base, "://");
				h = h ? strchr(h + 3, '/') : NULL;
				buf_put(w, base, h ? (size_t)(h - base) : strlen(base));
				buf_puts(w, p);
			} else {
				buf_puts(w, base);
				buf_puts(w, p);
			}
			buf_putc(w, '\n');
		}
		p = q + 1;
	}
	buf_free(&b);
}

static void candidates(struct deps_run *x, const struct src *s, const struct py_req *r,
	struct buf *w, struct seen *sn, int *k)
{
	char *links = s->links ? strdup(s->links) : NULL, *save = NULL, page[4300], base[4096];
	struct merr e;

	for (char *t = links ? strtok_r(links, " \t\n,", &save) : NULL; t; t = strtok_r(NULL, " \t\n,", &save)) {
		const char *dir = !strncmp(t, "file://", 7) ? t + 7 : !strncmp(t, "file:", 5) ? t + 5 : t;
		if (!strncmp(t, "http://", 7) || !strncmp(t, "https://", 8)) {
			snprintf(page, sizeof page, "%s/links-%d.html", x->scratch, (*k)++);
			snprintf(base, sizeof base, "%s", t);
			char *sl = strrchr(base, '/');
			if (sl && sl > strstr(base, "://") + 2)
				sl[1] = '\0';
			if (deps_fetch(x, r->name, t, page, &e) == 0)
				links_page(page, base, r, w, sn);
			continue;
		}
		DIR *dp = opendir(dir);
		struct dirent *de;
		if (!dp)
			continue;
		while ((de = readdir(dp)))
			if (classify(de->d_name, r, sn) == WHEEL)
				buf_printf(w, "file://%s/%s\n", dir, de->d_name);
		closedir(dp);
	}
	free(links);
	if (r->urls && !s->index_set && !s->no_index) {
		/* uv.lock's own URLs: the index it was locked from */
		buf_puts(w, r->urls);
		buf_putc(w, '\n');
	} else if (!s->no_index && s->index) {
		size_t il = strlen(s->index);
		snprintf(base, sizeof base, "%s%s%s/", s->index, il && s->index[il - 1] == '/' ? "" : "/",
			r->nm);
		snprintf(page, sizeof page, "%s/index-%d.html", x->scratch, (*k)++);
		if (deps_fetch(x, r->name, base, page, &e) == 0)
			links_page(page, base, r, w, sn);
	}
}

static int local_copy(struct deps_run *x, const char *what, const char *path, const char *dest,
	struct merr *e)
{
	struct buf b = BUF_INIT;
	int r = read_file(path, &b, e) || write_atomic(dest, b.p ? b.p : "", b.len, 0600, e) ? EX_SYS : 0;

	buf_free(&b);
	buf_printf(x->log, "{\"package\":\"%s\",\"url\":\"file://%s\",\"ok\":%s}\n", what, path,
		r ? "false" : "true");
	return r;
}

/* Why nothing was installed for r (tried wheels, none verified). */
static int none_fits(const struct py_req *r, const struct seen *sn, const struct src *s,
	const char *what, int tried, struct merr *e)
{
	const struct py_target *t = sn->t;
	const char *misfit = r->misfit[0] ? r->misfit : sn->misfit;

	if (tried)
		return merr_set(e, EX_NO, NULL,
			"%s: integrity check failed: no wheel's SHA-256 is one the lockfile lists (%d tried); nothing installed",
			what, tried);
	if (misfit[0])
		return merr_set(e, EX_NO, NULL,
			"%s: no wheel for CPython %d.%d on linux x86_64 (glibc %d.%d): %s does not fit the image's Python",
			what, t->major, t->minor, PY_GLIBC_MAJOR, PY_GLIBC_MINOR, misfit);
	if (sn->sd || r->sdist)
		return merr_set(e, EX_NO, NULL,
			"%s: only an sdist is available; sdists are refused (building one runs package code on the host)",
			what);
	return merr_set(e, EX_NO, NULL,
		"%s: no wheel for CPython %d.%d on linux x86_64 (py3-none-any, cp3%d, abi3, manylinux) in %s%s%s",
		what, t->major, t->minor, t->minor, s->links ? s->links : "",
		s->links && !s->no_index ? " or " : "", s->no_index ? "" : s->index);
}

int py_install(struct deps_run *x, struct py_req *reqs, size_t nr, struct merr *e)
{
	struct buf cands = BUF_INIT, dir = BUF_INIT;
	struct src s = { 0 };
	struct py_target t;
	int rc = py_target_of(x, &t, e), k = 0;

	if (!rc)
		sources(&s);
	for (size_t i = 0; i < nr && !rc; i++) {
		struct py_req *r = &reqs[i];
		struct seen sn = { &t, 0, "" };
		char what[200], dest[4300], hex[65], purl[300];
		int tried = 0, done = 0;
		snprintf(what, sizeof what, "%s==%s", r->name, r->ver);
		cands.len = 0;
		candidates(x, &s, r, &cands, &sn, &k);
		if (!buf_cstr(&cands)) {
			rc = merr_set(e, EX_SYS, NULL, "out of memory");
			break;
		}
		for (char *save = NULL, *u = strtok_r(cands.p, "\n", &save); u && !done && !rc;
		     u = strtok_r(NULL, "\n", &save)) {
			snprintf(dest, sizeof dest, "%s/%d.whl", x->scratch, k++);
			tried++;
			rc = !strncmp(u, "file://", 7) ? local_copy(x, what, u + 7, dest, e)
						       : deps_fetch(x, what, u, dest, e);
			if (rc || (rc = deps_sha256_file(dest, hex, e)))
				break;
			for (int h = 0; h < r->nh; h++)
				if (!strcmp(hex, r->hashes[h]))
					done = 1;
		}
		if (rc || (!done && (rc = none_fits(r, &sn, &s, what, tried, e))))
			break;
		dir.len = 0;
		buf_puts(&dir, x->tree);
		buf_puts(&dir, "/site-packages");
		if (!buf_cstr(&dir))
			rc = merr_set(e, EX_SYS, NULL, "out of memory");
		else if ((rc = unzip_wheel(dest, dir.p, e)) != 0) {
			char m[600];
			snprintf(m, sizeof m, "%.100s: %.400s", what, e->msg);
			snprintf(e->msg, sizeof e->msg, "%.500s", m);
		} else {
			char where[200];
			snprintf(purl, sizeof purl, "pkg:pypi/%s@%s", r->nm, r->ver);
			snprintf(where, sizeof where, "site-packages/%s", r->nm);
			rc = deps_add_pkg(x, r->name, strlen(r->name), r->ver, where, purl, "SHA-256",
				hex, e);
		}
	}
	free(s.links);
	free(s.index);
	buf_free(&cands);
	buf_free(&dir);
	return rc;
}
