/* lockfile_int.h — the parts of the lockfile checks (lockfile.h), private
 * to lib/lockfile.c, lib/lockpy.c and lib/locknode.c.
 *
 * lockfile.c dispatches on the tool and holds what the checks share: the
 * message (lock_say), UTF-8, Subresource Integrity values, names quoted
 * in messages, and reading a lockfile whose place has been checked.
 * lockpy.c checks uv.lock and pip-compile requirements (with their -r/-c
 * includes); locknode.c pnpm-lock.yaml, package-lock.json and yarn.lock.
 * Each lock_check_* is lockfile_check_buf for one tool, on bytes that
 * are valid UTF-8 without NUL.  Nothing here prints or exits.
 */
#ifndef MVM_LOCKFILE_INT_H
#define MVM_LOCKFILE_INT_H

#include <stddef.h>
#include <string.h>
#include "buf.h"
#include "err.h"

/* Write the sentence to detail (size dn); returns LOCK_UNPINNED. */
__attribute__((format(printf, 3, 4)))
int lock_say(char *detail, size_t dn, const char *fmt, ...);

/* p[0..n) is UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF). */
int lock_utf8_ok(const unsigned char *p, size_t n);

/* Subresource Integrity: one or more space-separated "alg-base64" values;
 * SRI_OK when one is a well-formed sha256, sha384 or sha512 digest,
 * SRI_WEAK when only sha1 ones are, else SRI_BAD. */
enum { SRI_OK, SRI_BAD, SRI_WEAK };
int lock_sri_check(const char *s, size_t n);

/* The first bytes of a name for a message, in dst (size dn): up to 80
 * bytes of the characters of names, versions, paths and specifiers, "..."
 * when cut.  Returns dst. */
const char *lock_nm(char *dst, size_t dn, const char *s, size_t n);

/* Read the regular file path (not following a last symlink) into b: 0,
 * LOCK_NOT_FOUND, or EX_SYS with e set. */
int lock_read(const char *path, struct buf *b, struct merr *e);

/* The checks of one tool's lockfile bytes (lockfile_check_buf). */
int lock_check_uv(const char *p, size_t n, char *detail, size_t dn);
int lock_check_pip(const char *p, size_t n, char *detail, size_t dn);
int lock_check_pnpm(const char *p, size_t n, char *detail, size_t dn);
int lock_check_npm(const char *p, size_t n, char *detail, size_t dn);
int lock_check_yarn(const char *p, size_t n, char *detail, size_t dn);

/* The pip lockfile at path (its bytes b: UTF-8 without NUL) of the source
 * directory srcdir, its includes checked through (lockfile_check). */
int lock_pip_tree(const char *srcdir, const char *path, const struct buf *b, char *detail,
	size_t dn, struct merr *e);

/* ---- lines and the bytes in them ---- */

struct lines {
	const char *p, *end;
};

/* The next line (without its \n or \r\n) in *s, *n; 0 at the end. */
static inline int next_line(struct lines *l, const char **s, size_t *n)
{
	const char *e;

	if (l->p >= l->end)
		return 0;
	e = memchr(l->p, '\n', (size_t)(l->end - l->p));
	if (!e)
		e = l->end;
	*s = l->p;
	*n = (size_t)(e - l->p);
	if (*n && (*s)[*n - 1] == '\r')
		(*n)--;
	l->p = e < l->end ? e + 1 : e;
	return 1;
}

/* The number of leading spaces. */
static inline size_t indent(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] == ' ')
		i++;
	return i;
}

/* Strip spaces and tabs from both ends. */
static inline void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* s[0..n) starts with pre. */
static inline int starts(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);

	return n >= k && memcmp(s, pre, k) == 0;
}

/* The first needle in s[0..n), or NULL. */
static inline const char *find(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	if (k == 0 || n < k)
		return NULL;
	for (size_t i = 0; i + k <= n; i++)
		if (s[i] == needle[0] && memcmp(s + i, needle, k) == 0)
			return s + i;
	return NULL;
}

/* n hex digits, of either case. */
static inline int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

#endif
