/*
 * metrics.h - Prometheus text exposition of yaokid's state and counters,
 * for `yaokictl metrics` and the optional metrics_file.
 */
#ifndef YK_METRICS_H
#define YK_METRICS_H

struct evbuffer;
struct sup;

void metrics_render(const struct sup *s, struct evbuffer *out);
/* Writes metrics_file atomically when configured. */
void metrics_write_file(const struct sup *s);

#endif
