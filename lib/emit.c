/* emit.c — finding and running an SDK declaration for mvm-emit (emit.h) */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "emit.h"

const char *const emit_sdk_name[] = { "python", "typescript", "rust" };

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

int emit_is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int emit_is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int emit_is_exe(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

char *emit_which(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (!prog || !*prog)
		return NULL;
	if (strchr(prog, '/'))
		return emit_is_exe(prog) ? strdup(prog) : NULL;
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *c = strchr(path, ':');
		size_t n = c ? (size_t)(c - path) : strlen(path);
		if (n == 0) {
			snprintf(buf, sizeof buf, "./%s", prog);
		} else if (n + strlen(prog) + 2 <= sizeof buf) {
			memcpy(buf, path, n);
			snprintf(buf + n, sizeof buf - n, "/%s", prog);
		} else {
			buf[0] = '\0';
		}
		if (buf[0] && emit_is_exe(buf))
			return strdup(buf);
		path += n + (c ? 1 : 0);
	}
	return NULL;
}

char *emit_sdk_dir(const char *bindir)
{
	const char *env = getenv("MVM_SDK_DIR");
	char p[PATH_MAX + 32];

	if (env && *env)
		return emit_is_dir(env) ? realpath(env, NULL) : NULL;
	if (!bindir)
		return NULL;
	snprintf(p, sizeof p, "%s/../sdk", bindir);
	if (emit_is_dir(p))
		return realpath(p, NULL);
	snprintf(p, sizeof p, "%s/../share/mvm/sdk", bindir);
	if (emit_is_dir(p))
		return realpath(p, NULL);
	return NULL;
}

char *emit_validator(const char *bindir)
{
	const char *env = getenv("MVM_IR_VALIDATE");
	char p[PATH_MAX + 32];

	if (env)
		return *env ? emit_which(env) : NULL;
	if (bindir) {
		snprintf(p, sizeof p, "%s/ir-validate", bindir);
		if (emit_is_exe(p))
			return strdup(p);
	}
	return emit_which("ir-validate");
}

int emit_sdk_of(const char *entry, const char *lang)
{
	if (lang) {
		if (!strcmp(lang, "python") || !strcmp(lang, "py"))
			return EMIT_PYTHON;
		if (!strcmp(lang, "typescript") || !strcmp(lang, "ts") || !strcmp(lang, "node") ||
		    !strcmp(lang, "javascript") || !strcmp(lang, "js"))
			return EMIT_NODE;
		if (!strcmp(lang, "rust") || !strcmp(lang, "rs"))
			return EMIT_RUST;
		return EMIT_BADLANG;
	}
	if (!entry)
		return EMIT_PYTHON;
	if (ends_with(entry, ".py"))
		return EMIT_PYTHON;
	if (ends_with(entry, ".ts") || ends_with(entry, ".mts") || ends_with(entry, ".js") ||
	    ends_with(entry, ".mjs"))
		return EMIT_NODE;
	if (ends_with(entry, "/Cargo.toml") || !strcmp(entry, "Cargo.toml") || emit_is_dir(entry))
		return EMIT_RUST;
	return EMIT_UNKNOWN;
}

const char *emit_install_hint(int sdk)
{
	switch (sdk) {
	case EMIT_PYTHON:
		return "install Debian's python3 (apt-get install python3) or set MVM_PYTHON";
	case EMIT_NODE:
		return "install Node.js 18 or later (apt-get install nodejs npm) or set MVM_NODE";
	default:
		return "install Rust's cargo (https://rustup.rs, or apt-get install cargo) or set MVM_CARGO";
	}
}

int emit_setenv(struct emit_child *c, const char *name, const char *val)
{
	size_t n = strlen(name) + strlen(val) + 2;
	char *s = malloc(n);

	if (!s)
		return -1;
	snprintf(s, n, "%s=%s", name, val);
	c->env[c->nenv++] = s;
	return 0;
}

int emit_run(const struct emit_child *c, int in_fd, int out_fd)
{
	int pfd[2];
	int status, err = 0;
	pid_t pid;
	ssize_t k;

	if (pipe2(pfd, O_CLOEXEC) != 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int fd = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(out_fd >= 0 ? out_fd : 2, 1) < 0)
			goto fail;
		if (c->cwd && chdir(c->cwd) != 0)
			goto fail;
		for (int i = 0; i < c->nenv; i++)
			if (putenv(c->env[i]) != 0)
				goto fail;
		signal(SIGPIPE, SIG_DFL);
		execv(c->argv[0], (char *const *)c->argv);
fail:
		err = errno;
		if (write(pfd[1], &err, sizeof err) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	do
		k = read(pfd[0], &err, sizeof err);
	while (k < 0 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (k == (ssize_t)sizeof err) {
		errno = err;
		return -1;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
