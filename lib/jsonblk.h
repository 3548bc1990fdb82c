/* jsonblk.h — BLK bytes of a string at a time, for the string reader
 * (jsonstr.c) and writer (jsonput.c); private to lib/json*.c
 *
 * SSE2 (the x86-64 baseline, so no run-time dispatch) compares 16 bytes
 * with '"', '\\' and the controls and takes the high bits of all 16 in
 * two instructions; other machines do the same on 8-byte words (SWAR).
 */
#ifndef MVM_JSONBLK_H
#define MVM_JSONBLK_H

#include "json_int.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/*
 * blk_masks(p, &esc, &hi): bit i of esc is set if p[i] is '"', '\\' or a
 * control (< 0x20), bit i of hi if p[i] >= 0x80, for i < BLK.  The lowest
 * bit of esc is exact; the portable version may also set bits above it
 * (a SWAR borrow), so callers only ever use the lowest.
 */
#ifdef __SSE2__
#define BLK 16
static inline void blk_masks(const unsigned char *p, unsigned *esc, unsigned *hi)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i ctl = _mm_set1_epi8(0x1f);
	__m128i m = _mm_or_si128(
		_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
			_mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
		_mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));    /* v <= 0x1f */

	*esc = (unsigned)_mm_movemask_epi8(m);
	*hi = (unsigned)_mm_movemask_epi8(v);
}
#else
#define BLK 8
/* bit 7 of each byte of m to bit i of the result */
static inline unsigned gather_highs(uint64_t m)
{
	return (unsigned)((((m & HIGHS) >> 7) * 0x0102040810204080ull) >> 56);
}

static inline void blk_masks(const unsigned char *p, unsigned *esc, unsigned *hi)
{
	uint64_t w = load64(p);

	*esc = gather_highs(((w - ONES * 0x20) & ~w & HIGHS) |
		haszero8(w ^ (ONES * '"')) | haszero8(w ^ (ONES * '\\')));
	*hi = gather_highs(w);
}
#endif

#endif
