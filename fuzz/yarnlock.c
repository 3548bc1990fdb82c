/* fuzz/yarnlock.c — libFuzzer harness for the yarn.lock v1 reader
 * (lib/depsyarn.c, yarn_parse).  The input is a yarn.lock; the roots are
 * "ms@2.1.3" (optional) and "a@^1", which the input may or may not lock.
 * Checks: no crash or sanitizer report; refusals are EX_DATA / EX_NO only,
 * each with a message; an accepted lockfile gives packages that each have
 * a version, a resolved URL and an integrity, edges that point inside the
 * graph with names that are C strings of the input's bytes, and, when the
 * roots are accepted, the project's two edges. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "depsnode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const roots[] = { "ms@2.1.3", "a@^1" };
	static const int opt[] = { 1, 0 };
	struct node_graph g = { 0 };
	struct merr e = { 0 };
	size_t ix;

	if (node_add(&g, "(project)", 9, "", 0, &ix, &e) != 0)
		abort();
	int r = yarn_parse("yarn.lock", (const char *)data, size, roots, opt, 2, &g, &e);
	if (r != 0) {
		if ((r != EX_DATA && r != EX_NO) || e.code != r || !e.msg[0])
			abort();
	} else {
		for (size_t i = 1; i < g.n; i++)
			if (!g.p[i].version || !g.p[i].url || !g.p[i].integrity || !*g.p[i].version)
				abort();
		for (size_t i = 0; i < g.n; i++)
			for (size_t j = 0; j < g.p[i].ndep; j++)
				if (g.p[i].dep[j].to == 0 || g.p[i].dep[j].to >= g.n || !g.p[i].dep[j].as)
					abort();
		if (g.p[0].ndep != 2 || strcmp(g.p[0].dep[0].as, "ms") != 0 || !g.p[0].dep[0].optional ||
		    strcmp(g.p[0].dep[1].as, "a") != 0 || g.p[0].dep[1].optional)
			abort();
	}
	node_free(&g);
	return 0;
}
