/* agent.h — what the parts of mvm-agent share (not a library interface).
 * First the pieces config.c, entry.c and spawn.c provide, then the agent process's
 * units, each section a contract: who owns the state, what each call does. */
#ifndef MVM_AGENT_H
#define MVM_AGENT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "buf.h"
#include "frame.h"
#include "json.h"

/* Two system calls musl 1.2.3 (Debian 12's, the static agent's libc:
 * agent/agent.mk) has no wrapper for, called directly: close_range(2)
 * without flags and renameat2(2). */
int sys_close_range(unsigned first, unsigned last);
int sys_renameat2(int olddir, const char *old, int newdir, const char *new_, unsigned flags);
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

#define WRAPPERS_DIR "/usr/lib/mvm/wrappers/"
#define POOL_MAX 64

/* /etc/mvm/runtime.json (schemas/runtime.schema.json). */
struct runtime {
	int present;
	char language[64], module[256], function[256], format[16], source_path[1024];
	int warm;                       /* concurrency present */
	unsigned long max_calls_per_worker, max_rss_mb, pool_size, max_queue_depth;
	int has_queue_depth;
	/* "env": the IR's literal variables, "K=V" (malloc'd) */
	char **env;
	size_t nenv;
	/* "functions": every function of the image by name, in the IR's
	 * order (malloc'd); a run request names one (fn_find) */
	char **fn;
	size_t nfn;
};
#define RT_ENV_MAX 256
#define RT_FN_MAX 256

/* The validated entrypoint. */
struct entry {
	int ok;
	char detail[256];               /* why not, when !ok */
	char path[1024];                /* the marker's text (guest path) */
	int fd;                         /* held open O_RDONLY, -1 when !ok */
};

/* Read and check the marker under root (root "" = "/").  insecure_owner:
 * accept any owner (tests that cannot chown).  Never fails the agent:
 * the outcome is in en. */
void entry_check(const char *root, const char *etc, int insecure_owner, struct entry *en);
/* Parse runtime.json: 0, or -1 with msg set (the agent refuses to start). */
int runtime_load(const char *path, struct runtime *rt, char *msg, size_t msglen);
/* runtime_load on the file's bytes p[0..len), read already (fuzz/runtime);
 * runtime_free releases what either allocated, even after a refusal. */
int runtime_parse(const char *p, size_t len, struct runtime *rt, char *msg, size_t msglen);
void runtime_free(struct runtime *rt);
/* The index of name among rt's functions (its wrapper configuration is
 * <etc>/fn/<index>.json), or -1. */
int fn_find(const struct runtime *rt, const char *name);

/* How to start a runner process. */
struct spawn {
	int runner_fd;                  /* the held, validated runner */
	const char *argv0;
	char **env;                     /* NULL-terminated */
	const char *cwd;
	int set_ids;                    /* change to uid/gid */
	uid_t uid;
	gid_t gid;
	const char *seccomp;            /* "standard" or "unrestricted" */
	char *const *argv;              /* NULL: { argv0 } */
	int cg_procs;                   /* >= 0: the call's cgroup.procs, joined
	                                 * first thing in the child; -1: none */
};

/* Choose tier's seccomp program, compiled at build time (seccomp-gen.c): 0, or
 * -1 with msg (an unknown tier). */
int seccomp_prepare(const char *tier, char *msg, size_t msglen);
/* seccomp_prepare in two steps, for provisioning's all-or-nothing:
 * seccomp_stage chooses tier's program aside (0, or -1 with msg; the
 * runners' program is unchanged either way); seccomp_commit(1) makes the
 * staged program the runners', seccomp_commit(0) drops it. */
int seccomp_stage(const char *tier, char *msg, size_t msglen);
void seccomp_commit(int keep);
/* RLIMIT_NPROC of a runner that changes uid (or the agent's own hard
 * limit, when lower): the processes and threads of the runner uid
 * together, every call and worker included (a warm pool of 64 Node
 * workers is about 700 threads). */
#define RUN_NPROC 1024
/* Fork and exec the runner with pipes on 0, 1, 2 (returned non-blocking,
 * close-on-exec, in fds[0] = its stdin's write end, fds[1] = stdout read
 * end, fds[2] = stderr read end), in its own process group.  Returns the
 * pid or -1 with errno. */
