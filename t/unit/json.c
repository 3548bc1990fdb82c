/* t/unit/json.c — the JSON tape's accessors and writer, with every field of
 * a token at its saturated (counted) form
 *
 * The reader (lib/json*.c) keeps a string's length and a container's count
 * in 27 bits of its token and counts them from the document when they do
 * not fit (strings of 128 MiB and more, containers of 2^27 members).  This
 * test compiles the reader with that limit at 3 (JSON_PAY_SAT), so short
 * documents take those paths, and checks the accessors and the canonical
 * bytes against answers written from RFC 8259 / RFC 8785 by hand (checked
 * with the npm `canonicalize` reference: bench/canon.sh installs it).
 */
#define JSON_PAY_SAT 3u
#include "../../lib/json.c"
#include "../../lib/jsonstr.c"
#include "../../lib/jsonput.c"
#include "../../lib/jsonnum.c"
#include "../../lib/jsonkey.c"
#include "../../lib/jsonget.c"
#include "../../lib/jsoncanon.c"

#define UNIT_NAME "json"
#include "check.h"

static struct jdoc *doc(const char *s, unsigned depth, struct merr *e)
{
	struct jopts o = { depth };

	return json_parse(s, strlen(s), &o, e);
}

/* json_canon_over on a copy of s[0..n): 0 and its canonical form (the kept
 * bytes, then out's) in *res, or its error code with e set */
static int canon_over(const char *s, size_t n, struct buf *res, struct merr *e)
{
	char *in = malloc(n + 1);
	struct buf out = BUF_INIT;
	size_t kept = 12345;
	int r;

	if (!in)
		abort();
	memcpy(in, s, n);
	r = json_canon_over(in, n, NULL, &out, &kept, e);
	if (r == 0) {
		buf_put(res, in, kept);
		buf_put(res, out.p, out.len);
	}
	free(in);
	buf_free(&out);
	return r;
}

/* json_canon_stream_fd on s[0..n) read from a file through a window of
 * win bytes: 0 and the canonical form in *res, or the error code, e set */
static int canon_fd(const char *s, size_t n, size_t win, struct buf *res, struct merr *e)
{
	struct jopts o = { .window = win };
	FILE *f = tmpfile();
	int r;

	if (!f || fwrite(s, 1, n, f) != n || fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)
		abort();
	*res = (struct buf)BUF_INIT;
	r = json_canon_stream_fd(fileno(f), &o, res, e);
	fclose(f);
	return r;
}

/* Windows that end everywhere in short texts, and the default. */
static const size_t wins[] = { 1, 2, 3, 4, 5, 7, 8, 13, 0 };
#define NWINS (sizeof wins / sizeof *wins)

/* canonical bytes of s equal want */
static void canon_is(const char *s, const char *want)
{
	struct merr e;
	struct buf out = BUF_INIT;
	struct jdoc *d = doc(s, 0, &e);

	check(d != NULL, "parse %s: %s", s, d ? "" : e.msg);
	if (!d)
		return;
	check(json_canon(d, json_root(d), &out) == 0, "canon %s", s);
	check(out.len == strlen(want) && memcmp(out.p, want, out.len) == 0,
		"canon %s: got %.*s, want %s", s, (int)out.len, out.p ? out.p : "", want);
	buf_free(&out);
	json_free(d);
	/* json_canon_stream (a root array's values written as they are read)
	 * writes the same bytes */
	check(json_canon_stream(s, strlen(s), NULL, &out, &e) == 0 &&
		out.len == strlen(want) && memcmp(out.p, want, out.len) == 0,
		"canon_stream %s: got %.*s, want %s", s, (int)out.len, out.p ? out.p : "", want);
	buf_free(&out);
	/* and so does json_canon_over (written over the input) */
	check(canon_over(s, strlen(s), &out, &e) == 0 &&
		out.len == strlen(want) && memcmp(out.p, want, out.len) == 0,
		"canon_over %s: got %.*s, want %s", s, (int)out.len, out.p ? out.p : "", want);
	buf_free(&out);
	/* and json_canon_stream_fd, whatever the window */
	for (size_t i = 0; i < NWINS; i++) {
		check(canon_fd(s, strlen(s), wins[i], &out, &e) == 0 &&
			out.len == strlen(want) && memcmp(out.p, want, out.len) == 0,
			"canon_fd %s (window %zu): got %.*s, want %s", s, wins[i], (int)out.len,
			out.p ? out.p : "", want);
		buf_free(&out);
	}
}

