/* agentwatch.c — is the agent still the provisioned one (agentwatch.h) */
#include "agentwatch.h"
#include "buf.h"
#include "frame.h"
#include "json.h"
#include "vsock.h"

/* The status reply: 1 "seccomp" is null, 0 a string, -1 anything else. */
static int unprovisioned_in(const char *payload, size_t len, void *arg)
{
	struct jdoc *d = json_parse(payload, len, NULL, &(struct merr){ 0 });
	int r = -1;

	(void)arg;
	if (!d)
		return -1;
	if (json_str_eq(d, json_get(d, json_root(d), "type"), "status")) {
		enum jtype t = json_type(d, json_get(d, json_root(d), "seccomp"));

		r = t == J_NULL ? 1 : t == J_STR ? 0 : -1;
	}
	json_free(d);
	return r;
}

int agentwatch_unprovisioned(const char *vsock, int timeout_ms)
{
	struct buf b = BUF_INIT;
	int r;

	req_put_status(&b);
	r = b.err ? -1 : vsock_ask(vsock, b.p, b.len, timeout_ms, unprovisioned_in, NULL, -1);
	buf_free(&b);
	return r;
}
