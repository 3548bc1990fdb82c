/* jsonover.c — json_canon_over: a root array's canonical form written into
 * the input's own memory, over the values already read
 *
 * Why: the output of a 25 MB input is 20-25 MB of memory the kernel must
 * fault in and zero, and on a guest whose faults are dear (this project's
 * CI machine) that was half of ir-canon's time on long strings.  The
 * bytes before the parser's position are never looked at again once the
 * value they held is written (json.c: stream_value), so the output goes
 * there, through a small buffer (out) that holds what does not fit yet.
 * The one thing the old bytes are still needed for is the LINE:COL of a
 * later error: their newlines are counted before they are written over.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "json_int.h"

/* The number of '\n' in p[0..n): each 16-byte block's matches (-1 a
 * byte) are subtracted from byte counters, summed (psadbw) every 255
 * blocks before they can wrap; no popcount, which without -mpopcnt is a
 * libgcc call per block. */
static size_t count_nl(const char *p, size_t n)
{
	size_t c = 0, i = 0;
#ifdef __SSE2__
	const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();

	while (i + 16 <= n) {
		__m128i acc = zero, sum;
		size_t stop = n - i >= 255 * 16 ? i + 255 * 16 : n - (n - i) % 16;

		for (; i < stop; i += 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(x, nl));
		}
		sum = _mm_sad_epu8(acc, zero);
		c += (size_t)_mm_cvtsi128_si64(sum) + (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sum, sum));
	}
#endif
	for (; i < n; i++)
		c += p[i] == '\n';
	return c;
}

void jsonp_linecol(const struct jdoc *d, size_t off, size_t *line, size_t *col)
{
	const struct jgone *g = &d->gone;
	const char *p = d->in + g->from, *end = d->in + off, *nl;
	size_t l = 1 + g->lines, bol = g->bol;

	if (off < g->from)   /* not reached: see json_int.h */
		end = p;
	for (; (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
		l++;
		bol = g->base + (size_t)(nl + 1 - d->in);
	}
	*line = l;
	*col = g->base + (size_t)(end - d->in) - bol + 1;
}

void jsonp_forget(struct jdoc *d, size_t n)
{
	const char *at = d->in + d->gone.from;
	size_t c = count_nl(at, n);

	if (c) {
		d->gone.lines += c;
		d->gone.bol = d->gone.base + (size_t)((const char *)memrchr(at, '\n', n) + 1 - d->in);
	}
}

/* Out's bytes before ov->head are moved into the input: drop them. */
static void drop_head(struct buf *out, struct jover *ov)
{
	memmove(out->p, out->p + ov->head, out->len - ov->head);
	out->len -= ov->head;
	ov->head = 0;
}

void jsonp_over_move(struct jdoc *d, struct buf *out, size_t dead)
{
	struct jover *ov = d->ov;
	size_t n = out->len - ov->head;

	if (n > dead - d->gone.from)
		n = dead - d->gone.from;
	jsonp_forget(d, n);
	memcpy(ov->in + d->gone.from, out->p + ov->head, n);
	d->gone.from += n;
	ov->head += n;
	/* a run of values longer written than read: keep out small */
	if (ov->head == out->len || (ov->head >= BUF_DRAIN && ov->head >= out->len / 2))
		drop_head(out, ov);
}

int json_canon_over(char *in, size_t len, const struct jopts *o, struct buf *out, size_t *kept,
	struct merr *e)
{
	struct jover ov = { in, 0, 0 };
	int r;

	*kept = 0;
	if (!json_streams(in, len))
		return json_canonicalize(in, len, o, out, e);
	r = jsonp_canon_stream(in, len, o, out, &ov, NULL, e);
	if (r == 0 && ov.head)   /* what did not fit: to the front of out */
		drop_head(out, &ov);
	*kept = ov.kept;
	return r;
}
