/* depspnpm.c — pnpm-lock.yaml v9 onto the deps volume (depsnode.h).
 *
 * The YAML is read by libyaml (Debian's libyaml-dev), not by a reader of
 * ours.  What is used of it:
 *
 *   lockfileVersion: '9.0'
 *   importers: { .: { dependencies: { NAME: { version: V } },
 *                     optionalDependencies: {...} } }   (devDependencies not)
 *   packages:  { NAME@VER: { resolution: { integrity: SRI [, tarball: URL] },
 *                            os: [...], cpu: [...] } }
 *   snapshots: { NAME@VER[(PEERS)]: { dependencies: { NAME: V },
 *                                     optionalDependencies: {...} } }
 *
 * A dependency's V is the snapshot key's version part ("2.1.3" or
 * "1.0.0(react@18.2.0)"), or a whole key for an npm: alias
 * ("string-width@4.2.3"); "link:" (a workspace) is refused.  pnpm v9 no
 * longer records requiresBuild, so install scripts are found in the
 * fetched packages' package.json (node_install).  A lockfile with YAML
 * aliases is refused: pnpm writes none, and they would let a small file
 * describe a huge graph.  Errors name lockfile:line:col. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "depsnode.h"

struct key {
	char *k;
	size_t pkg;
};

struct pp {
	yaml_document_t doc;
	const char *name;
	struct merr *e;
	struct key *keys;        /* snapshot keys, sorted */
	size_t nkeys;
};

static int bad(struct pp *p, const yaml_node_t *n, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int bad(struct pp *p, const yaml_node_t *n, int code, const char *fmt, ...)
{
	char w[128], m[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	snprintf(w, sizeof w, "%.90s:%zu:%zu", p->name, n ? n->start_mark.line + 1 : 0,
		n ? n->start_mark.column + 1 : 0);
	return merr_set(p->e, code, w, "%s", m);
}

static yaml_node_t *get(struct pp *p, yaml_node_t *m, const char *k)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < m->data.mapping.pairs.top; q++) {
		yaml_node_t *kn = yaml_document_get_node(&p->doc, q->key);
		if (kn && kn->type == YAML_SCALAR_NODE && kn->data.scalar.length == strlen(k) &&
		    memcmp(kn->data.scalar.value, k, strlen(k)) == 0)
			return yaml_document_get_node(&p->doc, q->value);
	}
	return NULL;
}

static const char *str(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE && strlen((const char *)n->data.scalar.value) ==
		n->data.scalar.length ? (const char *)n->data.scalar.value : NULL;
}

static int keycmp(const void *a, const void *b)
{
	return strcmp(((const struct key *)a)->k, ((const struct key *)b)->k);
}

/* The package index of snapshot key k, or SIZE_MAX. */
static size_t find(const struct pp *p, const char *k)
{
	struct key want = { (char *)k, 0 }, *f = bsearch(&want, p->keys, p->nkeys, sizeof *p->keys, keycmp);

	return f ? f->pkg : SIZE_MAX;
}

/* The edges of a dependencies-like mapping m of package from. */
static int edges(struct pp *p, struct node_graph *g, size_t from, yaml_node_t *m, int optional)
{
	if (!m)
		return 0;
	if (m->type != YAML_MAPPING_NODE)
		return bad(p, m, EX_DATA, "%s", "expected a mapping of dependencies");
	for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < m->data.mapping.pairs.top; q++) {
		yaml_node_t *kn = yaml_document_get_node(&p->doc, q->key),
			    *vn = yaml_document_get_node(&p->doc, q->value);
		if (from == 0) /* an importer's NAME: { specifier, version } */
			vn = get(p, vn, "version");
		const char *as = str(kn), *v = str(vn);
		if (!as || !v || !*as || !*v)
			return bad(p, vn ? vn : kn, EX_DATA, "%s", "expected NAME: VERSION");
		if (strncmp(v, "link:", 5) == 0)
			return bad(p, vn, EX_NO, "%s: a link (workspace) dependency; links are not supported by mvm-deps yet", as);
		struct buf k = BUF_INIT;
		const char *at = strchr(v + 1, '@'), *paren = strchr(v, '(');
		if (at && (!paren || at < paren))
			buf_puts(&k, v);         /* an alias: a whole key */
		else
			buf_printf(&k, "%s@%s", as, v);
		size_t to = buf_cstr(&k) ? find(p, k.p) : SIZE_MAX;
		int r = to == SIZE_MAX ? bad(p, vn, EX_DATA, "%.200s is not a key of /snapshots", k.p ? k.p : "")
				       : node_dep(g, from, as, strlen(as), to, optional, p->e);
		buf_free(&k);
		if (r)
			return r;
	}
	return 0;
}

