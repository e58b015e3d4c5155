/*
 * recovery.c - carries out recoveries: at most max_parallel recoveries at
 * once, the rest wait in line (first come, first served).
 *
 * Owns: the queue, its count of running recoveries, and the steps of one
 * recovery. It never sees the supervisor's domains: a request says what
 * the owner knows (name, domid, created by yaokid, shutdown seen), the
 * owner's callbacks provide the configuration and write the intent record,
 * and one outcome (created, adopted, failed, gave up, cancelled) is handed
 * back through done(), which supervisor.c applies to its domain.
 *
 * One recovery: get the configuration -> write the intent record (so that
 * a yaokid killed midway finishes the job after a restart) and, at the
 * same time, re-list and look the domain up by name -> once both are back
 * (the list is kept until the record is on disk), destroy the old
 * incarnation if it exists (the hypervisor completes once it is gone) ->
 * mark the record "creating" (on disk) -> create from the configuration
 * -> done. Every step is asynchronous; nothing here blocks the loop (the
 * owner's writes run on its writer thread).
 *
 * For the kill -9 tests, YAOKI_FAILPOINT may name steps (comma-separated:
 * "intent", "create", "created") at which yaokid stops itself with SIGSTOP,
 * so that a test can SIGKILL it exactly there. Unset, it costs one getenv
 * per recovery step and changes nothing.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "failpoint.h"
#include "hv.h"
#include "log.h"
#include "recovery.h"

/*
 * A list kept longer than this while the intent record was written (a slow
 * disk) is read again: the destroy acts on a fresh look at the domain.
 */
#define KEPT_LIST_MAX_S 0.5

struct recovery_queue {
	struct event_base *base;
	struct hv *hv;
	unsigned max_parallel;
	unsigned running;
	bool stopped;
	TAILQ_HEAD(, recovery) waiting;
};

struct recovery {
	TAILQ_ENTRY(recovery) entry;     /* in q->waiting until started */
	struct recovery_queue *q;
	const struct recovery_owner *owner;
	void *arg;
	char *name;
	int domid;                       /* the incarnation acted on, -1 */
	bool created_by_us;
	bool shutdown_seen;
	int halfbuilt_domid;             /* destroy, never adopt; -1 */
	bool create_pending;             /* a paused NAME is ours, half-built */
	bool destroyed;                  /* yaokid destroyed an incarnation */
	unsigned destroy_failures;
	bool started;
	bool cancelled;                  /* the owner dropped the domain */
	bool tools_refused;              /* a destroy met Xen's tools at work */
	double t0, t_destroyed;
	double t_step;                   /* when the current step began */
	double step_ms[RECOVERY_NSTEPS];
	char *config_json;
	char uuid[40];                   /* of the incarnation to destroy */
	enum hv_tools_op xen_op;         /* what ended it, when Xen's tools did */
	enum { INTENT_WRITING, INTENT_DURABLE, INTENT_FAILED } intent;
	bool list_kept;                  /* the first list, back before the
	                                    intent record was on disk: */
	int kept_err;
	double kept_at;
	struct hv_dominfo *kept_doms;
	size_t kept_n;
};

static void start(struct recovery *r);
static void intent_written(void *arg, int err);
static void relist_before_acting(struct recovery *r);
static void relisted_cb(void *arg, int err, const struct hv_dominfo *doms,
    size_t n);
static void act_on_list(struct recovery *r, int err,
    const struct hv_dominfo *doms, size_t n);
static void destroy_step(struct recovery *r);
static void destroyed_cb(void *arg, int err, const char *errmsg);
static void create_step(struct recovery *r);
static void marked_cb(void *arg, int err);
static void created_cb(void *arg, int err, int domid, const char *errmsg);
static void finish(struct recovery *r, enum recovery_result result, int domid,
    const char *why);

/* ---- the queue ------------------------------------------------------------ */

struct recovery_queue *
recovery_queue_new(struct event_base *base, struct hv *hv,
    unsigned max_parallel)
{
	struct recovery_queue *q = calloc(1, sizeof(*q));

	if (q == NULL)
		fatalx("out of memory");
	q->base = base;
	q->hv = hv;
	q->max_parallel = max_parallel;
	TAILQ_INIT(&q->waiting);
	return q;
}

void
recovery_queue_set_max(struct recovery_queue *q, unsigned max_parallel)
{
	q->max_parallel = max_parallel;
}

void
recovery_queue_stop(struct recovery_queue *q)
{
	q->stopped = true;
}

static void
recovery_free(struct recovery *r)
{
	free(r->kept_doms);
	free(r->config_json);
	free(r->name);
	free(r);
}

