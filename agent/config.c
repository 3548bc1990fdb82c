/* config.c — mvm-agent's runtime.json reader (agent.h: runtime_load,
 * runtime_parse); the entrypoint marker is entry.c's. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent.h"
#include "buf.h"
#include "io.h"
#include "json.h"

static int copy_str(const struct jdoc *d, jref v, char *out, size_t cap)
{
	size_t n;
	const char *s;

	if (json_type(d, v) != J_STR)
		return -1;
	s = json_str(d, v, &n);
	if (n == 0 || n >= cap || memchr(s, 0, n))
		return -1;
	memcpy(out, s, n);
	out[n] = 0;
	return 0;
}

static int get_uint(const struct jdoc *d, jref v, unsigned long lo, unsigned long hi,
	unsigned long *out)
{
	double x;

	if (json_type(d, v) != J_NUM)
		return -1;
	x = json_num(d, v);
	if (!(x == floor(x) && x >= (double)lo && x <= (double)hi))
		return -1;
	*out = (unsigned long)x;
	return 0;
}

#define BAD(...) do { snprintf(msg, msglen, __VA_ARGS__); goto out; } while (0)

static int load_concurrency(const struct jdoc *d, jref c, struct runtime *cfg, char *msg,
	size_t msglen)
{
	int have_calls = 0, have_rss = 0, have_pool = 0, have_inp = 0, kind = 0;

	if (json_type(d, c) != J_OBJ) {
		snprintf(msg, msglen, "/concurrency: not an object");
		return -1;
	}
	for (jref k = json_first_key(d, c); k != JREF_NONE; k = json_next_key(d, k)) {
		jref v = json_value(k);

		if (json_str_eq(d, k, "kind")) {
			if (!json_str_eq(d, v, "warm_process")) {
				snprintf(msg, msglen, "/concurrency/kind: must be \"warm_process\"");
				return -1;
			}
			kind = 1;
		} else if (json_str_eq(d, k, "max_calls_per_worker")) {
			if (get_uint(d, v, 1, 1000000000, &cfg->max_calls_per_worker) != 0) {
				snprintf(msg, msglen, "/concurrency/max_calls_per_worker: not an integer from 1");
				return -1;
			}
			have_calls = 1;
		} else if (json_str_eq(d, k, "max_rss_mb")) {
			if (get_uint(d, v, 1, 1048576, &cfg->max_rss_mb) != 0) {
				snprintf(msg, msglen, "/concurrency/max_rss_mb: not an integer from 1 to 1048576");
				return -1;
			}
			have_rss = 1;
		} else if (json_str_eq(d, k, "pool_size")) {
			double x = json_type(d, v) == J_NUM ? json_num(d, v) : -1;

			if (get_uint(d, v, 1, POOL_MAX, &cfg->pool_size) != 0) {
				snprintf(msg, msglen, "/concurrency/pool_size: %s%g out of range; must be in [1, 64]",
					json_type(d, v) == J_NUM ? "" : "not a number ", x);
				return -1;
			}
			have_pool = 1;
		} else if (json_str_eq(d, k, "in_process")) {
			if (json_str_eq(d, v, "concurrent")) {
				snprintf(msg, msglen, "/concurrency/in_process: \"concurrent\" is not supported (ADR-0011)");
				return -1;
			}
			if (!json_str_eq(d, v, "serial")) {
				snprintf(msg, msglen, "/concurrency/in_process: must be \"serial\"");
				return -1;
			}
			have_inp = 1;
		} else if (json_str_eq(d, k, "max_queue_depth")) {
			if (get_uint(d, v, 0, 4096, &cfg->max_queue_depth) != 0) {
				snprintf(msg, msglen, "/concurrency/max_queue_depth: not an integer from 0 to 4096");
				return -1;
			}
			cfg->has_queue_depth = 1;
		} else {
			snprintf(msg, msglen, "/concurrency: unknown member");
			return -1;
		}
	}
	if (!kind || !have_calls || !have_rss || !have_pool || !have_inp) {
		snprintf(msg, msglen, "/concurrency: kind, max_calls_per_worker, max_rss_mb, pool_size and in_process are required");
		return -1;
	}
	cfg->warm = 1;
	if (!cfg->has_queue_depth)
		cfg->max_queue_depth = 2 * cfg->pool_size;
	return 0;
}

/* "env": {"NAME":"value",...}, names and values as the protocol's rule
 * for a request's env (no reserved name, no '=' or NUL). */
