/* depsnpm.c — package-lock.json v3 onto the deps volume (deps.h).
 *
 * Each locked tarball is fetched (its resolved URL, or the configured
 * registry by name and version), verified against its integrity, and
 * unpacked by archive.c into the path the lockfile gives it.  No lifecycle
 * script runs: a package whose entry says hasInstallScript is refused
 * before anything is fetched.  Dev dependencies are not installed (as
 * npm ci --omit=dev), nor optional ones for another OS or CPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "archive.h"
#include "deps.h"
#include "json.h"

#define NPMJS "https://registry.npmjs.org/"

static int is(const struct jdoc *d, jref o, const char *k, enum jtype t)
{
	jref v = json_get(d, o, k);
	return v != JREF_NONE && json_type(d, v) == t;
}

/* Does a string array (os, cpu) allow want?  Absent allows everything;
 * "!x" entries exclude. */
static int allows(const struct jdoc *d, jref o, const char *k, const char *want)
{
	jref a = json_get(d, o, k);
	int any = 0, neg = 0;

	if (a == JREF_NONE || json_type(d, a) != J_ARR)
		return 1;
	for (jref v = json_first(d, a); v != JREF_NONE; v = json_next(d, v)) {
		if (json_type(d, v) != J_STR)
			continue;
		if (json_str_eq(d, v, want))
			any = 1;
		size_t n;
		const char *s = json_str(d, v, &n);
		if (n && s[0] == '!') {
			neg = 1;
			if (n - 1 == strlen(want) && memcmp(s + 1, want, n - 1) == 0)
				return 0;
		}
	}
	return any || neg;
}

/* A lockfile key as a path: node_modules/... with no empty, ".", ".."
 * component and no control byte or backslash. */
static int key_ok(const char *k, size_t n)
{
	if (n < 14 || strncmp(k, "node_modules/", 13) != 0)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && k[j] != '/')
			j++;
		if (j == i || (j - i == 1 && k[i] == '.') || (j - i == 2 && k[i] == '.' && k[i + 1] == '.'))
			return 0;
		for (size_t q = i; q < j; q++)
			if ((unsigned char)k[q] < 0x20 || k[q] == '\\' || k[q] == 0x7f)
				return 0;
		i = j + 1;
	}
	return 1;
}

static char *registry(const char *srcdir, const char *scratch)
{
	const char *v = getenv("npm_config_registry");
	char out[4200], err[4300];
	struct buf b = BUF_INIT;
	char *r;

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
	r = buf_cstr(&b);
	return r ? r : NULL;
}