void
recovery_queue_free(struct recovery_queue *q)
{
	struct recovery *r;

	if (q == NULL)
		return;
	while ((r = TAILQ_FIRST(&q->waiting)) != NULL) {
		TAILQ_REMOVE(&q->waiting, r, entry);
		recovery_free(r);
	}
	/* Running recoveries still point at q: the process is exiting and
	 * the loop runs no more, so q is left to them. */
	if (q->running == 0)
		free(q);
	else
		q->stopped = true;
}

unsigned
recovery_running_count(const struct recovery_queue *q)
{
	return q->running;
}

struct recovery *
recovery_enqueue(struct recovery_queue *q, const struct recovery_request *req,
    const struct recovery_owner *owner, void *arg)
{
	struct recovery *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->name = strdup(req->name)) == NULL)
		fatalx("out of memory");
	r->q = q;
	r->owner = owner;
	r->arg = arg;
	r->domid = req->domid;
	r->created_by_us = req->created_by_us;
	r->shutdown_seen = req->shutdown_seen;
	r->halfbuilt_domid = req->halfbuilt_domid;
	r->create_pending = req->create_pending;
	TAILQ_INSERT_TAIL(&q->waiting, r, entry);
	if (q->running >= q->max_parallel)
		log_notice("%s: recovery waits in line (%u running, "
		    "max_parallel_recoveries %u)", r->name, q->running,
		    q->max_parallel);
	return r;
}

void
recovery_queue_kick(struct recovery_queue *q)
{
	struct recovery *r;

	while (!q->stopped && q->running < q->max_parallel &&
	    (r = TAILQ_FIRST(&q->waiting)) != NULL) {
		TAILQ_REMOVE(&q->waiting, r, entry);
		start(r);
	}
}

bool
recovery_cancel(struct recovery *r)
{
	if (r->started) {
		r->cancelled = true;
		return false;
	}
	TAILQ_REMOVE(&r->q->waiting, r, entry);
	recovery_free(r);
	return true;
}

bool
recovery_cancel_queued(struct recovery *r)
{
	if (r->started)
		return false;
	TAILQ_REMOVE(&r->q->waiting, r, entry);
	recovery_free(r);
	return true;
}

/* ---- the steps, in the order they happen ----------------------------------- */

const char *
recovery_step_name(enum recovery_step step)
{
	static const char *const names[RECOVERY_NSTEPS] = {
		[RECOVERY_STEP_PREPARE] = "prepare",
		[RECOVERY_STEP_LIST] = "lists",
		[RECOVERY_STEP_DESTROY] = "destroy",
		[RECOVERY_STEP_MARK] = "create mark",
		[RECOVERY_STEP_CREATE] = "create",
	};

	return (unsigned)step < RECOVERY_NSTEPS ? names[step] : "?";
}

/* The time since the last step ended goes to step. */
static void
step_done(struct recovery *r, enum recovery_step step)
{
	double now = yk_now_s();

	r->step_ms[step] += (now - r->t_step) * 1000.0;
	r->t_step = now;
}

static void
start(struct recovery *r)
{
	char why[300];

	r->started = true;
	r->t0 = r->t_destroyed = r->t_step = yk_now_s();
	r->q->running++;
	why[0] = '\0';
	r->config_json = r->owner->config(r->arg, why, sizeof(why));
	if (r->config_json == NULL) {
		finish(r, RECOVERY_GAVE_UP, -1, why);
		return;
	}
	step_done(r, RECOVERY_STEP_PREPARE);
	/*
	 * The intent record's fsync and the list run at the same time; the
	 * destroy waits for both (intent_written, relisted_cb). No grace
	 * period here: whether an xl monitor acts on a shutdown is known
	 * (hv_dominfo.monitored) and the state machine waits for it before
	 * it asks for a recovery.
	 */
	r->intent = INTENT_WRITING;
	r->owner->intent(r->arg, r->domid, intent_written, r);
	relist_before_acting(r);
}

/*
 * The intent record is on disk (or could not be written). If the first
 * list is back already, the recovery goes on from it now.
 */
static void
intent_written(void *arg, int err)
{
	struct recovery *r = arg;
	struct hv_dominfo *doms;

	step_done(r, RECOVERY_STEP_PREPARE);
	r->intent = err == 0 ? INTENT_DURABLE : INTENT_FAILED;
	if (err == 0)
		yk_failpoint("intent", r->name);
	if (!r->list_kept)
		return;                 /* relisted_cb goes on when it is back */
	r->list_kept = false;
	doms = r->kept_doms;
	r->kept_doms = NULL;
	if (r->intent == INTENT_FAILED)
		finish(r, RECOVERY_NO_INTENT, -1, "cannot write the intent "
		    "record; nothing destroyed");
	else if (yk_now_s() - r->kept_at > KEPT_LIST_MAX_S) {
		log_info("%s: the intent record took %.1f s to reach the disk; "
		    "looking at the domains again", r->name,
		    yk_now_s() - r->kept_at);
		relist_before_acting(r);
	} else
		act_on_list(r, r->kept_err, doms, r->kept_n);
	free(doms);
}