static int load_env(const struct jdoc *d, jref v, struct runtime *cfg, char *msg, size_t msglen)
{
	if (json_type(d, v) != J_OBJ || json_len(d, v) > RT_ENV_MAX) {
		snprintf(msg, msglen, "/env: not an object of at most %d strings", RT_ENV_MAX);
		return -1;
	}
	if (!(cfg->env = calloc(json_len(d, v) + 1, sizeof *cfg->env))) {
		snprintf(msg, msglen, "/env: out of memory");
		return -1;
	}
	for (jref k = json_first_key(d, v); k != JREF_NONE; k = json_next_key(d, k)) {
		size_t kn, vn;
		const char *ks = json_str(d, k, &kn), *vs;
		char *s;

		if (json_type(d, json_value(k)) != J_STR || kn == 0 || memchr(ks, '=', kn) ||
		    memchr(ks, 0, kn) || req_env_reserved(ks, kn)) {
			snprintf(msg, msglen, "/env: a name the agent reserves or a value that is not a string");
			return -1;
		}
		vs = json_str(d, json_value(k), &vn);
		if (memchr(vs, 0, vn) || !(s = malloc(kn + vn + 2))) {
			snprintf(msg, msglen, "/env: a value with NUL");
			return -1;
		}
		memcpy(s, ks, kn);
		s[kn] = '=';
		memcpy(s + kn + 1, vs, vn);
		s[kn + vn + 1] = 0;
		cfg->env[cfg->nenv++] = s;
	}
	return 0;
}

/* "functions": [{"name","module","function","format","primary"},...]. */
static int load_functions(const struct jdoc *d, jref v, struct runtime *cfg, char *msg,
	size_t msglen)
{
	if (json_type(d, v) != J_ARR || json_len(d, v) == 0 || json_len(d, v) > RT_FN_MAX) {
		snprintf(msg, msglen, "/functions: not an array of 1 to %d functions", RT_FN_MAX);
		return -1;
	}
	if (!(cfg->fn = calloc(json_len(d, v), sizeof *cfg->fn))) {
		snprintf(msg, msglen, "/functions: out of memory");
		return -1;
	}
	for (jref x = json_first(d, v); x != JREF_NONE; x = json_next(d, x)) {
		jref nm = json_type(d, x) == J_OBJ ? json_get(d, x, "name") : JREF_NONE;
		char name[256];

		if (nm == JREF_NONE || copy_str(d, nm, name, sizeof name) != 0 ||
		    fn_find(cfg, name) >= 0) {
			snprintf(msg, msglen, "/functions: a function without a unique name "
				"(1 to 255 bytes, no NUL)");
			return -1;
		}
		for (jref k = json_first_key(d, x); k != JREF_NONE; k = json_next_key(d, k))
			if (!json_str_eq(d, k, "name") && !json_str_eq(d, k, "module") &&
			    !json_str_eq(d, k, "function") && !json_str_eq(d, k, "format") &&
			    !json_str_eq(d, k, "primary")) {
				snprintf(msg, msglen, "/functions: unknown member");
				return -1;
			}
		if (!(cfg->fn[cfg->nfn] = strdup(name))) {
			snprintf(msg, msglen, "/functions: out of memory");
			return -1;
		}
		cfg->nfn++;
	}
	return 0;
}

int fn_find(const struct runtime *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nfn; i++)
		if (strcmp(cfg->fn[i], name) == 0)
			return (int)i;
	return -1;
}

