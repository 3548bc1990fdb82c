/* mvm-agent — the guest agent: serves mvm-agent-protocol(5) connections and
 * runs the function's runner per call (cold) or in a warm pool.
 * One process, one poll() loop, no threads.  See mvm-agent(8). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/vm_sockets.h>
#include "agent.h"
#include "buf.h"
#include "frame.h"
#include "json.h"

#define AGENT_PORT 5252
#define MAX_CONNS 64
#define STDOUT_CAP FRAME_PAYLOAD_MAX
#define STDERR_CAP (1u << 20)
#define KILL_GRACE_MS 1000
#define READY_TIMEOUT_MS 60000
#define RESPAWN_BACKOFF_MS 1000
#define RD_CHUNK 65536

static const char *progname = "mvm-agent";

/* ---- options and global state ---- */

static struct {
	const char *root;               /* "" = / */
	char etc[PATH_MAX];
	const char *tmp;
	const char *wrapper_config;
	const char *seccomp;
	int insecure_owner;
	int run_uid, run_gid;           /* -1: unchanged */
	unsigned max_calls;             /* cold slots */
	int verbose;
} opt = { "", "", "/tmp", NULL, "standard", 0, -2, -2, 4, 0 };

static struct entry entry;
static struct runtime rt;
static char **base_env;                 /* PATH and MVM_WRAPPER_CONFIG */
static size_t nbase_env;
static volatile int quitting;
static int shutdown_asked;     /* the host asked: exit AGENT_EXIT_SHUTDOWN */
static int exit_when_idle;              /* stdio transports: exit when done */

static struct {
	unsigned long calls, recycled, respawned, crashed;
} stats;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static __attribute__((noreturn, format(printf, 2, 3))) void die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: fatal: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* ---- connections ---- */

enum conn_kind { CONN_FD, CONN_STREAM };

struct call;

struct conn {
	int used;
	enum conn_kind kind;
	int rfd, wfd;                   /* CONN_FD */
	uint32_t stream;                /* CONN_STREAM */
	struct buf in;
	size_t in_off;                  /* consumed bytes of in */
	struct buf out;                 /* CONN_FD: pending output */
	size_t out_off;
	int rd_eof;                     /* peer sends no more */
	int closing;                    /* fatal: close after flushing */
	int guest_closed;               /* CONN_STREAM: our CLOSE sent */
	struct call *call;              /* the run in flight (requests are in order) */
};

static struct conn conns[MAX_CONNS];

/* The multiplexed port. */
static struct {
	int on;
	int rfd, wfd;
	struct buf in;
	struct buf out;
	size_t out_off;
	int hup;
	int is_stdio;
} mux;

static int listen_fd = -1;

/* ---- calls ---- */

enum call_state { CALL_QUEUED, CALL_RUNNING, CALL_DONE };

struct worker;

struct call {
	struct call *next;              /* queue / list */
	struct conn *conn;              /* NULL: orphaned, output discarded */
	struct req req;
	enum call_state state;
	uint64_t deadline;
	int timed_out, capped;
	const char *cap_what;
	uint64_t kill_at;               /* SIGKILL time after SIGTERM */
	/* cold */
	pid_t pid;
	int fds[3];
	size_t in_off, out_n, err_n;
	int exited, status;
	char tmpdir[PATH_MAX];
	/* warm */
	struct worker *w;
};

static struct call *queue_head, *queue_tail;
static unsigned nqueued;
static struct call *running;            /* cold calls in flight (list) */
static unsigned nrunning;

/* ---- warm workers ---- */

enum wstate { W_EMPTY, W_STARTING, W_IDLE, W_BUSY, W_STOPPING };

struct worker {
	enum wstate state;
	pid_t pid;
	int fds[3];
	struct buf rx;                  /* frames from its stdout */
	struct buf tx;                  /* request frame being written */
	size_t tx_off;
	unsigned long calls;
	struct call *call;
	uint64_t ready_by, respawn_at, kill_at;
	int recycle;
	size_t err_n;
};

static struct worker workers[POOL_MAX];
static int warm_failed;                 /* a worker failed to start at boot */

static void conn_send(struct conn *c, const void *p, size_t n);

/* ---- replies ---- */

static void send_buf(struct conn *c, struct buf *b)
{
	if (c && b->len && !b->err)
		conn_send(c, b->p, b->len);
	b->len = 0;
}

static void send_error(struct conn *c, const char *kind, const char *msg)
{
	struct buf b = BUF_INIT;

	rep_put_error(&b, kind, msg);
	send_buf(c, &b);
	buf_free(&b);
}

static void send_chunks(struct conn *c, int is_stderr, const unsigned char *p, size_t n)
{
	struct buf b = BUF_INIT;

	while (c && n) {
		size_t k = n > FRAME_CHUNK ? FRAME_CHUNK : n;

		rep_put_chunk(&b, is_stderr, p, k);
		send_buf(c, &b);
		p += k;
		n -= k;
	}
	buf_free(&b);
}

static void send_exit(struct conn *c, int code)
{
	struct buf b = BUF_INIT;

	rep_put_exit(&b, code);
	send_buf(c, &b);
	buf_free(&b);
}

