/* warm.c — the warm tier: a pool of long-running workers. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent.h"
#include "json.h"
#include <sys/wait.h>

struct worker workers[POOL_MAX];
int warm_failed;

/* Map a wrapper envelope kind to the oneshot exit status of PROTOCOL.md §4. */
static int kind_exit(const char *k, size_t n)
{
	static const struct { const char *k; int code; } t[] = {
		{ "user_exception", 1 }, { "decode_error", 2 }, { "payload_too_large", 2 },
		{ "protocol_error", 2 }, { "config_error", 3 }, { "import_error", 3 },
		{ "encode_error", 4 }, { "result_too_large", 4 }, { "io_error", 5 },
		{ "internal_error", 5 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strlen(t[i].k) == n && memcmp(t[i].k, k, n) == 0)
			return t[i].code;
	return -1;
}

int worker_spawn(struct worker *w)
{
	struct spawn s = base_spawn();
	struct req none = { 0 };
	char **env = call_env(&none);
	int procs = -1;

	s.env = env;
	s.cwd = "/";
	/* its own cgroup (cgroup.c), joined before the drop, as a cold runner */
	if (cg_worker_begin(w, &procs) != 0) {
		logmsg("cannot create a warm worker's cgroup: %s", strerror(errno));
		w->pid = -1;
	} else {
		s.cg_procs = procs;
		w->pid = env ? spawn_runner(&s, w->fds) : -1;
		close_fd(&procs);
		if (w->pid < 0)
			cg_worker_end(w);
	}
	free(env);
	w->rx.len = 0;
	w->tx.len = 0;
	w->tx_off = 0;
	w->calls = 0;
	w->recycle = 0;
	w->call = NULL;
	w->kill_at = 0;
	if (w->pid < 0) {
		w->state = W_EMPTY;
		w->respawn_at = now_ms() + RESPAWN_BACKOFF_MS;
		return -1;
	}
	w->state = W_STARTING;
	w->ready_by = now_ms() + READY_TIMEOUT_MS;
	return 0;
}

/* The call on w ends with an error (the worker is being killed). */
void warm_call_error(struct worker *w, const char *kind, const char *msg)
{
	struct call *k = w->call;

	if (!k)
		return;
	w->call = NULL;
	send_error(k->conn, kind, msg);
	call_free(k);
}

void worker_kill(struct worker *w)
{
	kill_group(w->pid, SIGKILL);
	close_fd(&w->fds[0]);
	close_fd(&w->fds[1]);
	close_fd(&w->fds[2]);
	w->state = W_STOPPING;
}

static unsigned long rss_mb(pid_t pid)
{
	char p[64], b[128];
	unsigned long size, res;
	FILE *f;
	int ok;

	snprintf(p, sizeof p, "/proc/%d/statm", (int)pid);
	if (!(f = fopen(p, "re")))
		return 0;
	ok = fgets(b, sizeof b, f) && sscanf(b, "%lu %lu", &size, &res) == 2;
	fclose(f);
	return ok ? res * (unsigned long)sysconf(_SC_PAGESIZE) / (1024 * 1024) : 0;
}

/* One frame from a worker's stdout. */
static void worker_frame(struct worker *w, const unsigned char *p, size_t n)
{
	struct call *k = w->call;

	if (w->state == W_STARTING) {
		if (n < 1 || p[0] != 2) {
			logmsg("warm worker %d: first frame is not ready", (int)w->pid);
			worker_kill(w);
			return;
		}
		w->state = W_IDLE;
		start_calls();
		return;
	}
	if (w->state != W_BUSY || !k || n < 1 || (p[0] != 0 && p[0] != 1)) {
		worker_kill(w);
		stats.crashed += k != NULL;
		warm_call_error(w, ERRK_CRASHED, "the warm worker broke its protocol");
		return;
	}
	/* user output the worker logged during the call, best effort */
	if (w->fds[2] >= 0) {
		unsigned char b[RD_CHUNK];
		ssize_t r;

		while ((r = read(w->fds[2], b, sizeof b)) > 0) {
			if (w->err_n + (size_t)r <= STDERR_CAP)
				send_chunks(k->conn, 1, b, (size_t)r);
			w->err_n += (size_t)r;
		}
	}
	if (p[0] == 0) {
		send_chunks(k->conn, 0, p + 1, n - 1);
		send_exit(k->conn, 0);
	} else {
		struct jopts o = { .max_depth = 64 };
		struct merr e;
		struct jdoc *d = json_parse((const char *)p + 1, n - 1, &o, &e);
		int code = -1;

		if (d) {
			jref er = json_type(d, json_root(d)) == J_OBJ ? json_get(d, json_root(d), "error") : JREF_NONE;
			jref kd = er != JREF_NONE && json_type(d, er) == J_OBJ ? json_get(d, er, "kind") : JREF_NONE;

			if (kd != JREF_NONE && json_type(d, kd) == J_STR) {
				size_t kn;
				const char *ks = json_str(d, kd, &kn);

				code = kind_exit(ks, kn);
			}
			json_free(d);
		}
		if (code < 0) {
			worker_kill(w);
			stats.crashed++;
			warm_call_error(w, ERRK_CRASHED, "the warm worker sent a malformed envelope");
			return;
		}
		{
			unsigned char *line = malloc(n);

			if (line) {
				memcpy(line, p + 1, n - 1);
				line[n - 1] = '\n';
				send_chunks(k->conn, 1, line, n);
				free(line);
			}
		}
		send_exit(k->conn, code);
	}
	w->call = NULL;
	w->calls++;
	/* the worker stays, what the call started goes: all else in its
	 * cgroup (which none of it can leave: the runner's uid may write no
	 * cgroup.procs), or, without one, its descendants and what was
	 * reparented, found in /proc (2-3 ms a call under TCG) */
	if (cg_worker_strip(w) != 0)
		contain_sweep(w->pid);
	if (w->calls >= rt.max_calls_per_worker || rss_mb(w->pid) > rt.max_rss_mb) {
		/* recycle: EOF on its stdin ends it; it is respawned when reaped */
		w->recycle = 1;
		stats.recycled++;
		close_fd(&w->fds[0]);
		w->state = W_STOPPING;
		w->kill_at = now_ms() + 2000;
	} else {
		w->state = W_IDLE;
	}
	call_free(k);
	start_calls();
}

void worker_read(struct worker *w)
{
	for (;;) {
		ssize_t n;
		uint32_t len;
		size_t need;
		int r;

		if (buf_reserve(&w->rx, RD_CHUNK) < 0) {
			worker_kill(w);
			warm_call_error(w, ERRK_INTERNAL, "out of memory");
			return;
		}
		n = read(w->fds[1], w->rx.p + w->rx.len, RD_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {           /* EOF: it is exiting; reaping decides */
			close_fd(&w->fds[1]);
			return;
		}
		w->rx.len += (size_t)n;
		while ((r = frame_parse(w->rx.p, w->rx.len, FRAME_PAYLOAD_MAX + 1, &len, &need)) ==
		    FRAME_OK) {
			worker_frame(w, (unsigned char *)w->rx.p + FRAME_HDR, len);
			if (w->fds[1] < 0)
				return;
			memmove(w->rx.p, w->rx.p + FRAME_HDR + len, w->rx.len - FRAME_HDR - len);
			w->rx.len -= FRAME_HDR + len;
		}
		if (r == FRAME_BIG) {
			worker_kill(w);
			stats.crashed += w->call != NULL;
			warm_call_error(w, ERRK_CRASHED, "the warm worker sent an oversized frame");
			return;
		}
	}
}

void worker_write(struct worker *w)
{
	while (w->tx_off < w->tx.len) {
		ssize_t n = write(w->fds[0], w->tx.p + w->tx_off, w->tx.len - w->tx_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			struct call *k = w->call;

			/* nothing of the call sent, and no reader: the worker died
			 * idle (or closed its stdin) before the agent saw it; the
			 * call never reached it, so it goes to another, once */
			if (errno == EPIPE && w->tx_off == 0 && k && !k->requeued && !quitting) {
				logmsg("warm worker %d stopped reading while idle: its call goes to "
					"another worker", (int)w->pid);
				worker_kill(w);
				w->call = NULL;
				w->tx.len = 0;
				k->requeued = 1;
				requeue(k);
			} else if (errno != EAGAIN) {
				worker_kill(w);
				stats.crashed += w->call != NULL;
				warm_call_error(w, ERRK_CRASHED, "the warm worker stopped reading");
			}
			return;
		}
		w->tx_off += (size_t)n;
	}
	w->tx.len = w->tx_off = 0;
}

void worker_drain_err(struct worker *w)
{
	unsigned char b[RD_CHUNK];
	ssize_t n;

	while ((n = read(w->fds[2], b, sizeof b)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				close_fd(&w->fds[2]);
			return;
		}
		if (w->call) {
			if (w->err_n + (size_t)n > STDERR_CAP) {
				worker_kill(w);
				warm_call_error(w, ERRK_PAYLOAD_CAP, "stderr exceeded 1 MiB");
				return;
			}
			w->err_n += (size_t)n;
			send_chunks(w->call->conn, 1, b, (size_t)n);
		} else if (opt.verbose) {
			fwrite(b, 1, (size_t)n, stderr);
		}
	}
	close_fd(&w->fds[2]);
}

void warm_start(struct worker *w, struct call *k)
{
	w->state = W_BUSY;
	w->call = k;
	w->err_n = 0;
	k->w = w;
	k->state = CALL_RUNNING;
	frame_put(&w->tx, k->req.in, k->req.inlen);
	w->tx_off = 0;
	if (w->tx.err) {
		worker_kill(w);
		warm_call_error(w, ERRK_INTERNAL, "out of memory");
		return;
	}
	worker_write(w);
}

/* A worker process was reaped. */
void worker_reaped(struct worker *w, int status)
{
	int was_starting = w->state == W_STARTING, oom;
	struct call *k = w->call;

	/* bookkeeping first: the reply below may let a status request in */
	w->call = NULL;
	kill_group(w->pid, SIGKILL);
	close_fd(&w->fds[0]);
	close_fd(&w->fds[1]);
	close_fd(&w->fds[2]);
	if (was_starting) {
		logmsg("warm worker %d exited before it was ready (status %d)", (int)w->pid,
			WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		if (stats.calls == 0 && stats.respawned == 0)
			warm_failed = 1;
	}
	if (!w->recycle)
		stats.respawned++;
	if (k && !k->timed_out)
		stats.crashed++;
	w->pid = 0;
	w->state = W_EMPTY;
	oom = cg_worker_end(w);   /* recycled or not: cgroup.kill, rmdir */
	contain_sweep(0);
	w->respawn_at = was_starting ? now_ms() + RESPAWN_BACKOFF_MS : 0;
	if (!quitting && !warm_failed && !w->respawn_at)
		worker_spawn(w);
	if (k && oom && !k->timed_out) {
		char m[96];

		snprintf(m, sizeof m, "the call exceeded its memory limit (%llu MiB)",
			(unsigned long long)(cg_call_max >> 20));
		w->call = k;
		warm_call_error(w, ERRK_MEMORY, m);
	} else if (k) {
		w->call = k;
		warm_call_error(w, k->timed_out ? ERRK_TIMEOUT : ERRK_CRASHED,
			k->timed_out ? "the call exceeded its timeout" :
			WIFSIGNALED(status) ? "the warm worker died during the call" :
			"the warm worker exited during the call");
	}
}


void pool_init(void)
{
	/* (struct buf's fd must be -1 for memory buffers) */
	for (unsigned i = 0; i < POOL_MAX; i++) {
		workers[i].rx = (struct buf)BUF_INIT;
		workers[i].tx = (struct buf)BUF_INIT;
		workers[i].fds[0] = workers[i].fds[1] = workers[i].fds[2] = -1;
	}
}

void pool_start(void)
{
	for (unsigned i = 0; i < rt.pool_size; i++) {
		if (worker_spawn(&workers[i]) != 0) {
			logmsg("cannot start a warm worker: %s", strerror(errno));
			warm_failed = 1;
		}
	}
}

void pool_stop(void)
{
	/* EOF, then the kill */
	for (unsigned i = 0; i < POOL_MAX; i++)
		if (workers[i].pid > 0) {
			close_fd(&workers[i].fds[0]);
			kill_group(workers[i].pid, SIGKILL);
			while (waitpid(workers[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
}