pid_t spawn_runner(const struct spawn *s, int fds[3]);
/* Install the prepared seccomp filter in the calling process (none for
 * "unrestricted").  0, or -1 with errno. */
int seccomp_apply(void);
/* --service FILE: the app's command service (service.c).  service_start
 * forks its supervisor, once, with the prepared seccomp tier and the
 * provisioned environment (no-op without --service); service_stop stops
 * it (SIGTERM) and waits for it. */
void service_start(void);
void service_stop(void);
/* service.json's bytes p[0..len) ({"command":[ARGV...], "working_dir":DIR,
 * "env":{NAME:VALUE,...}}) into argv (the command's words, malloc'd, at
 * most SERVICE_ARGS, NULL-terminated), env (base[0..nbase), "HOME=/tmp",
 * then each of the file's variables as "NAME=VALUE", malloc'd; at most
 * SERVICE_ENV + 1 and NULL-terminated) and *cwd (malloc'd, or NULL: the
 * agent's).  0, or -1 with e set (EX_DATA; EX_SYS when out of memory),
 * e->where the JSON Pointer of the value refused (RFC 6901, bytes outside
 * printable ASCII as '?', at most 100 bytes then "..."), or line:col when
 * the bytes are not JSON, or empty for a root that is not an object and
 * for more than SERVICE_ENV provisioned variables.  Refused: not JSON, a
 * member other than these three, no command of 1..SERVICE_ARGS strings
 * without NUL, a working_dir that is not an absolute path without NUL,
 * an env that is not an object, an env name that is empty, holds '=' or
 * NUL or is already set, a value that is not a string or holds NUL, or
 * more than SERVICE_ENV + 1 variables in all (nothing declared is ignored
 * or dropped); after -1 the words and variables made so far are in argv
 * and env past base, with no NULL after them (the caller zeroes the
 * arrays first to free them; the supervisor exits). */
#define SERVICE_ARGS 256
#define SERVICE_ENV 256
int service_parse(const char *p, size_t len, char *const *base, size_t nbase, char **argv,
	char **env, char **cwd, struct merr *e);
/* The supervisor's pid while it runs, else 0 (contain.c keeps its tree). */
pid_t service_supervisor(void);
/* listen.c: ",\"listening\":[PORT,...]" for the status reply */
void put_listening(struct buf *b);
/* Remove the directory tree path (its parent trusted, the tree not: a
 * process may still be changing it) without following a symlink or
 * crossing a mount: each step is an openat(O_NOFOLLOW) or unlinkat
 * relative to a directory already open, never a path walked again.
 * Depth is limited to RMTREE_DEPTH.  0, or -1 (something is left). */
#define RMTREE_DEPTH 256
int rmtree(const char *path);
/* A call's directory (calldir.c): made (mkdtemp of tmpl) and removed
 * (rmtree) with the runner's file-system ids when runners run as another
 * user (--run-uid), so the agent needs no capability over files.  As
 * mkdtemp and rmtree. */
char *calldir_make(char *tmpl);
/* Take the runner's file-system ids (setfsuid, setfsgid: this thread's
 * file access checks only; when the agent runs runners as another user),
 * *saved getting the agent's own; fs_as_agent gives them back. */
void fs_as_runner(int saved[2]);
void fs_as_agent(const int saved[2]);
int calldir_remove(const char *path);

/* ==================================================================
 * The agent process (mvm-agent(8)).  Everything below is shared by the
 * units of one single-threaded process: one poll() loop (loop.c) calls
 * into connections (conn.c), the mux (mux.c), scheduling (sched.c) and
 * the two tiers (cold.c, warm.c).  No function here blocks, none is
 * re-entered from a signal handler (signals arrive on a signalfd), and
 * every byte read from a connection, the mux or a runner is hostile.
 * ================================================================== */

#define AGENT_PORT 5252
#define MAX_CONNS 64
/* What one call may produce: a result of FRAME_PAYLOAD_MAX on stdout,
 * 1 MiB on stderr (mvm-agent-protocol(5) "Limits"). */
