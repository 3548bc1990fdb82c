/* lower.h — the one lowering of a Workload IR into what a build backend
 * needs (mvm-lower(5)); ir-lower(1) prints it */
#ifndef MVM_LOWER_H
#define MVM_LOWER_H

#include "buf.h"
#include "err.h"
#include "ir.h"
#include "json.h"

/* The version of the output format (its "lower_version" member).  A
 * backend refuses a version it does not know; members are only ever
 * added within a version. */
#define LOWER_VERSION 1

/* The code of every refusal: the IR declares something the backends do
 * not deliver into the guest yet. */
#define E_NOT_SUPPORTED "E_NOT_SUPPORTED"

/*
 * Lower the IR d, which must be valid (ir_validate found nothing: the
 * result is undefined otherwise).
 *
 * Every field the backends would not deliver exactly as declared is
 * appended to refused (code E_NOT_SUPPORTED, the field's JSON Pointer,
 * a sentence ending "not supported by this backend yet"), in the order
 * of the normalized IR's canonical form; then nothing is written.  Otherwise the lowering is appended to
 * out as RFC 8785 canonical JSON (no newline).  What is refused and what
 * is written is listed in mvm-lower(5).
 *
 *   return   refused->n   out
 *   0        0            the lowering
 *   0        > 0          unchanged
 *   EX_SYS   any          unspecified (out of memory; e set)
 */
int ir_lower(const struct jdoc *d, unsigned flags, struct buf *out, struct ir_errors *refused,
	struct merr *e);
/* flags: LOWER_DEV writes the wrappers' mode "dev" (tracebacks kept,
 * mvm-build --dev) instead of "prod". */
#define LOWER_DEV 1u

#endif