static void send_status(struct conn *c)
{
	struct buf b = BUF_INIT;
	size_t off = frame_begin(&b);
	unsigned slots = 0, busy = 0, maxq;

	if (rt.warm) {
		for (unsigned i = 0; i < rt.pool_size; i++) {
			if (workers[i].state == W_IDLE || workers[i].state == W_BUSY)
				slots++;
			if (workers[i].state == W_BUSY)
				busy++;
		}
		maxq = (unsigned)rt.max_queue_depth;
	} else {
		slots = opt.max_calls;
		busy = nrunning;
		maxq = 2 * opt.max_calls;
	}
	buf_puts(&b, "{\"type\":\"status\",\"agent\":\"mvm-agent\",\"version\":1,\"entrypoint\":");
	buf_puts(&b, entry.ok && !warm_failed ? "\"ok\"" : "\"invalid\"");
	if (!entry.ok || warm_failed) {
		const char *d = entry.ok ? "a warm worker failed to start" : entry.detail;

		buf_puts(&b, ",\"detail\":");
		json_put_str(&b, d, strlen(d));
	}
	buf_puts(&b, ",\"language\":");
	if (rt.present)
		json_put_str(&b, rt.language, strlen(rt.language));
	else
		buf_puts(&b, "null");
	buf_printf(&b, ",\"tier\":\"%s\",\"seccomp\":", rt.warm ? "warm" : "cold");
	json_put_str(&b, opt.seccomp, strlen(opt.seccomp));
	buf_printf(&b, ",\"pool\":{\"slots\":%u,\"busy\":%u,\"queued\":%u,\"max_queue\":%u,"
		"\"calls\":%lu,\"recycled\":%lu,\"respawned\":%lu,\"crashed\":%lu}}",
		slots, busy, nqueued, maxq, stats.calls, stats.recycled, stats.respawned,
		stats.crashed);
	frame_end(&b, off);
	send_buf(c, &b);
	buf_free(&b);
}

/* ---- the call lifecycle ---- */

static void conn_pump(struct conn *c);
static void start_calls(void);

/* A call has sent its terminal frame (or was orphaned): free it and let
 * its connection go on with the next request. */
static void call_free(struct call *k)
{
	struct conn *c = k->conn;

	stats.calls++;
	req_free(&k->req);
	free(k);
	if (c) {
		c->call = NULL;
		conn_pump(c);
	}
}

