/* framereq.c — agent protocol requests: reading and writing them
 * (frame.h, mvm-agent-protocol(5)) */
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "frame_int.h"
#include "json.h"

void req_free(struct req *r)
{
	free(r->in);
	for (size_t i = 0; i < r->nenv; i++)
		free(r->env[i]);
	free(r->env);
	free(r->function);
	memset(r, 0, sizeof *r);
}

/* Is this environment pair one the runner may get?  (Malformed ones are
 * dropped; reserved names are refused, env_reserved.) */
static int env_ok(const char *k, size_t kn, const char *v, size_t vn)
{
	return !(kn == 0 || memchr(k, '=', kn) || memchr(k, 0, kn) || memchr(v, 0, vn));
}

/* A name that would let the caller run code before the runner's checks:
 * the dynamic loader's, an interpreter's start-up hooks, the interpreter
 * lookup itself (the runners start with #!/usr/bin/env), or mvm's own. */
int req_env_reserved(const char *k, size_t kn)
{
	static const char *const prefix[] = { "LD_", "PYTHON", "MVM_", "BASH_FUNC_" };
	static const char *const name[] = { "NODE_OPTIONS", "NODE_PATH", "BASH_ENV", "ENV",
		"GLIBC_TUNABLES", "GCONV_PATH", "PATH", "HOME" };

	for (size_t i = 0; i < sizeof prefix / sizeof prefix[0]; i++)
		if (kn >= strlen(prefix[i]) && memcmp(k, prefix[i], strlen(prefix[i])) == 0)
			return 1;
	for (size_t i = 0; i < sizeof name / sizeof name[0]; i++)
		if (kn == strlen(name[i]) && memcmp(k, name[i], kn) == 0)
			return 1;
	return 0;
}

static int parse_run(const struct jdoc *d, jref root, struct req *r, struct merr *e)
{
	jref k, v, in = JREF_NONE;

	r->timeout_ms = REQ_TIMEOUT_DEFAULT;
	for (k = json_first_key(d, root); k != JREF_NONE; k = json_next_key(d, k)) {
		v = json_value(k);
		if (json_str_eq(d, k, "type"))
			continue;
		if (json_str_eq(d, k, "stdin")) {
			if (json_type(d, v) != J_STR)
				return bad(e, "/stdin", "stdin must be a base64 string");
			in = v;
		} else if (json_str_eq(d, k, "timeout_ms")) {
			if (json_type(d, v) != J_NUM || !num_in(json_num(d, v), 1, REQ_TIMEOUT_MAX))
				return bad(e, "/timeout_ms", "timeout_ms must be an integer from 1 to 3600000");
			r->timeout_ms = (uint32_t)json_num(d, v);
		} else if (json_str_eq(d, k, "function")) {
			size_t fn;
			const char *fs = json_type(d, v) == J_STR ? json_str(d, v, &fn) : NULL;

			if (!fs || fn == 0 || fn > REQ_FUNCTION_MAX || memchr(fs, 0, fn))
				return bad(e, "/function", "function must be a string of 1 to 255 bytes");
			if (!(r->function = strndup(fs, fn)))
				return merr_sys(e, "allocate function");
		} else if (json_str_eq(d, k, "env")) {
			jref ek;
			size_t n;

			if (json_type(d, v) != J_OBJ)
				return bad(e, "/env", "env must be an object of strings");
			n = json_len(d, v);
			if (n > REQ_ENV_MAX)
				return bad(e, "/env", "env has more than 256 members");
			for (ek = json_first_key(d, v); ek != JREF_NONE; ek = json_next_key(d, ek)) {
				size_t kn;
				const char *ks = json_str(d, ek, &kn);

				if (json_type(d, json_value(ek)) != J_STR)
					return bad(e, "/env", "env values must be strings");
				if (req_env_reserved(ks, kn))
					return bad(e, "/env", "env names a reserved variable (LD_*, PYTHON*, "
						"NODE_OPTIONS, NODE_PATH, BASH_ENV, ENV, BASH_FUNC_*, "
						"GLIBC_TUNABLES, GCONV_PATH, PATH, HOME, MVM_*)");
			}
			r->env = calloc(n + 1, sizeof *r->env);
			if (!r->env)
				return merr_sys(e, "allocate env");
			for (ek = json_first_key(d, v); ek != JREF_NONE; ek = json_next_key(d, ek)) {
				size_t kn, vn;
				const char *ks = json_str(d, ek, &kn);
				const char *vs = json_str(d, json_value(ek), &vn);
				char *s;

				if (!env_ok(ks, kn, vs, vn)) {
					r->env_dropped++;
					continue;
				}
				s = malloc(kn + vn + 2);
				if (!s)
					return merr_sys(e, "allocate env");
				memcpy(s, ks, kn);
				s[kn] = '=';
				memcpy(s + kn + 1, vs, vn);
				s[kn + vn + 1] = 0;
				r->env[r->nenv++] = s;
			}
		} else {
			return bad(e, NULL, "unknown member in run request");
		}
	}
	if (in == JREF_NONE)
		return bad(e, "/stdin", "run request without stdin");
	{
		size_t n, pad = 0, dec;
		const char *s = json_str(d, in, &n);

		if (n % 4 != 0)
			return bad(e, "/stdin", "stdin is not padded base64");
		if (n >= 1 && s[n - 1] == '=')
			pad++;
		if (n >= 2 && s[n - 2] == '=')
			pad++;
		dec = n / 4 * 3 - pad;
		if (dec > FRAME_PAYLOAD_MAX)
			return merr_set(e, EX_NO, "/stdin", "stdin is larger than %u bytes",
				FRAME_PAYLOAD_MAX);
		if (n == 0) {
			r->in = NULL;
			r->inlen = 0;
		} else {
			r->in = b64_decode(s, n, &r->inlen);
			if (!r->in)
				return bad(e, "/stdin", "stdin is not valid base64");
		}
	}
	return 0;
}

