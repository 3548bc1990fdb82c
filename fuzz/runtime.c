/* fuzz/runtime.c — libFuzzer harness for the guest agent's reader of
 * /etc/mvm/runtime.json (agent/config.c: runtime_parse, what runtime_load
 * does with the file's bytes).  The file comes with the image, whose
 * builder chose its bytes.  Checks (agent.h and
 * schemas/runtime.schema.json): no crash, leak or sanitizer report; a
 * refusal has a message; an accepted runtime has language, module,
 * function, a format of json or msgpack and an absolute source_path, each
 * non-empty; 1 to RT_FN_MAX functions with distinct non-empty names (the
 * primary alone when none is listed; one in a warm pool); a warm pool's
 * numbers within the schema's bounds, its queue depth 2 x pool_size when
 * not given; at most RT_ENV_MAX variables, each NAME=VALUE with a name the
 * agent does not reserve; and the round trip: the runtime written back
 * as runtime.json is accepted and reads back the same. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_str(struct buf *b, const char *s)
{
	json_put_str(b, s, strlen(s));
}

/* rt as runtime.json. */
static void write_rt(const struct runtime *rt, struct buf *b)
{
	buf_puts(b, "{\"language\":");
	put_str(b, rt->language);
	buf_puts(b, ",\"module\":");
	put_str(b, rt->module);
	buf_puts(b, ",\"function\":");
	put_str(b, rt->function);
	buf_puts(b, ",\"format\":");
	put_str(b, rt->format);
	buf_puts(b, ",\"source_path\":");
	put_str(b, rt->source_path);
	if (rt->warm)
		buf_printf(b, ",\"concurrency\":{\"kind\":\"warm_process\",\"in_process\":\"serial\","
			"\"max_calls_per_worker\":%lu,\"max_rss_mb\":%lu,\"pool_size\":%lu,"
			"\"max_queue_depth\":%lu}", rt->max_calls_per_worker, rt->max_rss_mb,
			rt->pool_size, rt->max_queue_depth);
	buf_puts(b, ",\"env\":{");
	for (size_t i = 0; i < rt->nenv; i++) {
		const char *eq = strchr(rt->env[i], '=');
		if (i)
			buf_putc(b, ',');
		json_put_str(b, rt->env[i], (size_t)(eq - rt->env[i]));
		buf_putc(b, ':');
		put_str(b, eq + 1);
	}
	buf_puts(b, "},\"functions\":[");
	for (size_t i = 0; i < rt->nfn; i++) {
		buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		put_str(b, rt->fn[i]);
		buf_putc(b, '}');
	}
	buf_puts(b, "]}");
}

static int same(const struct runtime *a, const struct runtime *b)
{
	if (a->present != b->present || strcmp(a->language, b->language) ||
	    strcmp(a->module, b->module) || strcmp(a->function, b->function) ||
	    strcmp(a->format, b->format) || strcmp(a->source_path, b->source_path) ||
	    a->warm != b->warm || a->nenv != b->nenv || a->nfn != b->nfn)
		return 0;
	if (a->warm && (a->max_calls_per_worker != b->max_calls_per_worker ||
	    a->max_rss_mb != b->max_rss_mb || a->pool_size != b->pool_size ||
	    a->max_queue_depth != b->max_queue_depth))
		return 0;
	for (size_t i = 0; i < a->nenv; i++)
		if (strcmp(a->env[i], b->env[i]))
			return 0;
	for (size_t i = 0; i < a->nfn; i++)
		if (strcmp(a->fn[i], b->fn[i]))
			return 0;
	return 1;
}

static int filled(const char *s, size_t cap)
{
	return s[0] && strnlen(s, cap) < cap;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct runtime rt, back;
	char msg[256] = "", msg2[256] = "";
	struct buf b = BUF_INIT;

	if (runtime_parse((const char *)data, size, &rt, msg, sizeof msg) != 0) {
		if (!msg[0] || rt.present)
			abort();   /* a refusal says why */
		runtime_free(&rt);
		return 0;
	}
	if (!rt.present || !filled(rt.language, sizeof rt.language) ||
	    !filled(rt.module, sizeof rt.module) || !filled(rt.function, sizeof rt.function) ||
	    (strcmp(rt.format, "json") && strcmp(rt.format, "msgpack")) ||
	    !filled(rt.source_path, sizeof rt.source_path) || rt.source_path[0] != '/')
		abort();
	if (rt.nfn < 1 || rt.nfn > RT_FN_MAX || (rt.warm && rt.nfn != 1) || rt.nenv > RT_ENV_MAX)
		abort();
	for (size_t i = 0; i < rt.nfn; i++) {
		if (!rt.fn[i][0] || strlen(rt.fn[i]) > 255 || fn_find(&rt, rt.fn[i]) != (int)i)
			abort();   /* empty, too long, or not distinct */
	}
	if (rt.warm && (rt.max_calls_per_worker < 1 || rt.max_calls_per_worker > 1000000000 ||
	    rt.max_rss_mb < 1 || rt.max_rss_mb > 1048576 || rt.pool_size < 1 ||
	    rt.pool_size > POOL_MAX || rt.max_queue_depth > 4096 ||
	    (!rt.has_queue_depth && rt.max_queue_depth != 2 * rt.pool_size)))
		abort();
	for (size_t i = 0; i < rt.nenv; i++) {
		const char *eq = strchr(rt.env[i], '=');
		if (!eq || eq == rt.env[i] || req_env_reserved(rt.env[i], (size_t)(eq - rt.env[i])))
			abort();
		for (size_t j = 0; j < i; j++)
			if (!strncmp(rt.env[j], rt.env[i], (size_t)(eq - rt.env[i]) + 1))
				abort();   /* one name twice */
	}
	write_rt(&rt, &b);
	if (b.len > 65536)
		goto out;  /* a 64 KiB input written longer (a functions list added) */
	if (b.err || runtime_parse(b.p, b.len, &back, msg2, sizeof msg2) != 0 || !same(&rt, &back))
		abort();   /* what was read is not what it says */
out:
	runtime_free(&back);
	runtime_free(&rt);
	buf_free(&b);
	return 0;
}
