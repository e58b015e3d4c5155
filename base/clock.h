/*
 * clock.h - the two clocks yaoki uses: monotonic milliseconds for every
 * schedule and timeout, wall-clock UTC text for what humans read.
 */
#ifndef YK_CLOCK_H
#define YK_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Monotonic time in milliseconds (CLOCK_MONOTONIC). */
int64_t yk_now_ms(void);
/* Monotonic time in seconds with sub-millisecond precision. */
double yk_now_s(void);
/* Wall-clock time in milliseconds since the epoch (CLOCK_REALTIME). */
int64_t yk_wall_ms(void);
/* Formats a wall-clock time as "2026-11-27T17:00:00Z" into buf (>= 21 bytes). */
void yk_format_utc(time_t t, char *buf, size_t len);

#endif
