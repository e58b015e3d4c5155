/*
 * duration.c - durations as people write them in yaoki.conf ("250ms", "5s",
 * "2m", "1h", "1.5s", a bare number of seconds) and back.
 *
 * Owns only the text <-> milliseconds conversion. Pure: no allocation, no
 * locale (strtod would read "1,5" under some locales), no I/O.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

/* Fraction digits that count; later ones are accepted and ignored. */
#define FRAC_DIGITS_MAX 9

static int unit_from_suffix(const char *s, uint64_t *unit);
static int mul_add(uint64_t *acc, uint64_t mul, uint64_t add);

static int
unit_from_suffix(const char *s, uint64_t *unit)
{
	if (strcmp(s, "") == 0 || strcmp(s, "s") == 0)
		*unit = 1000;
	else if (strcmp(s, "ms") == 0)
		*unit = 1;
	else if (strcmp(s, "m") == 0)
		*unit = 60 * 1000;
	else if (strcmp(s, "h") == 0)
		*unit = 60 * 60 * 1000;
	else
		return -1;
	return 0;
}

/* *acc = *acc * mul + add, refusing anything beyond INT64_MAX. */
static int
mul_add(uint64_t *acc, uint64_t mul, uint64_t add)
{
	if (mul != 0 && *acc > (uint64_t)INT64_MAX / mul)
		return -1;
	if (*acc * mul > (uint64_t)INT64_MAX - add)
		return -1;
	*acc = *acc * mul + add;
	return 0;
}

int
yk_duration_parse(const char *text, uint64_t *ms)
{
	const char *p = text;
	uint64_t whole = 0, frac = 0, scale = 1, unit, total;
	size_t ndigits = 0, nfrac = 0;

	if (text == NULL)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++, ndigits++)
		if (mul_add(&whole, 10, (uint64_t)(*p - '0')) == -1)
			return -1;
	if (ndigits == 0)
		return -1;		/* empty, sign, ".5", junk */
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++, nfrac++) {
			if (nfrac >= FRAC_DIGITS_MAX)
				continue;
			frac = frac * 10 + (uint64_t)(*p - '0');
			scale *= 10;
		}
		if (nfrac == 0)
			return -1;	/* "5." */
	}
	if (unit_from_suffix(p, &unit) == -1)
		return -1;
	total = whole;
	/* frac * unit < 1e9 * 3.6e6: no overflow; rounds half up. */
	if (mul_add(&total, unit, (frac * unit + scale / 2) / scale) == -1)
		return -1;
	*ms = total;
	return 0;
}

void
yk_duration_format(uint64_t ms, char *buf, size_t len)
{
	if (len == 0)
		return;
	if (ms == 0)
		snprintf(buf, len, "0s");
	else if (ms % (60 * 60 * 1000) == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms % (60 * 1000) == 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
}
