/* t/unit/frame.c — known answers for the agent protocol codec (lib/frame*.c):
 * the exact bytes of frames, mux records, requests and replies that
 * mvm-agent-protocol(5) shows, the limits (FRAME_MAX refused from its
 * length alone, a 16 MiB payload accepted, 16 MiB + 1 refused), the
 * incremental decoders fed one byte at a time, and the env filter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"

#define UNIT_NAME "frame"
#include "check.h"

static int bytes_eq(const struct buf *b, const void *want, size_t n)
{
	return !b->err && b->len == n && memcmp(b->p, want, n) == 0;
}

static void limits(void)
{
	unsigned char h[4] = { 0xff, 0xff, 0xff, 0xff };
	uint32_t len = 0;
	size_t need = 0;

	check(FRAME_MAX == 22435160u, "FRAME_MAX is %u", FRAME_MAX);
	check(frame_parse(h, 4, FRAME_MAX, &len, &need) == FRAME_BIG && len == 0xffffffffu,
		"0xFFFFFFFF refused from the prefix alone");
	h[0] = 0x01, h[1] = 0x56, h[2] = 0x55, h[3] = 0x58;   /* FRAME_MAX */
	check(frame_parse(h, 4, FRAME_MAX, &len, &need) == FRAME_NEED && len == FRAME_MAX &&
		need == FRAME_HDR + FRAME_MAX, "FRAME_MAX itself is fine");
	h[3] = 0x59;
	check(frame_parse(h, 4, FRAME_MAX, &len, &need) == FRAME_BIG, "FRAME_MAX + 1 refused");
	check(frame_parse(h, 3, FRAME_MAX, &len, &need) == FRAME_NEED && need == 4,
		"3 bytes: need 4");
}

static void ping_pong(void)
{
	static const char ping[] = "\0\0\0\x0f{\"type\":\"ping\"}";
	static const char pong[] = "\0\0\0\x2f{\"type\":\"pong\",\"agent\":\"mvm-agent\",\"version\":1}";
	struct buf b = BUF_INIT;
	struct req q;
	struct rep r;
	struct merr e;
	uint32_t len;
	size_t need, i;

	req_put_ping(&b);
	check(bytes_eq(&b, ping, sizeof ping - 1), "ping bytes");
	/* one byte at a time: NEED until the last */
	for (i = 0; i < b.len; i++)
		if (frame_parse(b.p, i, FRAME_MAX, &len, &need) != FRAME_NEED)
			break;
	check(i == b.len && frame_parse(b.p, b.len, FRAME_MAX, &len, &need) == FRAME_OK &&
		len == 15, "ping decodes only when whole");
	check(req_parse(b.p + 4, len, &q, &e) == 0 && q.type == REQ_PING, "ping parses");
	req_free(&q);
	b.len = 0;
	rep_put_pong(&b);
	check(bytes_eq(&b, pong, sizeof pong - 1), "pong bytes");
	check(rep_parse(b.p + 4, b.len - 4, &r, &e) == 0 && r.type == REP_PONG && r.version == 1,
		"pong parses");
	rep_free(&r);
	buf_free(&b);
}

static void run_greet(void)
{
	static const char run[] = "{\"type\":\"run\",\"stdin\":\"W1siQWxpY2UiXSx7fV0=\",\"timeout_ms\":5000}";
	static const char out[] = "{\"type\":\"stdout\",\"data\":\"ImhlbGxvLCBBbGljZSI=\"}";
	static const char ex[] = "{\"type\":\"exit\",\"code\":0}";
	struct buf b = BUF_INIT;
	struct req q;
	struct rep r;
	struct merr e;

	req_put_run(&b, "[[\"Alice\"],{}]", 14, 5000, NULL, 0, NULL);
	check(b.len == 4 + sizeof run - 1 && memcmp(b.p + 4, run, sizeof run - 1) == 0,
		"run bytes as in the man page");
	check(req_parse(b.p + 4, b.len - 4, &q, &e) == 0 && q.type == REQ_RUN && q.inlen == 14 &&
		memcmp(q.in, "[[\"Alice\"],{}]", 14) == 0 && q.timeout_ms == 5000, "run parses");
	req_free(&q);
	b.len = 0;
	rep_put_chunk(&b, 0, "\"hello, Alice\"", 14);
	check(b.len == 4 + sizeof out - 1 && memcmp(b.p + 4, out, sizeof out - 1) == 0,
		"stdout bytes");
	check(rep_parse(b.p + 4, b.len - 4, &r, &e) == 0 && r.type == REP_STDOUT && r.len == 14 &&
		memcmp(r.data, "\"hello, Alice\"", 14) == 0, "stdout parses");
	rep_free(&r);
	b.len = 0;
	rep_put_exit(&b, 0);
	check(b.len == 4 + sizeof ex - 1 && memcmp(b.p + 4, ex, sizeof ex - 1) == 0, "exit bytes");
	b.len = 0;
	rep_put_error(&b, ERRK_TIMEOUT, "a \"quoted\" message");
	check(rep_parse(b.p + 4, b.len - 4, &r, &e) == 0 && r.type == REP_ERROR &&
		strcmp(r.kind, "timeout") == 0 && strcmp(r.message, "a \"quoted\" message") == 0,
		"error round trip");
	check(rep_terminal(&r), "error is terminal");
	rep_free(&r);
	buf_free(&b);
}