/* The first list came back before the intent record is on disk. */
static void
keep_list(struct recovery *r, int err, const struct hv_dominfo *doms,
    size_t n)
{
	r->list_kept = true;
	r->kept_at = yk_now_s();
	r->kept_err = err;
	r->kept_n = err == 0 ? n : 0;
	if (r->kept_n == 0)
		return;
	if ((r->kept_doms = calloc(n, sizeof(*doms))) == NULL)
		fatalx("out of memory");
	memcpy(r->kept_doms, doms, n * sizeof(*doms));
}

/*
 * Looks the domain up by name right before acting, and again after the
 * destroy: the incarnation yaokid knows may be gone, another may have
 * appeared, or Xen's own tools may have taken the domain over.
 */
static void
relist_before_acting(struct recovery *r)
{
	/*
	 * Names tell most of what Xen's tools do (NAME--incoming,
	 * NAME--migratedaway, a suspended NAME). An xl migrate or save in its
	 * first phase shows only in the process table, which the destroy
	 * itself reads right before acting (and refuses, HV_ERR_XEN_TOOLS):
	 * after such a refusal the list reads it too (HV_LIST_TOOLS), so that
	 * the recovery ends saying what Xen's tools are doing.
	 */
	r->q->hv->ops->list(r->q->hv, r->tools_refused ? HV_LIST_TOOLS : 0,
	    relisted_cb, r);
}

static const char *
xen_op_text(enum hv_tools_op op)
{
	switch (op) {
	case HV_TOOLS_MIGRATING_OUT: return "it is migrating away";
	case HV_TOOLS_MIGRATING_IN: return "it is migrating in";
	case HV_TOOLS_SAVING: return "it is being saved";
	default: return "";
	}
}

static void
relisted_cb(void *arg, int err, const struct hv_dominfo *doms, size_t n)
{
	struct recovery *r = arg;

	step_done(r, RECOVERY_STEP_LIST);
	switch (r->intent) {
	case INTENT_WRITING:
		keep_list(r, err, doms, n);     /* intent_written goes on */
		return;
	case INTENT_FAILED:
		finish(r, RECOVERY_NO_INTENT, -1, "cannot write the intent "
		    "record; nothing destroyed");
		return;
	case INTENT_DURABLE:
		break;
	}
	act_on_list(r, err, doms, n);
}

/* The intent record is on disk and the list is back: act on what it says. */
static void
act_on_list(struct recovery *r, int err, const struct hv_dominfo *doms,
    size_t n)
{
	const struct hv_dominfo *found = NULL;
	struct hv_named named;
	enum hv_tools_op op;
	char why[200];

	if (r->cancelled && !r->destroyed) {
		/* Nothing was destroyed yet: nothing is owed. */
		finish(r, RECOVERY_CANCELLED, -1, "no longer configured");
		return;
	}
	if (err == 0)
		hv_named_find(doms, n, r->name, &named);
	if (err == 0 && (op = hv_tools_op(&named)) != HV_TOOLS_NONE) {
		/* Xen's tools win: no destroy, no create, not even the owed one. */
		snprintf(why, sizeof(why), "%s: Xen's own tools are handling it; "
		    "yaokid stays out of the way", xen_op_text(op));
		r->xen_op = op;
		finish(r, RECOVERY_CANCELLED, -1, why);
		return;
	}
	if (err == 0)
		found = named.live;
	/* Paused while a create of ours may still complete: half-built. */
	if (found != NULL && found->state == HV_PAUSED && r->create_pending &&
	    !r->destroyed && found->domid != r->domid) {
		log_notice("%s: domain %d is half-built (an earlier create of "
		    "yaokid's, never unpaused): destroying it", r->name,
		    found->domid);
		r->halfbuilt_domid = found->domid;
	}
	/* Someone else (an xl monitor, an operator) created it meanwhile. */
	if (found != NULL && found->domid != r->domid &&
	    found->domid != r->halfbuilt_domid &&
	    (found->state == HV_RUNNING || found->state == HV_PAUSED)) {
		log_notice("%s: domain %d was created outside yaokid meanwhile; "
		    "adopting it instead of creating another", r->name,
		    found->domid);
		finish(r, RECOVERY_ADOPTED, found->domid, NULL);
		return;
	}
	if (err != 0 && r->destroyed) {
		/* Listing failed after our destroy: the create is owed. */
		create_step(r);
		return;
	}
	/* If listing failed, act on the incarnation yaokid knows. */
	if (err == 0) {
		r->domid = found != NULL ? found->domid : -1;
		snprintf(r->uuid, sizeof(r->uuid), "%s",
		    found != NULL ? found->uuid : "");
		r->owner->domid(r->arg, r->domid);
	}
	if (r->domid < 0) {
		create_step(r);
		return;
	}
	destroy_step(r);
}

