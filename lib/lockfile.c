/* lockfile.c — is a dependency lockfile hash-pinned?  Line-oriented
 * checks of the formats the tools write (uv.lock, pip-compile's
 * requirements.txt, pnpm-lock.yaml v6/v9, yarn.lock v1) and a JSON check
 * of package-lock.json v3.  Each refuses a file that pins nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "io.h"
#include "json.h"
#include "lockfile.h"

int lockfile_tool(const char *name, size_t n)
{
	static const char *const names[] = { "uv", "pip_tools", "pnpm", "npm", "yarn", NULL };

	for (int i = 0; names[i]; i++)
		if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0)
			return i;
	return -1;
}

static int say(char *detail, size_t dn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *detail, size_t dn, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, dn, fmt, ap);
	va_end(ap);
	return LOCK_UNPINNED;
}

/* ---- lines ---- */

struct lines {
	const char *p, *end;
};

/* The next line (without its \n or \r\n) in *s, *n; 0 at the end. */
static int next_line(struct lines *l, const char **s, size_t *n)
{
	const char *e;

	if (l->p >= l->end)
		return 0;
	e = memchr(l->p, '\n', (size_t)(l->end - l->p));
	if (!e)
		e = l->end;
	*s = l->p;
	*n = (size_t)(e - l->p);
	if (*n && (*s)[*n - 1] == '\r')
		(*n)--;
	l->p = e < l->end ? e + 1 : e;
	return 1;
}

static size_t indent(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] == ' ')
		i++;
	return i;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static int starts(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);

	return n >= k && memcmp(s, pre, k) == 0;
}

static const char *find(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	if (k == 0 || n < k)
		return NULL;
	for (size_t i = 0; i + k <= n; i++)
		if (s[i] == needle[0] && memcmp(s + i, needle, k) == 0)
			return s + i;
	return NULL;
}

static int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

static int utf8_ok(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t k;
		unsigned cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; }
		else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0F; }
		else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; }
		else return 0;
		if (i + k >= n)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + j] & 0x3F);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* ---- Subresource Integrity values (npm, pnpm, yarn) ---- */

static int b64_ok(const char *s, size_t n, size_t want)
{
	if (n != want)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || (c == '=' && i >= n - 2)))
			return 0;
	}
	return 1;
}

enum { SRI_OK, SRI_BAD, SRI_WEAK };

/* One or more space-separated "alg-base64" values; at least one must be a
 * well-formed sha256, sha384 or sha512 digest.  sha1 alone is weak. */
static int sri_check(const char *s, size_t n)
{
	int weak = 0, any = 0;
	size_t i = 0;

	while (i < n) {
		size_t j;
		while (i < n && s[i] == ' ')
			i++;
		for (j = i; j < n && s[j] != ' '; j++)
			;
		const char *t = s + i;
		size_t tn = j - i;
		/* an SRI option suffix ("?foo") is allowed and ignored */
		const char *qm = memchr(t, '?', tn);
		if (qm)
			tn = (size_t)(qm - t);
		if (tn) {
			any = 1;
			if ((starts(t, tn, "sha512-") && b64_ok(t + 7, tn - 7, 88)) ||
			    (starts(t, tn, "sha384-") && b64_ok(t + 7, tn - 7, 64)) ||
			    (starts(t, tn, "sha256-") && b64_ok(t + 7, tn - 7, 44)))
				return SRI_OK;
			if (starts(t, tn, "sha1-") && b64_ok(t + 5, tn - 5, 28))
				weak = 1;
		}
		i = j;
	}
	return any && weak ? SRI_WEAK : SRI_BAD;
}

/* The first bytes of a name for a message: up to 80 bytes of the
 * characters package names, versions, paths and specifiers are made of,
 * and nothing after the first other byte, so that a message never quotes
 * free text of the file (a secret in a file that is not a lockfile). */
static const char *nm(char *dst, size_t dn, const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && k < 80 && s[k] && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-@/+:=<>!~^ \",", s[k]))
		k++;
	snprintf(dst, dn, "%.*s%s", (int)k, s, n > k ? "..." : "");
	return dst;
}

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

