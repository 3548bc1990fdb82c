/* runstate.c — run state directories, and IR facts for porcelains (runstate.h) */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "io.h"
#include "ir.h"
#include "runstate.h"
#include "vmm.h"

int run_id_ok(const char *s, size_t n)
{
	return n > 0 && n <= RUN_ID_MAX && s[0] != '.' && !memchr(s, '/', n) && !memchr(s, '\0', n);
}

int run_dir(const char *id, char *out, size_t n, struct merr *e)
{
	if (!run_id_ok(id, strlen(id)))
		return merr_set(e, EX_USAGE, NULL, "%s: not a VM id", id);
	snprintf(out, n, "%s/%s", RUN_ROOT, id);
	return 0;
}

int run_file(const char *dir, const char *name, const void *text, size_t n, struct merr *e)
{
	char p[PATH_MAX], msg[sizeof e->msg];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	if (write_atomic(p, text, n, 0600, e) == 0)
		return 0;
	snprintf(msg, sizeof msg, "%s", e->msg);
	return merr_set(e, EX_SYS, NULL, "%s: %s", p, msg);
}

int run_state_open(struct vmm *vm, const char *statedir, const char *plan_id,
	const void *planjs, size_t planlen, struct merr *e)
{
	char dir[PATH_MAX], abs[PATH_MAX], line[PATH_MAX + 1];
	int r;

	if (statedir)
		snprintf(dir, sizeof dir, "%s", statedir);
	else
		snprintf(dir, sizeof dir, "%s/%.16s", RUN_ROOT, plan_id + strlen("sha256:"));
	if ((r = mkdir_p(dir, 0700, e)) != 0)
		return r;
	if (!realpath(dir, abs))
		return merr_set(e, EX_SYS, NULL, "%s: %s", dir, strerror(errno));
	if ((r = vmm_paths(vm, abs, e)) != 0 ||
	    (r = run_file(vm->state, "plan.json", planjs, planlen, e)) != 0)
		return r;
	snprintf(line, sizeof line, "%s\n", vm->image);
	if ((r = run_file(vm->state, "image", line, strlen(line), e)) != 0)
		return r;
	snprintf(line, sizeof line, "%s\n", vmm_name(vm));
	if ((r = run_file(vm->state, "vmm", line, strlen(line), e)) != 0)
		return r;
	if (vm->kind == VMM_FIRECRACKER) {
		struct buf cfg = BUF_INIT;
		vmm_firecracker_config(vm, &cfg);
		r = run_file(vm->state, "firecracker.json", cfg.p, cfg.len, e);
		buf_free(&cfg);
	}
	return r;
}

pid_t run_pid(const char *dir)
{
	char p[4096], buf[32] = "", *end;
	FILE *f;
	long v;

	snprintf(p, sizeof p, "%s/pid", dir);
	if (!(f = fopen(p, "re")))
		return 0;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || v <= 1 || v > 0x7fffffff)
		return 0;
	return kill((pid_t)v, 0) == 0 || errno == EPERM ? (pid_t)v : 0;
}

int run_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	for (int i = 0; i < RUN_STOP_SECS * 20 && kill(pid, 0) == 0; i++)
		nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	if (kill(pid, 0) != 0)
		return 0;
	kill(pid, SIGKILL);
	return 1;
}

pid_t run_next(DIR *d, char *dir, size_t n, const char **id)
{
	struct dirent *de;
	pid_t pid;

	while ((de = readdir(d)) != NULL) {
		if (!run_id_ok(de->d_name, strlen(de->d_name)))
			continue;
		snprintf(dir, n, "%s/%s", RUN_ROOT, de->d_name);
		if ((pid = run_pid(dir))) {
			*id = de->d_name;
			return pid;
		}
	}
	return 0;
}

/* The function operand among vsock-call's arguments (NULL: none, the
 * primary): the first word that is neither an option nor an option's
 * argument (vsock-call(1)'s -s -f -t -e --input --input-json --json). */
