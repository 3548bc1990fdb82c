/* agent.h — what the parts of mvm-agent share (not a library interface). */
#ifndef MVM_AGENT_H
#define MVM_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WRAPPERS_DIR "/usr/lib/mvm/wrappers/"
#define POOL_MAX 64

/* /etc/mvm/runtime.json (schemas/runtime.schema.json). */
struct runtime {
	int present;
	char language[64], module[256], function[256], format[16], source_path[1024];
	int warm;                       /* concurrency present */
	unsigned long max_calls_per_worker, max_rss_mb, pool_size, max_queue_depth;
	int has_queue_depth;
};

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
};

/* Build the seccomp program once (0, or -1 with msg). */
int seccomp_prepare(const char *tier, char *msg, size_t msglen);
/* Fork and exec the runner with pipes on 0, 1, 2 (returned non-blocking,
 * close-on-exec, in fds[0] = its stdin's write end, fds[1] = stdout read
 * end, fds[2] = stderr read end), in its own process group.  Returns the
 * pid or -1 with errno. */
pid_t spawn_runner(const struct spawn *s, int fds[3]);
/* Remove a directory tree without following symlinks: 0 or -1. */
int rmtree(const char *path);

#endif
