/* lockfile.c — is a dependency lockfile hash-pinned?  The checks of the
 * formats the tools write are in lockpy.c (uv.lock, pip-compile's
 * requirements.txt) and locknode.c (pnpm-lock.yaml v6/v9,
 * package-lock.json v3, yarn.lock v1); here: what they share (messages,
 * UTF-8, Subresource Integrity values), the tool dispatch, and where a
 * lockfile may be read from. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "io.h"
#include "lockfile.h"
#include "lockfile_int.h"

int lockfile_tool(const char *name, size_t n)
{
	static const char *const names[] = { "uv", "pip_tools", "pnpm", "npm", "yarn", NULL };

	for (int i = 0; names[i]; i++)
		if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0)
			return i;
	return -1;
}

int lock_say(char *detail, size_t dn, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, dn, fmt, ap);
	va_end(ap);
	return LOCK_UNPINNED;
}

int lock_utf8_ok(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t k;
		unsigned cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; }
		else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0F; }
		else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; }
		else return 0;
		if (i + k >= n)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + j] & 0x3F);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* ---- Subresource Integrity values (npm, pnpm, yarn) ---- */

static int b64_ok(const char *s, size_t n, size_t want)
{
	if (n != want)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || (c == '=' && i >= n - 2)))
			return 0;
	}
	return 1;
}

/* One or more space-separated "alg-base64" values; at least one must be a
 * well-formed sha256, sha384 or sha512 digest.  sha1 alone is weak. */
int lock_sri_check(const char *s, size_t n)
{
	int weak = 0, any = 0;
	size_t i = 0;

	while (i < n) {
		size_t j;
		while (i < n && s[i] == ' ')
			i++;
		for (j = i; j < n && s[j] != ' '; j++)
			;
		const char *t = s + i;
		size_t tn = j - i;
		/* an SRI option suffix ("?foo") is allowed and ignored */
		const char *qm = memchr(t, '?', tn);
		if (qm)
			tn = (size_t)(qm - t);
		if (tn) {
			any = 1;
			if ((starts(t, tn, "sha512-") && b64_ok(t + 7, tn - 7, 88)) ||
			    (starts(t, tn, "sha384-") && b64_ok(t + 7, tn - 7, 64)) ||
			    (starts(t, tn, "sha256-") && b64_ok(t + 7, tn - 7, 44)))
				return SRI_OK;
			if (starts(t, tn, "sha1-") && b64_ok(t + 5, tn - 5, 28))
				weak = 1;
		}
		i = j;
	}
	return any && weak ? SRI_WEAK : SRI_BAD;
}

/* The first bytes of a name for a message: up to 80 bytes of the
 * characters package names, versions, paths and specifiers are made of,
 * and nothing after the first other byte, so that a message never quotes
 * free text of the file (a secret in a file that is not a lockfile). */
const char *lock_nm(char *dst, size_t dn, const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && k < 80 && s[k] && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-@/+:=<>!~^ \",", s[k]))
		k++;
	snprintf(dst, dn, "%.*s%s", (int)k, s, n > k ? "..." : "");
	return dst;
}

int lockfile_check_buf(int tool, const char *p, size_t n, char *detail, size_t dn)
{
	if (!lock_utf8_ok((const unsigned char *)p, n))
		return lock_say(detail, dn, "lockfile is not valid UTF-8");
	if (memchr(p, '\0', n))
		return lock_say(detail, dn, "lockfile contains a NUL byte");
	switch (tool) {
	case LOCK_UV: return lock_check_uv(p, n, detail, dn);
	case LOCK_PIP_TOOLS: return lock_check_pip(p, n, detail, dn);
	case LOCK_PNPM: return lock_check_pnpm(p, n, detail, dn);
	case LOCK_NPM: return lock_check_npm(p, n, detail, dn);
	case LOCK_YARN: return lock_check_yarn(p, n, detail, dn);
	}
	return lock_say(detail, dn, "unknown tool");
}

int lockfile_inside(const char *root, const char *path, struct buf *real, struct merr *e)
{
	char *rp = realpath(path, NULL);
	struct stat st;
	size_t k = strlen(root);
	int r;

	if (!rp) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return LOCK_NOT_FOUND;
		return merr_set(e, EX_SYS, NULL, "unable to resolve %s: %s", path, strerror(errno));
	}
	if (!(strncmp(rp, root, k) == 0 && (rp[k] == '/' || (k == 1 && root[0] == '/'))))
		r = LOCK_OUTSIDE;
	else if (stat(rp, &st) != 0 || !S_ISREG(st.st_mode))
		r = LOCK_NOT_FOUND;
	else
		r = LOCK_PINNED;
	if (r == LOCK_PINNED && real) {
		real->len = 0;
		buf_puts(real, rp);
		if (!buf_cstr(real))
			r = merr_set(e, EX_SYS, NULL, "out of memory");
	}
	free(rp);
	return r;
}

int lockfile_resolve(const char *srcdir, const char *lock, struct buf *out, struct merr *e)
{
	size_t n = strlen(lock);
	char *root;
	int r;

	/* relative, and no ".." component */
	if (n == 0 || lock[0] == '/')
		return LOCK_OUTSIDE;
	for (const char *c = lock; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return LOCK_OUTSIDE;
	}
	root = realpath(srcdir, NULL);
	if (!root) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return LOCK_NOT_FOUND;
		return merr_set(e, EX_SYS, NULL, "unable to resolve %s: %s", srcdir, strerror(errno));
	}
	out->len = 0;
	buf_puts(out, root);
	buf_putc(out, '/');
	buf_puts(out, lock);
	if (!buf_cstr(out)) {
		free(root);
		return merr_set(e, EX_SYS, NULL, "out of memory");
	}
	r = lockfile_inside(root, out->p, out, e);
	free(root);
	return r;
}

/* Read a regular file whose place has been checked. */
int lock_read(const char *path, struct buf *b, struct merr *e)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);

	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return LOCK_NOT_FOUND;
		return merr_set(e, EX_SYS, NULL, "unable to open lockfile %s: %s", path,
			strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return LOCK_NOT_FOUND;
	}
	if (read_fd(fd, b, e) != 0) {
		char msg[sizeof e->msg];
		snprintf(msg, sizeof msg, "%s", e->msg);
		close(fd);
		return merr_set(e, EX_SYS, NULL, "lockfile %s: %s", path, msg);
	}
	close(fd);
	return 0;
}

int lockfile_check(int tool, const char *srcdir, const char *lock, char *detail, size_t dn,
	struct merr *e)
{
	struct buf path = BUF_INIT, b = BUF_INIT;
	int r = lockfile_resolve(srcdir, lock, &path, e);

	if (r == 0)
		r = lock_read(path.p, &b, e);
	if (r == 0 && tool == LOCK_PIP_TOOLS && lock_utf8_ok((const unsigned char *)(b.p ? b.p : ""), b.len) &&
	    !(b.len && memchr(b.p, '\0', b.len))) {
		r = lock_pip_tree(srcdir, path.p, &b, detail, dn, e);
	} else if (r == 0) {
		r = lockfile_check_buf(tool, b.p ? b.p : "", b.len, detail, dn);
	}
	buf_free(&b);
	buf_free(&path);
	return r;
}