static void kill_group(pid_t pid, int sig)
{
	if (pid > 0)
		kill(-pid, sig);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

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

/* ---- cold tier ---- */

static char **call_env(const struct req *r)
{
	char **env = calloc(nbase_env + r->nenv + 1, sizeof *env);
	size_t n = 0;

	if (!env)
		return NULL;
	/* request pairs first; a base name given by the request is replaced
	 * except MVM_* (already dropped by req_parse) — PATH may be set */
	for (size_t i = 0; i < r->nenv; i++)
		env[n++] = r->env[i];
	for (size_t i = 0; i < nbase_env; i++) {
		const char *eq = strchr(base_env[i], '=');
		size_t kn = (size_t)(eq - base_env[i]);
		int dup = 0;

		for (size_t j = 0; j < r->nenv; j++)
			if (strncmp(r->env[j], base_env[i], kn + 1) == 0)
				dup = 1;
		if (!dup)
			env[n++] = base_env[i];
	}
	env[n] = NULL;
	return env;
}

static struct spawn base_spawn(void)
{
	struct spawn s = {
		.runner_fd = entry.fd,
		.argv0 = entry.path,
		.set_ids = opt.run_uid >= 0,
		.uid = (uid_t)opt.run_uid,
		.gid = (gid_t)opt.run_gid,
		.seccomp = opt.seccomp,
	};

	return s;
}

static void cold_start(struct call *k)
{
	struct spawn s = base_spawn();
	char **env;

	snprintf(k->tmpdir, sizeof k->tmpdir, "%s/mvm-call-XXXXXX", opt.tmp);
	if (!mkdtemp(k->tmpdir)) {
		k->tmpdir[0] = 0;
		send_error(k->conn, ERRK_INTERNAL, "cannot create the call's directory");
		call_free(k);
		return;
	}
	if (s.set_ids && chown(k->tmpdir, s.uid, s.gid) != 0) {
		rmtree(k->tmpdir);
		send_error(k->conn, ERRK_INTERNAL, "cannot hand the call's directory over");
		call_free(k);
		return;
	}
	env = call_env(&k->req);
	s.env = env;
	s.cwd = k->tmpdir;
	k->pid = env ? spawn_runner(&s, k->fds) : -1;
	free(env);
	if (k->pid < 0) {
		if (opt.verbose)
			logmsg("cannot start the runner: %s", strerror(errno));
		rmtree(k->tmpdir);
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

static void cold_breach(struct call *k, const char *what)
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
static void cold_read(struct call *k, int i)
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
		if ((size_t)n < sizeof b)
			return;
	}
}

static void cold_write(struct call *k)
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
static void cold_finish(struct call *k)
{
	int st = k->status;

	kill_group(k->pid, SIGKILL);   /* whatever it left behind */
	if (k->fds[1] >= 0)
		cold_read(k, 1);
	if (k->fds[2] >= 0)
		cold_read(k, 2);
	close_fd(&k->fds[0]);
	close_fd(&k->fds[1]);
	close_fd(&k->fds[2]);
	cold_unlink(k);
	if (k->tmpdir[0] && rmtree(k->tmpdir) != 0 && opt.verbose)
		logmsg("cannot remove %s: %s", k->tmpdir, strerror(errno));
	if (k->capped) {
		send_error(k->conn, ERRK_PAYLOAD_CAP, k->cap_what);
	} else if (k->timed_out) {
		send_error(k->conn, ERRK_TIMEOUT, "the call exceeded its timeout");
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

/* ---- warm tier ---- */

static int worker_spawn(struct worker *w)
{
	struct spawn s = base_spawn();
	struct req none = { 0 };
	char **env = call_env(&none);

	s.env = env;
	s.cwd = "/";
	w->pid = env ? spawn_runner(&s, w->fds) : -1;
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
static void warm_call_error(struct worker *w, const char *kind, const char *msg)
{
	struct call *k = w->call;

	if (!k)
		return;
	w->call = NULL;
	send_error(k->conn, kind, msg);
	call_free(k);
}

static void worker_kill(struct worker *w)
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

static void worker_read(struct worker *w)
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

static void worker_write(struct worker *w)
{
	while (w->tx_off < w->tx.len) {
		ssize_t n = write(w->fds[0], w->tx.p + w->tx_off, w->tx.len - w->tx_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN) {
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

static void worker_drain_err(struct worker *w)
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

static void warm_start(struct worker *w, struct call *k)
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
static void worker_reaped(struct worker *w, int status)
{
	int was_starting = w->state == W_STARTING;
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
	w->respawn_at = was_starting ? now_ms() + RESPAWN_BACKOFF_MS : 0;
	if (!quitting && !warm_failed && !w->respawn_at)
		worker_spawn(w);
	if (k) {
		w->call = k;
		warm_call_error(w, k->timed_out ? ERRK_TIMEOUT : ERRK_CRASHED,
			k->timed_out ? "the call exceeded its timeout" :
			WIFSIGNALED(status) ? "the warm worker died during the call" :
			"the warm worker exited during the call");
	}
}

/* ---- scheduling ---- */

static unsigned max_queue(void)
{
	return rt.warm ? (unsigned)rt.max_queue_depth : 2 * opt.max_calls;
}

static void start_calls(void)
{
	while (queue_head) {
		struct call *k = queue_head;

		if (rt.warm) {
			struct worker *w = NULL;

			for (unsigned i = 0; i < rt.pool_size; i++)
				if (workers[i].state == W_IDLE) {
					w = &workers[i];
					break;
				}
			if (!w)
				return;
			queue_head = k->next;
			if (!queue_head)
				queue_tail = NULL;
			nqueued--;
			k->next = NULL;
			warm_start(w, k);
		} else {
			if (nrunning >= opt.max_calls)
				return;
			queue_head = k->next;
			if (!queue_head)
				queue_tail = NULL;
			nqueued--;
			k->next = NULL;
			cold_start(k);
		}
	}
}

static void dequeue(struct call *k)
{
	struct call *prev = NULL;

	for (struct call *q = queue_head; q; prev = q, q = q->next)
		if (q == k) {
			if (prev)
				prev->next = q->next;
			else
				queue_head = q->next;
			if (queue_tail == q)
				queue_tail = prev;
			nqueued--;
			return;
		}
}

static void submit(struct conn *c, struct req *r)
{
	struct call *k;
	int idle = 0;

	if (!entry.ok || warm_failed) {
		send_error(c, ERRK_INVALID, entry.ok ? "a warm worker failed to start" : entry.detail);
		req_free(r);
		return;
	}
	if (rt.warm) {
		for (unsigned i = 0; i < rt.pool_size; i++)
			idle += workers[i].state == W_IDLE;
	} else {
		idle = nrunning < opt.max_calls;
	}
	if (!idle && nqueued >= max_queue()) {
		send_error(c, ERRK_BUSY, "every slot is busy and the queue is full");
		req_free(r);
		return;
	}
	k = calloc(1, sizeof *k);
	if (!k) {
		send_error(c, ERRK_INTERNAL, "out of memory");
		req_free(r);
		return;
	}
	k->conn = c;
	k->req = *r;
	k->fds[0] = k->fds[1] = k->fds[2] = -1;
	k->deadline = now_ms() + k->req.timeout_ms;
	k->state = CALL_QUEUED;
	c->call = k;
	if (queue_tail)
		queue_tail->next = k;
	else
		queue_head = k;
	queue_tail = k;
	nqueued++;
	start_calls();
}

/* The connection is going away: its calls are abandoned. */
static void conn_orphan_call(struct conn *c)
{
	struct call *k = c->call;

	if (!k)
		return;
	c->call = NULL;
	k->conn = NULL;
	if (k->state == CALL_QUEUED) {
		dequeue(k);
		req_free(&k->req);
		free(k);
	} else if (!k->w) {
		cold_breach(k, "orphaned");    /* kill it; reaping frees it */
	}
	/* warm: the worker finishes the call, output discarded */
}

/* ---- connection I/O ---- */

static void conn_release(struct conn *c)
{
	conn_orphan_call(c);
	if (c->kind == CONN_FD) {
		if (c->rfd >= 0)
			close(c->rfd);
		if (c->wfd >= 0 && c->wfd != c->rfd)
			close(c->wfd);
	}
	buf_free(&c->in);
	buf_free(&c->out);
	memset(c, 0, sizeof *c);
	c->rfd = c->wfd = -1;
}

static void conn_send(struct conn *c, const void *p, size_t n)
{
	const unsigned char *s = p;

	if (!c || c->guest_closed)
		return;
	if (c->kind == CONN_FD) {
		if (c->wfd >= 0)
			buf_put(&c->out, p, n);
		return;
	}
	while (n) {
		size_t k = n > MUX_DATA_MAX ? MUX_DATA_MAX : n;

		mux_put(&mux.out, c->stream, MUX_DATA, s, k);
		s += k;
		n -= k;
	}
}

static struct conn *conn_new(enum conn_kind kind)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (!conns[i].used) {
			struct conn *c = &conns[i];

			memset(c, 0, sizeof *c);
			c->in = (struct buf)BUF_INIT;
			c->out = (struct buf)BUF_INIT;
			c->used = 1;
			c->kind = kind;
			c->rfd = c->wfd = -1;
			return c;
		}
	return NULL;
}

/* SIGTERM or a shutdown request: drop every connection (their calls are
 * killed), stop the workers; the loop then ends. */
static void begin_quit(void)
{
	if (quitting)
		return;
	quitting = 1;
	for (int j = 0; j < MAX_CONNS; j++)
		if (conns[j].used)
			conn_release(&conns[j]);
	for (unsigned j = 0; j < POOL_MAX; j++)
		if (workers[j].pid > 0)
			kill_group(workers[j].pid, SIGKILL);
}

/* Serve the complete requests buffered on c, in order, while no call is
 * in flight on it; close it when it is done. */
static void conn_pump(struct conn *c)
{
	while (c->used && !c->call && !c->closing && !c->guest_closed) {
		const char *p = c->in.p + c->in_off;
		size_t avail = c->in.len - c->in_off, need;
		uint32_t len;
		int r = frame_parse(p, avail, FRAME_MAX, &len, &need);
		struct merr e;
		struct req q;

		if (r == FRAME_BIG) {
			send_error(c, ERRK_PAYLOAD_CAP, "frame longer than FRAME_MAX");
			c->closing = 1;
			break;
		}
		if (r == FRAME_NEED)
			break;
		c->in_off += FRAME_HDR + len;
		switch (req_parse(p + FRAME_HDR, len, &q, &e)) {
		case 0:
			break;
		case EX_NO:
			send_error(c, ERRK_PAYLOAD_CAP, "stdin is larger than 16 MiB");
			continue;
		case EX_DATA:
			/* fixed texts only: the reader names a duplicate key, which
			 * came from the host; do not echo it */
			send_error(c, ERRK_BAD_REQUEST,
				strncmp(e.msg, "duplicate member name", 21) == 0 ?
				"duplicate member name" : e.msg);
			continue;
		default:
			send_error(c, ERRK_INTERNAL, "out of memory");
			continue;
		}
		if (q.type == REQ_PING) {
			struct buf b = BUF_INIT;

			rep_put_pong(&b);
			send_buf(c, &b);
			buf_free(&b);
		} else if (q.type == REQ_STATUS) {
			send_status(c);
		} else if (q.type == REQ_SHUTDOWN) {
			/* no reply: the host sees the VMM exit */
			logmsg("shutdown asked by the host");
			shutdown_asked = 1;
			begin_quit();
			return;
		} else {
			submit(c, &q);
		}
	}
	if (!c->used)
		return;
	/* compact consumed input */
	if (c->in_off) {
		memmove(c->in.p, c->in.p + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in_off = 0;
	}
	if (!c->call && (c->closing || c->rd_eof)) {
		if (c->kind == CONN_STREAM) {
			if (!c->guest_closed) {
				mux_put(&mux.out, c->stream, MUX_CLOSE, NULL, 0);
				c->guest_closed = 1;
			}
			if (c->rd_eof)
				conn_release(c);
			else
				c->in.len = 0;
		} else if (c->out.len == c->out_off) {
			conn_release(c);
		} else {
			c->closing = 1;    /* close once flushed */
		}
	}
}

static void conn_read(struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (buf_reserve(&c->in, RD_CHUNK) < 0) {
			conn_release(c);
			return;
		}
		n = read(c->rfd, c->in.p + c->in.len, RD_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			c->rd_eof = 1;
			break;
		}
		c->in.len += (size_t)n;
		/* back-pressure: stop at one whole frame while a call runs */
		if (c->call || (size_t)n < RD_CHUNK)
			break;
	}
	conn_pump(c);
}

static void conn_write(struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = write(c->wfd, c->out.p + c->out_off, c->out.len - c->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			conn_release(c);   /* the peer is gone */
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out.len = c->out_off = 0;
	if (c->closing && !c->call)
		conn_release(c);
}

/* ---- the mux ---- */

static void mux_hello(void)
{
	static const char h[] = "{\"agent\":\"mvm-agent\",\"version\":1}";

	mux_put(&mux.out, 0, MUX_HELLO, h, sizeof h - 1);
}

static struct conn *stream_find(uint32_t id)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].used && conns[i].kind == CONN_STREAM && conns[i].stream == id)
			return &conns[i];
	return NULL;
}

static void mux_reset(const char *why)
{
	static unsigned long resets;

	if (++resets <= 10 || resets % 1000 == 0)
		logmsg("mux protocol error: %s; closing every stream (%lu)", why, resets);
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].used && conns[i].kind == CONN_STREAM) {
			if (!conns[i].guest_closed)
				mux_put(&mux.out, conns[i].stream, MUX_CLOSE, NULL, 0);
			conn_release(&conns[i]);
		}
	mux.in.len = 0;
	mux_hello();
}

static void mux_record(const struct mux_rec *r)
{
	struct conn *c = r->stream ? stream_find(r->stream) : NULL;

	if (r->stream == 0 || r->kind == MUX_HELLO) {
		mux_reset("record on stream 0 or HELLO from the host");
		return;
	}
	switch (r->kind) {
	case MUX_OPEN:
		if (c) {
			if (!c->guest_closed) {
				mux_put(&mux.out, r->stream, MUX_CLOSE, NULL, 0);
				c->guest_closed = 1;
				conn_orphan_call(c);
			}
			return;
		}
		c = conn_new(CONN_STREAM);
		if (!c) {
			mux_put(&mux.out, r->stream, MUX_CLOSE, NULL, 0);
			return;   /* the host's CLOSE will find no stream: ignored */
		}
		c->stream = r->stream;
		break;
	case MUX_DATA:
		if (!c || c->guest_closed || c->rd_eof)
			return;
		buf_put(&c->in, r->data, r->len);
		if (c->in.err) {
			conn_release(c);
			return;
		}
		/* a stream may hold one whole frame beyond the one being served */
		if (c->call && c->in.len > FRAME_HDR + FRAME_MAX + FRAME_HDR + FRAME_MAX) {
			send_error(c, ERRK_PAYLOAD_CAP, "too much input buffered on the stream");
			c->closing = 1;
			conn_orphan_call(c);
		}
		conn_pump(c);
		break;
	case MUX_CLOSE:
		if (!c)
			return;
		c->rd_eof = 1;
		if (c->guest_closed)
			conn_release(c);
		else
			conn_pump(c);
		break;
	}
}

static void mux_read(void)
{
	for (;;) {
		ssize_t n;
		size_t off = 0, need;
		struct mux_rec r;
		struct merr e;
		int rc;

		if (buf_reserve(&mux.in, RD_CHUNK) < 0)
			die(4, "out of memory");
		n = read(mux.rfd, mux.in.p + mux.in.len, RD_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (mux.is_stdio) {
				/* the host is gone: end every stream */
				for (int i = 0; i < MAX_CONNS; i++)
					if (conns[i].used && conns[i].kind == CONN_STREAM) {
						conns[i].rd_eof = 1;
						conn_pump(&conns[i]);
					}
				mux.hup = 1;
			} else if (!mux.hup) {
				/* host not connected: its streams are gone; retry later */
				mux.hup = 1;
				for (int i = 0; i < MAX_CONNS; i++)
					if (conns[i].used && conns[i].kind == CONN_STREAM)
						conn_release(&conns[i]);
				mux.in.len = 0;
				mux.out.len = mux.out_off = 0;
			}
			return;
		}
		if (mux.hup && !mux.is_stdio) {
			mux.hup = 0;
			mux.out.len = mux.out_off = 0;
			mux_hello();
		}
		mux.in.len += (size_t)n;
		while ((rc = mux_parse(mux.in.p + off, mux.in.len - off, &r, &need, &e)) == MUX_OK) {
			off += r.size;
			mux_record(&r);
			if (mux.in.len == 0)        /* reset */
				return;
		}
		if (rc == MUX_BAD) {
			mux_reset(e.msg);   /* back to the loop: write HELLO, see signals */
			return;
		}
		memmove(mux.in.p, mux.in.p + off, mux.in.len - off);
		mux.in.len -= off;
		if ((size_t)n < RD_CHUNK)
			return;
	}
}

static void mux_write(void)
{
	while (mux.out_off < mux.out.len) {
		ssize_t n = write(mux.wfd, mux.out.p + mux.out_off, mux.out.len - mux.out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			if (mux.is_stdio)
				die(4, "cannot write to the host: %s", strerror(errno));
			mux.out.len = mux.out_off = 0;  /* host gone: drop */
			mux.hup = 1;
			return;
		}
		mux.out_off += (size_t)n;
	}
	mux.out.len = mux.out_off = 0;
}

/* ---- children ---- */

static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct call *k;

		for (k = running; k; k = k->next)
			if (k->pid == pid)
				break;
		if (k) {
			k->exited = 1;
			k->status = status;
			cold_finish(k);
			continue;
		}
		for (unsigned i = 0; i < POOL_MAX; i++)
			if (workers[i].pid == pid && workers[i].state != W_EMPTY) {
				worker_reaped(&workers[i], status);
				break;
			}
	}
}

