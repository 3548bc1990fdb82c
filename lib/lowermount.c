/* lowermount.c — the refusals of ir_lower for mounts, volumes and secrets (lower_int.h) */
#include <stdio.h>
#include <string.h>
#include "frame.h"
#include "lower_int.h"

/* ---- mounts, volumes, secrets (issue 15) ----
 * A mount is delivered as a drive (config: a host_path copied into a
 * read-only ext4 image at build time; volume: an ext4 file of the
 * workload's, attached by vm-boot) or a tmpfs, mounted by init (agent/init.c) at
 * its target with nodev,nosuid,noexec (the IR has no field to ask for
 * exec).  Secrets reach the guest only through the agent's provisioning
 * request (mvm-agent-protocol(5)). */

#define LOWER_DRIVES_MAX 8      /* config drives and volumes: lib/vmm.h's VMM_DRIVES_MAX less the deps volume and headroom */

/* Guest directories a mount may not cover: the system's, and those init
 * and the agent mount or write themselves. */
static int target_ok(const char *t, size_t n)
{
	static const char *const sys[] = { "proc", "sys", "dev", "etc", "usr", "bin", "sbin",
		"lib", "lib32", "lib64", "libx32", "boot", "run", "tmp", "root", "mnt/secrets", "mnt/deps",
		NULL };

	if (n < 2 || n > 200 || t[0] != '/' || t[n - 1] == '/')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		    (t[i] >= '0' && t[i] <= '9') || strchr("._-/", t[i])) ||
		    (t[i] == '/' && i + 1 < n && t[i + 1] == '/') ||
		    (t[i] == '/' && i + 1 < n && t[i + 1] == '.'))
			return 0;
	for (const char *const *s = sys; *s; s++) {
		size_t k = strlen(*s);
		if (n - 1 >= k && memcmp(t + 1, *s, k) == 0 && (n - 1 == k || t[1 + k] == '/'))
			return 0;
	}
	return 1;
}

static jref volume_named(const struct lctx *c, jref root, jref name)
{
	jref vols = get(c, root, "volumes");
	size_t n, m;
	const char *s = json_str(c->d, name, &n), *t;

	for (jref v = vols != JREF_NONE ? json_first(c->d, vols) : JREF_NONE; v != JREF_NONE;
	     v = json_next(c->d, v)) {
		jref vn = get(c, v, "name");
		if (vn != JREF_NONE && (t = json_str(c->d, vn, &m)) && m == n && memcmp(s, t, n) == 0)
			return v;
	}
	return JREF_NONE;
}

void lower_check_mounts(struct lctx *c, jref root, jref app)
{
	jref ms = get(c, app, "mounts"), x, y;
	size_t i = 0, j, drives = 0, n, old = c->ptr.len;
	char idx[24];

	json_ptr_push(&c->ptr, "mounts", 6);
	for (x = ms != JREF_NONE ? json_first(c->d, ms) : JREF_NONE; x != JREF_NONE; x = json_next(c->d, x), i++) {
		size_t o2 = c->ptr.len;
		jref src = get(c, x, "source"), kind = get(c, src, "kind");
		const char *t = json_str(c->d, get(c, x, "target"), &n);

		snprintf(idx, sizeof idx, "%zu", i);
		json_ptr_push(&c->ptr, idx, strlen(idx));
		if (!target_ok(t, n))
			lower_refuse(c, "target", "a mount target other than a plain absolute path ([A-Za-z0-9._-] "
				"components) outside /proc, /sys, /dev, /etc, /usr, /bin, /sbin, /lib*, "
				"/boot, /run, /tmp, /root and /mnt/secrets is not supported by this backend yet");
		j = 0;
		for (y = json_first(c->d, ms); y != x; y = json_next(c->d, y), j++) {
			size_t m;
			const char *u = json_str(c->d, get(c, y, "target"), &m);
			if (m == n && memcmp(u, t, n) == 0)
				lower_refuse(c, "target", "two mounts on one target are not supported by this backend yet");
		}
		if (str_is(c, kind, "host_path")) {
			drives++;
			if (!str_is(c, get(c, x, "mode"), "ro"))
				lower_refuse(c, "mode", "a host_path mount other than \"ro\" (it is copied into a "
					"read-only config drive at build time) is not supported by this backend yet");
		} else if (str_is(c, kind, "volume")) {
			drives++;
			if (volume_named(c, root, get(c, src, "name")) == JREF_NONE)
				lower_refuse(c, "source", "a mount of a volume the workload does not declare is not "
					"supported by this backend yet");
		} else if (!str_is(c, kind, "tmpfs")) {
			json_ptr_push(&c->ptr, "source", 6);
			lower_refuse(c, "kind", "a mount source other than host_path, volume or tmpfs is not "
				"supported by this backend yet");
		}
		if (drives > LOWER_DRIVES_MAX && (str_is(c, kind, "host_path") || str_is(c, kind, "volume")))
			lower_refuse(c, NULL, "more than %d host_path and volume mounts are not supported by "
				"this backend yet", LOWER_DRIVES_MAX);
		c->ptr.len = o2;
	}
	c->ptr.len = old;
}

