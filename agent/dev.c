/* dev.c — the dev agent's exec request (mvm-agent-protocol(5) "Dev
 * images").  Compiled only into agent/mvm-agent-dev (-DMVM_DEV): the
 * production agent has no exec path at all, and t/agent.bats checks that
 * its symbols are absent there.
 *
 * {"type":"exec","argv":[PATH,ARG...],"stdin":B64,"timeout_ms":N} runs
 * PATH (absolute, under --root) with ARG..., as a cold call does: the
 * runner's uid, seccomp tier, rlimits, process group, call directory, an
 * environment of the image's (fn_env) and the base one.  Replies as to
 * run: chunks, then exit or error. */
#ifndef MVM_DEV
#error "dev.c belongs to the dev agent only (-DMVM_DEV)"
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent.h"
#include "enc.h"
#include "json.h"

#define EXEC_ARGV_MAX 64

static char **pending;          /* the argv submit() hands to the next call */

char **dev_exec_take(void)
{
	char **a = pending;

	pending = NULL;
	return a;
}

void dev_exec_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* Rewrite the exec request body into a run request (stdin, timeout_ms)
 * and the argv; -1 with *why set when it is not a valid exec request. */
static int parse(const char *body, size_t n, struct buf *run, char ***argvp, const char **why)
{
	struct jopts o = { .max_depth = FRAME_DEPTH };
	struct merr e;
	struct jdoc *d = json_parse(body, n, &o, &e);
	jref root, v;
	char **argv = NULL;
	size_t i = 0;
	int rc = -1;

	*why = "exec: malformed request";
	if (!d || json_type(d, (root = json_root(d))) != J_OBJ)
		goto out;
	v = json_get(d, root, "argv");
	if (v == JREF_NONE || json_type(d, v) != J_ARR || json_len(d, v) == 0 ||
	    json_len(d, v) > EXEC_ARGV_MAX) {
		*why = "exec: argv must be an array of 1 to 64 strings";
		goto out;
	}
	if (!(argv = calloc(json_len(d, v) + 1, sizeof *argv)))
		goto out;
	for (jref x = json_first(d, v); x != JREF_NONE; x = json_next(d, x), i++) {
		size_t sn;
		const char *s = json_type(d, x) == J_STR ? json_str(d, x, &sn) : NULL;

		if (!s || memchr(s, 0, sn) || (i == 0 && (sn == 0 || s[0] != '/')) ||
		    !(argv[i] = strndup(s, sn))) {
			*why = "exec: argv must be strings, the first an absolute path";
			goto out;
		}
	}
	buf_puts(run, "{\"type\":\"run\",\"stdin\":");
	v = json_get(d, root, "stdin");
	if (v != JREF_NONE)
		json_canon(d, v, run);
	else
		buf_puts(run, "\"\"");
	if ((v = json_get(d, root, "timeout_ms")) != JREF_NONE) {
		buf_puts(run, ",\"timeout_ms\":");
		json_canon(d, v, run);
	}
	buf_putc(run, '}');
	for (jref k = json_first_key(d, root); k != JREF_NONE; k = json_next_key(d, k))
		if (!json_str_eq(d, k, "type") && !json_str_eq(d, k, "argv") &&
		    !json_str_eq(d, k, "stdin") && !json_str_eq(d, k, "timeout_ms")) {
			*why = "exec: unknown member";
			goto out;
		}
	rc = run->err ? -1 : 0;
out:
	json_free(d);
	if (rc == 0)
		*argvp = argv;
	else
		dev_exec_free(argv);
	return rc;
}

int dev_exec_request(struct conn *c, const char *body, size_t n)
{
	struct jopts o = { .max_depth = FRAME_DEPTH };
	struct buf run = BUF_INIT;
	struct jdoc *d;
	struct merr e;
	struct req q;
	const char *why;
	char **argv = NULL;
	int is_exec;

	/* a quick look: only {"type":"exec",...} is ours */
	if (!(d = json_parse(body, n, &o, &e)))
		return 0;
	is_exec = json_type(d, json_root(d)) == J_OBJ &&
		json_str_eq(d, json_get(d, json_root(d), "type"), "exec");
	json_free(d);
	if (!is_exec)
		return 0;
	if (rt.warm) {
		send_error(c, ERRK_BAD_REQUEST, "exec: only in the cold tier (this image is warm)");
	} else if (parse(body, n, &run, &argv, &why) != 0) {
		send_error(c, ERRK_BAD_REQUEST, why);
	} else if (req_parse(run.p, run.len, &q, &e) != 0) {
		send_error(c, ERRK_BAD_REQUEST, "exec: bad stdin or timeout_ms");
		dev_exec_free(argv);
	} else {
		logmsg("dev: exec %s", argv[0]);
		pending = argv;
		submit(c, &q);
		dev_exec_free(dev_exec_take());   /* refused before a call took it */
	}
	buf_free(&run);
	return 1;
}

int dev_exec_open(const char *path)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof p, "%s%s", opt.root, path);
	return open(p, O_RDONLY | O_CLOEXEC);
}