static void requests(void)
{
	static const struct { const char *body; int rc; } t[] = {
		{ "{\"type\":\"status\"}", 0 },
		{ "{\"type\":\"run\",\"stdin\":\"\"}", 0 },
		{ "", EX_DATA },
		{ "[]", EX_DATA },
		{ "{}", EX_DATA },
		{ "{\"type\":\"ping\",\"x\":1}", EX_DATA },
		{ "{\"type\":\"ping\",\"type\":\"ping\"}", EX_DATA },
		{ "{\"type\":\"PING\"}", EX_DATA },
		{ "{\"type\":\"run\"}", EX_DATA },
		{ "{\"type\":\"run\",\"stdin\":\"abc\"}", EX_DATA },
		{ "{\"type\":\"run\",\"stdin\":\"\",\"timeout_ms\":0}", EX_DATA },
		{ "{\"type\":\"run\",\"stdin\":\"\",\"timeout_ms\":1.5}", EX_DATA },
		{ "{\"type\":\"run\",\"stdin\":\"\",\"timeout_ms\":3600001}", EX_DATA },
		{ "{\"type\":\"run\",\"stdin\":\"\",\"timeout_ms\":3600000}", 0 },
		{ "{\"type\":\"run\",\"stdin\":\"\",\"env\":[]}", EX_DATA },
		{ "{\"type\":\"run\",\"stdin\":\"\",\"env\":{\"A\":null}}", EX_DATA },
		{ "{\"type\":\"ping\"} ", 0 },
		{ "{\"type\":\"ping\"}x", EX_DATA },
	};
	struct req q;
	struct merr e;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int rc = req_parse(t[i].body, strlen(t[i].body), &q, &e);

		check(rc == t[i].rc, "request %s: %d, want %d", t[i].body, rc, t[i].rc);
		if (rc == 0)
			req_free(&q);
	}
	/* env: kept and dropped pairs */
	{
		static const char body[] = "{\"type\":\"run\",\"stdin\":\"\",\"env\":{\"A\":\"1\","
			"\"\":\"e\",\"B=C\":\"d\",\"N\":\"a\\u0000b\",\"LANG\":\"C\"}}";
		static const char *const reserved[] = { "MVM_WRAPPER_CONFIG", "LD_PRELOAD",
			"LD_", "PYTHONPATH", "PYTHONSTARTUP", "NODE_OPTIONS", "NODE_PATH", "BASH_ENV",
			"ENV", "BASH_FUNC_f%%", "GLIBC_TUNABLES", "GCONV_PATH", "PATH", "HOME" };

		check(req_parse(body, sizeof body - 1, &q, &e) == 0 && q.nenv == 2 &&
			strcmp(q.env[0], "A=1") == 0 && strcmp(q.env[1], "LANG=C") == 0 &&
			q.env_dropped == 3, "env filter");
		req_free(&q);
		for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
			char b[256];
			int n = snprintf(b, sizeof b, "{\"type\":\"run\",\"stdin\":\"\","
				"\"env\":{\"A\":\"1\",\"%s\":\"x\"}}", reserved[i]);

			check(req_parse(b, (size_t)n, &q, &e) == EX_DATA, "env %s refused", reserved[i]);
		}
		/* near misses are names like any other */
		{
			static const char ok[] = "{\"type\":\"run\",\"stdin\":\"\",\"env\":"
				"{\"ENVX\":\"1\",\"NODE_ENV\":\"p\",\"MYPATH\":\"/\",\"LD\":\"1\",\"PYTHO\":\"1\"}}";

			check(req_parse(ok, sizeof ok - 1, &q, &e) == 0 && q.nenv == 5, "env near misses kept");
			req_free(&q);
		}
	}
	/* depth: 64 fine, 65 refused */
	{
		char body[256];
		int n = snprintf(body, sizeof body, "{\"type\":\"ping\",\"x\":");

		for (int d = 0; d < 63; d++)
			body[n++] = '[';
		for (int d = 0; d < 63; d++)
			body[n++] = ']';
		body[n++] = '}';
		check(req_parse(body, (size_t)n, &q, &e) == EX_DATA, "ping with depth 64 is EX_DATA (unknown member)");
		body[n - 1] = 0;
		n = snprintf(body, sizeof body, "{\"type\":\"ping\",\"x\":");
		for (int d = 0; d < 64; d++)
			body[n++] = '[';
		for (int d = 0; d < 64; d++)
			body[n++] = ']';
		body[n++] = '}';
		check(req_parse(body, (size_t)n, &q, &e) == EX_DATA && strstr(e.msg, "deep"),
			"depth 65 refused by the reader: %s", e.msg);
	}
}

