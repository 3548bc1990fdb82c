/* auditset.c — several nodes' audit logs as one trail (lib/auditset.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "audit.h"
#include "auditlogs.h"
#include "auditset.h"
#include "buf.h"
#include "io.h"
#include "json.h"

/* One plan event of interest, for the invariants. */
struct rec {
	char plan_id[DIGEST_LEN + 1];
	size_t log;
	unsigned long long seq;
	char kind;                      /* 'a' admitted, 'l' launched */
};

struct recs {
	struct rec *r;
	size_t n, cap;
};

/* The parts of a checked entry the invariants need. */
struct ent {
	const char *event, *plan_id, *node;
	size_t evlen, pidlen, nodelen;
};

static jref member(const struct jdoc *d, jref o, const char *k)
{
	return o != JREF_NONE && json_type(d, o) == J_OBJ ? json_get(d, o, k) : JREF_NONE;
}

static const char *str(const struct jdoc *d, jref x, size_t *n)
{
	*n = 0;
	return x != JREF_NONE && json_type(d, x) == J_STR ? json_str(d, x, n) : NULL;
}

static void ent_of(const struct jdoc *d, struct ent *x)
{
	jref r = json_root(d);

	x->event = str(d, member(d, r, "event"), &x->evlen);
	x->plan_id = str(d, member(d, r, "plan_id"), &x->pidlen);
	x->node = str(d, member(d, member(d, r, "labels"), "node"), &x->nodelen);
}

static int ends(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);

	return s && n >= k && memcmp(s + n - k, suf, k) == 0;
}

static int has(const char *s, size_t n, const char *mid)
{
	size_t k = strlen(mid);

	for (size_t i = 0; s && i + k <= n; i++)
		if (memcmp(s + i, mid, k) == 0)
			return 1;
	return 0;
}

/* (auditset.h) */
int auditset_node(const char *p, size_t n, char node[CLUSTER_NODE_MAX + 1],
	unsigned long long *bad, struct merr *e)
{
	size_t off = 0;
	unsigned long long seq = 0;

	node[0] = 0;
	*bad = 0;
	while (off < n) {
		const char *s = p + off, *nl = memchr(s, '\n', n - off);
		size_t len = nl ? (size_t)(nl - s) : n - off;
		struct ent x;
		struct jdoc *d;

		off += len + 1;
		seq++;
		if (!(d = json_parse(s, len, NULL, e)))
			return merr_set(e, EX_NO, NULL, "line %llu: not a JSON text", seq);
		ent_of(d, &x);
		if (x.node && (!cluster_node_ok(x.node, x.nodelen) || (node[0] &&
		    (strlen(node) != x.nodelen || memcmp(node, x.node, x.nodelen) != 0)))) {
			json_free(d);
			*bad = seq;
			return merr_set(e, EX_NO, NULL, "line %llu: label node is \"%.*s\"%s%s", seq,
				(int)(x.nodelen > 64 ? 64 : x.nodelen), x.node,
				node[0] ? ", earlier lines say " : ": not a node id", node);
		}
		if (x.node && !node[0]) {
			memcpy(node, x.node, x.nodelen);
			node[x.nodelen] = 0;
		}
		json_free(d);
	}
	return 0;
}

/* ---------------------------------------------------------------- verify */

static int add(struct recs *rs, const struct ent *x, size_t log, unsigned long long seq,
	char kind, struct merr *e)
{
	struct rec *r;

	if (!x->plan_id || x->pidlen != DIGEST_LEN)
		return 0;       /* audit_line_parse checked plan events have one */
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct rec *p = realloc(rs->r, cap * sizeof *p);
		if (!p)
			return merr_sys(e, "allocate");
		rs->r = p;
		rs->cap = cap;
	}
	r = &rs->r[rs->n++];
	memcpy(r->plan_id, x->plan_id, DIGEST_LEN);
	r->plan_id[DIGEST_LEN] = 0;
	r->log = log;
	r->seq = seq;
	r->kind = kind;
	return 0;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = strcmp(x->plan_id, y->plan_id);

	if (c)
		return c;
	if (x->log != y->log)
		return x->log < y->log ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A log's checkpoint into x (*have = 1), or none (*have = 0: allowed
 * for an empty log only).  0, EX_NO, EX_SYS. */
