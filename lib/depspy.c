/* depspy.c — pip-tools requirements.txt (--hash) onto the deps volume
 * (deps.h): wheels only, each verified against its locked SHA-256 before
 * archive.c unpacks it into site-packages/; no pip, no package code.
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

struct src {
	char *links;       /* space-separated find-links */
	char *index;
	int no_index;
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
	if (!s->index)
		set(&s->index, "https://pypi.org/simple/");
}

/* PEP 503 normalized name: lowercase, runs of -_. as one '-'. */
static void norm(const char *s, size_t n, char *out, size_t on)
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

/* Is this wheel's python-abi-platform tag set installable on the image's
 * CPython 3.11, glibc 2.36, x86_64? */
static int tag_in(const char *set, size_t n, int (*ok)(const char *, size_t))
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && set[j] != '.')
			j++;
		if (ok(set + i, j - i))
			return 1;
		i = j + 1;
	}
	return 0;
}

static int py_ok(const char *t, size_t n)
{
	if (n == 3 && !memcmp(t, "py3", 3))
		return 1;
	if (n == 5 && (!memcmp(t, "cp311", 5) || !memcmp(t, "py311", 5)))
		return 1;
	return n == 4 && !memcmp(t, "py3", 3) && t[3] >= '0' && t[3] <= '9';
}

static int abi_ok(const char *t, size_t n)
{
	return (n == 4 && !memcmp(t, "none", 4)) || (n == 5 && !memcmp(t, "cp311", 5)) ||
	       (n == 4 && !memcmp(t, "abi3", 4));
}

static int plat_ok(const char *t, size_t n)
{
	int maj = 0, min = 0;
	char tail[64];

	if ((n == 3 && !memcmp(t, "any", 3)) || (n == 12 && !memcmp(t, "linux_x86_64", 12)) ||
	    (n == 17 && !memcmp(t, "manylinux1_x86_64", 17)) ||
	    (n == 20 && (!memcmp(t, "manylinux2010_x86_64", 20) || !memcmp(t, "manylinux2014_x86_64", 20))))
		return 1;
	if (n < 60 && n > 10 && !memcmp(t, "manylinux_", 10)) {
		char b[64];
		memcpy(b, t, n);
		b[n] = '\0';
		if (sscanf(b, "manylinux_%d_%d_%63s", &maj, &min, tail) == 3 && !strcmp(tail, "x86_64"))
			return maj < 2 || (maj == 2 && min <= 36);
	}
	return 0;
}

enum { NOT_IT, WHEEL, WHEEL_OTHER, SDIST };

/* What file name fn is for normalized name nm, version ver. */
static int classify(const char *fn, const char *nm, const char *ver)
{
	size_t n = strlen(fn), vl = strlen(ver);
	char dn[256];
	const char *dash = strchr(fn, '-');

	if (!dash || (size_t)(dash - fn) >= sizeof dn)
		return NOT_IT;
	norm(fn, (size_t)(dash - fn), dn, sizeof dn);
	if (strcmp(dn, nm) || strncmp(dash + 1, ver, vl))
		return NOT_IT;
	const char *rest = dash + 1 + vl;
	if (n > 4 && !strcmp(fn + n - 4, ".whl") && *rest == '-') {
		/* name-ver(-build)?-py-abi-plat.whl: the last three fields */
		const char *end = fn + n - 4, *f[3];
		const char *p = end;
		for (int i = 2; i >= 0; i--) {
			while (p > rest && p[-1] != '-')
				p--;
			if (p <= rest)
				return NOT_IT;
			f[i] = p;
			p--;
		}
		if (tag_in(f[0], (size_t)(f[1] - f[0] - 1), py_ok) &&
		    tag_in(f[1], (size_t)(f[2] - f[1] - 1), abi_ok) &&
		    tag_in(f[2], (size_t)(end - f[2]), plat_ok))
			return WHEEL;
		return WHEEL_OTHER;
	}
	if (!strcmp(rest, ".tar.gz") || !strcmp(rest, ".zip") || !strcmp(rest, ".tar.bz2"))
		return SDIST;
	return NOT_IT;
}