/* Does os/cpu sequence s allow want (npm's rule, as depsnode.c's)? */
static int allows(struct pp *p, yaml_node_t *s, const char *want)
{
	int any = 0, neg = 0;

	if (!s || s->type != YAML_SEQUENCE_NODE)
		return 1;
	for (yaml_node_item_t *i = s->data.sequence.items.start; i < s->data.sequence.items.top; i++) {
		const char *v = str(yaml_document_get_node(&p->doc, *i));
		if (!v)
			continue;
		if (v[0] == '!') {
			neg = 1;
			if (strcmp(v + 1, want) == 0)
				return 0;
		} else if (strcmp(v, want) == 0) {
			any = 1;
		}
	}
	return any || neg;
}

static int build(struct pp *p, const char *reg, struct node_graph *g)
{
	yaml_node_t *root = yaml_document_get_root_node(&p->doc), *snaps, *pkgs, *imp, *dot;
	const char *lv = str(get(p, root, "lockfileVersion"));
	size_t ix;
	int r;

	if (!root || root->type != YAML_MAPPING_NODE)
		return bad(p, root, EX_DATA, "%s", "not a mapping");
	if (!lv || strncmp(lv, "9.", 2) != 0)
		return bad(p, root, EX_NO, "lockfileVersion is %s; mvm-deps reads pnpm's version 9 only",
			lv ? lv : "missing");
	imp = get(p, root, "importers");
	dot = get(p, imp, ".");
	if (!dot)
		return bad(p, imp ? imp : root, EX_DATA, "%s", "no importers: .:");
	if (imp->data.mapping.pairs.top - imp->data.mapping.pairs.start != 1)
		return bad(p, imp, EX_NO, "%s", "more than one importer (a workspace); not supported by mvm-deps yet");
	snaps = get(p, root, "snapshots");
	pkgs = get(p, root, "packages");
	if ((snaps && snaps->type != YAML_MAPPING_NODE) || (pkgs && pkgs->type != YAML_MAPPING_NODE))
		return bad(p, snaps, EX_DATA, "%s", "snapshots and packages must be mappings");
	if ((r = node_add(g, "(project)", 9, "", 0, &ix, p->e)) != 0)
		return r;
	size_t ns = snaps ? (size_t)(snaps->data.mapping.pairs.top - snaps->data.mapping.pairs.start) : 0;
	if (ns >= NODE_MAX_PKGS)
		return bad(p, snaps, EX_NO, "%s", "too many snapshots");
	if (!(p->keys = calloc(ns ? ns : 1, sizeof *p->keys)))
		return merr_set(p->e, EX_SYS, NULL, "out of memory");
	/* one package per snapshot, its artifact from packages */
	for (size_t i = 0; i < ns; i++) {
		yaml_node_pair_t *q = snaps->data.mapping.pairs.start + i;
		yaml_node_t *kn = yaml_document_get_node(&p->doc, q->key);
		const char *k = str(kn);
		const char *a = k ? strchr(k + (k[0] == '@'), '@') : NULL;
		if (!a || a[1] == '\0')
			return bad(p, kn, EX_DATA, "%s", "a snapshot key is not NAME@VERSION");
		size_t pl = strcspn(k, "(");
		char *pk = strndup(k, pl);
		yaml_node_t *pn = pk ? get(p, pkgs, pk) : NULL, *res = get(p, pn, "resolution");
		const char *integ = str(get(p, res, "integrity")), *tar = str(get(p, res, "tarball"));
		free(pk);
		if (!pn)
			return bad(p, kn, EX_DATA, "%s: not in /packages", k);
		if (!integ)
			return bad(p, res ? res : pn, EX_NO, "%s: no resolution.integrity (a git or directory source?); mvm-deps installs only hash-pinned tarballs", k);
		if ((r = node_add(g, k, (size_t)(a - k), a + 1, pl - (size_t)(a - k) - 1, &ix, p->e)) != 0)
			return r;
		g->p[ix].integrity = strdup(integ);
		g->p[ix].url = tar ? strdup(tar)
				   : node_registry_url(reg, k, (size_t)(a - k), a + 1, pl - (size_t)(a - k) - 1);
		g->p[ix].fits = allows(p, get(p, pn, "os"), "linux") && allows(p, get(p, pn, "cpu"), "x64");
		p->keys[i] = (struct key){ strdup(k), ix };
		p->nkeys = i + 1;
		if (!g->p[ix].integrity || !g->p[ix].url || !p->keys[i].k)
			return merr_set(p->e, EX_SYS, NULL, "out of memory");
	}
	qsort(p->keys, ns, sizeof *p->keys, keycmp);
	for (size_t i = 1; i < ns; i++)
		if (strcmp(p->keys[i - 1].k, p->keys[i].k) == 0)
			return merr_set(p->e, EX_DATA, NULL, "%.90s: snapshot %.200s twice", p->name, p->keys[i].k);
	/* the edges */
	for (size_t i = 0; !r && i < ns; i++) {
		yaml_node_pair_t *q = snaps->data.mapping.pairs.start + i;
		yaml_node_t *v = yaml_document_get_node(&p->doc, q->value);
		if ((r = edges(p, g, i + 1, get(p, v, "dependencies"), 0)) == 0)
			r = edges(p, g, i + 1, get(p, v, "optionalDependencies"), 1);
	}
	if (!r && (r = edges(p, g, 0, get(p, dot, "dependencies"), 0)) == 0)
		r = edges(p, g, 0, get(p, dot, "optionalDependencies"), 1);
	return r;
}