static int checkpoint(const char *log, size_t loglen, const struct trustset *t,
	struct audit_expect *x, int *have, struct merr *e)
{
	char path[PATH_MAX];
	struct audit_checkpoint cp;
	struct buf b = BUF_INIT;
	int rc;

	memset(&cp, 0, sizeof cp);
	*have = 0;
	if ((size_t)snprintf(path, sizeof path, "%s.checkpoint", log) >= sizeof path)
		return merr_set(e, EX_SYS, NULL, "%s: path too long", log);
	if (access(path, F_OK) != 0)
		return loglen == 0 ? 0 : merr_set(e, EX_NO, NULL, "no checkpoint (%s): a truncated "
			"tail could not be detected", path);
	if ((rc = read_file_named(path, &b, e)) != 0)
		return rc;
	if ((rc = audit_checkpoint_parse(b.p ? b.p : "", b.len, &cp, e)) == 0 &&
	    (rc = audit_sig_check(cp.keyid, cp.sig, &cp.msg, t, e)) == 0) {
		x->size = cp.size;
		x->seq = cp.seq;
		memcpy(x->head, cp.head, sizeof x->head);
		x->name = "its checkpoint";
		*have = 1;
	} else if (rc == EX_NO || rc == EX_DATA) {
		struct merr c = *e;
		rc = merr_set(e, EX_NO, NULL, "checkpoint %s: %s%s%s", path, c.where,
			c.where[0] ? ": " : "", c.msg);
	}
	buf_free(&cp.msg);
	buf_free(&b);
	return rc;
}

/* One log: verified alone, then its plan events into rs, its counts into
 * c, its node into node.  v is filled on EX_NO. */
static int one(const char *path, size_t li, const struct trustset *t, struct recs *rs,
	struct auditset_counts *c, char node[CLUSTER_NODE_MAX + 1],
	struct auditset_violation *v, struct merr *e)
{
	struct audit_expect x;
	struct audit_result res;
	struct input in;
	unsigned long long seq = 0, bad;
	size_t off = 0;
	int rc, nx = 0;

	snprintf(v->log, sizeof v->log, "%s", path);
	v->kind = "log";
	if ((rc = in_open(path, &in, e)) != 0) {
		struct merr was = *e;
		return merr_set(e, rc, NULL, "%s: %s", path, was.msg);
	}
	if ((rc = checkpoint(path, in.len, t, &x, &nx, e)) != 0 ||
	    (rc = audit_verify_buf(in.p, in.len, t, &x, (size_t)nx, &res, e)) != 0)
		goto out;
	if ((rc = auditset_node(in.p, in.len, node, &bad, e)) != 0) {
		v->kind = "node_mixed";
		v->seq = bad;
		goto out;
	}
	c->entries += res.entries;
	while (off < in.len) {
		const char *s = in.p + off, *nl = memchr(s, '\n', in.len - off);
		size_t len = (size_t)(nl - s);      /* every line is whole: verified */
		struct ent y;
		struct jdoc *d = json_parse(s, len, NULL, e);

		off += len + 1;
		seq++;
		if (!d) {
			rc = EX_NO;
			goto out;
		}
		ent_of(d, &y);
		if (ends(y.event, y.evlen, ".admitted")) {
			c->admitted++;
			rc = add(rs, &y, li, seq, 'a', e);
		} else if (ends(y.event, y.evlen, ".launched")) {
			c->launched++;
			rc = add(rs, &y, li, seq, 'l', e);
		} else if (ends(y.event, y.evlen, ".failed")) {
			c->failed++;
		} else if (has(y.event, y.evlen, ".rejected.")) {
			c->refused++;
		}
		json_free(d);
		if (rc)
			goto out;
	}
out:
	if (rc == EX_NO) {
		struct merr was = *e;
		if (!node[0])      /* name the node of a log that failed alone */
			auditset_node(in.p, in.len, node, &bad, e);
		merr_set(e, EX_NO, NULL, "%s: %s%s%s", path, was.where, was.where[0] ? ": " : "",
			was.msg);
	}
	in_close(&in);
	return rc;
}

