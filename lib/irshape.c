/* irshape.c — the structural check: the IR against the model's tables
 * (irmodel.c), field by field; E_MALFORMED_MANIFEST and E_UNKNOWN_FIELD. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "ir_int.h"

#define E_UNKNOWN_FIELD "E_UNKNOWN_FIELD"

/* "a, b, c" of a NULL-terminated list. */
static void join(char *dst, size_t dn, const char *const *e)
{
	size_t k = 0;

	dst[0] = '\0';
	for (; *e && k < dn; e++)
		k += (size_t)snprintf(dst + k, dn - k, "%s%s", k ? ", " : "", *e);
}

static void join_fields(char *dst, size_t dn, const struct field *f, int tagged)
{
	size_t k = 0;

	dst[0] = '\0';
	if (tagged)
		k += (size_t)snprintf(dst, dn, "kind");
	for (; f->name && k < dn; f++)
		k += (size_t)snprintf(dst + k, dn - k, "%s%s", k ? ", " : "", f->name);
}

static void join_variants(char *dst, size_t dn, const struct variant *v)
{
	size_t k = 0;

	dst[0] = '\0';
	for (; v->tag && k < dn; v++)
		k += (size_t)snprintf(dst + k, dn - k, "%s%s", k ? ", " : "", v->tag);
}

static const char *typename_of(const struct jdoc *d, jref v)
{
	return json_typename(json_type(d, v));
}

static void bad_type(struct vctx *c, const char *want, jref v)
{
	ir_add(c, E_MALFORMED, "expected %s, found %s", want, typename_of(c->d, v));
}

/* ---- structural checks ---- */

static int is_envname(const char *s, size_t n)
{
	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return 0;
	}
	return 1;
}

static void check_str(struct vctx *c, jref v, unsigned fl)
{
	size_t n;
	const char *s = json_str(c->d, v, &n);

	if (memchr(s, '\0', n)) {
		ir_add(c, E_MALFORMED, "a NUL character is not allowed here");
		return;
	}
	if ((fl & (S_NONEMPTY | S_OCIREF)) && n == 0) {
		ir_add(c, E_MALFORMED, "must not be empty");
		return;
	}
	if ((fl & S_ABS) && (n == 0 || s[0] != '/'))
		ir_add(c, E_MALFORMED, "must be an absolute path");
	if ((fl & S_DIGEST) && !(n == 71 && memcmp(s, "sha256:", 7) == 0 && is_hex64(s + 7, 64)))
		ir_add(c, E_MALFORMED, "must be \"sha256:\" followed by 64 lowercase hex digits");
	if (fl & S_OCIREF) {
		const char *last = s;
		for (size_t i = 0; i < n; i++)
			if (s[i] == '/')
				last = s + i + 1;
		if (memchr(s, '@', n) || memchr(last, ':', n - (size_t)(last - s)))
			ir_add(c, E_MALFORMED, "must name an image without a tag or digest; pin it with \"digest\"");
		else
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)s[i] <= ' ') {
					ir_add(c, E_MALFORMED, "must not contain spaces or control characters");
					break;
				}
	}
}

static int in_list(const struct jdoc *d, jref v, const char *const *e)
{
	for (; *e; e++)
		if (json_str_eq(d, v, *e))
			return 1;
	return 0;
}

static void check(struct vctx *c, jref v, const struct shape *s, unsigned depth);

static const struct field *find_field(const struct field *f, const char *name, size_t n)
{
	for (; f->name; f++)
		if (strlen(f->name) == n && memcmp(f->name, name, n) == 0)
			return f;
	return NULL;
}

static void check_fields(struct vctx *c, jref obj, const struct field *fields, int tagged,
	unsigned depth)
{
	const struct jdoc *d = c->d;
	char qb[400], list[512];

	for (jref k = json_first_key(d, obj); k != JREF_NONE; k = json_next_key(d, k)) {
		size_t n;
		const char *name = json_str(d, k, &n);
		if (tagged && n == 4 && memcmp(name, "kind", 4) == 0)
			continue;
		const struct field *f = find_field(fields, name, n);
		size_t old = push_key(c, name, n);
		jref val = json_value(k);
		if (!f) {
			join_fields(list, sizeof list, fields, tagged);
			ir_add(c, E_UNKNOWN_FIELD, "unknown field %s (expected one of: %s)",
				ir_quote(qb, sizeof qb, name, n), list);
		} else if (!(json_type(d, val) == J_NULL && (f->fl & (F_NULL | F_DEPS)))) {
			check(c, val, f->s, depth + 1);
		}
		pop(c, old);
	}
	for (const struct field *f = fields; f->name; f++)
		if ((f->fl & F_REQ) && json_get(d, obj, f->name) == JREF_NONE)
			ir_add(c, E_MALFORMED, "missing required field \"%s\"", f->name);
}

