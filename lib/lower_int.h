/* lower_int.h — the parts of ir_lower (lower.h), private to lib/lower*.c.
 *
 * ir_lower (lower.c) hashes and normalizes the IR, then runs the two
 * halves in turn, each on the valid, normalized IR:
 *
 *   lower_check  (lowercheck.c, with lowerschema.c and lowermount.c)
 *                refuses what no backend delivers into the guest
 *                (E_NOT_SUPPORTED at a JSON Pointer, mvm-lower(5)
 *                "Refused"); it appends to c->out and never fails but
 *                for memory (c->oom set).
 *   lower_emit   (loweremit.c, with lowerdrives.c) writes the lowering
 *                (mvm-lower(5)) of an IR that lower_check refused
 *                nothing of.
 *
 * What egress adds to both halves is in loweregress.h.  Nothing here
 * prints or exits.
 */
#ifndef MVM_LOWER_INT_H
#define MVM_LOWER_INT_H

#include <string.h>
#include "buf.h"
#include "err.h"
#include "ir.h"
#include "json.h"

/* The state of lower_check. */
struct lctx {
	const struct jdoc *d;       /* the normalized IR */
	struct ir_errors *out;
	struct buf ptr;             /* the JSON Pointer being looked at */
	int oom;
	int egress;                 /* the app has network.egress */
};

/* ---- the check (refusals) ---- */

/* Everything the backends do not deliver under root, refused (lower.h);
 * *appp set to the app (apps[0]) or JREF_NONE, *primp to its primary
 * function entrypoint or JREF_NONE. */
void lower_check(struct lctx *c, jref root, jref *appp, jref *primp);

/* Append a refusal at the current pointer (+ tok when not NULL); on
 * memory exhaustion c->oom is set instead.  The pointer is unchanged. */
__attribute__((format(printf, 3, 4)))
void lower_refuse(struct lctx *c, const char *tok, const char *fmt, ...);

/* Refuse every member of obj not in the NULL-ended list ok (what: "the
 * app's", ... starts the sentence). */
void lower_only(struct lctx *c, jref obj, const char *const *ok, const char *what);

/* lowerschema.c: refuse what of the JSON Schema s (at the current
 * pointer) is outside the subset the wrappers check (mvm-ir(5) "Schemas"). */
void lower_schema_check(struct lctx *c, jref s);

/* lowermount.c: refuse the app's mounts the backends do not deliver
 * (root: the IR's root, for its volumes). */
void lower_check_mounts(struct lctx *c, jref root, jref app);

/* lowermount.c: refuse a secret_ref env entry k of the app's (its
 * pointer is current) the provisioning cannot deliver. */
void lower_check_secret(struct lctx *c, jref k);

/* o's member k when o is an object, else JREF_NONE. */
static inline jref get(const struct lctx *c, jref o, const char *k)
{
	return o != JREF_NONE && json_type(c->d, o) == J_OBJ ? json_get(c->d, o, k) : JREF_NONE;
}

/* Is v the string s? */
static inline int str_is(const struct lctx *c, jref v, const char *s)
{
	return v != JREF_NONE && json_type(c->d, v) == J_STR && json_str_eq(c->d, v, s);
}

/* Is s[0..n) one of the NULL-ended list names? */
static inline int in(const char *const *names, const char *s, size_t n)
{
	for (; *names; names++)
		if (strlen(*names) == n && memcmp(*names, s, n) == 0)
			return 1;
	return 0;
}

/* ---- the emission ---- */

/* The app's command entrypoint (at most one is lowered), or JREF_NONE. */
jref lower_command_of(const struct jdoc *d, jref app);

/* lowerdrives.c: append to o the members "drives" (the root, then the
 * deps volume when deps, then each host_path and volume mount, named
 * m<INDEX> after its place in the app's mounts: the drive's role,
 * lib/vmm.h), "tmpfs" and "secrets" (names and where they go, never a
 * value; each member only when not empty), and into mt the text of
 * /etc/mvm/mounts, one line a mount for init (agent/init.c):
 * "ROLE TARGET MODE drive" or "- TARGET MODE tmpfs SIZE_MB" (empty when
 * there is no mount).  Never fails: memory exhaustion is left in o->err
 * and mt->err for the caller. */
void lower_emit_mounts(const struct jdoc *d, jref app, int deps, struct buf *o, struct buf *mt);

/* The lowering of the valid, normalized IR d (app, its primary function
 * fn or JREF_NONE for a command-only app), whose original's canonical
 * SHA-256 is hash (64 hex digits): one JSON text appended to o, not yet
 * canonical.  dev: the wrappers' mode "dev".  0, or EX_SYS (out of
 * memory; e set). */
int lower_emit(const struct jdoc *d, jref app, jref fn, const char *hash, int dev,
	struct buf *o, struct merr *e);

#endif
