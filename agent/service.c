/* service.c — `mvm-agent ... --service FILE`: run an app's command
 * entrypoint (issue #16) as a supervised service.
 *
 * init (agent/init.c) passes --service when the image holds /etc/mvm/service.json
 * (mvm-lower(5)): {"command":[ARGV...], "working_dir":DIR,
 * "env":{NAME:VALUE,...}}, no other member.  The agent starts the supervisor once it knows
 * the seccomp tier and the secrets: after the provisioning request (with
 * --provision; service_start() from provision.c) or at once (without).
 * The supervisor is a child of the agent (forked, no exec): it keeps the
 * agent's ids and capabilities (SETUID, SETGID, KILL: to start the service
 * again and stop it) and does nothing else; each start forks a child that
 * is hardened as a function's runner is (spawn.c): its own process group,
 * no core files, RLIMIT_NPROC, uid and gid 1000 with no supplementary
 * groups, no_new_privs, the provisioned seccomp tier.  Its environment is
 * a function's: the provisioned variables (secrets, PATH), HOME=/tmp,
 * then the service's env; a service env name that the provisioning set
 * is refused (the service does not start), as a call's env is.  Its stdin
 * is /dev/null; stdout and stderr are the agent's stderr (the console).
 *
 * Restart policy: whenever the service exits (any status or signal) it is
 * started again after a back-off of 1 s, doubled after each exit that
 * follows a run shorter than SERVICE_STABLE_SECS, up to
 * SERVICE_BACKOFF_MAX_SECS; a run that lasted SERVICE_STABLE_SECS resets
 * it to 1 s.  SIGTERM/SIGINT (the agent sends SIGTERM when it exits:
 * service_stop; the kernel sends it when the agent dies otherwise:
 * PR_SET_PDEATHSIG) stop the service (SIGTERM to its group, then SIGKILL
 * 2 s later) and the supervisor. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"
#include "buf.h"
#include "io.h"
#include "json.h"

#define SERVICE_STABLE_SECS 10
#define SERVICE_BACKOFF_MAX_SECS 30
#define SERVICE_UID 1000

static volatile sig_atomic_t stop_sig;
static void on_stop(int s) { stop_sig = s; }
static pid_t supervisor;        /* the agent's child, 0 = none */

/* "mvm-service: WHAT ARG" on the console */
static void say(const char *what, const char *arg)
{
	fprintf(stderr, "mvm-service: %s %s\n", what, arg);
}

/* Does env (m entries) name the variable of kv ("K=V" or "K")? */
static int named(char **env, size_t m, const char *k, size_t kl)
{
	for (size_t i = 0; i < m; i++)
		if (!strncmp(env[i], k, kl) && env[i][kl] == '=')
			return 1;
	return 0;
}

/* -1, with e: EX_DATA at the JSON Pointer /member, then /tok (tn bytes)
 * when tok is not NULL (member NULL: /tok alone), and the message fmt.
 * The pointer is json_ptr_push's (RFC 6901), shown with its bytes outside
 * printable ASCII as '?' and at most SHOWN_MAX of them, then "...": the
 * names come from the file and go to the console. */