#define STDOUT_CAP FRAME_PAYLOAD_MAX
#define STDERR_CAP (1u << 20)
#define KILL_GRACE_MS 1000
#define READY_TIMEOUT_MS 60000
#define RESPAWN_BACKOFF_MS 1000
/* One read() from a connection, the mux or a runner. */
#define RD_CHUNK 65536
/*
 * Back-pressure (mvm-agent-protocol(5) "Back-pressure").  Output the
 * peer has not read yet: CONN_OUT_MAX per connection (a mux stream's
 * share of the mux's unsent bytes counts as its own), OUT_TOTAL_MAX over
 * every connection and the mux together.  While a connection is over
 * either bound (conn_full) the agent serves no further request of it,
 * does not read it (a mux stream: the mux as a whole, which carries no
 * per-stream credit), and reads no output of its call's runner, which
 * then blocks on its pipe.  A reply already decided is still queued
 * whole, so a connection's unsent output stays below CONN_OUT_MAX plus
 * one reply: at most RD_CHUNK of chunks (a cold runner) or one warm
 * result (FRAME_PAYLOAD_MAX + FRAME_HDR + envelope).
 */
#define CONN_OUT_MAX (1u << 20)
#define OUT_TOTAL_MAX (4u << 20)
/* The mux's output is compacted once this much of it has been written. */
#define OUT_COMPACT 65536u

/* ---- options and global state (setup.c sets them before the loop) ---- */

struct agent_opt {
	const char *root;               /* "" = / */
	char etc[PATH_MAX];
	const char *tmp;
	const char *wrapper_config;
	const char *seccomp;
	int insecure_owner;
	int run_uid, run_gid;           /* -1: unchanged */
	unsigned max_calls;             /* cold slots */
	int verbose;
	int provision;                  /* --provision: wait for it */
	int egress;                     /* --egress-proxy: listen on 127.0.0.1:3128 */
	unsigned egress_port;           /* --egress-port (tests): instead of 3128 */
	const char *cgroup;             /* --cgroup: the cgroup2 mount, or NULL */
	const char *service;            /* --service FILE: service.json, or NULL */
};

extern const char *progname;
extern struct agent_opt opt;
extern struct entry entry;
extern struct runtime rt;
extern char **base_env;                 /* PATH and MVM_WRAPPER_CONFIG */
extern size_t nbase_env;
/* Add the n "K=V" kv[] (malloc'd) to every runner's environment: the
 * secrets provisioning delivers as env vars.  All or none: 0 (the
 * strings now owned by base_env), or -1 out of memory (nothing added,
 * the strings still the caller's). */
int base_env_add(char **kv, size_t n);
/* ---- provisioning (provision.c, mvm-agent-protocol(5)) ----
 * With --provision, no call runs (not_provisioned) and no warm worker
 * starts before the one provision request has set the seccomp tier and
 * delivered the secrets; without it, --seccomp's tier applies and a
 * provision request is still accepted once, before any call. */
extern int provisioned;
struct conn;
void provision(struct conn *c, struct req *q);
/* The request read and checked whole (provreq.c), before anything of it
 * is applied: the tier (a name of [A-Za-z0-9_-], at most PROV_TIER_MAX
 * bytes; which tiers exist is seccomp_prepare's to say) and each secret,
 * its strings pointing into the request's jdoc: a value without NUL, and
 * env (a name of [A-Za-z0-9_], not starting with a digit, not one a
 * call's env may not set either: req_env_reserved) or a file
 * PROV_SECRETS_DIR NAME ([A-Za-z0-9._-], not starting with '.'), no env
 * or file given twice.
 * 0, or -1 with msg: a fixed text or a secret's name, never a value.
 * prov_req_free frees r->s. */
