/* jsonkey.c — member names: RFC 8785 order (UTF-16 code units), the
 * duplicate check and the sorted permutation of an object that closes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json_int.h"

static size_t tok_offset(const struct jdoc *d, const struct jtok *t)
{
	uint32_t off;

	if (!(t->a & F_X))
		return t->b - 1;
	memcpy(&off, d->dec + t->b - 8, 4);
	return off;
}

int json_keycmp(const char *a, size_t an, const char *b, size_t bn)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	size_t n = an < bn ? an : bn, i = 0;
	unsigned cx, cy;

	/* most names differ in their first byte */
	if (n && x[0] != y[0])
		goto differ;
	while (i + 8 <= n && load64(x + i) == load64(y + i))
		i += 8;
	while (i < n && x[i] == y[i])
		i++;
	if (i == n)
		return an < bn ? -1 : an > bn;
differ:
	/* UTF-8 byte order is code point order.  UTF-16 order differs only
	 * between U+E000..U+FFFF (lead bytes EE, EF) and the supplementary
	 * characters (lead bytes F0-F4, one surrogate pair, D800-DFFF first).
	 * The first differing bytes are both lead bytes or both continuation
	 * bytes of characters with the same lead byte (same class). */
	cx = x[i];
	cy = y[i];
	if (cx >= 0xEE && cy >= 0xEE && (cx >= 0xF0) != (cy >= 0xF0))
		return cx >= 0xF0 ? -1 : 1;
	return cx < cy ? -1 : 1;
}

static int keycmp_tok(const void *pa, const void *pb, void *ctx)
{
	const struct jdoc *d = ctx;
	const struct jtok *ta = &d->t[*(const uint32_t *)pa], *tb = &d->t[*(const uint32_t *)pb];
	const char *a, *b;
	size_t an, bn;
	int r;

	a = tok_str(d, ta, &an);
	b = tok_str(d, tb, &bn);
	r = json_keycmp(a, an, b, bn);
	if (r == 0) /* keep input order among equals, to name the later one */
		r = *(const uint32_t *)pa < *(const uint32_t *)pb ? -1 : 1;
	return r;
}

/* The first 8 bytes of a name as a number that orders names the way
 * json_keycmp does whenever two of them differ: big-endian, zero-padded,
 * with the lead bytes EE-EF moved above F0-F4 (EE, EF -> F3, F4; F0-F4 ->
 * EE-F2; bytes this high are lead bytes only, F5-FF never occur in valid
 * UTF-8).  Equal numbers decide nothing: the names are compared whole. */
static inline uint64_t key_prefix(const struct jdoc *d, const struct jtok *t)
{
	size_t n;
	const char *s = tok_str(d, t, &n);
	const char *lim = (t->a & F_X) ? d->dec + d->ndec : d->in + d->inlen;
	uint64_t w = 0, m;

	if ((size_t)(lim - s) >= 8)
		w = load64((const unsigned char *)s);
	else
		memcpy(&w, s, n < 8 ? n : 8);
	if (n < 8)
		w &= ((uint64_t)1 << (8 * n)) - 1;
	/* bytes >= 0xEE: high bit set and low seven bits + 0x12 reach bit 7 */
	m = ((w & ~HIGHS) + 0x1212121212121212ull) & w & HIGHS;
	if (m) {
		unsigned char b[8];

		memcpy(b, &w, 8);
		for (int i = 0; i < 8; i++)
			if (b[i] >= 0xEE)
				b[i] = (unsigned char)(b[i] >= 0xF0 ? b[i] - 2 : b[i] + 5);
		memcpy(&w, b, 8);
	}
	return __builtin_bswap64(w);
}

static int dup_error(struct parser *ps, uint32_t k1, uint32_t k2)
{
	struct jdoc *d = ps->d;
	uint32_t later = k1 > k2 ? k1 : k2;
	const char *s;
	size_t n, line, col;
	char name[64];

	s = tok_str(d, &d->t[later], &n);
	snprintf(name, sizeof name, "%.*s%s", (int)(n > 40 ? 40 : n), s, n > 40 ? "..." : "");
	for (size_t i = 0; name[i]; i++)
		if ((unsigned char)name[i] < 0x20)
			name[i] = '?';
	jsonp_linecol(d, tok_offset(d, &d->t[later]), &line, &col);
	return merr_setlc(ps->e, EX_DATA, line, col, "duplicate member name \"%s\"", name);
}

static int tok_keycmp(const struct jdoc *d, uint32_t x, uint32_t y)
{
	const char *a, *b;
	size_t an, bn;

	a = tok_str(d, &d->t[x], &an);
	b = tok_str(d, &d->t[y], &bn);
	return json_keycmp(a, an, b, bn);
}

