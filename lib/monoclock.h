/* monoclock.h — the monotonic clock as a number, for deadlines and waits.
 * CLOCK_MONOTONIC never jumps with the wall clock (settimeofday, NTP steps),
 * so a deadline computed as now + timeout and compared against later
 * readings holds across such jumps.  Only differences of two readings mean
 * anything; the origin is unspecified (boot, on Linux).
 *
 * Precision: a double holds integers exactly up to 2^53; in milliseconds
 * that is ~285,000 years of uptime, so sub-microsecond resolution is kept
 * for any real uptime.  No error return: clock_gettime(CLOCK_MONOTONIC)
 * can fail only with EINVAL (unsupported clock) or EFAULT, neither possible
 * here on Linux; the reading is then 0 (the struct is zeroed first). */
#ifndef MVM_MONOCLOCK_H
#define MVM_MONOCLOCK_H

/* Milliseconds on CLOCK_MONOTONIC. */
double mono_ms(void);
/* Seconds on CLOCK_MONOTONIC (= mono_ms() / 1000). */
double mono_s(void);

#endif