/* json_canon_over when the output outgrows the input read so far for long
 * (1e20 is 21 bytes written, 4 read: the small buffer carries the rest and
 * is compacted), and an error 20,002 lines down after that */
static void test_over_long(void)
{
	struct buf in = BUF_INIT, want = BUF_INIT, got = BUF_INIT;
	struct merr e1, e2;
	int r;

	buf_puts(&in, "[\n");
	for (int i = 0; i < 20000; i++)
		buf_puts(&in, "1e20,\n");
	buf_puts(&in, "1e20]");
	check(json_canonicalize(in.p, in.len, NULL, &want, &e1) == 0, "canonicalize 20,001 x 1e20");
	r = canon_over(in.p, in.len, &got, &e2);
	check(r == 0 && got.len == want.len && memcmp(got.p, want.p, got.len) == 0,
		"canon_over 20,001 x 1e20: %d, %zu bytes, want %zu", r, got.len, want.len);
	in.len -= 5;
	buf_puts(&in, "x]");
	got.len = 0;
	r = canon_over(in.p, in.len, &got, &e2);
	check(r == EX_DATA && strcmp(e2.where, "20002:1") == 0,
		"canon_over: the error after 20,000 lines is at 20002:1 (%d %s)", r, r ? e2.where : "");
	/* json_canon_stream_fd through windows of 64 bytes and the default */
	for (size_t w = 0; w < 2; w++) {
		struct buf res;

		r = canon_fd(in.p, in.len, w ? 0 : 64, &res, &e2);
		check(r == EX_DATA && strcmp(e2.where, "20002:1") == 0,
			"canon_fd: the error after 20,000 lines is at 20002:1 (%d %s)", r,
			r ? e2.where : "");
		buf_free(&res);
		in.len -= 2;
		buf_puts(&in, "1e20]");
		r = canon_fd(in.p, in.len, w ? 0 : 64, &res, &e2);
		check(r == 0 && res.len == want.len && memcmp(res.p, want.p, res.len) == 0,
			"canon_fd 20,001 x 1e20 (window %d): %d", w ? 0 : 64, r);
		buf_free(&res);
		in.len -= 5;
		buf_puts(&in, "x]");
	}
	buf_free(&in);
	buf_free(&want);
	buf_free(&got);
}

#define SP40 "                                        "

/* json_canon_stream refuses what json_parse refuses, with the same code and
 * message, whether the error is in its first value or after values it has
 * written already */
