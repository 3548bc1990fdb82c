/* mvm-submit — run a batch of calls in signed plans' microVMs as a Slurm
 * job array: one task per plan (one plan, one launch), resources from the
 * plans (lib/slurm.h), results merged in input order (mvm-submit(1)) */
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "dsse.h"
#include "plan.h"
#include "slurm.h"
#include "tool.h"

#define MAX_TASKS 1000       /* plans (tasks) in one submission */

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s -i imagedir [-o dir] [-D shareddir] [-p partition] [-f json|msgpack]\n"
		"       [-t seconds] [-w] calls.jsonl plan.dsse.json... [-- sbatch-option...]\n", progname);
	exit(code);
}

/* A path that goes into the generated shell scripts in single quotes. */
static void quotable(const char *what, const char *s)
{
	if (strchr(s, '\'') || strchr(s, '\n'))
		tool_die(EX_USAGE, "%s: a quote or newline in the path: %s", what, s);
}

static void absolute(char *out, const char *path)
{
	if (!realpath(path, out))
		tool_die(EX_SYS, "%s: %s", path, strerror(errno));
}

/* Write data to path whole (temporary file, fsync, rename). */
static void put(const char *path, const void *data, size_t n, mode_t mode)
{
	struct merr e;

	if (write_atomic(path, data, n, mode, &e) != 0)
		tool_fail(path, &e);
}

/* The batch: path's bytes into b, its calls into c (or die 3/4). */
static void read_calls(const char *path, struct buf *b, struct slurm_calls *c)
{
	struct merr e;

	if (read_file(path, b, &e) != 0 || slurm_calls_parse(b->p ? b->p : "", b->len, c, &e) != 0)
		tool_fail(path, &e);
}

/* Read the signed plan at path: its bytes into b, the plan into p. */
static void read_plan(const char *path, struct buf *b, struct plan *p)
{
	struct dsse_env env;
	struct merr e;

	if (read_file(path, b, &e) != 0)
		tool_fail(path, &e);
	if (dsse_parse(b->p ? b->p : "", b->len, &env, &e) != 0)
		tool_fail(path, &e);
	if (plan_parse((const char *)env.payload, env.plen, PLAN_CANONICAL, p, &e) != 0)
		tool_fail(path, &e);
	dsse_free(&env);
}

/* The directory of this program (a checkout's bin/, or PREFIX/bin: where
 * the tasks find vm-boot and vsock-call) into bin; the libexec directory,
 * $MVM_LIBEXEC, else bin/../libexec, into lx. */
static void dirs(char bin[PATH_MAX], char lx[PATH_MAX])
{
	if (tool_bindir(bin, PATH_MAX) != 0)
		tool_die(EX_SYS, "unable to find my own executable: %s", strerror(errno));
	tool_libexec(lx, PATH_MAX);
}

/* sbatch with av[1..]: the job id it prints (--parsable: "id[;cluster]"). */
static void sbatch(char **av, char id[32])
{
	struct buf o = BUF_INIT;
	int r = tool_run(av, &o);

	snprintf(id, 32, "%.*s", (int)(o.p ? strcspn(buf_cstr(&o), ";\n") : 0), o.p ? o.p : "");
	buf_free(&o);
	if (r != 0 || !id[0] || strspn(id, "0123456789") != strlen(id))
		tool_die(EX_SYS, "sbatch failed (status %d)", r);
}

/* What the command line says. */
struct opts {
	const char *image, *outdir, *shared, *part, *fmt, *timeout;
	int wait, nplans, nextra;
	char **plans, **extra;
	const char *calls;
};

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = { { "wait", no_argument, NULL, 'w' }, { 0, 0, 0, 0 } };
	int c;

	*o = (struct opts){ .shared = getenv("MVM_SLURM_SHARED"), .part = getenv("MVM_SLURM_PARTITION"),
		.fmt = "json", .timeout = "30" };
	while ((c = getopt_long(argc, argv, "+i:o:D:p:f:t:wh", lo, NULL)) != -1)
		switch (c) {
		case 'i': o->image = optarg; break;
		case 'o': o->outdir = optarg; break;
		case 'D': o->shared = optarg; break;
		case 'p': o->part = optarg; break;
		case 'f': o->fmt = optarg; break;
		case 't': o->timeout = optarg; break;
		case 'w': o->wait = 1; break;
		case 'h': usage(0); break;
		default: usage(EX_USAGE);
		}
	argc -= optind, argv += optind;
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			o->extra = argv + i + 1, o->nextra = argc - i - 1;
			argc = i;
		}
	o->calls = argv[0];
	o->plans = argv + 1, o->nplans = argc - 1;
	if (!o->image || o->nplans < 1 || o->nplans > MAX_TASKS || o->nextra > 32 ||
	    (strcmp(o->fmt, "json") && strcmp(o->fmt, "msgpack")) ||
	    strspn(o->timeout, "0123456789") != strlen(o->timeout) || atoi(o->timeout) < 1 ||
	    atoi(o->timeout) > 3600)
		usage(EX_USAGE);
	if (o->shared && !*o->shared)
		o->shared = NULL;
	if (o->part && !*o->part)
		o->part = NULL;
}

