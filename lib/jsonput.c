/* jsonput.c — JSON strings written as RFC 8785 string literals
 *
 * Runs without a byte to escape are found and stored BLK bytes at a time
 * (jsonblk.h); each byte to escape takes its escape from a
 * table.
 */
#include "jsonblk.h"

/* escaped[c]: the 2-byte escape RFC 8785 writes for c (or "\\u" for the
 * controls that have none, then 00XX), 0 for a byte written as it is */
static const char escaped[256][2] = {
	['\b'] = "\\b", ['\t'] = "\\t", ['\n'] = "\\n", ['\f'] = "\\f", ['\r'] = "\\r",
	['"'] = "\\\"", ['\\'] = "\\\\",
	[0] = "\\u", [1] = "\\u", [2] = "\\u", [3] = "\\u", [4] = "\\u", [5] = "\\u",
	[6] = "\\u", [7] = "\\u", [11] = "\\u", [14] = "\\u", [15] = "\\u", [16] = "\\u",
	[17] = "\\u", [18] = "\\u", [19] = "\\u", [20] = "\\u", [21] = "\\u", [22] = "\\u",
	[23] = "\\u", [24] = "\\u", [25] = "\\u", [26] = "\\u", [27] = "\\u", [28] = "\\u",
	[29] = "\\u", [30] = "\\u", [31] = "\\u",
};

/*
 * Up to PUT_CHUNK input bytes at a time are written straight into the
 * buffer, which is first made to hold the worst case: every byte a
 * 6-byte \u00XX, and BLK bytes of slack for the last block's store.
 */
#define PUT_CHUNK 8192

void json_put_str(struct buf *out, const char *s, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
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
			 * they are) */
			while (ce - p >= BLK) {
				unsigned esc, hi;

				blk_masks(p, &esc, &hi);
				memcpy(o, p, BLK);
				if (esc) {
					unsigned k = (unsigned)__builtin_ctz(esc);
					p += k;
					o += k;
					break;
				}
				p += BLK;
				o += BLK;
			}
			if (p >= ce)
				break;
			c = *p++;
			if (!escaped[c][0]) {
				*o++ = (char)c;
				continue;
			}
			memcpy(o, escaped[c], 2);
			o += 2;
			if (escaped[c][1] == 'u') {
				o[0] = '0';
				o[1] = '0';
				o[2] = hexd[c >> 4];
				o[3] = hexd[c & 15];
				o += 4;
			}
		}
		out->len = (size_t)(o - out->p);
	}
	buf_putc(out, '"');
}
