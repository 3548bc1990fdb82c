/* entry.c — mvm-agent's boot check of the entrypoint marker: the runner it
 * names, resolved under the root, held open once it is a root-owned 0555
 * regular file under WRAPPERS_DIR on /usr's file system, not a shell
 * script (agent.h: entry_check). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agent.h"
#include "buf.h"
#include "io.h"

static void fail(struct entry *en, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct entry *en, const char *fmt, ...)
{
	va_list ap;

	en->ok = 0;
	va_start(ap, fmt);
	vsnprintf(en->detail, sizeof en->detail, fmt, ap);
	va_end(ap);
	if (en->fd >= 0)
		close(en->fd);
	en->fd = -1;
}

/* Is the first line a shell shebang (sh, bash, dash, ash, zsh, ksh, busybox)? */
static int shell_shebang(const char *p, size_t n)
{
	static const char *const shells[] = { "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh",
		"busybox", "csh", "tcsh", "fish", NULL };
	char line[257], *s, *tok, *save = NULL;
	int first = 1;

	if (n < 2 || p[0] != '#' || p[1] != '!')
		return 0;
	n = n > 256 ? 256 : n;
	memcpy(line, p + 2, n - 2);
	line[n - 2] = 0;
	if ((s = strchr(line, '\n')))
		*s = 0;
	/* interpreter, then for env (and env -S) the program it runs */
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		const char *b = strrchr(tok, '/') ? strrchr(tok, '/') + 1 : tok;

		if (tok[0] == '-')
			continue;
		for (const char *const *sh = shells; *sh; sh++)
			if (strcmp(b, *sh) == 0)
				return 1;
		if (!first || strcmp(b, "env") != 0)
			break;
		first = 0;
	}
	return 0;
}

void entry_check(const char *root, const char *etc, int insecure_owner, struct entry *en)
{
	char mpath[PATH_MAX + 16], rpath[2 * PATH_MAX], real[PATH_MAX], want[PATH_MAX + 32], usr[PATH_MAX + 64];
	struct buf b = BUF_INIT;
	struct merr e;
	struct stat st, su;
	char head[256];
	ssize_t hn;
	size_t n, rl;
	char *s;

	memset(en, 0, sizeof *en);
	en->fd = -1;
	snprintf(mpath, sizeof mpath, "%s/entrypoint", etc);
	if (read_file(mpath, &b, &e) != 0) {
		fail(en, "cannot read the entrypoint marker: %.200s", e.msg);
		buf_free(&b);
		return;
	}
	/* trim whitespace */
	s = b.p ? b.p : (char *)"";
	n = b.len;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	while (n && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r'))
		s++, n--;
	if (n == 0 || n >= sizeof en->path || memchr(s, 0, n)) {
		fail(en, "%s", "the entrypoint marker is empty or too long");
		buf_free(&b);
		return;
	}
	memcpy(en->path, s, n);
	en->path[n] = 0;
	buf_free(&b);
	if (en->path[0] != '/') {
		fail(en, "%s", "the entrypoint marker does not hold an absolute path");
		return;
	}
	/* resolve under root and require it to stay under root's wrappers dir */
	snprintf(rpath, sizeof rpath, "%s%s", root, en->path);
	if (!realpath(rpath, real)) {
		fail(en, "cannot resolve the runner: %s", strerror(errno));
		return;
	}
	if (!realpath(*root ? root : "/", want)) {
		fail(en, "cannot resolve the root: %s", strerror(errno));
		return;
	}
	rl = strlen(want);
	if (strcmp(want, "/") == 0)
		rl = 0;
	snprintf(usr, sizeof usr, "%s/usr", rl ? want : "");
	snprintf(want + rl, sizeof want - rl, "%s", WRAPPERS_DIR);
	if (strncmp(real, want, strlen(want)) != 0) {
		fail(en, "the runner is not under %s", WRAPPERS_DIR);
		return;
	}
	en->fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (en->fd < 0) {
		fail(en, "cannot open the runner: %s", strerror(errno));
		return;
	}
	if (fstat(en->fd, &st) != 0) {
		fail(en, "cannot stat the runner: %s", strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(en, "%s", "the runner is not a regular file");
		return;
	}
	if (!insecure_owner && !((st.st_uid == 0 && st.st_gid == 0) ||
	    (geteuid() != 0 && st.st_uid == geteuid()))) {
		fail(en, "%s", "the runner is not owned by root");
		return;
	}
	if (st.st_mode & (S_ISUID | S_ISGID)) {
		fail(en, "%s", "the runner is setuid or setgid");
		return;
	}
	if ((st.st_mode & 07777) != 0555) {
		fail(en, "%s", "the runner's mode is not 0555");
		return;
	}
	if (stat(usr, &su) == 0 && su.st_dev != st.st_dev) {
		fail(en, "%s", "the runner is not on the /usr file system");
		return;
	}
	hn = pread(en->fd, head, sizeof head, 0);
	if (hn < 0) {
		fail(en, "cannot read the runner: %s", strerror(errno));
		return;
	}
	if (shell_shebang(head, (size_t)hn)) {
		fail(en, "%s", "the runner is a shell script");
		return;
	}
	en->ok = 1;
}
