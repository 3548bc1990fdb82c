/* plan.h — ExecutionPlans: reading, checking, writing; RFC 3339 UTC times */
#ifndef MVM_PLAN_H
#define MVM_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "err.h"

#define PLAN_SCHEMA_VERSION "0.1"
#define PLAN_MAX_LABELS 64
#define DIGEST_LEN 71            /* "sha256:" + 64 hex */

/* Times are seconds since the Unix epoch, UTC. */
/* Parse exactly YYYY-MM-DDTHH:MM:SSZ (years 0001-9999, no leap second).
 * 0 or -1. */
int rfc3339_parse(const char *s, size_t n, int64_t *t);
/* Format t as YYYY-MM-DDTHH:MM:SSZ (out: 21 bytes).  0 or -1 (range). */
int rfc3339_format(int64_t t, char out[21]);
/* Current wall-clock time. */
int64_t time_now(void);

struct plan {
	char schema_version[8];
	char plan_id[DIGEST_LEN + 1];
	long plan_version;
	char *tenant, *workload;
	char ir_hash[65];
	char *runtime_profile;
	char rootfs[DIGEST_LEN + 1], kernel[DIGEST_LEN + 1], initrd[DIGEST_LEN + 1],
		meta[DIGEST_LEN + 1];          /* initrd "" when the plan has none */
	long vcpus, memory_mb, boot_timeout_secs;
	char *ap_id, *intent, *seccomp_tier, *network_policy, *fs_policy, *egress_policy,
		*tool_policy, *secret_release, *event_prefix;
	char *required_labels[PLAN_MAX_LABELS];
	size_t nrequired;
	int require_prod;                /* admission_profile.require_prod: true, or
	                                    absent (0): admission refuses a dev image */
	int64_t valid_from, valid_until;
	char nonce[33];
};

/* Flags for plan_parse. */
#define PLAN_CANONICAL 1   /* the bytes must be exactly their RFC 8785 form */

/*
 * Read a plan from buf[0..len): strict JSON (EX_DATA when it is not
 * JSON), then (EX_NO, with a JSON Pointer): canonical bytes if asked, a
 * supported schema_version, every field of mvm-plan(5) with its type
 * and format and nothing else, and plan_id equal to the SHA-256 of the
 * canonical plan without plan_id.  The window's order is not checked
 * here (see plan_window).
 */
int plan_parse(const char *buf, size_t len, int flags, struct plan *p, struct merr *e);
/* Write p's canonical JSON to out, computing and setting p->plan_id. */
int plan_write(struct plan *p, struct buf *out, struct merr *e);
void plan_free(struct plan *p);
/* Check [valid_from, valid_until) at now, widened by skew seconds on
 * both sides.  0, or EX_NO naming the reason. */
int plan_window(const struct plan *p, int64_t now, int64_t skew, struct merr *e);

/* Are the plan's resources within what the launcher can run
 * (lib/limit.h)?  0, or EX_NO with a JSON Pointer naming the first
 * field outside, and the range. */
int plan_limits(const struct plan *p, struct merr *e);

/* Is s a seccomp tier / secret release posture this build knows? */
int plan_seccomp_tier_ok(const char *s);
int plan_secret_release_ok(const char *s);
/* Names: tenants, runtime profiles, label keys: [A-Za-z0-9][A-Za-z0-9._:-]*,
 * at most 64 bytes (tenants: no ':'). */
int plan_name_ok(const char *s, size_t n, int allow_colon);

#endif
