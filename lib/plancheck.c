/* plancheck.c — a plan's names, tiers and postures, its validity window
 * and its resources against the launcher's limits (plan.h) */
#include <stddef.h>
#include <string.h>
#include "limit.h"
#include "plan.h"

int plan_seccomp_tier_ok(const char *s)
{
	static const char *const t[] = { "essential", "minimal", "standard", "network",
		"unrestricted", NULL };
	size_t i;

	for (i = 0; t[i]; i++)
		if (strcmp(s, t[i]) == 0)
			return 1;
	return 0;
}

int plan_secret_release_ok(const char *s)
{
	return strcmp(s, "none") == 0 || strcmp(s, "plan_bound") == 0 ||
		strcmp(s, "attestation_bound") == 0;
}

int plan_name_ok(const char *s, size_t n, int allow_colon)
{
	size_t i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-' || (allow_colon && c == ':')))
			continue;
		return 0;
	}
	return 1;
}

int plan_window(const struct plan *p, int64_t now, int64_t skew, struct merr *e)
{
	char a[21], b[21], n[21];

	rfc3339_format(p->valid_from, a);
	rfc3339_format(p->valid_until, b);
	if (rfc3339_format(now, n) != 0)
		strcpy(n, "?");
	if (p->valid_from >= p->valid_until)
		return merr_set(e, EX_NO, NULL, "inverted validity window: valid_from %s is not "
			"before valid_until %s", a, b);
	if (now + skew < p->valid_from)
		return merr_set(e, EX_NO, NULL, "not yet valid: valid_from is %s, now is %s", a, n);
	if (now - skew >= p->valid_until)
		return merr_set(e, EX_NO, NULL, "expired: valid_until was %s, now is %s", b, n);
	return 0;
}

int plan_limits(const struct plan *p, struct merr *e)
{
	static const struct { const char *ptr; size_t off; long min, max; } lim[] = {
		{ "/resources/vcpus", offsetof(struct plan, vcpus), LIMIT_VCPUS_MIN,
			LIMIT_VCPUS_MAX },
		{ "/resources/memory_mb", offsetof(struct plan, memory_mb), LIMIT_MEMORY_MB_MIN,
			LIMIT_MEMORY_MB_MAX },
		{ "/resources/boot_timeout_secs", offsetof(struct plan, boot_timeout_secs),
			LIMIT_BOOT_TIMEOUT_MIN, LIMIT_BOOT_TIMEOUT_MAX },
	};
	size_t i;

	for (i = 0; i < sizeof lim / sizeof lim[0]; i++) {
		long v = *(const long *)(const void *)((const char *)p + lim[i].off);
		if (v < lim[i].min || v > lim[i].max)
			return merr_set(e, EX_NO, lim[i].ptr, "%ld is outside what the launcher can "
				"run (%ld to %ld)", v, lim[i].min, lim[i].max);
	}
	return 0;
}