static void check(struct vctx *c, jref v, const struct shape *s, unsigned depth)
{
	const struct jdoc *d = c->d;
	enum jtype t = json_type(d, v);
	char qb[400], list[512];
	size_t old, i;
	jref x;

	if (c->oom)
		return;
	switch (s->k) {
	case K_ANY:
		return;
	case K_OBJ:
		if (t != J_OBJ)
			bad_type(c, "object", v);
		return;
	case K_STR:
		if (t != J_STR)
			bad_type(c, "string", v);
		else
			check_str(c, v, s->fl);
		return;
	case K_BOOL:
		if (t != J_TRUE && t != J_FALSE)
			bad_type(c, "boolean", v);
		return;
	case K_INT: {
		if (t != J_NUM) {
			bad_type(c, "integer", v);
			return;
		}
		double n = json_num(d, v);
		if (n != floor(n) || n < s->min || n > s->max) {
			struct buf b = BUF_INIT;
			json_put_num(&b, n);
			ir_add(c, E_MALFORMED, "expected an integer from %.0f to %.0f, found %s",
				s->min, s->max, buf_cstr(&b) ? b.p : "?");
			buf_free(&b);
		}
		return;
	}
	case K_ENUM:
		if (t != J_STR) {
			bad_type(c, "string", v);
		} else if (!in_list(d, v, s->e)) {
			join(list, sizeof list, s->e);
			ir_add(c, E_MALFORMED, "expected one of: %s; found %s", list,
				ir_quote_val(d, v, qb, sizeof qb));
		}
		return;
	case K_ARR:
		if (t != J_ARR) {
			bad_type(c, "array", v);
			return;
		}
		if ((s->fl & S_MIN1) && json_len(d, v) == 0)
			ir_add(c, E_MALFORMED, "must not be empty");
		for (i = 0, x = json_first(d, v); x != JREF_NONE; x = json_next(d, x), i++) {
			old = push_idx(c, i);
			check(c, x, s->elem, depth + 1);
			pop(c, old);
		}
		return;
	case K_MAP:
		if (t != J_OBJ) {
			bad_type(c, "object", v);
			return;
		}
		for (x = json_first_key(d, v); x != JREF_NONE; x = json_next_key(d, x)) {
			size_t n;
			const char *k = json_str(d, x, &n);
			old = push_key(c, k, n);
			if ((s->fl & S_ENVKEY) && !is_envname(k, n))
				ir_add(c, E_MALFORMED,
					"%s is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
					ir_quote(qb, sizeof qb, k, n));
			check(c, json_value(x), s->elem, depth + 1);
			pop(c, old);
		}
		return;
	case K_STRUCT:
		if (t != J_OBJ)
			bad_type(c, "object", v);
		else
			check_fields(c, v, s->f, 0, depth);
		return;
	case K_TAGGED: {
		if (t != J_OBJ) {
			bad_type(c, "object", v);
			return;
		}
		jref kind = json_get(d, v, "kind");
		const struct variant *var = NULL;
		join_variants(list, sizeof list, s->v);
		if (kind == JREF_NONE) {
			ir_add(c, E_MALFORMED, "missing required field \"kind\" (one of: %s)", list);
			return;
		}
		old = push_name(c, "kind");
		if (json_type(d, kind) != J_STR) {
			bad_type(c, "string", kind);
		} else {
			for (var = s->v; var->tag && !json_str_eq(d, kind, var->tag); var++)
				;
			if (!var->tag) {
				ir_add(c, E_MALFORMED, "unknown kind %s (expected one of: %s)",
					ir_quote_val(d, kind, qb, sizeof qb), list);
				var = NULL;
			}
		}
		pop(c, old);
		if (var)
			check_fields(c, v, var->f, 1, depth);
		return;
	}
	case K_NETMODE:
		if (t == J_STR) {
			const struct shape en = { K_ENUM, .e = s->e };
			check(c, v, &en, depth);
		} else if (t == J_OBJ) {
			check_fields(c, v, s->f, 0, depth);
		} else {
			bad_type(c, "string or object", v);
		}
		return;
	}
}

void ir_check_shape(struct vctx *c)
{
	check(c, json_root(c->d), &ir_sh_workload, 0);
}