/* Name the violation r (of kind k) in v and e. */
static int violation(struct auditset_violation *v, const char *k, const struct rec *r,
	char (*nodes)[CLUSTER_NODE_MAX + 1], char *const *logs, const struct rec *first,
	struct merr *e)
{
	v->kind = k;
	snprintf(v->log, sizeof v->log, "%s", logs[r->log]);
	snprintf(v->node, sizeof v->node, "%s", nodes[r->log]);
	v->seq = r->seq;
	memcpy(v->plan_id, r->plan_id, sizeof v->plan_id);
	if (first)
		return merr_set(e, EX_NO, NULL, "%s: node %s: seq %llu: plan %s admitted twice "
			"(first: node %s, %s seq %llu)", logs[r->log], nodes[r->log], r->seq,
			r->plan_id, nodes[first->log], logs[first->log], first->seq);
	return merr_set(e, EX_NO, NULL, "%s: node %s: seq %llu: plan %s launched without "
		"its admission before it in this log", logs[r->log], nodes[r->log], r->seq,
		r->plan_id);
}

int auditset_verify(const char *const *paths, size_t n, const struct trustset *t,
	struct auditset_counts *c, struct auditset_violation *v, struct merr *e)
{
	char (*nodes)[CLUSTER_NODE_MAX + 1] = NULL;
	struct recs rs = { 0 };
	struct paths g = { 0 };
	size_t i, j, k;
	int rc;

	memset(c, 0, sizeof *c);
	memset(v, 0, sizeof *v);
	v->kind = "log";
	if ((rc = auditset_logs(paths, n, &g, e)) != 0)
		goto out;
	if (!(nodes = calloc(g.n + 1, sizeof *nodes))) {
		rc = merr_sys(e, "allocate");
		goto out;
	}
	for (i = 0; i < g.n; i++) {
		if ((rc = one(g.v[i], i, t, &rs, c, nodes[i], v, e)) != 0) {
			snprintf(v->node, sizeof v->node, "%s", nodes[i]);
			goto out;
		}
		c->logs++;
		/* a node counts once, however many logs (tenants) it has */
		for (j = 0; j < i; j++)
			if (nodes[i][0] ? strcmp(nodes[j], nodes[i]) == 0 :
			    strcmp(g.v[j], g.v[i]) == 0)
				break;
		c->nodes += j == i;
	}
	/* By plan, then log, then seq: a plan's events are adjacent, each
	 * log's in its order. */
	if (rs.n)
		qsort(rs.r, rs.n, sizeof *rs.r, rec_cmp);
	for (i = 0; i < rs.n; i = j) {
		const struct rec *first = NULL;
		for (j = i; j < rs.n && strcmp(rs.r[j].plan_id, rs.r[i].plan_id) == 0; j++) {
			const struct rec *r = &rs.r[j];
			if (r->kind == 'a' && first) {
				rc = violation(v, "admitted_twice", r, nodes, g.v, first, e);
				goto out;
			}
			if (r->kind == 'a')
				first = r;
			if (r->kind == 'l') {
				for (k = i; k < j && !(rs.r[k].kind == 'a' && rs.r[k].log == r->log); k++)
					;
				if (k == j) {
					rc = violation(v, "launched_unadmitted", r, nodes, g.v, NULL,
						e);
					goto out;
				}
			}
		}
	}
out:
	free(rs.r);
	free(nodes);
	for (i = 0; i < g.n; i++)
		free(g.v[i]);
	free(g.v);
	return rc;
}
