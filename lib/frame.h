/* frame.h — the agent protocol's frames, mux records, requests and replies
 * (mvm-agent-protocol(5)).  No I/O here: decoders look at bytes the caller
 * has buffered, encoders append to a struct buf.  Every decoder is safe on
 * hostile input. */
#ifndef MVM_FRAME_H
#define MVM_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "err.h"

/* Largest call payload (decoded run stdin) and result: 16 MiB. */
#define FRAME_PAYLOAD_MAX 16777216u
/* Largest frame body: a 16 MiB payload in base64 plus 64 KiB of envelope
 * = 4 * ceil(16 MiB / 3) + 65536 = 22,435,160. */
#define FRAME_MAX (4u * ((FRAME_PAYLOAD_MAX + 2u) / 3u) + 65536u)
#define FRAME_HDR 4u
/* Nesting limit of a frame's JSON body. */
#define FRAME_DEPTH 64u
/* Largest decoded chunk in a stdout/stderr reply. */
#define FRAME_CHUNK 65536u

/*
 * Frame decoder.  Looks at p[0..n), the bytes buffered so far, and returns
 *   FRAME_NEED  (0)  not a whole frame yet; *need = total bytes the frame
 *                    will take once known (4 until the length is read);
 *   FRAME_OK    (1)  a whole frame: body at p + FRAME_HDR, *len bytes;
 *                    the frame takes FRAME_HDR + *len bytes of p;
 *   FRAME_BIG  (-1)  the length prefix exceeds max (*len set): refuse it
 *                    before buffering the body.
 * max is FRAME_MAX for the agent protocol.
 */
enum { FRAME_BIG = -1, FRAME_NEED = 0, FRAME_OK = 1 };
int frame_parse(const void *p, size_t n, uint32_t max, uint32_t *len, size_t *need);

/* Append one frame holding body[0..n) to b. */
void frame_put(struct buf *b, const void *body, size_t n);
/* Or build the body in place: off = frame_begin(b); append the body;
 * frame_end(b, off) writes the length prefix. */
size_t frame_begin(struct buf *b);
void frame_end(struct buf *b, size_t off);

/*
 * Mux records over one byte stream (virtio-serial):
 *   stream:u32 BE | kind:u8 | length:u32 BE | data
 */
#define MUX_HDR 9u
#define MUX_DATA_MAX 65536u
enum mux_kind { MUX_OPEN = 1, MUX_DATA = 2, MUX_CLOSE = 3, MUX_HELLO = 4 };
#define MUX_HELLO_MAX 1024u
/* Streams the guest opens (the egress proxy's connections, issue #16)
 * have this bit set; the host's own streams never do. */
#define MUX_GUEST_STREAM 0x80000000u

struct mux_rec {
	uint32_t stream;
	uint8_t kind;
	uint32_t len;
	const unsigned char *data;   /* into the caller's buffer */
	size_t size;                 /* MUX_HDR + len: bytes to consume */
};

/*
 * Mux record decoder, like frame_parse: MUX_NEED (0, *need set), MUX_OK (1,
 * r filled), or MUX_BAD (-1, e says why: unknown kind, a length outside
 * the kind's range — OPEN/CLOSE 0, DATA 1..65536, HELLO 1..1024 — or
 * HELLO on a stream other than 0).  A MUX_BAD stream is not in step any
 * more.  Direction rules (who may send what) are the caller's.
 */
enum { MUX_BAD = -1, MUX_NEED = 0, MUX_OK = 1 };
int mux_parse(const void *p, size_t n, struct mux_rec *r, size_t *need, struct merr *e);
/* Append a record; n must respect the kind's range. */
void mux_put(struct buf *b, uint32_t stream, enum mux_kind kind, const void *data, size_t n);

/* ---- requests (host -> agent) ---- */

enum req_type { REQ_PING = 1, REQ_STATUS, REQ_RUN, REQ_SHUTDOWN, REQ_PROVISION };

/* mvm-agent's exit status after a shutdown request: init (agent/init.c) then stops
 * the guest instead of starting the agent again. */
#define AGENT_EXIT_SHUTDOWN 80

#define REQ_TIMEOUT_DEFAULT 30000u
#define REQ_TIMEOUT_MAX 3600000u
#define REQ_ENV_MAX 256u