static void test_stream_errors(void)
{
	static const char *const bad[] = {
		"[1,2,", "[1,2]x", "[[1],[2],[3,]]", "[{\"a\":1},{\"b\":2,\"b\":3}]",
		"[\"ok\",\"\\ud800\"]", "[1,2 3]", "[[[[1]]],[[[2]]],[[[", " [ 1e999 ]",
		"[{\"a\":[1,2]},{\"a\":[1,2]}]]", "[\"\xff\"]", "[1]\n[2]", "{\"a\":[1,}",
		"[0,01]", "[[],{},\"x\",true,false,nul]",
		/* errors lines below values json_canon_over has written over */
		"[\n1,\n  2,\n{\"a\":1,\n\"a\":2}]", "[\n\"x\",\n\n  1,\n  2 3]",
		"[\n[1],\n[2],\n[3,\n]]", "[\"\\u00e9\\u00e9\",\n\"\\u00e9\",\n\n\n 1e999]",
		"[1e20,1e20,1e20,\n1e20,x]", "[\n\n\n\n\n\n\n\n\n\n1,2,3,\n  [[[",
		/* and below windows json_canon_stream_fd has moved past */
		"[1,2]\n\n    \n   ]", "[123,\n4567,\n89 10]", "[\"abc\",\n\"de\\q\"]",
		"[true,\n tru]", "[[1,2,[3]],\n{\"k\":\"v\"},\n {\"k\" 1}]",
		/* in and after string values kept in their canonical form */
		"[\"\\u00e9\\/\\t\\u0001x\",\n\"ab\\u00e9\\ud800\"]",
		"[\"\\ud83d\\ude00\\\"\\u0022\",\n  \"a\\/b\\x\"]",
		"[\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\",\"\\u00e9\xc3\"]",
		"[{\"\\u00e9\":\"\\n\\u00e9\"},\n\"\\u00e9\\u12\"]", "[\"\\/\\/\\/\",\"\\",
		"[\"\\u0041\\u0042\",\n\"\x01\"]", "{\"a\":\"\\u00e9\",\"b\":\"\\udc00\"}",
		/* and with the input's end 40 bytes further */
		"[\"\\u00e9\\/\\t\\u0001xxxxxxxxxxxxxxxxxx\\q\"" SP40 "]",
		"[\"\\u00e9\\/\\t\\u0001xxxxxxxxxxxxx\\u12G4\"" SP40 "]",
		"[\"\\u00e9\\/\\t\\u0001xxxxxxxxxxxxx\\ud800\\u0041\"" SP40 "]",
		"[\"\\u00e9\\/\\t\\u0001xxxxxxxxxxxxx\\ud800x\"" SP40 "]",
		"[\"\\u00e9xxxxxxxxxxxxxxxxxxxxxxxx\\udc00\"" SP40 "]",
		"[\"\\u00e9xxxxxxxxxxx\xc3\xa9xxxxx\xed\xa0\x80\"" SP40 "]",
		"[\"\\u00e9xxxxxxxxxxxxxx\xf4\x90\x80\x80\"" SP40 "]",
		"[\"\\u00e9xxxxxxxxxxxxxx\xe4\xb8\xc3\"" SP40 "]",
		"[\"\\u00e9xxxxxxxxxxxxxx\xc0\x80\"" SP40 "]",
		"[\"\\u00e9xxxxxxxxxxxxxx\x1f\"" SP40 "]",
		"[\"\\u00e9\\\"\",\n\"\\u00e9\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\xff\"" SP40 "]",
	};
	unsigned same = 0;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct merr e1, e2;
		struct buf out = BUF_INIT;
		struct jdoc *d = json_parse(bad[i], strlen(bad[i]), NULL, &e1);
		int r = json_canon_stream(bad[i], strlen(bad[i]), NULL, &out, &e2);
		struct merr e3;
		int r3 = canon_over(bad[i], strlen(bad[i]), &out, &e3);

		json_free(d);
		buf_free(&out);
		for (size_t w = 0; w < NWINS; w++) {
			struct merr e4;
			int r4 = canon_fd(bad[i], strlen(bad[i]), wins[w], &out, &e4);

			buf_free(&out);
			check(!d && r4 == EX_DATA && strcmp(e1.msg, e4.msg) == 0 &&
				strcmp(e1.where, e4.where) == 0,
				"canon_fd %s (window %zu): %d %s %s, want %s %s", bad[i], wins[w],
				r4, r4 ? e4.msg : "", r4 ? e4.where : "", d ? "" : e1.msg,
				d ? "" : e1.where);
		}
		if (!d && r == EX_DATA && e1.code == EX_DATA && strcmp(e1.msg, e2.msg) == 0 &&
		    strcmp(e1.where, e2.where) == 0 && r3 == EX_DATA &&
		    strcmp(e1.msg, e3.msg) == 0 && strcmp(e1.where, e3.where) == 0)
			same++;
		else
			check(0, "stream error %s: parse %s %s, stream %d %s, over %d %s %s", bad[i],
				d ? "accepts" : e1.msg, d ? "" : e1.where, r, r ? e2.msg : "",
				r3, r3 ? e3.msg : "", r3 ? e3.where : "");
	}
	check(same == sizeof bad / sizeof *bad,
		"json_canon_stream and json_canon_over refuse as json_parse does");
	test_over_long();
	check(json_streams(" \n[1]", 5) == 1 && json_streams("{\"a\":[]}", 8) == 0 &&
		json_streams("   ", 3) == 0 && json_streams("", 0) == 0 && json_streams("[", 0) == 0,
		"json_streams: a root array, and nothing beyond len read");
}

