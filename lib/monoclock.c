/* monoclock.c — see monoclock.h. */
#include <time.h>
#include "monoclock.h"

double mono_ms(void)
{
	struct timespec ts = { 0, 0 };

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double mono_s(void)
{
	return mono_ms() / 1e3;
}
