/*
 * hook.h - runs the operator's alert hook, only when a domain is
 * unrecoverable or a mass failure holds recoveries.
 */
#ifndef YK_HOOK_H
#define YK_HOOK_H

struct sup;
struct sup_domain;

/* EVENT is "unrecoverable" (d set) or "mass-failure" (d NULL). */
void hook_run(struct sup *s, const char *event, struct sup_domain *d,
    const char *reason);
/* At exit: forgets the hooks still running (they are not killed). */
void hook_forget_all(void);

#endif
