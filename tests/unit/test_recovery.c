/*
 * test_recovery.c - recovery.c against the scripted hypervisor (stub_hv.h)
 * and a recording owner: the order of the steps, each outcome, the queue's
 * limit, the intent record before any destroy, cancellation.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <event2/event.h>

#include "log.h"
#include "recovery.h"
#include "stub_hv.h"

/* One owner per domain, recording what recovery.c asks and reports. */
struct owner {
	const char *name;
	const char *config;         /* NULL: no configuration */
	int intent_rc;              /* the intent write's err (0: on disk) */
	bool hold_intent;           /* its end waits for owner_release_intent */
	recovery_written_fn *written;   /* the intent write still out */
	void *warg;
	bool hold_creating;         /* the "creating" mark's end waits */
	recovery_written_fn *marked;    /* ... for owner_release_mark */
	void *marg;
	int ndone;
	struct recovery_outcome out;
	char why[300];
};

static const char *const result_names[] = {
	[RECOVERY_CREATED] = "created", [RECOVERY_ADOPTED] = "adopted",
	[RECOVERY_FAILED] = "failed", [RECOVERY_GAVE_UP] = "gave_up",
	[RECOVERY_CANCELLED] = "cancelled", [RECOVERY_NO_INTENT] = "no_intent",
};

static char *
o_config(void *arg, char *why, size_t whylen)
{
	struct owner *o = arg;
	char *json;

	stub_note("config:%s", o->name);
	if (o->config == NULL) {
		snprintf(why, whylen, "no configuration to create it from");
		return NULL;
	}
	if ((json = strdup(o->config)) == NULL)
		abort();
	return json;
}

static struct event_base *loop_base;     /* the fixture's */

/* The intent write ends on the loop, as the writer thread's do. */
static void
intent_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct owner *o = arg;
	recovery_written_fn *written = o->written;

	(void)fd; (void)what;
	o->written = NULL;
	written(o->warg, o->intent_rc);
}

static void
o_intent(void *arg, int domid, recovery_written_fn *written, void *warg)
{
	struct owner *o = arg;
	struct timeval tv = { 0, 0 };

	stub_note("intent:%s:%d", o->name, domid);
	o->written = written;
	o->warg = warg;
	if (!o->hold_intent &&
	    event_base_once(loop_base, -1, EV_TIMEOUT, intent_end_cb, o,
	    &tv) != 0)
		abort();
}

/* The held intent write ends now (the fsync returned). */
static void
owner_release_intent(struct owner *o)
{
	assert_non_null(o->written);
	stub_note("durable:%s:%d", o->name, o->intent_rc);
	intent_end_cb(-1, 0, o);
}

static void
o_domid(void *arg, int domid)
{
	struct owner *o = arg;

	stub_note("domid:%s:%d", o->name, domid);
}

static void
o_destroying(void *arg, int domid, const char *uuid)
{
	struct owner *o = arg;

	(void)uuid;
	stub_note("destroying:%s:%d", o->name, domid);
}

static void
o_creating(void *arg, recovery_written_fn *written, void *warg)
{
	struct owner *o = arg;

	stub_note("creating:%s", o->name);
	if (o->hold_creating) {
		o->marked = written;
		o->marg = warg;
		return;
	}
	written(warg, 0);
}

/* The held "creating" mark is on disk now. */
static void
owner_release_mark(struct owner *o)
{
	recovery_written_fn *marked = o->marked;

	assert_non_null(marked);
	o->marked = NULL;
	stub_note("marked:%s", o->name);
	marked(o->marg, 0);
}

static void
o_done(void *arg, const struct recovery_outcome *out)
{
	struct owner *o = arg;

	stub_note("done:%s:%s:%d", o->name, result_names[out->result],
	    out->domid);
	o->ndone++;
	o->out = *out;
	snprintf(o->why, sizeof(o->why), "%s", out->why ? out->why : "");
	o->out.why = o->why;
}

static const struct recovery_owner owner_ops = {
	.config = o_config, .intent = o_intent, .domid = o_domid,
	.destroying = o_destroying, .creating = o_creating, .done = o_done,
};

struct fixture {
	struct event_base *base;
	struct stub_hv st;
	struct recovery_queue *q;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->base = event_base_new()) == NULL)
		return -1;
	stub_hv_init(&f->st, f->base);
	loop_base = f->base;
	f->q = recovery_queue_new(f->base, &f->st.hv, 2);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	recovery_queue_free(f->q);
	event_base_free(f->base);
	free(f);
	return 0;
}

static bool
owner_done(void *arg)
{
	return ((struct owner *)arg)->ndone > 0;
}

