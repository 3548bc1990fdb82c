/* pyreq.c — a pip-tools requirements.txt (--hash) read into py_reqs
 * (pyinst.h): every line understood, its environment marker evaluated
 * for the target (a line whose marker is false is skipped), before
 * anything is fetched.  Where a line cannot be used, the error's where is
 * "LOCKFILE:LINE:COL" (1-based, of the physical line). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io.h"
#include "pyinst.h"

#define PY_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
#define PY_VERSION_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._!+-"

/* A logical line (continuations joined) and where each of its physical
 * pieces came from. */
struct piece {
	size_t off;     /* in the logical line */
	size_t line, col;
};

struct logical {
	struct buf text;
	struct piece *p;
	size_t np;
};

static void where(const struct logical *l, size_t off, const char *file, struct merr *e)
{
	size_t k = 0;

	while (k + 1 < l->np && l->p[k + 1].off <= off)
		k++;
	snprintf(e->where, sizeof e->where, "%.90s:%zu:%zu", file, l->p[k].line,
		l->p[k].col + (off - l->p[k].off));
}

static int fail_at(const struct logical *l, size_t off, const char *file, struct merr *e,
	int code, const char *msg)
{
	char m[sizeof e->msg];

	snprintf(m, sizeof m, "%s", msg);
	merr_set(e, code, NULL, "%s", m);
	where(l, off, file, e);
	return code;
}

/* Parse one logical requirement line l into r; *skip when its marker is
 * false for t.  0, or EX_NO/EX_DATA with e set. */
static int parse_req(const struct logical *l, const char *file, const struct py_target *t,
	struct py_req *r, int *skip, struct merr *e)
{
	const char *s = l->text.p, *p;
	size_t n = strcspn(s, " \t;=<>!~[@(");
	char m[600];

	memset(r, 0, sizeof *r);
	*skip = 0;
	if (n == 0 || n >= sizeof r->name)
		return fail_at(l, 0, file, e, EX_DATA, "a requirement without a name");
	/* PEP 508's name: it goes into the index URL, the fetch log's JSON,
	 * the SBOM's purl */
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]) ||
	    strspn(s, PY_NAME_CHARS) < n)
		return fail_at(l, 0, file, e, EX_DATA,
			"a requirement name that is not PEP 508's (letters, digits and ._- inside)");
	memcpy(r->name, s, n);
	py_norm(s, n, r->nm, sizeof r->nm);
	p = s + n;
	if (*p == '[')
		p = strchr(p, ']') ? strchr(p, ']') + 1 : p + strlen(p);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '@') {
		snprintf(m, sizeof m,
			"%s: a direct reference (name @ url) is refused: its artifact is not found through the pip configuration and not pinned with ==; lock it from an index with pip-compile --generate-hashes",
			r->name);
		return fail_at(l, (size_t)(p - s), file, e, EX_NO, m);
	}
	if (strncmp(p, "==", 2) != 0 || p[2] == '=') {
		snprintf(m, sizeof m, "%s: not pinned with ==", r->name);
		return fail_at(l, (size_t)(p - s), file, e, EX_NO, m);
	}
	p += 2;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t vl = strcspn(p, " \t;,");
	if (vl == 0 || vl >= sizeof r->ver || p[vl] == ',' || memchr(p, '*', vl)) {
		snprintf(m, sizeof m, "%s: not one version after ==", r->name);
		return fail_at(l, (size_t)(p - s), file, e, EX_NO, m);
	}
	if (strspn(p, PY_VERSION_CHARS) < vl) {
		snprintf(m, sizeof m, "%s: a version that is not PEP 440's (letters, digits and ._!+-)",
			r->name);
		return fail_at(l, (size_t)(p - s), file, e, EX_DATA, m);
	}
	memcpy(r->ver, p, vl);
	p += vl;
	while (*p == ' ' || *p == '\t')
		p++;
	const char *opts = p;
	if (*p == ';') {
		/* the marker runs to the first " --" option (pip's own rule) */
		const char *mk = p + 1, *end = strstr(mk, " --");
		size_t mn = end ? (size_t)(end - mk) : strlen(mk), at = 0;
		int val = 0, rc = py_marker(t, mk, mn, &val, &at, e);
		if (rc) {
			snprintf(m, sizeof m, "%s==%s: the marker %s: %.300s", r->name, r->ver,
				rc == EX_NO ? "cannot be evaluated for the image" : "is malformed", e->msg);
			return fail_at(l, (size_t)(mk - s) + at, file, e, rc, m);
		}
		*skip = !val;
		opts = mk + mn;
	}
	for (const char *h = opts; (h = strstr(h, "--hash")); ) {
		h += 6;
		while (*h == '=' || *h == ' ')
			h++;
		if (!strncmp(h, "sha256:", 7) && strspn(h + 7, "0123456789abcdef") == 64 &&
		    r->nh < PY_HASHES_MAX) {
			memcpy(r->hashes[r->nh], h + 7, 64);
			r->hashes[r->nh++][64] = '\0';
		}
	}
	if (r->nh == 0) {
		snprintf(m, sizeof m, "%s==%s: no --hash=sha256: (lowercase hex)", r->name, r->ver);
		return fail_at(l, 0, file, e, EX_NO, m);
	}
	return 0;
}

