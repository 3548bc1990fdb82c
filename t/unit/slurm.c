/* t/unit/slurm.c — lib/slurm.c against answers worked out by hand from
 * mvm-submit(1): --mem is memory_mb + 256, --time the window's minutes
 * from submission (or from valid_from) rounded up, --begin valid_from when
 * it is later; a batch splits ceil(n / tasks) calls a task. */
#include "slurm.h"
#define UNIT_NAME "slurm"
#include "check.h"

static int job(long vcpus, long mem, int64_t from, int64_t until, int64_t now, struct slurm_job *j)
{
	struct plan p = { .vcpus = vcpus, .memory_mb = mem, .valid_from = from, .valid_until = until };
	struct merr e;

	return slurm_job_of_plan(&p, now, j, &e);
}

static void split(size_t n, size_t tasks, size_t i, size_t first, size_t count)
{
	size_t f, c;

	slurm_split(n, tasks, i, &f, &c);
	check(f == first && c == count, "split(%zu, %zu, %zu) = (%zu, %zu), want (%zu, %zu)",
		n, tasks, i, f, c, first, count);
}

int main(void)
{
	struct slurm_job j = { 0 };

	/* a 600 s window opened now: 10 minutes, no --begin */
	check(job(2, 512, 1000, 1600, 1000, &j) == 0 && j.cpus == 2 && j.mem_mb == 768 &&
	      j.time_min == 10 && j.begin == 0, "600 s window: %ld cpus %ld MiB %ld min", j.cpus, j.mem_mb, j.time_min);
	/* 599 s left: still 10 minutes (rounded up); 59 s left: 1 */
	check(job(1, 256, 1000, 1600, 1001, &j) == 0 && j.time_min == 10 && j.mem_mb == 512, "599 s left");
	check(job(1, 256, 1000, 1600, 1541, &j) == 0 && j.time_min == 1, "59 s left");
	/* a window that opens later: --begin then, the whole window's minutes */
	check(job(1, 256, 1000, 1600, 900, &j) == 0 && j.begin == 1000 && j.time_min == 10, "future window");
	/* closed (half-open: valid_until itself is outside) */
	check(job(1, 256, 1000, 1600, 1600, &j) == EX_NO, "closed at valid_until");
	check(job(1, 256, 1000, 1600, 5000, &j) == EX_NO, "closed long ago");
	check(job(1, 256, 1600, 1600, 0, &j) == EX_NO, "empty window");

	split(20, 2, 0, 0, 10);
	split(20, 2, 1, 10, 10);
	split(5, 3, 0, 0, 2);
	split(5, 3, 1, 2, 2);
	split(5, 3, 2, 4, 1);
	split(1, 3, 0, 0, 1);
	split(1, 3, 1, 1, 0);
	split(1, 3, 2, 1, 0);
	split(7, 1, 0, 0, 7);
	return check_report();
}