static int check_uv(const char *p, size_t n, char *detail, size_t dn)
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
			nm(name, sizeof name, t + 8, q ? (size_t)(q - t - 8) : tn - 8);
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
		return say(detail, dn, "no [[package]] blocks found — is this a uv.lock?");
	if (bad)
		return say(detail, dn, "%zu/%zu packages missing a sha256 hash (first: %s)", bad,
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
	nm(what, sizeof what, t, tn);
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
				nm(st->first, sizeof st->first, t, tn);
		} else if (tn && pip_include(t, tn, &f, &fn)) {
			pip_check_include(t, tn, f, fn, dir, st, e);
		} else if (tn && t[0] != '-') {
			size_t k;
			for (k = 0; k < tn && t[k] != ' ' && t[k] != ';'; k++)
				;
			st->total++;
			if (!req_hash_ok(t, tn) && st->nohash++ == 0)
				nm(st->first, sizeof st->first, t, k);
			if (!find(t, tn, "==") && !find(t, tn, " @ ") && st->nopin++ == 0)
				nm(st->firstpin, sizeof st->firstpin, t, k);
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
		return say(detail, dn, "%s", st->why);
	if (st->total == 0)
		return say(detail, dn, "no requirements found in lockfile");
	if (st->editable)
		return say(detail, dn, "an editable requirement (%s) cannot be hash-pinned: it names a source tree, which would have to be built on the host",
			st->first);
	if (st->nohash)
		return say(detail, dn, "%zu/%zu requirements missing --hash=sha256: (first: %s)",
			st->nohash, st->total, st->first);
	if (st->nopin)
		return say(detail, dn, "%zu/%zu requirements not pinned with == (first: %s)",
			st->nopin, st->total, st->firstpin);
	return LOCK_PINNED;
}

static int check_pip(const char *p, size_t n, char *detail, size_t dn)
{
	struct pipstat st = { 0 };
	struct merr e = { 0 };

	pip_count(p, n, NULL, &st, &e);
	return pip_verdict(&st, detail, dn);
}

/* ---- pnpm-lock.yaml (v6, v9) ---- */

/* The value of "key:" inside a YAML flow or block mapping text, unquoted. */
static const char *yaml_val(const char *s, size_t n, const char *key, size_t *vn)
{
	const char *p = s, *end = s + n;
	size_t k = strlen(key);

	while ((p = find(p, (size_t)(end - p), key)) != NULL) {
		/* a key starts the text, or follows '{', ',', ' ' or a newline */
		if ((p == s || strchr("{, \n", p[-1])) && (size_t)(end - p) > k && p[k] == ':') {
			const char *v = p + k + 1;
			while (v < end && *v == ' ')
				v++;
			char qch = (v < end && (*v == '\'' || *v == '"')) ? *v : 0;
			if (qch)
				v++;
			const char *e = v;
			while (e < end && *e != '\n' && (qch ? *e != qch : (*e != ',' && *e != '}')))
				e++;
			while (!qch && e > v && e[-1] == ' ')
				e--;
			*vn = (size_t)(e - v);
			return v;
		}
		p += k;
	}
	return NULL;
}

