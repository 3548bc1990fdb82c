/* t/unit/check.h — the counters and check() of the known-answer unit tests.
 * Each program defines UNIT_NAME (the prefix of its lines) before including
 * this, calls check() for every assertion and ends with check_report(). */
#ifndef MVM_UNIT_CHECK_H
#define MVM_UNIT_CHECK_H

#include <stdarg.h>
#include <stdio.h>

#define CHECK_SHOWN 20          /* failures printed; the rest only counted */

static unsigned long passed, failed;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		return;
	}
	if (++failed > CHECK_SHOWN)
		return;
	fputs(UNIT_NAME ": FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* "NAME: N passed, M failed"; the exit status: 0 when nothing failed. */
static int check_report(void)
{
	printf(UNIT_NAME ": %lu passed, %lu failed\n", passed, failed);
	return failed != 0;
}

#endif
