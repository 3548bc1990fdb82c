/* cluster.h — this node's place in a cluster: the shared directory and
 * the node id (plan-verify(1), vm-boot(1), audit-append(1), mvmctl(1))
 *
 * A host is a node of a cluster when it knows the cluster's shared
 * directory: a directory every node mounts (NFSv3 or later, or any local
 * file system for nodes on one machine).  In it, DIR/nonces is the
 * cluster's nonce store, the same format as a node's own
 * $MVM_HOME/nonces (lib/nonce.h): one file per spent nonce, created with
 * O_CREAT|O_EXCL, the one operation that is atomic on every such file
 * system (flock(2) is not reliable over NFS, so nothing here relies on
 * a lock).  Admission spends a plan's nonce there before its own store,
 * so a plan is admitted at most once in the whole cluster.
 *
 * Where each fact comes from, the first that is set:
 *   the shared directory  MVM_CLUSTER_DIR (environment), then the line
 *                         "dir=PATH" of $MVM_HOME/cluster.conf; none:
 *                         not in a cluster (dir and nonces are "").
 *   the node id           MVM_NODE, then "node=ID" of cluster.conf; and,
 *                         in a cluster, SLURMD_NODENAME (set by Slurm in a
 *                         job), then the host name; else "" (no node).
 * cluster.conf: lines "key=value" (keys dir and node), empty lines and
 * lines starting with '#'; anything else is refused.  PATH must be
 * absolute.  A node id is 1 to CLUSTER_NODE_MAX of [A-Za-z0-9._-], not
 * starting with '.' (it names files of the collected trail).
 *
 * Clocks: the cluster's store forgets a nonce LIMIT_SKEW_MAX later than a
 * node's own store does (CLUSTER_KEEP), so nodes whose clocks differ by
 * less than LIMIT_SKEW_MAX never forget a nonce another node still
 * admits.
 *
 * cluster_load:   0, EX_DATA (cluster.conf malformed, a bad node id or a
 *                 relative dir: e->where names MVM_NODE, MVM_CLUSTER_DIR
 *                 or the conf's line), EX_SYS.
 * cluster_stores: fill an admission request's stores: r->nonces = local
 *                 ("$MVM_HOME/nonces"), r->shared = c->nonces when in a
 *                 cluster, else NULL.  0 or EX_SYS.
 */
#ifndef MVM_CLUSTER_H
#define MVM_CLUSTER_H

#include <limits.h>
#include <stddef.h>
#include "err.h"
#include "limit.h"

#define CLUSTER_NODE_MAX 64
#define CLUSTER_KEEP (2 * LIMIT_SKEW_MAX)

struct cluster {
	char dir[PATH_MAX - 16];          /* "" when not in a cluster */
	char nonces[PATH_MAX];            /* dir/nonces, or "" */
	char node[CLUSTER_NODE_MAX + 1];  /* "" when no node id is known */
};

int cluster_load(struct cluster *c, struct merr *e);
int cluster_node_ok(const char *s, size_t n);

struct admit_req;
int cluster_stores(struct admit_req *r, char local[PATH_MAX], const struct cluster *c,
	struct merr *e);

#endif
