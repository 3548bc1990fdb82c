/* archive.c — what the tar and the zip unpackers share: entry names
 * checked, parents made, files opened (archive_int.h) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "archive_int.h"

/* A printable form of an entry name for a message. */
const char *archive_shown(char *dst, size_t dn, const char *s, size_t n)
{
	size_t k = n > 100 ? 100 : n;

	snprintf(dst, dn, "%.*s%s", (int)k, s, n > k ? "..." : "");
	for (char *p = dst; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	return dst;
}

/* Check a relative name (n bytes) and drop the first skip components;
 * the rest in out (a C string, possibly empty).  0 or EX_DATA. */
int archive_clean_name(const char *s, size_t n, int skip, struct buf *out, struct merr *e)
{
	char w[128];
	size_t i = 0;

	out->len = 0;
	if (n == 0 || n > 4095 || s[0] == '/' || memchr(s, '\\', n))
		return merr_set(e, EX_DATA, NULL, "entry \"%s\": not a relative name",
			archive_shown(w, sizeof w, s, n));
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != '/')
			j++;
		size_t cn = j - i;
		for (size_t k = i; k < j; k++)
			if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
				return merr_set(e, EX_DATA, NULL, "entry \"%s\": a control byte in the name",
					archive_shown(w, sizeof w, s, n));
		if (cn == 2 && s[i] == '.' && s[i + 1] == '.')
			return merr_set(e, EX_DATA, NULL, "entry \"%s\": a \"..\" component",
				archive_shown(w, sizeof w, s, n));
		if (!(cn == 0 || (cn == 1 && s[i] == '.'))) {
			if (skip > 0) {
				skip--;
			} else {
				if (out->len)
					buf_putc(out, '/');
				buf_put(out, s + i, cn);
			}
		}
		i = j + 1;
	}
	if (!buf_cstr(out))
		return merr_set(e, EX_SYS, NULL, "out of memory");
	return 0;
}

/* dir/rel's parent directories, created as needed (never through a
 * symlink: lstat says what is there). */
int archive_make_parents(const char *dir, const char *rel, struct buf *full, int last,
	struct merr *e)
{
	struct stat st;

	full->len = 0;
	buf_puts(full, dir);
	for (const char *p = rel;;) {
		const char *q = strchr(p, '/');
		if (!q && !last)
			break;
		buf_putc(full, '/');
		buf_put(full, p, q ? (size_t)(q - p) : strlen(p));
		if (!buf_cstr(full))
			return merr_set(e, EX_SYS, NULL, "out of memory");
		if (mkdir(full->p, 0755) != 0) {
			if (errno != EEXIST)
				return merr_sys(e, full->p);
			if (lstat(full->p, &st) != 0 || !S_ISDIR(st.st_mode))
				return merr_set(e, EX_DATA, NULL, "entry \"%s\": a file and a directory of the same name", rel);
		}
		if (!q)
			break;
		p = q + 1;
	}
	full->len = 0;
	buf_puts(full, dir);
	buf_putc(full, '/');
	buf_puts(full, rel);
	if (!buf_cstr(full))
		return merr_set(e, EX_SYS, NULL, "out of memory");
	return 0;
}

int archive_open_out(const char *dir, const char *rel, int exec, struct buf *full, struct merr *e)
{
	struct stat st;
	int fd;

	if (archive_make_parents(dir, rel, full, 0, e))
		return -1;
	if (lstat(full->p, &st) == 0 && !S_ISREG(st.st_mode)) {
		merr_set(e, EX_DATA, NULL, "entry \"%s\": a directory and a file of the same name", rel);
		return -1;
	}
	fd = open(full->p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, exec ? 0755 : 0644);
	if (fd < 0) {
		merr_sys(e, full->p);
		return -1;
	}
	if (fchmod(fd, exec ? 0755 : 0644) != 0) {
		merr_sys(e, full->p);
		close(fd);
		return -1;
	}
	return fd;
}
