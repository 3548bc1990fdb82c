/* fuzz/canon.c — libFuzzer harness for the JSON reader and RFC 8785 writer.
 * Checks: no crash or sanitizer report on any input, and for every input
 * that is accepted, canon(canon(x)) == canon(x) and canon(x) is accepted;
 * and the tape's accessors agree with each other: every container has
 * json_len() children by json_first/json_next, and json_get() finds every
 * member name (without NUL) of an object at its value; and
 * json_canon_stream (a root array's values written as they are read)
 * writes the same bytes, or refuses with the same code, line:col and
 * message; and so does json_canon_over (the output written over the
 * input's copy: the kept bytes, then the rest), and json_canon_stream_fd
 * (read from a file through a window of 1-32 bytes that moves on). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walk every value; at most one stack entry per input byte (every
 * container takes two). */
static void walk(const struct jdoc *d, size_t size)
{
	jref *stk = malloc((size + 1) * sizeof *stk);
	size_t n = 0;

	if (!stk)
		return;

	stk[n++] = json_root(d);
	while (n > 0) {
		jref v = stk[--n], c;
		enum jtype t = json_type(d, v);
		size_t count = 0;

		if (t != J_ARR && t != J_OBJ)
			continue;
		if (t == J_ARR) {
			for (c = json_first(d, v); c != JREF_NONE; c = json_next(d, c), count++)
				if (json_type(d, c) == J_ARR || json_type(d, c) == J_OBJ)
					stk[n++] = c;
		} else {
			for (c = json_first_key(d, v); c != JREF_NONE; c = json_next_key(d, c), count++) {
				size_t kn;
				const char *k = json_str(d, c, &kn);
				char name[64];

				if (!k)
					abort();
				if (kn < sizeof name && !memchr(k, '\0', kn)) {
					memcpy(name, k, kn);
					name[kn] = '\0';
					if (json_get(d, v, name) != json_value(c))
						abort();   /* json_get disagrees with the walk */
				}
				if (json_type(d, json_value(c)) == J_ARR || json_type(d, json_value(c)) == J_OBJ)
					stk[n++] = json_value(c);
			}
		}
		if (count != json_len(d, v))
			abort();           /* json_len disagrees with the walk */
	}
	free(stk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jopts o = { .max_depth = 256 };
	struct buf a = BUF_INIT, b = BUF_INIT, st = BUF_INIT;
	struct merr e, es;

	struct jdoc *d = json_parse((const char *)data, size, &o, &e);

	if (d)
		walk(d, size);
	json_free(d);
	int rs = json_canon_stream((const char *)data, size, &o, &st, &es);
	struct buf ov = BUF_INIT;
	struct merr eo;
	size_t kept;
	char *in = malloc(size + 1);
	if (!in)
		abort();
	memcpy(in, data, size);
	int ro = json_canon_over(in, size, &o, &ov, &kept, &eo);
	struct jopts ow = { .max_depth = 256, .window = 1 + (size ? data[size - 1] % 32 : 0) };
	struct buf fw = BUF_INIT;
	struct merr ef;
	int fd = memfd_create("canon", 0);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	int rf = json_canon_stream_fd(fd, &ow, &fw, &ef);
	close(fd);
	if (json_canonicalize((const char *)data, size, &o, &a, &e) != 0) {
		if (e.code != EX_DATA)
			abort();   /* only malformed input may be refused */
		if (rs != e.code || strcmp(es.where, e.where) != 0 || strcmp(es.msg, e.msg) != 0)
			abort();   /* streaming refuses as the whole parse does */
		if (ro != e.code || strcmp(eo.where, e.where) != 0 || strcmp(eo.msg, e.msg) != 0)
			abort();   /* and so does writing over the input */
		if (rf != e.code || strcmp(ef.where, e.where) != 0 || strcmp(ef.msg, e.msg) != 0)
			abort();   /* and reading through a window */
		buf_free(&fw);
		free(in);
		buf_free(&ov);
		buf_free(&a);
		buf_free(&st);
		return 0;
	}
	if (rs != 0 || st.len != a.len || (a.len && memcmp(st.p, a.p, a.len) != 0))
		abort();           /* streaming writes the same bytes */
	if (ro != 0 || kept + ov.len != a.len || (kept && memcmp(in, a.p, kept) != 0) ||
	    (ov.len && memcmp(ov.p, a.p + kept, ov.len) != 0))
		abort();           /* and so does writing over the input */
	if (rf != 0 || fw.len != a.len || (a.len && memcmp(fw.p, a.p, a.len) != 0))
		abort();           /* and reading through a window */
	buf_free(&fw);
	free(in);
	buf_free(&ov);
	buf_free(&st);
	if (json_canonicalize(a.p ? a.p : "", a.len, &o, &b, &e) != 0)
		abort();           /* canonical output must be accepted */
	if (a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0))
		abort();           /* and be a fixed point */
	buf_free(&a);
	buf_free(&b);
	return 0;
}