int req_parse(const char *body, size_t n, struct req *r, struct merr *e)
{
	struct jopts o = { .max_depth = FRAME_DEPTH };
	struct jdoc *d;
	jref root, t;
	int rc = 0;

	memset(r, 0, sizeof *r);
	d = json_parse(body, n, &o, e);
	if (!d)
		return e ? e->code : EX_DATA;
	root = json_root(d);
	if (json_type(d, root) != J_OBJ) {
		rc = bad(e, NULL, "request is not a JSON object");
		goto out;
	}
	t = json_get(d, root, "type");
	if (t == JREF_NONE || json_type(d, t) != J_STR) {
		rc = bad(e, "/type", "request has no string type");
		goto out;
	}
	if (json_str_eq(d, t, "ping") || json_str_eq(d, t, "status") ||
	    json_str_eq(d, t, "shutdown")) {
		r->type = json_str_eq(d, t, "ping") ? REQ_PING :
			json_str_eq(d, t, "status") ? REQ_STATUS : REQ_SHUTDOWN;
		if (json_len(d, root) != 1)
			rc = bad(e, NULL, "unknown member in request");
	} else if (json_str_eq(d, t, "run")) {
		r->type = REQ_RUN;
		rc = parse_run(d, root, r, e);
	} else if (json_str_eq(d, t, "provision")) {
		r->type = REQ_PROVISION;
		if (!(r->in = malloc(n ? n : 1)))
			rc = merr_set(e, EX_SYS, NULL, "out of memory");
		else
			memcpy(r->in, body, n), r->inlen = n;
	} else {
		rc = bad(e, "/type", "unknown request type");
	}
out:
	json_free(d);
	if (rc)
		req_free(r);
	return rc;
}

void req_put_ping(struct buf *b)
{
	static const char m[] = "{\"type\":\"ping\"}";

	frame_put(b, m, sizeof m - 1);
}

void req_put_shutdown(struct buf *b)
{
	static const char m[] = "{\"type\":\"shutdown\"}";

	frame_put(b, m, sizeof m - 1);
}

void req_put_status(struct buf *b)
{
	static const char m[] = "{\"type\":\"status\"}";

	frame_put(b, m, sizeof m - 1);
}

void req_put_run(struct buf *b, const void *in, size_t n, uint32_t timeout_ms,
	char *const *env, size_t nenv, const char *function)
{
	size_t off = frame_begin(b);

	buf_puts(b, "{\"type\":\"run\",\"stdin\":\"");
	put_b64(b, in, n);
	buf_putc(b, '"');
	if (function) {
		buf_puts(b, ",\"function\":");
		json_put_str(b, function, strlen(function));
	}
	if (timeout_ms)
		buf_printf(b, ",\"timeout_ms\":%u", timeout_ms);
	if (nenv) {
		buf_puts(b, ",\"env\":{");
		for (size_t i = 0; i < nenv; i++) {
			const char *eq = strchr(env[i], '=');
			size_t kn = eq ? (size_t)(eq - env[i]) : strlen(env[i]);

			if (i)
				buf_putc(b, ',');
			json_put_str(b, env[i], kn);
			buf_putc(b, ':');
			json_put_str(b, eq ? eq + 1 : "", eq ? strlen(eq + 1) : 0);
		}
		buf_putc(b, '}');
	}
	buf_putc(b, '}');
	frame_end(b, off);
}
