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
	json_linecol(d->in, tok_offset(d, &d->t[later]), &line, &col);
	return merr_setlc(ps->e, EX_DATA, line, col, "duplicate member name \"%s\"", name);
}

int jsonp_close_object(struct parser *ps, struct jtok *t, uint32_t keybase)
{
	struct jdoc *d = ps->d;
	uint32_t *k = ps->keys ? ps->keys + keybase : NULL;   /* {} has no keys yet */
	size_t n = ps->nkeys - keybase, i;
	int sorted = 1;

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
		d->ux[d->nux].end = t->b;
		d->ux[d->nux].count = (uint32_t)n;
		d->ux[d->nux].perm = (uint32_t)d->nperm;
		t->b = (uint32_t)d->nux++;
		t->a |= F_X;
		d->nperm += n;
	}
	ps->nkeys = keybase;
	return 0;
}