static struct recovery *
recover(struct fixture *f, struct owner *o, int domid)
{
	struct recovery_request req = { .name = o->name, .domid = domid,
	    .halfbuilt_domid = -1 };
	struct recovery *r = recovery_enqueue(f->q, &req, &owner_ops, o);

	recovery_queue_kick(f->q);
	return r;
}

/* The known incarnation still exists: destroy it, then create. */
static void
test_known_domid_destroyed_then_created(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}" };

	stub_hv_set(&f->st, 0, "web01", 5, HV_RUNNING, YK_SD_UNKNOWN);
	recover(f, &o, 5);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	/* The list is read again after the destroy, before the create. */
	assert_string_equal(stub_log, "config:web01 intent:web01:5 list "
	    "domid:web01:5 destroying:web01:5 destroy:5 domid:web01:-1 "
	    "list domid:web01:-1 creating:web01 create:{cfg} "
	    "done:web01:created:100 ");
	assert_int_equal(o.out.result, RECOVERY_CREATED);
	assert_int_equal(o.out.domid, 100);
	assert_int_equal(o.ndone, 1);
	assert_int_equal(recovery_running_count(f->q), 0);
}

/* Gone meanwhile: nothing to destroy, create only. */
static void
test_gone_meanwhile_create_only(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}" };

	stub_hv_set(&f->st, 0, "other", 9, HV_RUNNING, YK_SD_UNKNOWN);
	recover(f, &o, 5);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_string_equal(stub_log, "config:web01 intent:web01:5 list "
	    "domid:web01:-1 creating:web01 create:{cfg} "
	    "done:web01:created:100 ");
	assert_null(strstr(stub_log, "destroy"));
	assert_int_equal(o.out.result, RECOVERY_CREATED);
}

/* Another incarnation runs under the name: adopted, nothing destroyed. */
static void
test_other_incarnation_adopted(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}" };

	stub_hv_set(&f->st, 0, "web01", 7, HV_RUNNING, YK_SD_UNKNOWN);
	recover(f, &o, 5);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_string_equal(stub_log, "config:web01 intent:web01:5 list "
	    "done:web01:adopted:7 ");
	assert_int_equal(o.out.result, RECOVERY_ADOPTED);
	assert_int_equal(o.out.domid, 7);
}

static void
test_create_failure_reported(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}" };

	f->st.create_err = 1;
	f->st.create_errmsg = "out of guest memory";
	recover(f, &o, -1);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_FAILED);
	assert_string_equal(o.out.why, "out of guest memory");
	assert_non_null(strstr(stub_log, "create:{cfg} done:web01:failed:-1 "));
}

static void
test_no_configuration_gives_up(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = NULL };

	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_CRASH);
	recover(f, &o, 5);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_GAVE_UP);
	assert_non_null(strstr(o.out.why, "no configuration"));
	/* Nothing asked of the hypervisor, no intent written. */
	assert_string_equal(stub_log, "config:web01 done:web01:gave_up:-1 ");
}

/* The intent record comes before the destroy; unwritten, no destroy. */
static void
test_intent_before_destroy(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}" };
	const char *intent, *destroy;

	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_CRASH);
	recover(f, &o, 5);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	intent = strstr(stub_log, "intent:web01:5");
	destroy = strstr(stub_log, "destroy:5");
	assert_non_null(intent);
	assert_non_null(destroy);
	assert_true(intent < destroy);
}

static void
test_intent_write_failure_destroys_nothing(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}", .intent_rc = -1 };

	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_CRASH);
	recover(f, &o, 5);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_NO_INTENT);
	/* The list ran beside the write; its answer is not acted on. */
	assert_string_equal(stub_log,
	    "config:web01 intent:web01:5 list done:web01:no_intent:-1 ");
}

/*
 * The intent record's write and the list run at the same time; the destroy
 * waits for both. Here the list is back first: it is kept, and the destroy
 * comes only once the record is on disk.
 */
static void
test_destroy_waits_for_the_intent(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}",
	    .hold_intent = true };
	const char *durable, *destroy;

	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_CRASH);
	recover(f, &o, 5);
	stub_settle(&f->st, f->base);
	assert_string_equal(stub_log, "config:web01 intent:web01:5 list ");
	assert_int_equal(o.ndone, 0);
	owner_release_intent(&o);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_CREATED);
	durable = strstr(stub_log, "durable:web01:0");
	destroy = strstr(stub_log, "destroy:5");
	assert_non_null(durable);
	assert_non_null(destroy);
	assert_true(durable < destroy);
	assert_string_equal(stub_log, "config:web01 intent:web01:5 list "
	    "durable:web01:0 domid:web01:5 destroying:web01:5 destroy:5 "
	    "domid:web01:-1 "
	    "list domid:web01:-1 creating:web01 create:{cfg} "
	    "done:web01:created:100 ");
}

