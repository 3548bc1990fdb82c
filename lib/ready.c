/* ready.c — readiness lines for whoever waits (ready.h) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ready.h"

int ready_detach(struct ready *R, const char *logpath, char line[READY_LINE_MAX], int *status,
	struct merr *e)
{
	int pfd[2], fd;
	size_t n = 0;
	ssize_t r;
	pid_t child;

	*status = 0;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return merr_sys(e, "create a pipe"), -1;
	fflush(stdout);
	if ((child = fork()) < 0) {
		merr_sys(e, "fork");
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (child > 0) {
		close(pfd[1]);
		while (n < READY_LINE_MAX - 1 && (r = read(pfd[0], line + n,
		    READY_LINE_MAX - 1 - n)) != 0)
			if (r > 0)
				n += (size_t)r;
			else if (errno != EINTR)
				break;
		close(pfd[0]);
		line[n] = '\0';
		if (n > 0 && line[n - 1] == '\n')
			return READY_UP;
		while (waitpid(child, status, 0) < 0 && errno == EINTR)
			;
		return READY_DOWN;
	}
	close(pfd[0]);
	R->fd[1] = pfd[1];
	setsid();
	if ((fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0)
		dup2(fd, 0);
	return 0;
}

void ready_tell(struct ready *R, const char *line)
{
	for (int i = 0; i < 2; i++)
		if (R->fd[i] >= 0) {
			if (dprintf(R->fd[i], "%s\n", line) < 0)
				{ /* the reader is gone: keep serving */ }
			close(R->fd[i]);
			R->fd[i] = -1;
		}
}
