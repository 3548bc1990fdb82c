/* fuzz/frame.c — libFuzzer harness for the agent protocol codec (lib/frame.c,
 * lib/framereq.c, lib/framerep.c).
 * The first byte picks a mode; the rest is hostile input:
 *   0: a byte stream of frames, decoded as the agent does (frame_parse with
 *      FRAME_MAX), each body through req_parse;
 *   1: a mux byte stream (mux_parse), each DATA record's data through
 *      frame_parse + req_parse;
 *   2: one reply body through rep_parse (the host side);
 *   3: round trips: a request and replies built from the input must decode
 *      to what was encoded.
 * Checks: no crash or sanitizer report; decoders consume exactly what they
 * say; refusals are EX_DATA / EX_NO only; round trips are exact. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_req(const char *body, size_t n)
{
	struct req r;
	struct merr e;
	int rc = req_parse(body, n, &r, &e);

	if (rc == 0) {
		if (r.type != REQ_PING && r.type != REQ_STATUS && r.type != REQ_RUN)
			abort();
		if (r.type == REQ_RUN && (r.inlen > FRAME_PAYLOAD_MAX || r.timeout_ms < 1 ||
		    r.timeout_ms > REQ_TIMEOUT_MAX))
			abort();
		for (size_t i = 0; i < r.nenv; i++)
			if (!strchr(r.env[i], '=') || !strncmp(r.env[i], "MVM_", 4) || r.env[i][0] == '=' ||
			    !strncmp(r.env[i], "LD_", 3) || !strncmp(r.env[i], "PYTHON", 6) ||
			    !strncmp(r.env[i], "NODE_OPTIONS=", 13) || !strncmp(r.env[i], "PATH=", 5))
				abort();   /* reserved names are refused, never kept */
		req_free(&r);
	} else if (rc != EX_DATA && rc != EX_NO) {
		abort();
	}
}

static void frames(const uint8_t *p, size_t n)
{
	for (;;) {
		uint32_t len;
		size_t need;
		int r = frame_parse(p, n, FRAME_MAX, &len, &need);

		if (r == FRAME_BIG) {
			if (len <= FRAME_MAX)
				abort();
			return;
		}
		if (r == FRAME_NEED) {
			if (need <= n)
				abort();
			return;
		}
		if (FRAME_HDR + (size_t)len > n)
			abort();
		check_req((const char *)p + FRAME_HDR, len);
		p += FRAME_HDR + len;
		n -= FRAME_HDR + len;
	}
}

static void muxes(const uint8_t *p, size_t n)
{
	for (;;) {
		struct mux_rec r;
		struct merr e;
		size_t need;
		int rc = mux_parse(p, n, &r, &need, &e);

		if (rc == MUX_BAD)
			return;
		if (rc == MUX_NEED) {
			if (need <= n)
				abort();
			return;
		}
		if (r.size != MUX_HDR + r.len || r.size > n)
			abort();
		if (r.kind == MUX_DATA)
			frames(r.data, r.len);
		p += r.size;
		n -= r.size;
	}
}

static void reply(const uint8_t *p, size_t n)
{
	struct rep r;
	struct merr e;
	int rc = rep_parse((const char *)p, n, &r, &e);

	if (rc == 0)
		rep_free(&r);
	else if (rc != EX_DATA)
		abort();
}

static void roundtrip(const uint8_t *p, size_t n)
{
	struct buf b = BUF_INIT;
	struct req q;
	struct rep r;
	struct merr e;
	uint32_t len;
	size_t need, half = n / 2;
	char env0[] = "K=v", *env[] = { env0 };

	/* a run request carrying the first half */
	req_put_run(&b, p, half, 1 + (uint32_t)(n % REQ_TIMEOUT_MAX), env, 1, NULL);
	if (b.err || frame_parse(b.p, b.len, FRAME_MAX, &len, &need) != FRAME_OK ||
	    need != b.len)
		abort();
	if (req_parse(b.p + FRAME_HDR, len, &q, &e) != 0 || q.type != REQ_RUN ||
	    q.inlen != half || (half && memcmp(q.in, p, half) != 0) || q.nenv != 1 ||
	    strcmp(q.env[0], "K=v") != 0)
		abort();
	req_free(&q);
	/* a stderr chunk of the second half, an error with it as message text */
	b.len = 0;
	rep_put_chunk(&b, 1, p + half, n - half);
	if (frame_parse(b.p, b.len, FRAME_MAX, &len, &need) != FRAME_OK ||
	    rep_parse(b.p + FRAME_HDR, len, &r, &e) != 0 || r.type != REP_STDERR ||
	    r.len != n - half || (r.len && memcmp(r.data, p + half, r.len) != 0))
		abort();
	rep_free(&r);
	/* mux: DATA records round-trip */
	b.len = 0;
	if (n)
		mux_put(&b, 7, MUX_DATA, p, n > MUX_DATA_MAX ? MUX_DATA_MAX : n);
	else
		mux_put(&b, 7, MUX_DATA, "x", 1);
	{
		struct mux_rec m;

		if (mux_parse(b.p, b.len, &m, &need, &e) != MUX_OK || m.stream != 7 ||
		    m.kind != MUX_DATA || m.size != b.len)
			abort();
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		frames(data + 1, size - 1);
		break;
	case 1:
		muxes(data + 1, size - 1);
		break;
	case 2:
		reply(data + 1, size - 1);
		break;
	case 3:
		roundtrip(data + 1, size - 1);
		break;
	}
	return 0;
}
