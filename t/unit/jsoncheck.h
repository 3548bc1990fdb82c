/* t/unit/jsoncheck.h — the JSON unit tests' helpers: a document parsed,
 * and canonical bytes checked through each of lib/'s four writers
 * (json_canon of a parsed document, json_canon_stream, json_canon_over,
 * json_canon_stream_fd through windows of every small size).  Included
 * after the lib/json*.c sources and check.h. */
#ifndef MVM_UNIT_JSONCHECK_H
#define MVM_UNIT_JSONCHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 40 spaces: the input's end that far from a value */
#define SP40 "                                        "

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

#endif
