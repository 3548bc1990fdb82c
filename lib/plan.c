/* plan.c — ExecutionPlans: reading (plan.h).  Writing: planwrite.c;
 * names, window and limits: plancheck.c; RFC 3339 times: rfc3339.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "plan.h"

static int is_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int is_digest(const char *s, size_t n)
{
	return n == DIGEST_LEN && memcmp(s, "sha256:", 7) == 0 && is_lower_hex(s + 7, 64);
}

/* ---- reading ---- */

struct rd {
	const struct jdoc *d;
	struct merr *e;
};

struct field {
	const char *name;
	int required;
	jref v;
};

/* Check obj's members against fields (a NULL-terminated table): unknown
 * members and missing required ones are errors.  Sets each field's v. */
static int members(struct rd *r, jref obj, const char *ptr, struct field *f)
{
	jref k;
	size_t i;
	char where[128];

	if (json_type(r->d, obj) != J_OBJ)
		return merr_set(r->e, EX_NO, ptr[0] ? ptr : "", "must be an object, not %s",
			json_typename(json_type(r->d, obj)));
	for (i = 0; f[i].name; i++)
		f[i].v = JREF_NONE;
	for (k = json_first_key(r->d, obj); k != JREF_NONE; k = json_next_key(r->d, k)) {
		for (i = 0; f[i].name; i++)
			if (json_str_eq(r->d, k, f[i].name))
				break;
		if (!f[i].name) {
			struct buf p = BUF_INIT;
			size_t n;
			const char *s = json_str(r->d, k, &n);
			buf_puts(&p, ptr);
			json_ptr_push(&p, s, n);
			merr_set(r->e, EX_NO, buf_cstr(&p), "unknown field");
			buf_free(&p);
			return EX_NO;
		}
		f[i].v = json_value(k);
	}
	for (i = 0; f[i].name; i++)
		if (f[i].required && f[i].v == JREF_NONE) {
			snprintf(where, sizeof where, "%s/%s", ptr, f[i].name);
			return merr_set(r->e, EX_NO, where, "required field is missing");
		}
	return 0;
}

/* A string of 1..max bytes without NUL or control characters. */
static int get_str(struct rd *r, jref v, const char *ptr, size_t max, char **out)
{
	const char *s;
	size_t n, i;

	if (json_type(r->d, v) != J_STR)
		return merr_set(r->e, EX_NO, ptr, "must be a string, not %s",
			json_typename(json_type(r->d, v)));
	s = json_str(r->d, v, &n);
	if (n == 0 || n > max)
		return merr_set(r->e, EX_NO, ptr, "must be 1 to %zu bytes long", max);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return merr_set(r->e, EX_NO, ptr, "must not contain control characters");
	if (!(*out = json_strdup(r->d, v)))
		return merr_set(r->e, EX_SYS, ptr, "out of memory");
	return 0;
}

static int get_fixed(struct rd *r, jref v, const char *ptr, char *out, size_t cap,
	int (*ok)(const char *, size_t), const char *what)
{
	const char *s;
	size_t n;

	if (json_type(r->d, v) != J_STR)
		return merr_set(r->e, EX_NO, ptr, "must be a string, not %s",
			json_typename(json_type(r->d, v)));
	s = json_str(r->d, v, &n);
	if (n >= cap || !ok(s, n))
		return merr_set(r->e, EX_NO, ptr, "must be %s", what);
	memcpy(out, s, n);
	out[n] = 0;
	return 0;
}

static int ok_hex64(const char *s, size_t n) { return n == 64 && is_lower_hex(s, n); }
static int ok_hex32(const char *s, size_t n) { return n == 32 && is_lower_hex(s, n); }
static int ok_digest(const char *s, size_t n) { return is_digest(s, n); }
static int ok_time(const char *s, size_t n) { int64_t t; return rfc3339_parse(s, n, &t) == 0; }

