/* pairset.c — a set of string pairs (pairset.h): open addressing, slots
 * from SipHash-2-4 under a per-process key. */
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pairset.h"

static unsigned char pair_key[crypto_shorthash_KEYBYTES];
static pthread_once_t pair_once = PTHREAD_ONCE_INIT;

static void pair_keygen(void)
{
	/* without libsodium's generator the key stays zero: still correct */
	if (sodium_init() >= 0)
		randombytes_buf(pair_key, sizeof pair_key);
}

static uint64_t pair_hash(const struct strpair *p)
{
	unsigned char ha[crypto_shorthash_BYTES], hb[crypto_shorthash_BYTES];
	uint64_t x = 0, y = 0;

	crypto_shorthash(ha, (const unsigned char *)p->a, p->an, pair_key);
	if (p->b)
		crypto_shorthash(hb, (const unsigned char *)p->b, p->bn, pair_key);
	for (int i = 0; i < 8; i++) {
		x = x << 8 | ha[i];
		y = y << 8 | (p->b ? hb[i] : 0xff);
	}
	return x ^ (y * 0x9e3779b97f4a7c15u + (p->b != NULL));
}

int pairset_init(struct pairset *s, size_t n)
{
	size_t cap = 16;

	if (pthread_once(&pair_once, pair_keygen) != 0)
		return -1;
	while (cap / 2 < n) {
		if (cap > SIZE_MAX / 2 / sizeof *s->slot)
			return -1;
		cap *= 2;
	}
	s->slot = calloc(cap, sizeof *s->slot);
	s->mask = cap - 1;
	return s->slot ? 0 : -1;
}

/* Linear probing from the pair's slot to its equal or a free slot. */
int pairset_seen(struct pairset *s, const struct strpair *p)
{
	size_t i = (size_t)pair_hash(p) & s->mask;

	for (; s->slot[i].a; i = (i + 1) & s->mask) {
		const struct strpair *q = &s->slot[i];
		if (q->an == p->an && memcmp(q->a, p->a, p->an) == 0 && !q->b == !p->b &&
		    (!p->b || (q->bn == p->bn && memcmp(q->b, p->b, p->bn) == 0)))
			return 1;
	}
	s->slot[i] = *p;
	return 0;
}
