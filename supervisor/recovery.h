/*
 * recovery.h - recovery orchestration: the queue (at most
 * max_parallel_recoveries at once) and the steps of one recovery:
 * intent record -> destroy -> wait until gone -> create -> capture ->
 * clear intent -> RECOVERY_DONE.
 */
#ifndef YK_RECOVERY_H
#define YK_RECOVERY_H

struct sup;
struct sup_domain;

/* Queues a recovery of d (the state machine asked for it). */
void recovery_enqueue(struct sup_domain *d);
/* Starts queued recoveries while slots are free. */
void recovery_kick(struct sup *s);
/* Drops d's queued (not yet started) recovery, e.g. when d is removed. */
void recovery_dequeue(struct sup_domain *d);

#endif
