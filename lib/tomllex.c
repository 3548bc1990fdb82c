/* tomllex.c — the lexical layer of the uv.lock TOML reader: blanks,
 * comments, line ends, strings, keys, UTF-8 (toml_int.h) */
#include <string.h>
#include "toml_int.h"

void tp_blanks(struct tp *t)
{
	while (peek(t) == ' ' || peek(t) == '\t')
		t->i++;
}

/* Blanks, a comment, and (when nl) newlines, over any number of lines. */
void tp_skip(struct tp *t, int nl)
{
	for (;;) {
		tp_blanks(t);
		if (peek(t) == '#')
			while (peek(t) != -1 && peek(t) != '\n')
				t->i++;
		if (!nl)
			return;
		if (peek(t) == '\r' && t->i + 1 < t->n && t->p[t->i + 1] == '\n')
			t->i++;
		if (peek(t) != '\n')
			return;
		t->i++;
		t->line++;
		t->col0 = t->i;
	}
}

/* The end of a line: blanks, a comment, then a newline or the end. */
int tp_eol(struct tp *t)
{
	tp_skip(t, 0);
	if (peek(t) == -1)
		return 0;
	if (peek(t) == '\r' && t->i + 1 < t->n && t->p[t->i + 1] == '\n')
		t->i++;
	if (peek(t) != '\n')
		return bad(t, "unexpected '%c' at the end of a line", peek(t) < ' ' ? '?' : peek(t));
	return 0;
}

static void utf8(struct buf *b, unsigned long c)
{
	if (c < 0x80) {
		buf_putc(b, (char)c);
	} else if (c < 0x800) {
		buf_putc(b, (char)(0xc0 | c >> 6));
		buf_putc(b, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		buf_putc(b, (char)(0xe0 | c >> 12));
		buf_putc(b, (char)(0x80 | (c >> 6 & 0x3f)));
		buf_putc(b, (char)(0x80 | (c & 0x3f)));
	} else {
		buf_putc(b, (char)(0xf0 | c >> 18));
		buf_putc(b, (char)(0x80 | (c >> 12 & 0x3f)));
		buf_putc(b, (char)(0x80 | (c >> 6 & 0x3f)));
		buf_putc(b, (char)(0x80 | (c & 0x3f)));
	}
}

/* A basic or literal one-line string at t->i into b. */
int tp_string(struct tp *t, struct buf *b)
{
	int q = peek(t);

	b->len = 0;
	if (t->i + 2 < t->n && t->p[t->i + 1] == q && t->p[t->i + 2] == q)
		return bad(t, "a multi-line string (not in the subset uv writes)");
	for (t->i++;; t->i++) {
		int c = peek(t);
		if (c == -1 || c == '\n')
			return bad(t, "an unterminated string");
		if (c == q) {
			t->i++;
			return buf_cstr(b) ? 0 : merr_set(t->e, EX_SYS, NULL, "out of memory");
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return bad(t, "a control character in a string");
		if (c != '\\' || q == '\'') {
			buf_putc(b, (char)c);
			continue;
		}
		static const char esc[] = "b\bt\tn\nf\fr\r\"\"\\\\";
		const char *s;
		c = ++t->i < t->n ? (unsigned char)t->p[t->i] : -1;
		if (c > 0 && c != 'u' && c != 'U' && (s = strchr(esc, c)) && (s - esc) % 2 == 0) {
			buf_putc(b, s[1]);
			continue;
		}
		size_t k = c == 'u' ? 4 : c == 'U' ? 8 : 0;
		unsigned long u = 0;
		if (!k || t->i + k >= t->n)
			return bad(t, "an invalid escape in a string");
		for (size_t j = 1; j <= k; j++) {
			char h = t->p[t->i + j];
			int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 :
				h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
			if (d < 0)
				return bad(t, "an invalid \\u escape");
			u = u << 4 | (unsigned long)d;
		}
		if (u == 0 || (u >= 0xd800 && u <= 0xdfff) || u > 0x10ffff)
			return bad(t, "an escape that is not a Unicode scalar value (or is NUL)");
		utf8(b, u);
		t->i += k;
	}
}

/* One key (bare or quoted) into b. */
int tp_key(struct tp *t, struct buf *b)
{
	b->len = 0;
	if (peek(t) == '"' || peek(t) == '\'') {
		if (tp_string(t, b))
			return EX_DATA;
		return b->len && !memchr(b->p, '\0', b->len) ? 0 : bad(t, "an empty or NUL key");
	}
	while (peek(t) > 0 && (strchr("_-", peek(t)) || (peek(t) >= 'a' && peek(t) <= 'z') ||
				 (peek(t) >= 'A' && peek(t) <= 'Z') || (peek(t) >= '0' && peek(t) <= '9')))
		buf_putc(b, t->p[t->i++]);
	if (b->len == 0)
		return bad(t, "a key expected");
	return buf_cstr(b) ? 0 : merr_set(t->e, EX_SYS, NULL, "out of memory");
}


/* Is p[0..n) UTF-8 without overlongs and surrogates?  The offset of the
 * first bad byte, or n. */
size_t tp_utf8_ok(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		size_t k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
			(c & 0xf8) == 0xf0 ? 3 : 9;
		if (k == 9 || i + k >= n + (k == 0) || (k == 1 && c < 0xc2))
			return i;
		unsigned long u = c & (0x7f >> k);
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return i;
			u = u << 6 | (p[i + j] & 0x3f);
		}
		if ((k == 2 && (u < 0x800 || (u >= 0xd800 && u <= 0xdfff))) ||
		    (k == 3 && (u < 0x10000 || u > 0x10ffff)))
			return i;
		i += k + 1;
	}
	return n;
}