static void payload_cap(void)
{
	size_t n = FRAME_PAYLOAD_MAX;
	unsigned char *p = malloc(n + 1);
	struct buf b = BUF_INIT;
	struct req q;
	struct merr e;
	uint32_t len;
	size_t need;

	if (!p) {
		check(0, "malloc");
		return;
	}
	memset(p, 'a', n + 1);
	req_put_run(&b, p, n, 0, NULL, 0, NULL);
	check(frame_parse(b.p, b.len, FRAME_MAX, &len, &need) == FRAME_OK, "16 MiB run fits a frame");
	check(req_parse(b.p + 4, len, &q, &e) == 0 && q.inlen == n, "16 MiB accepted");
	req_free(&q);
	b.len = 0;
	req_put_run(&b, p, n + 1, 0, NULL, 0, NULL);
	check(frame_parse(b.p, b.len, FRAME_MAX, &len, &need) == FRAME_OK, "16 MiB + 1 fits a frame");
	check(req_parse(b.p + 4, len, &q, &e) == EX_NO, "16 MiB + 1 is payload_cap");
	buf_free(&b);
	free(p);
}

static void mux(void)
{
	static const unsigned char open7[] = { 0, 0, 0, 7, 1, 0, 0, 0, 0 };
	struct buf b = BUF_INIT;
	struct mux_rec r;
	struct merr e;
	size_t need;
	unsigned char bad[9] = { 0, 0, 0, 1, 2, 0, 1, 0, 1 };   /* DATA of 65537 */

	mux_put(&b, 7, MUX_OPEN, NULL, 0);
	check(bytes_eq(&b, open7, sizeof open7), "OPEN 7 bytes");
	mux_put(&b, 7, MUX_DATA, "abc", 3);
	check(mux_parse(b.p, 8, &r, &need, &e) == MUX_NEED && need == MUX_HDR, "partial header");
	check(mux_parse(b.p, b.len, &r, &need, &e) == MUX_OK && r.stream == 7 &&
		r.kind == MUX_OPEN && r.size == 9, "OPEN parses");
	check(mux_parse(b.p + 9, b.len - 10, &r, &need, &e) == MUX_NEED && need == 12,
		"DATA needs its data");
	check(mux_parse(b.p + 9, b.len - 9, &r, &need, &e) == MUX_OK && r.len == 3 &&
		memcmp(r.data, "abc", 3) == 0, "DATA parses");
	check(mux_parse(bad, 9, &r, &need, &e) == MUX_BAD, "DATA above 64 KiB refused");
	bad[4] = 2, bad[6] = 0, bad[8] = 0;
	check(mux_parse(bad, 9, &r, &need, &e) == MUX_BAD, "empty DATA refused");
	bad[4] = 5;
	check(mux_parse(bad, 9, &r, &need, &e) == MUX_BAD, "kind 5 refused");
	bad[4] = 4, bad[8] = 1;
	check(mux_parse(bad, 9, &r, &need, &e) == MUX_BAD, "HELLO on stream 1 refused");
	bad[4] = 3;
	check(mux_parse(bad, 9, &r, &need, &e) == MUX_BAD, "CLOSE with data refused");
	buf_free(&b);
}

int main(void)
{
	limits();
	ping_pong();
	run_greet();
	requests();
	payload_cap();
	mux();
	return check_report();
}
