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
#include "depsnode.h"
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

struct item {
	char *what, *url, *dest, *dir, *key, *purl, *name, *ver, *integ;
};

static void item_free(struct item *it)
{
	free(it->what);
	free(it->url);
	free(it->dest);
	free(it->dir);
	free(it->key);
	free(it->purl);
	free(it->name);
	free(it->ver);
	free(it->integ);
}

/* First pass: refuse before fetching anything. */
static int refuse(const struct jdoc *d, jref pk, struct merr *e)
{
	int rc = 0;

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
	return rc;
}

/* One locked entry as an item: its URL (the resolved one, moved to the
 * configured registry, or the registry's by name and version). */
static int collect(struct deps_run *x, const struct jdoc *d, jref k, char **reg, size_t idx,
	struct item *it)
{
	size_t kn, vn, nn, in_;
	const char *key = json_str(d, k, &kn);
	jref v = json_value(k);
	const char *ver = json_str(d, json_get(d, v, "version"), &vn);
	const char *integ = json_str(d, json_get(d, v, "integrity"), &in_);
	const char *name = key;
	struct buf what = BUF_INIT, dir = BUF_INIT, purl = BUF_INIT;
	char dest[4300];

	for (const char *p = key; (p = memmem(p, kn - (size_t)(p - key), "node_modules/", 13)); p += 13)
		name = p + 13;
	nn = kn - (size_t)(name - key);
	if (is(d, v, "name", J_STR))
		name = json_str(d, json_get(d, v, "name"), &nn);
	buf_put(&what, name, nn);
	buf_putc(&what, '@');
	buf_put(&what, ver, vn);
	jref res = json_get(d, v, "resolved");
	size_t rn = 0;
	const char *rs = res != JREF_NONE && json_type(d, res) == J_STR ? json_str(d, res, &rn) : NULL;
	/* npm is asked for its registry only when the lockfile needs it */
	if (!*reg && (!rs || (rn > strlen(NPMJS) && strncmp(rs, NPMJS, strlen(NPMJS)) == 0)))
		*reg = node_registry(x->srcdir, x->scratch);
	if (rs)
		it->url = node_rehost(rs, rn, *reg ? *reg : NPMJS);
	else
		it->url = node_registry_url(*reg ? *reg : NPMJS, name, nn, ver, vn);
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
	snprintf(dest, sizeof dest, "%s/%zu.tgz", x->scratch, idx);
	it->what = buf_cstr(&what);
	it->dir = buf_cstr(&dir);
	it->purl = buf_cstr(&purl);
	it->dest = strdup(dest);
	it->key = strndup(key, kn);
	it->name = strndup(name, nn);
	it->ver = strndup(ver, vn);
	it->integ = strndup(integ, in_);
	return it->url && it->what && it->dir && it->purl && it->dest && it->key && it->name &&
	       it->ver && it->integ;
}

int deps_npm(struct deps_run *x, const char *lock, size_t n, struct merr *e)
{
	struct jdoc *d = json_parse(lock, n, NULL, e);
	struct item *it = NULL;
	struct deps_get *g = NULL;
	char *reg = NULL;
	size_t ni = 0, cap = 0;
	int rc;

	if (!d)
		return EX_DATA;
	jref pk = json_get(d, json_root(d), "packages");
	rc = refuse(d, pk, e);
	for (jref k = json_first_key(d, pk); k != JREF_NONE && !rc; k = json_next_key(d, k)) {
		size_t kn;
		const char *key = json_str(d, k, &kn);
		jref v = json_value(k);
		if (!(kn >= 13 && (strncmp(key, "node_modules/", 13) == 0 ||
				   memmem(key, kn, "/node_modules/", 14))) ||
		    json_type(d, v) != J_OBJ || is(d, v, "inBundle", J_TRUE) || is(d, v, "dev", J_TRUE))
			continue;
		if (is(d, v, "optional", J_TRUE) && !(allows(d, v, "os", "linux") && allows(d, v, "cpu", "x64")))
			continue;
		if (ni == cap) {
			size_t c = cap ? cap * 2 : 32;
			struct item *t = realloc(it, c * sizeof *t);
			if (!t) {
				rc = merr_set(e, EX_SYS, NULL, "out of memory");
				break;
			}
			it = t;
			cap = c;
		}
		memset(&it[ni], 0, sizeof *it);
		ni++;
		if (!collect(x, d, k, &reg, ni - 1, &it[ni - 1]))
			rc = merr_set(e, EX_SYS, NULL, "out of memory");
	}
	/* every artifact at once, then each verified before it is unpacked */
	if (!rc && !(g = calloc(ni ? ni : 1, sizeof *g)))
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
	for (size_t i = 0; !rc && i < ni; i++)
		g[i] = (struct deps_get){ it[i].what, it[i].url, it[i].dest };
	if (!rc)
		rc = deps_fetch_all(x, g, ni, e);
	for (size_t i = 0; !rc && i < ni; i++) {
		char alg[16], hex[129], w2[600];
		if ((rc = deps_sri_verify(it[i].dest, it[i].integ, it[i].what, alg, hex, e)) != 0)
			break;
		if ((rc = untar_npm(it[i].dest, it[i].dir, e)) != 0) {
			snprintf(w2, sizeof w2, "%.80s: %.400s", it[i].what, e->msg);
			snprintf(e->msg, sizeof e->msg, "%.500s", w2);
		} else {
			rc = deps_add_pkg(x, it[i].name, strlen(it[i].name), it[i].ver, it[i].key,
				it[i].purl, alg, hex, e);
		}
	}
	for (size_t i = 0; i < ni; i++)
		item_free(&it[i]);
	free(it);
	free(g);
	free(reg);
	json_free(d);
	return rc;
}
