/* irnorm.c — ir_normalize (ir.h): the IR rewritten by the model's tables
 * (irmodel.c), defaults left out or written as the model says. */
#include <errno.h>
#include <string.h>
#include "ir_int.h"

static int canon_is(const struct jdoc *d, jref v, const char *def)
{
	struct buf b = BUF_INIT;
	int r;

	json_canon(d, v, &b);
	r = !b.err && b.len == strlen(def) && memcmp(b.p, def, b.len) == 0;
	buf_free(&b);
	return r;
}

static void norm(const struct jdoc *d, jref v, const struct shape *s, struct buf *out);

static void norm_fields(const struct jdoc *d, jref v, const struct field *f, const char *kind,
	struct buf *out)
{
	int first = 1;

	buf_putc(out, '{');
	if (kind) {
		buf_puts(out, "\"kind\":");
		json_put_str(out, kind, strlen(kind));
		first = 0;
	}
	for (; f->name; f++) {
		jref x = json_get(d, v, f->name);
		int absent = x == JREF_NONE ||
			(json_type(d, x) == J_NULL && (f->fl & (F_NULL | F_DEPS)));
		if (absent && !(f->fl & F_ALWAYS))
			continue;
		if (!absent && f->def && !(f->fl & F_ALWAYS) && canon_is(d, x, f->def))
			continue;
		if (!first)
			buf_putc(out, ',');
		first = 0;
		json_put_str(out, f->name, strlen(f->name));
		buf_putc(out, ':');
		if (absent)
			buf_puts(out, f->def);
		else
			norm(d, x, f->s, out);
	}
	buf_putc(out, '}');
}

static void norm(const struct jdoc *d, jref v, const struct shape *s, struct buf *out)
{
	jref x;

	switch (s->k) {
	case K_ARR:
		buf_putc(out, '[');
		for (x = json_first(d, v); x != JREF_NONE; x = json_next(d, x)) {
			if (x != json_first(d, v))
				buf_putc(out, ',');
			norm(d, x, s->elem, out);
		}
		buf_putc(out, ']');
		return;
	case K_MAP:
		buf_putc(out, '{');
		for (x = json_first_key(d, v); x != JREF_NONE; x = json_next_key(d, x)) {
			size_t n;
			const char *k = json_str(d, x, &n);
			if (x != json_first_key(d, v))
				buf_putc(out, ',');
			json_put_str(out, k, n);
			buf_putc(out, ':');
			norm(d, json_value(x), s->elem, out);
		}
		buf_putc(out, '}');
		return;
	case K_STRUCT:
		norm_fields(d, v, s->f, NULL, out);
		return;
	case K_TAGGED: {
		const struct variant *var = s->v;
		jref kind = json_get(d, v, "kind");
		while (var->tag && kind != JREF_NONE && !json_str_eq(d, kind, var->tag))
			var++;
		if (var->tag) {
			norm_fields(d, v, var->f, var->tag, out);
			return;
		}
		break;
	}
	default:
		break;
	}
	json_canon(d, v, out);
}

int ir_normalize(const struct jdoc *d, struct buf *out, struct merr *e)
{
	struct buf tmp = BUF_INIT;
	struct jopts o = { .max_depth = 1000000 };
	int r;

	norm(d, json_root(d), &ir_sh_workload, &tmp);
	if (tmp.err) {
		errno = tmp.err;
		buf_free(&tmp);
		return merr_sys(e, "normalize");
	}
	r = json_canonicalize(tmp.p, tmp.len, &o, out, e);
	buf_free(&tmp);
	return r;
}
