/* egress.c — allowlist and proxy request heads (egress.h) */
#include <stdio.h>
#include <string.h>
#include "buf.h"
#include "egress.h"
#include "enc.h"

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* A DNS name of LDH labels (1..63 bytes, no leading or trailing hyphen),
 * or a dotted IPv4 address; lowercased into out.  labels: their count. */
static int host_ok(const char *s, size_t n, char *out, int *labels)
{
	size_t i, len = 0;
	int nl = 0;

	if (n == 0 || n > EGRESS_HOST_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		int c = i < n ? lower((unsigned char)s[i]) : '.';
		if (c == '.') {
			if (len == 0 || len > 63 || s[i - 1] == '-' || s[i - len] == '-')
				return 0;
			nl++;
			len = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
		len++;
	}
	for (i = 0; i < n; i++)
		out[i] = (char)lower((unsigned char)s[i]);
	out[n] = 0;
	*labels = nl;
	return 1;
}

int egress_add(struct egress_policy *p, const char *host, size_t hlen, unsigned port,
	struct merr *e)
{
	struct egress_rule *r;
	int wild = hlen > 2 && host[0] == '*' && host[1] == '.', labels;

	if (p->n == EGRESS_RULES_MAX)
		return merr_set(e, EX_DATA, NULL, "more than %d egress rules", EGRESS_RULES_MAX);
	if (port < 1 || port > 65535)
		return merr_set(e, EX_DATA, NULL, "egress port %u not in 1..65535", port);
	r = &p->r[p->n];
	if (wild) {
		r->host[0] = '*', r->host[1] = '.';
		if (!host_ok(host + 2, hlen - 2, r->host + 2, &labels) || labels < 2)
			return merr_set(e, EX_DATA, NULL, "egress host \"*.\" must precede a name of two labels or more");
	} else if (!host_ok(host, hlen, r->host, &labels)) {
		return merr_set(e, EX_DATA, NULL, "egress host is not a DNS name or IPv4 address");
	}
	r->port = port;
	p->n++;
	return 0;
}

int egress_allowed(const struct egress_policy *p, const char *host, unsigned port)
{
	size_t hl = strlen(host);

	for (size_t i = 0; i < p->n; i++) {
		const struct egress_rule *r = &p->r[i];
		if (r->port != port)
			continue;
		if (r->host[0] == '*') {
			size_t dl = strlen(r->host + 1);   /* ".D" */
			if (hl > dl && memcmp(host + hl - dl, r->host + 1, dl) == 0)
				return 1;
		} else if (strcmp(host, r->host) == 0) {
			return 1;
		}
	}
	return 0;
}

/* "host[:port]" at s[0..n) into r (port: def when absent, required
 * when def is 0).  0 or -1. */
static int authority(const char *s, size_t n, unsigned def, struct egress_req *r)
{
	const char *c = memchr(s, ':', n);
	size_t hl = c ? (size_t)(c - s) : n;
	unsigned long port = 0;
	int labels;

	if (!host_ok(s, hl, r->host, &labels))
		return -1;
	if (!c) {
		r->port = def;
		return def ? 0 : -1;
	}
	if (n - hl - 1 == 0 || n - hl - 1 > 5)
		return -1;
	for (size_t i = hl + 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		port = port * 10 + (unsigned long)(s[i] - '0');
	}
	if (port < 1 || port > 65535)
		return -1;
	r->port = (unsigned)port;
	return 0;
}

int egress_head(const char *buf, size_t n, struct egress_req *r, struct merr *e)
{
	const char *end = NULL, *sp1, *sp2, *eol, *t;
	size_t lim = n < EGRESS_HEAD_MAX ? n : EGRESS_HEAD_MAX, tl;

	memset(r, 0, sizeof *r);
	for (size_t i = 0; i + 4 <= lim; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			end = buf + i + 4;
			break;
		}
	if (!end)
		return n < EGRESS_HEAD_MAX ? 1 :
			merr_set(e, EX_DATA, NULL, "request head longer than %d bytes", EGRESS_HEAD_MAX);
	r->head_len = (size_t)(end - buf);
	for (t = buf; t < end; t++)
		if (*t == 0 || (*t == '\n' && (t == buf || t[-1] != '\r')))
			return merr_set(e, EX_DATA, NULL, "a NUL or a bare LF in the request head");
	eol = memchr(buf, '\r', r->head_len);
	if (!(sp1 = memchr(buf, ' ', (size_t)(eol - buf))) || sp1 == buf ||
	    !(sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))) ||
	    (size_t)(eol - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return merr_set(e, EX_DATA, NULL, "not a request line \"METHOD TARGET HTTP/1.x\"");
	for (t = buf; t < sp1; t++)
		if (*t < 'A' || *t > 'Z')
			return merr_set(e, EX_DATA, NULL, "a method is upper-case letters");
	r->method_len = (size_t)(sp1 - buf);
	t = sp1 + 1;
	tl = (size_t)(sp2 - t);
	if (r->method_len == 7 && memcmp(buf, "CONNECT", 7) == 0) {
		r->kind = EGRESS_CONNECT;
		if (authority(t, tl, 0, r) != 0)
			return merr_set(e, EX_DATA, NULL, "CONNECT wants host:port");
		return 0;
	}
	r->kind = EGRESS_HTTP;
	if (tl < 8 || memcmp(t, "http://", 7) != 0)
		return merr_set(e, EX_DATA, NULL, "a proxy request's target is http://host[:port]/path");
	{
		const char *a = t + 7, *slash = memchr(a, '/', tl - 7);
		size_t al = slash ? (size_t)(slash - a) : tl - 7;

		if (memchr(a, '@', al) || authority(a, al, 80, r) != 0)
			return merr_set(e, EX_DATA, NULL, "not an http://host[:port] target");
		r->path_off = slash ? (size_t)(slash - buf) : 0;
		r->path_len = slash ? tl - 7 - al : 0;
	}
	return 0;
}

int egress_from_json(struct egress_policy *p, const struct jdoc *d, jref x,
	char digest[EGRESS_DIGEST_LEN + 1], struct merr *e)
{
	jref a = json_type(d, x) == J_OBJ ? json_get(d, x, "allowlist") : JREF_NONE, r;
	struct buf b = BUF_INIT;
	char where[48];
	size_t i = 0;

	memset(p, 0, sizeof *p);
	if (a == JREF_NONE || json_type(d, a) != J_ARR || json_len(d, x) != 1)
		return merr_set(e, EX_DATA, "/egress", "not {\"allowlist\": [...]}");
	for (r = json_first(d, a); r != JREF_NONE; r = json_next(d, r), i++) {
		jref h = json_get(d, r, "host"), pt = json_get(d, r, "port");
		const char *hs;
		size_t hl;
		double n;

		snprintf(where, sizeof where, "/egress/allowlist/%zu", i);
		if (json_type(d, r) != J_OBJ || json_len(d, r) != 2 || h == JREF_NONE ||
		    json_type(d, h) != J_STR || pt == JREF_NONE || json_type(d, pt) != J_NUM)
			return merr_set(e, EX_DATA, where, "not a rule {\"host\": H, \"port\": P}");
		hs = json_str(d, h, &hl);
		n = json_num(d, pt);
		if (!(n >= 1 && n <= 65535) || n != (double)(unsigned)n)
			return merr_set(e, EX_DATA, where, "egress port not in 1..65535");
		if (egress_add(p, hs, hl, (unsigned)n, e) != 0) {
			char msg[sizeof e->msg];
			snprintf(msg, sizeof msg, "%s", e->msg);
			return merr_set(e, EX_DATA, where, "%s", msg);
		}
	}
	if (json_canon(d, x, &b) != 0 || b.err) {
		buf_free(&b);
		return merr_set(e, EX_SYS, NULL, "out of memory");
	}
	memcpy(digest, "sha256:", 7);
	sha256_hex(digest + 7, b.p, b.len);
	buf_free(&b);
	return 0;
}