/* The other order: the record is on disk first, the destroy waits for the list. */
static void
test_destroy_waits_for_the_list(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}",
	    .hold_intent = true };

	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_CRASH);
	recover(f, &o, 5);
	/* The list's answer is still on the loop. */
	assert_int_equal(f->st.pending, 1);
	owner_release_intent(&o);
	assert_null(strstr(stub_log, "destroy"));
	assert_int_equal(o.ndone, 0);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_CREATED);
	assert_string_equal(stub_log, "config:web01 intent:web01:5 list "
	    "durable:web01:0 domid:web01:5 destroying:web01:5 destroy:5 "
	    "domid:web01:-1 "
	    "list domid:web01:-1 creating:web01 create:{cfg} "
	    "done:web01:created:100 ");
}

/* A write that fails after the list came back: nothing destroyed. */
static void
test_intent_failure_after_the_list(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}",
	    .hold_intent = true, .intent_rc = 5 /* EIO */ };

	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_CRASH);
	recover(f, &o, 5);
	stub_settle(&f->st, f->base);
	assert_int_equal(o.ndone, 0);
	owner_release_intent(&o);
	assert_int_equal(o.ndone, 1);
	assert_int_equal(o.out.result, RECOVERY_NO_INTENT);
	assert_false(o.out.destroyed);
	assert_string_equal(stub_log, "config:web01 intent:web01:5 list "
	    "durable:web01:5 done:web01:no_intent:-1 ");
}

/* A list kept long while the record was written is read again before acting. */
static void
test_stale_list_read_again(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}",
	    .hold_intent = true };
	struct timespec ts = { 0, 600 * 1000 * 1000 };

	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_CRASH);
	recover(f, &o, 5);
	stub_settle(&f->st, f->base);
	/* Meanwhile an operator started another incarnation. */
	stub_hv_set(&f->st, 0, "web01", 7, HV_RUNNING, YK_SD_UNKNOWN);
	nanosleep(&ts, NULL);
	owner_release_intent(&o);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_ADOPTED);
	assert_int_equal(o.out.domid, 7);
	assert_string_equal(stub_log, "config:web01 intent:web01:5 list "
	    "durable:web01:0 list done:web01:adopted:7 ");
}

/* The create starts only once the "creating" mark is on disk. */
static void
test_create_waits_for_the_mark(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}",
	    .hold_creating = true };

	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_CRASH);
	recover(f, &o, 5);
	stub_settle(&f->st, f->base);
	assert_non_null(strstr(stub_log, "creating:web01 "));
	assert_null(strstr(stub_log, "create:"));
	assert_int_equal(o.ndone, 0);
	owner_release_mark(&o);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_CREATED);
	assert_non_null(strstr(stub_log, "creating:web01 marked:web01 "
	    "create:{cfg} "));
}

/* A slow intent write is the prepare step's time; the steps still add up. */
static void
test_steps_add_up_with_a_slow_intent(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}",
	    .hold_intent = true };
	struct timespec ts = { 0, 30 * 1000 * 1000 };
	double sum = 0;
	int i;

	stub_hv_set(&f->st, 0, "web01", 5, HV_RUNNING, YK_SD_UNKNOWN);
	f->st.next_domid = 9;
	recover(f, &o, 5);
	stub_settle(&f->st, f->base);
	nanosleep(&ts, NULL);
	owner_release_intent(&o);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_CREATED);
	for (i = 0; i < RECOVERY_NSTEPS; i++) {
		assert_true(o.out.step_ms[i] >= 0);
		sum += o.out.step_ms[i];
	}
	assert_true(sum <= o.out.seconds * 1000.0 + 0.001);
	assert_true(sum >= o.out.seconds * 1000.0 - 0.001);
	assert_true(o.out.step_ms[RECOVERY_STEP_PREPARE] >= 25.0);
	assert_true(o.out.step_ms[RECOVERY_STEP_LIST] < 25.0);
}

/* ---- Xen's own tools win; never two copies -------------------------------- */

/* A migration away began while the recovery waited: nothing is done. */
static void
test_migration_away_cancels_before_destroy(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}" };

	stub_hv_set(&f->st, 0, "web01--migratedaway", 5, HV_RUNNING, YK_SD_UNKNOWN);
	recover(f, &o, 5);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_CANCELLED);
	assert_int_equal(o.out.xen_op, HV_TOOLS_MIGRATING_OUT);
	assert_false(o.out.destroyed);
	assert_null(strstr(stub_log, "destroy"));
	assert_null(strstr(stub_log, "create"));
	assert_non_null(strstr(o.out.why, "migrating away"));
}

