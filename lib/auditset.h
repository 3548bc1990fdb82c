/* auditset.h — several nodes' audit logs as one trail: gathered
 * (mvmctl audit collect; lib/auditcollect.c) and verified together
 * (audit-verify -m; lib/auditset.c)
 *
 * Each node of a cluster appends to its own logs (lib/audit.h), every
 * entry labelled node=<its id> (lib/cluster.h).  The collected trail is a
 * directory holding, per node, DEST/NODE/NAME.jsonl and
 * DEST/NODE/NAME.jsonl.checkpoint: the node's log NAME.jsonl (one per
 * tenant, as $MVM_HOME/audit/ holds them) with its checkpoint, bytes
 * unchanged (they are signed).
 *
 * auditset_collect: copy the log at src and src.checkpoint to
 *   dest/NODE/BASENAME(src) (+ .checkpoint), NODE the node its entries
 *   name (label node, the same in every entry that has one; at least one
 *   must).  The checkpoint is read before the log (a log only grows past
 *   its checkpoint), each copy written as temp file, fsync, rename.  A
 *   copy already there is replaced only by a log it is a prefix of (the
 *   same log, grown); a different log is refused, nothing written.
 *   Returns 0 (out says what was done), EX_NO (no node label, labels of
 *   two nodes, a line that is not JSON, or a different log already
 *   there: e says which), EX_SYS.  Nothing is verified here: the copy is
 *   what the node wrote; audit-verify -m decides.
 *
 * auditset_verify: verify the logs paths[0..n) (a path that is a
 *   directory stands for every DIR/NODE/NAME.jsonl in it: the collected
 *   layout), each
 *   as audit-verify(1) verifies one log: every line, its chain and
 *   signatures, and its checkpoint PATH.checkpoint (required for a
 *   non-empty log); then the invariants across them all:
 *     admitted_twice      a plan (plan_id) has one <prefix>.admitted
 *                         entry in all the logs, at most;
 *     launched_unadmitted every <prefix>.launched entry follows a
 *                         <prefix>.admitted of its plan in the same log;
 *     node_mixed          a log's entries name one node (label node).
 *   A log's node is its entries' label node, or, when none has one, its
 *   path.  Returns 0 with the counts in c; EX_NO with v filled (kind
 *   "log" when a log fails alone, with e->where "line N" as
 *   audit_verify_buf; else the invariant's name) and e saying it;
 *   EX_SYS.
 */
#ifndef MVM_AUDITSET_H
#define MVM_AUDITSET_H

#include <limits.h>
#include <stddef.h>
#include "cluster.h"
#include "err.h"
#include "keys.h"
#include "plan.h"

struct auditset_collected {
	char node[CLUSTER_NODE_MAX + 1];
	char path[PATH_MAX];           /* dest/NODE/NAME */
	const char *action;            /* "new", "unchanged", "extended" */
};
int auditset_collect(const char *dest, const char *src, struct auditset_collected *out,
	struct merr *e);

struct auditset_counts {
	unsigned long long nodes, logs, entries;
	unsigned long long admitted, launched, failed, refused;   /* events by kind */
};

struct auditset_violation {
	const char *kind;               /* "log", "admitted_twice", ... (above) */
	char log[PATH_MAX];
	char node[CLUSTER_NODE_MAX + 1];  /* "" when the log names none */
	unsigned long long seq;         /* the entry (0 when kind is "log") */
	char plan_id[DIGEST_LEN + 1];   /* "" when kind is "log" or "node_mixed" */
};

int auditset_verify(const char *const *paths, size_t n, const struct trustset *t,
	struct auditset_counts *c, struct auditset_violation *v, struct merr *e);

/* The node the lines of p[0..n) name (label node) into node, "" when none
 * does; EX_NO when two differ or one is not a node id (*bad: that line's
 * number) or a line is not JSON (*bad: 0).  Nothing is verified. */
int auditset_node(const char *p, size_t n, char node[CLUSTER_NODE_MAX + 1],
	unsigned long long *bad, struct merr *e);

#endif
