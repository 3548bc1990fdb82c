/* mvm-submit — run a batch of calls in signed plans' microVMs as a Slurm
 * job array: one task per plan (one plan, one launch), resources from the
 * plans (lib/slurm.h), results merged in input order (mvm-submit(1)) */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "dsse.h"
#include "enc.h"
#include "json.h"
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

/* Run av (argv[0] from PATH) with its standard output into out; its status. */
static int run(char **av, struct buf *out)
{
	int p[2], status;
	struct merr e;
	pid_t pid;

	if (pipe(p) < 0)
		tool_die(EX_SYS, "pipe: %s", strerror(errno));
	fflush(stdout);
	if ((pid = fork()) < 0)
		tool_die(EX_SYS, "unable to fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp(av[0], av);
		fprintf(stderr, "%s: unable to run %s: %s\n", progname, av[0], strerror(errno));
		_exit(EX_SYS);
	}
	close(p[1]);
	if (read_fd(p[0], out, &e) != 0)
		tool_fail(av[0], &e);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			tool_die(EX_SYS, "waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : EX_SYS;
}

/* The calls: each line one [args, kwargs] (an array and an object). */
struct calls {
	const char **line;
	size_t *len, n;
};

static void read_calls(const char *path, struct buf *b, struct calls *c)
{
	struct merr e;
	size_t cap = 0;

	if (read_file(path, b, &e) != 0)
		tool_fail(path, &e);
	c->n = 0;
	for (size_t off = 0, ln = 1; off < b->len; ln++) {
		const char *s = b->p + off, *nl = memchr(s, '\n', b->len - off);
		size_t n = nl ? (size_t)(nl - s) : b->len - off;
		struct jdoc *d = json_parse(s, n, NULL, &e);
		jref r;

		if (!d) {
			const char *colon = strchr(e.where, ':');
			size_t col = colon ? strtoul(colon + 1, NULL, 10) : 0;
			merr_setlc(&e, EX_DATA, ln, col, "%s", e.msg);
			tool_fail(path, &e);
		}
		r = json_root(d);
		if (json_type(d, r) != J_ARR || json_len(d, r) != 2 ||
		    json_type(d, json_first(d, r)) != J_ARR ||
		    json_type(d, json_next(d, json_first(d, r))) != J_OBJ)
			tool_die(EX_DATA, "%s: %zu: not a call: [args, kwargs], an array and an object", path, ln);
		json_free(d);
		if (c->n == cap) {
			cap = cap ? 2 * cap : 64;
			c->line = realloc(c->line, cap * sizeof *c->line);
			c->len = realloc(c->len, cap * sizeof *c->len);
			if (!c->line || !c->len)
				tool_die(EX_SYS, "out of memory");
		}
		c->line[c->n] = s;
		c->len[c->n++] = n;
		off += n + 1;
	}
	if (c->n == 0)
		tool_die(EX_DATA, "%s: no calls", path);
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

/* The image, checked against the plan's image.meta, staged under
 * shared/images/<hex> (hard links, or copies across file systems) unless
 * it is there already; the path the nodes boot into out. */
static void stage(const char *image, const char *shared, const char *meta, char *out)
{
	char p[PATH_MAX], tmp[PATH_MAX], dst[PATH_MAX], hex[65];
	struct buf b = BUF_INIT;
	struct dirent *de;
	struct merr e;
	DIR *d;

	snprintf(p, sizeof p, "%s/mvm-meta.json", image);
	if (read_file(p, &b, &e) != 0)
		tool_fail(p, &e);
	sha256_hex(hex, b.p ? b.p : "", b.len);
	buf_free(&b);
	if (strcmp(meta + 7, hex) != 0)
		tool_die(EX_NO, "%s: not the plans' image (its mvm-meta.json is sha256:%s, the plans' %s)",
			image, hex, meta);
	if (!shared) {
		absolute(out, image);
		return;
	}
	snprintf(dst, sizeof dst, "%s/images/%s", shared, hex);
	if (access(dst, F_OK) == 0) {
		absolute(out, dst);
		return;
	}
	snprintf(tmp, sizeof tmp, "%s/images/.tmp.%ld", shared, (long)getpid());
	if (mkdir_p(tmp, 0755, &e) != 0)
		tool_fail(tmp, &e);
	if (!(d = opendir(image)))
		tool_die(EX_SYS, "%s: %s", image, strerror(errno));
	while ((de = readdir(d))) {
		char from[PATH_MAX + 256], to[PATH_MAX + 256];
		struct stat st;

		snprintf(from, sizeof from, "%s/%s", image, de->d_name);
		snprintf(to, sizeof to, "%s/%s", tmp, de->d_name);
		if (de->d_name[0] == '.' || stat(from, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (link(from, to) == 0)
			continue;
		if (read_file(from, &b, &e) != 0)
			tool_fail(from, &e);
		put(to, b.p ? b.p : "", b.len, st.st_mode & 0755);
		buf_free(&b);
	}
	closedir(d);
	/* another submitter may have staged it meanwhile: theirs is the same */
	if (rename(tmp, dst) != 0) {
		if (errno != EEXIST && errno != ENOTEMPTY)
			tool_die(EX_SYS, "%s: %s", dst, strerror(errno));
		char *rm[] = { (char *)"rm", (char *)"-rf", tmp, NULL };
		struct buf o = BUF_INIT;
		run(rm, &o);
		buf_free(&o);
	}
	fsync_parent(dst);
	absolute(out, dst);
}

/* The libexec directory: $MVM_LIBEXEC, else ../libexec from this program. */
static void libexec_dir(char *out, size_t n)
{
	char exe[PATH_MAX];
	ssize_t len;

	if (getenv("MVM_LIBEXEC") && *getenv("MVM_LIBEXEC")) {
		snprintf(out, n, "%s", getenv("MVM_LIBEXEC"));
		return;
	}
	if ((len = readlink("/proc/self/exe", exe, sizeof exe - 1)) < 0)
		tool_die(EX_SYS, "unable to find my own executable: %s", strerror(errno));
	exe[len] = '\0';
	snprintf(out, n, "%s/../libexec", dirname(exe));
}

/* sbatch with av[1..]: the job id it prints (--parsable: "id[;cluster]"). */
static void sbatch(char **av, char id[32])
{
	struct buf o = BUF_INIT;
	int r = run(av, &o);

	snprintf(id, 32, "%.*s", (int)(o.p ? strcspn(buf_cstr(&o), ";\n") : 0), o.p ? o.p : "");
	buf_free(&o);
	if (r != 0 || !id[0] || strspn(id, "0123456789") != strlen(id))
		tool_die(EX_SYS, "sbatch failed (status %d)", r);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "wait", no_argument, NULL, 'w' }, { 0, 0, 0, 0 } };
	const char *image = NULL, *outdir = NULL, *shared = getenv("MVM_SLURM_SHARED"),
		*part = getenv("MVM_SLURM_PARTITION"), *fmt = "json", *timeout = "30";
	char dir[PATH_MAX], staged[PATH_MAX], lx[PATH_MAX], p[2 * PATH_MAX], id[32], mid[32];
	struct buf cb = BUF_INIT, sh = BUF_INIT;
	struct plan *plans;
	struct calls calls = { 0 };
	struct slurm_job job;
	struct merr e;
	int c, wait = 0, nplans, nextra = 0;
	char **extra = NULL;

	tool_init(argv);
	while ((c = getopt_long(argc, argv, "+i:o:D:p:f:t:wh", lo, NULL)) != -1)
		switch (c) {
		case 'i': image = optarg; break;
		case 'o': outdir = optarg; break;
		case 'D': shared = optarg; break;
		case 'p': part = optarg; break;
		case 'f': fmt = optarg; break;
		case 't': timeout = optarg; break;
		case 'w': wait = 1; break;
		case 'h': usage(0); break;
		default: usage(EX_USAGE);
		}
	argc -= optind, argv += optind;
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			extra = argv + i + 1, nextra = argc - i - 1;
			argc = i;
		}
	nplans = argc - 1;
	if (!image || nplans < 1 || nplans > MAX_TASKS || nextra > 32 ||
	    (strcmp(fmt, "json") && strcmp(fmt, "msgpack")) ||
	    strspn(timeout, "0123456789") != strlen(timeout) || atoi(timeout) < 1 || atoi(timeout) > 3600)
		usage(EX_USAGE);
	if (shared && !*shared)
		shared = NULL;

	/* everything read and checked before anything is written */
	read_calls(argv[0], &cb, &calls);
	if (!(plans = calloc((size_t)nplans, sizeof *plans)))
		tool_die(EX_SYS, "out of memory");
	struct buf *pb = calloc((size_t)nplans, sizeof *pb);
	if (!pb)
		tool_die(EX_SYS, "out of memory");
	for (int i = 0; i < nplans; i++) {
		read_plan(argv[1 + i], &pb[i], &plans[i]);
		if (strcmp(plans[i].meta, plans[0].meta) || plans[i].vcpus != plans[0].vcpus ||
		    plans[i].memory_mb != plans[0].memory_mb)
			tool_die(EX_NO, "%s: another image or other resources than %s", argv[1 + i], argv[1]);
		for (int k = 0; k < i; k++)
			if (!strcmp(plans[k].nonce, plans[i].nonce))
				tool_die(EX_NO, "%s: the same plan as %s: one plan, one launch", argv[1 + i], argv[1 + k]);
	}
	/* the job's window: every plan's (the latest start, the earliest end) */
	struct plan w = plans[0];
	for (int i = 1; i < nplans; i++) {
		if (plans[i].valid_from > w.valid_from)
			w.valid_from = plans[i].valid_from;
		if (plans[i].valid_until < w.valid_until)
			w.valid_until = plans[i].valid_until;
	}
	if (slurm_job_of_plan(&w, time_now(), &job, &e) != 0)
		tool_fail(NULL, &e);
	libexec_dir(lx, sizeof lx);
	snprintf(p, sizeof p, "%s/mvm-slurm-task", lx);
	if (access(p, X_OK) != 0)
		tool_die(EX_SYS, "%s: %s", p, strerror(errno));
	absolute(lx, p);

	/* the submission directory: new, one per submission */
	if (outdir)
		snprintf(dir, sizeof dir, "%s", outdir);
	else
		snprintf(dir, sizeof dir, ".mvm/submit/%.12s", plans[0].plan_id + 7);
	{
		char parent[PATH_MAX];
		snprintf(parent, sizeof parent, "%s", dir);
		if (mkdir_p(dirname(parent), 0755, &e) != 0)
			tool_fail(dir, &e);
	}
	if (mkdir(dir, 0755) < 0)
		tool_die(errno == EEXIST ? EX_NO : EX_SYS, "%s: %s (one directory per submission)", dir,
			strerror(errno));
	absolute(p, dir);
	if (strlen(p) > PATH_MAX - 256)
		tool_die(EX_USAGE, "%s: too long a path", p);
	memcpy(dir, p, strlen(p) + 1);
	quotable("submission directory", dir);
	stage(image, shared, plans[0].meta, staged);
	quotable("image", staged);
	quotable("libexec", lx);

	for (int i = 0; i < nplans; i++) {
		char t[PATH_MAX + 64], num[64];
		size_t first, count;
		struct buf cl = BUF_INIT;

		slurm_split(calls.n, (size_t)nplans, (size_t)i, &first, &count);
		snprintf(t, sizeof t, "%s/task/%d", dir, i);
		if (mkdir_p(t, 0755, &e) != 0)
			tool_fail(t, &e);
		for (size_t k = first; k < first + count; k++) {
			buf_put(&cl, calls.line[k], calls.len[k]);
			buf_putc(&cl, '\n');
		}
		snprintf(p, sizeof p, "%s/calls.jsonl", t);
		put(p, cl.p ? cl.p : "", cl.len, 0644);
		buf_free(&cl);
		snprintf(p, sizeof p, "%s/plan.dsse.json", t);
		put(p, pb[i].p, pb[i].len, 0644);
		snprintf(p, sizeof p, "%s/first", t);
		snprintf(num, sizeof num, "%zu\n", first);
		put(p, num, strlen(num), 0644);
		snprintf(p, sizeof p, "%s/event-prefix", t);
		snprintf(num, sizeof num, "%.40s\n", plans[i].event_prefix);
		put(p, num, strlen(num), 0644);
	}
	buf_printf(&sh, "#!/bin/sh\n# mvm-submit: task $SLURM_ARRAY_TASK_ID boots task/N/plan.dsse.json\n"
		"exec '%s' run '%s' '%s' %s %s\n", lx, dir, staged, fmt, timeout);
	snprintf(p, sizeof p, "%s/job.sh", dir);
	put(p, sh.p, sh.len, 0755);
	sh.len = 0;
	buf_printf(&sh, "#!/bin/sh\n# mvm-submit: results.jsonl from task/*/results.jsonl, in input order\n"
		"exec '%s' merge '%s' %d\n", lx, dir, nplans);
	snprintf(p, sizeof p, "%s/merge.sh", dir);
	put(p, sh.p, sh.len, 0755);
	buf_free(&sh);

	/* the array, then the merge once every task has ended, however */
	char o_array[32], o_cpus[48], o_mem[48], o_time[48], o_begin[64], o_out[PATH_MAX + 32],
		o_dir[PATH_MAX + 8], o_part[128], o_name[96], o_dep[64], o_mout[PATH_MAX + 32],
		script[PATH_MAX + 16], mscript[PATH_MAX + 16];
	const char *sb = getenv("MVM_SBATCH") && *getenv("MVM_SBATCH") ? getenv("MVM_SBATCH") : "sbatch";
	char *av[80];
	int k = 0;

	snprintf(o_array, sizeof o_array, "--array=0-%d", nplans - 1);
	snprintf(o_cpus, sizeof o_cpus, "--cpus-per-task=%ld", job.cpus);
	snprintf(o_mem, sizeof o_mem, "--mem=%ld", job.mem_mb);
	snprintf(o_time, sizeof o_time, "--time=%ld", job.time_min);
	snprintf(o_out, sizeof o_out, "--output=%s/task/%%a/slurm.out", dir);
	snprintf(o_dir, sizeof o_dir, "--chdir=%s", dir);
	snprintf(o_part, sizeof o_part, "--partition=%s", part ? part : "");
	snprintf(o_name, sizeof o_name, "--job-name=mvm-%.64s", plans[0].workload);
	snprintf(script, sizeof script, "%s/job.sh", dir);
	av[k++] = (char *)sb;
	av[k++] = (char *)"--parsable";
	av[k++] = o_array;
	av[k++] = o_name;
	av[k++] = (char *)"--nodes=1";
	av[k++] = (char *)"--ntasks=1";
	av[k++] = o_cpus;
	av[k++] = o_mem;
	av[k++] = o_time;
	if (job.begin) {
		time_t b = (time_t)job.begin;
		struct tm tm;
		strftime(o_begin, sizeof o_begin, "--begin=%Y-%m-%dT%H:%M:%S", localtime_r(&b, &tm));
		av[k++] = o_begin;
	}
	av[k++] = o_dir;
	av[k++] = o_out;
	if (part && *part)
		av[k++] = o_part;
	for (int i = 0; i < nextra; i++)
		av[k++] = extra[i];
	av[k++] = script;
	av[k] = NULL;
	sbatch(av, id);

	k = 0;
	snprintf(o_dep, sizeof o_dep, "--dependency=afterany:%s", id);
	snprintf(o_mout, sizeof o_mout, "--output=%s/merge.out", dir);
	snprintf(mscript, sizeof mscript, "%s/merge.sh", dir);
	av[k++] = (char *)sb;
	av[k++] = (char *)"--parsable";
	av[k++] = (char *)"--job-name=mvm-merge";
	av[k++] = (char *)"--nodes=1";
	av[k++] = (char *)"--ntasks=1";
	av[k++] = (char *)"--mem=16";
	av[k++] = (char *)"--time=5";
	av[k++] = o_dep;
	av[k++] = o_dir;
	av[k++] = o_mout;
	if (part && *part)
		av[k++] = o_part;
	if (wait)
		av[k++] = (char *)"--wait";
	av[k++] = mscript;
	av[k] = NULL;
	sbatch(av, mid);

	snprintf(p, sizeof p, "%s/jobid", dir);
	{
		char line[80];
		snprintf(line, sizeof line, "%s %s\n", id, mid);
		put(p, line, strlen(line), 0644);
	}
	printf("%s %s/results.jsonl\n", id, dir);
	for (int i = 0; i < nplans; i++) {
		plan_free(&plans[i]);
		buf_free(&pb[i]);
	}
	free(plans), free(pb), free(calls.line), free(calls.len);
	buf_free(&cb);
	if (close_stdout(&e) != 0)
		tool_fail(NULL, &e);
	return 0;
}