static int check_pnpm(const char *p, size_t n, char *detail, size_t dn)
{
	struct lines l = { p, p + n };
	const char *s, *ver = NULL;
	size_t sn, vern = 0, total = 0, bad = 0;
	char first[128] = "", why[64] = "";
	int in_pkgs = 0;
	struct buf res = BUF_INIT;
	const char *entry = NULL;
	size_t entryn = 0;

	while (next_line(&l, &s, &sn)) {
		if (starts(s, sn, "lockfileVersion:")) {
			ver = s + 16;
			vern = sn - 16;
			trim(&ver, &vern);
		}
	}
	if (!ver)
		return say(detail, dn, "missing lockfileVersion — is this a pnpm-lock.yaml?");
	if (vern >= 2 && (ver[0] == '\'' || ver[0] == '"')) {
		ver++;
		vern -= 2;
	}
	if (!(vern >= 1 && ver[0] >= '6' && ver[0] <= '9' && (vern == 1 || ver[1] == '.')))
		return say(detail, dn, "lockfileVersion %s is not supported (pnpm v6 to v9 lockfiles are)",
			nm(why, sizeof why, ver, vern));

	/* Each entry under packages: is a key at indent 2; its resolution is
	 * inline ({integrity: ...}) or a block below it. */
	l.p = p;
	int in_res = 0;
	size_t res_indent = 0;

#define PNPM_END() do { \
	if (entry) { \
		size_t in_, cn, tn_; \
		const char *integ = yaml_val(res.p ? res.p : "", res.len, "integrity", &in_); \
		const char *commit = yaml_val(res.p ? res.p : "", res.len, "commit", &cn); \
		const char *type = yaml_val(res.p ? res.p : "", res.len, "type", &tn_); \
		int ok = (integ && sri_check(integ, in_) == SRI_OK) || \
			(type && tn_ == 3 && memcmp(type, "git", 3) == 0 && commit && cn == 40 && all_hex(commit, 40)) || \
			(type && tn_ == 9 && memcmp(type, "directory", 9) == 0); \
		total++; \
		if (!ok && bad++ == 0) { \
			nm(first, sizeof first, entry, entryn); \
			snprintf(why, sizeof why, "%s", integ && sri_check(integ, in_) == SRI_WEAK ? \
				"weak sha1 integrity" : res.len ? "no integrity" : "no resolution"); \
		} \
		entry = NULL; \
	} \
} while (0)

	while (next_line(&l, &s, &sn)) {
		size_t ind = indent(s, sn);
		const char *t = s;
		size_t tn = sn;
		trim(&t, &tn);
		if (tn == 0 || t[0] == '#')
			continue;
		if (ind == 0) {
			PNPM_END();
			in_pkgs = starts(s, sn, "packages:");
			continue;
		}
		if (!in_pkgs)
			continue;
		if (ind == 2) {
			PNPM_END();
			const char *colon = t + tn;
			/* the key ends at its last ":" followed by space or end */
			for (size_t i = 0; i < tn; i++)
				if (t[i] == ':' && (i + 1 == tn || t[i + 1] == ' ')) {
					colon = t + i;
					if (t[0] != '\'' && t[0] != '"')
						break;
				}
			entry = t;
			entryn = (size_t)(colon - t);
			if (entryn >= 2 && (t[0] == '\'' || t[0] == '"')) {
				entry++;
				entryn -= 2;
			}
			res.len = 0;
			in_res = 0;
			/* flow style on the header line: key: {resolution: {...}} */
			const char *r = find(t, tn, "resolution:");
			if (r) {
				buf_put(&res, r + 11, tn - (size_t)(r + 11 - t));
			}
			continue;
		}
		if (!entry)
			continue;
		if (in_res && ind > res_indent) {
			buf_put(&res, t, tn);
			buf_putc(&res, '\n');
			continue;
		}
		in_res = 0;
		if (starts(t, tn, "resolution:")) {
			const char *v = t + 11;
			size_t vn = tn - 11;
			trim(&v, &vn);
			if (vn) {
				buf_put(&res, v, vn);
			} else {
				in_res = 1;
				res_indent = ind;
			}
		}
	}
	PNPM_END();
#undef PNPM_END
	buf_free(&res);
	if (total == 0)
		return say(detail, dn, "no packages found in pnpm-lock.yaml");
	if (bad)
		return say(detail, dn, "%zu/%zu pnpm packages missing integrity (first: %s, %s)", bad,
			total, first, why);
	return LOCK_PINNED;
}

/* ---- package-lock.json v3 ---- */

static int jt(const struct jdoc *d, jref v)
{
	return v == JREF_NONE ? -1 : (int)json_type(d, v);
}

static int check_npm(const char *p, size_t n, char *detail, size_t dn)
{
	struct merr e;
	struct jdoc *d = json_parse(p, n, NULL, &e);
	jref root, v, pk, k;
	size_t total = 0, bad = 0;
	char first[128] = "", why[96] = "";
	int r;

	if (!d)
		return say(detail, dn, "not valid JSON: %s: %s", e.where, e.msg);
	root = json_root(d);
	v = json_get(d, root, "lockfileVersion");
	if (v == JREF_NONE || json_type(d, v) != J_NUM || json_num(d, v) != 3) {
		struct buf b = BUF_INIT;
		if (v != JREF_NONE)
			json_canon(d, v, &b);
		r = say(detail, dn,
			"package-lock.json must be lockfileVersion 3 (got %.*s); regenerate with `npm install`",
			b.p ? (int)(b.len > 40 ? 40 : b.len) : 4, b.p ? b.p : "none");
		buf_free(&b);
		json_free(d);
		return r;
	}
	pk = json_get(d, root, "packages");
	if (jt(d, pk) != J_OBJ) {
		json_free(d);
		return say(detail, dn, "missing or non-object `packages` field");
	}
	for (k = json_first_key(d, pk); k != JREF_NONE; k = json_next_key(d, k)) {
		size_t kn;
		const char *key = json_str(d, k, &kn);
		jref e2 = json_value(k), x;
		const char *bad_why = NULL;
		if (kn == 0 || !(starts(key, kn, "node_modules/") || find(key, kn, "/node_modules/")))
			continue;   /* the project, a workspace or a local directory: in the tree */
		total++;
		if (json_type(d, e2) != J_OBJ) {
			bad_why = "not an object";
		} else if (jt(d, json_get(d, e2, "link")) == J_TRUE ||
			   jt(d, json_get(d, e2, "inBundle")) == J_TRUE) {
			continue;   /* a symlink into the tree, or inside its parent's tarball */
		} else {
			size_t in_;
			jref iv = json_get(d, e2, "integrity");
			const char *integ = jt(d, iv) == J_STR ? json_str(d, iv, &in_) : NULL;
			x = json_get(d, e2, "resolved");
			int sc = integ ? sri_check(integ, in_) : SRI_BAD;
			if (!integ)
				bad_why = "no integrity";
			else if (sc == SRI_WEAK)
				bad_why = "weak sha1 integrity";
			else if (sc != SRI_OK)
				bad_why = "malformed integrity";
			else if (x == JREF_NONE && jt(d, json_get(d, e2, "version")) != J_STR)
				bad_why = "no resolved URL and no version to fetch it by";
			else if (x != JREF_NONE) {
				size_t rn;
				const char *res = jt(d, x) == J_STR ? json_str(d, x, &rn) : NULL;
				if (!res || !(starts(res, rn, "https://") || starts(res, rn, "file:")))
					bad_why = "resolved is not an https: or file: URL";
			}
		}
		if (bad_why && bad++ == 0) {
			nm(first, sizeof first, key, kn);
			snprintf(why, sizeof why, "%s", bad_why);
		}
	}
	json_free(d);
	if (total == 0)
		return say(detail, dn, "no vendored packages found");
	if (bad)
		return say(detail, dn, "%zu/%zu npm packages not pinned (first: %s, %s)", bad, total,
			first, why);
	return LOCK_PINNED;
}