/* Deadlines: timeouts, kill escalation, worker readiness and respawn. */
static uint64_t timers(void)
{
	uint64_t t = now_ms(), next = UINT64_MAX;
	struct call *k, *kn;

	for (k = running; k; k = kn) {
		kn = k->next;
		if (!k->timed_out && !k->capped && t >= k->deadline) {
			k->timed_out = 1;
			kill_group(k->pid, SIGTERM);
			k->kill_at = t + KILL_GRACE_MS;
		}
		if (k->kill_at && t >= k->kill_at) {
			kill_group(k->pid, SIGKILL);
			k->kill_at = 0;
		}
		if (!k->timed_out && !k->capped && k->deadline < next)
			next = k->deadline;
		if (k->kill_at && k->kill_at < next)
			next = k->kill_at;
	}
	/* queued calls past their deadline (rescan after each: answering
	 * one may start or queue others) */
	for (;;) {
		struct conn *c;

		for (k = queue_head; k && t < k->deadline; k = k->next)
			;
		if (!k)
			break;
		c = k->conn;
		dequeue(k);
		c->call = NULL;
		send_error(c, ERRK_TIMEOUT, "the call exceeded its timeout while queued");
		req_free(&k->req);
		free(k);
		stats.calls++;
		conn_pump(c);
	}
	for (k = queue_head; k; k = k->next)
		if (k->deadline < next)
			next = k->deadline;
	for (unsigned i = 0; rt.warm && i < rt.pool_size; i++) {
		struct worker *w = &workers[i];

		if (w->state == W_BUSY && w->call && !w->call->timed_out) {
			if (t >= w->call->deadline) {
				w->call->timed_out = 1;
				kill_group(w->pid, SIGTERM);
				w->kill_at = t + KILL_GRACE_MS;
			} else if (w->call->deadline < next) {
				next = w->call->deadline;
			}
		}
		if (w->state == W_STARTING && t >= w->ready_by) {
			logmsg("warm worker %d did not get ready in time", (int)w->pid);
			worker_kill(w);
		}
		if (w->kill_at && t >= w->kill_at) {
			kill_group(w->pid, SIGKILL);
			w->kill_at = 0;
		}
		if (w->state == W_EMPTY && !quitting && !warm_failed && t >= w->respawn_at)
			worker_spawn(w);
		if (w->state == W_STARTING && w->ready_by < next)
			next = w->ready_by;
		if (w->kill_at && w->kill_at < next)
			next = w->kill_at;
		if (w->state == W_EMPTY && w->respawn_at > t && w->respawn_at < next)
			next = w->respawn_at;
	}
	return next;
}

