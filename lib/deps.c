/* deps.c — the deps volume (deps.h): the key, the cache entry, and the build,
 * which calls the per-language installers (what they call: depsrun.c) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "deps.h"
#include "depsnode.h"
#include "io.h"
#include "json.h"
#include "lockfile.h"
#include "pyinst.h"

int deps_cache_root(char *out, size_t n, struct merr *e)
{
	const char *v;
	int k;

	if ((v = getenv("MVM_DEPS_CACHE")) && *v)
		k = snprintf(out, n, "%s", v);
	else if ((v = getenv("MVM_HOME")) && *v)
		k = snprintf(out, n, "%s/deps", v);
	else if ((v = getenv("XDG_CACHE_HOME")) && *v)
		k = snprintf(out, n, "%s/mvm/deps", v);
	else if ((v = getenv("HOME")) && *v)
		k = snprintf(out, n, "%s/.cache/mvm/deps", v);
	else
		return merr_set(e, EX_SYS, NULL, "none of MVM_DEPS_CACHE, MVM_HOME, HOME is set");
	if (k < 0 || (size_t)k >= n)
		return merr_set(e, EX_SYS, NULL, "cache path too long");
	return 0;
}

/* ---- the build ---- */

#include <ftw.h>

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return (flag == FTW_DP ? rmdir(p) : unlink(p)) == 0 || errno == ENOENT ? 0 : -1;
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put_kv(struct buf *b, const char *k, const char *v, int comma)
{
	json_put_str(b, k, strlen(k));
	buf_putc(b, ':');
	json_put_str(b, v, strlen(v));
	if (comma)
		buf_putc(b, ',');
}

static int pkgcmp(const void *a, const void *b)
{
	const struct deps_pkg *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : strcmp(x->name, y->name);
}