struct req {
	char name[128], nm[128], ver[64];
	char hashes[8][65];
	int nh;
};

/* The candidates for r: "url\n" lines of compatible wheels into w; how
 * many sdists were seen into *sd. */
static void links_page(struct deps_run *x, const char *page, const char *base, struct req *r,
	struct buf *w, int *sd)
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
		int c = classify(fn, r->nm, r->ver);
		if (c == SDIST)
			(*sd)++;
		if (c == WHEEL) {
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
	(void)x;
}

static void candidates(struct deps_run *x, const struct src *s, struct req *r, struct buf *w,
	int *sd, int *k)
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
				links_page(x, page, base, r, w, sd);
			continue;
		}
		DIR *dp = opendir(dir);
		struct dirent *de;
		if (!dp)
			continue;
		/* sorted for a stable order: collect, then sort the lines */
		while ((de = readdir(dp))) {
			int c = classify(de->d_name, r->nm, r->ver);
			if (c == SDIST)
				(*sd)++;
			if (c == WHEEL)
				buf_printf(w, "file://%s/%s\n", dir, de->d_name);
		}
		closedir(dp);
	}
	free(links);
	if (!s->no_index && s->index) {
		size_t il = strlen(s->index);
		snprintf(base, sizeof base, "%s%s%s/", s->index, il && s->index[il - 1] == '/' ? "" : "/",
			r->nm);
		snprintf(page, sizeof page, "%s/index-%d.html", x->scratch, (*k)++);
		if (deps_fetch(x, r->name, base, page, &e) == 0)
			links_page(x, page, base, r, w, sd);
	}
}

/* Parse one logical requirement line into r: name==version, sha256 hashes.
 * 0, or EX_NO with e set. */
static int parse_req(const char *t, struct req *r, struct merr *e)
{
	size_t n = strcspn(t, " \t;=<>!~[@");
	char what[160];

	memset(r, 0, sizeof *r);
	if (n == 0 || n >= sizeof r->name)
		return merr_set(e, EX_DATA, NULL, "a requirement without a name");
	memcpy(r->name, t, n);
	norm(t, n, r->nm, sizeof r->nm);
	const char *p = t + n;
	if (*p == '[')
		p = strchr(p, ']') ? strchr(p, ']') + 1 : p + strlen(p);
	while (*p == ' ')
		p++;
	snprintf(what, sizeof what, "%s", r->name);
	if (*p == '@')
		return merr_set(e, EX_NO, NULL, "%s: a direct reference (name @ url) is not supported by mvm-deps yet", what);
	if (strncmp(p, "==", 2) != 0)
		return merr_set(e, EX_NO, NULL, "%s: not pinned with ==", what);
	p += 2;
	while (*p == ' ')
		p++;
	size_t vl = strcspn(p, " \t;");
	if (vl == 0 || vl >= sizeof r->ver)
		return merr_set(e, EX_NO, NULL, "%s: no version after ==", what);
	memcpy(r->ver, p, vl);
	p += vl;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == ';')
		return merr_set(e, EX_NO, NULL,
			"%s==%s: an environment marker; markers are not evaluated by mvm-deps yet (compile the requirements for the image's Python 3.11, linux x86_64, without markers)",
			r->name, r->ver);
	for (const char *h = p; (h = strstr(h, "--hash")); ) {
		h += 6;
		while (*h == '=' || *h == ' ')
			h++;
		if (!strncmp(h, "sha256:", 7) && strspn(h + 7, "0123456789abcdef") == 64 && r->nh < 8) {
			memcpy(r->hashes[r->nh], h + 7, 64);
			r->hashes[r->nh++][64] = '\0';
		}
	}
	if (r->nh == 0)
		return merr_set(e, EX_NO, NULL, "%s==%s: no --hash=sha256: (lowercase hex)", r->name, r->ver);
	return 0;
}

