/* slurm.h — what a Slurm job running signed plans asks for (mvm-submit(1))
 *
 * One job array runs a batch of calls: task i boots plan i (one plan, one
 * launch) and makes calls [first, first + count) of the batch in it.  The
 * job's resources come from the plans, never from the command line:
 *
 *   --cpus-per-task  the plan's resources.vcpus
 *   --mem            resources.memory_mb + SLURM_VMM_OVERHEAD_MB (below)
 *   --time           the minutes left in the window at submission, rounded
 *                    up: from now, or from valid_from when that is later
 *                    (then --begin=valid_from); a task that starts later
 *                    is refused by admission once the window has closed
 *   --begin          valid_from, when it is in the future
 *
 * Return codes (struct merr's code):
 *   0       ok
 *   EX_NO   the window has closed (valid_until <= now), or is empty
 */
#ifndef MVM_SLURM_H
#define MVM_SLURM_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "plan.h"

/*
 * What the VMM needs beside the guest's memory, in MiB.  Measured here
 * (QEMU 7.2, TCG, the hello plan: a 256 MiB guest, after 5 calls): QEMU's
 * resident set was 177 MiB in all (148 anonymous: the guest pages touched so
 * far, the TCG translation cache, QEMU's heap; 33 file-backed: QEMU and its
 * libraries), vm-boot's 3 MiB.  A guest may touch all of memory_mb; what
 * comes on top is QEMU's own share, and its translation cache grows with the
 * guest code it runs (QEMU reserves up to 1 GiB for it under TCG and touches
 * what it uses).  256 is that share with room; under KVM or Firecracker the
 * VMM needs less.
 */
#define SLURM_VMM_OVERHEAD_MB 256

struct slurm_job {
	long cpus;          /* --cpus-per-task */
	long mem_mb;        /* --mem, in MiB */
	long time_min;      /* --time, minutes (>= 1) */
	int64_t begin;      /* --begin when > 0 (seconds since the epoch, UTC) */
};

/*
 * A batch of calls: buf[0..len) holds one call a line, the JSON
 * [args, kwargs] (an array, then an object); the last newline optional.
 * c->line[i] points into buf (c->len[i] bytes, no newline).
 *   0; EX_DATA: a line that is not JSON (where "LINE:COL") or not a call
 *   (where "LINE"), or no line at all; EX_SYS: out of memory.
 */
struct slurm_calls {
	const char **line;
	size_t *len, n;
};
int slurm_calls_parse(const char *buf, size_t len, struct slurm_calls *c, struct merr *e);
void slurm_calls_free(struct slurm_calls *c);

/*
 * Stage the image directory for the nodes: its mvm-meta.json must have
 * the SHA-256 meta ("sha256:<hex>", the plans' image.meta); then, with
 * shared NULL, out is image's absolute path; else out is
 * shared/images/<hex>, made when it is not there yet from image's regular
 * files (hard links, or copies across file systems, written whole) in a
 * temporary directory renamed into place, so that a node never sees half
 * an image, and two submitters staging the same image both end with the
 * one that won.  The files are checked again by admission on the node.
 *   0; EX_NO: not the plans' image; EX_SYS.
 */
int slurm_stage(const char *image, const char *shared, const char *meta, char out[PATH_MAX],
	struct merr *e);

/* The job for plan p submitted at now.  0, or EX_NO (the window). */
int slurm_job_of_plan(const struct plan *p, int64_t now, struct slurm_job *j, struct merr *e);

/* Calls [*first, *first + *count) of ncalls go to task i of ntasks (ntasks
 * >= 1): as many per task as can be, ceil(ncalls / ntasks), the last ones
 * fewer (possibly none). */
void slurm_split(size_t ncalls, size_t ntasks, size_t i, size_t *first, size_t *count);

#endif
