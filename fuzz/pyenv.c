/* fuzz/pyenv.c — libFuzzer harness for the PEP 508 marker evaluator and
 * the PEP 427 wheel-name matcher (lib/pymarker.c, lib/pyenv.c), which read
 * requirements.txt markers (a file) and wheel names from an index (the
 * network).  The first input byte picks the target Python 3.(b % 20); the
 * rest is the marker, and, up to its first NUL, a wheel file name.
 * Checks: no crash or sanitizer report; py_marker returns 0 with a value
 * of 0 or 1, or EX_DATA/EX_NO with a message and an offset within the
 * marker; an evaluated marker M gives the same value as "(M)" and as
 * "M or M" and "M and M"; py_wheel_fits returns -1, 0 or 1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pyenv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int eval(const struct py_target *t, const char *s, size_t n, int *val)
{
	struct merr e = { 0 };
	size_t at = (size_t)-1;
	int rc;

	*val = -1;
	rc = py_marker(t, s, n, val, &at, &e);
	if (rc == 0 && *val != 0 && *val != 1)
		abort();
	if (rc != 0 && ((rc != EX_DATA && rc != EX_NO) || e.code != rc || !e.msg[0] || at > n))
		abort();
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct py_target t;
	int v, w;

	if (size < 1 || size > 4096)
		return 0;
	t.major = 3;
	t.minor = data[0] % 20;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;

	if (eval(&t, s, n, &v) == 0) {
		char *b = malloc(2 * n + 8);
		if (!b)
			return 0;
		b[0] = '(';
		memcpy(b + 1, s, n);
		b[n + 1] = ')';
		if (eval(&t, b, n + 2, &w) != 0 || w != v)
			abort();
		memcpy(b, s, n);
		memcpy(b + n, " or ", 4);
		memcpy(b + n + 4, s, n);
		if (eval(&t, b, 2 * n + 4, &w) != 0 || w != v)
			abort();
		memcpy(b + n, " and ", 5);
		memcpy(b + n + 5, s, n);
		if (eval(&t, b, 2 * n + 5, &w) != 0 || w != v)
			abort();
		free(b);
	}

	char *fn = strndup(s, n);
	if (fn) {
		int r = py_wheel_fits(&t, fn);
		if (r < -1 || r > 1)
			abort();
		free(fn);
	}
	return 0;
}