#define PROV_TIER_MAX 32
#define PROV_SECRETS_DIR "/mnt/secrets/"
struct prov_secret {
	const char *name, *value, *key;     /* key: env's name or file's path */
	size_t nl, vl, kl;
	int env;
};
struct prov_req {
	char tier[PROV_TIER_MAX + 1];
	size_t n;
	struct prov_secret *s;
};
int provision_parse(const struct jdoc *d, struct prov_req *r, char *msg, size_t ml);
void prov_req_free(struct prov_req *r);
/* n > 0 bytes of s, each of [A-Za-z0-9] or extra (never NUL). */
int prov_tame(const char *s, size_t n, const char *extra);
#define ERRK_NOT_PROVISIONED "not_provisioned"
extern volatile int quitting;           /* SIGTERM or shutdown: wind down */
extern int shutdown_asked;              /* the host asked: exit AGENT_EXIT_SHUTDOWN */
extern int exit_when_idle;              /* stdio transports: exit when done */
extern struct agent_stats {
	unsigned long calls, recycled, respawned, crashed;
} stats;

/* Small helpers (setup.c).  logmsg and die write "mvm-agent: ..." to
 * stderr; die exits with code (2 usage, 4 system, 1 refused). */
uint64_t now_ms(void);                  /* CLOCK_MONOTONIC, ms */
void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void close_fd(int *fd);                 /* close if >= 0, set -1 */
/* The start of a small file (/proc, /sys) as a C string: at most n - 1
 * bytes read with one read(2) into b, NUL-terminated; their count, or -1
 * when it cannot be opened or read, or is empty. */
ssize_t read_small(const char *path, char *b, size_t n);
void kill_group(pid_t pid, int sig);    /* kill(-pid) when pid > 0 */

/* ---- connections (conn.c) ----
 * A connection carries requests in order: at most one call is in flight
 * on it (c->call), later frames wait buffered in c->in.  CONN_FD is a
 * descriptor pair (stdio, a vsock socket); CONN_STREAM is a mux stream,
 * whose output goes into mux.out as DATA records. */

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
	int held;                       /* requests wait: conn_full() stopped the pump */
	size_t unsent;                  /* CONN_STREAM: its bytes in mux.out not yet written */
	unsigned gen;                   /* which use of the slot (mux accounting) */
	struct call *call;              /* the run in flight (requests are in order) */
};

extern struct conn conns[MAX_CONNS];
extern int listen_fd;                   /* vsock listener, or -1 */

/* A free slot set up as kind, or NULL when all MAX_CONNS are in use. */
struct conn *conn_new(enum conn_kind kind);
/* Close c now: its call is orphaned (conn_orphan_call), fds closed,
 * buffers freed, the slot free again. */
void conn_release(struct conn *c);
/* Detach c's call: a queued one is freed, a cold one killed (reaping
 * frees it), a warm one finishes with its output discarded. */
void conn_orphan_call(struct conn *c);
/* Serve the whole requests buffered on c while no call is in flight;
 * close c when it is done.  c may be released on return (c->used 0). */
void conn_pump(struct conn *c);
/* Poll said readable / writable (CONN_FD only).  May release c. */
void conn_read(struct conn *c);
void conn_write(struct conn *c);
/* Output of c not written yet (c NULL: 0). */
size_t conn_unsent(const struct conn *c);
/* Over CONN_OUT_MAX, or every connection together over OUT_TOTAL_MAX
 * (c NULL, an orphaned call: never). */
int conn_full(const struct conn *c);
/* Every connection and the mux together over OUT_TOTAL_MAX. */
int out_total_full(void);
/* Serve again the connections whose requests conn_full() held, now
 * that output has drained (called once per loop turn). */
void conn_resume(void);
/* SIGTERM or a shutdown request: drop every connection (their calls are
 * killed) and kill the workers; the loop then ends. */
void begin_quit(void);

/* Replies.  c NULL (an orphaned call) discards.  Never fail: out of
 * memory drops the reply (the buffer's err flag). */
void conn_send(struct conn *c, const void *p, size_t n);
void send_buf(struct conn *c, struct buf *b);   /* sends b, empties it */
void send_error(struct conn *c, const char *kind, const char *msg);
/* p[0..n) as stdout (is_stderr 0) or stderr chunks of <= FRAME_CHUNK. */
void send_chunks(struct conn *c, int is_stderr, const unsigned char *p, size_t n);
void send_exit(struct conn *c, int code);
void send_status(struct conn *c);

