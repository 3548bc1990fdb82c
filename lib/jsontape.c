/* jsontape.c — the tape's memory (json_int.h) */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "json_int.h"

/* The tape is sized for the worst case up front (len + 1 tokens, see
 * json_int.h), so tokens never move.  Large tapes get their own mapping with
 * transparent huge pages: a 25 MB input's tape then costs a few dozen page
 * faults instead of tens of thousands, and untouched pages cost nothing. */
#define TAPE_MAP_MIN (4u << 20)
#define HUGE_PAGE (2u << 20)

int jsonp_tape_alloc(struct jdoc *d, size_t ntok)
{
	size_t bytes = ntok * sizeof *d->t;

	if (bytes >= TAPE_MAP_MIN) {
		size_t len = bytes + HUGE_PAGE;
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m != MAP_FAILED) {
			char *a = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
#ifdef MADV_HUGEPAGE
			(void)madvise(a, bytes & ~(size_t)(HUGE_PAGE - 1), MADV_HUGEPAGE);
#endif
			d->tmap = m;
			d->tmaplen = len;
			d->t = (struct jtok *)(void *)a;
			d->capt = ntok;
			return 0;
		}
	}
	if (!(d->t = malloc(bytes)))
		return -1;
	d->capt = ntok;
	return 0;
}

void jsonp_tape_free(struct jdoc *d)
{
	if (d->tmap)
		munmap(d->tmap, d->tmaplen);
	else
		free(d->t);
	d->tmap = NULL;
	d->t = NULL;
}

int jsonp_tape(struct jdoc *d, size_t ntok)
{
	struct jtok t0 = d->t[0];

	jsonp_tape_free(d);
	if (jsonp_tape_alloc(d, ntok) < 0)
		return -1;
	d->t[0] = t0;
	return 0;
}