/* ---- setup ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: %s (--stdio | --serial-stdio | --vsock | --serial PATH|auto) [--port N]\n"
		"       [--root DIR] [--etc DIR] [--tmp DIR] [--run-uid UID[:GID]] [--user UID[:GID]]\n"
		"       [--seccomp standard|unrestricted] [--max-calls N] [--wrapper-config PATH]\n"
		"       [--insecure-owner] [--check] [-v]\n", progname);
	exit(2);
}

static int parse_ids(const char *s, int *uid, int *gid)
{
	char *end;
	long u = strtol(s, &end, 10), g = u;

	if (end == s || u < 0 || u > 65534)
		return -1;
	if (*end == ':') {
		const char *gs = end + 1;

		g = strtol(gs, &end, 10);
		if (end == gs || g < 0 || g > 65534)
			return -1;
	}
	if (*end)
		return -1;
	*uid = (int)u;
	*gid = (int)g;
	return 0;
}

static unsigned long num_arg(const char *o, const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		die(2, "%s: a number is required", o);
	v = strtoul(s, &end, 10);
	if (*end || v < lo || v > hi)
		die(2, "%s: %s is not a number from %lu to %lu", o, s, lo, hi);
	return v;
}

/* Find the virtio-serial port named org.mvm.agent; make its node if the
 * kernel's devtmpfs has none.  Writes the path to out. */