static const char *fn_operand(int argc, char *const *argv)
{
	static const char *const witharg[] = { "-s", "-f", "-t", "-e", "--input", "--input-json",
		"--json", NULL };

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return i + 1 < argc ? argv[i + 1] : NULL;
		if (argv[i][0] != '-')
			return argv[i];
		for (const char *const *w = witharg; *w; w++)
			if (!strcmp(argv[i], *w))
				i++;
	}
	return NULL;
}

int run_call_format(const char *dir, int argc, char *const *argv, char fmt[8], char *ir,
	size_t n, struct merr *e)
{
	struct buf b = BUF_INIT;
	struct jdoc *d = NULL;
	int rc;

	snprintf(ir, n, "%s/%s", dir, RUN_IR);
	if (access(ir, F_OK) != 0)
		snprintf(ir, n, "%s", MVM_IR);
	if (access(ir, F_OK) != 0)
		return 1;
	if ((rc = read_file(ir, &b, e)) == 0 &&
	    (d = json_parse(b.p ? b.p : "", b.len, NULL, e)) == NULL)
		rc = e->code;
	if (rc == 0 && (rc = ir_format(d, fmt, e)) == 0 && fn_operand(argc, argv))
		ir_function_format(d, fn_operand(argc, argv), fmt);   /* issue 15 */
	json_free(d);
	buf_free(&b);
	return rc;
}

int ir_id(const struct jdoc *d, char *out, size_t n, struct merr *e)
{
	jref v = json_get(d, json_root(d), "id");
	const char *s = NULL;
	size_t len = 0;

	if (v != JREF_NONE)
		s = json_str(d, v, &len);
	if (!s || !run_id_ok(s, len) || len >= n)
		return merr_set(e, EX_DATA, "/id", "a workload id usable as a directory name is required");
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* 1 if v is the string s. */
static int str_is(const struct jdoc *d, jref v, const char *s)
{
	return v != JREF_NONE && json_str_eq(d, v, s);
}

int ir_format(const struct jdoc *d, char out[8], struct merr *e)
{
	jref apps = json_get(d, json_root(d), "apps"), app = JREF_NONE, x, f;
	size_t i = 0;
	char where[64];

	if (apps != JREF_NONE && json_type(d, apps) == J_ARR)
		app = json_first(d, apps);
	x = app != JREF_NONE ? ir_primary(d, app) : JREF_NONE;
	if (x == JREF_NONE)
		return merr_set(e, EX_DATA, "/apps/0/entrypoints",
			"no primary function entrypoint (nor a lone one)");
	for (jref y = json_first(d, json_get(d, app, "entrypoints")); y != x; y = json_next(d, y))
		i++;
	snprintf(where, sizeof where, "/apps/0/entrypoints/%zu/format", i);
	f = json_get(d, x, "format");
	if (str_is(d, f, "json") || str_is(d, f, "msgpack")) {
		snprintf(out, 8, "%s", str_is(d, f, "json") ? "json" : "msgpack");
		return 0;
	}
	return merr_set(e, EX_DATA, where, "json or msgpack is required");
}

void ir_function_format(const struct jdoc *d, const char *name, char out[8])
{
	jref app = json_first(d, json_get(d, json_root(d), "apps"));
	jref eps = app != JREF_NONE ? json_get(d, app, "entrypoints") : JREF_NONE;

	for (jref x = eps != JREF_NONE ? json_first(d, eps) : JREF_NONE; x != JREF_NONE;
	     x = json_next(d, x)) {
		jref f = json_get(d, x, "format");

		if (json_str_eq(d, json_get(d, x, "kind"), "function") &&
		    json_str_eq(d, json_get(d, x, "function"), name) &&
		    (json_str_eq(d, f, "json") || json_str_eq(d, f, "msgpack")))
			snprintf(out, 8, "%s", json_str_eq(d, f, "json") ? "json" : "msgpack");
	}
}
