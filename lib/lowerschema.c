/* lowerschema.c — the JSON Schema subset the wrappers check, the rest refused (lower_int.h) */
#include <string.h>
#include "lower_int.h"

/* Is the JSON Schema s (at the current pointer) within the subset the
 * wrappers check (mvm-ir(5) "Schemas")?  Every keyword outside it, and a
 * keyword whose value is not of the subset's shape, is refused: a keyword
 * the wrappers would not check is never accepted silently. */
void lower_schema_check(struct lctx *c, jref s)
{
	static const char *const types[] = { "null", "boolean", "object", "array", "number",
		"integer", "string", NULL };
	enum jtype t = json_type(c->d, s);

	if (t == J_TRUE || t == J_FALSE)
		return;
	if (t != J_OBJ) {
		lower_refuse(c, NULL, "a schema that is not an object or a boolean is not supported by this backend yet");
		return;
	}
	for (jref k = json_first_key(c->d, s); k != JREF_NONE; k = json_next_key(c->d, k)) {
		jref v = json_value(k);
		enum jtype vt = json_type(c->d, v);
		size_t n, old = c->ptr.len;
		const char *ks = json_str(c->d, k, &n);
		int ok = 1;

		json_ptr_push(&c->ptr, ks, n);
		if (json_str_eq(c->d, k, "type")) {
			size_t tn;
			const char *ts;

			if (vt == J_STR) {
				ts = json_str(c->d, v, &tn);
				ok = in(types, ts, tn);
			} else if (vt == J_ARR && json_len(c->d, v) > 0) {
				for (jref x = json_first(c->d, v); x != JREF_NONE; x = json_next(c->d, x))
					if (json_type(c->d, x) != J_STR ||
					    !in(types, (ts = json_str(c->d, x, &tn)), tn))
						ok = 0;
			} else {
				ok = 0;
			}
		} else if (json_str_eq(c->d, k, "enum")) {
			ok = vt == J_ARR;
		} else if (json_str_eq(c->d, k, "const") || json_str_eq(c->d, k, "default") ||
		    json_str_eq(c->d, k, "examples")) {
			ok = 1;    /* a value (const), or annotations that check nothing */
		} else if (json_str_eq(c->d, k, "title") || json_str_eq(c->d, k, "description") ||
		    json_str_eq(c->d, k, "$comment")) {
			ok = vt == J_STR;
		} else if (json_str_eq(c->d, k, "$schema")) {
			ok = str_is(c, v, "https://json-schema.org/draft/2020-12/schema");
		} else if (json_str_eq(c->d, k, "properties")) {
			ok = vt == J_OBJ;
			for (jref p = ok ? json_first_key(c->d, v) : JREF_NONE; p != JREF_NONE;
			     p = json_next_key(c->d, p)) {
				size_t pn, o2 = c->ptr.len;
				const char *ps = json_str(c->d, p, &pn);

				json_ptr_push(&c->ptr, ps, pn);
				lower_schema_check(c, json_value(p));
				c->ptr.len = o2;
			}
		} else if (json_str_eq(c->d, k, "required")) {
			ok = vt == J_ARR;
			for (jref x = ok ? json_first(c->d, v) : JREF_NONE; x != JREF_NONE; x = json_next(c->d, x))
				if (json_type(c->d, x) != J_STR)
					ok = 0;
		} else if (json_str_eq(c->d, k, "additionalProperties") || json_str_eq(c->d, k, "items")) {
			lower_schema_check(c, v);    /* items as an array is the old draft's: refused there */
		} else if (json_str_eq(c->d, k, "minimum") || json_str_eq(c->d, k, "maximum")) {
			ok = vt == J_NUM;
		} else if (json_str_eq(c->d, k, "minLength") || json_str_eq(c->d, k, "maxLength")) {
			double x = vt == J_NUM ? json_num(c->d, v) : -1;

			ok = x >= 0 && x <= 4294967295.0 && x == (double)(unsigned long)x;
		} else {
			lower_refuse(c, NULL, "the schema keyword \"%.*s\" is not supported by this backend yet "
				"(the wrappers check type, enum, const, properties, required, "
				"additionalProperties, items, minimum, maximum, minLength, maxLength)",
				(int)(n > 64 ? 64 : n), ks);
		}
		if (!ok)
			lower_refuse(c, NULL, "this value of the schema keyword \"%.*s\" is not supported by "
				"this backend yet", (int)(n > 64 ? 64 : n), ks);
		c->ptr.len = old;
	}
}