static void test_arrays(void)
{
	struct merr e;
	struct jdoc *d = doc("[1,2,3,4,5]", 0, &e);
	jref r = json_root(d), v;
	size_t n = 0;

	check(json_len(d, r) == 5, "array of 5: json_len %zu", json_len(d, r));
	for (v = json_first(d, r); v != JREF_NONE; v = json_next(d, v)) {
		n++;
		check(json_num(d, v) == (double)n, "element %zu", n);
	}
	check(n == 5, "array of 5: %zu elements walked", n);
	check(json_next(d, r) == JREF_NONE, "the root has no next");
	json_free(d);

	d = doc("[[],{},[[1]],{\"z\":{\"y\":[]}},[1,[2,3,4],5]]", 0, &e);
	r = json_root(d);
	check(json_len(d, r) == 5, "nested: json_len %zu", json_len(d, r));
	static const enum jtype types[] = { J_ARR, J_OBJ, J_ARR, J_OBJ, J_ARR };
	n = 0;
	for (v = json_first(d, r); v != JREF_NONE; v = json_next(d, v), n++)
		check(n < 5 && json_type(d, v) == types[n], "nested: element %zu's type", n);
	check(n == 5, "nested: %zu elements walked", n);
	v = json_first(d, r);
	check(json_first(d, v) == JREF_NONE && json_len(d, v) == 0, "[] is empty");
	v = json_next(d, json_next(d, json_next(d, json_next(d, v))));
	check(json_len(d, v) == 3, "[1,[2,3,4],5]: json_len %zu", json_len(d, v));
	check(json_len(d, json_next(d, json_first(d, v))) == 3, "[2,3,4]: json_len");
	json_free(d);
	canon_is("[[],{},[[1]],{\"z\":{\"y\":[]}},[1,[2,3,4],5]]",
		"[[],{},[[1]],{\"z\":{\"y\":[]}},[1,[2,3,4],5]]");
}

static void test_objects(void)
{
	struct merr e;
	struct jdoc *d;
	jref r, k;
	size_t n;
	static const char *const in_order[] = { "b", "a", "c", "d" };

	/* members out of order: a permutation */
	d = doc("{\"b\":1,\"a\":[1,2,3],\"c\":\"hello\",\"d\":\"x\\ny\"}", 0, &e);
	r = json_root(d);
	check(json_len(d, r) == 4, "unsorted: json_len %zu", json_len(d, r));
	n = 0;
	for (k = json_first_key(d, r); k != JREF_NONE; k = json_next_key(d, k), n++)
		check(n < 4 && json_str_eq(d, k, in_order[n]), "unsorted: key %zu in input order", n);
	check(n == 4, "unsorted: %zu keys walked", n);
	check(json_num(d, json_get(d, r, "b")) == 1, "unsorted: get b");
	check(json_len(d, json_get(d, r, "a")) == 3, "unsorted: get a");
	check(json_str_eq(d, json_get(d, r, "c"), "hello"), "unsorted: get c");
	check(json_str_eq(d, json_get(d, r, "d"), "x\ny"), "unsorted: get d");
	check(json_get(d, r, "e") == JREF_NONE && json_get(d, r, "") == JREF_NONE,
		"unsorted: get of absent names");
	json_free(d);
	canon_is("{\"b\":1,\"a\":[1,2,3],\"c\":\"hello\",\"d\":\"x\\ny\"}",
		"{\"a\":[1,2,3],\"b\":1,\"c\":\"hello\",\"d\":\"x\\ny\"}");

	/* members in order: walked */
	d = doc("{\"a\":1,\"b\":{\"c\":[]},\"c\":3,\"d\":4}", 0, &e);
	r = json_root(d);
	check(json_len(d, r) == 4, "sorted: json_len %zu", json_len(d, r));
	check(json_num(d, json_get(d, r, "d")) == 4, "sorted: get d (after an object)");
	check(json_num(d, json_get(d, r, "c")) == 3, "sorted: get c");
	check(json_get(d, r, "e") == JREF_NONE && json_get(d, r, "bb") == JREF_NONE,
		"sorted: get of absent names");
	check(json_type(d, json_get(d, json_get(d, r, "b"), "c")) == J_ARR, "sorted: b.c");
	json_free(d);

	/* an absent member's JREF_NONE is a value of no type to every accessor
	 * (before: json_type read the tape at index 2^32-1) */
	d = doc("{\"a\":{\"b\":1}}", 0, &e);
	r = json_root(d);
	k = json_get(d, r, "x");
	check(json_type(d, k) == J_NONE && strcmp(json_typename(J_NONE), "absent") == 0,
		"absent: type %d", (int)json_type(d, k));
	check(json_str(d, k, &n) == NULL && n == 0 && json_num(d, k) == 0 && json_len(d, k) == 0,
		"absent: no string, number 0, length 0");
	check(json_get(d, json_get(d, r, "x"), "b") == JREF_NONE && json_first(d, k) == JREF_NONE &&
		json_first_key(d, k) == JREF_NONE && json_next(d, k) == JREF_NONE &&
		!json_str_eq(d, k, "") && json_strdup(d, k) == NULL, "absent: nothing inside");
	check(json_num(d, json_get(d, json_get(d, r, "a"), "b")) == 1, "present: a.b");
	json_free(d);

	/* a duplicate found after sorting names the later one */
	d = doc("{\"b\":1,\"a\":2,\"b\":3}", 0, &e);
	check(d == NULL && e.code == EX_DATA && strstr(e.msg, "duplicate member name \"b\"") &&
		strcmp(e.where, "1:14") == 0, "duplicate in an unsorted object: %s", d ? "accepted" : e.msg);
	json_free(d);
	d = doc("[[[1]]]", 2, &e);
	check(d == NULL && e.code == EX_DATA && strstr(e.msg, "nesting deeper than 2 levels"),
		"depth limit: %s", d ? "accepted" : e.msg);
	json_free(d);
}