static int get_int(struct rd *r, jref v, const char *ptr, long min, long max, long *out)
{
	double x;

	if (json_type(r->d, v) != J_NUM)
		return merr_set(r->e, EX_NO, ptr, "must be an integer, not %s",
			json_typename(json_type(r->d, v)));
	x = json_num(r->d, v);
	if (!(x >= (double)min && x <= (double)max) || x != (double)(long)x)
		return merr_set(r->e, EX_NO, ptr, "must be an integer from %ld to %ld", min, max);
	*out = (long)x;
	return 0;
}

static int get_time(struct rd *r, jref v, const char *ptr, int64_t *t)
{
	char s[21];
	int rc = get_fixed(r, v, ptr, s, sizeof s, ok_time,
		"an RFC 3339 UTC time of the form YYYY-MM-DDTHH:MM:SSZ");

	if (rc == 0)
		rfc3339_parse(s, 20, t);
	return rc;
}

static int check_name(struct rd *r, const char *ptr, const char *s, int colon)
{
	if (!plan_name_ok(s, strlen(s), colon))
		return merr_set(r->e, EX_NO, ptr,
			"must be 1 to 64 of [A-Za-z0-9._%s-], starting with a letter or digit",
			colon ? ":" : "");
	return 0;
}

#define TRY(x) do { if ((rc = (x)) != 0) goto out; } while (0)

