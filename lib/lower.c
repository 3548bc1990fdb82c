/* lower.c — the one lowering of a Workload IR (see lower.h, mvm-lower(5)) */
#include <stdarg.h>
#include <stdlib.h>
#include "enc.h"
#include "lower.h"
#include "lower_int.h"

int ir_lower(const struct jdoc *d, unsigned flags, struct buf *out, struct ir_errors *refused,
	struct merr *e)
{
	struct buf canon = BUF_INIT, norm = BUF_INIT, o = BUF_INIT;
	struct jdoc *n = NULL;
	char hash[65];
	jref app, fn;
	int rc = 0;

	/* The hash of the IR as given (ir-hash(1)); the rest from its
	 * normalized form, where defaults and null members are settled. */
	if (json_canon(d, json_root(d), &canon) != 0 || canon.err) {
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
		goto done;
	}
	sha256_hex(hash, canon.p ? canon.p : "", canon.len);
	if ((rc = ir_normalize(d, &norm, e)) != 0)
		goto done;
	if (!(n = json_parse(norm.p ? norm.p : "", norm.len, NULL, e))) {
		rc = e->code ? e->code : EX_SYS;
		goto done;
	}
	struct lctx c = { n, refused, BUF_INIT, 0 };
	lower_check(&c, json_root(n), &app, &fn);
	buf_free(&c.ptr);
	if (c.oom) {
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
		goto done;
	}
	if (refused->n)
		goto done;
	if (app == JREF_NONE || (fn == JREF_NONE && lower_command_of(n, app) == JREF_NONE)) {
		rc = merr_set(e, EX_SYS, NULL, "internal error: lowering an IR that is not valid");
		goto done;
	}
	if ((rc = lower_emit(n, app, fn, hash, !!(flags & LOWER_DEV), &o, e)) != 0)
		goto done;
	rc = json_canonicalize(o.p, o.len, NULL, out, e);
done:
	json_free(n);
	buf_free(&canon);
	buf_free(&norm);
	buf_free(&o);
	return rc;
}
