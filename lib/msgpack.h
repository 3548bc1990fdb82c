/* msgpack.h — JSON <-> MessagePack for call arguments and results
 *
 * The data model is the wrappers' (agent/wrappers/PROTOCOL.md §3): nil,
 * booleans, integers, finite floats, UTF-8 strings, arrays and maps with
 * unique string keys, at most 64 containers deep.  Binary is read (and
 * shown in JSON as {"$bin": "<base64>"}) but never written; extension
 * types, the reserved byte 0xc1 and non-string keys are refused.
 */
#ifndef MVM_MSGPACK_H
#define MVM_MSGPACK_H

#include <stddef.h>
#include "buf.h"
#include "err.h"
#include "json.h"

#define MSGPACK_MAX_DEPTH 64

/* Encode JSON value v of d as MessagePack (smallest encodings; integral
 * numbers within +-2^63 as integers, others as float64). */
int msgpack_from_json(const struct jdoc *d, jref v, struct buf *out, struct merr *e);

/* Decode exactly one MessagePack value from p[0..n) and write it as RFC
 * 8785 canonical JSON.  EX_DATA with e set when the input is not one
 * value of the data model. */
int msgpack_to_json(const void *p, size_t n, struct buf *out, struct merr *e);

#endif
