/* planwrite.c — a plan's canonical JSON and its plan_id (plan.h) */
#include <stdio.h>
#include <string.h>
#include "enc.h"
#include "json.h"
#include "plan.h"

static void kv_str(struct buf *b, const char *k, const char *v)
{
	json_put_str(b, k, strlen(k));
	buf_putc(b, ':');
	json_put_str(b, v, strlen(v));
}

static void plan_text(const struct plan *p, int with_id, struct buf *b)
{
	char from[21], until[21];
	size_t i;

	rfc3339_format(p->valid_from, from);
	rfc3339_format(p->valid_until, until);
	buf_putc(b, '{');
	kv_str(b, "schema_version", PLAN_SCHEMA_VERSION);
	if (with_id) {
		buf_putc(b, ',');
		kv_str(b, "plan_id", p->plan_id);
	}
	buf_printf(b, ",\"plan_version\":%ld,", p->plan_version);
	kv_str(b, "tenant", p->tenant);
	buf_putc(b, ',');
	kv_str(b, "workload", p->workload);
	buf_putc(b, ',');
	kv_str(b, "ir_hash", p->ir_hash);
	buf_putc(b, ',');
	kv_str(b, "runtime_profile", p->runtime_profile);
	buf_puts(b, ",\"image\":{");
	kv_str(b, "rootfs", p->rootfs);
	buf_putc(b, ',');
	kv_str(b, "kernel", p->kernel);
	if (p->initrd[0]) {
		buf_putc(b, ',');
		kv_str(b, "initrd", p->initrd);
	}
	buf_putc(b, ',');
	kv_str(b, "meta", p->meta);
	buf_printf(b, "},\"resources\":{\"vcpus\":%ld,\"memory_mb\":%ld,\"boot_timeout_secs\":%ld},",
		p->vcpus, p->memory_mb, p->boot_timeout_secs);
	buf_puts(b, "\"admission_profile\":{");
	kv_str(b, "id", p->ap_id);
	buf_putc(b, ',');
	kv_str(b, "intent", p->intent);
	buf_putc(b, ',');
	kv_str(b, "seccomp_tier", p->seccomp_tier);
	buf_putc(b, ',');
	kv_str(b, "network_policy", p->network_policy);
	buf_putc(b, ',');
	kv_str(b, "fs_policy", p->fs_policy);
	buf_putc(b, ',');
	kv_str(b, "egress_policy", p->egress_policy);
	buf_putc(b, ',');
	kv_str(b, "tool_policy", p->tool_policy);
	buf_putc(b, ',');
	kv_str(b, "secret_release", p->secret_release);
	buf_puts(b, ",\"audit\":{");
	kv_str(b, "event_prefix", p->event_prefix);
	buf_puts(b, ",\"required_labels\":[");
	for (i = 0; i < p->nrequired; i++) {
		if (i)
			buf_putc(b, ',');
		json_put_str(b, p->required_labels[i], strlen(p->required_labels[i]));
	}
	buf_puts(b, "]}");
	if (p->require_prod)
		buf_puts(b, ",\"require_prod\":true");
	buf_puts(b, "},");
	kv_str(b, "valid_from", from);
	buf_putc(b, ',');
	kv_str(b, "valid_until", until);
	buf_putc(b, ',');
	kv_str(b, "nonce", p->nonce);
	buf_putc(b, '}');
}

int plan_write(struct plan *p, struct buf *out, struct merr *e)
{
	struct buf t = BUF_INIT, c = BUF_INIT;
	char hex[65];
	int rc;

	plan_text(p, 0, &t);
	if (t.err)
		return merr_set(e, EX_SYS, NULL, "out of memory");
	if ((rc = json_canonicalize(t.p, t.len, NULL, &c, e)) != 0)
		goto out;
	sha256_hex(hex, c.p, c.len);
	snprintf(p->plan_id, sizeof p->plan_id, "sha256:%s", hex);
	t.len = 0;
	plan_text(p, 1, &t);
	if (t.err) {
		rc = merr_set(e, EX_SYS, NULL, "out of memory");
		goto out;
	}
	rc = json_canonicalize(t.p, t.len, NULL, out, e);
out:
	buf_free(&t);
	buf_free(&c);
	return rc;
}
