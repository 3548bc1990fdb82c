/* netcfg.h — a launched VM's network, as its image's mvm-meta.json says
 * (mvm-meta(5) "network", "service"; issue #16).
 *
 * No "network" member: no NIC at all.  A "network" member: one virtio-net
 * NIC behind QEMU's user-mode networking with restrict=on (every
 * connection the guest starts is dropped), each declared port forwarded
 * from 127.0.0.1:<host> only, and the guest's eth0 given NETCFG_GUEST_IP
 * by init (agent/init.c) from the kernel command line (NETCFG_GUEST_ARGS).  Under
 * Firecracker the NIC is a TAP device the host prepared (vm-boot(1)).
 * An "egress" member: the allowlist of the host's egress proxy, which the
 * guest reaches over the agent's port, not a NIC (proxy.h).
 *
 * The file is read again here (after admission), and its SHA-256 must be
 * the plan's meta digest: what is launched is what the plan binds.
 * Nothing here prints or exits.
 */
#ifndef MVM_NETCFG_H
#define MVM_NETCFG_H

#include <stddef.h>
#include "buf.h"
#include "egress.h"
#include "err.h"
#include "plan.h"

/* Ports forwarded at most (each is one hostfwd rule on QEMU's command
 * line; 16 x ~40 bytes fits NETCFG_NETDEV_MAX). */
#define NETCFG_PORTS_MAX 16
#define NETCFG_NETDEV_MAX 1024
/* mvm-meta.json is small; anything bigger is not ours. */
#define NETCFG_META_MAX (64u << 10)
/* QEMU's user-mode network: the guest's address and the kernel
 * command-line words that make init (agent/init.c) configure eth0. */
#define NETCFG_GUEST_IP "10.0.2.15"
#define NETCFG_GUEST_ARGS "mvm.ip=10.0.2.15/24"
/* A Linux interface name holds at most 15 bytes: "mvm" + 12 hex. */
#define NETCFG_TAP_MAX 15

struct netcfg_port {
	unsigned guest, host;
	int udp;                       /* 0 tcp, 1 udp */
};

struct netcfg {
	int nic;                       /* attach a NIC */
	int service;                   /* the image runs a command service */
	size_t nports;
	struct netcfg_port port[NETCFG_PORTS_MAX];
	char tap[NETCFG_TAP_MAX + 1];  /* Firecracker: "mvm" + 12 hex of plan_id */
	/* "egress" (issue #16): the allowlist the host's proxy enforces
	 * (proxy.h), and its canonical digest (egress_from_json) */
	int egress;
	struct egress_policy egress_pol;
	char egress_digest[EGRESS_DIGEST_LEN + 1];
};

/*
 * Read the image's mvm-meta.json at path, check that its SHA-256 is
 * want ("sha256:<hex>", the plan's meta digest), and fill n from its
 * "network" and "service" members; plan_id names the TAP device.
 * Returns
 *   0         n filled (n->nic 0: no "network" member);
 *   EX_NO     the file is not the plan's (digest mismatch);
 *   EX_DATA   the file or a member is malformed (e says where: a JSON
 *             Pointer), or more than NETCFG_PORTS_MAX ports;
 *   EX_SYS    the file cannot be read.
 */
int netcfg_load(struct netcfg *n, const char *path, const char *want, const char *plan_id,
	struct merr *e);

/* What netcfg_load does once the digest matched: fill n from the bytes
 * meta[0..len) of mvm-meta.json.  0, or EX_DATA / EX_SYS as above. */
int netcfg_parse(struct netcfg *n, const char *meta, size_t len, const char *plan_id,
	struct merr *e);

/* QEMU's -netdev value for n (n->nic set): "user,id=net0,restrict=on,
 * hostfwd=tcp:127.0.0.1:H-:G,...".  out holds NETCFG_NETDEV_MAX bytes. */
void netcfg_qemu_netdev(const struct netcfg *n, char out[NETCFG_NETDEV_MAX]);

/* The forwarded ports as a JSON array (STATE/ports.json, vm-boot(1)):
 * [{"address":"127.0.0.1","guest":G,"host":H,"proto":"tcp"},...]. */
void netcfg_ports_json(const struct netcfg *n, struct buf *b);

/* The ports of the run in state directory dir (its ports.json), as
 * "127.0.0.1:H->G/tcp,..." for mvmctl ps; "-" when none or unreadable. */
#define NETCFG_PORTS_TEXT (NETCFG_PORTS_MAX * 32)
void netcfg_ports_text(const char *dir, char out[NETCFG_PORTS_TEXT]);

/*
 * Whether a service listens behind 127.0.0.1:port, forwarded by QEMU's
 * user-mode network.  QEMU accepts a forwarded connection at once, then
 * connects to the guest and closes the host side when the guest refuses;
 * so a connection that stays open for settle_ms (or brings bytes) means a
 * listener.  1 yes, 0 not (yet); when QEMU closed it, *closed_ms (if not
 * NULL) is how long the guest's refusal took.
 */
int netcfg_port_ready(unsigned port, int settle_ms, int *closed_ms);

/* The port that tells a command service is up: the first declared TCP
 * port's host side, or 0 (no service, or no TCP port: the agent's ping
 * is readiness). */
unsigned netcfg_service_port(const struct netcfg *n);

/* Wait up to secs seconds for netcfg_port_ready(port).  The settle time is
 * NETCFG_SETTLE_MS, or NETCFG_SETTLE_FACTOR times the slowest refusal seen
 * in this wait (at most NETCFG_SETTLE_MAX_MS): a loaded host or guest
 * that took 100 ms to refuse may take over 150 ms the next time, and a
 * refusal that comes after the settle time would pass for a listener.
 * 1 ready, 0 not. */
#define NETCFG_SETTLE_MS 150
#define NETCFG_SETTLE_FACTOR 4
#define NETCFG_SETTLE_MAX_MS 3000
int netcfg_wait_port(unsigned port, double secs);

#endif