/* The names a secret may not be delivered as (the agent's and the
 * loaders' variables; as framereq.c's req_env_reserved refuses them in a call). */
static int env_name_ok(const char *k, size_t n)
{
	static const char *const pre[] = { "LD_", "MVM_", "PYTHON", "NODE_", "GCONV_", NULL };

	if (n == 0 || n > 128 || (k[0] >= '0' && k[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
		    (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return 0;
	for (const char *const *p = pre; *p; p++)
		if (n >= strlen(*p) && memcmp(k, *p, strlen(*p)) == 0)
			return 0;
	return !(n == 4 && memcmp(k, "PATH", 4) == 0) && !(n == 4 && memcmp(k, "HOME", 4) == 0);
}

static int secret_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 128 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr("._-", s[i])))
			return 0;
	return 1;
}

/* A secret_ref env entry k of the app's (its pointer is current): a name
 * and a mount this backend can deliver (through the provisioning). */
void lower_check_secret(struct lctx *c, jref k)
{
	size_t sn, old = c->ptr.len;
	const char *s;
	jref v = json_value(k), ref = get(c, v, "ref"), m = get(c, ref, "mount");

	json_ptr_push(&c->ptr, "ref", 3);
	s = json_str(c->d, get(c, ref, "name"), &sn);
	if (!secret_name_ok(s, sn))
		lower_refuse(c, "name", "a secret name other than 1 to 128 of [A-Za-z0-9._-] (not "
			"starting with a dot) is not supported by this backend yet");
	if (get(c, ref, "sigv4") != JREF_NONE)
		lower_refuse(c, "sigv4", "a secret's sigv4 signing is not supported by this backend yet");
	json_ptr_push(&c->ptr, "mount", 5);
	if (str_is(c, get(c, m, "kind"), "env")) {
		s = json_str(c->d, get(c, m, "var"), &sn);
		if (!env_name_ok(s, sn) || req_env_reserved(s, sn))
			lower_refuse(c, "var", "a secret env var named other than [A-Za-z_][A-Za-z0-9_]* "
				"or named PATH, HOME, LD_*, MVM_*, PYTHON*, NODE_*, GCONV_* is "
				"not supported by this backend yet");
	} else {
		s = json_str(c->d, get(c, m, "path"), &sn);
		if (sn <= 13 || memcmp(s, "/mnt/secrets/", 13) != 0 ||
		    !secret_name_ok(s + 13, sn - 13))
			lower_refuse(c, "path", "a secret file other than /mnt/secrets/NAME (NAME 1 to "
				"128 of [A-Za-z0-9._-]) is not supported by this backend yet");
	}
	c->ptr.len = old;
}
