/* lockpy.c — the Python lockfiles (lockfile_int.h): uv.lock, and
 * pip-compile --generate-hashes requirements with their -r/-c includes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "lockfile.h"
#include "lockfile_int.h"

/* ---- uv.lock ---- */

/* In the text of an sdist/wheels region, count the artifacts ({ url =,
 * { path =, { filename = ... }) and how many carry hash = "sha256:<hex>". */
static void uv_artifacts(const char *s, size_t n, size_t *arts, size_t *hashed)
{
	const char *end = s + n;

	while (s < end) {
		const char *o = memchr(s, '{', (size_t)(end - s));
		if (!o)
			return;
		const char *c = memchr(o, '}', (size_t)(end - o));
		size_t len = c ? (size_t)(c - o) : (size_t)(end - o);
		/* an artifact names where it is (url, path, filename) or, for
		 * direct-URL and path sources whose sdist has no url of its own,
		 * carries only its hash */
		if (find(o, len, "url =") || find(o, len, "url=") || find(o, len, "path =") ||
		    find(o, len, "path=") || find(o, len, "filename =") || find(o, len, "hash =") ||
		    find(o, len, "hash=")) {
			(*arts)++;
			const char *h = find(o, len, "hash = \"sha256:");
			size_t skip = 15;
			if (!h) {
				h = find(o, len, "hash=\"sha256:");
				skip = 13;
			}
			if (h && (size_t)(o + len - h) >= skip + 65 && all_hex(h + skip, 64) &&
			    h[skip + 64] == '"')
				(*hashed)++;
		}
		s = c ? c + 1 : end;
	}
}

int lock_check_uv(const char *p, size_t n, char *detail, size_t dn)
{
	struct lines l = { p, p + n };
	const char *s;
	size_t sn, total = 0, bad = 0;
	char first[128] = "", name[128] = "";
	/* per package state */
	int in_pkg = 0, local = 0, git_ok = 0, is_git = 0, in_wheels = 0;
	size_t arts = 0, hashed = 0;

#define UV_END() do { \
	if (in_pkg) { \
		total++; \
		int ok = local || (is_git ? git_ok : (arts > 0 && hashed == arts)); \
		if (!ok) { \
			if (!bad++) \
				snprintf(first, sizeof first, "%s", name[0] ? name : "?"); \
		} \
	} \
} while (0)

	while (next_line(&l, &s, &sn)) {
		const char *t = s;
		size_t tn = sn;
		trim(&t, &tn);
		if (tn == 11 && memcmp(t, "[[package]]", 11) == 0) {
			UV_END();
			in_pkg = 1;
			local = git_ok = is_git = in_wheels = 0;
			arts = hashed = 0;
			name[0] = '\0';
			continue;
		}
		if (!in_pkg)
			continue;
		if (in_wheels) {
			uv_artifacts(t, tn, &arts, &hashed);
			if (tn && t[0] == ']')
				in_wheels = 0;
			continue;
		}
		if (sn && s[0] == '[' ) {
			/* [package.metadata] and friends stay with the package; any
			 * other table ends it */
			if (!starts(t, tn, "[package.")) {
				UV_END();
				in_pkg = 0;
			}
			continue;
		}
		if (starts(t, tn, "name = \"") && !name[0]) {
			const char *q = memchr(t + 8, '"', tn - 8);
			lock_nm(name, sizeof name, t + 8, q ? (size_t)(q - t - 8) : tn - 8);
		} else if (starts(t, tn, "source = {") || starts(t, tn, "source={")) {
			if (find(t, tn, "editable") || find(t, tn, "virtual") || find(t, tn, "directory"))
				local = 1;
			const char *g = find(t, tn, "git = \"");
			if (g) {
				is_git = 1;
				const char *h = memchr(g, '#', tn - (size_t)(g - t));
				if (h && (size_t)(t + tn - h) >= 41 && all_hex(h + 1, 40))
					git_ok = 1;
			}
		} else if (starts(t, tn, "sdist = ") || starts(t, tn, "sdist=")) {
			uv_artifacts(t, tn, &arts, &hashed);
		} else if (starts(t, tn, "wheels = [") || starts(t, tn, "wheels=[")) {
			uv_artifacts(t, tn, &arts, &hashed);
			const char *close = memchr(t, ']', tn);
			in_wheels = close == NULL;
		}
	}
	UV_END();
#undef UV_END
	if (total == 0)
		return lock_say(detail, dn, "no [[package]] blocks found — is this a uv.lock?");
	if (bad)
		return lock_say(detail, dn, "%zu/%zu packages missing a sha256 hash (first: %s)", bad,
			total, first);
	return LOCK_PINNED;
}

