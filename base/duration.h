/*
 * duration.h - durations as people write them ("250ms", "5s", "2m", "1h")
 * and back. Pure: no allocation, no I/O.
 */
#ifndef YK_DURATION_H
#define YK_DURATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parses "250ms", "5s", "2m", "1h" or a bare number of seconds ("5") into
 * milliseconds. Decimals are accepted ("1.5s"); the result is rounded to
 * whole milliseconds. Returns 0, or -1 for anything else (empty, negative,
 * unknown suffix, trailing junk, overflow).
 */
int yk_duration_parse(const char *text, uint64_t *ms);
/* Formats ms the way a human would write it ("5s", "250ms", "1h", "90s"). */
void yk_duration_format(uint64_t ms, char *buf, size_t len);

#endif