static void
destroy_step(struct recovery *r)
{
	struct hv_ident expect = { .name = r->name, .uuid = r->uuid };

	/* The owner logs "destroying domain N (reason)". */
	r->owner->destroying(r->arg, r->domid, r->uuid);
	r->q->hv->ops->destroy(r->q->hv, r->domid, &expect, destroyed_cb, r);
}

/*
 * After the destroy, the list is read once more before the create: the
 * domain must be gone, and neither Xen's tools nor anybody else may have
 * brought NAME back meanwhile. A destroy that failed twice ends the
 * recovery: creating while the old incarnation may live would make two.
 */
static void
destroyed_cb(void *arg, int err, const char *errmsg)
{
	struct recovery *r = arg;
	char why[400];

	step_done(r, RECOVERY_STEP_DESTROY);
	if (err == HV_ERR_XEN_TOOLS) {
		/* Nothing destroyed: the list now reads what the tools do. */
		log_notice("%s: not destroyed: %s", r->name,
		    errmsg != NULL ? errmsg : "Xen's tools are at work on it");
		r->tools_refused = true;
	}
	if (err != 0) {
		r->destroy_failures++;
		if (err != HV_ERR_XEN_TOOLS)
			log_warnx("%s: destroy of domain %d failed: %s",
			    r->name, r->domid,
			    errmsg != NULL ? errmsg : "unknown error");
		if (r->destroy_failures >= 2) {
			snprintf(why, sizeof(why), "cannot destroy domain %d (%s); "
			    "not creating a second copy", r->domid,
			    errmsg != NULL ? errmsg : "unknown error");
			finish(r, RECOVERY_FAILED, -1, why);
			return;
		}
	} else {
		r->destroyed = true;
		log_info("%s: domain %d destroyed in %.1f s", r->name,
		    r->domid, yk_now_s() - r->t0);
		if (r->cancelled)
			log_notice("%s: no longer configured, but destroyed by "
			    "yaokid: creating it again", r->name);
		r->domid = -1;
		r->uuid[0] = '\0';
		r->owner->domid(r->arg, -1);
	}
	relist_before_acting(r);
}

/*
 * The record says "creating" before the create starts: a yaokid killed
 * during the create then knows that a paused NAME is its own, half-built.
 */
static void
create_step(struct recovery *r)
{
	r->t_destroyed = yk_now_s();
	r->owner->creating(r->arg, marked_cb, r);
}

static void
marked_cb(void *arg, int err)
{
	struct recovery *r = arg;

	(void)err;      /* logged by the owner; the create is owed anyway */
	step_done(r, RECOVERY_STEP_MARK);
	yk_failpoint("create", r->name);
	log_notice("%s: creating the domain again", r->name);
	r->q->hv->ops->create(r->q->hv, r->config_json, created_cb, r);
}

static void
created_cb(void *arg, int err, int domid, const char *errmsg)
{
	struct recovery *r = arg;

	step_done(r, RECOVERY_STEP_CREATE);
	if (r->cancelled) {
		if (err == 0 && domid >= 0)
			log_notice("%s: re-created as domain %d; no longer "
			    "supervised", r->name, domid);
		else
			log_errx("%s: creating it again failed: %s; it is no "
			    "longer supervised", r->name,
			    errmsg != NULL ? errmsg : "create failed");
	} else if (err == 0 && domid >= 0)
		yk_failpoint("created", r->name);
	if (err != 0 || domid < 0) {
		finish(r, RECOVERY_FAILED, -1,
		    errmsg != NULL ? errmsg : "create failed");
		return;
	}
	finish(r, RECOVERY_CREATED, domid, NULL);
}

/* Hands the one outcome to the owner, frees r, and lets the next one go. */
static void
finish(struct recovery *r, enum recovery_result result, int domid,
    const char *why)
{
	struct recovery_queue *q = r->q;
	struct recovery_outcome o;
	double now = yk_now_s();

	o.result = result;
	o.name = r->name;
	o.domid = domid;
	o.why = why;
	o.xen_op = r->xen_op;
	o.destroyed = r->destroyed;
	o.seconds = now - r->t0;
	o.destroy_seconds = r->t_destroyed - r->t0;
	o.create_seconds = now - r->t_destroyed;
	memcpy(o.step_ms, r->step_ms, sizeof(o.step_ms));
	q->running--;
	r->owner->done(r->arg, &o);
	recovery_free(r);
	recovery_queue_kick(q);
}
