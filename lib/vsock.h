/* vsock.h — Unix sockets, and the client side of a Firecracker-style
 * hybrid vsock socket: connect, write "CONNECT 5252\n", read "OK <n>\n",
 * then the agent's frames (mvm-agent-protocol(5)).  The same whether
 * Firecracker made the socket or a muxhost (muxhost.h) serves it for
 * QEMU.  Nothing here prints or exits. */
#ifndef MVM_VSOCK_H
#define MVM_VSOCK_H

#include <stddef.h>

#define VSOCK_AGENT_PORT 5252

/* A listening Unix socket at path (an old file there is removed first),
 * non-blocking, close-on-exec.  The fd, or -1 with errno. */
int unix_listen(const char *path);
/* A connected Unix socket (blocking, close-on-exec), or -1 with errno. */
int unix_connect(const char *path);

/* Connect to a vsock socket at path, write "CONNECT 5252\n" and frames
 * (whole agent frames), without waiting for the "OK".  The fd, or -1. */
int vsock_send(const char *path, const void *frames, size_t n);

/* One question to the agent behind the vsock socket at path: send the
 * whole frames req[0..n) on a new connection, read the "OK n" line and
 * the first reply frame, and return answer(payload, len, arg) for that
 * frame's payload (at most FRAME_MAX bytes, hostile: answer parses it).
 * none when the connection fails, or closes or timeout_ms passes before
 * a whole frame. */
int vsock_ask(const char *path, const void *req, size_t n, int timeout_ms,
	int (*answer)(const char *payload, size_t len, void *arg), void *arg, int none);

/* 1 if the agent behind the vsock socket at path answers a ping within
 * timeout_ms, else 0. */
int vsock_ping(const char *path, int timeout_ms);

#endif
