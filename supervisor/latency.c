/*
 * latency.c - records probe durations into the cumulative histogram that
 * metrics.c renders.
 */
#include "config.h"

#include "latency.h"

const double yk_latency_bounds[YK_LATENCY_NBUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };

void
yk_latency_record(struct yk_latency *h, double seconds)
{
	size_t i;

	for (i = 0; i < YK_LATENCY_NBUCKETS; i++)
		if (seconds <= yk_latency_bounds[i])
			h->bucket[i]++;
	h->sum += seconds;
	h->count++;
}
