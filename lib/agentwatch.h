/* agentwatch.h — whether the agent behind a vsock socket is still the one
 * the host provisioned.
 *
 * init starts the agent again when it exits (mvm-agent(8)); the new agent
 * has neither the plan's seccomp tier nor its secrets, and nothing gives
 * them a second time.  Under QEMU vm-boot serves the agent's port and sees
 * the new agent's hello (muxhost.h); under Firecracker the socket is
 * Firecracker's, so vm-boot asks instead: an agent started with
 * --provision reports "seccomp": null in its status until it is
 * provisioned (mvm-agent-protocol(5)), a provisioned one the tier's name.
 *
 * Every byte from the agent is hostile: the reply is parsed as JSON and
 * only "type" and "seccomp" are read.  Nothing here prints or exits.
 */
#ifndef MVM_AGENTWATCH_H
#define MVM_AGENTWATCH_H

/* The reason recorded when a restarted agent stops the VM, under either
 * VMM (this watch, or muxhost's second HELLO). */
#define AGENTWATCH_RESTARTED \
	"the agent started again after the VM was ready (it runs unprovisioned): stopping the VM"

/* How often vm-boot asks, once the agent is provisioned. */
#define AGENTWATCH_POLL_MS 1000

/*
 * Ask the agent behind the vsock socket for its status, once.
 *   1   its status says it is not provisioned ("seccomp": null)
 *   0   it reports a tier (a string)
 *  -1   no status within timeout_ms, or a reply that is neither
 *       (the caller asks again later; it decides nothing on it)
 */
int agentwatch_unprovisioned(const char *vsock, int timeout_ms);

#endif