int runtime_load(const char *path, struct runtime *cfg, char *msg, size_t msglen)
{
	struct buf b = BUF_INIT;
	struct merr e;
	int rc = -1;

	memset(cfg, 0, sizeof *cfg);
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;               /* no runtime.json: cold tier */
	if (read_file(path, &b, &e) != 0)
		snprintf(msg, msglen, "%s", e.msg);
	else
		rc = runtime_parse(b.p ? b.p : "", b.len, cfg, msg, msglen);
	buf_free(&b);
	return rc;
}

int runtime_parse(const char *p, size_t len, struct runtime *cfg, char *msg, size_t msglen)
{
	struct jopts o = { .max_depth = 64 };
	struct jdoc *d = NULL;
	struct merr e;
	int rc = -1, have = 0;
	jref root;

	memset(cfg, 0, sizeof *cfg);
	if (len > 65536)
		BAD("larger than 64 KiB");
	if (!(d = json_parse(p, len, &o, &e)))
		BAD("%s%s%s", e.where, e.where[0] ? ": " : "", e.msg);
	root = json_root(d);
	if (json_type(d, root) != J_OBJ)
		BAD("not a JSON object");
	for (jref k = json_first_key(d, root); k != JREF_NONE; k = json_next_key(d, k)) {
		jref v = json_value(k);

		if (json_str_eq(d, k, "language")) {
			if (copy_str(d, v, cfg->language, sizeof cfg->language))
				BAD("/language: not a non-empty string");
			have |= 1;
		} else if (json_str_eq(d, k, "module")) {
			if (copy_str(d, v, cfg->module, sizeof cfg->module))
				BAD("/module: not a non-empty string");
			have |= 2;
		} else if (json_str_eq(d, k, "function")) {
			if (copy_str(d, v, cfg->function, sizeof cfg->function))
				BAD("/function: not a non-empty string");
			have |= 4;
		} else if (json_str_eq(d, k, "format")) {
			if (!json_str_eq(d, v, "json") && !json_str_eq(d, v, "msgpack"))
				BAD("/format: must be \"json\" or \"msgpack\"");
			copy_str(d, v, cfg->format, sizeof cfg->format);
			have |= 8;
		} else if (json_str_eq(d, k, "source_path")) {
			if (copy_str(d, v, cfg->source_path, sizeof cfg->source_path) ||
			    cfg->source_path[0] != '/')
				BAD("/source_path: not an absolute path");
			have |= 16;
		} else if (json_str_eq(d, k, "concurrency")) {
			if (load_concurrency(d, v, cfg, msg, msglen) != 0)
				goto out;
		} else if (json_str_eq(d, k, "env")) {
			if (load_env(d, v, cfg, msg, msglen) != 0)
				goto out;
		} else if (json_str_eq(d, k, "functions")) {
			if (load_functions(d, v, cfg, msg, msglen) != 0)
				goto out;
		} else {
			size_t kn;
			const char *ks = json_str(d, k, &kn);

			BAD("unknown member \"%.*s\"", (int)(kn > 64 ? 64 : kn), ks);
		}
	}
	if (have != 31)
		BAD("language, module, function, format and source_path are required");
	if (cfg->warm && cfg->nfn > 1)    /* ir-lower refuses it too */
		BAD("/functions: a warm pool serves one function, not %zu", cfg->nfn);
	if (cfg->nfn == 0) {    /* no list: the primary alone, by its function */
		if (!(cfg->fn = calloc(1, sizeof *cfg->fn)) || !(cfg->fn[0] = strdup(cfg->function)))
			BAD("out of memory");
		cfg->nfn = 1;
	}
	cfg->present = 1;
	rc = 0;
out:
	json_free(d);
	return rc;
}

void runtime_free(struct runtime *cfg)
{
	for (size_t i = 0; cfg->env && i < cfg->nenv; i++)
		free(cfg->env[i]);
	for (size_t i = 0; cfg->fn && i < cfg->nfn; i++)
		free(cfg->fn[i]);
	free(cfg->env);
	free(cfg->fn);
	memset(cfg, 0, sizeof *cfg);
}
