/* fuzz/msgpack.c — libFuzzer harness for the MessagePack reader and
 * writer (lib/msgpack.c); vsock-call decodes the guest's results with it,
 * so the input is hostile guest bytes.  Checks (msgpack.h's contract): no
 * crash or sanitizer report; a refusal is EX_DATA (or EX_SYS) with a
 * message; an accepted value's JSON is canonical (RFC 8785: its own
 * canonical form), at most MSGPACK_MAX_DEPTH containers deep (plus one
 * for a {"$bin": ...} object), with unique keys (json_parse refuses
 * duplicates); and the round trip holds: the JSON, written back as
 * MessagePack, is accepted and reads back as the same JSON (when it holds
 * no binary, which the writer does not produce), and that MessagePack is
 * a fixed point of JSON -> MessagePack. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "msgpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf j = BUF_INIT, c = BUF_INIT, m = BUF_INIT, j2 = BUF_INIT, m2 = BUF_INIT;
	struct jopts o = { .max_depth = MSGPACK_MAX_DEPTH + 1 };
	struct merr e = { 0 };
	struct jdoc *d = NULL, *d2 = NULL;
	int rc = msgpack_to_json(data, size, &j, &e);

	if (rc != 0) {
		if ((rc != EX_DATA && rc != EX_SYS) || e.code != rc || !e.msg[0])
			abort();
		goto out;
	}
	if (json_canonicalize(j.p ? j.p : "", j.len, &o, &c, &e) != 0 || !same(&j, &c))
		abort();   /* not canonical JSON, or too deep */
	if (!(d = json_parse(j.p, j.len, &o, &e)))
		abort();
	if (j.len >= 6 && memmem(j.p, j.len, "\"$bin\"", 6))
		goto out;  /* binary: read, never written */
	if (msgpack_from_json(d, json_root(d), &m, &e) != 0)
		abort();   /* what was read can be written */
	if (msgpack_to_json(m.p, m.len, &j2, &e) != 0 || !same(&j, &j2))
		abort();   /* and reads back the same */
	if (!(d2 = json_parse(j2.p, j2.len, &o, &e)) ||
	    msgpack_from_json(d2, json_root(d2), &m2, &e) != 0 || !same(&m, &m2))
		abort();   /* the writer is a fixed point */
out:
	json_free(d);
	json_free(d2);
	buf_free(&j);
	buf_free(&c);
	buf_free(&m);
	buf_free(&j2);
	buf_free(&m2);
	return 0;
}