/* Read every plan (bytes into pb[i], plan into p[i]); one image, one set
 * of resources, no plan twice; the job for the window they all share. */
static void read_plans(const struct opts *o, struct buf *pb, struct plan *p, struct slurm_job *job)
{
	struct merr e;
	struct plan w;

	for (int i = 0; i < o->nplans; i++) {
		read_plan(o->plans[i], &pb[i], &p[i]);
		if (strcmp(p[i].meta, p[0].meta) || p[i].vcpus != p[0].vcpus ||
		    p[i].memory_mb != p[0].memory_mb)
			tool_die(EX_NO, "%s: another image or other resources than %s", o->plans[i], o->plans[0]);
		for (int k = 0; k < i; k++)
			if (!strcmp(p[k].nonce, p[i].nonce))
				tool_die(EX_NO, "%s: the same plan as %s: one plan, one launch", o->plans[i], o->plans[k]);
	}
	w = p[0];     /* the latest start, the earliest end */
	for (int i = 1; i < o->nplans; i++) {
		if (p[i].valid_from > w.valid_from)
			w.valid_from = p[i].valid_from;
		if (p[i].valid_until < w.valid_until)
			w.valid_until = p[i].valid_until;
	}
	if (slurm_job_of_plan(&w, time_now(), job, &e) != 0)
		tool_fail(NULL, &e);
}

/* The submission directory, new (one per submission), absolute, into dir. */
static void make_dir(const struct opts *o, const struct plan *p0, char dir[PATH_MAX])
{
	char d[PATH_MAX], parent[PATH_MAX];
	struct merr e;

	if (o->outdir)
		snprintf(d, sizeof d, "%s", o->outdir);
	else
		snprintf(d, sizeof d, ".mvm/submit/%.12s", p0->plan_id + 7);
	snprintf(parent, sizeof parent, "%s", d);
	if (mkdir_p(dirname(parent), 0755, &e) != 0)
		tool_fail(d, &e);
	if (mkdir(d, 0755) < 0)
		tool_die(errno == EEXIST ? EX_NO : EX_SYS, "%s: %s (one directory per submission)", d,
			strerror(errno));
	absolute(dir, d);
	if (strlen(dir) > PATH_MAX - 256)
		tool_die(EX_USAGE, "%s: too long a path", dir);
	quotable("submission directory", dir);
}

/* dir/task/i/: the plan's bytes, its calls, the first call's number and
 * the plan's audit event prefix, for mvm-slurm-task. */
static void write_task(const char *dir, int i, const struct buf *pb, const struct plan *p,
	const struct slurm_calls *c, size_t ntasks)
{
	char t[PATH_MAX], f[2 * PATH_MAX], num[64];
	size_t first, count;
	struct buf cl = BUF_INIT;
	struct merr e;

	slurm_split(c->n, ntasks, (size_t)i, &first, &count);
	snprintf(t, sizeof t, "%s/task/%d", dir, i);
	if (mkdir_p(t, 0755, &e) != 0)
		tool_fail(t, &e);
	for (size_t k = first; k < first + count; k++) {
		buf_put(&cl, c->line[k], c->len[k]);
		buf_putc(&cl, '\n');
	}
	snprintf(f, sizeof f, "%s/calls.jsonl", t);
	put(f, cl.p ? cl.p : "", cl.len, 0644);
	buf_free(&cl);
	snprintf(f, sizeof f, "%s/plan.dsse.json", t);
	put(f, pb->p, pb->len, 0644);
	snprintf(f, sizeof f, "%s/first", t);
	snprintf(num, sizeof num, "%zu\n", first);
	put(f, num, strlen(num), 0644);
	snprintf(f, sizeof f, "%s/event-prefix", t);
	snprintf(num, sizeof num, "%.40s\n", p->event_prefix);
	put(f, num, strlen(num), 0644);
}

/* dir/name: a script that execs mvm-slurm-task (task) with args, the
 * tools' directory bin in MVM_BIN. */
static void write_script(const char *dir, const char *name, const char *what, const char *bin,
	const char *task, const char *args)
{
	char f[2 * PATH_MAX];
	struct buf sh = BUF_INIT;

	buf_printf(&sh, "#!/bin/sh\n# mvm-submit: %s\nMVM_BIN='%s' exec '%s' %s\n", what, bin, task, args);
	snprintf(f, sizeof f, "%s/%s", dir, name);
	put(f, sh.p, sh.len, 0755);
	buf_free(&sh);
}

/* sbatch the array (resources from the plans) and then the merging job;
 * their ids into id and mid. */
