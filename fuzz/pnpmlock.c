/* fuzz/pnpmlock.c — libFuzzer harness for the pnpm-lock.yaml v9 reader
 * (lib/depspnpm.c, pnpm_parse: libyaml, then our walk of its document).
 * Checks: no crash or sanitizer report; refusals are EX_DATA / EX_NO only,
 * each with a message; an accepted lockfile gives the project as package 0
 * and packages that each have a name, a version, a URL and an integrity,
 * with edges that point inside the graph and never back to the project. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "depsnode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node_graph g = { 0 };
	struct merr e = { 0 };
	int r = pnpm_parse("pnpm-lock.yaml", (const char *)data, size, "https://r.test/", &g, &e);

	if (r != 0) {
		if ((r != EX_DATA && r != EX_NO) || e.code != r || !e.msg[0])
			abort();
	} else {
		if (g.n < 1 || strcmp(g.p[0].name, "(project)") != 0)
			abort();
		for (size_t i = 1; i < g.n; i++)
			if (!g.p[i].name || !*g.p[i].name || !g.p[i].version || !g.p[i].url || !g.p[i].integrity)
				abort();
		for (size_t i = 0; i < g.n; i++)
			for (size_t j = 0; j < g.p[i].ndep; j++)
				if (g.p[i].dep[j].to == 0 || g.p[i].dep[j].to >= g.n || !g.p[i].dep[j].as)
					abort();
	}
	node_free(&g);
	return 0;
}
