/* depsnode.h — a locked Node dependency graph (from pnpm-lock.yaml v9 or
 * yarn.lock v1) installed as a hoisted node_modules tree (deps.h).
 *
 * The readers (depspnpm.c, depsyarn.c; depsyarnpkg.c the roots from a
 * yarn project's package.json) turn a lockfile into a graph:
 * package 0 is the project, every other package one locked artifact (its
 * tarball URL and Subresource Integrity value), each edge "requires X as
 * name".  npm's own lockfile records the layout; pnpm's and yarn's do not,
 * so node_hoist() computes one: the layout npm (v3 and later) and pnpm's
 * node-linker=hoisted produce, where a package goes to the highest
 * node_modules directory where its name is free and placing it shadows no
 * package some other placed package already resolves through there.
 * Node's resolver, walking up from each package, then finds exactly the
 * locked version of every dependency.  Why hoisted and not pnpm's .pnpm
 * tree of symlinks: the volume holds regular files and directories only
 * (archive.h, depsimg.c), so nothing on it can point anywhere, and yarn
 * and pnpm share one layout rule and one installer.
 *
 * node_install() then fetches every placed artifact at once (deps_fetch_all:
 * DEPS_FETCH_JOBS transfers in parallel), verifies each against its
 * integrity before it is unpacked, unpacks them in path order, and refuses
 * a package that needs an install script (scripts.preinstall, .install,
 * .postinstall in its package.json, or a binding.gyp, which npm builds
 * with node-gyp): no package code runs on the host.  An optional package
 * for another OS or CPU (its os/cpu, from the lockfile or its package.json)
 * is left out, as npm and pnpm do.
 *
 * Limits: NODE_MAX_PKGS packages, NODE_MAX_PLACED placements, a path on the
 * volume at most NODE_MAX_PATH bytes; refused (EX_NO) beyond.
 *
 * Return codes: 0; EX_NO refused (integrity, install script, a limit, a URL
 * mvm-deps does not fetch); EX_DATA malformed lockfile (e->where
 * "lockfile:line:col" or a path in it); EX_SYS.
 */
#ifndef MVM_DEPSNODE_H
#define MVM_DEPSNODE_H

#include <stddef.h>
#include "deps.h"

#define NODE_MAX_PKGS 20000
#define NODE_MAX_PLACED 100000
#define NODE_MAX_PATH 3000

struct node_edge {
	char *as;                /* the name it is required as (an alias may differ) */
	size_t to;               /* package index */
	int optional;            /* optionalDependencies */
};

struct node_pkg {
	char *name, *version;    /* version as locked ("1.2.3") */
	char *url, *integrity;   /* tarball URL, SRI */
	int optional;            /* only reached through optional edges (node_install) */
	int fits;                /* os/cpu: 1 linux/x64 allowed, 0 not, -1 not in the lockfile */
	struct node_edge *dep;
	size_t ndep, capdep;
};

struct node_graph {
	struct node_pkg *p;      /* p[0] is the project */
	size_t n, cap;
};

/* A new package (name, version copied); its index in *ix.  0, EX_NO (too
 * many), EX_SYS. */
int node_add(struct node_graph *g, const char *name, size_t nn, const char *ver, size_t vn,
	size_t *ix, struct merr *e);
/* An edge from -> to required as as.  0 or EX_SYS. */
int node_dep(struct node_graph *g, size_t from, const char *as, size_t an, size_t to,
	int optional, struct merr *e);
void node_free(struct node_graph *g);

/* The tarball URL of name@version in the registry reg ("https://h/p/"). */
char *node_registry_url(const char *reg, const char *name, size_t nn, const char *ver, size_t vn);
/* The registry npm is configured for (npm_config_registry, then `npm
 * config get registry` in srcdir), ending in "/".  NULL: out of memory. */
char *node_registry(const char *srcdir, const char *scratch);
/* A lockfile URL on registry.npmjs.org or registry.yarnpkg.com, moved to
 * reg (npm's and yarn's replace-registry-host), without any "#fragment";
 * others as they are.  NULL: out of memory. */
char *node_rehost(const char *url, size_t n, const char *reg);

/* The layout: placement 0 is the project; the others in breadth-first
 * order, each with its package, its parent placement and its path. */
struct node_pass {
	const char *as;
	size_t to;
};

struct node_place {
	size_t pkg, parent;      /* parent SIZE_MAX: the project */
	const char *as;          /* points into the graph's edge */
	char *path;              /* "node_modules/a/node_modules/b" ("" for the project) */
	size_t *kid, nkid, capkid;       /* placements directly inside */
	struct node_pass *ps;    /* names resolved through here to a higher placement */
	size_t nps, capps;
	int skip;                /* node_install: left out */
};

struct node_layout {
	struct node_place *pl;
	size_t n, cap;
};

/* Place every package reachable from the project (the rule above); the
 * graph's edges are sorted by name.  0; EX_DATA (a dependency name that
 * is not a package name, one name required as two packages); EX_NO (a
 * limit); EX_SYS.  node_layout_free() in every case. */
int node_hoist(const struct node_graph *g, struct node_layout *h, struct merr *e);
void node_layout_free(struct node_layout *h);

/* Hoist, fetch, verify, unpack (see above). */
int node_install(struct deps_run *x, struct node_graph *g, struct merr *e);

/* The readers: the project's package.json (yarn: the roots), the lockfile. */
int deps_yarn(struct deps_run *x, const char *lockname, const char *lock, size_t n,
	const char *pkgjson, size_t pn, struct merr *e);
/* The package.json beside the yarn.lock at lockpath (a real path inside
 * srcdir), into *out: 0, EX_NO (missing, or outside srcdir), EX_SYS. */
int deps_yarn_pkgjson(const char *srcdir, const char *lockpath, struct buf *out, struct merr *e);
/* The pnpm-lock.yaml reader alone (fuzz/pnpmlock.c): the project and
 * every snapshot into g (empty), tarball URLs under the registry reg. */
int pnpm_parse(const char *lockname, const char *p, size_t n, const char *reg,
	struct node_graph *g, struct merr *e);
int deps_pnpm(struct deps_run *x, const char *lockname, const char *lock, size_t n,
	struct merr *e);
/* The yarn.lock reader alone (fuzz/yarnlock.c): every entry into g (after
 * the project, package 0, which g must already hold), and the project's
 * edges: roots[i] ("name@range", as package.json has it; optional when
 * ropt[i]) must each be a key of the lockfile. */
int yarn_parse(const char *lockname, const char *p, size_t n, const char *const *roots,
	const int *ropt, size_t nroots, struct node_graph *g, struct merr *e);

#endif