/* ---- the mux (mux.c): mvm-agent-protocol(5) over one serial stream ---- */

extern struct agent_mux {
	int on;
	int rfd, wfd;
	struct buf in;
	struct buf out;
	size_t out_off;
	int hup;                        /* host gone (or EOF on stdio) */
	int is_stdio;
} mux;

void mux_hello(void);                   /* queue a HELLO record */
/* Queue one record on the mux for c (NULL: the mux's own, stream 0 or a
 * stream that is gone), counted in c->unsent until written. */
void mux_emit(struct conn *c, uint32_t stream, enum mux_kind kind, const void *p, size_t n);
/* Drop every unsent byte (the host is gone, or a reset). */
void mux_out_clear(void);
/* Unsent bytes of the mux. */
size_t mux_unsent(void);
/* Is any stream conn_full()?  Then the mux is not read. */
int mux_full(void);
/* Poll said readable / writable.  mux_read parses every whole record;
 * a malformed one resets the mux (every stream closed, HELLO again). */
void mux_read(void);
void mux_write(void);
/* A serial port whose host went away: if it is back, drop the old
 * streams, say HELLO and read. */
void mux_reconnect(void);

/* ---- the egress proxy's guest end (egress.c, issue #16) ----
 * With --egress-proxy (opt.egress), egress_listen() listens on
 * 127.0.0.1:EGRESS_PORT; each accepted connection becomes a stream the
 * agent opens on the mux (MUX_GUEST_STREAM | n), its bytes carried raw
 * both ways; the host's proxy decides (lib/proxy.h).  Output to a socket
 * over CONN_OUT_MAX makes mux_full() true (the mux is not read); a socket
 * is not read while every output together is over OUT_TOTAL_MAX. */
#define EGRESS_PORT 3128
#define EGRESS_CONNS 32
extern int egress_fd;                   /* the listener, or -1 */
void egress_listen(void);               /* dies when it cannot */
void egress_accept(void);
/* A record from the host on a stream with MUX_GUEST_STREAM set. */
void egress_record(const struct mux_rec *r);
/* Every egress connection closed (the host went away, a reset). */
void egress_reset(void);
/* Slot i: its fd and the events to watch (-1: unused slot). */
int egress_watch(int i, short *ev);
void egress_read(int i);
void egress_write(long i);
int egress_full(void);

/* ---- calls and scheduling (sched.c) ---- */

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
	unsigned cg_id;                 /* its cgroup (cgroup.c), 0: none */
	int cg_procs;                   /* that cgroup's cgroup.procs (cg_id) */
	/* warm */
	struct worker *w;
	int requeued;                   /* given back to the queue once (warm.c) */
#ifdef MVM_DEV
	char **dev_argv;                /* an exec request's (dev.c), or NULL */
#endif
};

extern struct call *queue_head, *queue_tail;
extern unsigned nqueued;
extern struct call *running;            /* cold calls in flight (list) */
extern unsigned nrunning;

/* A run request from c (r is taken over): refused (entrypoint_invalid,
 * busy, internal) or queued and started when a slot is free. */
void submit(struct conn *c, struct req *r);
/* Start queued calls while slots (cold) or idle workers (warm) allow. */
void start_calls(void);
/* A call has sent its terminal frame (or was orphaned): free it and let
 * its connection go on with the next request. */
void call_free(struct call *k);
/* Remove k from the queue (no-op when it is not queued). */
void dequeue(struct call *k);
/* Put k (taken off its worker, none of it sent) back at the head of the
 * queue, past max_queue_depth (it was admitted), and start calls. */
void requeue(struct call *k);
/* Reap every exited child and finish what it ran. */
void reap(void);
/* Deadlines: timeouts, kill escalation, worker readiness and respawn.
 * Returns the next deadline (now_ms() clock) or UINT64_MAX. */
uint64_t timers(void);

/* ---- cold tier (cold.c): one runner process per call ---- */

/* The runner's environment, built here and nowhere else: the request's
 * pairs (none of them an IR name: call_check), then the function's own
 * (fn_env), then base_env's names the request did not set.  malloc'd
 * array of borrowed strings, or NULL. */
