/*
 * status_set.h - the set of HTTP status codes a probe accepts ("200-399",
 * "200,204,301"). Pure: no allocation, no I/O.
 */
#ifndef YK_STATUS_SET_H
#define YK_STATUS_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define YK_STATUS_MAX_RANGES 32

struct yk_status_set {
	size_t n;
	struct { uint16_t lo, hi; } r[YK_STATUS_MAX_RANGES];
};

/*
 * Parses "200", "200-299", "200,204,301" or mixes ("200-299,301"); codes are
 * 100..599, lo <= hi, at most YK_STATUS_MAX_RANGES items, no spaces inside
 * an item (spaces around commas are allowed). Returns 0 or -1.
 */
int yk_status_set_parse(const char *text, struct yk_status_set *out);
bool yk_status_set_match(const struct yk_status_set *set, long code);

#endif
