/* fuzz/toml.c — libFuzzer harness for the uv.lock TOML reader
 * (lib/toml*.c).  The input is a lockfile (hostile).  Checks: no crash or
 * sanitizer report; a refusal is EX_DATA with a "LINE:COL" inside the
 * input (or EX_SYS); an accepted document's root is a table, every member
 * of a table has a key and no two members of one table share it, strings
 * hold no NUL, and every value's line is within the input's lines. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct toml *v, size_t lines)
{
	for (; v; v = v->next) {
		if (v->line < 1 || v->line > lines || v->col < 1)
			abort();
		if (v->type == TOML_STR && !v->str)
			abort();
		if (v->type == TOML_TABLE)
			for (const struct toml *k = v->kids; k; k = k->next) {
				if (!k->key)
					abort();
				for (const struct toml *j = k->next; j; j = j->next)
					if (!strcmp(j->key, k->key))
						abort();
			}
		if (v->type == TOML_ARRAY)
			for (const struct toml *k = v->kids; k; k = k->next)
				if (k->key)
					abort();
		walk(v->kids, lines);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct merr e;
	size_t lines = 1, line, col;
	struct toml *t;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	t = toml_parse((const char *)data, size, &e);
	if (!t) {
		if (e.code == EX_SYS)
			return 0;
		if (e.code != EX_DATA || sscanf(e.where, "%zu:%zu", &line, &col) != 2 || line < 1 ||
		    line > lines || col < 1 || col > size + 1)
			abort();
		return 0;
	}
	if (t->type != TOML_TABLE)
		abort();
	walk(t, lines);
	toml_free(t);
	return 0;
}
