/* ir_int.h — the parts of the Workload IR library (ir.h), private to
 * lib/ir*.c.
 *
 * The model is described once, as tables of shapes (irmodel.c); the
 * structural check (irshape.c) and the normalizer (irnorm.c) both walk
 * those tables, so they cannot disagree about which fields exist or what
 * their defaults are.  ir_validate (irrules.c) runs the structural check,
 * then the semantic rules (irrules.c, irentry.c, with the string
 * predicates of irmatch.c), appending to a struct vctx's error list
 * (ir.c).  man/man5/mvm-ir.5 documents the same model;
 * schemas/workload.schema.json is its JSON Schema.  Nothing here prints or
 * exits.
 */
#ifndef MVM_IR_INT_H
#define MVM_IR_INT_H

#include <stddef.h>
#include <string.h>
#include "buf.h"
#include "ir.h"
#include "json.h"

/* ---- the model (irmodel.c) ---- */

enum sk {
	K_STR,      /* a string, with S_ checks */
	K_BOOL,
	K_INT,      /* an integral number in [min, max] */
	K_ANY,      /* any JSON value, not looked into */
	K_OBJ,      /* any JSON object, not looked into */
	K_ARR,      /* an array of elem */
	K_MAP,      /* an object whose member values are elem */
	K_STRUCT,   /* an object with exactly the fields f */
	K_TAGGED,   /* an object with "kind" naming one of v */
	K_ENUM,     /* one of the strings e */
	K_NETMODE,  /* network mode: one of the strings e, or an object with
	             * the fields f ({"custom":{...}}) */
};

#define S_NONEMPTY 0x01u   /* K_STR: not "" */
#define S_ABS      0x02u   /* K_STR: an absolute path */
#define S_DIGEST   0x04u   /* K_STR: sha256:<64 lowercase hex> */
#define S_OCIREF   0x08u   /* K_STR: an image reference without tag or digest */
#define S_ENVKEY   0x10u   /* K_MAP: keys are environment variable names */
#define S_MIN1     0x20u   /* K_ARR: at least one element */

struct field;
struct variant;

struct shape {
	enum sk k;
	unsigned fl;
	const struct shape *elem;
	const struct field *f;
	const struct variant *v;
	const char *const *e;
	double min, max;
};

/* Field flags.  A field that is neither F_REQ nor F_ALWAYS is omitted
 * from the normalized IR when absent or equal to def. */
#define F_REQ    0x01u   /* must be present */
#define F_NULL   0x02u   /* null means absent */
#define F_ALWAYS 0x04u   /* always written: def when absent */
#define F_DEPS   0x08u   /* app dependencies: presence checked by rule 24 */

struct field {
	const char *name;
	const struct shape *s;
	unsigned fl;
	const char *def;    /* the default, as canonical JSON */
};

struct variant {
	const char *tag;
	const struct field *f;
};

/* The whole document: a Workload object. */
extern const struct shape ir_sh_workload;

/* ---- validation state and errors (ir.c) ---- */

#define E_MALFORMED "E_MALFORMED_MANIFEST"

struct vctx {
	const struct jdoc *d;
	const struct ir_config *cfg;
	struct ir_errors *out;
	struct buf ptr;             /* the JSON Pointer being looked at */
	int oom;                    /* memory ran out: nothing more is added */
};

/* Append an error (code, the current pointer, the formatted sentence,
 * at most 1023 bytes of it) to c->out; on memory exhaustion c->oom is set
 * instead.  Does nothing once c->oom is set. */
__attribute__((format(printf, 3, 4)))
void ir_add(struct vctx *c, const char *code, const char *fmt, ...);

/* s[0..n) as a JSON string literal for a message, in dst (size dn):
 * escaped, at most about 64 bytes of it ("..." after a cut).  Returns
 * dst.  ir_quote_val: the same of the string v (a non-string as ""). */
const char *ir_quote(char *dst, size_t dn, const char *s, size_t n);
const char *ir_quote_val(const struct jdoc *d, jref v, char *dst, size_t dn);

/* The pointer: push a member name or an index, returning the length to
 * give pop to go back. */
static inline size_t push_key(struct vctx *c, const char *k, size_t n)
{
	size_t old = c->ptr.len;

	json_ptr_push(&c->ptr, k, n);
	return old;
}

static inline size_t push_name(struct vctx *c, const char *k)
{
	return push_key(c, k, strlen(k));
}

static inline size_t push_idx(struct vctx *c, size_t i)
{
	size_t old = c->ptr.len;

	json_ptr_push_index(&c->ptr, i);
	return old;
}

static inline void pop(struct vctx *c, size_t old)
{
	c->ptr.len = old;
}

/* ---- looking into a document of any shape ---- */

/* Member k of o, JREF_NONE when o is not an object or has no k. */
static inline jref get(const struct jdoc *d, jref o, const char *k)
{
	return o != JREF_NONE && json_type(d, o) == J_OBJ ? json_get(d, o, k) : JREF_NONE;
}

static inline int is_type(const struct jdoc *d, jref v, enum jtype t)
{
	return v != JREF_NONE && json_type(d, v) == t;
}

static inline int str_is(const struct jdoc *d, jref v, const char *s)
{
	return v != JREF_NONE && json_str_eq(d, v, s);
}

/* The bytes of the string v (*n set), or NULL (*n = 0) when v is not one. */
static inline const char *sget(const struct jdoc *d, jref v, size_t *n)
{
	if (v == JREF_NONE || json_type(d, v) != J_STR) {
		*n = 0;
		return NULL;
	}
	return json_str(d, v, n);
}

/* 64 lowercase hex digits. */
static inline int is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* ---- the checks ---- */

/* The structural check of the whole document against ir_sh_workload
 * (irshape.c). */
void ir_check_shape(struct vctx *c);

/* Rule 6, secrets in an env object without allowed_hosts, and rules 7-19,
 * an app's entrypoints (irentry.c). */
void ir_rule_env_secrets(struct vctx *c, jref env);
void ir_rule_entrypoints(struct vctx *c, jref app);

/* String predicates (irmatch.c).  ir_secret_name: s is secret-shaped by
 * the tokens tok (secret_field_tokens.txt).  ir_argv_shell: the command
 * argv runs a shell.  ir_wildcard_host: an egress host that allows
 * everything. */
int ir_secret_name(const struct strlist *tok, const char *s, size_t n);
int ir_argv_shell(const struct jdoc *d, jref argv);
int ir_wildcard_host(const char *s, size_t n);

#endif
