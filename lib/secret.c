/* secret.c — resolving a secret on the host (secret.h) */
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
#include "keys.h"
#include "secret.h"

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= SECRET_NAME_MAX && s[0] != '.' &&
		strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static int utf8_ok(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = p[i], k, v, min;
		if (c < 0x80) { i++; continue; }
		if (c >= 0xc2 && c <= 0xdf) k = 1, v = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef) k = 2, v = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4) k = 3, v = c & 0x07, min = 0x10000;
		else return 0;
		if (n - i <= k)
			return 0;
		for (unsigned j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
			v = v << 6 | (p[i + j] & 0x3f);
		}
		if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* Read fd to EOF into s (at most SECRET_MAX).  0, EX_NO (too large), EX_SYS. */
static int slurp(int fd, const char *what, struct secret *s, struct merr *e)
{
	char *p = malloc(SECRET_MAX + 2);
	size_t n = 0;
	ssize_t r;

	if (!p)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	while ((r = read(fd, p + n, SECRET_MAX + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			explicit_bzero(p, n);
			free(p);
			return merr_sys(e, what);
		}
		n += (size_t)r;
		if (n > SECRET_MAX) {
			explicit_bzero(p, n);
			free(p);
			return merr_set(e, EX_NO, NULL, "%s: larger than %u bytes", what, SECRET_MAX);
		}
	}
	if (n && p[n - 1] == '\n')
		n--;
	p[n] = 0;
	s->value = p;
	s->len = n;
	return 0;
}

static int from_cmd(const char *cmd, const char *name, struct secret *s, struct merr *e)
{
	char what[SECRET_NAME_MAX + 64];
	int p[2], st, rc;
	pid_t pid;

	snprintf(what, sizeof what, "MVM_SECRET_CMD %s", name);
	if (pipe2(p, O_CLOEXEC) < 0)
		return merr_sys(e, "create a pipe");
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return merr_sys(e, "fork");
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(p[1], 1);
		signal(SIGPIPE, SIG_DFL);
		execlp(cmd, cmd, name, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	rc = slurp(p[0], what, s, e);
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
		secret_free(s);
		return merr_set(e, EX_NO, NULL, "secret %s: MVM_SECRET_CMD (%s) failed (%s %d)", name,
			cmd, WIFEXITED(st) ? "exit status" : "signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	return rc;
}

static int from_store(const char *name, struct secret *s, struct merr *e)
{
	char sub[SECRET_NAME_MAX + 16], path[PATH_MAX];
	struct stat st;
	int fd, rc;

	snprintf(sub, sizeof sub, "secrets/%s", name);
	if ((rc = mvm_path(path, sizeof path, sub, e)) != 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0) {
		if (errno == ENOENT)
			return merr_set(e, EX_NO, NULL, "secret %s: no such secret in the store (%s; "
				"or set MVM_SECRET_CMD)", name, path);
		if (errno == ELOOP)
			return merr_set(e, EX_NO, NULL, "secret %s: %s is a symbolic link", name, path);
		return merr_sys(e, path);
	}
	if (fstat(fd, &st) != 0) {
		close(fd);
		return merr_sys(e, path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return merr_set(e, EX_NO, NULL, "secret %s: %s is not a regular file", name, path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return merr_set(e, EX_NO, NULL, "secret %s: %s has mode %04o; a secret may be "
			"read by its owner only: chmod 600 %s", name, path, (unsigned)(st.st_mode & 07777),
			path);
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		return merr_set(e, EX_NO, NULL, "secret %s: %s is owned by uid %u, not by uid %u "
			"running vm-boot", name, path, (unsigned)st.st_uid, (unsigned)geteuid());
	}
	rc = slurp(fd, path, s, e);
	close(fd);
	return rc;
}

int secret_get(const char *name, struct secret *s, struct merr *e)
{
	const char *cmd = getenv("MVM_SECRET_CMD");
	int rc;

	s->value = NULL;
	s->len = 0;
	if (!name_ok(name))
		return merr_set(e, EX_NO, NULL, "secret \"%.64s\": not a secret name (1 to %u of "
			"[A-Za-z0-9._-], not starting with a dot)", name, SECRET_NAME_MAX);
	rc = cmd && *cmd ? from_cmd(cmd, name, s, e) : from_store(name, s, e);
	if (rc != 0)
		return rc;
	if (memchr(s->value, 0, s->len) || !utf8_ok((const unsigned char *)s->value, s->len)) {
		secret_free(s);
		return merr_set(e, EX_NO, NULL, "secret %s: its value holds a NUL byte or is not "
			"UTF-8", name);
	}
	return 0;
}

void secret_free(struct secret *s)
{
	if (s->value) {
		explicit_bzero(s->value, s->len);
		free(s->value);
	}
	s->value = NULL;
	s->len = 0;
}