/* ---- yarn.lock (classic v1) ---- */

static int check_yarn(const char *p, size_t n, char *detail, size_t dn)
{
	struct lines l = { p, p + n };
	const char *s;
	size_t sn, total = 0, bad = 0;
	int header = 0, in_entry = 0, integ = 0, weak = 0, resolved_bad = 0;
	char first[128] = "", cur[128] = "", why[64] = "";

#define YARN_END() do { \
	if (in_entry) { \
		total++; \
		if ((!integ || resolved_bad) && bad++ == 0) { \
			snprintf(first, sizeof first, "%s", cur); \
			snprintf(why, sizeof why, "%s", resolved_bad ? "resolved is not an https: or file: URL" \
				: weak ? "weak sha1 integrity" : "no integrity"); \
		} \
	} \
} while (0)

	while (next_line(&l, &s, &sn)) {
		const char *t = s;
		size_t tn = sn;
		if (starts(s, sn, "# yarn lockfile v1"))
			header = 1;
		trim(&t, &tn);
		if (tn == 0 || t[0] == '#')
			continue;
		if (indent(s, sn) == 0) {
			YARN_END();
			in_entry = 1;
			integ = weak = resolved_bad = 0;
			nm(cur, sizeof cur, t, tn && t[tn - 1] == ':' ? tn - 1 : tn);
			continue;
		}
		if (!in_entry)
			continue;
		if (starts(t, tn, "integrity ")) {
			const char *v = t + 10;
			size_t vn = tn - 10;
			trim(&v, &vn);
			if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
				v++;
				vn -= 2;
			}
			int sc = sri_check(v, vn);
			if (sc == SRI_OK)
				integ = 1;
			else if (sc == SRI_WEAK)
				weak = 1;
		} else if (starts(t, tn, "resolved ")) {
			const char *v = t + 9;
			size_t vn = tn - 9;
			trim(&v, &vn);
			if (vn && v[0] == '"') {
				v++;
				vn--;
			}
			if (!(starts(v, vn, "https://") || starts(v, vn, "file:")))
				resolved_bad = 1;
		}
	}
	YARN_END();
#undef YARN_END
	if (!header)
		return say(detail, dn,
			"missing \"# yarn lockfile v1\" header — not recognized as a Yarn classic lockfile");
	if (total == 0)
		return say(detail, dn, "no entries found in yarn.lock");
	if (bad)
		return say(detail, dn, "%zu/%zu yarn entries not pinned (first: %s, %s)", bad, total,
			first, why);
	return LOCK_PINNED;
}

int lockfile_check_buf(int tool, const char *p, size_t n, char *detail, size_t dn)
{
	if (!utf8_ok((const unsigned char *)p, n))
		return say(detail, dn, "lockfile is not valid UTF-8");
	if (memchr(p, '\0', n))
		return say(detail, dn, "lockfile contains a NUL byte");
	switch (tool) {
	case LOCK_UV: return check_uv(p, n, detail, dn);
	case LOCK_PIP_TOOLS: return check_pip(p, n, detail, dn);
	case LOCK_PNPM: return check_pnpm(p, n, detail, dn);
	case LOCK_NPM: return check_npm(p, n, detail, dn);
	case LOCK_YARN: return check_yarn(p, n, detail, dn);
	}
	return say(detail, dn, "unknown tool");
}

