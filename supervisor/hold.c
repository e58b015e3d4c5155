/*
 * hold.c - the mass-failure hold's decisions: its hysteresis, and the rate
 * limit of its hook. Pure: the supervisor brings the counts and the time.
 */
#include "config.h"

#include <string.h>

#include "hold.h"

static void forget_before(struct yk_hook_rate *, int64_t);

bool
yk_hold_next(bool held, unsigned failing, unsigned probed, unsigned min,
    double fraction)
{
	double f = (double)failing, p = (double)probed;

	if (probed == 0)
		return false;
	if (!held)
		return failing >= min && f >= fraction * p;
	return 2.0 * f >= (double)min && 2.0 * f >= fraction * p;
}

/* Drops the runs at or before `since`. */
static void
forget_before(struct yk_hook_rate *r, int64_t since)
{
	unsigned i = 0;

	while (i < r->n && r->at[i] <= since)
		i++;
	if (i == 0)
		return;
	memmove(r->at, r->at + i, (r->n - i) * sizeof(r->at[0]));
	r->n -= i;
}

bool
yk_hook_rate_allow(struct yk_hook_rate *r, int64_t now, unsigned max,
    int64_t window_ms)
{
	if (max > YK_HOOK_RATE_MAX)
		max = YK_HOOK_RATE_MAX;
	forget_before(r, now - window_ms);
	if (r->n >= max)
		return false;
	r->at[r->n++] = now;
	return true;
}
