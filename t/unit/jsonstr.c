/* t/unit/jsonstr.c — JSON strings: the reader's UTF-8 check, the RFC 8785
 * writer's escapes, and the streaming writers' transcoding of escaped
 * string values straight to their RFC 8785 form (lib/jsonstr.c, jsonchr.h,
 * jsonput.c), against answers written here from RFC 3629 and RFC 8785 by
 * hand.
 */
#include "../../lib/json.c"
#include "../../lib/jsonstr.c"
#include "../../lib/jsonput.c"
#include "../../lib/jsonnum.c"
#include "../../lib/jsonkey.c"
#include "../../lib/jsonget.c"
#include "../../lib/jsoncanon.c"

#define UNIT_NAME "jsonstr"
#include "check.h"
#include "jsoncheck.h"

/* RFC 3629 section 4's grammar, one rule at a time: the length of the
 * UTF8-char at b[0..n), or 0 */
static size_t rfc3629_char(const unsigned char *b, size_t n)
{
	unsigned c = b[0];
#define TAIL(i) (n > (i) && b[i] >= 0x80 && b[i] <= 0xBF)
#define IN(i, lo, hi) (n > (i) && b[i] >= (lo) && b[i] <= (hi))
	if (c >= 0xC2 && c <= 0xDF)
		return TAIL(1) ? 2 : 0;
	if ((c == 0xE0 && IN(1, 0xA0, 0xBF)) || (c >= 0xE1 && c <= 0xEC && TAIL(1)) ||
	    (c == 0xED && IN(1, 0x80, 0x9F)) || (c >= 0xEE && c <= 0xEF && TAIL(1)))
		return TAIL(2) ? 3 : 0;
	if ((c == 0xF0 && IN(1, 0x90, 0xBF)) || (c >= 0xF1 && c <= 0xF3 && TAIL(1)) ||
	    (c == 0xF4 && IN(1, 0x80, 0x8F)))
		return TAIL(2) && TAIL(3) ? 4 : 0;
	return 0;
#undef TAIL
#undef IN
}

/* The reader's UTF-8 check (a 32-bit word's bits, or byte by byte near the
 * end) against the grammar, on every lead byte >= 0x80 with every second
 * and third byte and a fourth byte of each of its four top-bit classes,
 * and on each of those cut to 1-3 bytes (the end of the input). */
static void test_utf8(void)
{
	unsigned char b[4];
	unsigned long bad = 0, n = 0;
	static const unsigned char fourth[] = { 0x3F, 0x7F, 0x80, 0xBF, 0xC0 };

	for (unsigned a = 0x80; a < 0x100; a++)
		for (unsigned x = 0; x < 0x100; x++)
			for (unsigned y = 0; y < 0x100; y++)
				for (size_t f = 0; f < sizeof fourth; f++) {
					b[0] = (unsigned char)a;
					b[1] = (unsigned char)x;
					b[2] = (unsigned char)y;
					b[3] = fourth[f];
					for (size_t len = f ? 4 : 1; len <= 4; len++) {
						n++;
						if (utf8_seq(b, b + len) != rfc3629_char(b, len) && bad++ < 5)
							check(0, "utf8_seq %02x %02x %02x %02x (%zu bytes)",
								a, x, y, fourth[f], len);
					}
				}
	check(bad == 0, "utf8_seq: %lu of %lu differ from RFC 3629", bad, n);
}

/*
 * json_put_str against RFC 8785 section 3.2.2.2, written out here: the
 * five controls with a short form as \b \t \n \f \r, the other controls
 * below 0x20 as \u00xx in lower-case hex, '"' and '\\' as \" and \\, every
 * other byte (DEL, non-ASCII) as it is.  Each byte 0x00-0x7f and 0xc3 0xa9
 * after 0 to 40 plain bytes, so the byte to escape falls at every offset of
 * the writer's 16-byte blocks and in its last, short block, with more text
 * after it or none.
 */
static void test_put_str(void)
{
	static const char shortform[32] = { [8] = 'b', [9] = 't', [10] = 'n', [12] = 'f',
		[13] = 'r' };
	unsigned c, pad, tail, bad = 0;

	for (c = 0; c < 0x81; c++)
		for (pad = 0; pad <= 40; pad++)
			for (tail = 0; tail <= 17; tail += 17) {
				char in[64], want[128];
				size_t n = 0, w = 0;
				struct buf out = BUF_INIT;

				memset(in, 'x', pad);
				n = pad;
				want[w++] = '"';
				memset(want + w, 'x', pad);
				w += pad;
				if (c == 0x80) {    /* U+00E9 */
					in[n++] = (char)0xc3, in[n++] = (char)0xa9;
					want[w++] = (char)0xc3, want[w++] = (char)0xa9;
				} else if (c < 0x20 && shortform[c]) {
					in[n++] = (char)c;
					want[w++] = '\\', want[w++] = shortform[c];
				} else if (c < 0x20) {
					in[n++] = (char)c;
					w += (size_t)sprintf(want + w, "\\u%04x", c);
				} else if (c == '"' || c == '\\') {
					in[n++] = (char)c;
					want[w++] = '\\', want[w++] = (char)c;
				} else {
					in[n++] = (char)c;
					want[w++] = (char)c;
				}
				memset(in + n, 'y', tail);
				n += tail;
				memset(want + w, 'y', tail);
				w += tail;
				want[w++] = '"';
				json_put_str(&out, in, n);
				if (out.len != w || memcmp(out.p, want, w) != 0)
					bad++;
				buf_free(&out);
			}
	check(bad == 0, "json_put_str: %u of 10,578 strings not as RFC 8785 writes them", bad);
}