int lockfile_inside(const char *root, const char *path, struct buf *real, struct merr *e)
{
	char *rp = realpath(path, NULL);
	struct stat st;
	size_t k = strlen(root);
	int r;

	if (!rp) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return LOCK_NOT_FOUND;
		return merr_set(e, EX_SYS, NULL, "unable to resolve %s: %s", path, strerror(errno));
	}
	if (!(strncmp(rp, root, k) == 0 && (rp[k] == '/' || (k == 1 && root[0] == '/'))))
		r = LOCK_OUTSIDE;
	else if (stat(rp, &st) != 0 || !S_ISREG(st.st_mode))
		r = LOCK_NOT_FOUND;
	else
		r = LOCK_PINNED;
	if (r == LOCK_PINNED && real) {
		real->len = 0;
		buf_puts(real, rp);
		if (!buf_cstr(real))
			r = merr_set(e, EX_SYS, NULL, "out of memory");
	}
	free(rp);
	return r;
}

int lockfile_resolve(const char *srcdir, const char *lock, struct buf *out, struct merr *e)
{
	size_t n = strlen(lock);
	char *root;
	int r;

	/* relative, and no ".." component */
	if (n == 0 || lock[0] == '/')
		return LOCK_OUTSIDE;
	for (const char *c = lock; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return LOCK_OUTSIDE;
	}
	root = realpath(srcdir, NULL);
	if (!root) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return LOCK_NOT_FOUND;
		return merr_set(e, EX_SYS, NULL, "unable to resolve %s: %s", srcdir, strerror(errno));
	}
	out->len = 0;
	buf_puts(out, root);
	buf_putc(out, '/');
	buf_puts(out, lock);
	if (!buf_cstr(out)) {
		free(root);
		return merr_set(e, EX_SYS, NULL, "out of memory");
	}
	r = lockfile_inside(root, out->p, out, e);
	free(root);
	return r;
}

/* Read a regular file whose place has been checked. */
static int read_lock(const char *path, struct buf *b, struct merr *e)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);

	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return LOCK_NOT_FOUND;
		return merr_set(e, EX_SYS, NULL, "unable to open lockfile %s: %s", path,
			strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return LOCK_NOT_FOUND;
	}
	if (read_fd(fd, b, e) != 0) {
		char msg[sizeof e->msg];
		snprintf(msg, sizeof msg, "%s", e->msg);
		close(fd);
		return merr_set(e, EX_SYS, NULL, "lockfile %s: %s", path, msg);
	}
	close(fd);
	return 0;
}

static int pip_file(const char *path, struct pipstat *st, struct merr *e)
{
	struct buf b = BUF_INIT;
	char *dir, *slash;
	int r = read_lock(path, &b, e);

	if (r == LOCK_NOT_FOUND)
		snprintf(st->why, sizeof st->why, "an included file is not a regular file");
	if (r)
		return r;
	if (!utf8_ok((const unsigned char *)(b.p ? b.p : ""), b.len) || (b.len && memchr(b.p, '\0', b.len))) {
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

int lockfile_check(int tool, const char *srcdir, const char *lock, char *detail, size_t dn,
	struct merr *e)
{
	struct buf path = BUF_INIT, b = BUF_INIT;
	int r = lockfile_resolve(srcdir, lock, &path, e);

	if (r == 0)
		r = read_lock(path.p, &b, e);
	if (r == 0 && tool == LOCK_PIP_TOOLS && utf8_ok((const unsigned char *)(b.p ? b.p : ""), b.len) &&
	    !(b.len && memchr(b.p, '\0', b.len))) {
		struct pipstat st = { 0 };
		char *root = realpath(srcdir, NULL);
		if (!root) {
			r = merr_sys(e, srcdir);
		} else {
			char *dir = strdup(path.p), *slash = dir ? strrchr(dir, '/') : NULL;
			st.root = root;
			if (slash)
				*slash = '\0';
			merr_clear(e);
			if (!dir)
				r = merr_set(e, EX_SYS, NULL, "out of memory");
			else
				pip_count(b.p ? b.p : "", b.len, dir, &st, e);
			if (r == 0)
				r = e->code ? e->code : pip_verdict(&st, detail, dn);
			free(dir);
			free(root);
		}
	} else if (r == 0) {
		r = lockfile_check_buf(tool, b.p ? b.p : "", b.len, detail, dn);
	}
	buf_free(&b);
	buf_free(&path);
	return r;
}
