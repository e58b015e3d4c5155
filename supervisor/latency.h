/*
 * latency.h - the probe-duration histogram behind the metric
 * yaoki_probe_duration_seconds: its bucket bounds, defined once here.
 */
#ifndef YK_LATENCY_H
#define YK_LATENCY_H

#include <stddef.h>
#include <stdint.h>

#define YK_LATENCY_NBUCKETS 12

/* Upper bounds in seconds, ascending (Prometheus "le" labels). */
extern const double yk_latency_bounds[YK_LATENCY_NBUCKETS];

struct yk_latency {
	uint64_t bucket[YK_LATENCY_NBUCKETS];   /* cumulative: count <= bound */
	double sum;                             /* seconds */
	uint64_t count;
};

void yk_latency_record(struct yk_latency *h, double seconds);

#endif