int deps_npm(struct deps_run *x, const char *lock, size_t n, struct merr *e)
{
	struct jdoc *d = json_parse(lock, n, NULL, e);
	struct buf url = BUF_INIT, what = BUF_INIT, dir = BUF_INIT, purl = BUF_INIT;
	char *reg = NULL, dest[4300];
	int rc = 0;
	size_t idx = 0;

	if (!d)
		return EX_DATA;
	jref pk = json_get(d, json_root(d), "packages");
	/* first pass: refuse before fetching anything */
	for (jref k = json_first_key(d, pk); k != JREF_NONE && !rc; k = json_next_key(d, k)) {
		size_t kn;
		const char *key = json_str(d, k, &kn);
		jref v = json_value(k);
		if (!(kn >= 13 && (strncmp(key, "node_modules/", 13) == 0 ||
				   memmem(key, kn, "/node_modules/", 14))))
			continue;
		if (json_type(d, v) != J_OBJ || is(d, v, "inBundle", J_TRUE) || is(d, v, "dev", J_TRUE))
			continue;
		char nm[200];
		snprintf(nm, sizeof nm, "%.*s", (int)(kn > 150 ? 150 : kn), key);
		if (is(d, v, "link", J_TRUE))
			rc = merr_set(e, EX_NO, NULL, "%s: a link (workspace) entry; links are not supported by mvm-deps yet", nm);
		else if (!key_ok(key, kn))
			rc = merr_set(e, EX_DATA, NULL, "%s: not a node_modules path", nm);
		else if (is(d, v, "hasInstallScript", J_TRUE))
			rc = merr_set(e, EX_NO, NULL,
				"%s: has an install script (hasInstallScript); mvm-deps never runs package code on the host and refuses it",
				nm);
		else if (!is(d, v, "version", J_STR) || !is(d, v, "integrity", J_STR))
			rc = merr_set(e, EX_NO, NULL, "%s: no version or no integrity", nm);
	}
	for (jref k = json_first_key(d, pk); k != JREF_NONE && !rc; k = json_next_key(d, k)) {
		size_t kn, vn, nn, in_;
		const char *key = json_str(d, k, &kn);
		jref v = json_value(k);
		if (!(kn >= 13 && (strncmp(key, "node_modules/", 13) == 0 ||
				   memmem(key, kn, "/node_modules/", 14))) ||
		    json_type(d, v) != J_OBJ || is(d, v, "inBundle", J_TRUE) || is(d, v, "dev", J_TRUE))
			continue;
		if (is(d, v, "optional", J_TRUE) && !(allows(d, v, "os", "linux") && allows(d, v, "cpu", "x64")))
			continue;
		const char *ver = json_str(d, json_get(d, v, "version"), &vn);
		const char *integ = json_str(d, json_get(d, v, "integrity"), &in_);
		const char *name = key;
		for (const char *p = key; (p = memmem(p, kn - (size_t)(p - key), "node_modules/", 13)); p += 13)
			name = p + 13;
		nn = kn - (size_t)(name - key);
		if (is(d, v, "name", J_STR))
			name = json_str(d, json_get(d, v, "name"), &nn);
		char *verz = strndup(ver, vn), *integz = strndup(integ, in_);
		what.len = dir.len = url.len = purl.len = 0;
		buf_put(&what, name, nn);
		buf_putc(&what, '@');
		buf_put(&what, ver, vn);
		jref res = json_get(d, v, "resolved");
		if (res != JREF_NONE && json_type(d, res) == J_STR) {
			size_t rn;
			const char *rs = json_str(d, res, &rn);
			if (!reg && rn > strlen(NPMJS) && strncmp(rs, NPMJS, strlen(NPMJS)) == 0)
				reg = registry(x->srcdir, x->scratch);
			/* npm's replace-registry-host: the configured registry serves
			 * what the lockfile says came from npmjs.org */
			if (reg && rn > strlen(NPMJS) && strncmp(rs, NPMJS, strlen(NPMJS)) == 0) {
				buf_puts(&url, reg);
				buf_put(&url, rs + strlen(NPMJS), rn - strlen(NPMJS));
			} else {
				buf_put(&url, rs, rn);
			}
		} else {
			if (!reg)
				reg = registry(x->srcdir, x->scratch);
			const char *base = memchr(name, '/', nn);
			base = base ? base + 1 : name;
			buf_puts(&url, reg ? reg : NPMJS);
			buf_put(&url, name, nn);
			buf_puts(&url, "/-/");
			buf_put(&url, base, nn - (size_t)(base - name));
			buf_putc(&url, '-');
			buf_put(&url, ver, vn);
			buf_puts(&url, ".tgz");
		}
		buf_puts(&purl, "pkg:npm/");
		if (nn && name[0] == '@') {
			buf_puts(&purl, "%40");
			buf_put(&purl, name + 1, nn - 1);
		} else {
			buf_put(&purl, name, nn);
		}
		buf_putc(&purl, '@');
		buf_put(&purl, ver, vn);
		buf_puts(&dir, x->tree);
		buf_putc(&dir, '/');
		buf_put(&dir, key, kn);
		snprintf(dest, sizeof dest, "%s/%zu.tgz", x->scratch, idx++);
		char alg[16], hex[129];
		if (!verz || !integz || !buf_cstr(&what) || !buf_cstr(&url) || !buf_cstr(&dir) ||
		    !buf_cstr(&purl))
			rc = merr_set(e, EX_SYS, NULL, "out of memory");
		else if ((rc = deps_fetch(x, what.p, url.p, dest, e)) == 0 &&
			 (rc = deps_sri_verify(dest, integz, what.p, alg, hex, e)) == 0) {
			char w2[600];
			if ((rc = untar_npm(dest, dir.p, e)) != 0) {
				snprintf(w2, sizeof w2, "%.80s: %.400s", what.p, e->msg);
				snprintf(e->msg, sizeof e->msg, "%.500s", w2);
			} else {
				dir.len = 0;
				buf_put(&dir, key, kn);
				rc = buf_cstr(&dir) ? deps_add_pkg(x, name, nn, verz, dir.p, purl.p, alg, hex, e)
						    : merr_set(e, EX_SYS, NULL, "out of memory");
			}
		}
		free(verz);
		free(integz);
	}
	free(reg);
	buf_free(&url);
	buf_free(&what);
	buf_free(&dir);
	buf_free(&purl);
	json_free(d);
	return rc;
}
