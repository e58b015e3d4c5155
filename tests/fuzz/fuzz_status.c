/*
 * fuzz_status.c - libFuzzer target for the value parsers of the
 * configuration: accepted HTTP status sets ("200-299,301") and durations
 * ("1.5s").
 *
 * Checks, besides memory safety: a parsed set holds only ranges
 * 100 <= lo <= hi <= 599, and yk_status_set_match agrees with a plain
 * search of those ranges for every code; a parsed duration formats to a
 * text that parses back to the same value.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_status(const char *text)
{
	struct yk_status_set set;
	long code;
	size_t i;
	bool want;

	if (yk_status_set_parse(text, &set) == -1)
		return;
	if (set.n == 0 || set.n > YK_STATUS_MAX_RANGES)
		abort();
	for (i = 0; i < set.n; i++)
		if (set.r[i].lo < 100 || set.r[i].hi > 599 ||
		    set.r[i].lo > set.r[i].hi)
			abort();
	for (code = -1; code <= 1000; code++) {
		want = false;
		for (i = 0; i < set.n; i++)
			if (code >= set.r[i].lo && code <= set.r[i].hi)
				want = true;
		if (yk_status_set_match(&set, code) != want)
			abort();
	}
}

static void
check_duration(const char *text)
{
	uint64_t ms, again;
	char buf[64];

	if (yk_duration_parse(text, &ms) == -1)
		return;
	yk_duration_format(ms, buf, sizeof(buf));
	if (yk_duration_parse(buf, &again) == -1 || again != ms)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size > 4096)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_status(text);
	check_duration(text);
	free(text);
	return 0;
}
