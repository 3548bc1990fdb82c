/* deps.h — the deps volume: a workload's locked dependencies, installed
 * without running any package code, on a read-only ext4 image in a
 * content-addressed cache (mvm-deps(1)).
 *
 * The key is SHA-256 over "mvm-deps/2", the language, the tool, the target
 * ("cp3Y-manylinux_2_36_x86_64/node": the image's Python, r->python or
 * PY_DEFAULT of pyenv.h, and platform; DEPS_TARGET for Node) and the
 * bytes of the lockfile (and of a pip file's -r includes, in order), each
 * length-prefixed.  The cache entry <cache>/<key>/ holds deps.ext4 (the
 * ext4 file system, then its dm-verity hash tree, appended by
 * r->verity_format before the entry exists: nothing changes a volume in
 * the cache), deps-meta.json ("version": 2, with the tree's "verity"
 * object), sbom.cdx.json (CycloneDX 1.5) and fetch.log; it is
 * created by one rename of a complete staging directory, so an entry that
 * exists is whole.  A build that fails leaves no entry.
 *
 * Return codes (the exit statuses of mvm-deps):
 *   0        built, or found in the cache (o->cached)
 *   EX_NO    refused: not pinned, an artifact whose bytes do not match the
 *            lockfile (the message says "integrity" and names the package),
 *            an install script, an sdist, no compatible wheel, an
 *            unsupported tool
 *   EX_DATA  malformed lockfile or archive
 *   EX_SYS   I/O, a fetch that failed, mke2fs
 */
#ifndef MVM_DEPS_H
#define MVM_DEPS_H

#include <stddef.h>
#include "buf.h"
#include "err.h"
#include "verity.h"

/* "mvm-deps/2": a volume with its dm-verity tree.  An entry of
 * "mvm-deps/1" (no tree) has another key, so it is never looked up; and
 * an entry whose deps-meta.json is not version 2 with a verity object is
 * refused (EX_SYS, "remove it"). */
#define DEPS_KEY_VERSION "mvm-deps/2"

#define DEPS_TARGET "cp311-manylinux_2_36_x86_64/node"
#define DEPS_MOUNT "/mnt/deps"

struct deps_req {
	const char *srcdir;     /* the source directory (source.path resolved) */
	const char *language;   /* "python" or "node" */
	const char *tool;       /* "pip_tools", "uv", "npm", "pnpm", "yarn" */
	const char *lockfile;   /* relative to srcdir */
	const char *cache;      /* the cache root (deps_cache_root) */
	const char *python;     /* the image's Python "3.Y" (pyenv.h), or NULL: PY_DEFAULT */
	const char *verity_format;  /* libexec/mvm-verity-format: appends the tree */
};

struct deps_out {
	char key[65];
	char volume_digest[72];  /* "sha256:<hex>" of deps.ext4 whole (data and tree) */
	char sbom_digest[72];
	char dir[4096];          /* <cache>/<key> */
	struct verity verity;    /* the tree: the guest maps the volume through it */
	int cached;
};

/* $MVM_DEPS_CACHE, else $MVM_HOME/deps, else $XDG_CACHE_HOME/mvm/deps,
 * else $HOME/.cache/mvm/deps.  0 or EX_SYS. */
int deps_cache_root(char *out, size_t n, struct merr *e);

/* Build (or find) the volume of r.  See the return codes above. */
int deps_build(const struct deps_req *r, struct deps_out *o, struct merr *e);

/* ---- between deps.c and the per-language installers ---- */

struct deps_pkg {
	char *name, *version, *path;  /* path on the volume */
	char *purl;                   /* pkg:npm/..., pkg:pypi/... */
	char *alg, *hex;              /* the verified digest (CycloneDX alg name, hex) */
};

struct deps_run {
	const char *srcdir;           /* real path */
	const char *tree;             /* where the volume's files go */
	const char *scratch;          /* downloads */
	struct buf *log;              /* fetch log, JSON lines */
	const char *python;           /* the target Python "3.Y", or NULL: PY_DEFAULT */
	struct deps_pkg *pkgs;
	size_t npkgs, cap;
};

int deps_add_pkg(struct deps_run *x, const char *name, size_t nn, const char *version,
	const char *path, const char *purl, const char *alg, const char *hex, struct merr *e);

/* Fetch url (http:, https:, or file: relative to the source directory and
 * inside it) into dest; one fetch log line. */
int deps_fetch(struct deps_run *x, const char *what, const char *url, const char *dest,
	struct merr *e);

/* Fetch n artifacts: the http(s) ones at once (one curl(1) process,
 * --parallel, at most DEPS_FETCH_JOBS transfers in flight, connections
 * reused), file: ones as deps_fetch does; one fetch log line each, in the
 * order given whatever order they complete in.  The first failure in that
 * order is the error (as deps_fetch's).  Nothing is verified here: the
 * caller checks each dest against its lockfile digest (depsfetch.c). */
#define DEPS_FETCH_JOBS 8
struct deps_get {
	const char *what, *url, *dest;
};
int deps_fetch_all(struct deps_run *x, const struct deps_get *g, size_t n, struct merr *e);

/* Does file match Subresource Integrity value sri (the strongest algorithm
 * listed; sha512, sha384, sha256, sha1)?  0 yes, EX_NO no ("integrity"
 * error naming what), EX_SYS.  The verified digest's CycloneDX name and hex
 * in alg (16) and hex (129). */
int deps_sri_verify(const char *file, const char *sri, const char *what, char *alg, char *hex,
	struct merr *e);

/* The n bytes d as lowercase hex into hex (2n + 1). */
void deps_hexify(const unsigned char *d, size_t n, char *hex);

/* The hex SHA-256 of a file into hex (65).  0 or EX_SYS. */
int deps_sha256_file(const char *file, char *hex, struct merr *e);

/* Run argv (PATH searched) with one more environment entry (or NULL), its
 * stdout and stderr into the files given (or /dev/null).  The exit status,
 * or -1. */
int deps_cmd(const char *const argv[], const char *env1, const char *errfile, const char *outfile);

/* Make the reproducible image img of the directory tree: a sorted copy
 * with fixed times and owners, mke2fs -d (fixed UUID and hash seed from
 * key, E2FSPROGS_FAKE_TIME), shrunk, ctimes fixed with debugfs.  The
 * time is $SOURCE_DATE_EPOCH, else 1700000000.  0 or EX_SYS. */
int deps_image(const char *tree, const char *work, const char *key, const char *img,
	struct merr *e);

/* Append the dm-verity tree to img with prog (libexec/mvm-verity-format,
 * its output and errors into files in work) and read its root into *v.
 * 0 or EX_SYS. */
int deps_verity(const char *prog, const char *img, const char *work, struct verity *v,
	struct merr *e);

int deps_npm(struct deps_run *x, const char *lock, size_t n, struct merr *e);
int deps_pip(struct deps_run *x, const char *lockpath, struct merr *e);

#endif