struct req {
	enum req_type type;
	/* run: decoded stdin (malloc'd, may be NULL when len is 0). */
	unsigned char *in;
	size_t inlen;
	uint32_t timeout_ms;
	/* run: "K=V" strings (malloc'd), kept pairs only; invalid names and
	 * values are dropped as the protocol says (reserved names, such as
	 * LD_* and MVM_*, make the request EX_DATA). */
	char **env;
	size_t nenv;
	size_t env_dropped;
	/* run: the function's name (malloc'd, 1 to REQ_FUNCTION_MAX bytes,
	 * no NUL), or NULL: the image's primary function. */
	char *function;
	/* provision: the whole body (malloc'd, in/inlen), which the agent
	 * reads itself (mvm-agent-protocol(5) "Provisioning"); it carries
	 * secrets, so nothing here copies or logs it further. */
};
#define REQ_FUNCTION_MAX 255u

/* Is k[0..kn) a name no run request may set (the dynamic loader's, an
 * interpreter's start-up hooks, PATH, HOME, MVM_*: mvm-agent-protocol(5))?
 * ir-lower(1) refuses an IR env entry with such a name too. */
int req_env_reserved(const char *k, size_t kn);

/*
 * Parse one request body.  Returns 0, or:
 *   EX_DATA  malformed (the reply kind is "bad_request"), e says why;
 *   EX_NO    a run whose stdin decodes to more than FRAME_PAYLOAD_MAX
 *            ("payload_cap");
 *   EX_SYS   out of memory ("internal").
 * On success free the request with req_free().
 */
int req_parse(const char *body, size_t n, struct req *r, struct merr *e);
void req_free(struct req *r);

/* Append request frames (hosts). env is NULL or "K=V" strings. */
void req_put_ping(struct buf *b);
void req_put_status(struct buf *b);
void req_put_shutdown(struct buf *b);
/* timeout_ms 0 leaves the member out (agent default); function NULL
 * leaves it out (the primary). */
void req_put_run(struct buf *b, const void *in, size_t n, uint32_t timeout_ms,
	char *const *env, size_t nenv, const char *function);

/* ---- replies (agent -> host) ---- */

enum rep_type { REP_PONG = 1, REP_STATUS, REP_STDOUT, REP_STDERR, REP_EXIT, REP_ERROR };

/* The error kinds of mvm-agent-protocol(5). */
#define ERRK_TIMEOUT "timeout"
#define ERRK_PAYLOAD_CAP "payload_cap"
#define ERRK_BUSY "busy"
#define ERRK_CRASHED "wrapper_crashed"
#define ERRK_INVALID "entrypoint_invalid"
#define ERRK_BAD_REQUEST "bad_request"
#define ERRK_INTERNAL "internal"
#define ERRK_UNKNOWN_FUNCTION "unknown_function"
#define ERRK_MEMORY "memory_limit"

/* Append reply frames (agent).  Chunks: n <= FRAME_CHUNK. */
void rep_put_pong(struct buf *b);
void rep_put_chunk(struct buf *b, int is_stderr, const void *p, size_t n);
void rep_put_exit(struct buf *b, int code);
/* msg is plain text; it is JSON-escaped here. */
void rep_put_error(struct buf *b, const char *kind, const char *msg);

struct rep {
	enum rep_type type;
	unsigned char *data;   /* stdout/stderr: decoded bytes (malloc'd) */
	size_t len;
	int code;              /* exit */
	char kind[32];         /* error */
	char *message;         /* error (malloc'd) */
	int version;           /* pong */
	/* status: the body is left to the caller (json_parse it again). */
};

/* Parse one reply body (hosts).  0, EX_DATA (e says why) or EX_SYS.
 * Unknown kinds of error are accepted (kind copied, cut to 31 bytes);
 * unknown members are refused, except in status replies. */
int rep_parse(const char *body, size_t n, struct rep *r, struct merr *e);
void rep_free(struct rep *r);
/* 1 if the reply ends a run (exit or error). */
static inline int rep_terminal(const struct rep *r)
{
	return r->type == REP_EXIT || r->type == REP_ERROR;
}

#endif