/*
 * xl migrate in its first phase: only its process names the domain. The
 * list before acting does not read the process table (it costs Dom0 a
 * syscall per process); the destroy does, right before acting, and
 * refuses; the list after that refusal reads it and ends the recovery as
 * Xen's: nothing destroyed, nothing created, not counted as a failure.
 */
static void
test_xl_migrate_first_phase_refuses_the_destroy(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}" };

	stub_hv_set(&f->st, 0, "web01", 5, HV_RUNNING, YK_SD_UNKNOWN);
	f->st.doms[0].xl_op = HV_XL_MIGRATE;
	recover(f, &o, 5);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_CANCELLED);
	assert_int_equal(o.out.xen_op, HV_TOOLS_MIGRATING_OUT);
	assert_false(o.out.destroyed);
	assert_non_null(strstr(stub_log, "list domid:web01:5 destroying:web01:5 "
	    "destroy-refused-tools:5 list "));
	assert_null(strstr(stub_log, "destroy:5"));
	assert_null(strstr(stub_log, "create"));
	assert_int_equal(f->st.tools_lists, 1);
	assert_true(f->st.last_list_flags & HV_LIST_TOOLS);
	assert_non_null(strstr(o.out.why, "migrating away"));
}

/* Every step's time is reported, and they add up to the whole. */
static void
test_steps_add_up(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}" };
	double sum = 0;
	int i;

	stub_hv_set(&f->st, 0, "web01", 5, HV_RUNNING, YK_SD_UNKNOWN);
	f->st.next_domid = 9;
	recover(f, &o, 5);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_CREATED);
	for (i = 0; i < RECOVERY_NSTEPS; i++) {
		assert_true(o.out.step_ms[i] >= 0);
		sum += o.out.step_ms[i];
	}
	assert_true(sum <= o.out.seconds * 1000.0 + 0.001);
	assert_true(sum >= o.out.seconds * 1000.0 - 0.001);
	/* The list before the destroy is a plain one: no process table. */
	assert_int_equal(f->st.tools_lists, 0);
	assert_string_equal(recovery_step_name(RECOVERY_STEP_MARK),
	    "create mark");
}

/* A save in progress (suspended): no destroy, whatever the probes said. */
static void
test_save_in_progress_cancels(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}" };

	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_SUSPEND);
	recover(f, &o, 5);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_CANCELLED);
	assert_int_equal(o.out.xen_op, HV_TOOLS_SAVING);
	assert_null(strstr(stub_log, "destroy"));
}

/* An incoming migration appears between the destroy and the create. */
static void
test_incoming_after_destroy_cancels_the_create(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}" };

	stub_hv_set(&f->st, 0, "web01", 5, HV_RUNNING, YK_SD_UNKNOWN);
	f->st.hold_destroy = true;
	recover(f, &o, 5);
	assert_false(stub_loop_until(f->base, owner_done, &o));
	assert_non_null(strstr(stub_log, "destroy:5"));
	stub_hv_set(&f->st, 0, "web01--incoming", 8, HV_PAUSED, YK_SD_UNKNOWN);
	f->st.ndoms = 1;
	stub_release(&f->st);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_CANCELLED);
	assert_int_equal(o.out.xen_op, HV_TOOLS_MIGRATING_IN);
	assert_true(o.out.destroyed);
	assert_null(strstr(stub_log, "create"));
}

/*
 * The list still calls domain 5 "web01" (a stale name), but the hypervisor
 * says it is someone else now: the destroy is refused, twice, and nothing
 * is created while it may live.
 */
static void
test_refused_destroy_never_creates(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}" };
	stub_hv_set(&f->st, 0, "web01", 5, HV_RUNNING, YK_SD_UNKNOWN);
	f->st.refuse_destroy = true;
	recover(f, &o, 5);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_int_equal(o.out.result, RECOVERY_FAILED);
	assert_non_null(strstr(o.out.why, "not creating a second copy"));
	assert_non_null(strstr(stub_log, "destroy-refused:5 list "
	    "domid:web01:5 destroying:web01:5 destroy-refused:5 "
	    "done:web01:failed"));
	assert_null(strstr(stub_log, "create"));
}