/* The object t's n members are sorted in d->perm from d->nperm: its side
 * entry (end, count, where its order starts) takes t->b's place. */
static void record_order(struct jdoc *d, struct jtok *t, size_t n)
{
	d->ux[d->nux].end = t->b;
	d->ux[d->nux].count = (uint32_t)n;
	d->ux[d->nux].perm = (uint32_t)d->nperm;
	t->b = (uint32_t)d->nux++;
	t->a |= F_X;
	d->nperm += n;
}

/* An object of 2..16 members (keys k[], their prefixes pre[]): the same
 * checks and permutation as below, the names compared whole only when
 * their prefixes are equal. */
static int close_small(struct parser *ps, struct jtok *t, const uint32_t *k, size_t n,
	uint64_t *pre)
{
	struct jdoc *d = ps->d;
	uint32_t *pm;
	size_t i;
	int r;

	for (i = 1; i < n; i++) {
		if (pre[i - 1] < pre[i])
			continue;
		if (pre[i - 1] > pre[i])
			break;
		r = tok_keycmp(d, k[i - 1], k[i]);
		if (r == 0)
			return dup_error(ps, k[i - 1], k[i]);
		if (r > 0)
			break;
	}
	if (i == n) {
		ps->nkeys -= n;
		return 0;
	}
	if (jsonp_grow((void **)&d->perm, &d->capperm, d->nperm + n, sizeof *d->perm) < 0 ||
	    jsonp_grow((void **)&d->ux, &d->capux, d->nux + 1, sizeof *d->ux) < 0)
		return jsonp_oom(ps);
	pm = d->perm + d->nperm;
	memcpy(pm, k, n * sizeof *k);
	for (i = 1; i < n; i++) {   /* insertion sort, stable: equal names keep input order */
		uint32_t x = pm[i];
		uint64_t px = pre[i];
		size_t j = i;

		while (j > 0 && (pre[j - 1] > px ||
		    (pre[j - 1] == px && tok_keycmp(d, pm[j - 1], x) > 0))) {
			pm[j] = pm[j - 1];
			pre[j] = pre[j - 1];
			j--;
		}
		pm[j] = x;
		pre[j] = px;
	}
	for (i = 1; i < n; i++)
		if (pre[i - 1] == pre[i] && tok_keycmp(d, pm[i - 1], pm[i]) == 0)
			return dup_error(ps, pm[i - 1], pm[i]);
	record_order(d, t, n);
	ps->nkeys -= n;
	return 0;
}

int jsonp_close_object(struct parser *ps, struct jtok *t, uint32_t keybase)
{
	struct jdoc *d = ps->d;
	uint32_t *k = ps->keys ? ps->keys + keybase : NULL;   /* {} has no keys yet */
	size_t n = ps->nkeys - keybase, i;
	int sorted = 1;
	uint64_t pre[16];

	if (n <= 16) {
		/* small objects: the prefixes decide most comparisons */
		for (i = 0; i < n; i++)
			pre[i] = key_prefix(d, &d->t[k[i]]);
		return close_small(ps, t, k, n, pre);
	}
	for (i = 1; i < n; i++) {
		const char *a, *b;
		size_t an, bn;
		int r;

		a = tok_str(d, &d->t[k[i - 1]], &an);
		b = tok_str(d, &d->t[k[i]], &bn);
		r = json_keycmp(a, an, b, bn);
		if (r == 0)
			return dup_error(ps, k[i - 1], k[i]);
		if (r > 0) {
			sorted = 0;
			break;
		}
	}
	if (!sorted) {
		uint32_t *pm;

		if (jsonp_grow((void **)&d->perm, &d->capperm, d->nperm + n, sizeof *d->perm) < 0 ||
		    jsonp_grow((void **)&d->ux, &d->capux, d->nux + 1, sizeof *d->ux) < 0)
			return jsonp_oom(ps);
		pm = d->perm + d->nperm;
		memcpy(pm, k, n * sizeof *k);
		if (n <= 16) {
			for (i = 1; i < n; i++) {
				uint32_t x = pm[i];
				size_t j = i;
				while (j > 0 && keycmp_tok(&pm[j - 1], &x, d) > 0) {
					pm[j] = pm[j - 1];
					j--;
				}
				pm[j] = x;
			}
		} else {
			qsort_r(pm, n, sizeof *pm, keycmp_tok, d);
		}
		for (i = 1; i < n; i++) {
			const char *a, *b;
			size_t an, bn;

			a = tok_str(d, &d->t[pm[i - 1]], &an);
			b = tok_str(d, &d->t[pm[i]], &bn);
			if (an == bn && memcmp(a, b, an) == 0)
				return dup_error(ps, pm[i - 1], pm[i]);
		}
		record_order(d, t, n);
	}
	ps->nkeys = keybase;
	return 0;
}
