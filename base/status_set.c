/*
 * status_set.c - the set of HTTP status codes a probe accepts
 * ("200", "200-299", "200,204,301", "200-299,301").
 *
 * Owns parsing and matching of that set. Pure: no allocation, no I/O.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "status_set.h"

#define STATUS_MIN 100
#define STATUS_MAX 599

static const char *skip_blanks(const char *p);
static const char *parse_code(const char *p, uint16_t *code);
static const char *parse_item(const char *p, struct yk_status_set *out);

static const char *
skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Three digits, 100..599. Returns the end, or NULL. */
static const char *
parse_code(const char *p, uint16_t *code)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 3; i++) {
		if (p[i] < '0' || p[i] > '9')
			return NULL;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (p[3] >= '0' && p[3] <= '9')
		return NULL;
	if (v < STATUS_MIN || v > STATUS_MAX)
		return NULL;
	*code = (uint16_t)v;
	return p + 3;
}

/* "CODE" or "LO-HI", appended to out. Returns the end, or NULL. */
static const char *
parse_item(const char *p, struct yk_status_set *out)
{
	uint16_t lo, hi;

	if ((p = parse_code(p, &lo)) == NULL)
		return NULL;
	hi = lo;
	if (*p == '-' && (p = parse_code(p + 1, &hi)) == NULL)
		return NULL;
	if (lo > hi || out->n >= YK_STATUS_MAX_RANGES)
		return NULL;
	out->r[out->n].lo = lo;
	out->r[out->n].hi = hi;
	out->n++;
	return p;
}

int
yk_status_set_parse(const char *text, struct yk_status_set *out)
{
	struct yk_status_set set;
	const char *p;

	if (text == NULL)
		return -1;
	memset(&set, 0, sizeof(set));
	p = skip_blanks(text);
	for (;;) {
		if ((p = parse_item(p, &set)) == NULL)
			return -1;
		p = skip_blanks(p);
		if (*p == '\0')
			break;
		if (*p != ',')
			return -1;
		p = skip_blanks(p + 1);
	}
	*out = set;
	return 0;
}

bool
yk_status_set_match(const struct yk_status_set *set, long code)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (code >= set->r[i].lo && code <= set->r[i].hi)
			return true;
	return false;
}
