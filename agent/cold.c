/* cold.c — the cold tier: one runner process per call. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>
#include "agent.h"
#include "json.h"
#include <sys/wait.h>

size_t fn_env(const struct req *r, char **out)
{
	static char cfg[PATH_MAX + 300];
	size_t n = 0;

	for (size_t i = 0; i < rt.nenv; i++)
		out[n++] = rt.env[i];
	if (r->function && strcmp(r->function, rt.function) != 0 && fn_find(&rt, r->function) >= 0) {
		/* (call_check found the name); the primary's is the base
		 * wrapper.json, the same bytes as its fn/<i>.json */
		snprintf(cfg, sizeof cfg, "MVM_WRAPPER_CONFIG=%s/fn/%d.json", opt.etc,
			fn_find(&rt, r->function));
		out[n++] = cfg;
	}
	return n;
}

/* Does the "K=V" pair p set the name of "K=V" pair q? */
static int same_name(const char *p, const char *q)
{
	size_t kn = (size_t)(strchr(q, '=') - q);

	return strncmp(p, q, kn + 1) == 0;
}

char **call_env(const struct req *r)
{
	char **env = calloc(nbase_env + r->nenv + RT_ENV_MAX + 2, sizeof *env);
	size_t n = 0, nf;

	if (!env)
		return NULL;
	/* request pairs first (call_check refused IR names, req_parse the
	 * reserved ones), then the function's, then base names not set yet */
	for (size_t i = 0; i < r->nenv; i++)
		env[n++] = r->env[i];
	nf = fn_env(r, env + n);
	n += nf;
	for (size_t i = 0; i < nbase_env; i++) {
		int dup = 0;

		for (size_t j = 0; j < n; j++)
			if (same_name(env[j], base_env[i]))
				dup = 1;
		if (!dup)
			env[n++] = base_env[i];
	}
	env[n] = NULL;
	return env;
}

int call_check(struct conn *c, const struct req *r)
{
	if (r->function && fn_find(&rt, r->function) < 0) {
		struct buf m = BUF_INIT;

		buf_puts(&m, "no function of that name in this image; its functions:");
		for (size_t i = 0; i < rt.nfn && m.len < 900; i++)
			buf_printf(&m, " %s", rt.fn[i]);
		if (!rt.nfn)
			buf_puts(&m, " none (no runtime.json)");
		send_error(c, ERRK_UNKNOWN_FUNCTION, m.err ? "no function of that name" : m.p);
		buf_free(&m);
		return -1;
	}
	for (size_t i = 0; i < r->nenv; i++)
		for (size_t j = 0; j < rt.nenv; j++)
			if (same_name(r->env[i], rt.env[j])) {
				char m[320];
				int kn = (int)(strchr(rt.env[j], '=') - rt.env[j]);

				snprintf(m, sizeof m, "env sets %.*s, which the image's IR declares",
					kn > 255 ? 255 : kn, rt.env[j]);
				send_error(c, ERRK_BAD_REQUEST, m);
				return -1;
			}
	/* nor a provisioned secret's variable (base_env: secrets, PATH,
	 * MVM_WRAPPER_CONFIG; the last two are reserved names anyway) */
	for (size_t i = 0; i < r->nenv; i++)
		for (size_t j = 0; j < nbase_env; j++)
			if (same_name(r->env[i], base_env[j])) {
				send_error(c, ERRK_BAD_REQUEST, "env sets a variable the launch "
					"provisioned (a secret)");
				return -1;
			}
	return 0;
}

struct spawn base_spawn(void)
{
	struct spawn s = {
		.runner_fd = entry.fd,
		.argv0 = entry.path,
		.set_ids = opt.run_uid >= 0,
		.uid = (uid_t)opt.run_uid,
		.gid = (gid_t)opt.run_gid,
		.seccomp = opt.seccomp,
		.cg_procs = -1,
	};

	return s;
}

