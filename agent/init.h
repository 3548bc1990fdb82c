/* init.h — between init.c (PID 1: mounts, the agent's supervision) and
 * initdev.c and initnet.c (what init reads from the command line, /etc
 * and /sys: the hostname, users, drives, network, the agent's transport).  Private to
 * init; mvm-agent(8) INIT is the contract. */
#ifndef MVM_AGENT_INIT_H
#define MVM_AGENT_INIT_H

#include <limits.h>
#include <stddef.h>

#define AGENT_ID "990"     /* the agent drops to it (--user) */
#define WORKER_ID "1000"   /* runners run as it (--run-uid) */

struct init_ctx {
	char root[1024];        /* MVM_INIT_ROOT: every guest path under it; "" in a guest */
	int dry;                /* MVM_INIT_DRYRUN=1: show the changes, make none */
	char cmdline[4096];     /* /proc/cmdline */
	char agent[PATH_MAX];   /* the agent's path */
};
extern struct init_ctx ini;

/* "mvm-init: ..." and a dry run's "+ ...", each a line in one write. */
void ilog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ishow(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* guest path -> buf (under ini.root); returns buf */
const char *rpath(char *buf, size_t n, const char *guest);
/* mount(8)'s -t TYPE -o OPTS SRC DST (shown on a dry run); -1 logged */
int imount(const char *type, const char *opts, const char *src, const char *dst);
/* The first line of a file, without its newline; -1 if unreadable. */
int read_line(const char *path, char *buf, size_t n);

/* The value of mvm.NAME= on the command line (the last one) into val, ""
 * if absent; returns val. */
const char *init_cmdline(const char *name, char *val, size_t n);
/* The entries of a directory under the root, sorted as a shell glob is
 * (scandir); their count, 0 if it cannot be read. */
struct dirent;
int init_names(const char *guestdir, struct dirent ***list);
void init_names_free(struct dirent **list, int n);

/* initdev.c and initnet.c (network), in the order init runs them */
void set_hostname(void);
void users(void);
void etc_ro(void);
void drives(void);
void network(void);
/* The agent's transport option(s) into argv[0..n); returns n, 0 for none. */
int transport(const char **argv);

#endif
