/* jsonput.c — JSON strings written as RFC 8785 string literals
 *
 * Runs without a byte to escape are found and stored BLK bytes at a time
 * (jsonblk.h); each byte to escape takes its escape from a
 * table.
 */
#include "jsonblk.h"

/* jsonp_esc[c] (json_int.h): the escape RFC 8785 writes for c in its first
 * jsonp_esc[c][7] bytes (2, or 6 for the controls without a 2-byte form:
 * \u00XX, lower case hex), or jsonp_esc[c][7] == 0 for a byte written as it
 * is.  Stored 8 bytes at a time, so the writer's slack covers the 2 bytes
 * past a \u00XX. */
#define E2(c) { '\\', c, 0, 0, 0, 0, 0, 2 }
#define EU(h, l) { '\\', 'u', '0', '0', h, l, 0, 6 }
const char jsonp_esc[256][8] = {
	['\b'] = E2('b'), ['\t'] = E2('t'), ['\n'] = E2('n'), ['\f'] = E2('f'),
	['\r'] = E2('r'), ['"'] = E2('"'), ['\\'] = E2('\\'),
	[0] = EU('0', '0'), [1] = EU('0', '1'), [2] = EU('0', '2'), [3] = EU('0', '3'),
	[4] = EU('0', '4'), [5] = EU('0', '5'), [6] = EU('0', '6'), [7] = EU('0', '7'),
	[11] = EU('0', 'b'), [14] = EU('0', 'e'), [15] = EU('0', 'f'), [16] = EU('1', '0'),
	[17] = EU('1', '1'), [18] = EU('1', '2'), [19] = EU('1', '3'), [20] = EU('1', '4'),
	[21] = EU('1', '5'), [22] = EU('1', '6'), [23] = EU('1', '7'), [24] = EU('1', '8'),
	[25] = EU('1', '9'), [26] = EU('1', 'a'), [27] = EU('1', 'b'), [28] = EU('1', 'c'),
	[29] = EU('1', 'd'), [30] = EU('1', 'e'), [31] = EU('1', 'f'),
};

/*
 * Up to PUT_CHUNK input bytes at a time are written straight into the
 * buffer, which is first made to hold the worst case: every byte a
 * 6-byte \u00XX, and BLK bytes of slack for the last block's store.
 */
#define PUT_CHUNK 8192

void json_put_str(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	buf_putc(out, '"');
	while (p < e) {
		const unsigned char *ce = e - p > PUT_CHUNK ? p + PUT_CHUNK : e;
		char *o;

		if (buf_reserve(out, 6 * (size_t)(ce - p) + BLK) < 0)
			return;
		o = out->p + out->len;
		while (p < ce) {
			unsigned c;

			/* runs without a byte to escape, a block at a time,
			 * stored as loaded (the non-ASCII bytes are written as
			 * they are); the block's first byte to escape, if any,
			 * is written at once */
			while (ce - p >= BLK) {
				unsigned esc, hi;

				blk_masks(p, &esc, &hi);
				memcpy(o, p, BLK);
				if (esc) {
					unsigned k = (unsigned)__builtin_ctz(esc);

					c = p[k];
					p += k + 1;
					memcpy(o + k, jsonp_esc[c], 8);
					o += k + (unsigned char)jsonp_esc[c][7];
					goto next;
				}
				p += BLK;
				o += BLK;
			}
			if (p >= ce)
				break;
			/* the last short block, a byte at a time */
			c = *p++;
			if (!jsonp_esc[c][7]) {
				*o++ = (char)c;
				continue;
			}
			memcpy(o, jsonp_esc[c], 8);
			o += (unsigned char)jsonp_esc[c][7];
		next:;
		}
		out->len = (size_t)(o - out->p);
	}
	buf_putc(out, '"');
}