char **call_env(const struct req *r);
/* The variables the image gives every call of a function: the IR's
 * literal env (runtime.json), and for a call of another function than
 * the primary, MVM_WRAPPER_CONFIG naming that function's wrapper.json.  Writes at most RT_ENV_MAX + 1
 * borrowed strings into out; returns how many.  (Secrets delivered as
 * variables join here.) */
size_t fn_env(const struct req *r, char **out);
/* Before a run is queued: its function is known (else unknown_function,
 * listing the names) and its env sets no IR name (else bad_request,
 * naming it).  0: go on; -1: c was answered. */
int call_check(struct conn *c, const struct req *r);
/* The spawn settings every runner shares (env and cwd left to fill). */
struct spawn base_spawn(void);
/* Make the call's directory and start its runner; on failure the call
 * is answered (internal) and freed. */
void cold_start(struct call *k);
/* A cap was breached (or the call orphaned): kill it, answer at reaping. */
void cold_breach(struct call *k, const char *what);
/* Poll events on the runner's stdin (cold_write) or stdout/stderr. */
void cold_write(struct call *k);
void cold_read(struct call *k, int i);
/* The runner was reaped: drain, answer, clean up, free k. */
void cold_finish(struct call *k);

/* ---- warm tier (warm.c): a pool of long-running workers ---- */

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
	unsigned cg_id;                 /* its cgroup (cgroup.c), 0: none */
};

extern struct worker workers[POOL_MAX];
extern int warm_failed;                 /* a worker failed to start at boot */

/* Start w's process (state W_STARTING), or -1 with a respawn time set. */
int worker_spawn(struct worker *w);
/* Kill w; reaping respawns it. */
void worker_kill(struct worker *w);
/* Hand k to the idle w. */
void warm_start(struct worker *w, struct call *k);
/* End w's call (if any) with an error reply. */
void warm_call_error(struct worker *w, const char *kind, const char *msg);
/* Poll events on the worker's stdin, stdout, stderr. */
void worker_write(struct worker *w);
void worker_read(struct worker *w);
void worker_drain_err(struct worker *w);
/* w's process was reaped with status. */
void worker_reaped(struct worker *w, int status);
/* Set the slots up empty; start rt.pool_size workers (warm_failed set
 * when one cannot start); at exit, close and kill every worker and wait. */
void pool_init(void);
void pool_start(void);
void pool_stop(void);

#ifdef MVM_DEV
/* ---- the dev agent's exec request (dev.c; mvm-agent-dev only) ----
 * dev_exec_request: a frame body that is {"type":"exec",...} is answered
 * or submitted as a cold call (1); anything else is left to req_parse (0).
 * submit() takes the call's argv with dev_exec_take(); cold_start opens
 * argv[0] under the root with dev_exec_open and runs it instead of the
 * runner. */
int dev_exec_request(struct conn *c, const char *body, size_t n);
char **dev_exec_take(void);
void dev_exec_free(char **argv);
int dev_exec_open(const char *path);
#endif

/* ---- containment (contain.c) ----
 * SIGKILL every process descending from the agent that is neither a live
 * runner (a cold call in `running` not yet exited, a worker not W_EMPTY)
 * nor a descendant of one, and also the descendants of the worker strip
 * (0: none), whose call just ended.  Found in /proc (the backstop behind
 * the cgroups below, and all there is without --cgroup); repeated until a
 * scan finds none, as the killed hand
 * their children to the agent (a subreaper).  Called when a call ends,
 * before its directory is removed. */
void contain_sweep(pid_t strip);

/* `mvm-agent --dm-verity NAME DEV BLOCKS ROOT SALT` (dm.c): map DEV
 * through dm-verity as NAME, print /dev/dm-N; exit 0, 2 usage, 4. */
int dm_verity_main(int argc, char **argv);
/* The same as a call: map dev as name; out gets /dev/dm-N.  Returns 0, or
 * 2 (bad arguments) or 4 (the kernel refused) with a message on stderr. */
int dm_verity_map(const char *name, const char *dev, const char *blocks, const char *root,
	const char *salt, char *out, size_t outsz);