int plan_parse(const char *buf, size_t len, int flags, struct plan *p, struct merr *e)
{
	struct jdoc *d;
	struct rd r;
	jref root, v;
	int rc = 0;
	size_t i;
	struct field top[] = {
		{ "schema_version", 1, 0 }, { "plan_id", 1, 0 }, { "plan_version", 1, 0 },
		{ "tenant", 1, 0 }, { "workload", 1, 0 }, { "ir_hash", 1, 0 },
		{ "runtime_profile", 1, 0 }, { "image", 1, 0 }, { "resources", 1, 0 },
		{ "admission_profile", 1, 0 }, { "valid_from", 1, 0 }, { "valid_until", 1, 0 },
		{ "nonce", 1, 0 }, { NULL, 0, 0 },
	};
	struct field img[] = {
		{ "rootfs", 1, 0 }, { "kernel", 1, 0 }, { "initrd", 0, 0 }, { "meta", 1, 0 },
		{ NULL, 0, 0 },
	};
	struct field res[] = {
		{ "vcpus", 1, 0 }, { "memory_mb", 1, 0 }, { "boot_timeout_secs", 1, 0 },
		{ NULL, 0, 0 },
	};
	struct field ap[] = {
		{ "id", 1, 0 }, { "intent", 1, 0 }, { "seccomp_tier", 1, 0 },
		{ "network_policy", 1, 0 }, { "fs_policy", 1, 0 }, { "egress_policy", 1, 0 },
		{ "tool_policy", 1, 0 }, { "secret_release", 1, 0 }, { "audit", 1, 0 },
		{ "require_prod", 0, 0 }, { NULL, 0, 0 },
	};
	struct field au[] = {
		{ "event_prefix", 1, 0 }, { "required_labels", 1, 0 }, { NULL, 0, 0 },
	};

	memset(p, 0, sizeof *p);
	d = json_parse(buf, len, NULL, e);
	if (!d)
		return e ? e->code : EX_DATA;
	r.d = d;
	r.e = e;
	root = json_root(d);
	if (json_type(d, root) != J_OBJ) {
		rc = merr_set(e, EX_NO, "", "a plan is a JSON object, not %s",
			json_typename(json_type(d, root)));
		goto out;
	}
	if (flags & PLAN_CANONICAL) {
		struct buf c = BUF_INIT;
		if (json_canon(d, root, &c) != 0) {
			buf_free(&c);
			rc = merr_set(e, EX_SYS, NULL, "out of memory");
			goto out;
		}
		if (c.len != len || memcmp(c.p, buf, len) != 0) {
			size_t at = 0;
			while (at < len && at < c.len && c.p[at] == buf[at])
				at++;
			buf_free(&c);
			rc = merr_set(e, EX_NO, NULL,
				"not in RFC 8785 canonical form (first difference at byte %zu; "
				"ir-canon writes it)", at);
			goto out;
		}
		buf_free(&c);
	}
	v = json_get(d, root, "schema_version");
	if (v == JREF_NONE) {
		rc = merr_set(e, EX_NO, "/schema_version", "required field is missing");
		goto out;
	}
	if (!json_str_eq(d, v, PLAN_SCHEMA_VERSION)) {
		char *s = json_type(d, v) == J_STR ? json_strdup(d, v) : NULL;
		rc = merr_set(e, EX_NO, "/schema_version",
			"unsupported schema_version %s%s%s (this build supports \"%s\")",
			s ? "\"" : "", s ? s : json_typename(json_type(d, v)), s ? "\"" : "",
			PLAN_SCHEMA_VERSION);
		free(s);
		goto out;
	}
	strcpy(p->schema_version, PLAN_SCHEMA_VERSION);
	TRY(members(&r, root, "", top));
	TRY(get_fixed(&r, top[1].v, "/plan_id", p->plan_id, sizeof p->plan_id, ok_digest,
		"\"sha256:\" and 64 lowercase hex digits"));
	TRY(get_int(&r, top[2].v, "/plan_version", 1, 4294967295L, &p->plan_version));
	TRY(get_str(&r, top[3].v, "/tenant", 64, &p->tenant));
	TRY(check_name(&r, "/tenant", p->tenant, 0));
	TRY(get_str(&r, top[4].v, "/workload", 256, &p->workload));
	TRY(get_fixed(&r, top[5].v, "/ir_hash", p->ir_hash, sizeof p->ir_hash, ok_hex64,
		"64 lowercase hex digits"));
	TRY(get_str(&r, top[6].v, "/runtime_profile", 64, &p->runtime_profile));
	TRY(check_name(&r, "/runtime_profile", p->runtime_profile, 0));

	TRY(members(&r, top[7].v, "/image", img));
	TRY(get_fixed(&r, img[0].v, "/image/rootfs", p->rootfs, sizeof p->rootfs, ok_digest,
		"\"sha256:\" and 64 lowercase hex digits"));
	TRY(get_fixed(&r, img[1].v, "/image/kernel", p->kernel, sizeof p->kernel, ok_digest,
		"\"sha256:\" and 64 lowercase hex digits"));
	if (img[2].v != JREF_NONE)
		TRY(get_fixed(&r, img[2].v, "/image/initrd", p->initrd, sizeof p->initrd, ok_digest,
			"\"sha256:\" and 64 lowercase hex digits"));
	TRY(get_fixed(&r, img[3].v, "/image/meta", p->meta, sizeof p->meta, ok_digest,
		"\"sha256:\" and 64 lowercase hex digits"));

	TRY(members(&r, top[8].v, "/resources", res));
	TRY(get_int(&r, res[0].v, "/resources/vcpus", 1, 1024, &p->vcpus));
	TRY(get_int(&r, res[1].v, "/resources/memory_mb", 1, 16777216, &p->memory_mb));
	TRY(get_int(&r, res[2].v, "/resources/boot_timeout_secs", 1, 86400,
		&p->boot_timeout_secs));

	TRY(members(&r, top[9].v, "/admission_profile", ap));
	TRY(get_str(&r, ap[0].v, "/admission_profile/id", 256, &p->ap_id));
	TRY(get_str(&r, ap[1].v, "/admission_profile/intent", 256, &p->intent));
	TRY(get_str(&r, ap[2].v, "/admission_profile/seccomp_tier", 64, &p->seccomp_tier));
	if (!plan_seccomp_tier_ok(p->seccomp_tier)) {
		rc = merr_set(e, EX_NO, "/admission_profile/seccomp_tier",
			"must be one of essential, minimal, standard, network, unrestricted");
		goto out;
	}
	TRY(get_str(&r, ap[3].v, "/admission_profile/network_policy", 256, &p->network_policy));
	TRY(get_str(&r, ap[4].v, "/admission_profile/fs_policy", 256, &p->fs_policy));
	TRY(get_str(&r, ap[5].v, "/admission_profile/egress_policy", 256, &p->egress_policy));
	TRY(get_str(&r, ap[6].v, "/admission_profile/tool_policy", 256, &p->tool_policy));
	TRY(get_str(&r, ap[7].v, "/admission_profile/secret_release", 64, &p->secret_release));
	if (!plan_secret_release_ok(p->secret_release)) {
		rc = merr_set(e, EX_NO, "/admission_profile/secret_release",
			"must be one of none, plan_bound, attestation_bound");
		goto out;
	}
	if (ap[9].v != JREF_NONE) {
		/* written only when true: false is the member's absence */
		if (json_type(d, ap[9].v) != J_TRUE) {
			rc = merr_set(e, EX_NO, "/admission_profile/require_prod",
				"must be true when present (absent: dev images are admitted)");
			goto out;
		}
		p->require_prod = 1;
	}
	TRY(members(&r, ap[8].v, "/admission_profile/audit", au));
	TRY(get_str(&r, au[0].v, "/admission_profile/audit/event_prefix", 64, &p->event_prefix));
	TRY(check_name(&r, "/admission_profile/audit/event_prefix", p->event_prefix, 0));
	v = au[1].v;
	if (json_type(d, v) != J_ARR || json_len(d, v) > PLAN_MAX_LABELS) {
		rc = merr_set(e, EX_NO, "/admission_profile/audit/required_labels",
			"must be an array of at most %d label names", PLAN_MAX_LABELS);
		goto out;
	}
	for (v = json_first(d, v), i = 0; v != JREF_NONE; v = json_next(d, v), i++) {
		char where[96];
		size_t j;
		snprintf(where, sizeof where, "/admission_profile/audit/required_labels/%zu", i);
		TRY(get_str(&r, v, where, 64, &p->required_labels[i]));
		p->nrequired = i + 1;
		TRY(check_name(&r, where, p->required_labels[i], 1));
		for (j = 0; j < i; j++)
			if (strcmp(p->required_labels[j], p->required_labels[i]) == 0) {
				rc = merr_set(e, EX_NO, where, "duplicate label name");
				goto out;
			}
	}

	TRY(get_time(&r, top[10].v, "/valid_from", &p->valid_from));
	TRY(get_time(&r, top[11].v, "/valid_until", &p->valid_until));
	TRY(get_fixed(&r, top[12].v, "/nonce", p->nonce, sizeof p->nonce, ok_hex32,
		"32 lowercase hex digits"));

	/* plan_id names the rest of the plan. */
	{
		struct plan q = *p;
		struct buf c = BUF_INIT;
		char want[DIGEST_LEN + 1];
		memcpy(want, p->plan_id, sizeof want);
		rc = plan_write(&q, &c, e);
		buf_free(&c);
		if (rc)
			goto out;
		if (strcmp(q.plan_id, want) != 0) {
			rc = merr_set(e, EX_NO, "/plan_id",
				"does not match the plan: its content hashes to %s", q.plan_id);
			goto out;
		}
	}
out:
	json_free(d);
	if (rc)
		plan_free(p);
	return rc;
}

void plan_free(struct plan *p)
{
	size_t i;

	free(p->tenant);
	free(p->workload);
	free(p->runtime_profile);
	free(p->ap_id);
	free(p->intent);
	free(p->seccomp_tier);
	free(p->network_policy);
	free(p->fs_policy);
	free(p->egress_policy);
	free(p->tool_policy);
	free(p->secret_release);
	free(p->event_prefix);
	for (i = 0; i < p->nrequired; i++)
		free(p->required_labels[i]);
	memset(p, 0, sizeof *p);
}