/* CycloneDX 1.5: one library component per installed artifact. */
static void sbom(struct buf *b, const struct deps_req *r, const char *key,
	const struct deps_run *x)
{
	char serial[64];

	snprintf(serial, sizeof serial, "urn:uuid:%.8s-%.4s-%.4s-%.4s-%.12s", key, key + 8,
		key + 12, key + 16, key + 20);
	buf_puts(b, "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",");
	put_kv(b, "serialNumber", serial, 1);
	buf_puts(b, "\"version\":1,\"metadata\":{\"tools\":{\"components\":[{\"type\":\"application\","
		"\"name\":\"mvm-deps\"}]},\"component\":{\"type\":\"application\",");
	put_kv(b, "name", r->lockfile, 1);
	put_kv(b, "bom-ref", key, 0);
	buf_puts(b, "}},\"components\":[");
	for (size_t i = 0; i < x->npkgs; i++) {
		const struct deps_pkg *p = &x->pkgs[i];
		buf_puts(b, i ? ",{" : "{");
		buf_puts(b, "\"type\":\"library\",");
		put_kv(b, "name", p->name, 1);
		put_kv(b, "version", p->version, 1);
		put_kv(b, "purl", p->purl, 1);
		put_kv(b, "bom-ref", p->path, 1);
		buf_puts(b, "\"hashes\":[{");
		put_kv(b, "alg", p->alg, 1);
		put_kv(b, "content", p->hex, 0);
		buf_puts(b, "}]}");
	}
	buf_puts(b, "]}\n");
}

static void meta(struct buf *b, const struct deps_req *r, const char *key, const char *lockhex,
	const struct deps_out *o, const struct deps_run *x, long long vbytes, const char *target)
{
	buf_puts(b, "{\"fetch_log\":\"fetch.log\",");
	put_kv(b, "key", key, 1);
	put_kv(b, "language", r->language, 1);
	put_kv(b, "lockfile", r->lockfile, 1);
	put_kv(b, "lockfile_sha256", lockhex, 1);
	put_kv(b, "mount", DEPS_MOUNT, 1);
	buf_puts(b, "\"packages\":[");
	for (size_t i = 0; i < x->npkgs; i++) {
		buf_puts(b, i ? ",{" : "{");
		put_kv(b, "name", x->pkgs[i].name, 1);
		put_kv(b, "path", x->pkgs[i].path, 1);
		put_kv(b, "version", x->pkgs[i].version, 0);
		buf_putc(b, '}');
	}
	buf_puts(b, "],\"sbom\":\"sbom.cdx.json\",");
	put_kv(b, "sbom_digest", o->sbom_digest, 1);
	put_kv(b, "target", target, 1);
	put_kv(b, "tool", r->tool, 1);
	buf_puts(b, "\"verity\":");
	verity_put(b, &o->verity);
	buf_puts(b, ",\"version\":2,\"volume\":\"deps.ext4\",");
	buf_printf(b, "\"volume_bytes\":%lld,", vbytes);
	put_kv(b, "volume_digest", o->volume_digest, 0);
	buf_puts(b, "}\n");
}

static int from_cache(struct deps_out *o, struct merr *e)
{
	char p[4200], hex[65];
	struct buf b = BUF_INIT;
	struct jdoc *d;
	int r = 0;

	snprintf(p, sizeof p, "%s/deps-meta.json", o->dir);
	if (access(p, F_OK) != 0)
		return 1;
	if (read_file(p, &b, e))
		return EX_SYS;
	d = json_parse(b.p, b.len, NULL, e);
	if (!d) {
		buf_free(&b);
		return merr_set(e, EX_SYS, NULL, "%s: unreadable cache entry; remove it", p);
	}
	size_t n1 = 0, n2 = 0;
	const char *v = json_str(d, json_get(d, json_root(d), "volume_digest"), &n1);
	const char *s = json_str(d, json_get(d, json_root(d), "sbom_digest"), &n2);
	snprintf(p, sizeof p, "%s/deps.ext4", o->dir);
	jref ver = json_get(d, json_root(d), "version");
	if (ver == JREF_NONE || json_type(d, ver) != J_NUM || json_num(d, ver) != 2 ||
	    verity_parse(d, json_get(d, json_root(d), "verity"), &o->verity) != 0) {
		r = merr_set(e, EX_SYS, NULL, "%s: a cache entry without a dm-verity tree (not "
			"version 2); remove it", o->dir);
	} else if (!v || !s || n1 != 71 || n2 != 71 || deps_sha256_file(p, hex, e) ||
	    memcmp(v + 7, hex, 64) != 0 || verity_check(p, &o->verity, e) != 0) {
		r = e->code == EX_SYS ? EX_SYS : merr_set(e, EX_SYS, NULL,
			"%s: the cache entry does not match its deps-meta.json; remove it", o->dir);
	} else {
		memcpy(o->volume_digest, v, 71);
		o->volume_digest[71] = '\0';
		memcpy(o->sbom_digest, s, 71);
		o->sbom_digest[71] = '\0';
		o->cached = 1;
	}
	json_free(d);
	buf_free(&b);
	return r;
}

static int write_in(const char *dir, const char *name, const struct buf *b, struct merr *e)
{
	char p[8448];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return write_atomic(p, b->p ? b->p : "", b->len, 0644, e) ? EX_SYS : 0;
}

int deps_build(const struct deps_req *r, struct deps_out *o, struct merr *e)
{
	struct buf lp = BUF_INIT, lock = BUF_INIT, log = BUF_INIT, out = BUF_INIT, pj = BUF_INIT;
	char detail[512], lockhex[65], stage[4200], tree[4300], dl[4300], work[4300], img[4300];
	unsigned char h[32];
	struct deps_run x = { 0 };
	int node = strcmp(r->language, "node") == 0, t = lockfile_tool(r->tool, strlen(r->tool)), rc;
	struct stat st;

	memset(o, 0, sizeof *o);
	if (!(node && (t == LOCK_NPM || t == LOCK_PNPM || t == LOCK_YARN)) &&
	    !(!node && (t == LOCK_PIP_TOOLS || t == LOCK_UV)))
		return merr_set(e, EX_NO, NULL,
			"%s lockfiles (tool \"%s\") are not supported by mvm-deps yet; use %s",
			r->language, r->tool, node ? "npm, pnpm or yarn" :
			"pip_tools (requirements.txt with --hash) or uv (uv.lock)");
	/* the target: the image's Python (python only), and the platform */
	char target[96];
	struct py_target pt;
	if (py_target_parse(node || !r->python ? PY_DEFAULT : r->python, &pt))
		return merr_set(e, EX_NO, NULL, "the image's Python \"%.40s\" is not 3.Y", r->python);
	py_target_name(&pt, target, sizeof target);
	strcat(target, "/node");
	rc = lockfile_check(t, r->srcdir, r->lockfile, detail, sizeof detail, e);
	if (rc == LOCK_OUTSIDE || rc == LOCK_NOT_FOUND)
		return merr_set(e, EX_NO, NULL, "lockfile %s %s; it was not read", r->lockfile,
			rc == LOCK_OUTSIDE ? "is outside the source directory" : "is not a regular file");
	if (rc == LOCK_UNPINNED)
		return merr_set(e, EX_NO, NULL, "lockfile %s is not hash-pinned: %s", r->lockfile, detail);
	if (rc || lockfile_resolve(r->srcdir, r->lockfile, &lp, e) || read_file(lp.p, &lock, e)) {
		buf_free(&lp);
		return e->code ? e->code : EX_SYS;
	}
	/* the key */
	crypto_hash_sha256_state hs;
	crypto_hash_sha256_init(&hs);
	const char *parts[] = { DEPS_KEY_VERSION, r->language, r->tool, target };
	for (size_t i = 0; i < 4; i++) {
		unsigned long long n = strlen(parts[i]);
		crypto_hash_sha256_update(&hs, (const unsigned char *)&n, sizeof n);
		crypto_hash_sha256_update(&hs, (const unsigned char *)parts[i], n);
	}
	unsigned long long ln = lock.len;
	crypto_hash_sha256_update(&hs, (const unsigned char *)&ln, sizeof ln);
	crypto_hash_sha256_update(&hs, (const unsigned char *)(lock.p ? lock.p : ""), lock.len);
	/* yarn.lock does not name the project's own dependencies: its
	 * package.json does, and is part of the key */
	if (node && t == LOCK_YARN && (rc = deps_yarn_pkgjson(r->srcdir, lp.p, &pj, e)) == 0) {
		ln = pj.len;
		crypto_hash_sha256_update(&hs, (const unsigned char *)&ln, sizeof ln);
		crypto_hash_sha256_update(&hs, (const unsigned char *)(pj.p ? pj.p : ""), pj.len);
	}
	if (rc) {
		buf_free(&lp);
		buf_free(&lock);
		buf_free(&pj);
		return rc;
	}
	crypto_hash_sha256_final(&hs, h);
	deps_hexify(h, 32, o->key);
	crypto_hash_sha256(h, (const unsigned char *)(lock.p ? lock.p : ""), lock.len);
	deps_hexify(h, 32, lockhex);
	char *root = mkdir_p(r->cache, 0755, e) ? NULL : realpath(r->cache, NULL);
	if (!root) {
		buf_free(&lp);
		buf_free(&lock);
		buf_free(&pj);
		return e->code ? e->code : merr_sys(e, r->cache);
	}
	snprintf(o->dir, sizeof o->dir, "%s/%s", root, o->key);
	snprintf(stage, sizeof stage, "%s/.tmp-%s-XXXXXX", root, o->key);
	free(root);
	if ((rc = from_cache(o, e)) != 1) {
		buf_free(&lp);
		buf_free(&lock);
		buf_free(&pj);
		return rc;
	}
	/* a fresh staging directory beside the entry */
	if (!mkdtemp(stage)) {
		buf_free(&lp);
		buf_free(&lock);
		buf_free(&pj);
		return e->code ? e->code : merr_sys(e, r->cache);
	}
	snprintf(tree, sizeof tree, "%s/tree", stage);
	snprintf(dl, sizeof dl, "%s/dl", stage);
	snprintf(work, sizeof work, "%s/work", stage);
	snprintf(img, sizeof img, "%s/deps.ext4", stage);
	char *real = realpath(r->srcdir, NULL);
	x.srcdir = real;
	x.tree = tree;
	x.scratch = dl;
	x.log = &log;
	x.python = node ? NULL : r->python;
	if (!real)
		rc = merr_sys(e, r->srcdir);
	else if (mkdir(tree, 0755) || mkdir(dl, 0700) || mkdir(work, 0700))
		rc = merr_sys(e, stage);
	else
		rc = !node ? (t == LOCK_UV ? deps_uv(&x, lp.p, e) : deps_pip(&x, lp.p, e))
			: t == LOCK_PNPM ? deps_pnpm(&x, r->lockfile, lock.p, lock.len, e)
			: t == LOCK_YARN ? deps_yarn(&x, r->lockfile, lock.p, lock.len, pj.p, pj.len, e)
			: deps_npm(&x, lock.p, lock.len, e);
	if (rc == 0)
		rc = deps_image(tree, work, o->key, img, e);
	if (rc == 0)
		rc = r->verity_format ? deps_verity(r->verity_format, img, work, &o->verity, e) :
			merr_set(e, EX_SYS, NULL, "no dm-verity tree builder (mvm-verity-format)");
	if (rc == 0 && x.npkgs)
		qsort(x.pkgs, x.npkgs, sizeof *x.pkgs, pkgcmp);
	if (rc == 0) {
		char hex[65];
		sbom(&out, r, o->key, &x);
		crypto_hash_sha256(h, (const unsigned char *)out.p, out.len);
		deps_hexify(h, 32, hex);
		snprintf(o->sbom_digest, sizeof o->sbom_digest, "sha256:%s", hex);
		rc = write_in(stage, "sbom.cdx.json", &out, e);
		if (rc == 0)
			rc = write_in(stage, "fetch.log", &log, e);
		if (rc == 0 && (rc = deps_sha256_file(img, hex, e)) == 0 && stat(img, &st) != 0)
			rc = merr_sys(e, img);
		if (rc == 0) {
			snprintf(o->volume_digest, sizeof o->volume_digest, "sha256:%s", hex);
			out.len = 0;
			meta(&out, r, o->key, lockhex, o, &x, (long long)st.st_size, target);
			rc = write_in(stage, "deps-meta.json", &out, e);
		}
	}
	rm_rf(tree);
	rm_rf(dl);
	rm_rf(work);
	if (rc == 0) {
		chmod(stage, 0755);
		fsync_dir(stage);
		if (rename(stage, o->dir) != 0) {
			/* another build of the same key won: use it */
			rm_rf(stage);
			if ((rc = from_cache(o, e)) == 1)
				rc = merr_sys(e, o->dir);
			o->cached = 0;
		}
		fsync_parent(o->dir);
	} else {
		rm_rf(stage);
	}
	for (size_t i = 0; i < x.npkgs; i++) {
		free(x.pkgs[i].name);
		free(x.pkgs[i].version);
		free(x.pkgs[i].path);
		free(x.pkgs[i].purl);
		free(x.pkgs[i].alg);
		free(x.pkgs[i].hex);
	}
	free(x.pkgs);
	free(real);
	buf_free(&lp);
	buf_free(&lock);
	buf_free(&log);
	buf_free(&out);
	buf_free(&pj);
	return rc;
}
