/* slurm.c — a Slurm job's resources from a plan (slurm.h) */
#include "slurm.h"

int slurm_job_of_plan(const struct plan *p, int64_t now, struct slurm_job *j, struct merr *e)
{
	int64_t from = p->valid_from > now ? p->valid_from : now;

	if (p->valid_until <= from)
		return merr_set(e, EX_NO, "/valid_until", "the plan's window has closed (valid until %lld, now %lld)",
			(long long)p->valid_until, (long long)now);
	j->cpus = p->vcpus;
	j->mem_mb = p->memory_mb + SLURM_VMM_OVERHEAD_MB;
	j->time_min = (long)((p->valid_until - from + 59) / 60);
	j->begin = p->valid_from > now ? p->valid_from : 0;
	return 0;
}

void slurm_split(size_t ncalls, size_t ntasks, size_t i, size_t *first, size_t *count)
{
	size_t per = (ncalls + ntasks - 1) / ntasks;

	*first = i * per < ncalls ? i * per : ncalls;
	*count = ncalls - *first < per ? ncalls - *first : per;
}
