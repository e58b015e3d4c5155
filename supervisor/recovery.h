/*
 * recovery.h - recovery orchestration, apart from what it recovers: a queue
 * (at most max_parallel recoveries at once, the rest in line) and the steps
 * of one recovery: intent record and re-list (at the same time, both
 * awaited) -> destroy -> re-list -> create mark -> create,
 * ending in exactly one outcome. Every re-list is a decision point: Xen's
 * own tools at work on the domain (a migration, a save) end the recovery
 * before anything more is destroyed or created, another incarnation found
 * running is adopted, and a domain that cannot be destroyed is never
 * created a second time.
 *
 * The queue knows domains only by what a request says of them; the owner
 * (supervisor.c) provides the configuration to create from, writes the
 * intent record, and applies the outcome to its domain.
 */
#ifndef YK_RECOVERY_H
#define YK_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "hv_toolsop.h"

struct event_base;
struct hv;
struct recovery;
struct recovery_queue;

/* What the owner knows of the domain when it asks for a recovery. */
struct recovery_request {
	const char *name;          /* copied */
	int domid;                 /* the incarnation the owner knows, -1: none */
	bool created_by_us;        /* yaokid created that incarnation */
	bool shutdown_seen;        /* it was seen shut down */
	int halfbuilt_domid;       /* a paused incarnation yaokid created and
	                              never unpaused (killed midway): destroyed,
	                              never adopted; -1: none */
	bool create_pending;       /* an earlier attempt's create may still
	                              complete: a paused incarnation found is
	                              that half-built domain, not someone's */
};

enum recovery_result {
	RECOVERY_CREATED,          /* destroyed if it existed, created as domid */
	RECOVERY_ADOPTED,          /* another incarnation (domid) was found running */
	RECOVERY_FAILED,           /* why: create failed, or the domain could not
	                              be destroyed (nothing created then) */
	RECOVERY_NO_INTENT,        /* why: the intent record could not be written;
	                              nothing destroyed */
	RECOVERY_GAVE_UP,          /* why: no configuration to create it from */
	RECOVERY_CANCELLED,        /* the owner dropped the domain, or Xen's own
	                              tools took it over (xen_op); nothing more
	                              is destroyed or created */
};

/* What Xen's own tools were found doing with the domain (CANCELLED). */

/*
 * Where a recovery's time went, in the order of its steps (a step ends when
 * its callback arrives; the lists before and after the destroy add up).
 */
enum recovery_step {
	RECOVERY_STEP_PREPARE,     /* the configuration, the intent record (on
	                              disk; it runs beside the first list: its
	                              time beyond the list's) */
	RECOVERY_STEP_LIST,        /* the hypervisor's lists before acting (the
	                              first one: its time beyond the intent's) */
	RECOVERY_STEP_DESTROY,     /* the checks, the destroy, until gone */
	RECOVERY_STEP_MARK,        /* the intent record says "creating", on disk */
	RECOVERY_STEP_CREATE,      /* parse, build, unpause */
	RECOVERY_NSTEPS
};

struct recovery_outcome {
	enum recovery_result result;
	const char *name;          /* the request's (the owner's may be gone) */
	int domid;                 /* CREATED, ADOPTED */
	const char *why;           /* FAILED, NO_INTENT, GAVE_UP, CANCELLED */
	enum hv_tools_op xen_op;   /* CANCELLED by Xen's tools, else NONE */
	bool destroyed;            /* yaokid destroyed an incarnation */
	double seconds;            /* from start to outcome */
	double destroy_seconds;    /* start to the create step */
	double create_seconds;     /* create step to outcome */
	double step_ms[RECOVERY_NSTEPS];
};

/* The step's name, for logs ("prepare", "lists", ...). */
const char *recovery_step_name(enum recovery_step step);

/*
 * A write the recovery waits for has ended: err 0 (on disk, fsync'ed,
 * renamed into place) or an errno. Called exactly once, on the loop, and
 * may be called before the call that asked for the write returns.
 */
typedef void recovery_written_fn(void *warg, int err);

/* The owner's side; arg is the one given to recovery_enqueue. */
struct recovery_owner {
	/* The configuration JSON to create from (malloc'ed), read when the
	 * recovery starts; NULL with why set: the recovery gives up. */
	char *(*config)(void *arg, char *why, size_t whylen);
	/* Writes the durable intent record before anything is destroyed,
	 * off the loop, and calls written(warg, err) once it is on disk.
	 * The list before acting runs meanwhile; nothing is destroyed before
	 * both are back (a list kept over half a second is read again). A failed write ends the recovery
	 * RECOVERY_NO_INTENT without destroying anything. */
	void (*intent)(void *arg, int domid, recovery_written_fn *written,
	    void *warg);
	/* The create is about to start: the intent record says so (a
	 * paused domain found after a crash of yaokid is then half-built);
	 * the create starts once written(warg, err) was called. A failed
	 * write is the owner's to log: the create, owed, still starts. */
	void (*creating)(void *arg, recovery_written_fn *written, void *warg);
	/* The incarnation the recovery acts on is now domid (-1: none). */
	void (*domid)(void *arg, int domid);
	/* domid (uuid) is about to be destroyed by yaokid itself. */
	void (*destroying)(void *arg, int domid, const char *uuid);
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
/*
 * Drops r if it is still in line (true: no callback follows); a started
 * recovery is left alone (false): it looks at the domain list again before
 * every destroy and create, and ends there if Xen's tools took over.
 */
bool recovery_cancel_queued(struct recovery *r);

#endif
