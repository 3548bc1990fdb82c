/* io.c — whole-input reads, full writes, atomic file replacement */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io.h"

/* Append fd's bytes to b until its end or, with to_size and a regular
 * file, the size it had here (what is appended meanwhile is not read). */
static int read_in(int fd, struct buf *b, int to_size, struct merr *e)
{
	struct stat st;
	size_t limit = SIZE_MAX;
	ssize_t n;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uintmax_t)st.st_size < SIZE_MAX / 2 - b->len) {
		if (buf_reserve(b, (size_t)st.st_size + 1) < 0) {
			errno = b->err;
			return merr_sys(e, "allocate input buffer");
		}
		if (to_size)
			limit = b->len + (size_t)st.st_size;
	}
	while (b->len < limit) {
		if (b->cap - b->len < 4096 && buf_reserve(b, b->cap > 65536 ? b->cap : 65536) < 0) {
			errno = b->err;
			return merr_sys(e, "allocate input buffer");
		}
		size_t room = b->cap - b->len - 1;
		n = read(fd, b->p + b->len, room < limit - b->len ? room : limit - b->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return merr_sys(e, "read");
		}
		if (n == 0)
			break;   /* the end (or, to_size, truncated meanwhile: what there was) */
		b->len += (size_t)n;
	}
	return 0;
}

int read_fd(int fd, struct buf *b, struct merr *e)
{
	return read_in(fd, b, 0, e);
}

int read_file(const char *path, struct buf *b, struct merr *e)
{
	int fd, r;

	if (!path || strcmp(path, "-") == 0)
		return read_fd(0, b, e);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return merr_sys(e, "open");
	r = read_fd(fd, b, e);
	close(fd);
	return r;
}

int read_file_named(const char *path, struct buf *b, struct merr *e)
{
	int rc = read_file(path, b, e);

	if (rc != 0) {
		struct merr was = *e;
		merr_set(e, rc, NULL, "%s: %s", path, was.msg);
	}
	return rc;
}

int in_fd(const char *path, struct merr *e)
{
	int fd = 0;

	if (path && strcmp(path, "-") != 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		merr_sys(e, "open");
	return fd;
}

int in_open(const char *path, struct input *in, struct merr *e)
{
	int fd, r;

	memset(in, 0, sizeof *in);
	in->b = (struct buf)BUF_INIT;
	if ((fd = in_fd(path, e)) < 0)
		return EX_SYS;
	/* up to the size it had when opened, as a mapping would: a file
	 * appended to meanwhile (an audit log) is read to where it was */
	r = read_in(fd, &in->b, 1, e);
	if (fd > 0)
		close(fd);
	in->p = in->b.p ? in->b.p : "";
	in->len = in->b.len;
	return r;
}

void in_close(struct input *in)
{
	buf_free(&in->b);
	in->p = NULL;
	in->len = 0;
}

int write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -1;
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -1;
	close(fd);
	return r;
}

int fsync_parent(const char *path)
{
	char *copy = strdup(path);
	int r;

	if (!copy)
		return -1;
	r = fsync_dir(dirname(copy));
	free(copy);
	return r;
}

int write_atomic(const char *path, const void *data, size_t n, mode_t mode, struct merr *e)
{
	char tmp[PATH_MAX];
	int fd;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= sizeof tmp)
		return merr_set(e, EX_SYS, NULL, "path too long");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return merr_sys(e, "create temporary file");
	if (write_all(fd, data, n) < 0 || fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		merr_sys(e, "write temporary file");
		close(fd);
		unlink(tmp);
		return EX_SYS;
	}
	if (close(fd) < 0) {
		merr_sys(e, "close temporary file");
		unlink(tmp);
		return EX_SYS;
	}
	if (rename(tmp, path) < 0) {
		merr_sys(e, "rename temporary file");
		unlink(tmp);
		return EX_SYS;
	}
	if (fsync_parent(path) < 0)
		return merr_sys(e, "fsync directory");
	return 0;
}

int mkdir_p(const char *path, mode_t mode, struct merr *e)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof buf)
		return merr_set(e, EX_SYS, NULL, "bad directory path");
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST) {
			merr_set(e, EX_SYS, NULL, "unable to create directory %s: %s", buf, strerror(errno));
			return EX_SYS;
		}
		buf[i] = path[i];
	}
	return 0;
}

int close_stdout(struct merr *e)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		merr_sys(e, "write to standard output");
		fclose(stdout);
		return EX_SYS;
	}
	if (fclose(stdout) != 0)
		return merr_sys(e, "write to standard output");
	return 0;
}
