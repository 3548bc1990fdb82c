/* t/unit/egress.c — lib/egress.c against known answers.
 *
 * Request heads: the examples of RFC 9110 9.3.6 (CONNECT
 * server.example.com:80) and RFC 9112 3.2.2 (absolute-form
 * http://www.example.org/pub/WWW/TheProject.html), and malformed ones.
 * Host names: RFC 1035 2.3.1's LDH rule (labels 1..63 bytes, no hyphen
 * at either end).  Wildcards: "*.example.com" matches names below
 * example.com, not example.com itself (as TLS wildcards, RFC 6125 6.4.3,
 * but at any depth). */
#include <string.h>
#include "egress.h"
#define UNIT_NAME "egress"
#include "check.h"

static int head(const char *s, struct egress_req *r)
{
	struct merr e;
	return egress_head(s, strlen(s), r, &e);
}

int main(void)
{
	static char big[EGRESS_HEAD_MAX + 16];
	struct egress_policy p = { 0 };
	struct egress_req r;
	struct merr e;
	char req[160] = "CONNECT ";
	const char *get = "GET http://www.example.org/pub/WWW/TheProject.html HTTP/1.1\r\n"
		"Host: www.example.org\r\n\r\n";

	check(head("CONNECT server.example.com:80 HTTP/1.1\r\nHost: server.example.com:80\r\n\r\n", &r) == 0 &&
		r.kind == EGRESS_CONNECT && strcmp(r.host, "server.example.com") == 0 && r.port == 80,
		"RFC 9110 CONNECT example");
	check(head(get, &r) == 0 && r.kind == EGRESS_HTTP && strcmp(r.host, "www.example.org") == 0 &&
		r.port == 80 && r.method_len == 3 && r.path_len == strlen("/pub/WWW/TheProject.html") &&
		memcmp(get + r.path_off, "/pub/WWW/TheProject.html", r.path_len) == 0 &&
		r.head_len == strlen(get), "RFC 9112 absolute-form example");
	check(head("GET http://Local.Test:8080/x HTTP/1.0\r\n\r\n", &r) == 0 &&
		strcmp(r.host, "local.test") == 0 && r.port == 8080, "host lowercased, port given");
	check(head("GET http://127.0.0.1:9/ HTTP/1.1\r\n\r\n", &r) == 0 && strcmp(r.host, "127.0.0.1") == 0 &&
		r.port == 9, "IPv4 literal");
	check(head("CONNECT a.example:443 HTTP/1.1\r\nHost: a", &r) == 1, "incomplete head: read more");
	check(head("CONNECT a.example HTTP/1.1\r\n\r\n", &r) == EX_DATA, "CONNECT without port");
	check(head("CONNECT a.example:0 HTTP/1.1\r\n\r\n", &r) == EX_DATA, "port 0");
	check(head("CONNECT a.example:65536 HTTP/1.1\r\n\r\n", &r) == EX_DATA, "port 65536");
	check(head("CONNECT a.example:443 HTTP/2.0\r\n\r\n", &r) == EX_DATA, "HTTP/2.0 request line");
	check(head("GET https://a.example/ HTTP/1.1\r\n\r\n", &r) == EX_DATA, "https:// target (use CONNECT)");
	check(head("GET /relative HTTP/1.1\r\n\r\n", &r) == EX_DATA, "origin-form to a proxy");
	check(head("GET http://user@a.example/ HTTP/1.1\r\n\r\n", &r) == EX_DATA, "userinfo");
	check(head("GET http://-a.example/ HTTP/1.1\r\n\r\n", &r) == EX_DATA, "label with a leading hyphen");
	check(head("GET http://a..example/ HTTP/1.1\r\n\r\n", &r) == EX_DATA, "empty label");
	check(head("GET http://a_b.example/ HTTP/1.1\r\n\r\n", &r) == EX_DATA, "underscore");
	check(head("get http://a.example/ HTTP/1.1\r\n\r\n", &r) == EX_DATA, "lower-case method");
	check(head("GET http://a.example/ HTTP/1.1\r\nX: a\nY: b\r\n\r\n", &r) == EX_DATA, "bare LF");
	check(head("\n\r\n\r\n", &r) == EX_DATA, "a bare LF first");
	memset(req + 8, 'a', 64);
	strcpy(req + 72, ".example:80 HTTP/1.1\r\n\r\n");
	check(head(req, &r) == EX_DATA, "a 64-byte label");
	strcpy(req + 71, ".example:80 HTTP/1.1\r\n\r\n");   /* 63 bytes: allowed */
	check(head(req, &r) == 0 && strlen(r.host) == 63 + 8, "a 63-byte label");
	memset(big, 'a', sizeof big);
	check(egress_head(big, sizeof big, &r, &e) == EX_DATA, "a head over EGRESS_HEAD_MAX: refused");

	check(egress_add(&p, "API.example.com", 15, 443, &e) == 0, "add exact");
	check(egress_add(&p, "*.svc.example", 13, 8080, &e) == 0, "add wildcard");
	check(egress_add(&p, "*.com", 5, 443, &e) == EX_DATA, "*.com refused (one label)");
	check(egress_add(&p, "a.example", 9, 0, &e) == EX_DATA, "port 0 refused");
	check(egress_allowed(&p, "api.example.com", 443), "exact, case-insensitive");
	check(!egress_allowed(&p, "api.example.com", 80), "exact, other port");
	check(!egress_allowed(&p, "x.api.example.com", 443), "exact does not cover subdomains");
	check(egress_allowed(&p, "a.svc.example", 8080) && egress_allowed(&p, "b.a.svc.example", 8080),
		"wildcard below");
	check(!egress_allowed(&p, "svc.example", 8080), "wildcard does not match the domain itself");
	check(!egress_allowed(&p, "evilsvc.example", 8080), "wildcard needs the dot");

	/* egress_from_json: the digest is SHA-256 of the RFC 8785 form,
	 * whatever the member order and white space; the known answer is
	 * sha256sum(1) of '{"allowlist":[{"host":"a.example","port":443}]}' */
	{
		static const char *const in[] = {
			"{\"allowlist\":[{\"host\":\"a.example\",\"port\":443}]}",
			"{ \"allowlist\" : [ { \"port\" : 443 , \"host\" : \"a.example\" } ] }",
		};
		static const char *const bad[] = {
			"{\"allowlist\":[{\"host\":\"a.example\",\"port\":0}]}",
			"{\"allowlist\":[{\"host\":\"a.example\",\"port\":443.5}]}",
			"{\"allowlist\":[{\"host\":\"::1\",\"port\":443}]}",
			"{\"allowlist\":[{\"host\":\"a.example\",\"port\":443,\"x\":1}]}",
			"{\"allowlist\":[],\"x\":1}",
			"[]",
		};
		char dg[EGRESS_DIGEST_LEN + 1];

		for (size_t i = 0; i < 2; i++) {
			struct jdoc *d = json_parse(in[i], strlen(in[i]), NULL, &e);
			check(d && egress_from_json(&p, d, json_root(d), dg, &e) == 0 && p.n == 1 &&
				egress_allowed(&p, "a.example", 443) && strcmp(dg, "sha256:"
				"90c571ffc7d55fdd5f664b6cee987f8637715e0caedb01086042c80e4bce8607") == 0,
				"policy %zu: its canonical digest (%s)", i, dg);
			json_free(d);
		}
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			struct jdoc *d = json_parse(bad[i], strlen(bad[i]), NULL, &e);
			check(d && egress_from_json(&p, d, json_root(d), dg, &e) == EX_DATA &&
				strncmp(e.where, "/egress", 7) == 0, "bad policy %zu refused at %s", i, e.where);
			json_free(d);
		}
	}
	return check_report();
}