static int find_serial(char *out, size_t n)
{
	const char *base = "/sys/class/virtio-ports";
	DIR *d = opendir(base);
	struct dirent *de;
	int found = -1;

	if (!d)
		return -1;
	while (found < 0 && (de = readdir(d))) {
		char p[PATH_MAX], name[128] = "", dev[32] = "";
		FILE *f;
		unsigned maj, min;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s/name", base, de->d_name);
		if (!(f = fopen(p, "re")))
			continue;
		if (!fgets(name, sizeof name, f))
			name[0] = 0;
		fclose(f);
		name[strcspn(name, "\n")] = 0;
		if (strcmp(name, "org.mvm.agent") != 0)
			continue;
		snprintf(out, n, "/dev/%s", de->d_name);
		found = 0;
		if (access(out, F_OK) == 0)
			break;
		snprintf(p, sizeof p, "%s/%s/dev", base, de->d_name);
		if (!(f = fopen(p, "re")))
			break;
		if (fgets(dev, sizeof dev, f) && sscanf(dev, "%u:%u", &maj, &min) == 2 &&
		    mknod(out, S_IFCHR | 0600, makedev(maj, min)) != 0 && errno != EEXIST)
			logmsg("cannot make %s: %s", out, strerror(errno));
		fclose(f);
	}
	closedir(d);
	return found;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die(4, "unable to make fd %d non-blocking: %s", fd, strerror(errno));
}

static void base_env_init(void)
{
	static char path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
	static char cfg[PATH_MAX + 32];

	base_env = calloc(3, sizeof *base_env);
	if (!base_env)
		die(4, "out of memory");
	base_env[nbase_env++] = path;
	if (opt.wrapper_config) {
		snprintf(cfg, sizeof cfg, "MVM_WRAPPER_CONFIG=%s", opt.wrapper_config);
		base_env[nbase_env++] = cfg;
	}
}

/* Become uid:gid keeping the capabilities the agent still needs. */
static void drop_to(int uid, int gid)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };
	unsigned keep = 1u << CAP_SETUID | 1u << CAP_SETGID | 1u << CAP_KILL |
		1u << CAP_DAC_OVERRIDE | 1u << CAP_FOWNER | 1u << CAP_CHOWN;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(0, NULL) != 0 ||
	    setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0 ||
	    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0)
		die(4, "unable to become %d:%d: %s", uid, gid, strerror(errno));
	d[0].effective = d[0].permitted = keep;
	if (syscall(SYS_capset, &h, d) != 0)
		die(4, "unable to keep capabilities: %s", strerror(errno));
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
	enum { T_NONE, T_STDIO, T_SERIAL_STDIO, T_VSOCK, T_SERIAL } transport = T_NONE;
	const char *serial = NULL;
	char rtpath[PATH_MAX + 16], msg[512], spath[PATH_MAX];
	unsigned long port = AGENT_PORT;
	int check = 0, user_uid = -1, user_gid = -1, sfd;
	sigset_t mask;

	/* signals first: a SIGTERM during the boot checks is handled too.
	 * SIGCHLD must not be inherited as ignored (children would be reaped
	 * behind our back and never reported). */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
	    (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		die(4, "unable to set up signals: %s", strerror(errno));

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

#define ARG() do { if (!v) usage(); i++; } while (0)
		if (!strcmp(a, "--stdio"))
			transport = T_STDIO;
		else if (!strcmp(a, "--serial-stdio"))
			transport = T_SERIAL_STDIO;
		else if (!strcmp(a, "--vsock"))
			transport = T_VSOCK;
		else if (!strcmp(a, "--serial")) {
			ARG();
			transport = T_SERIAL;
			serial = v;
		} else if (!strcmp(a, "--port")) {
			ARG();
			port = num_arg(a, v, 1, 0xffffffffUL - 1);
		} else if (!strcmp(a, "--root")) {
			ARG();
			opt.root = v;
		} else if (!strcmp(a, "--etc")) {
			ARG();
			snprintf(opt.etc, sizeof opt.etc, "%s", v);
		} else if (!strcmp(a, "--tmp")) {
			ARG();
			opt.tmp = v;
		} else if (!strcmp(a, "--run-uid")) {
			ARG();
			if (parse_ids(v, &opt.run_uid, &opt.run_gid) != 0)
				die(2, "--run-uid: %s is not UID[:GID]", v);
		} else if (!strcmp(a, "--user")) {
			ARG();
			if (parse_ids(v, &user_uid, &user_gid) != 0)
				die(2, "--user: %s is not UID[:GID]", v);
		} else if (!strcmp(a, "--seccomp")) {
			ARG();
			opt.seccomp = v;
		} else if (!strcmp(a, "--max-calls")) {
			ARG();
			opt.max_calls = (unsigned)num_arg(a, v, 1, 64);
		} else if (!strcmp(a, "--wrapper-config")) {
			ARG();
			opt.wrapper_config = v;
		} else if (!strcmp(a, "--insecure-owner"))
			opt.insecure_owner = 1;
		else if (!strcmp(a, "--check"))
			check = 1;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			opt.verbose = 1;
		else
			usage();
	}
	if (transport == T_NONE && !check)
		usage();
	if (!opt.etc[0])
		snprintf(opt.etc, sizeof opt.etc, "%s/etc/mvm", opt.root);
	if (opt.run_uid == -2) {
		/* default: the runner as uid 1000 when the agent is root */
		if (geteuid() == 0)
			opt.run_uid = opt.run_gid = 1000;
		else
			opt.run_uid = opt.run_gid = -1;
	} else if (geteuid() != 0) {
		die(2, "--run-uid needs the agent to start as root");
	}
	if (user_uid >= 0 && geteuid() != 0)
		die(2, "--user needs the agent to start as root");

	/* boot checks */
	snprintf(rtpath, sizeof rtpath, "%s/runtime.json", opt.etc);
	if (runtime_load(rtpath, &rt, msg, sizeof msg) != 0)
		die(1, "%s: %s", rtpath, msg);
	entry_check(opt.root, opt.etc, opt.insecure_owner, &entry);
	if (!entry.ok)
		logmsg("entrypoint invalid: %s (every run will be refused)", entry.detail);
	if (seccomp_prepare(opt.seccomp, msg, sizeof msg) != 0)
		die(2, "%s", msg);
	if (check) {
		printf("entrypoint %s%s%s\ntier %s\n", entry.ok ? "ok" : "invalid",
			entry.ok ? "" : ": ", entry.ok ? "" : entry.detail, rt.warm ? "warm" : "cold");
		return entry.ok ? 0 : 1;
	}
	base_env_init();
	{
		struct rlimit rl = { 0, 0 };

		setrlimit(RLIMIT_CORE, &rl);
	}
