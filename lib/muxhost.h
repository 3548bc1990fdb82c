/* muxhost.h — the host side of the agent port (mvm-agent-protocol(5)).
 *
 * The guest agent speaks mux records (lib/frame.h) over one byte stream, a
 * virtio-serial port.  A muxhost turns that stream into a Firecracker-style
 * hybrid vsock socket: any number of clients connect to a Unix socket,
 * write "CONNECT 5252\n", get "OK <stream>\n", and from then on their bytes
 * are the agent's frames, each client on its own mux stream.  So a client
 * (vsock-call, vm-boot's own readiness ping) cannot tell QEMU's serial
 * port from Firecracker's vsock socket.  The client side of that socket
 * contract is in vsock.h.
 *
 * One thread, poll(2); every byte from the guest and from a client is
 * hostile.  Nothing here prints or exits.
 */
#ifndef MVM_MUXHOST_H
#define MVM_MUXHOST_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "err.h"

#define MUXHOST_PORT 5252
/* Clients served at once; more wait in the listen backlog. */
#define MUXHOST_CLIENTS 256
/* Bytes queued for one slow client before it is dropped: 64 MiB, room for
 * a whole largest frame (FRAME_MAX, about 21.4 MiB) several times over. */
#define MUXHOST_CLIENT_BUF (64u << 20)
/* Bytes queued for one client above which that client is not read (its
 * requests wait in its socket, so the guest's replies to it stop growing
 * here): 1 MiB, as the agent's CONN_OUT_MAX (mvm-agent-protocol(5)).  A
 * reply already read from the guest is queued whole, so the queue exceeds
 * this by at most one reply, and never MUXHOST_CLIENT_BUF. */
#define MUXHOST_CLIENT_HIGH (1u << 20)
/* Bytes queued for the guest above which clients are not read: 4 MiB. */
#define MUXHOST_GUEST_HIGH (4u << 20)
/* The stream the muxhost itself pings the agent on; clients get 2, 3, ... */
#define MUXHOST_READY_STREAM 1u

struct muxhost;

/*
 * A muxhost over guest (the serial stream's fd, set non-blocking here) and
 * listener (a listening Unix socket, non-blocking, e.g. from unix_listen).
 * It owns neither fd.  NULL when out of memory.
 */
struct muxhost *muxhost_new(int guest, int listener);

/*
 * One turn: poll the guest, the listener and the clients for up to
 * timeout_ms, then move what is ready.  When the agent says HELLO (at
 * boot, or after it restarted before the port was ready: every client
 * stream is then closed) the muxhost pings it on MUXHOST_READY_STREAM; its
 * PONG makes the port ready (muxhost_ready), and only then are clients'
 * CONNECTs answered (before, they are closed).  A HELLO once the port is
 * ready is an agent that started again (init, agent/init.c, restarts it): the
 * launcher provisioned the one before, so this one would run
 * unprovisioned; it is MUXHOST_FAIL.  Returns
 *   MUXHOST_OK    (0)  carry on;
 *   MUXHOST_BAD   (1)  the guest sent a malformed record (e says why); what
 *                      was buffered from it is dropped; carry on;
 *   MUXHOST_FAIL (-1)  polling, or writing to the guest, failed, or the
 *                      agent said HELLO again once ready (e says why): stop
 *                      serving.
 */
enum { MUXHOST_FAIL = -1, MUXHOST_OK = 0, MUXHOST_BAD = 1 };
int muxhost_step(struct muxhost *m, int timeout_ms, struct merr *e);

/*
 * Streams the guest opens (MUX_GUEST_STREAM set: the egress proxy's
 * connections, issue #16): for each, the muxhost makes a socket pair,
 * serves one end as a client already connected to that stream (the same
 * buffering and back-pressure as a socket client's) and hands the other
 * end to open(ctx, fd), which owns it from then on.  Without a handler
 * (the default), such a stream is closed at once.  A stream id already in
 * use, or MUXHOST_CLIENTS reached, is closed too.
 */
void muxhost_on_guest_open(struct muxhost *m, void (*open)(void *ctx, int fd), void *ctx);

/* 1 once the agent has answered the muxhost's ping. */
int muxhost_ready(const struct muxhost *m);

/* Queue a shutdown request to the agent on a stream of its own; later
 * muxhost_step calls send it (its reply is dropped). */
void muxhost_shutdown(struct muxhost *m);

/* Close every client (the guest is told) and free m; the guest and
 * listener fds stay open. */
void muxhost_free(struct muxhost *m);

#endif