/* The logical requirement lines of the file (continuations joined,
 * comments dropped), NUL-separated in out. */
static int logical_lines(const char *path, struct buf *out, struct merr *e)
{
	struct buf b = BUF_INIT;

	if (read_file(path, &b, e) || !buf_cstr(&b))
		return EX_SYS;
	int cont = 0;
	for (char *save = NULL, *l = strtok_r(b.p, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(l);
		if (n && l[n - 1] == '\r')
			l[--n] = '\0';
		while (*l == ' ' || *l == '\t')
			l++;
		if (!cont && *l == '#')
			continue;
		for (char *c = l + 1; *l && *c; c++)
			if (*c == '#' && (c[-1] == ' ' || c[-1] == '\t')) {
				*c = '\0';
				break;
			}
		n = strlen(l);
		while (n && (l[n - 1] == ' ' || l[n - 1] == '\t'))
			l[--n] = '\0';
		int bs = n && l[n - 1] == '\\';
		if (bs)
			l[--n] = '\0';
		buf_puts(out, l);
		buf_putc(out, ' ');
		if (!bs && out->len) {
			out->p[out->len - 1] = '\0';
		}
		cont = bs;
	}
	if (cont)
		buf_putc(out, '\0');
	buf_free(&b);
	return 0;
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

int deps_pip(struct deps_run *x, const char *lockpath, struct merr *e)
{
	struct buf lines = BUF_INIT, cands = BUF_INIT, dir = BUF_INIT;
	struct src s = { 0 };
	struct req *reqs = NULL;
	size_t nr = 0;
	int rc = 0, k = 0;

	if (logical_lines(lockpath, &lines, e))
		return EX_SYS;
	/* first pass: every line understood before anything is fetched */
	for (size_t off = 0; off < lines.len && !rc; off += strlen(lines.p + off) + 1) {
		const char *t = lines.p + off;
		while (*t == ' ')
			t++;
		if (!*t)
			continue;
		if (t[0] == '-') {
			if (!strncmp(t, "-r", 2) || !strncmp(t, "--requirement", 13) || !strncmp(t, "-e", 2) ||
			    !strncmp(t, "--editable", 10))
				rc = merr_set(e, EX_NO, NULL,
					"%.60s: includes and editable requirements are not supported by mvm-deps yet; give one pip-compile output",
					t);
			continue;   /* -c, --index-url and the like: the pip configuration decides */
		}
		struct req *nrq = realloc(reqs, (nr + 1) * sizeof *reqs);
		if (!nrq) {
			rc = merr_set(e, EX_SYS, NULL, "out of memory");
			break;
		}
		reqs = nrq;
		rc = parse_req(t, &reqs[nr++], e);
	}
	if (!rc)
		sources(&s);
	for (size_t i = 0; i < nr && !rc; i++) {
		struct req *r = &reqs[i];
		char what[200], dest[4300], hex[65], purl[300];
		int sd = 0, tried = 0, done = 0;
		snprintf(what, sizeof what, "%s==%s", r->name, r->ver);
		cands.len = 0;
		candidates(x, &s, r, &cands, &sd, &k);
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
		if (rc)
			break;
		if (!done && tried)
			rc = merr_set(e, EX_NO, NULL,
				"%s: integrity check failed: no wheel's SHA-256 is one the lockfile lists (%d tried); nothing installed",
				what, tried);
		else if (!done && sd)
			rc = merr_set(e, EX_NO, NULL,
				"%s: only an sdist is available; sdists are refused (building one runs package code on the host)",
				what);
		else if (!done)
			rc = merr_set(e, EX_NO, NULL,
				"%s: no wheel for CPython 3.11 on linux x86_64 (py3-none-any, cp311, abi3, manylinux) in %s%s%s",
				what, s.links ? s.links : "", s.links && !s.no_index ? " or " : "",
				s.no_index ? "" : s.index);
		if (rc)
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
	free(reqs);
	free(s.links);
	free(s.index);
	buf_free(&lines);
	buf_free(&cands);
	buf_free(&dir);
	return rc;
}
