/* framerep.c — agent protocol replies: writing and reading them
 * (frame.h, mvm-agent-protocol(5)) */
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "frame_int.h"
#include "json.h"

void rep_put_pong(struct buf *b)
{
	static const char m[] = "{\"type\":\"pong\",\"agent\":\"mvm-agent\",\"version\":1}";

	frame_put(b, m, sizeof m - 1);
}

void rep_put_chunk(struct buf *b, int is_stderr, const void *p, size_t n)
{
	size_t off = frame_begin(b);

	buf_puts(b, is_stderr ? "{\"type\":\"stderr\",\"data\":\"" : "{\"type\":\"stdout\",\"data\":\"");
	put_b64(b, p, n);
	buf_puts(b, "\"}");
	frame_end(b, off);
}

void rep_put_exit(struct buf *b, int code)
{
	size_t off = frame_begin(b);

	buf_printf(b, "{\"type\":\"exit\",\"code\":%d}", code);
	frame_end(b, off);
}

void rep_put_error(struct buf *b, const char *kind, const char *msg)
{
	size_t off = frame_begin(b);

	buf_puts(b, "{\"type\":\"error\",\"kind\":");
	json_put_str(b, kind, strlen(kind));
	buf_puts(b, ",\"message\":");
	json_put_str(b, msg, strlen(msg));
	buf_putc(b, '}');
	frame_end(b, off);
}

void rep_free(struct rep *r)
{
	free(r->data);
	free(r->message);
	memset(r, 0, sizeof *r);
}

/* Check that obj has only the named members (NULL-terminated list). */
static int only(const struct jdoc *d, jref obj, const char *const *names)
{
	for (jref k = json_first_key(d, obj); k != JREF_NONE; k = json_next_key(d, k)) {
		const char *const *p;

		for (p = names; *p; p++)
			if (json_str_eq(d, k, *p))
				break;
		if (!*p)
			return 0;
	}
	return 1;
}

int rep_parse(const char *body, size_t n, struct rep *r, struct merr *e)
{
	static const char *const m_pong[] = { "type", "agent", "version", NULL };
	static const char *const m_chunk[] = { "type", "data", NULL };
	static const char *const m_exit[] = { "type", "code", NULL };
	static const char *const m_err[] = { "type", "kind", "message", NULL };
	struct jopts o = { .max_depth = FRAME_DEPTH };
	struct jdoc *d;
	jref root, t, v;
	int rc = 0;

	memset(r, 0, sizeof *r);
	d = json_parse(body, n, &o, e);
	if (!d)
		return e ? e->code : EX_DATA;
	root = json_root(d);
	t = json_type(d, root) == J_OBJ ? json_get(d, root, "type") : JREF_NONE;
	if (t == JREF_NONE || json_type(d, t) != J_STR) {
		rc = bad(e, "/type", "reply is not an object with a string type");
		goto out;
	}
	if (json_str_eq(d, t, "pong")) {
		r->type = REP_PONG;
		v = json_get(d, root, "version");
		if (!only(d, root, m_pong) || v == JREF_NONE || json_type(d, v) != J_NUM ||
		    !num_in(json_num(d, v), 0, 1e6)) {
			rc = bad(e, NULL, "malformed pong");
			goto out;
		}
		r->version = (int)json_num(d, v);
	} else if (json_str_eq(d, t, "status")) {
		r->type = REP_STATUS;
	} else if (json_str_eq(d, t, "stdout") || json_str_eq(d, t, "stderr")) {
		size_t sn;
		const char *s;

		r->type = json_str_eq(d, t, "stdout") ? REP_STDOUT : REP_STDERR;
		v = json_get(d, root, "data");
		if (!only(d, root, m_chunk) || v == JREF_NONE || json_type(d, v) != J_STR) {
			rc = bad(e, NULL, "malformed output chunk");
			goto out;
		}
		s = json_str(d, v, &sn);
		if (sn == 0) {
			r->len = 0;
		} else if (!(r->data = b64_decode(s, sn, &r->len))) {
			rc = bad(e, "/data", "chunk data is not valid base64");
			goto out;
		}
	} else if (json_str_eq(d, t, "exit")) {
		r->type = REP_EXIT;
		v = json_get(d, root, "code");
		if (!only(d, root, m_exit) || v == JREF_NONE || json_type(d, v) != J_NUM ||
		    !num_in(json_num(d, v), -2147483648.0, 2147483647.0)) {
			rc = bad(e, NULL, "malformed exit");
			goto out;
		}
		r->code = (int)json_num(d, v);
	} else if (json_str_eq(d, t, "error")) {
		jref m;
		size_t kn;
		const char *ks;

		r->type = REP_ERROR;
		v = json_get(d, root, "kind");
		m = json_get(d, root, "message");
		if (!only(d, root, m_err) || v == JREF_NONE || json_type(d, v) != J_STR ||
		    m == JREF_NONE || json_type(d, m) != J_STR) {
			rc = bad(e, NULL, "malformed error");
			goto out;
		}
		ks = json_str(d, v, &kn);
		if (kn >= sizeof r->kind)
			kn = sizeof r->kind - 1;
		memcpy(r->kind, ks, kn);
		r->kind[kn] = 0;
		if (memchr(r->kind, 0, kn)) {
			rc = bad(e, "/kind", "error kind contains NUL");
			goto out;
		}
		r->message = json_strdup(d, m);
		if (!r->message) {
			rc = bad(e, "/message", "error message contains NUL");
			goto out;
		}
	} else {
		rc = bad(e, "/type", "unknown reply type");
	}
out:
	json_free(d);
	if (rc)
		rep_free(r);
	return rc;
}