static void test_strings(void)
{
	struct merr e;
	struct jdoc *d = doc("[\"abcdefgh\",\"ab\\u00e9cdefg\",\"xy\",\"\\t\"]", 0, &e);
	jref v = json_first(d, json_root(d));
	size_t n;
	const char *s = json_str(d, v, &n);

	check(n == 8 && memcmp(s, "abcdefgh", 8) == 0 && json_len(d, v) == 8, "long raw string");
	v = json_next(d, v);
	s = json_str(d, v, &n);
	check(n == 9 && memcmp(s, "ab\xc3\xa9" "cdefg", 9) == 0 && json_len(d, v) == 9,
		"long escaped string: %zu bytes", n);
	v = json_next(d, v);
	check(json_len(d, v) == 2 && json_str_eq(d, v, "xy"), "short string");
	v = json_next(d, v);
	check(json_len(d, v) == 1 && json_str_eq(d, v, "\t"), "short escaped string");
	json_free(d);
	canon_is("[\"abcdefgh\",\"ab\\u00e9cdefg\",\"\\u001f\\/\"]",
		"[\"abcdefgh\",\"ab\xc3\xa9" "cdefg\",\"\\u001f/\"]");
	/* a duplicate name with escapes, at its line and column */
	d = doc("{\"long\\u006eame\":1,\n \"longname\":2}", 0, &e);
	check(d == NULL && strcmp(e.where, "2:2") == 0 && strstr(e.msg, "\"longname\""),
		"duplicate escaped long name: %s", d ? "accepted" : e.msg);
	json_free(d);
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

static void test_numbers(void)
{
	struct merr e;
	struct jdoc *d = doc("[-0,9007199254740991,-9007199254740991,9007199254740992,1.5,"
		"1E2,1.0,0,-1,123456789]", 0, &e);
	static const double want[] = { -0.0, 9007199254740991.0, -9007199254740991.0,
		9007199254740992.0, 1.5, 100, 1, 0, -1, 123456789 };
	jref v;
	size_t i = 0;

	for (v = json_first(d, json_root(d)); v != JREF_NONE; v = json_next(d, v), i++) {
		double x = json_num(d, v);
		check(i < 10 && x == want[i] && !!signbit(x) == !!signbit(want[i]), "number %zu", i);
	}
	check(i == 10, "%zu numbers", i);
	json_free(d);
	canon_is("[-0,9007199254740991,-9007199254740991,9007199254740992,1.5,1E2,1.0,0,-1,"
		"123456789,1e21,-1e-7,4.5e15]",
		"[0,9007199254740991,-9007199254740991,9007199254740992,1.5,100,1,0,-1,"
		"123456789,1e+21,-1e-7,4500000000000000]");
}

/* RFC 8785 section 3.2.3's example names in its sorted order, with U+E000
 * (above the surrogates in UTF-16, below them in code points) added */
static void test_keycmp(void)
{
	static const char *const sorted[] = { "\r", "1", "\xc2\x80", "\xc3\xb6", "\xe2\x82\xac",
		"\xf0\x9f\x98\x80", "\xee\x80\x80x", "\xee\x80\x80xy", "\xef\xac\xb3" };
	size_t n = sizeof sorted / sizeof *sorted;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int r = json_keycmp(sorted[i], strlen(sorted[i]), sorted[j], strlen(sorted[j]));
			check(i < j ? r < 0 : i > j ? r > 0 : r == 0, "keycmp %zu %zu: %d", i, j, r);
		}
}

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

int main(void)
{
	test_utf8();
	test_keycmp();
	test_arrays();
	test_objects();
	test_strings();
	test_put_str();
	test_transcode();
	test_numbers();
	test_stream_errors();
	return check_report();
}
