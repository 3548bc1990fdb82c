/* jsondrop.c — giving a mapped input's pages back while the tape grows
 * (json.h: jopts.mapped), and sharing short member names so that the writer
 * does not fault the whole input back */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "json_int.h"

/* A mapped input (jopts.mapped) is looked at every CHECK_TOKS tokens (4 MiB
 * of tape): once the tape is more than 1.9x the input read so far, the
 * input's pages but the last DROP_KEEP bytes are given back to the kernel,
 * so peak RSS is about the tape, not the tape plus the input (deep nesting:
 * three 8-byte tokens per 10 input bytes).  Below that ratio nothing is
 * dropped: the writer would fault the pages back for little gain. */
#ifndef JSON_DROP_CHECK       /* the test build makes these small */
#define JSON_DROP_CHECK (4u << 20)
#define JSON_DROP_KEEP (1u << 20)
#endif
#define CHECK_TOKS (JSON_DROP_CHECK / sizeof(struct jtok))
#define DROP_KEEP ((size_t)JSON_DROP_KEEP)

void jsonp_drop_input(const struct jdoc *d, size_t *from, size_t upto)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), in = (uintptr_t)d->in;
	uintptr_t a = (in + *from + pg - 1) & ~(pg - 1), b = (in + upto) & ~(pg - 1);

	if (upto > d->inlen || b <= a)
		return;
	(void)madvise((void *)a, b - a, MADV_DONTNEED);   /* on failure only RSS stays */
	*from = b - in;
}

int jsonp_tape_check(struct parser *ps)
{
	struct jdoc *d = ps->d;
	size_t read = (size_t)(ps->p - ps->s);

	if (d->nt == d->capt)
		return -1;   /* cannot happen: the bound above */
	if (ps->mapped && read > DROP_KEEP && d->nt * sizeof *d->t * 10 > read * 19) {
		d->drop = 1;
		jsonp_drop_input(d, &ps->dropped, read - DROP_KEEP);
	}
	ps->tcheck = d->capt - d->nt > CHECK_TOKS ? d->nt + CHECK_TOKS : d->capt;
	return 0;
}

/* Once input pages are being dropped, a short member name (up to 8 bytes,
 * no escapes) is made to point at an earlier copy of the same text in the
 * input, when one is in this small table: documents heavy enough in tape
 * to drop their input are mostly names and punctuation, and the writer
 * then reads the few pages holding the first copies instead of faulting
 * the whole input back.  Done when the object closes, after its duplicate
 * check (whose message gives the name's own line:col). */
#define ITAB_BITS 10

struct jintern {
	uint64_t text;
	uint32_t off, len;
};

void jsonp_intern_names(struct parser *ps, const uint32_t *k, size_t n)
{
	struct jdoc *d = ps->d;

	if (!ps->itab && !(ps->itab = calloc((size_t)1 << ITAB_BITS, sizeof *ps->itab)))
		return;   /* only RSS: the names stay where they are */
	for (size_t i = 0; i < n; i++) {
		struct jtok *t = &d->t[k[i]];
		uint32_t len = t->a >> PAY_SHIFT;
		uint64_t w;
		struct jintern *e;

		if ((t->a & F_X) || len == 0 || len > 8 || (size_t)t->b + 8 > d->inlen)
			continue;
		w = load64((const unsigned char *)d->in + t->b);
		if (len < 8)
			w &= ((uint64_t)1 << (8 * len)) - 1;
		e = &ps->itab[((w ^ len) * 0x9E3779B97F4A7C15ull) >> (64 - ITAB_BITS)];
		if (e->off && e->len == len && e->text == w) {
			t->b = e->off;
		} else {
			e->text = w;
			e->off = t->b;
			e->len = len;
		}
	}
}