/* Refuse YAML aliases (see above) before loading.  0 or EX_DATA/EX_NO. */
static int no_alias(struct pp *p, const char *lock, size_t n)
{
	yaml_parser_t ps;
	yaml_event_t ev;
	int r = 0, done = 0;

	yaml_parser_initialize(&ps);
	yaml_parser_set_input_string(&ps, (const unsigned char *)lock, n);
	while (!done && !r) {
		if (!yaml_parser_parse(&ps, &ev)) {
			char w[128];
			snprintf(w, sizeof w, "%.90s:%zu:%zu", p->name, ps.problem_mark.line + 1,
				ps.problem_mark.column + 1);
			r = merr_set(p->e, EX_DATA, w, "YAML: %s", ps.problem ? ps.problem : "malformed");
			break;
		}
		if (ev.type == YAML_ALIAS_EVENT) {
			char w[128];
			snprintf(w, sizeof w, "%.90s:%zu:%zu", p->name, ev.start_mark.line + 1,
				ev.start_mark.column + 1);
			r = merr_set(p->e, EX_NO, w, "a YAML alias; pnpm writes none and mvm-deps refuses them");
		}
		if (ev.type == YAML_DOCUMENT_END_EVENT || ev.type == YAML_STREAM_END_EVENT)
			done = 1;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&ps);
	return r;
}

int pnpm_parse(const char *lockname, const char *lock, size_t n, const char *reg,
	struct node_graph *g, struct merr *e)
{
	struct pp p = { .name = lockname, .e = e };
	yaml_parser_t ps;
	int r;

	if ((r = no_alias(&p, lock, n)) != 0)
		return r;
	yaml_parser_initialize(&ps);
	yaml_parser_set_input_string(&ps, (const unsigned char *)lock, n);
	if (!yaml_parser_load(&ps, &p.doc)) {
		char w[128];
		snprintf(w, sizeof w, "%.90s:%zu:%zu", lockname, ps.problem_mark.line + 1,
			ps.problem_mark.column + 1);
		r = merr_set(e, EX_DATA, w, "YAML: %s", ps.problem ? ps.problem : "malformed");
		yaml_parser_delete(&ps);
		return r;
	}
	yaml_parser_delete(&ps);
	r = build(&p, reg, g);
	for (size_t i = 0; i < p.nkeys; i++)
		free(p.keys[i].k);
	free(p.keys);
	yaml_document_delete(&p.doc);
	return r;
}

int deps_pnpm(struct deps_run *x, const char *lockname, const char *lock, size_t n,
	struct merr *e)
{
	struct node_graph g = { 0 };
	char *reg = node_registry(x->srcdir, x->scratch);
	int r = reg ? pnpm_parse(lockname, lock, n, reg, &g, e) : merr_set(e, EX_SYS, NULL, "out of memory");

	if (!r)
		r = node_install(x, &g, e);
	free(reg);
	node_free(&g);
	return r;
}
