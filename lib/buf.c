/* buf.c — growable byte buffers draining into an fd */
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "buf.h"
#include "io.h"

void buf_init_fd(struct buf *b, int fd)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->fd = fd;
	b->err = 0;
	b->sink = NULL;
	b->ctx = NULL;
}

void buf_init_sink(struct buf *b, int (*sink)(void *, const void *, size_t), void *ctx)
{
	buf_init_fd(b, -1);
	b->sink = sink;
	b->ctx = ctx;
}

static int draining(const struct buf *b)
{
	return b->fd >= 0 || b->sink;
}

int buf_flush(struct buf *b)
{
	if (b->err)
		return -1;
	if (!draining(b) || b->len == 0)
		return 0;
	if (b->sink) {
		int r = b->sink(b->ctx, b->p, b->len);
		if (r) {
			b->err = r;
			return -1;
		}
	} else if (write_all(b->fd, b->p, b->len) < 0) {
		b->err = errno ? errno : EIO;
		return -1;
	}
	b->len = 0;
	return 0;
}

int buf_make_room(struct buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->err)
		return -1;
	if (draining(b) && b->len > 0 && b->len + more > BUF_DRAIN) {
		if (buf_flush(b) < 0)
			return -1;
		if (b->cap - b->len >= more)
			return 0;
	}
	if (more > SIZE_MAX / 2 - b->len) {
		b->err = ENOMEM;
		return -1;
	}
	cap = b->cap ? b->cap : 256;
	if (draining(b) && cap < 2 * BUF_DRAIN)
		cap = 2 * BUF_DRAIN;
	while (cap - b->len < more + 1)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = ENOMEM;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	mem_hugepages(p, cap);
	return 0;
}

void mem_hugepages(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	const uintptr_t huge = (uintptr_t)2 << 20;
	uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
	uintptr_t e = ((uintptr_t)p + n) & ~(huge - 1);

	if (n >= MEM_HUGE_MIN && e > a)
		(void)madvise((void *)a, (size_t)(e - a), MADV_HUGEPAGE);   /* advice only */
#else
	(void)p;
	(void)n;
#endif
}

int buf_reserve(struct buf *b, size_t more)
{
	if (b->cap - b->len > more)
		return b->err ? -1 : 0;
	return buf_make_room(b, more);
}

void buf_put(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	buf_put_fast(b, p, n);
}

void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = EINVAL;
		return;
	}
	if (buf_reserve(b, (size_t)n + 1) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *buf_cstr(struct buf *b)
{
	if (buf_reserve(b, 1) < 0)
		return NULL;
	b->p[b->len] = '\0';
	return b->p;
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
