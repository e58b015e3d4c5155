/*
 * recovery.h - recovery orchestration, apart from what it recovers: a queue
 * (at most max_parallel recoveries at once, the rest in line) and the steps
 * of one recovery: intent record -> re-list -> destroy -> create, ending in
 * exactly one outcome.
 *
 * The queue knows domains only by what a request says of them; the owner
 * (supervisor.c) provides the configuration to create from, writes the
 * intent record, and applies the outcome to its domain.
 */
#ifndef YK_RECOVERY_H
#define YK_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct hv;
struct recovery;
struct recovery_queue;

/* What the owner knows of the domain when it asks for a recovery. */
struct recovery_request {
	const char *name;          /* copied */
	int domid;                 /* the incarnation the owner knows, -1: none */
	bool created_by_us;        /* yaokid created that incarnation */
	bool shutdown_seen;        /* it was seen shut down (crash grace) */
};

enum recovery_result {
	RECOVERY_CREATED,          /* destroyed if it existed, created as domid */
	RECOVERY_ADOPTED,          /* another incarnation (domid) was found running */
	RECOVERY_FAILED,           /* why: create failed, intent not written */
	RECOVERY_GAVE_UP,          /* why: no configuration to create it from */
	RECOVERY_CANCELLED,        /* cancelled before anything was destroyed */
};

struct recovery_outcome {
	enum recovery_result result;
	const char *name;          /* the request's (the owner's may be gone) */
	int domid;                 /* CREATED, ADOPTED */
	const char *why;           /* FAILED, GAVE_UP, CANCELLED */
	double seconds;            /* from start to outcome */
	double destroy_seconds;    /* start to the create step */
	double create_seconds;     /* create step to outcome */
};

/* The owner's side; arg is the one given to recovery_enqueue. */
struct recovery_owner {
	/* The configuration JSON to create from (malloc'ed), read when the
	 * recovery starts; NULL with why set: the recovery gives up. */
	char *(*config)(void *arg, char *why, size_t whylen);
	/* Writes the durable intent record before anything is destroyed.
	 * 0, or -1 if it could not be written: the recovery then ends
	 * RECOVERY_FAILED without destroying anything. */
	int (*intent)(void *arg, int domid);
	/* The incarnation the recovery acts on is now domid (-1: none). */
	void (*domid)(void *arg, int domid);
	/* domid is about to be destroyed by yaokid itself. */
	void (*destroying)(void *arg, int domid);
	/* The one outcome; the recovery is freed when this returns. */
	void (*done)(void *arg, const struct recovery_outcome *o);
};

struct recovery_queue *recovery_queue_new(struct event_base *base,
    struct hv *hv, unsigned max_parallel);
/* A reload's new max_parallel_recoveries; call recovery_queue_kick after. */
void recovery_queue_set_max(struct recovery_queue *q, unsigned max_parallel);
/* yaokid stops: no queued recovery starts any more. */
void recovery_queue_stop(struct recovery_queue *q);
/* Drops the queued recoveries (no callbacks); running ones are left alone. */
void recovery_queue_free(struct recovery_queue *q);
/* Recoveries started and not yet done. */
unsigned recovery_running_count(const struct recovery_queue *q);

/*
 * Puts a recovery in line; nothing starts before recovery_queue_kick (so
 * that the owner can record the handle before any callback runs).
 */
struct recovery *recovery_enqueue(struct recovery_queue *q,
    const struct recovery_request *req, const struct recovery_owner *owner,
    void *arg);
/* Starts queued recoveries while slots are free. */
void recovery_queue_kick(struct recovery_queue *q);
/*
 * The owner no longer supervises the domain. A queued recovery is dropped
 * at once (true: no callback follows). A running one (false) goes on to a
 * safe end and still calls done(): cancelled if nothing was destroyed yet,
 * else a destroyed domain is still created (CREATED or FAILED).
 */
bool recovery_cancel(struct recovery *r);

#endif
