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
 * Numbers are read here with jsonnum.c's portable digit primitives
 * (JSON_PORTABLE), and checked against strtod; t/unit/numparse checks
 * the library's.
 */
#define JSON_PAY_SAT 3u
#define JSON_PORTABLE      /* jsonnum.c's word-at-a-time digits (the library: SSE2) */
#include "../../lib/json.c"
#include "../../lib/jsonstr.c"
#include "../../lib/jsonput.c"
#include "../../lib/jsonnum.c"
#include "../../lib/jsonkey.c"
#include "../../lib/jsonget.c"
#include "../../lib/jsoncanon.c"

#define UNIT_NAME "json"
#include "check.h"
#include "jsoncheck.h"

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

/* json_canon_stream refuses what json_parse refuses, with the same code and
 * message, whether the error is in its first value or after values it has
 * written already */
static void test_stream_errors(void)
{
	static const char *const bad[] = {
		"[1,2,", "[1,2]x", "[[1],[2],[3,]]", "[{\"a\":1},{\"b\":2,\"b\":3}]",
		"[\"ok\",\"\\ud800\"]", "[1,2 3]", "[[[[1]]],[[[2]]],[[[", " [ 1e999 ]",
		"[{\"a\":[1,2]},{\"a\":[1,2]}]]", "[\"\xff\"]", "[1]\n[2]", "{\"a\":[1,}",
		"[0,01]", "[[],{},\"x\",true,false,nul]", "[[1,2,3,]]", "[[1, 2\n 3]]", "[[1,2,x]]",
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

/* s as the value of "[" + 16 spaces + s + (pad & 1: 40 spaces) + "]",
 * and (pad & 2) after a first value "0," (json.c's loop over an array's
 * numbers, not the value dispatch): the reader's fast path for a text
 * long enough around the number, else jsonp_number_slow.  0 and *v, or
 * EX_DATA and e set. */
static int num_at(const char *s, int pad, double *v, struct merr *e)
{
	char buf[160];
	struct jdoc *d;
	jref r;

	snprintf(buf, sizeof buf, "[%s                %s%s]", pad & 2 ? "0," : "", s,
		pad & 1 ? SP40 : "");
	if (!(d = json_parse(buf, strlen(buf), NULL, e)))
		return e->code;
	r = json_first(d, json_root(d));
	*v = json_num(d, pad & 2 ? json_next(d, r) : r);
	json_free(d);
	return 0;
}

/* Numbers of every length of integer part (1-21 digits), fraction (none,
 * 1-21) and exponent (none, 1-5 digits, signs), each read where the fast
 * path reads it and where jsonp_number_slow does, against strtod (the
 * oracle: glibc's, correctly rounded); the malformed refused by both with
 * the message and column written here. */
static void test_number_paths(void)
{
	static const char *const exps[] = { "", "e5", "E-12", "e+300", "e-0300", "e00009",
		"e-330", "E400" };
	static const struct { const char *s, *msg; int col; } bad[] = {
		{ "01", "leading zero in number", 18 }, { "-01.5", "leading zero in number", 18 },
		{ "-", "invalid number", 18 }, { "-x", "invalid number", 18 },
		{ "1.", "digit expected after decimal point", 20 },
		{ "12.e5", "digit expected after decimal point", 21 },
		{ "1e", "digit expected in exponent", 20 }, { "1.5E+", "digit expected in exponent", 23 },
		{ "2e-x", "digit expected in exponent", 21 },
		{ "1e99999", "number out of range of a double", 18 },
		{ "-123456789.123456789e400", "number out of range of a double", 18 },
	};
	char s[80], dg[] = "98765432109876543210123";
	unsigned n = 0;

	for (int ki = 1; ki <= 21; ki++)
		for (int kf = 0; kf <= 21; kf++)
			for (size_t x = 0; x < sizeof exps / sizeof *exps; x++)
				for (int pad = 0; pad < 4; pad++) {
					struct merr e;
					double v = 0, want;
					int r;

					snprintf(s, sizeof s, "%s%.*s%s%.*s%s", (ki + kf) % 3 ? "" : "-",
						ki, ki == 1 && kf % 2 ? "0" : dg + kf % 3, kf ? "." : "",
						kf, dg + ki % 5, exps[x]);
					want = strtod(s, NULL);
					r = num_at(s, pad, &v, &e);
					if (isinf(want))
						check(r == EX_DATA, "%s: out of range, yet read", s);
					else
						check(r == 0 && memcmp(&v, &want, sizeof v) == 0,
							"%s (%d): %a, strtod %a", s, pad, v, want);
					n++;
				}
	check(n == 21 * 22 * 8 * 4, "%u numbers", n);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		for (int pad = 0; pad < 4; pad++) {
			struct merr e;
			double v;
			char where[16];

			snprintf(where, sizeof where, "1:%d", bad[i].col + (pad & 2 ? 2 : 0));
			check(num_at(bad[i].s, pad, &v, &e) == EX_DATA && strcmp(e.msg, bad[i].msg) == 0 &&
				strcmp(e.where, where) == 0, "%s (%d): %s at %s", bad[i].s, pad,
				e.msg, e.where);
		}
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

int main(void)
{
	test_keycmp();
	test_arrays();
	test_objects();
	test_strings();
	test_numbers();
	test_number_paths();
	test_stream_errors();
	return check_report();
}
