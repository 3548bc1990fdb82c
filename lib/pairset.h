/* pairset.h — a set of string pairs, for the IR's duplicate checks.
 *
 * rule_entrypoints and rule_addons (irentry.c, irrules.c) ask, for each
 * entry, "did an earlier entry have the same (module, function) / (name,
 * alias)?".  Asked pairwise that was quadratic (20,000 functions: 10 s);
 * here each pair seen goes into an open-addressing table with at least
 * twice as many slots as entries, so a look-up is expected O(1) and each
 * rule linear.  The slot comes from SipHash-2-4 (libsodium's
 * crypto_shorthash) under a key drawn once per process: a hostile
 * document cannot be built to make its keys collide.  The second string
 * may be absent (an addon without an alias), which equals only another
 * absent one.  The set holds pointers to the strings, not copies.
 */
#ifndef MVM_PAIRSET_H
#define MVM_PAIRSET_H

#include <stddef.h>

struct strpair {
	const char *a, *b;              /* b NULL: absent; a NULL: free slot */
	size_t an, bn;
};
struct pairset {
	struct strpair *slot;           /* free(slot) when done */
	size_t mask;                    /* slots - 1, slots a power of two */
};

/* A set for at most n pairs.  0, or -1 when memory runs out (the caller
 * sets c->oom). */
int pairset_init(struct pairset *s, size_t n);

/* 1 if the pair was already in the set; else adds it and returns 0.  At
 * most n pairs go into a set made for n (half full at most). */
int pairset_seen(struct pairset *s, const struct strpair *p);

#endif