#ifndef __SANITIZE_ADDRESS__
	/* (LeakSanitizer must ptrace us at exit: sanitizer builds stay dumpable) */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	/* orphans of runners become ours, so that we reap them: no zombies */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	/* buffers (struct buf's fd must be -1 for memory buffers) */
	mux.in = (struct buf)BUF_INIT;
	mux.out = (struct buf)BUF_INIT;
	for (unsigned i = 0; i < POOL_MAX; i++) {
		workers[i].rx = (struct buf)BUF_INIT;
		workers[i].tx = (struct buf)BUF_INIT;
		workers[i].fds[0] = workers[i].fds[1] = workers[i].fds[2] = -1;
	}

	/* transport */
	switch (transport) {
	case T_STDIO: {
		struct conn *c = conn_new(CONN_FD);

		c->rfd = 0;
		c->wfd = 1;
		set_nonblock(0);
		set_nonblock(1);
		exit_when_idle = 1;
		break;
	}
	case T_SERIAL_STDIO:
		mux.on = 1;
		mux.rfd = 0;
		mux.wfd = 1;
		mux.is_stdio = 1;
		set_nonblock(0);
		set_nonblock(1);
		exit_when_idle = 1;
		break;
	case T_SERIAL:
		if (!strcmp(serial, "auto")) {
			if (find_serial(spath, sizeof spath) != 0)
				die(4, "no virtio-serial port named org.mvm.agent");
			serial = spath;
		}
		mux.on = 1;
		mux.rfd = mux.wfd = open(serial, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (mux.rfd < 0)
			die(4, "unable to open %s: %s", serial, strerror(errno));
		break;
	case T_VSOCK: {
		struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
			.svm_port = (unsigned)port };

		listen_fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
		    listen(listen_fd, 16) != 0)
			die(4, "unable to listen on vsock port %lu: %s", port, strerror(errno));
		break;
	}
	default:
		usage();
	}
	if (user_uid >= 0)
		drop_to(user_uid, user_gid);

	/* warm pool */
	if (rt.warm && entry.ok)
		for (unsigned i = 0; i < rt.pool_size; i++) {
			if (worker_spawn(&workers[i]) != 0) {
				logmsg("cannot start a warm worker: %s", strerror(errno));
				warm_failed = 1;
			}
		}
	if (mux.on)
		mux_hello();
	if (transport == T_SERIAL || transport == T_VSOCK) {
		/* the guest's own clock, next to init's lines on the console */
		struct timespec ts;

		clock_gettime(CLOCK_BOOTTIME, &ts);
		logmsg("serving at %ld.%02ld s", (long)ts.tv_sec, ts.tv_nsec / 10000000);
	}
	if (opt.verbose)
		logmsg("serving (%s tier, entrypoint %s)", rt.warm ? "warm" : "cold",
			entry.ok ? "ok" : "invalid");

	/* the loop */
	for (;;) {
		struct pollfd pf[4 + 2 * MAX_CONNS + 3 * 64 + 3 * POOL_MAX];
		void *who[sizeof pf / sizeof pf[0]];
		int what[sizeof pf / sizeof pf[0]];
		nfds_t n = 0;
		uint64_t next = timers(), t;
		int busy = 0, timeout;

#define ADD(fd_, ev_, who_, what_) do { pf[n].fd = (fd_); pf[n].events = (ev_); \
	pf[n].revents = 0; who[n] = (who_); what[n] = (what_); n++; } while (0)
		ADD(sfd, POLLIN, NULL, 0);
		if (listen_fd >= 0 && !quitting)
			ADD(listen_fd, POLLIN, NULL, 1);
		if (mux.on) {
			short ev = 0;

			if (!mux.hup && !quitting)
				ev |= POLLIN;
			if (mux.out.len > mux.out_off && !(mux.hup && !mux.is_stdio))
				ev |= POLLOUT;
			if (mux.rfd == mux.wfd) {
				if (ev)
					ADD(mux.rfd, ev, NULL, 2);
			} else {
				if (ev & POLLIN)
					ADD(mux.rfd, POLLIN, NULL, 2);
				if (ev & POLLOUT)
					ADD(mux.wfd, POLLOUT, NULL, 3);
			}
			busy |= mux.out.len > mux.out_off || !mux.hup;
		}
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];

			if (!c->used)
				continue;
			busy = 1;
			if (c->kind != CONN_FD)
				continue;
			if (!c->rd_eof && !c->closing && !(c->call && c->in.len >= FRAME_HDR + FRAME_MAX))
				ADD(c->rfd, POLLIN, c, 4);
			if (c->out.len > c->out_off)
				ADD(c->wfd, POLLOUT, c, 5);
		}
		for (struct call *k = running; k; k = k->next) {
			busy = 1;
			if (k->fds[0] >= 0)
				ADD(k->fds[0], POLLOUT, k, 6);
			if (k->fds[1] >= 0)
				ADD(k->fds[1], POLLIN, k, 7);
			if (k->fds[2] >= 0)
				ADD(k->fds[2], POLLIN, k, 8);
		}
		for (unsigned i = 0; rt.warm && i < rt.pool_size; i++) {
			struct worker *w = &workers[i];

			if (w->fds[0] >= 0 && w->tx.len > w->tx_off)
				ADD(w->fds[0], POLLOUT, w, 9);
			if (w->fds[1] >= 0)
				ADD(w->fds[1], POLLIN, w, 10);
			if (w->fds[2] >= 0)
				ADD(w->fds[2], POLLIN, w, 11);
		}
		busy |= queue_head != NULL;
		if (exit_when_idle && !busy)
			break;
		if (quitting && !running)
			break;
		t = now_ms();
		timeout = next == UINT64_MAX ? -1 : next <= t ? 0 : next - t > 60000 ? 60000 : (int)(next - t);
		if (mux.on && mux.hup && !mux.is_stdio && (timeout < 0 || timeout > 200))
			timeout = 200;
		if (poll(pf, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			die(4, "poll: %s", strerror(errno));
		}
		for (nfds_t i = 0; i < n; i++) {
			short re = pf[i].revents;

			if (!re)
				continue;
			switch (what[i]) {
			case 0: {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof si) == sizeof si) {
					if (si.ssi_signo == SIGCHLD)
						continue;
					begin_quit();
				}
				reap();
				break;
			}
			case 1: {
				int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				struct conn *c;

				if (fd < 0)
					break;
				if (!(c = conn_new(CONN_FD))) {
					close(fd);
					break;
				}
				c->rfd = c->wfd = fd;
				break;
			}
			case 2:
				if (re & POLLOUT)
					mux_write();
				if (re & (POLLIN | POLLHUP | POLLERR))
					mux_read();
				break;
			case 3:
				mux_write();
				break;
			case 4:
				if (((struct conn *)who[i])->used)
					conn_read(who[i]);
				break;
			case 5:
				if (((struct conn *)who[i])->used)
					conn_write(who[i]);
				break;
			case 6: case 7: case 8: {
				struct call *k = who[i];
				int live = 0;

				for (struct call *q = running; q; q = q->next)
					live |= q == k;
				if (!live)
					break;
				if (what[i] == 6 && k->fds[0] >= 0)
					cold_write(k);
				else if (what[i] != 6 && k->fds[what[i] - 6] >= 0)
					cold_read(k, what[i] - 6);
				break;
			}
			case 9: case 10: case 11: {
				struct worker *w = who[i];

				if (what[i] == 9 && w->fds[0] >= 0)
					worker_write(w);
				else if (what[i] == 10 && w->fds[1] >= 0)
					worker_read(w);
				else if (what[i] == 11 && w->fds[2] >= 0)
					worker_drain_err(w);
				break;
			}
			}
		}
		reap();
		/* a serial port whose host went away (virtio-serial reports POLLHUP
		 * while no host is connected): look again; once it is back, say
		 * HELLO and read */
		if (mux.on && mux.hup && !mux.is_stdio) {
			struct pollfd q = { mux.rfd, POLLIN, 0 };

			if (poll(&q, 1, 0) >= 0 && !(q.revents & (POLLHUP | POLLERR))) {
				for (int i = 0; i < MAX_CONNS; i++)
					if (conns[i].used && conns[i].kind == CONN_STREAM)
						conn_release(&conns[i]);
				mux.hup = 0;
				mux.in.len = 0;
				mux.out.len = mux.out_off = 0;
				mux_hello();
				if (q.revents & POLLIN)
					mux_read();
			}
		}
		/* stdio transports end when the host has gone and all is answered */
		if (exit_when_idle && mux.on && mux.is_stdio && mux.hup) {
			int any = 0;

			for (int i = 0; i < MAX_CONNS; i++)
				any |= conns[i].used;
			if (!any && mux.out.len == mux.out_off && !running)
				break;
		}
	}
	/* shut down warm workers: EOF, then the kill */
	for (unsigned i = 0; i < POOL_MAX; i++)
		if (workers[i].pid > 0) {
			close_fd(&workers[i].fds[0]);
			kill_group(workers[i].pid, SIGKILL);
			while (waitpid(workers[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
	return shutdown_asked ? AGENT_EXIT_SHUTDOWN : 0;
}
