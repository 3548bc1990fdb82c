/* cluster.c — this node's place in a cluster (lib/cluster.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "admit.h"
#include "buf.h"
#include "cluster.h"
#include "io.h"
#include "keys.h"

int cluster_node_ok(const char *s, size_t n)
{
	if (n == 0 || n > CLUSTER_NODE_MAX || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static int set_dir(struct cluster *c, const char *v, size_t n, const char *where,
	struct merr *e)
{
	if (n == 0 || v[0] != '/')
		return merr_set(e, EX_DATA, where, "the cluster directory must be an absolute path");
	if (n >= sizeof c->dir)
		return merr_set(e, EX_DATA, where, "the cluster directory's path is too long");
	memcpy(c->dir, v, n);
	c->dir[n] = 0;
	snprintf(c->nonces, sizeof c->nonces, "%s/nonces", c->dir);
	return 0;
}

static int set_node(struct cluster *c, const char *v, size_t n, const char *where,
	struct merr *e)
{
	if (!cluster_node_ok(v, n))
		return merr_set(e, EX_DATA, where, "a node id is 1 to %d of [A-Za-z0-9._-], "
			"not starting with '.'", CLUSTER_NODE_MAX);
	memcpy(c->node, v, n);
	c->node[n] = 0;
	return 0;
}

/* $MVM_HOME/cluster.conf: what the environment did not set. */
static int conf(struct cluster *c, int want_dir, int want_node, struct merr *e)
{
	char path[PATH_MAX], where[sizeof e->where];
	struct buf b = BUF_INIT;
	size_t i = 0, line = 0;
	int rc;

	/* no $MVM_HOME (nor $HOME): no file; a tool given every path works */
	if (mvm_path(path, sizeof path, "cluster.conf", e) != 0 || access(path, F_OK) != 0)
		return 0;
	if ((rc = read_file(path, &b, e)) != 0)
		return rc;
	while (rc == 0 && i < b.len) {
		const char *s = b.p + i, *nl = memchr(s, '\n', b.len - i), *eq;
		size_t n = nl ? (size_t)(nl - s) : b.len - i;

		i += n + 1;
		line++;
		snprintf(where, sizeof where, "cluster.conf:%zu", line);
		if (n == 0 || s[0] == '#')
			continue;
		eq = memchr(s, '=', n);
		if (eq && eq - s == 3 && memcmp(s, "dir", 3) == 0) {
			if (want_dir)
				rc = set_dir(c, eq + 1, n - 4, where, e);
		} else if (eq && eq - s == 4 && memcmp(s, "node", 4) == 0) {
			if (want_node)
				rc = set_node(c, eq + 1, n - 5, where, e);
		} else {
			rc = merr_set(e, EX_DATA, where, "not \"dir=PATH\" or \"node=ID\"");
		}
	}
	buf_free(&b);
	return rc;
}

int cluster_load(struct cluster *c, struct merr *e)
{
	const char *v;
	int rc;

	memset(c, 0, sizeof *c);
	if ((v = getenv("MVM_CLUSTER_DIR")) && *v &&
	    (rc = set_dir(c, v, strlen(v), "MVM_CLUSTER_DIR", e)) != 0)
		return rc;
	if ((v = getenv("MVM_NODE")) && *v && (rc = set_node(c, v, strlen(v), "MVM_NODE", e)) != 0)
		return rc;
	if ((!c->dir[0] || !c->node[0]) && (rc = conf(c, !c->dir[0], !c->node[0], e)) != 0)
		return rc;
	if (c->dir[0] && !c->node[0]) {
		char h[256];
		if ((v = getenv("SLURMD_NODENAME")) && *v)
			return set_node(c, v, strlen(v), "SLURMD_NODENAME", e);
		if (gethostname(h, sizeof h) != 0)
			return merr_sys(e, "gethostname");
		h[sizeof h - 1] = 0;
		return set_node(c, h, strlen(h), "the host name", e);
	}
	return 0;
}

int cluster_stores(struct admit_req *r, char local[PATH_MAX], const struct cluster *c,
	struct merr *e)
{
	int rc;

	if ((rc = mvm_path(local, PATH_MAX, "nonces", e)) != 0)
		return rc;
	r->nonces = local;
	r->shared = c->nonces[0] ? c->nonces : NULL;
	return 0;
}