/* A half-built domain (paused, ours, never unpaused) is destroyed. */
static void
test_halfbuilt_is_destroyed_not_adopted(void **state)
{
	struct fixture *f = *state;
	struct owner o = { .name = "web01", .config = "{cfg}" };
	struct recovery_request req = { .name = "web01", .domid = 4,
	    .halfbuilt_domid = 6 };

	stub_hv_set(&f->st, 0, "web01", 6, HV_PAUSED, YK_SD_UNKNOWN);
	recovery_enqueue(f->q, &req, &owner_ops, &o);
	recovery_queue_kick(f->q);
	assert_true(stub_loop_until(f->base, owner_done, &o));
	assert_non_null(strstr(stub_log, "destroy:6"));
	assert_non_null(strstr(stub_log, "create:{cfg}"));
	assert_int_equal(o.out.result, RECOVERY_CREATED);
}

static bool
both_done(void *arg)
{
	struct owner *o = arg;

	return o[0].ndone > 0 && o[1].ndone > 0;
}

/* max_parallel 1: the second starts only once the first is done. */
static void
test_max_parallel_one(void **state)
{
	struct fixture *f = *state;
	struct owner o[2] = {
		{ .name = "web01", .config = "{a}" },
		{ .name = "web02", .config = "{b}" },
	};
	const char *done1, *config2;

	recovery_queue_set_max(f->q, 1);
	stub_hv_set(&f->st, 0, "web01", 5, HV_RUNNING, YK_SD_UNKNOWN);
	stub_hv_set(&f->st, 1, "web02", 6, HV_RUNNING, YK_SD_UNKNOWN);
	recover(f, &o[0], 5);
	recover(f, &o[1], 6);
	assert_int_equal(recovery_running_count(f->q), 1);
	assert_null(strstr(stub_log, "config:web02"));
	assert_true(stub_loop_until(f->base, both_done, o));
	done1 = strstr(stub_log, "done:web01:created");
	config2 = strstr(stub_log, "config:web02");
	assert_non_null(done1);
	assert_non_null(config2);
	assert_true(done1 < config2);
	assert_int_equal(o[1].out.result, RECOVERY_CREATED);
	assert_int_equal(o[1].out.domid, 101);
}

/* With room for two, both start at once (the limit above is what orders). */
static void
test_max_parallel_two(void **state)
{
	struct fixture *f = *state;
	struct owner o[2] = {
		{ .name = "web01", .config = "{a}" },
		{ .name = "web02", .config = "{b}" },
	};

	recover(f, &o[0], -1);
	recover(f, &o[1], -1);
	assert_int_equal(recovery_running_count(f->q), 2);
	assert_true(stub_loop_until(f->base, both_done, o));
	assert_int_equal(recovery_running_count(f->q), 0);
}

/* Cancelled in line: dropped with no callback; running: cancelled outcome. */
static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct owner o[2] = {
		{ .name = "web01", .config = "{a}" },
		{ .name = "web02", .config = "{b}" },
	};
	struct recovery *r1, *r2;
	int i;

	recovery_queue_set_max(f->q, 1);
	stub_hv_set(&f->st, 0, "web01", 5, HV_RUNNING, YK_SD_UNKNOWN);
	r1 = recover(f, &o[0], 5);
	r2 = recover(f, &o[1], 6);
	assert_true(recovery_cancel(r2));
	assert_false(recovery_cancel(r1));      /* running: the list is out */
	assert_true(stub_loop_until(f->base, owner_done, &o[0]));
	assert_int_equal(o[0].out.result, RECOVERY_CANCELLED);
	assert_null(strstr(stub_log, "destroy"));
	for (i = 0; i < 20; i++)
		event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(o[1].ndone, 0);
	assert_null(strstr(stub_log, "web02"));
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_known_domid_destroyed_then_created),
		T(test_gone_meanwhile_create_only),
		T(test_other_incarnation_adopted),
		T(test_create_failure_reported),
		T(test_no_configuration_gives_up),
		T(test_intent_before_destroy),
		T(test_intent_write_failure_destroys_nothing),
		T(test_destroy_waits_for_the_intent),
		T(test_destroy_waits_for_the_list),
		T(test_intent_failure_after_the_list),
		T(test_steps_add_up_with_a_slow_intent),
		T(test_stale_list_read_again),
		T(test_create_waits_for_the_mark),
		T(test_migration_away_cancels_before_destroy),
		T(test_xl_migrate_first_phase_refuses_the_destroy),
		T(test_steps_add_up),
		T(test_save_in_progress_cancels),
		T(test_incoming_after_destroy_cancels_the_create),
		T(test_refused_destroy_never_creates),
		T(test_halfbuilt_is_destroyed_not_adopted),
		T(test_max_parallel_one),
		T(test_max_parallel_two),
		T(test_cancel),
	};

	log_init("test_recovery", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