/* PID 1 of a guest (init.c, mvm-agent(8) INIT): main() runs it when called
 * as init (/sbin/init is a link to the agent).  Never returns in a guest. */
int init_main(void);

/* ---- contained calls: cgroup v2 (cgroup.c) ----
 * With --cgroup DIR (init, agent/init.c, passes /sys/fs/cgroup, its cgroup2 mount,
 * when the kernel has cgroups), cg_setup, run as root before the drop to
 * --user, makes DIR/mvm with the memory and pids controllers, moves the
 * agent into DIR/mvm/agent and gives DIR/mvm (and its cgroup.procs) to
 * the agent's uid: a delegated subtree (cgroup-v2.rst "Delegation").
 * Each cold call then gets DIR/mvm/c<N> (cg_call_begin): memory.max the
 * call's limit, memory.oom.group 1 (an OOM kill takes the whole call),
 * pids.max RUN_NPROC; the runner joins it in the child before dropping
 * to the runner's uid, so everything the call starts is in it and cannot
 * leave (the runner's uid may write no cgroup.procs).  cg_call_end writes
 * cgroup.kill (every process of the call, wherever it was reparented),
 * removes the cgroup and says whether the kernel OOM-killed in it: the
 * call is then answered memory_limit.
 * The per-call limit (the IR has no per-call field): the app's
 * resources.memory_mb, which is the VM's memory (MemTotal), less
 * CG_RESERVE_MB for the kernel, init and the agent; at least half of
 * MemTotal.  Without --cgroup (host tests) or when setup fails (logged),
 * calls run without one, and contain_sweep is the only net.  Warm workers
 * too, below. */
#define CG_RESERVE_MB 48u
extern uint64_t cg_call_max;            /* bytes; 0: no cgroups */
void cg_setup(const char *dir, int uid, int gid);
/* Make k's cgroup and open its cgroup.procs: 0, or -1 (errno). */
int cg_call_begin(struct call *k);
/* Kill and remove k's cgroup (no-op without one): 1 when the kernel
 * OOM-killed a process of it, else 0. */
int cg_call_end(struct call *k);
/* Warm workers (warm.c): each gets DIR/mvm/w<N> (cg_worker_begin), with
 * the limits of a cold call's (memory.max, memory.oom.group 1, pids.max
 * RUN_NPROC), joined as a cold runner joins its own; *procs is its
 * cgroup.procs, for the spawn (the caller closes it).  After each call,
 * cg_worker_strip SIGKILLs every process in it but the worker (what the
 * call started, detached or not, cannot leave it), until only the worker
 * is left, and returns 0 once a read of cgroup.procs shows only the
 * worker (-1: no cgroup, or it could not be read or emptied: the caller
 * sweeps /proc); when the worker is reaped (recycled, crashed, killed),
 * cg_worker_end is cg_call_end's: cgroup.kill, rmdir, the OOM flag.
 * Without cgroups all three do nothing (cg_id 0) and contain_sweep is the
 * net. */
int cg_worker_begin(struct worker *w, int *procs);
int cg_worker_strip(struct worker *w);
int cg_worker_end(struct worker *w);

/* ---- setup (setup.c) and the loop (loop.c) ---- */

enum transport { T_NONE, T_STDIO, T_SERIAL_STDIO, T_VSOCK, T_SERIAL };

struct args {
	enum transport transport;
	const char *serial;             /* T_SERIAL: a path or "auto" */
	unsigned long port;             /* T_VSOCK */
	int check;                      /* --check: report and exit */
	int user_uid, user_gid;         /* --user, -1: stay */
};

/* Block the signals the loop reads; returns the signalfd (dies on error). */
int signals_init(void);
/* Parse argv into opt and a; usage errors exit 2. */
void args_parse(int argc, char **argv, struct args *a);
/* Fill base_env from opt. */
void base_env_init(void);
/* Open the transport a names (dies on error). */
void transport_open(const struct args *a);
/* Become uid:gid keeping only the capabilities the agent still needs. */
void drop_to(int uid, int gid);
/* Serve until idle (stdio transports) or quitting; sfd: the signalfd. */
void agent_loop(int sfd);

#endif