/* ---- requirements.txt (pip-compile --generate-hashes) ---- */

static int req_hash_ok(const char *s, size_t n)
{
	const char *p = s, *end = s + n;

	while ((p = find(p, (size_t)(end - p), "--hash")) != NULL) {
		p += 6;
		if (p < end && (*p == '=' || *p == ' ')) {
			p++;
			while (p < end && *p == ' ')
				p++;
			size_t k = 0, rest = (size_t)(end - p);
			if (starts(p, rest, "sha256:"))
				k = 64;
			else if (starts(p, rest, "sha384:"))
				k = 96;
			else if (starts(p, rest, "sha512:"))
				k = 128;
			if (k && rest >= 7 + k && all_hex(p + 7, k) &&
			    (rest == 7 + k || p[7 + k] == ' ' || p[7 + k] == '\t'))
				return 1;
		}
	}
	return 0;
}

/* What the requirement files seen so far (the lockfile and its -r/-c
 * includes) add up to. */
struct pipstat {
	size_t total, nohash, nopin;
	int editable, depth;
	char first[128], firstpin[128];
	const char *root;     /* the real path of the source directory, or NULL */
	char why[256];        /* an include that could not be checked */
};

enum { PIP_DEPTH_MAX = 8 };

static int pip_file(const char *path, struct pipstat *st, struct merr *e);

/* An option line that includes another file: -r F, -rF, --requirement F,
 * --requirement=F, and the same for -c/--constraint.  Returns the file name
 * in *f, *fn, or 0. */
static int pip_include(const char *t, size_t tn, const char **f, size_t *fn)
{
	static const char *const opts[] = { "--requirement", "--constraint", "-r", "-c", NULL };

	for (const char *const *o = opts; *o; o++) {
		size_t k = strlen(*o);
		if (!starts(t, tn, *o))
			continue;
		const char *v = t + k;
		size_t vn = tn - k;
		if (k > 2 && vn && v[0] != ' ' && v[0] != '\t' && v[0] != '=')
			continue;     /* --requirementsfoo */
		if (vn && v[0] == '=')
			v++, vn--;
		trim(&v, &vn);
		*f = v;
		*fn = vn;
		return 1;
	}
	return 0;
}

static void pip_check_include(const char *t, size_t tn, const char *f, size_t fn,
	const char *dir, struct pipstat *st, struct merr *e)
{
	char what[128];
	struct buf p = BUF_INIT;

	if (st->why[0] || e->code)
		return;
	lock_nm(what, sizeof what, t, tn);
	if (!st->root) {
		snprintf(st->why, sizeof st->why, "the include (%s) cannot be checked here", what);
		return;
	}
	if (st->depth >= PIP_DEPTH_MAX) {
		snprintf(st->why, sizeof st->why, "includes nest deeper than %d (at %s)",
			PIP_DEPTH_MAX, what);
		return;
	}
	if (fn == 0 || memchr(f, '\0', fn) || find(f, fn, "://")) {
		snprintf(st->why, sizeof st->why, "the include (%s) is not a file of the source tree",
			what);
		return;
	}
	if (f[0] != '/') {
		buf_puts(&p, dir);
		buf_putc(&p, '/');
	}
	buf_put(&p, f, fn);
	if (!buf_cstr(&p)) {
		merr_set(e, EX_SYS, NULL, "out of memory");
		return;
	}
	int r = lockfile_inside(st->root, p.p, &p, e);
	if (r == LOCK_OUTSIDE)
		snprintf(st->why, sizeof st->why,
			"the include (%s) is outside the source directory; it was not read", what);
	else if (r == LOCK_NOT_FOUND)
		snprintf(st->why, sizeof st->why, "the include (%s) is not a regular file", what);
	else if (r == LOCK_PINNED) {
		st->depth++;
		pip_file(p.p, st, e);
		st->depth--;
	}
	buf_free(&p);
}

/* Count the requirements of one file's bytes into st; includes are
 * resolved against dir (NULL: includes cannot be checked). */
static void pip_count(const char *p, size_t n, const char *dir, struct pipstat *st,
	struct merr *e)
{
	struct lines l = { p, p + n };
	const char *s;
	size_t sn;
	struct buf logical = BUF_INIT;
	int cont = 0;