/*
 * String values with escapes, at every offset of the 16-byte blocks and in
 * the last, short one (after 0-18 bytes, or 18 and a 2-byte character),
 * with text after them or none: each escape and the
 * RFC 8785 form written here by hand (section 3.2.2.2: '"', '\\' and the
 * controls escaped, the five with a short form as that, the others as
 * \u00xx in lower case; every other code point as its UTF-8).  canon_is
 * checks json_canon (decoded, then escaped) and the streaming writers
 * (which transcode the escapes).
 */
static void test_transcode(void)
{
	static const char *const esc[][2] = {
		{ "\\\"", "\\\"" }, { "\\\\", "\\\\" }, { "\\/", "/" }, { "\\b", "\\b" },
		{ "\\f", "\\f" }, { "\\n", "\\n" }, { "\\r", "\\r" }, { "\\t", "\\t" },
		{ "\\u0000", "\\u0000" }, { "\\u0008", "\\b" }, { "\\u000A", "\\n" },
		{ "\\u000b", "\\u000b" }, { "\\u001F", "\\u001f" }, { "\\u0022", "\\\"" },
		{ "\\u005c", "\\\\" }, { "\\u002f", "/" }, { "\\u0041", "A" }, { "\\u007F", "\x7f" },
		{ "\\u0080", "\xc2\x80" }, { "\\u00e9", "\xc3\xa9" }, { "\\u07FF", "\xdf\xbf" },
		{ "\\u0800", "\xe0\xa0\x80" }, { "\\u2028", "\xe2\x80\xa8" },
		{ "\\uFFFF", "\xef\xbf\xbf" }, { "\\ud800\\udc00", "\xf0\x90\x80\x80" },
		{ "\\uDBFF\\uDFFF", "\xf4\x8f\xbf\xbf" }, { "\\ud83d\\ude00", "\xf0\x9f\x98\x80" },
	};

	for (size_t i = 0; i < sizeof esc / sizeof *esc; i++)
		for (unsigned pad = 0; pad <= 20; pad += pad == 18 ? 2 : 1)
			for (unsigned tail = 0; tail <= 51; tail += 17) {
				char in[128], want[128];

				/* and with the input's end 40 bytes further (tail >= 34) */
				snprintf(in, sizeof in, "[\"%.*s%s%.*s\",1%s]", (int)pad,
					"xxxxxxxxxxxxxxxxxx\xc3\xa9", esc[i][0], (int)(tail % 34),
					"yyyyyyyyyyyyyyyyyyy", tail >= 34 ? SP40 : "");
				snprintf(want, sizeof want, "[\"%.*s%s%.*s\",1]", (int)pad,
					"xxxxxxxxxxxxxxxxxx\xc3\xa9", esc[i][1], (int)(tail % 34),
					"yyyyyyyyyyyyyyyyyyy");
				canon_is(in, want);
			}
	/* UTF-8 sequences of 2, 3 and 4 bytes at every offset of the block
	 * after an escape, ending in it or past it */
	for (size_t i = 0; i < 3; i++)
		for (unsigned pad = 0; pad <= 20; pad++) {
			static const char *const seq[] = { "\xc3\xa9", "\xe4\xb8\xad",
				"\xf0\x9f\x98\x80" };
			char in[160], want[160];

			snprintf(in, sizeof in, "[\"\\t%.*s%syyyyyyyyyyyyyyyyyyyy\",1" SP40 "]",
				(int)pad, "xxxxxxxxxxxxxxxxxxxx", seq[i]);
			snprintf(want, sizeof want, "[\"\\t%.*s%syyyyyyyyyyyyyyyyyyyy\",1]", (int)pad,
				"xxxxxxxxxxxxxxxxxxxx", seq[i]);
			canon_is(in, want);
		}
	/* several in a row, in a value and in a member name (decoded there:
	 * it sorts after "e"), in the streaming writers' objects */
	canon_is("[{\"\\u00e9\":\"\\u00e9\\n\\/\\u0022\",\"e\":[\"\\/\\t\\u0001\"]},\"\\\\\\\\\"]",
		"[{\"e\":[\"/\\t\\u0001\"],\"\xc3\xa9\":\"\xc3\xa9\\n/\\\"\"},\"\\\\\\\\\"]");
}

int main(void)
{
	test_utf8();
	test_put_str();
	test_transcode();
	return check_report();
}
