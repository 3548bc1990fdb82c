/* tool.h — what every tool in bin/ shares: its name, messages, exits.
 * (lib/ never prints; the tools print through these.) */
#ifndef MVM_TOOL_H
#define MVM_TOOL_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "err.h"
#include "buf.h"
#include "io.h"

static const char *progname = "mvm";

static inline void tool_init(char **argv)
{
	const char *s = argv[0] ? strrchr(argv[0], '/') : NULL;

	progname = s ? s + 1 : argv[0] ? argv[0] : progname;
}

/* "prog: [file: ][where: ]msg" on stderr. */
static inline void tool_warn(const char *file, const struct merr *e)
{
	fprintf(stderr, "%s: %s%s%s%s%s\n", progname,
		file ? file : "", file ? ": " : "",
		e->where[0] ? e->where : "", e->where[0] ? ": " : "", e->msg);
}

static inline __attribute__((noreturn)) void tool_fail(const char *file, const struct merr *e)
{
	tool_warn(file, e);
	exit(e->code ? e->code : EX_SYS);
}

static inline __attribute__((noreturn, format(printf, 2, 3)))
void tool_die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* Write out what is buffered for fd 1, or fail with 4. */
static inline void tool_flush(struct buf *out)
{
	struct merr e;

	if (buf_flush(out) < 0) {
		errno = out->err;
		merr_sys(&e, "write to standard output");
		tool_fail(NULL, &e);
	}
}

/* Close stdout and exit with code, or 4 if stdout could not be written. */
static inline __attribute__((noreturn)) void tool_exit(int code)
{
	struct merr e;

	if (close_stdout(&e) != 0)
		tool_fail(NULL, &e);
	exit(code);
}

/* Parse a decimal unsigned option value in [min, max] or die with 2. */
static inline unsigned long tool_num(const char *opt, const char *s, unsigned long min,
	unsigned long max)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		tool_die(EX_USAGE, "%s: a number is required", opt);
	v = strtoul(s, &end, 10);
	if (*end || v < min || v > max)
		tool_die(EX_USAGE, "%s: %s is not a number from %lu to %lu", opt, s, min, max);
	return v;
}

/* Run av (argv[0] from PATH) with its standard output appended to out;
 * its exit status (4 if it did not exit, or could not be run: the child
 * says why).  Fails with 4 when the pipe, fork or read fails. */
static inline int tool_run(char **av, struct buf *out)
{
	int p[2], status;
	struct merr e;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		tool_die(EX_SYS, "pipe: %s", strerror(errno));
	fflush(stdout);
	if ((pid = fork()) < 0)
		tool_die(EX_SYS, "unable to fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(p[1], 1);
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

/* The directory of the running executable (a checkout's bin/, or
 * PREFIX/bin) into out (size n).  0, or -1 (errno set). */
static inline int tool_bindir(char *out, size_t n)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);

	if (len < 0)
		return -1;
	exe[len] = '\0';
	snprintf(out, n, "%s", dirname(exe));
	return 0;
}

/* The directory holding libexec/ (the build backends, mvm-verity-format):
 * $MVM_LIBEXEC, else ../libexec from the running executable's directory.
 * Fails with 4 when the executable is not found. */
static inline void tool_libexec(char *out, size_t n)
{
	char bin[PATH_MAX - 16];   /* room for "/../libexec" */

	if (getenv("MVM_LIBEXEC") && *getenv("MVM_LIBEXEC")) {
		snprintf(out, n, "%s", getenv("MVM_LIBEXEC"));
		return;
	}
	if (tool_bindir(bin, sizeof bin) != 0)
		tool_die(EX_SYS, "unable to find my own executable: %s", strerror(errno));
	snprintf(out, n, "%s/../libexec", bin);
}

#endif
