/*
 * hook.h - runs the operator's alert hook (yaokid.c calls it only when a
 * domain is unrecoverable or a mass failure holds recoveries). Knows
 * nothing of the supervisor: it is given plain values.
 */
#ifndef YK_HOOK_H
#define YK_HOOK_H

#include <stdint.h>

struct event_base;

struct hook_spec {
	const char *path;          /* the hook program; NULL: none */
	uint64_t timeout_ms;       /* its process group is killed after this */
	const char *host;          /* YAOKI_HOST */
};

/*
 * Starts `PATH EVENT DOMAIN` (DOMAIN NULL: "-") with the contract's
 * environment (YAOKI_EVENT, _DOMAIN, _HOST, _REASON, _RECOVERIES) and
 * stdin_json on its standard input (NULL: the input could not be made;
 * logged, and the hook sees an empty input). Returns at once.
 */
void hook_run(const struct hook_spec *spec, struct event_base *base,
    const char *event, const char *domain, const char *reason,
    unsigned recoveries, const char *stdin_json);
/* At exit: forgets the hooks still running (they are not killed). */
void hook_forget_all(void);

#endif