void cold_start(struct call *k)
{
	struct spawn s = base_spawn();
	char **env;

	snprintf(k->tmpdir, sizeof k->tmpdir, "%s/mvm-call-XXXXXX", opt.tmp);
	/* (the runner's from the start: calldir.c) */
	if (!calldir_make(k->tmpdir)) {
		k->tmpdir[0] = 0;
		send_error(k->conn, ERRK_INTERNAL, "cannot create the call's directory");
		call_free(k);
		return;
	}
	/* its cgroup (cgroup.c), which the runner joins before it drops ids */
	if (cg_call_begin(k) != 0) {
		calldir_remove(k->tmpdir);
		send_error(k->conn, ERRK_INTERNAL, "cannot create the call's cgroup");
		call_free(k);
		return;
	}
	s.cg_procs = k->cg_procs;
	env = call_env(&k->req);
	s.env = env;
	s.cwd = k->tmpdir;
#ifdef MVM_DEV
	if (k->dev_argv) {      /* an exec request (dev.c) */
		s.runner_fd = dev_exec_open(k->dev_argv[0]);
		s.argv = k->dev_argv;
		s.argv0 = k->dev_argv[0];
	}
	k->pid = env && s.runner_fd >= 0 ? spawn_runner(&s, k->fds) : -1;
	if (k->dev_argv && s.runner_fd >= 0)
		close(s.runner_fd);
#else
	k->pid = env ? spawn_runner(&s, k->fds) : -1;
#endif
	free(env);
	if (k->pid < 0) {
		if (opt.verbose)
			logmsg("cannot start the runner: %s", strerror(errno));
		cg_call_end(k);
		calldir_remove(k->tmpdir);
		send_error(k->conn, ERRK_INTERNAL, "cannot start the runner");
		call_free(k);
		return;
	}
	k->state = CALL_RUNNING;
	k->next = running;
	running = k;
	nrunning++;
	if (k->req.inlen == 0)
		close_fd(&k->fds[0]);
}

static void cold_unlink(struct call *k)
{
	for (struct call **p = &running; *p; p = &(*p)->next)
		if (*p == k) {
			*p = k->next;
			nrunning--;
			return;
		}
}

void cold_breach(struct call *k, const char *what)
{
	if (k->capped || k->timed_out)
		return;
	k->capped = 1;
	k->cap_what = what;
	kill_group(k->pid, SIGKILL);
	close_fd(&k->fds[0]);
	close_fd(&k->fds[1]);
	close_fd(&k->fds[2]);
}

/* Read what a cold runner wrote on fd i (1 stdout, 2 stderr). */
void cold_read(struct call *k, int i)
{
	unsigned char b[RD_CHUNK];

	for (;;) {
		ssize_t n = read(k->fds[i], b, sizeof b);
		size_t *cnt = i == 1 ? &k->out_n : &k->err_n;
		size_t cap = i == 1 ? STDOUT_CAP : STDERR_CAP;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || errno != EAGAIN)
				close_fd(&k->fds[i]);
			return;
		}
		if (*cnt + (size_t)n > cap) {
			cold_breach(k, i == 1 ? "stdout exceeded 16 MiB" : "stderr exceeded 1 MiB");
			return;
		}
		*cnt += (size_t)n;
		if (!k->capped && !k->timed_out)
			send_chunks(k->conn, i == 2, b, (size_t)n);
		if ((size_t)n < sizeof b || (!k->exited && conn_full(k->conn)))
			return;
	}
}

void cold_write(struct call *k)
{
	while (k->fds[0] >= 0 && k->in_off < k->req.inlen) {
		ssize_t n = write(k->fds[0], k->req.in + k->in_off, k->req.inlen - k->in_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				close_fd(&k->fds[0]);  /* EPIPE: it stopped reading */
			return;
		}
		k->in_off += (size_t)n;
	}
	close_fd(&k->fds[0]);
}

/* The runner has been reaped: drain, answer, clean up. */
void cold_finish(struct call *k)
{
	int st = k->status, oom;

	kill_group(k->pid, SIGKILL);   /* whatever it left behind */
	if (k->fds[2] >= 0)
		cold_read(k, 2);
	if (k->fds[1] >= 0)
		cold_read(k, 1);
	close_fd(&k->fds[0]);
	close_fd(&k->fds[1]);
	close_fd(&k->fds[2]);
	cold_unlink(k);
	/* every process of the call (its cgroup), then what it started
	 * outside its group too, before its directory goes */
	oom = cg_call_end(k);
	contain_sweep(0);
	if (k->tmpdir[0] && calldir_remove(k->tmpdir) != 0 && opt.verbose)
		logmsg("cannot remove %s: %s", k->tmpdir, strerror(errno));
	if (k->capped) {
		send_error(k->conn, ERRK_PAYLOAD_CAP, k->cap_what);
	} else if (k->timed_out) {
		send_error(k->conn, ERRK_TIMEOUT, "the call exceeded its timeout");
	} else if (oom) {
		char m[96];

		snprintf(m, sizeof m, "the call exceeded its memory limit (%llu MiB)",
			(unsigned long long)(cg_call_max >> 20));
		send_error(k->conn, ERRK_MEMORY, m);
	} else if (WIFEXITED(st) && WEXITSTATUS(st) <= 5) {
		send_exit(k->conn, WEXITSTATUS(st));
	} else {
		char m[96];

		stats.crashed++;
		if (WIFSIGNALED(st))
			snprintf(m, sizeof m, "the runner died of signal %d", WTERMSIG(st));
		else
			snprintf(m, sizeof m, "the runner exited with status %d", WEXITSTATUS(st));
		send_error(k->conn, ERRK_CRASHED, m);
	}
	call_free(k);
	start_calls();
}