	for (;;) {
		int more = next_line(&l, &s, &sn);
		if (more) {
			const char *t = s;
			size_t tn = sn;
			trim(&t, &tn);
			if (!cont && (tn == 0 || t[0] == '#'))
				continue;
			/* an inline comment starts at whitespace + '#' */
			for (size_t i = 1; i < tn; i++)
				if (t[i] == '#' && (t[i - 1] == ' ' || t[i - 1] == '\t')) {
					tn = i;
					trim(&t, &tn);
					break;
				}
			int bs = tn && t[tn - 1] == '\\';
			if (bs)
				tn--;
			buf_put(&logical, t, tn);
			buf_putc(&logical, ' ');
			cont = bs;
			if (cont)
				continue;
		} else if (logical.len == 0) {
			break;
		}
		/* one logical requirement line */
		const char *t = logical.p, *f;
		size_t tn = logical.len, fn;
		trim(&t, &tn);
		if (tn && (starts(t, tn, "-e ") || starts(t, tn, "-e\t") || starts(t, tn, "--editable"))) {
			st->editable = 1;
			st->total++;
			st->nohash++;
			if (!st->first[0])
				lock_nm(st->first, sizeof st->first, t, tn);
		} else if (tn && pip_include(t, tn, &f, &fn)) {
			pip_check_include(t, tn, f, fn, dir, st, e);
		} else if (tn && t[0] != '-') {
			size_t k;
			for (k = 0; k < tn && t[k] != ' ' && t[k] != ';'; k++)
				;
			st->total++;
			if (!req_hash_ok(t, tn) && st->nohash++ == 0)
				lock_nm(st->first, sizeof st->first, t, k);
			if (!find(t, tn, "==") && !find(t, tn, " @ ") && st->nopin++ == 0)
				lock_nm(st->firstpin, sizeof st->firstpin, t, k);
		}
		logical.len = 0;
		if (!more)
			break;
	}
	buf_free(&logical);
}

static int pip_verdict(const struct pipstat *st, char *detail, size_t dn)
{
	if (st->why[0])
		return lock_say(detail, dn, "%s", st->why);
	if (st->total == 0)
		return lock_say(detail, dn, "no requirements found in lockfile");
	if (st->editable)
		return lock_say(detail, dn, "an editable requirement (%s) cannot be hash-pinned: it names a source tree, which would have to be built on the host",
			st->first);
	if (st->nohash)
		return lock_say(detail, dn, "%zu/%zu requirements missing --hash=sha256: (first: %s)",
			st->nohash, st->total, st->first);
	if (st->nopin)
		return lock_say(detail, dn, "%zu/%zu requirements not pinned with == (first: %s)",
			st->nopin, st->total, st->firstpin);
	return LOCK_PINNED;
}

int lock_check_pip(const char *p, size_t n, char *detail, size_t dn)
{
	struct pipstat st = { 0 };
	struct merr e = { 0 };

	pip_count(p, n, NULL, &st, &e);
	return pip_verdict(&st, detail, dn);
}

static int pip_file(const char *path, struct pipstat *st, struct merr *e)
{
	struct buf b = BUF_INIT;
	char *dir, *slash;
	int r = lock_read(path, &b, e);

	if (r == LOCK_NOT_FOUND)
		snprintf(st->why, sizeof st->why, "an included file is not a regular file");
	if (r)
		return r;
	if (!lock_utf8_ok((const unsigned char *)(b.p ? b.p : ""), b.len) || (b.len && memchr(b.p, '\0', b.len))) {
		snprintf(st->why, sizeof st->why, "an included file is not valid UTF-8 text");
		buf_free(&b);
		return 0;
	}
	dir = strdup(path);
	if (!dir) {
		buf_free(&b);
		return merr_set(e, EX_SYS, NULL, "out of memory");
	}
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	pip_count(b.p ? b.p : "", b.len, slash ? dir : ".", st, e);
	free(dir);
	buf_free(&b);
	return e->code ? e->code : 0;
}

int lock_pip_tree(const char *srcdir, const char *path, const struct buf *b, char *detail,
	size_t dn, struct merr *e)
{
	struct pipstat st = { 0 };
	char *root = realpath(srcdir, NULL);
	int r = 0;

	if (!root) {
		r = merr_sys(e, srcdir);
	} else {
		char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
		st.root = root;
		if (slash)
			*slash = '\0';
		merr_clear(e);
		if (!dir)
			r = merr_set(e, EX_SYS, NULL, "out of memory");
		else
			pip_count(b->p ? b->p : "", b->len, dir, &st, e);
		if (r == 0)
			r = e->code ? e->code : pip_verdict(&st, detail, dn);
		free(dir);
		free(root);
	}
	return r;
}
