/* buf.h — growable byte buffers, optionally draining into a file descriptor */
#ifndef MVM_BUF_H
#define MVM_BUF_H

#include <stddef.h>

/*
 * A byte buffer.  With fd < 0 it grows in memory.  With fd >= 0 it is an
 * output buffer: whenever it holds more than BUF_DRAIN bytes they are
 * written to fd, so memory stays bounded.  Any failure (allocation or
 * write) is sticky: err holds the errno and later appends do nothing.
 * The bytes are not NUL-terminated unless buf_cstr() is called.
 */
struct buf {
	char *p;
	size_t len, cap;
	int fd;
	int err;
	/* If set, drained bytes go to sink(ctx, ...) instead of fd; it
	 * returns 0, or an errno value. */
	int (*sink)(void *ctx, const void *p, size_t n);
	void *ctx;
};

#define BUF_INIT { NULL, 0, 0, -1, 0, NULL, NULL }
#define BUF_DRAIN (64 * 1024)

void buf_init_fd(struct buf *b, int fd);
void buf_init_sink(struct buf *b, int (*sink)(void *, const void *, size_t), void *ctx);
int buf_reserve(struct buf *b, size_t more);   /* 0, or -1 with b->err set */
void buf_put(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write out everything buffered (fd mode); returns 0 or -1 (b->err). */
int buf_flush(struct buf *b);
/* NUL-terminate (not counted in len); returns b->p or NULL on error. */
char *buf_cstr(struct buf *b);
void buf_free(struct buf *b);

/*
 * Memory of n >= MEM_HUGE_MIN bytes at p (malloc maps blocks that large on
 * their own) gets transparent huge pages for its whole 2 MiB pages: a few
 * faults instead of one per 4 KiB page it fills, which matters where a
 * fault is dear (this project's CI machine is a guest whose faults are).
 * Buffers growing past it get it (buf_make_room), as do the JSON reader's
 * tape and decoded strings.  Only advice: nothing changes if refused.
 */
#define MEM_HUGE_MIN ((size_t)4 << 20)
void mem_hugepages(void *p, size_t n);

/* Called by inline fast paths when the buffer is full. */
int buf_make_room(struct buf *b, size_t more);

static inline void buf_putc(struct buf *b, char c)
{
	if (b->cap == b->len && buf_make_room(b, 1) < 0)
		return;
	b->p[b->len++] = c;
}

static inline void buf_put_fast(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n && buf_make_room(b, n) < 0)
		return;
	__builtin_memcpy(b->p + b->len, p, n);
	b->len += n;
}

#endif
