/* lowerdrives.c — the lowering's drives, tmpfs and secrets, and the text
 * of /etc/mvm/mounts (mvm-lower(5), lower_int.h) */
#include <stdio.h>
#include <string.h>
#include "lower_int.h"

/* The app's mounts and secrets as the lowering's members (lower_int.h). */
void lower_emit_mounts(const struct jdoc *d, jref app, int deps, struct buf *o, struct buf *mt)
{
	jref ms = json_get(d, app, "mounts"), env = json_get(d, app, "env"), x;
	jref root = json_root(d);
	size_t i = 0, n;
	int first = 1;

	buf_puts(o, ",\"drives\":[{\"name\":\"root\",\"target\":\"/\",\"mode\":\"ro\"}");
	if (deps)    /* the deps volume (mvm-deps(1)), read-only */
		buf_puts(o, ",{\"name\":\"deps\",\"target\":\"/mnt/deps\",\"mode\":\"ro\"}");
	for (x = ms != JREF_NONE ? json_first(d, ms) : JREF_NONE; x != JREF_NONE; x = json_next(d, x), i++) {
		jref src = json_get(d, x, "source"), kind = json_get(d, src, "kind");
		const char *t = json_str(d, json_get(d, x, "target"), &n);
		const char *mode = json_str_eq(d, json_get(d, x, "mode"), "rw") ? "rw" : "ro";

		if (json_str_eq(d, kind, "tmpfs")) {
			buf_printf(mt, "- %.*s %s tmpfs ", (int)n, t, mode);
			json_canon(d, json_get(d, src, "size_mb"), mt);
			buf_putc(mt, '\n');
			continue;
		}
		buf_printf(mt, "m%zu %.*s %s drive\n", i, (int)n, t, mode);
		buf_printf(o, ",{\"name\":\"m%zu\",\"target\":", i);
		json_canon(d, json_get(d, x, "target"), o);
		buf_printf(o, ",\"mode\":\"%s\",\"kind\":", mode);
		if (json_str_eq(d, kind, "host_path")) {
			buf_puts(o, "\"config\",\"source\":");
			json_canon(d, json_get(d, src, "path"), o);
		} else {
			jref vols = json_get(d, root, "volumes"), v;
			const char *vn = json_str(d, json_get(d, src, "name"), &n);
			buf_puts(o, "\"volume\",\"volume\":");
			json_canon(d, json_get(d, src, "name"), o);
			for (v = json_first(d, vols); v != JREF_NONE; v = json_next(d, v)) {
				size_t m;
				const char *w = json_str(d, json_get(d, v, "name"), &m);
				if (m == n && memcmp(w, vn, n) == 0)
					break;
			}
			if (v == JREF_NONE)    /* (check_mounts refused it) */
				continue;
			buf_puts(o, ",\"size_mb\":");
			json_canon(d, json_get(d, v, "size_mb"), o);
		}
		buf_putc(o, '}');
	}
	buf_putc(o, ']');
	size_t mark = o->len;
	buf_puts(o, ",\"tmpfs\":[");
	for (i = 0, x = ms != JREF_NONE ? json_first(d, ms) : JREF_NONE; x != JREF_NONE; x = json_next(d, x)) {
		jref src = json_get(d, x, "source");
		if (!json_str_eq(d, json_get(d, src, "kind"), "tmpfs"))
			continue;
		buf_puts(o, i++ ? ",{\"target\":" : "{\"target\":");
		json_canon(d, json_get(d, x, "target"), o);
		buf_puts(o, ",\"mode\":");
		json_canon(d, json_get(d, x, "mode"), o);
		buf_puts(o, ",\"size_mb\":");
		json_canon(d, json_get(d, src, "size_mb"), o);
		buf_putc(o, '}');
	}
	if (i == 0)
		o->len = mark;    /* (members only when not empty) */
	else
		buf_putc(o, ']');
	mark = o->len;
	buf_puts(o, ",\"secrets\":[");
	for (jref k = env != JREF_NONE ? json_first_key(d, env) : JREF_NONE; k != JREF_NONE;
	     k = json_next_key(d, k)) {
		jref v = json_value(k), ref = json_get(d, v, "ref"), m;
		if (!json_str_eq(d, json_get(d, v, "kind"), "secret_ref"))
			continue;
		m = json_get(d, ref, "mount");
		buf_puts(o, first ? "{\"name\":" : ",{\"name\":");
		first = 0;
		json_canon(d, json_get(d, ref, "name"), o);
		if (json_str_eq(d, json_get(d, m, "kind"), "env")) {
			buf_puts(o, ",\"env\":");
			json_canon(d, json_get(d, m, "var"), o);
		} else {
			buf_puts(o, ",\"file\":");
			json_canon(d, json_get(d, m, "path"), o);
		}
		buf_putc(o, '}');
	}
	if (first)
		o->len = mark;
	else
		buf_putc(o, ']');
}