static void submit(const struct opts *o, const char *dir, const struct slurm_job *job,
	const char *workload, char id[32], char mid[32])
{
	char a[16][PATH_MAX + 48], *av[80];
	const char *sb = getenv("MVM_SBATCH") && *getenv("MVM_SBATCH") ? getenv("MVM_SBATCH") : "sbatch";
	int k = 0, n = 0;

#define ARG(...) (snprintf(a[n], sizeof a[n], __VA_ARGS__), av[k++] = a[n++])
	av[k++] = (char *)sb;
	av[k++] = (char *)"--parsable";
	ARG("--array=0-%d", o->nplans - 1);
	ARG("--job-name=mvm-%.64s", workload);
	av[k++] = (char *)"--nodes=1";
	av[k++] = (char *)"--ntasks=1";
	ARG("--cpus-per-task=%ld", job->cpus);
	ARG("--mem=%ld", job->mem_mb);
	ARG("--time=%ld", job->time_min);
	if (job->begin) {
		time_t b = (time_t)job->begin;
		struct tm tm;
		strftime(a[n], sizeof a[n], "--begin=%Y-%m-%dT%H:%M:%S", localtime_r(&b, &tm));
		av[k++] = a[n++];
	}
	ARG("--chdir=%s", dir);
	ARG("--output=%s/task/%%a/slurm.out", dir);
	if (o->part)
		ARG("--partition=%s", o->part);
	for (int i = 0; i < o->nextra; i++)
		av[k++] = o->extra[i];
	ARG("%s/job.sh", dir);
	av[k] = NULL;
	sbatch(av, id);

	k = n = 0;
	av[k++] = (char *)sb;
	av[k++] = (char *)"--parsable";
	av[k++] = (char *)"--job-name=mvm-merge";
	av[k++] = (char *)"--nodes=1";
	av[k++] = (char *)"--ntasks=1";
	av[k++] = (char *)"--mem=16";
	av[k++] = (char *)"--time=5";
	ARG("--dependency=afterany:%s", id);
	ARG("--chdir=%s", dir);
	ARG("--output=%s/merge.out", dir);
	if (o->part)
		ARG("--partition=%s", o->part);
	for (int i = 0; i < o->nextra; i++)    /* an --account, --qos: both jobs */
		av[k++] = o->extra[i];
	if (o->wait)
		av[k++] = (char *)"--wait";
	ARG("%s/merge.sh", dir);
	av[k] = NULL;
	sbatch(av, mid);
#undef ARG
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX], staged[PATH_MAX], bin[PATH_MAX], lx[PATH_MAX], task[2 * PATH_MAX],
		p[2 * PATH_MAX], id[32], mid[32];
	struct buf cb = BUF_INIT, *pb;
	struct slurm_calls calls;
	struct slurm_job job;
	struct plan *plans;
	struct opts o;
	struct merr e;

	tool_init(argv);
	parse_args(argc, argv, &o);

	/* everything read and checked before anything is written */
	read_calls(o.calls, &cb, &calls);
	if (!(plans = calloc((size_t)o.nplans, sizeof *plans)) || !(pb = calloc((size_t)o.nplans, sizeof *pb)))
		tool_die(EX_SYS, "out of memory");
	read_plans(&o, pb, plans, &job);
	dirs(bin, lx);
	snprintf(task, sizeof task, "%s/mvm-slurm-task", lx);
	if (access(task, X_OK) != 0)
		tool_die(EX_SYS, "%s: %s", task, strerror(errno));
	quotable("libexec", task);
	quotable("bin", bin);

	make_dir(&o, &plans[0], dir);
	if (slurm_stage(o.image, o.shared, plans[0].meta, staged, &e) != 0)
		tool_fail(o.image, &e);
	quotable("image", staged);
	for (int i = 0; i < o.nplans; i++)
		write_task(dir, i, &pb[i], &plans[i], &calls, (size_t)o.nplans);
	snprintf(p, sizeof p, "run '%s' '%s' %s %s", dir, staged, o.fmt, o.timeout);
	write_script(dir, "job.sh", "task $SLURM_ARRAY_TASK_ID boots task/N/plan.dsse.json", bin, task, p);
	snprintf(p, sizeof p, "merge '%s' %d", dir, o.nplans);
	write_script(dir, "merge.sh", "results.jsonl from task/*/results.jsonl, in input order", bin, task, p);

	/* the array, then the merge once every task has ended, however */
	submit(&o, dir, &job, plans[0].workload, id, mid);
	snprintf(p, sizeof p, "%s %s\n", id, mid);
	snprintf(staged, sizeof staged, "%s/jobid", dir);
	put(staged, p, strlen(p), 0644);
	printf("%s %s/results.jsonl\n", id, dir);
	for (int i = 0; i < o.nplans; i++) {
		plan_free(&plans[i]);
		buf_free(&pb[i]);
	}
	free(plans), free(pb);
	slurm_calls_free(&calls);
	buf_free(&cb);
	if (close_stdout(&e) != 0)
		tool_fail(NULL, &e);
	return 0;
}
