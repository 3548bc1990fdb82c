/* runstate.c — run state directories and IR facts for porcelains (runstate.h) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runstate.h"

int run_id_ok(const char *s, size_t n)
{
	return n > 0 && n <= RUN_ID_MAX && s[0] != '.' && !memchr(s, '/', n) && !memchr(s, '\0', n);
}

int run_dir(const char *id, char *out, size_t n, struct merr *e)
{
	if (!run_id_ok(id, strlen(id)))
		return merr_set(e, EX_USAGE, NULL, "%s: not a VM id", id);
	snprintf(out, n, "%s/%s", RUN_ROOT, id);
	return 0;
}

pid_t run_pid(const char *dir)
{
	char p[4096], buf[32] = "", *end;
	FILE *f;
	long v;

	snprintf(p, sizeof p, "%s/pid", dir);
	if (!(f = fopen(p, "re")))
		return 0;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || v <= 1 || v > 0x7fffffff)
		return 0;
	return kill((pid_t)v, 0) == 0 || errno == EPERM ? (pid_t)v : 0;
}

int ir_id(const struct jdoc *d, char *out, size_t n, struct merr *e)
{
	jref v = json_get(d, json_root(d), "id");
	const char *s = NULL;
	size_t len = 0;

	if (v != JREF_NONE)
		s = json_str(d, v, &len);
	if (!s || !run_id_ok(s, len) || len >= n)
		return merr_set(e, EX_DATA, "/id", "a workload id usable as a directory name is required");
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* v if it is of type t, else JREF_NONE. */
static jref typed(const struct jdoc *d, jref v, enum jtype t)
{
	return v != JREF_NONE && json_type(d, v) == t ? v : JREF_NONE;
}

/* 1 if v is the string s. */
static int str_is(const struct jdoc *d, jref v, const char *s)
{
	return v != JREF_NONE && json_str_eq(d, v, s);
}

int ir_format(const struct jdoc *d, char out[8], struct merr *e)
{
	jref root = json_root(d), apps, app, eps, x, pick = JREF_NONE, f;
	size_t nfunc = 0, i = 0, ipick = 0;
	char where[64];

	apps = typed(d, json_get(d, root, "apps"), J_ARR);
	app = apps != JREF_NONE ? typed(d, json_first(d, apps), J_OBJ) : JREF_NONE;
	eps = app != JREF_NONE ? typed(d, json_get(d, app, "entrypoints"), J_ARR) : JREF_NONE;
	if (eps == JREF_NONE)
		return merr_set(e, EX_DATA, "/apps/0/entrypoints", "no entrypoints");
	for (x = json_first(d, eps); x != JREF_NONE; x = json_next(d, x), i++) {
		int primary;
		if (json_type(d, x) != J_OBJ || !str_is(d, json_get(d, x, "kind"), "function"))
			continue;
		primary = typed(d, json_get(d, x, "primary"), J_TRUE) != JREF_NONE;
		if (nfunc++ == 0 || primary)
			pick = x, ipick = i;
		if (primary)
			break;
	}
	if (pick == JREF_NONE)
		return merr_set(e, EX_DATA, "/apps/0/entrypoints", "no function entrypoint");
	snprintf(where, sizeof where, "/apps/0/entrypoints/%zu/format", ipick);
	f = json_get(d, pick, "format");
	if (str_is(d, f, "json") || str_is(d, f, "msgpack")) {
		snprintf(out, 8, "%s", str_is(d, f, "json") ? "json" : "msgpack");
		return 0;
	}
	return merr_set(e, EX_DATA, where, "json or msgpack is required");
}
