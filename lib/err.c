/* err.c — filling struct merr */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "err.h"

int merr_set(struct merr *e, int code, const char *where, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	snprintf(e->where, sizeof e->where, "%s", where ? where : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return code;
}

int merr_setlc(struct merr *e, int code, size_t line, size_t col, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	snprintf(e->where, sizeof e->where, "%zu:%zu", line, col);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return code;
}

int merr_sys(struct merr *e, const char *what)
{
	int saved = errno;

	return merr_set(e, EX_SYS, NULL, "unable to %s: %s", what, strerror(saved));
}

void merr_clear(struct merr *e)
{
	if (e) {
		e->code = 0;
		e->where[0] = e->msg[0] = '\0';
	}
}