#define SHOWN_MAX 100
static int refuse(struct merr *e, const char *member, const char *tok, size_t tn,
	const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int refuse(struct merr *e, const char *member, const char *tok, size_t tn,
	const char *fmt, ...)
{
	struct buf p = BUF_INIT;
	char where[SHOWN_MAX + 4], msg[sizeof e->msg];
	size_t i;
	va_list ap;

	if (member)
		json_ptr_push(&p, member, strlen(member));
	if (tok)
		json_ptr_push(&p, tok, tn);
	if (!buf_cstr(&p)) {
		buf_free(&p);
		merr_set(e, EX_SYS, NULL, "out of memory");
		return -1;
	}
	for (i = 0; i < p.len && i < SHOWN_MAX; i++)
		where[i] = p.p[i] >= 0x20 && p.p[i] < 0x7f ? p.p[i] : '?';
	snprintf(where + i, sizeof where - i, "%s", p.len > SHOWN_MAX ? "..." : "");
	buf_free(&p);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	merr_set(e, EX_DATA, where, "%s", msg);
	return -1;
}

/* The type of the value v of d, for "must be ..., not TYPE". */
static const char *type_of(const struct jdoc *d, jref v)
{
	return json_typename(json_type(d, v));
}

int service_parse(const char *p, size_t len, char *const *base, size_t nbase, char **argv,
	char **env, char **cwd, struct merr *e)
{
	struct jdoc *d;
	jref root, c, x, k;
	size_t n = 0, m = 0;
	char idx[24];
	int rc = -1;

	*cwd = NULL;
	if (!(d = json_parse(p, len, NULL, e)))
		return -1;
	root = json_root(d);
	if (json_type(d, root) != J_OBJ) {
		merr_set(e, EX_DATA, NULL, "must be an object, not %s", type_of(d, root));
		goto out;
	}
	/* a member the agent does not know is refused, never ignored */
	for (k = json_first_key(d, root); k != JREF_NONE; k = json_next_key(d, k))
		if (!json_str_eq(d, k, "command") && !json_str_eq(d, k, "working_dir") &&
		    !json_str_eq(d, k, "env")) {
			size_t kl;
			const char *ks = json_str(d, k, &kl);

			refuse(e, NULL, ks, kl, "unknown member");
			goto out;
		}
	c = json_get(d, root, "command");
	if (json_type(d, c) != J_ARR) {
		if (c == JREF_NONE)
			refuse(e, "command", NULL, 0, "required member is missing");
		else
			refuse(e, "command", NULL, 0, "must be an array of strings, not %s",
				type_of(d, c));
		goto out;
	}
	for (x = json_first(d, c); x != JREF_NONE; x = json_next(d, x), n++) {
		snprintf(idx, sizeof idx, "%zu", n);
		if (n == SERVICE_ARGS) {
			refuse(e, "command", idx, strlen(idx), "more than %d words", SERVICE_ARGS);
			goto out;
		}
		if (json_type(d, x) != J_STR) {
			refuse(e, "command", idx, strlen(idx), "must be a string, not %s", type_of(d, x));
			goto out;
		}
		if (!(argv[n] = json_strdup(d, x))) {
			refuse(e, "command", idx, strlen(idx), "holds a NUL byte");
			goto out;
		}
	}
	argv[n] = NULL;
	if (n == 0) {
		refuse(e, "command", NULL, 0, "must hold at least one word");
		goto out;
	}
	/* a working_dir or env that is there is used, or the file refused:
	 * never ignored (nor a variable dropped when the array is full) */
	x = json_get(d, root, "working_dir");
	if (x != JREF_NONE && json_type(d, x) != J_STR) {
		refuse(e, "working_dir", NULL, 0, "must be an absolute path, not %s", type_of(d, x));
		goto out;
	}
	if (x != JREF_NONE && !(*cwd = json_strdup(d, x))) {
		refuse(e, "working_dir", NULL, 0, "holds a NUL byte");
		goto out;
	}
	if (*cwd && (*cwd)[0] != '/') {
		refuse(e, "working_dir", NULL, 0, "must be an absolute path");
		goto out;
	}
	x = json_get(d, root, "env");
	if (x != JREF_NONE && json_type(d, x) != J_OBJ) {
		refuse(e, "env", NULL, 0, "must be an object, not %s", type_of(d, x));
		goto out;
	}
	if (nbase > SERVICE_ENV) {
		merr_set(e, EX_DATA, NULL, "more provisioned variables than a service's "
			"environment holds");
		goto out;
	}
	/* a function's variables first: PATH, the provisioned secrets */
	for (size_t i = 0; i < nbase; i++)
		env[m++] = base[i];
	env[m++] = (char *)"HOME=/tmp";
	for (k = x == JREF_NONE ? JREF_NONE : json_first_key(d, x); k != JREF_NONE;
	     k = json_next_key(d, k)) {
		size_t kl, vl;
		const char *ks = json_str(d, k, &kl), *vs;
		struct buf kv = BUF_INIT;

		if (m > SERVICE_ENV) {
			refuse(e, "env", ks, kl, "more variables than a service's environment holds "
				"(%d with PATH, HOME and the provisioned ones)", SERVICE_ENV + 1);
			goto out;
		}
		if (json_type(d, json_value(k)) != J_STR) {
			refuse(e, "env", ks, kl, "must be a string, not %s", type_of(d, json_value(k)));
			goto out;
		}
		vs = json_str(d, json_value(k), &vl);
		if (kl == 0 || memchr(ks, '\0', kl) || memchr(ks, '=', kl)) {
			refuse(e, "env", ks, kl, "a variable's name must be 1 or more bytes without "
				"'=' or NUL");
			goto out;
		}
		if (memchr(vs, '\0', vl)) {
			refuse(e, "env", ks, kl, "holds a NUL byte");
			goto out;
		}
		if (named(env, m, ks, kl)) {
			refuse(e, "env", ks, kl, "sets a variable the launch provisioned (a secret) "
				"or PATH/HOME");
			goto out;
		}
		buf_printf(&kv, "%.*s=%.*s", (int)kl, ks, (int)vl, vs);
		if (!buf_cstr(&kv)) {
			merr_set(e, EX_SYS, NULL, "out of memory");
			goto out;
		}
		env[m++] = kv.p;     /* kept for the supervisor's life */
	}
	env[m] = NULL;
	rc = 0;
out:
	json_free(d);
	return rc;
}

/* Fill argv, env and cwd from the service file path (service_parse after
 * the provisioned variables); 0, or -1 said on the console as
 * "mvm-service: path: [where: ]message". */
static int load(const char *path, char **argv, char **env, char **cwd)
{
	struct buf b = BUF_INIT;
	struct merr e;
	int rc = -1;

	if (read_file(path, &b, &e) == 0)
		rc = service_parse(b.p ? b.p : "", b.len, base_env, nbase_env, argv, env, cwd, &e);
	buf_free(&b);
	if (rc != 0)
		fprintf(stderr, "mvm-service: %s: %s%s%s\n", path, e.where, e.where[0] ? ": " : "",
			e.msg);
	return rc;
}

static pid_t start(char **argv, char **env, const char *cwd)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	struct rlimit core = { 0, 0 }, np = { RUN_NPROC, RUN_NPROC };
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	sigset_t none;

	/* never above the hard limit the agent has (it may not raise it) */
	if (getrlimit(RLIMIT_NPROC, &np) == 0 && np.rlim_max != RLIM_INFINITY &&
	    np.rlim_max < RUN_NPROC)
		np.rlim_cur = np.rlim_max;
	else
		np.rlim_cur = np.rlim_max = RUN_NPROC;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if (setpgid(0, 0) != 0 || fd < 0 || dup2(fd, 0) != 0 ||
	    setrlimit(RLIMIT_CORE, &core) != 0 ||
	    setrlimit(RLIMIT_NPROC, &np) != 0 || setgroups(0, NULL) != 0 ||
	    setresgid(SERVICE_UID, SERVICE_UID, SERVICE_UID) != 0 ||
	    setresuid(SERVICE_UID, SERVICE_UID, SERVICE_UID) != 0 ||
	    (cwd && chdir(cwd) != 0) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || seccomp_apply() != 0) {
		perror("mvm-service: cannot harden the service");
		_exit(127);
	}
	sys_close_range(3, ~0U);
	execvpe(argv[0], argv, env);
	perror("mvm-service: cannot run the command");
	_exit(127);
}