/* One logical line of the file from *pos (comments dropped, continuation
 * lines joined, leading blanks skipped) into l; 0 at the end. */
static int next_logical(const char *b, size_t n, size_t *pos, size_t *lineno, struct logical *l)
{
	l->text.len = 0;
	l->np = 0;
	while (*pos < n) {
		const char *s = b + *pos, *nl = memchr(s, '\n', n - *pos);
		size_t len = nl ? (size_t)(nl - s) : n - *pos, col = 1;
		*pos += len + (nl != NULL);
		++*lineno;
		if (len && s[len - 1] == '\r')
			len--;
		while (len && (*s == ' ' || *s == '\t'))
			s++, len--, col++;
		if (len && *s == '#')
			len = 0;
		for (size_t i = 1; i < len; i++)
			if (s[i] == '#' && (s[i - 1] == ' ' || s[i - 1] == '\t'))
				len = i;
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		int cont = len && s[len - 1] == '\\';
		len -= cont;
		struct piece *np = realloc(l->p, (l->np + 1) * sizeof *np);
		if (!np)
			return -1;
		l->p = np;
		l->p[l->np++] = (struct piece){ l->text.len, *lineno, col };
		buf_put(&l->text, s, len);
		if (cont) {
			buf_putc(&l->text, ' ');
			continue;
		}
		if (l->text.len)
			break;
		l->np = 0;
	}
	while (l->text.len && l->text.p[l->text.len - 1] == ' ')
		l->text.len--;
	return buf_cstr(&l->text) ? l->text.len > 0 : -1;
}

int pyreq_parse(const char *b, size_t n, const char *file, const struct py_target *t,
	struct py_req **out, size_t *nout, struct merr *e)
{
	struct logical l = { BUF_INIT, NULL, 0 };
	struct py_req *reqs = NULL;
	size_t nr = 0, pos = 0, lineno = 0;
	int rc = 0, more = 0;
	const char *nul = memchr(b, 0, n);

	if (nul) {   /* the line readers below stop at a NUL: what follows would be unread */
		size_t line = 1, col = 1;
		for (const char *q = b; q < nul; q++)
			*q == '\n' ? (line++, col = 1) : col++;
		merr_set(e, EX_DATA, NULL, "a NUL byte");
		snprintf(e->where, sizeof e->where, "%.90s:%zu:%zu", file, line, col);
		*out = NULL;
		*nout = 0;
		return EX_DATA;
	}
	/* every line understood before anything is fetched */
	while (!rc && (more = next_logical(b, n, &pos, &lineno, &l)) > 0) {
		const char *s = l.text.p;
		int skip;
		if (s[0] == '-') {
			if (!strncmp(s, "-e", 2) || !strncmp(s, "--editable", 10))
				rc = fail_at(&l, 0, file, e, EX_NO,
					"an editable requirement (-e) is refused: it names a source tree, and installing one means building it on the host; mvm-deps installs only wheels locked by --hash");
			else if (!strncmp(s, "-r", 2) || !strncmp(s, "--requirement", 13) ||
				 !strncmp(s, "-c", 2) || !strncmp(s, "--constraint", 12))
				rc = fail_at(&l, 0, file, e, EX_NO,
					"an include (-r/-c) is not installed by mvm-deps yet; give one pip-compile output");
			continue;   /* --index-url and the like: the pip configuration decides */
		}
		struct py_req *nrq = realloc(reqs, (nr + 1) * sizeof *reqs);
		if (!nrq) {
			rc = merr_set(e, EX_SYS, NULL, "out of memory");
			break;
		}
		reqs = nrq;
		rc = parse_req(&l, file, t, &reqs[nr], &skip, e);
		if (!rc && !skip)
			nr++;
	}
	if (!rc && more < 0)
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
	free(l.p);
	buf_free(&l.text);
	if (rc) {
		free(reqs);
		reqs = NULL;
		nr = 0;
	}
	*out = reqs;
	*nout = nr;
	return rc;
}

int deps_pip(struct deps_run *x, const char *lockpath, struct merr *e)
{
	struct buf b = BUF_INIT;
	struct py_req *reqs = NULL;
	struct py_target t;
	size_t nr = 0;
	size_t sl = strlen(x->srcdir);
	const char *file = !strncmp(lockpath, x->srcdir, sl) && lockpath[sl] == '/' ? lockpath + sl + 1
										     : lockpath;
	int rc = py_target_of(x, &t, e);

	if (!rc && read_file(lockpath, &b, e))
		rc = EX_SYS;
	if (!rc)
		rc = pyreq_parse(b.p ? b.p : "", b.len, file, &t, &reqs, &nr, e);
	if (!rc)
		rc = py_install(x, reqs, nr, e);
	free(reqs);
	buf_free(&b);
	return rc;
}
