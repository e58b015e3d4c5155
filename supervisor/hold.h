/*
 * hold.h - the mass-failure hold's decisions, pure (no I/O, no clock of
 * its own): when the hold begins and ends, and whether its hook may run.
 */
#ifndef YK_HOLD_H
#define YK_HOLD_H

#include <stdbool.h>
#include <stdint.h>

#define YK_HOOK_RATE_MAX 1000   /* the largest mass_failure_hook_max */

/*
 * Whether the hold is on after a change of the counts. It begins when at
 * least min domains and at least fraction of the probed ones are failing;
 * once on, it ends only when fewer than half of either threshold are
 * failing (failing * 2 < min, or failing * 2 < fraction * probed), so that
 * guests that fail and answer in turn around the threshold cannot make it
 * begin and end again and again.
 */
bool yk_hold_next(bool held, unsigned failing, unsigned probed, unsigned min,
    double fraction);

/* The times of the runs within the window, oldest first. */
struct yk_hook_rate {
	int64_t at[YK_HOOK_RATE_MAX];
	unsigned n;
};

/*
 * Whether one more run at now is allowed: fewer than max runs within the
 * last window_ms. An allowed run is recorded; a refused one is not.
 */
bool yk_hook_rate_allow(struct yk_hook_rate *r, int64_t now, unsigned max,
    int64_t window_ms);

#endif