/* The supervisor's life, in the agent's forked child; never returns. */
static void supervise(const char *path, pid_t agent)
{
	static char *argv[SERVICE_ARGS + 1], *env[SERVICE_ENV + 2];
	struct sigaction sa = { .sa_handler = on_stop };
	char *cwd = NULL;
	unsigned backoff = 1;
	int st;
	sigset_t none;

	/* the agent's signal mask and dispositions are not the service's */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* the agent's death, whatever it was (SIGKILL, a crash), stops it as
	 * SIGTERM does: an orphan would go on running the command */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != agent)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* stdout to the console (the agent's may be its --stdio transport);
	 * none of the agent's descriptors */
	if (dup2(2, 1) != 1)
		_exit(4);
	sys_close_range(3, ~0U);
	if (load(path, argv, env, &cwd) != 0)
		_exit(1);
	while (!stop_sig) {
		time_t t = time(NULL);
		pid_t pid = start(argv, env, cwd);

		if (pid < 0) {
			say("fork failed:", strerror(errno));
		} else {
			say("started", argv[0]);
			while (waitpid(pid, &st, 0) < 0)
				if (errno == EINTR && stop_sig) {
					/* SIGTERM, SIGKILL at most 2 s later */
					kill(-pid, SIGTERM);
					for (int i = 0; i < 20 && waitpid(pid, &st, WNOHANG) == 0; i++)
						usleep(100000);
					kill(-pid, SIGKILL);
				} else if (errno != EINTR) {
					break;
				}
			if (stop_sig)
				break;
			if (time(NULL) - t >= SERVICE_STABLE_SECS)
				backoff = 1;
			/* one write: the agent shares the console */
			fprintf(stderr, "mvm-service: %s exited (%s %d); restarting in %u s\n", argv[0],
				WIFSIGNALED(st) ? "signal" : "status",
				WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), backoff);
		}
		sleep(backoff);
		backoff = backoff * 2 > SERVICE_BACKOFF_MAX_SECS ? SERVICE_BACKOFF_MAX_SECS : backoff * 2;
	}
	_exit(0);
}

void service_start(void)
{
	pid_t pid, agent = getpid();

	if (!opt.service || supervisor)
		return;
	fflush(NULL);
	if ((pid = fork()) == 0)
		supervise(opt.service, agent);
	if (pid < 0) {
		logmsg("service: cannot start its supervisor: %s", strerror(errno));
		return;
	}
	supervisor = pid;
	logmsg("service supervisor started (seccomp tier %s)", opt.seccomp);
}

pid_t service_supervisor(void)
{
	return supervisor > 0 ? supervisor : 0;
}

void service_stop(void)
{
	int st;

	/* (reap() may have reaped it already: then nothing to stop) */
	if (supervisor <= 0 || waitpid(supervisor, &st, WNOHANG) != 0)
		return;
	kill(supervisor, SIGTERM);
	while (waitpid(supervisor, &st, 0) < 0 && errno == EINTR)
		;
	supervisor = 0;
}
