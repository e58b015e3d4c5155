/*
 * test_sm.c - unit tests of the per-domain state machine
 * (supervisor/sm.c), driven with a fake clock.
 *
 * Every test walks the machine through real events and checks, after each
 * step, the returned action bits, the state, the counters and wake_at. No
 * real time passes and nothing touches the system.
 */
#include "config.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "hold.h"
#include "sm.h"

#define SEC	1000LL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define T0	(1000 * SEC)	/* the fake clock never starts at 0 */

/* The fixture: one machine, its parameters and the fake clock. */
static struct yk_sm	 sm;
static struct yk_sm_params p;
static int64_t		 now;

static int
setup(void **state)
{
	(void)state;
	yk_sm_free(&sm);	/* some tests start over halfway: no leak */
	memset(&p, 0, sizeof(p));
	p.failures = 3;
	p.successes = 1;
	p.start_period_ms = 120 * SEC;
	p.max_recoveries = 3;
	p.recovery_window_ms = HOUR;
	p.backoff_ms = 10 * SEC;
	p.backoff_max_ms = 5 * MIN;
	p.on_failure = YK_ONFAIL_RECREATE;
	p.on_crash = YK_ONCRASH_RECREATE;
	p.monitor_wait_ms = 120 * SEC;
	p.coredump_wait_ms = 600 * SEC;
	now = T0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	yk_sm_free(&sm);
	return 0;
}

/* ---- event helpers ------------------------------------------------------ */

static unsigned
send(enum yk_sm_event_kind kind, bool ok, enum yk_shutdown_reason reason,
    bool hold)
{
	struct yk_sm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.ok = ok;
	ev.reason = reason;
	ev.hold = hold;
	return yk_sm_step(&sm, &p, &ev, now);
}

static unsigned
ev(enum yk_sm_event_kind kind)
{
	return send(kind, false, YK_SD_UNKNOWN, false);
}

static unsigned
probe(bool ok)
{
	return send(YK_EV_PROBE, ok, YK_SD_UNKNOWN, false);
}

static unsigned
probe_hold(bool ok)
{
	return send(YK_EV_PROBE, ok, YK_SD_UNKNOWN, true);
}

static unsigned
shutdown_ev(enum yk_shutdown_reason r)
{
	return send(YK_EV_DOMAIN_SHUTDOWN, false, r, false);
}

static unsigned
done(bool ok)
{
	return send(YK_EV_RECOVERY_DONE, ok, YK_SD_UNKNOWN, false);
}

static unsigned
timer(void)
{
	return ev(YK_EV_TIMER);
}

static unsigned
timer_hold(void)
{
	return send(YK_EV_TIMER, false, YK_SD_UNKNOWN, true);
}

#define assert_state(s) \
	assert_string_equal(yk_state_name(sm.state), yk_state_name(s))
#define assert_act(got, want) assert_int_equal((got), (want))

static unsigned
xen_op(enum yk_xen_op op)
{
	struct yk_sm_event e = { .kind = YK_EV_XEN_OP, .op = op };

	return yk_sm_step(&sm, &p, &e, now);
}

static unsigned
gone(bool owed)
{
	struct yk_sm_event e = { .kind = YK_EV_DOMAIN_GONE, .owed = owed };

	return yk_sm_step(&sm, &p, &e, now);
}

static unsigned
up_started(int64_t started, bool ours)
{
	struct yk_sm_event e = { .kind = YK_EV_DOMAIN_UP, .started = started,
	    .ours = ours };

	return yk_sm_step(&sm, &p, &e, now);
}

/* A shutdown as the list reports it: who acts on it, and how. */
static unsigned
shutdown_by(enum yk_shutdown_reason r, bool monitored, enum hv_action action)
{
	struct yk_sm_event e = { .kind = YK_EV_DOMAIN_SHUTDOWN, .reason = r,
	    .monitored = monitored, .action = action };

	return yk_sm_step(&sm, &p, &e, now);
}

static unsigned
with_why(enum yk_sm_event_kind kind, const char *why)
{
	struct yk_sm_event e = { .kind = kind, .why = why };

	return yk_sm_step(&sm, &p, &e, now);
}


/* ---- walks to a known place --------------------------------------------- */

/* A domain someone else created, just seen: starting. */
static void
to_starting(void)
{
	assert_act(ev(YK_EV_DOMAIN_UP), 0);
	assert_state(YK_STARTING);
}

static void
to_healthy(void)
{
	to_starting();
	assert_act(probe(true), 0);
	assert_state(YK_HEALTHY);
}

/* From healthy, p.failures failed probes: a recovery starts. */
static unsigned
fail_to_threshold(void)
{
	unsigned i, act = 0;

	for (i = 0; i < p.failures; i++)
		act = probe(false);
	return act;
}

/* From healthy: fail, recover, come back healthy; one recovery in hist. */
static void
recover_once(void)
{
	assert_act(fail_to_threshold(), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_act(done(true), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_act(probe(true), YK_ACT_PERSIST);	/* streak 1 -> 0 */
	assert_state(YK_HEALTHY);
}

/* ---- names and basics --------------------------------------------------- */

static void
test_state_names(void **state)
{
	static const char *names[YK_NSTATES] = { "absent", "starting",
	    "healthy", "failing", "recovering", "backoff", "unrecoverable",
	    "paused" };
	int i;

	(void)state;
	for (i = 0; i < YK_NSTATES; i++) {
		assert_string_equal(yk_state_name((enum yk_state)i), names[i]);
		assert_int_equal(yk_state_from_name(names[i]), i);
	}
	assert_int_equal(yk_state_from_name("Healthy"), -1);
	assert_int_equal(yk_state_from_name(""), -1);
	assert_int_equal(yk_state_from_name(NULL), -1);
}

static void
test_shutdown_reason_names(void **state)
{
	static const char *names[] = { "poweroff", "reboot", "suspend",
	    "crash", "watchdog", "soft_reset", "unknown" };
	int i;

	(void)state;
	for (i = 0; i < 7; i++) {
		assert_string_equal(
		    yk_shutdown_reason_name((enum yk_shutdown_reason)i),
		    names[i]);
		assert_int_equal(yk_shutdown_reason_from_name(names[i]), i);
	}
	assert_int_equal(YK_SD_CRASH, 3);	/* libxl's order */
	assert_int_equal(yk_shutdown_reason_from_name("halt"), -1);
	assert_int_equal(yk_shutdown_reason_from_name(NULL), -1);
}

static void
test_init_is_absent(void **state)
{
	(void)state;
	sm.state = YK_HEALTHY;
	sm.streak = 9;
	yk_sm_init(&sm);
	assert_state(YK_ABSENT);
	assert_int_equal(sm.streak, 0);
	assert_int_equal(sm.nhist, 0);
	assert_int_equal(sm.wake_at, 0);
	assert_false(sm.maintenance);
	assert_false(sm.created_by_us);
	assert_false(yk_sm_probing(&sm));
}

static void
test_params_from_conf(void **state)
{
	struct yk_domain_conf c;
	struct yk_sm_params q;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.failures = 4;
	c.successes = 2;
	c.start_period_ms = 90000;
	c.max_recoveries = 5;
	c.recovery_window_ms = 7200000;
	c.backoff_ms = 15000;
	c.backoff_max_ms = 600000;
	c.on_failure = YK_ONFAIL_REBOOT;
	c.on_crash = YK_ONCRASH_NONE;
	yk_sm_params_from_conf(&q, &c);
	assert_int_equal(q.failures, 4);
	assert_int_equal(q.successes, 2);
	assert_int_equal(q.start_period_ms, 90000);
	assert_int_equal(q.max_recoveries, 5);
	assert_int_equal(q.recovery_window_ms, 7200000);
	assert_int_equal(q.backoff_ms, 15000);
	assert_int_equal(q.backoff_max_ms, 600000);
	assert_int_equal(q.on_failure, YK_ONFAIL_REBOOT);
	assert_int_equal(q.on_crash, YK_ONCRASH_NONE);

	c.backoff_max_ms = UINT64_MAX;	/* never wraps negative */
	yk_sm_params_from_conf(&q, &c);
	assert_true(q.backoff_max_ms == INT64_MAX);
}

static void
test_probing_states(void **state)
{
	int s;

	(void)state;
	for (s = 0; s < YK_NSTATES; s++) {
		sm.state = (enum yk_state)s;
		assert_int_equal(yk_sm_probing(&sm), s == YK_STARTING ||
		    s == YK_HEALTHY || s == YK_FAILING);
	}
}

/* ---- start period ------------------------------------------------------- */

static void
test_domain_up_from_absent_starts(void **state)
{
	(void)state;
	assert_act(ev(YK_EV_DOMAIN_UP), 0);
	assert_state(YK_STARTING);
	assert_true(sm.start_until == T0 + 120 * SEC);
	assert_false(sm.start_seen_ok);
	assert_int_equal(sm.wake_at, 0);
	assert_int_equal(sm.consecutive_failures, 0);
	assert_false(sm.created_by_us);
	assert_true(yk_sm_probing(&sm));
}

static void
test_domain_up_absent_clears_created_by_us(void **state)
{
	(void)state;
	sm.created_by_us = true;	/* as restored from the state file */
	assert_act(ev(YK_EV_DOMAIN_UP), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_false(sm.created_by_us);
}

static void
test_domain_up_ignored_when_known(void **state)
{
	(void)state;
	to_healthy();
	now += 10 * SEC;
	assert_act(ev(YK_EV_DOMAIN_UP), 0);
	assert_state(YK_HEALTHY);

	assert_act(fail_to_threshold(), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_act(ev(YK_EV_DOMAIN_UP), 0);	/* yaokid is creating it */
	assert_state(YK_RECOVERING);
}

static void
test_start_period_ignores_failures(void **state)
{
	int i;

	(void)state;
	to_starting();
	for (i = 0; i < 10; i++) {
		now += 10 * SEC;
		assert_act(probe(false), 0);
		assert_state(YK_STARTING);
		assert_int_equal(sm.consecutive_failures, 0);
	}
	assert_int_equal(sm.nhist, 0);
}

static void
test_start_period_deadline_counts_failures(void **state)
{
	(void)state;
	to_starting();
	now = T0 + 120 * SEC - 1;
	assert_act(probe(false), 0);
	assert_state(YK_STARTING);
	assert_int_equal(sm.consecutive_failures, 0);

	now = T0 + 120 * SEC;		/* the deadline itself counts */
	assert_act(probe(false), 0);
	assert_state(YK_FAILING);
	assert_int_equal(sm.consecutive_failures, 1);
	assert_act(probe(false), 0);
	assert_int_equal(sm.consecutive_failures, 2);
	assert_act(probe(false), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_string_equal(sm.reason, "3 consecutive failed probes");
}

static void
test_start_first_success_ends_grace(void **state)
{
	(void)state;
	p.successes = 2;
	to_starting();
	now += SEC;
	assert_act(probe(true), 0);
	assert_state(YK_STARTING);
	assert_true(sm.start_seen_ok);
	assert_int_equal(sm.consecutive_successes, 1);

	now += SEC;		/* well inside the start period */
	assert_act(probe(false), 0);
	assert_state(YK_FAILING);
	assert_int_equal(sm.consecutive_failures, 1);
	assert_int_equal(sm.consecutive_successes, 0);
}

static void
test_start_success_makes_healthy(void **state)
{
	(void)state;
	to_starting();
	assert_act(probe(true), 0);	/* streak was 0: nothing to save */
	assert_state(YK_HEALTHY);
	assert_int_equal(sm.wake_at, 0);
	assert_int_equal(sm.consecutive_failures, 0);
}

static void
test_start_successes_threshold(void **state)
{
	(void)state;
	p.successes = 3;
	to_starting();
	assert_act(probe(true), 0);
	assert_act(probe(true), 0);
	assert_state(YK_STARTING);
	assert_int_equal(sm.consecutive_successes, 2);
	/* Once a probe succeeded, failures count even inside the period. */
	assert_act(probe(false), 0);
	assert_state(YK_FAILING);
	assert_int_equal(sm.consecutive_successes, 0);
	assert_act(probe(true), 0);
	assert_act(probe(true), 0);
	assert_state(YK_FAILING);
	assert_int_equal(sm.consecutive_failures, 0);
	assert_act(probe(true), 0);
	assert_state(YK_HEALTHY);
}

static void
test_start_grace_failure_resets_successes(void **state)
{
	(void)state;
	p.successes = 2;
	to_starting();
	sm.consecutive_successes = 1;	/* e.g. a success counted earlier */
	assert_act(probe(false), 0);	/* ignored, but breaks the run */
	assert_state(YK_STARTING);
	assert_int_equal(sm.consecutive_successes, 0);
	assert_int_equal(sm.consecutive_failures, 0);
}

/* ---- thresholds --------------------------------------------------------- */

static void
test_healthy_ok_stays(void **state)
{
	(void)state;
	to_healthy();
	assert_act(probe(true), 0);
	assert_state(YK_HEALTHY);
	assert_int_equal(sm.consecutive_failures, 0);
}

static void
test_failures_threshold(void **state)
{
	(void)state;
	to_healthy();
	now += 5 * SEC;
	assert_act(probe(false), 0);
	assert_state(YK_FAILING);
	assert_int_equal(sm.consecutive_failures, 1);
	assert_int_equal(sm.consecutive_successes, 0);
	now += 5 * SEC;
	assert_act(probe(false), 0);
	assert_state(YK_FAILING);
	assert_int_equal(sm.consecutive_failures, 2);
	now += 5 * SEC;
	assert_act(probe(false), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_int_equal(sm.nhist, 1);
	assert_true(sm.hist[0] == now);
	assert_int_equal(sm.streak, 1);
	assert_int_equal(sm.wake_at, 0);
	assert_string_equal(sm.reason, "3 consecutive failed probes");
}

static void
test_failures_one(void **state)
{
	(void)state;
	p.failures = 1;
	to_healthy();
	assert_act(probe(false), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_string_equal(sm.reason, "1 consecutive failed probes");
}

static void
test_failing_recovers_on_success(void **state)
{
	(void)state;
	to_healthy();
	assert_act(probe(false), 0);
	assert_act(probe(false), 0);
	assert_act(probe(true), 0);
	assert_state(YK_HEALTHY);
	assert_int_equal(sm.consecutive_failures, 0);
	/* The count starts again: two more failures are not enough. */
	assert_act(probe(false), 0);
	assert_act(probe(false), 0);
	assert_state(YK_FAILING);
	assert_int_equal(sm.consecutive_failures, 2);
}

static void
test_failing_needs_successes(void **state)
{
	(void)state;
	p.successes = 2;
	to_starting();
	assert_act(probe(true), 0);
	assert_act(probe(true), 0);
	assert_state(YK_HEALTHY);
	assert_act(probe(false), 0);
	assert_act(probe(true), 0);
	assert_state(YK_FAILING);
	assert_int_equal(sm.consecutive_failures, 0);
	assert_int_equal(sm.consecutive_successes, 1);
	assert_act(probe(false), 0);
	assert_int_equal(sm.consecutive_failures, 1);
	assert_int_equal(sm.consecutive_successes, 0);
	assert_act(probe(true), 0);
	assert_act(probe(true), 0);
	assert_state(YK_HEALTHY);
}

static void
test_on_failure_none_never_acts(void **state)
{
	int i;

	(void)state;
	p.on_failure = YK_ONFAIL_NONE;
	to_healthy();
	for (i = 1; i <= 20; i++) {
		now += 5 * SEC;
		assert_act(probe(false), 0);
		assert_state(YK_FAILING);
		assert_int_equal(sm.consecutive_failures, i);
	}
	assert_int_equal(sm.nhist, 0);
	assert_int_equal(sm.streak, 0);
	assert_int_equal(sm.wake_at, 0);
	assert_act(timer(), 0);
	assert_act(probe(true), 0);
	assert_state(YK_HEALTHY);
}

static void
test_hold_suppresses_recovery(void **state)
{
	int i;

	(void)state;
	to_healthy();
	for (i = 1; i <= 6; i++) {
		assert_act(probe_hold(false), 0);
		assert_state(YK_FAILING);
		assert_int_equal(sm.consecutive_failures, i);
	}
	assert_int_equal(sm.nhist, 0);
	/* The hold ends: the next failure checks the threshold again. */
	assert_act(probe(false), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_string_equal(sm.reason, "7 consecutive failed probes");
}

static void
test_hold_suppresses_reboot(void **state)
{
	(void)state;
	p.on_failure = YK_ONFAIL_REBOOT;
	to_healthy();
	probe_hold(false);
	probe_hold(false);
	assert_act(probe_hold(false), 0);
	assert_state(YK_FAILING);
	assert_false(sm.reboot_pending);
	assert_act(probe(false), YK_ACT_REBOOT | YK_ACT_PERSIST);
}

/* ---- recovery, streaks and backoff -------------------------------------- */

static void
test_recovery_done_ok_starts(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	now += 12 * SEC;
	assert_act(done(true), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_true(sm.created_by_us);
	assert_true(sm.start_until == now + 120 * SEC);
	assert_int_equal(sm.wake_at, 0);
	assert_int_equal(sm.consecutive_failures, 0);
	assert_int_equal(sm.streak, 1);
	/* Healthy again: the streak is forgiven, and that is saved. */
	assert_act(probe(true), YK_ACT_PERSIST);
	assert_state(YK_HEALTHY);
	assert_int_equal(sm.streak, 0);
	assert_int_equal(sm.nhist, 1);	/* the window still remembers */
}

static void
test_second_attempt_waits_backoff(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	done(true);
	now += 120 * SEC;	/* start period over, never healthy */
	probe(false);
	probe(false);
	assert_act(probe(false), YK_ACT_PERSIST);
	assert_state(YK_BACKOFF);
	assert_true(sm.wake_at == now + 10 * SEC);
	assert_int_equal(sm.nhist, 1);
	assert_int_equal(sm.streak, 1);
	assert_false(yk_sm_probing(&sm));

	now += 10 * SEC - 1;
	assert_act(timer(), 0);		/* early: nothing */
	assert_state(YK_BACKOFF);
	now += 1;
	assert_act(timer(), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_int_equal(sm.streak, 2);
	assert_int_equal(sm.nhist, 2);
	assert_true(sm.hist[1] == now);
	assert_int_equal(sm.wake_at, 0);
}

static void
test_backoff_doubles_to_max(void **state)
{
	static const int64_t want[] = { 10 * SEC, 20 * SEC, 40 * SEC,
	    45 * SEC, 45 * SEC, 45 * SEC };
	size_t i;

	(void)state;
	p.max_recoveries = 100;
	p.backoff_max_ms = 45 * SEC;
	assert_act(ev(YK_EV_CMD_RECOVER), YK_ACT_RECOVER | YK_ACT_PERSIST);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		now += 7 * SEC;
		assert_act(done(false), YK_ACT_PERSIST);
		assert_state(YK_BACKOFF);
		assert_string_equal(sm.reason, "create failed");
		assert_int_equal(sm.streak, i + 1);
		assert_true(sm.wake_at == now + want[i]);
		assert_true(yk_sm_backoff_delay(&sm, &p) == want[i]);
		now = sm.wake_at;
		assert_act(timer(), YK_ACT_RECOVER | YK_ACT_PERSIST);
		assert_state(YK_RECOVERING);
	}
	assert_int_equal(sm.nhist, 7);
}

static void
test_backoff_delay_edges(void **state)
{
	(void)state;
	sm.streak = 0;
	assert_true(yk_sm_backoff_delay(&sm, &p) == 0);
	sm.streak = 1;
	assert_true(yk_sm_backoff_delay(&sm, &p) == 10 * SEC);
	sm.streak = 6;		/* 10s * 32 = 320s > 300s */
	assert_true(yk_sm_backoff_delay(&sm, &p) == 5 * MIN);
	sm.streak = UINT_MAX;	/* no overflow, no endless loop */
	p.backoff_max_ms = INT64_MAX;
	assert_true(yk_sm_backoff_delay(&sm, &p) == INT64_MAX);
	p.backoff_ms = 0;
	assert_true(yk_sm_backoff_delay(&sm, &p) == 0);
	p.backoff_ms = 60 * SEC;	/* cap below the base: the cap wins */
	p.backoff_max_ms = 30 * SEC;
	sm.streak = 1;
	assert_true(yk_sm_backoff_delay(&sm, &p) == 30 * SEC);
}

static void
test_zero_backoff_still_wakes(void **state)
{
	(void)state;
	p.backoff_ms = 0;
	now = 0;		/* wake_at 0 would mean "never" */
	ev(YK_EV_CMD_RECOVER);
	assert_act(done(false), YK_ACT_PERSIST);
	assert_state(YK_BACKOFF);
	assert_true(sm.wake_at > 0);
	now = sm.wake_at;
	assert_act(timer(), YK_ACT_RECOVER | YK_ACT_PERSIST);
}

static void
test_create_failures_reach_unrecoverable(void **state)
{
	(void)state;
	to_healthy();
	assert_act(fail_to_threshold(), YK_ACT_RECOVER | YK_ACT_PERSIST);
	now += 5 * SEC;
	assert_act(done(false), YK_ACT_PERSIST);
	assert_state(YK_BACKOFF);
	assert_true(sm.wake_at == now + 10 * SEC);
	now = sm.wake_at;
	assert_act(timer(), YK_ACT_RECOVER | YK_ACT_PERSIST);
	now += 5 * SEC;
	assert_act(done(false), YK_ACT_PERSIST);
	assert_true(sm.wake_at == now + 20 * SEC);
	now = sm.wake_at;
	assert_act(timer(), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_int_equal(sm.nhist, 3);
	now += 5 * SEC;
	assert_act(done(false), YK_ACT_HOOK | YK_ACT_PERSIST);
	assert_state(YK_UNRECOVERABLE);
	assert_int_equal(sm.wake_at, 0);
	assert_string_equal(sm.reason,
	    "recovery limit reached: 3 recoveries within 1h");
}

static void
test_unrecoverable_hook_once(void **state)
{
	(void)state;
	p.max_recoveries = 1;
	to_healthy();
	recover_once();
	assert_act(fail_to_threshold(), YK_ACT_HOOK | YK_ACT_PERSIST);
	assert_state(YK_UNRECOVERABLE);
	assert_int_equal(sm.nhist, 1);
	assert_string_equal(sm.reason,
	    "recovery limit reached: 1 recoveries within 1h");

	/* Nothing that happens next runs the hook again or leaves the state. */
	now += 10 * MIN;
	assert_act(probe(false), 0);
	assert_act(probe(true), 0);
	assert_act(timer(), 0);
	assert_act(shutdown_ev(YK_SD_CRASH), 0);
	assert_act(shutdown_ev(YK_SD_POWEROFF), 0);
	assert_act(ev(YK_EV_DOMAIN_UP), 0);
	assert_act(ev(YK_EV_DOMAIN_GONE), 0);
	assert_act(done(true), 0);
	assert_act(done(false), 0);
	assert_act(ev(YK_EV_DOMAIN_PAUSED), 0);
	assert_state(YK_UNRECOVERABLE);
	assert_true(sm.xen_paused);
	now += 2 * HOUR;	/* even once the window has emptied */
	assert_act(timer(), 0);
	assert_state(YK_UNRECOVERABLE);
}

static void
test_window_counts_recent_recoveries(void **state)
{
	(void)state;
	to_healthy();
	recover_once();			/* at T0 */
	now = T0 + 10 * MIN;
	recover_once();
	now = T0 + 20 * MIN;
	recover_once();
	assert_int_equal(sm.nhist, 3);
	assert_int_equal(yk_sm_recoveries_in_window(&sm, &p, now), 3);
	now = T0 + 30 * MIN;
	assert_act(fail_to_threshold(), YK_ACT_HOOK | YK_ACT_PERSIST);
	assert_state(YK_UNRECOVERABLE);
}

static void
test_window_slides(void **state)
{
	(void)state;
	to_healthy();
	recover_once();			/* at T0 */
	now = T0 + 10 * MIN;
	recover_once();
	now = T0 + 20 * MIN;
	recover_once();

	/* Exactly one window after the first: it still counts. */
	now = T0 + HOUR;
	assert_int_equal(yk_sm_recoveries_in_window(&sm, &p, now), 3);
	now = T0 + HOUR + 1;
	assert_int_equal(yk_sm_recoveries_in_window(&sm, &p, now), 2);
	assert_int_equal(sm.nhist, 3);	/* reading never prunes */

	assert_act(fail_to_threshold(), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_int_equal(sm.nhist, 3);	/* one pruned, one added */
	assert_true(sm.hist[0] == T0 + 10 * MIN);
	assert_true(sm.hist[1] == T0 + 20 * MIN);
	assert_true(sm.hist[2] == now);

	now = T0 + 3 * HOUR;
	assert_int_equal(yk_sm_recoveries_in_window(&sm, &p, now), 0);
}

static void
test_window_boundary_blocks(void **state)
{
	(void)state;
	p.max_recoveries = 1;
	to_healthy();
	recover_once();			/* at T0 */
	now = T0 + HOUR;		/* still inside */
	assert_act(fail_to_threshold(), YK_ACT_HOOK | YK_ACT_PERSIST);
}

static void
test_backoff_timer_rechecks_limit(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	assert_act(done(false), YK_ACT_PERSIST);
	assert_state(YK_BACKOFF);
	p.max_recoveries = 1;	/* a reload lowered the limit */
	now = sm.wake_at;
	assert_act(timer(), YK_ACT_HOOK | YK_ACT_PERSIST);
	assert_state(YK_UNRECOVERABLE);
	assert_int_equal(sm.wake_at, 0);
	assert_int_equal(sm.nhist, 1);
}

static void
test_max_recoveries_zero(void **state)
{
	(void)state;
	p.max_recoveries = 0;
	to_healthy();
	assert_act(fail_to_threshold(), YK_ACT_HOOK | YK_ACT_PERSIST);
	assert_state(YK_UNRECOVERABLE);
	assert_int_equal(sm.nhist, 0);
}

/* ---- on_failure = reboot ------------------------------------------------ */

static void
test_reboot_first(void **state)
{
	(void)state;
	p.on_failure = YK_ONFAIL_REBOOT;
	to_healthy();
	now += MIN;
	assert_act(fail_to_threshold(), YK_ACT_REBOOT | YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_true(sm.reboot_pending);
	assert_true(sm.start_until == now + 120 * SEC);
	assert_true(sm.wake_at == sm.start_until);
	assert_int_equal(sm.nhist, 1);
	assert_true(sm.hist[0] == now);
	assert_int_equal(sm.streak, 1);
	assert_int_equal(sm.consecutive_failures, 0);
	/* While it reboots, failures do not count. */
	now += 30 * SEC;
	assert_act(probe(false), 0);
	assert_state(YK_STARTING);
}

static void
test_reboot_then_healthy(void **state)
{
	(void)state;
	p.on_failure = YK_ONFAIL_REBOOT;
	to_healthy();
	fail_to_threshold();
	now += 40 * SEC;
	assert_act(probe(true), YK_ACT_PERSIST);
	assert_state(YK_HEALTHY);
	assert_false(sm.reboot_pending);
	assert_int_equal(sm.streak, 0);
	assert_int_equal(sm.wake_at, 0);
}

static void
test_reboot_deadline_recreates(void **state)
{
	int64_t deadline;

	(void)state;
	p.on_failure = YK_ONFAIL_REBOOT;
	to_healthy();
	fail_to_threshold();
	deadline = sm.wake_at;
	now = deadline - 1;
	assert_act(timer(), 0);
	assert_state(YK_STARTING);
	now = deadline;
	/* Second attempt of the streak: it waits one backoff, then recreates. */
	assert_act(timer(), YK_ACT_PERSIST);
	assert_state(YK_BACKOFF);
	assert_false(sm.reboot_pending);
	assert_true(sm.wake_at == deadline + 10 * SEC);
	assert_string_equal(sm.reason,
	    "not healthy within start period after reboot");
	now = sm.wake_at;
	assert_act(timer(), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_int_equal(sm.nhist, 2);
	assert_int_equal(sm.streak, 2);
	/* The re-created domain starts without a reboot deadline. */
	assert_act(done(true), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_int_equal(sm.wake_at, 0);
}

static void
test_reboot_did_not_help_threshold(void **state)
{
	(void)state;
	p.on_failure = YK_ONFAIL_REBOOT;
	p.successes = 2;
	to_starting();
	probe(true);
	probe(true);
	assert_state(YK_HEALTHY);
	assert_act(fail_to_threshold(), YK_ACT_REBOOT | YK_ACT_PERSIST);
	now += 20 * SEC;
	assert_act(probe(true), 0);	/* up, but not yet healthy */
	assert_state(YK_STARTING);
	probe(false);
	probe(false);
	assert_act(probe(false), YK_ACT_PERSIST);
	assert_state(YK_BACKOFF);
	assert_false(sm.reboot_pending);
	assert_true(sm.wake_at == now + 10 * SEC);
	assert_int_equal(sm.nhist, 1);
}

static void
test_reboot_deadline_while_failing(void **state)
{
	(void)state;
	p.on_failure = YK_ONFAIL_REBOOT;
	p.successes = 2;
	to_starting();
	probe(true);
	probe(true);
	fail_to_threshold();
	now += 20 * SEC;
	probe(true);
	assert_act(probe(false), 0);
	assert_state(YK_FAILING);
	assert_true(sm.wake_at == sm.start_until);	/* deadline kept */
	now = sm.wake_at;
	assert_act(timer(), YK_ACT_PERSIST);
	assert_state(YK_BACKOFF);
	assert_false(sm.reboot_pending);
}

static void
test_reboot_deadline_under_hold(void **state)
{
	(void)state;
	p.on_failure = YK_ONFAIL_REBOOT;
	to_healthy();
	fail_to_threshold();
	now = sm.wake_at;
	assert_act(timer_hold(), 0);
	assert_state(YK_STARTING);
	assert_int_equal(sm.wake_at, 0);
	assert_true(sm.reboot_pending);
	/* The probes decide once the hold is over; the reboot did not help. */
	probe(false);
	probe(false);
	assert_act(probe(false), YK_ACT_PERSIST);
	assert_state(YK_BACKOFF);
	assert_false(sm.reboot_pending);
}

static void
test_reboot_respects_limit(void **state)
{
	(void)state;
	p.on_failure = YK_ONFAIL_REBOOT;
	p.max_recoveries = 1;
	to_healthy();
	fail_to_threshold();
	probe(true);
	assert_state(YK_HEALTHY);
	assert_act(fail_to_threshold(), YK_ACT_HOOK | YK_ACT_PERSIST);
	assert_state(YK_UNRECOVERABLE);
	assert_false(sm.reboot_pending);
	assert_int_equal(sm.nhist, 1);
}

static void
test_reboot_guest_restart_keeps_deadline(void **state)
{
	(void)state;
	p.on_failure = YK_ONFAIL_REBOOT;
	to_healthy();
	sm.created_by_us = true;
	fail_to_threshold();
	/* The guest obeys; yaokid is its toolstack and restarts it. */
	assert_act(shutdown_ev(YK_SD_REBOOT), YK_ACT_RECOVER);
	assert_state(YK_RECOVERING);
	assert_true(sm.reboot_pending);
	now += 10 * SEC;
	assert_act(done(true), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_true(sm.wake_at == now + 120 * SEC);
}

/* ---- crashes and guest shutdowns ---------------------------------------- */

static void
test_crash_recreates(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_ev(YK_SD_CRASH), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_string_equal(sm.reason, "crashed");
	assert_int_equal(sm.nhist, 1);
	assert_int_equal(sm.streak, 1);
}

static void
test_watchdog_recreates(void **state)
{
	(void)state;
	to_starting();
	assert_act(shutdown_ev(YK_SD_WATCHDOG),
	    YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_string_equal(sm.reason, "watchdog expired");
}

static void
test_crash_during_streak_backs_off(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	done(true);
	assert_act(shutdown_ev(YK_SD_CRASH), YK_ACT_PERSIST);
	assert_state(YK_BACKOFF);
	assert_true(sm.wake_at == now + 10 * SEC);
	/* A crash reported again while waiting changes nothing. */
	now += 5 * SEC;
	assert_act(shutdown_ev(YK_SD_CRASH), 0);
	assert_true(sm.wake_at == now + 5 * SEC);
}

static void
test_crash_on_crash_none(void **state)
{
	(void)state;
	p.on_crash = YK_ONCRASH_NONE;
	to_healthy();
	assert_act(shutdown_ev(YK_SD_CRASH), 0);
	assert_state(YK_ABSENT);
	assert_string_equal(sm.reason, "crashed; on_crash is none");
	assert_int_equal(sm.nhist, 0);
	assert_act(shutdown_ev(YK_SD_WATCHDOG), 0);
	assert_state(YK_ABSENT);
}

static void
test_crash_ignored_states(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	assert_act(shutdown_ev(YK_SD_CRASH), 0);	/* recovering */
	assert_state(YK_RECOVERING);
	assert_act(ev(YK_EV_CMD_PAUSE), YK_ACT_PERSIST);
	assert_act(shutdown_ev(YK_SD_CRASH), 0);	/* maintenance */
	assert_state(YK_PAUSED);
	assert_int_equal(sm.nhist, 1);
}

static void
test_guest_reboot_ours_restarts(void **state)
{
	(void)state;
	to_healthy();
	recover_once();
	assert_true(sm.created_by_us);
	assert_act(shutdown_ev(YK_SD_REBOOT), YK_ACT_RECOVER);
	assert_state(YK_RECOVERING);
	assert_string_equal(sm.reason, "guest rebooted");
	assert_int_equal(sm.nhist, 1);	/* not counted */
	assert_int_equal(sm.streak, 0);
	assert_int_equal(sm.wake_at, 0);
	assert_act(done(true), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
}

static void
test_guest_reboot_restart_fails(void **state)
{
	(void)state;
	to_healthy();
	sm.created_by_us = true;
	shutdown_ev(YK_SD_REBOOT);
	/* First real attempt of a streak: no wait, counted. */
	assert_act(done(false), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_string_equal(sm.reason, "create failed");
	assert_int_equal(sm.nhist, 1);
	assert_int_equal(sm.streak, 1);
}

/* Not created by yaokid, and no xl monitor either: yaokid restarts it. */
static void
test_guest_reboot_unmonitored_not_ours(void **state)
{
	(void)state;
	to_healthy();
	assert_false(sm.created_by_us);
	assert_act(shutdown_by(YK_SD_REBOOT, false, HV_ACTION_RESTART),
	    YK_ACT_RECOVER);
	assert_state(YK_RECOVERING);
	assert_string_equal(sm.reason, "guest rebooted");
	assert_int_equal(sm.nhist, 0);
}

static void
test_guest_reboot_monitored(void **state)
{
	(void)state;
	to_healthy();
	now += 10 * MIN;
	assert_act(shutdown_by(YK_SD_REBOOT, true, HV_ACTION_RESTART), 0);
	assert_state(YK_STARTING);
	assert_true(sm.start_until == now + 120 * SEC);
	assert_int_equal(sm.wake_at, 0);
	assert_act(probe(false), 0);	/* rebooting: does not count */
	assert_int_equal(sm.consecutive_failures, 0);
}

/* ---- crashes and the domain's own action (on_crash, xl monitor) -------- */

static void
test_crash_preserve_unrecoverable(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_by(YK_SD_CRASH, false, HV_ACTION_PRESERVE),
	    YK_ACT_HOOK | YK_ACT_PERSIST);
	assert_state(YK_UNRECOVERABLE);
	assert_string_equal(sm.reason,
	    "crashed; on_crash=preserve keeps it for debugging");
	assert_int_equal(sm.nhist, 0);
	assert_int_equal(sm.wake_at, 0);
	/* Nothing more happens to it, and the hook ran only once. */
	assert_act(shutdown_by(YK_SD_CRASH, false, HV_ACTION_PRESERVE), 0);
	assert_act(ev(YK_EV_MONITOR_GONE), 0);
	assert_act(timer(), 0);
	assert_state(YK_UNRECOVERABLE);
	/* The operator hands it back. */
	assert_act(ev(YK_EV_CMD_RESET), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
}

static void
test_crash_preserve_monitored(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_by(YK_SD_CRASH, true, HV_ACTION_PRESERVE),
	    YK_ACT_HOOK | YK_ACT_PERSIST);
	assert_state(YK_UNRECOVERABLE);
	assert_int_equal(sm.xen_op, YK_XOP_NONE);
	assert_act(ev(YK_EV_CMD_RESUME), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
}

static void
test_watchdog_preserve_reason(void **state)
{
	(void)state;
	to_healthy();
	p.on_crash = YK_ONCRASH_NONE;	/* preserve still wins */
	assert_act(shutdown_by(YK_SD_WATCHDOG, false, HV_ACTION_PRESERVE),
	    YK_ACT_HOOK | YK_ACT_PERSIST);
	assert_string_equal(sm.reason,
	    "watchdog expired; on_watchdog=preserve keeps it for debugging");
}

static void
test_crash_monitor_restart_adopts(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_by(YK_SD_CRASH, true, HV_ACTION_RESTART), 0);
	assert_state(YK_PAUSED);
	assert_int_equal(sm.xen_op, YK_XOP_MONITOR);
	assert_string_equal(sm.reason,
	    "crashed; its xl monitor restarts it (on_crash=restart)");
	assert_true(sm.wake_at == now + 120 * SEC);
	assert_int_equal(sm.nhist, 0);
	assert_act(probe(false), 0);		/* not probed */
	/* The monitor destroys it on its way back: still waiting. */
	now += 2 * SEC;
	assert_act(gone(false), 0);
	assert_state(YK_PAUSED);
	assert_act(timer(), 0);			/* not yet */
	/* The new incarnation: a new start, not yaokid's. */
	now += 5 * SEC;
	assert_act(up_started(now - SEC, false), 0);
	assert_state(YK_STARTING);
	assert_int_equal(sm.xen_op, YK_XOP_NONE);
	assert_false(sm.created_by_us);
	assert_true(sm.start_until == now - SEC + 120 * SEC);
	assert_int_equal(sm.nhist, 0);
	assert_int_equal(sm.wake_at, 0);
}

static void
test_crash_monitor_restart_monitor_dies(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_by(YK_SD_CRASH, true, HV_ACTION_RESTART), 0);
	now += 3 * SEC;
	assert_act(ev(YK_EV_MONITOR_GONE), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_string_equal(sm.reason, "crashed; its xl monitor is gone");
	assert_int_equal(sm.xen_op, YK_XOP_NONE);
	assert_int_equal(sm.nhist, 1);
	assert_act(done(true), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_true(sm.created_by_us);
}

static void
test_crash_monitor_restart_bound(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_by(YK_SD_CRASH, true, HV_ACTION_RENAME_RESTART), 0);
	assert_string_equal(sm.reason,
	    "crashed; its xl monitor restarts it (on_crash=rename-restart)");
	assert_act(gone(false), 0);
	now += 120 * SEC - 1;
	assert_act(timer(), 0);
	assert_state(YK_PAUSED);
	now += 1;
	assert_act(timer(), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_string_equal(sm.reason,
	    "crashed; its xl monitor did not bring it back in time");
}

static void
test_crash_monitor_coredump_bound(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_by(YK_SD_CRASH, true, HV_ACTION_COREDUMP_RESTART),
	    0);
	assert_string_equal(sm.reason, "crashed; its xl monitor restarts it "
	    "(on_crash=coredump-restart)");
	/* The dump may take long: the bound includes it. */
	assert_true(sm.wake_at == now + 720 * SEC);
	now += 300 * SEC;
	assert_act(timer(), 0);
	assert_state(YK_PAUSED);
	now += 420 * SEC;
	assert_act(timer(), YK_ACT_RECOVER | YK_ACT_PERSIST);
}

static void
test_crash_monitor_destroy_then_recreate(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_by(YK_SD_CRASH, true, HV_ACTION_COREDUMP_DESTROY),
	    0);
	assert_state(YK_PAUSED);
	assert_string_equal(sm.reason, "crashed; its xl monitor destroys it "
	    "(on_crash=coredump-destroy), then yaokid re-creates it");
	assert_true(sm.wake_at == now + 720 * SEC);
	now += 200 * SEC;			/* a long dump */
	assert_act(timer(), 0);
	assert_act(gone(false), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_string_equal(sm.reason, "crashed");
	assert_int_equal(sm.xen_op, YK_XOP_NONE);
	assert_int_equal(sm.nhist, 1);
}

static void
test_crash_monitor_destroy_bound(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_by(YK_SD_CRASH, true, HV_ACTION_DESTROY), 0);
	assert_true(sm.wake_at == now + 120 * SEC);
	now += 120 * SEC;
	assert_act(timer(), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_string_equal(sm.reason,
	    "crashed; its xl monitor did not destroy it in time");
}

static void
test_crash_monitor_destroy_on_crash_none(void **state)
{
	(void)state;
	to_healthy();
	p.on_crash = YK_ONCRASH_NONE;
	assert_act(shutdown_by(YK_SD_CRASH, true, HV_ACTION_DESTROY), 0);
	assert_state(YK_ABSENT);
	assert_string_equal(sm.reason, "crashed; on_crash is none");
	assert_act(gone(false), 0);
	assert_state(YK_ABSENT);
}

static void
test_crash_unmonitored_recovers_at_once(void **state)
{
	static const enum hv_action acts[] = { HV_ACTION_UNKNOWN,
	    HV_ACTION_DESTROY, HV_ACTION_RESTART, HV_ACTION_COREDUMP_DESTROY,
	    HV_ACTION_COREDUMP_RESTART, HV_ACTION_RENAME_RESTART };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		setup(NULL);
		to_healthy();
		assert_act(shutdown_by(YK_SD_CRASH, false, acts[i]),
		    YK_ACT_RECOVER | YK_ACT_PERSIST);
		assert_state(YK_RECOVERING);
		assert_string_equal(sm.reason, "crashed");
		assert_int_equal(sm.xen_op, YK_XOP_NONE);
	}
}

static void
test_crash_monitor_unknown_action_waits(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_by(YK_SD_CRASH, true, HV_ACTION_UNKNOWN), 0);
	assert_state(YK_PAUSED);
	assert_string_equal(sm.reason,
	    "crashed; its xl monitor handles it (on_crash unknown)");
	assert_true(sm.monitor_restarts);
	assert_act(gone(false), 0);		/* maybe on its way back */
	assert_state(YK_PAUSED);
}

static void
test_watchdog_monitor_reason(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_by(YK_SD_WATCHDOG, true, HV_ACTION_RESTART), 0);
	assert_string_equal(sm.reason, "watchdog expired; its xl monitor "
	    "restarts it (on_watchdog=restart)");
	assert_act(ev(YK_EV_MONITOR_GONE), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_string_equal(sm.reason,
	    "watchdog expired; its xl monitor is gone");
}

static void
test_crash_monitor_wait_reset(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_by(YK_SD_CRASH, true, HV_ACTION_RESTART), 0);
	assert_act(ev(YK_EV_CMD_RESET), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_int_equal(sm.xen_op, YK_XOP_NONE);
	assert_int_equal(sm.wake_at, 0);
}

static void
test_crash_monitor_wait_maintenance(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_by(YK_SD_CRASH, true, HV_ACTION_RESTART), 0);
	assert_act(ev(YK_EV_CMD_PAUSE), YK_ACT_PERSIST);
	assert_state(YK_PAUSED);
	assert_act(ev(YK_EV_MONITOR_GONE), 0);	/* maintenance wins */
	assert_act(gone(false), 0);
	assert_state(YK_PAUSED);
	assert_act(ev(YK_EV_CMD_RESUME), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_int_equal(sm.xen_op, YK_XOP_NONE);
}

static void
test_monitor_gone_ignored_elsewhere(void **state)
{
	(void)state;
	to_healthy();
	assert_act(ev(YK_EV_MONITOR_GONE), 0);
	assert_state(YK_HEALTHY);
	assert_act(xen_op(YK_XOP_SAVING), 0);
	assert_act(ev(YK_EV_MONITOR_GONE), 0);
	assert_state(YK_PAUSED);
	assert_string_equal(sm.reason, "being saved");
}

static void
test_poweroff_ours_destroys(void **state)
{
	(void)state;
	to_healthy();
	sm.created_by_us = true;
	assert_act(shutdown_ev(YK_SD_POWEROFF),
	    YK_ACT_DESTROY | YK_ACT_PERSIST);
	assert_state(YK_ABSENT);
	assert_false(sm.created_by_us);
	assert_string_equal(sm.reason, "guest powered off");
	assert_int_equal(sm.nhist, 0);
	assert_act(probe(false), 0);	/* not probed */
}

static void
test_poweroff_not_ours(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_ev(YK_SD_POWEROFF), 0);
	assert_state(YK_ABSENT);
	assert_string_equal(sm.reason, "guest powered off");
	/* Its toolstack reaps it later: the first reason stays. */
	assert_act(ev(YK_EV_DOMAIN_GONE), 0);
	assert_state(YK_ABSENT);
	assert_string_equal(sm.reason, "guest powered off");
}

static void
test_shutdown_other_reasons_ignored(void **state)
{
	(void)state;
	to_healthy();
	assert_act(shutdown_ev(YK_SD_SOFT_RESET), 0);
	assert_act(shutdown_ev(YK_SD_UNKNOWN), 0);
	assert_state(YK_HEALTHY);
}

/* ---- vanished, paused --------------------------------------------------- */

static void
test_gone_makes_absent(void **state)
{
	(void)state;
	to_healthy();
	recover_once();
	assert_true(sm.created_by_us);
	assert_act(ev(YK_EV_DOMAIN_GONE), YK_ACT_PERSIST);
	assert_state(YK_ABSENT);
	assert_false(sm.created_by_us);
	assert_string_equal(sm.reason, "destroyed outside yaokid");
	assert_int_equal(sm.wake_at, 0);
	/* It comes back (an operator created it): starting, not ours. */
	assert_act(ev(YK_EV_DOMAIN_UP), 0);
	assert_state(YK_STARTING);
}

static void
test_gone_from_starting_and_failing(void **state)
{
	(void)state;
	p.on_failure = YK_ONFAIL_REBOOT;
	to_healthy();
	fail_to_threshold();		/* starting, reboot pending */
	assert_act(ev(YK_EV_DOMAIN_GONE), 0);
	assert_state(YK_ABSENT);
	assert_false(sm.reboot_pending);
	assert_int_equal(sm.wake_at, 0);

	setup(NULL);
	to_healthy();
	probe(false);
	assert_act(ev(YK_EV_DOMAIN_GONE), 0);
	assert_state(YK_ABSENT);
}

static void
test_gone_ignored_states(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	assert_act(ev(YK_EV_DOMAIN_GONE), 0);		/* our own destroy */
	assert_state(YK_RECOVERING);
	done(false);
	assert_state(YK_BACKOFF);
	assert_act(gone(true), 0);		/* destroyed by yaokid: owed */
	assert_state(YK_BACKOFF);
	assert_true(sm.wake_at != 0);

	ev(YK_EV_CMD_PAUSE);
	sm.xen_paused = true;
	assert_act(ev(YK_EV_DOMAIN_GONE), 0);
	assert_state(YK_PAUSED);
	assert_true(sm.maintenance);
	assert_false(sm.xen_paused);
}

static void
test_gone_while_xen_paused(void **state)
{
	(void)state;
	to_healthy();
	ev(YK_EV_DOMAIN_PAUSED);
	assert_act(ev(YK_EV_DOMAIN_GONE), 0);
	assert_state(YK_ABSENT);
	assert_false(sm.xen_paused);
}

static void
test_xen_pause_and_unpause(void **state)
{
	(void)state;
	to_healthy();
	probe(false);
	assert_act(ev(YK_EV_DOMAIN_PAUSED), 0);
	assert_state(YK_PAUSED);
	assert_true(sm.xen_paused);
	assert_false(sm.maintenance);
	assert_act(probe(false), 0);
	assert_act(probe(false), 0);
	assert_act(probe(false), 0);
	assert_state(YK_PAUSED);
	now += 10 * MIN;
	assert_act(ev(YK_EV_DOMAIN_UP), 0);
	assert_state(YK_STARTING);
	assert_false(sm.xen_paused);
	assert_true(sm.start_until == now + 120 * SEC);
	assert_int_equal(sm.consecutive_failures, 0);
}

static void
test_xen_pause_abandons_backoff(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	done(false);
	assert_state(YK_BACKOFF);
	assert_act(ev(YK_EV_DOMAIN_PAUSED), 0);
	assert_state(YK_PAUSED);
	assert_int_equal(sm.wake_at, 0);
	assert_int_equal(sm.streak, 1);
	assert_act(timer(), 0);
}

static void
test_xen_pause_ignored_while_recovering(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	assert_act(ev(YK_EV_DOMAIN_PAUSED), 0);
	assert_state(YK_RECOVERING);
	assert_true(sm.xen_paused);
	/* The fresh domain is not paused. */
	assert_act(done(true), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_false(sm.xen_paused);
}

static void
test_xen_pause_keeps_reboot_deadline_for_later(void **state)
{
	(void)state;
	p.on_failure = YK_ONFAIL_REBOOT;
	to_healthy();
	fail_to_threshold();
	ev(YK_EV_DOMAIN_PAUSED);
	assert_int_equal(sm.wake_at, 0);
	assert_true(sm.reboot_pending);
	now += 10 * MIN;
	ev(YK_EV_DOMAIN_UP);
	assert_state(YK_STARTING);
	assert_true(sm.wake_at == now + 120 * SEC);
}

/* ---- operator commands -------------------------------------------------- */

static void
test_cmd_pause_resume(void **state)
{
	(void)state;
	to_healthy();
	assert_act(ev(YK_EV_CMD_PAUSE), YK_ACT_PERSIST);
	assert_state(YK_PAUSED);
	assert_true(sm.maintenance);
	assert_act(probe(false), 0);
	assert_act(shutdown_ev(YK_SD_POWEROFF), 0);
	assert_act(ev(YK_EV_DOMAIN_UP), 0);	/* maintenance wins */
	assert_state(YK_PAUSED);
	now += HOUR;
	assert_act(ev(YK_EV_CMD_RESUME), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_false(sm.maintenance);
	assert_true(sm.start_until == now + 120 * SEC);
}

static void
test_cmd_pause_clears_timers(void **state)
{
	(void)state;
	p.on_failure = YK_ONFAIL_REBOOT;
	to_healthy();
	fail_to_threshold();
	assert_true(sm.wake_at != 0);
	assert_act(ev(YK_EV_CMD_PAUSE), YK_ACT_PERSIST);
	assert_int_equal(sm.wake_at, 0);
	assert_false(sm.reboot_pending);
	assert_act(ev(YK_EV_CMD_RESUME), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_int_equal(sm.wake_at, 0);	/* no reboot deadline */

	setup(NULL);
	to_healthy();
	fail_to_threshold();
	done(false);
	assert_state(YK_BACKOFF);
	assert_act(ev(YK_EV_CMD_PAUSE), YK_ACT_PERSIST);
	assert_state(YK_PAUSED);
	assert_int_equal(sm.wake_at, 0);
}

static void
test_cmd_pause_during_recovery(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	assert_act(ev(YK_EV_CMD_PAUSE), YK_ACT_PERSIST);
	assert_state(YK_PAUSED);
	assert_act(done(true), YK_ACT_PERSIST);
	assert_state(YK_PAUSED);
	assert_true(sm.created_by_us);

	setup(NULL);
	to_healthy();
	fail_to_threshold();
	ev(YK_EV_CMD_PAUSE);
	assert_act(done(false), 0);
	assert_state(YK_PAUSED);
	assert_int_equal(sm.wake_at, 0);
	assert_int_equal(sm.nhist, 1);
}

static void
test_cmd_resume_while_xen_paused(void **state)
{
	(void)state;
	to_healthy();
	ev(YK_EV_DOMAIN_PAUSED);
	ev(YK_EV_CMD_PAUSE);
	assert_act(ev(YK_EV_CMD_RESUME), YK_ACT_PERSIST);
	assert_state(YK_PAUSED);
	assert_false(sm.maintenance);
	assert_act(ev(YK_EV_DOMAIN_UP), 0);
	assert_state(YK_STARTING);
}

static void
test_cmd_resume_leaves_unrecoverable(void **state)
{
	(void)state;
	p.max_recoveries = 1;
	to_healthy();
	recover_once();
	fail_to_threshold();
	assert_state(YK_UNRECOVERABLE);
	now += MIN;
	assert_act(ev(YK_EV_CMD_RESUME), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_int_equal(sm.nhist, 1);		/* history kept */
	assert_true(sm.start_until == now + 120 * SEC);
	/* Failing again inside the window: unrecoverable again, hook again. */
	now += 120 * SEC;
	assert_act(fail_to_threshold(), YK_ACT_HOOK | YK_ACT_PERSIST);
}

static void
test_cmd_resume_other_states(void **state)
{
	(void)state;
	to_healthy();
	assert_act(ev(YK_EV_CMD_RESUME), 0);
	assert_state(YK_HEALTHY);
	fail_to_threshold();
	assert_act(ev(YK_EV_CMD_RESUME), 0);
	assert_state(YK_RECOVERING);
}

static void
test_cmd_reset_unrecoverable(void **state)
{
	(void)state;
	p.max_recoveries = 1;
	to_healthy();
	recover_once();
	fail_to_threshold();
	assert_state(YK_UNRECOVERABLE);
	now += MIN;
	assert_act(ev(YK_EV_CMD_RESET), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_int_equal(sm.nhist, 0);
	assert_int_equal(sm.streak, 0);
	assert_true(sm.start_until == now + 120 * SEC);
	/* A clean slate: the next failure recovers at once. */
	now += 120 * SEC;
	assert_act(fail_to_threshold(), YK_ACT_RECOVER | YK_ACT_PERSIST);
}

static void
test_cmd_reset_backoff_and_healthy(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	done(false);
	assert_state(YK_BACKOFF);
	assert_act(ev(YK_EV_CMD_RESET), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_int_equal(sm.streak, 0);
	assert_int_equal(sm.nhist, 0);
	assert_int_equal(sm.wake_at, 0);

	setup(NULL);
	to_healthy();
	recover_once();
	assert_act(ev(YK_EV_CMD_RESET), YK_ACT_PERSIST);
	assert_state(YK_HEALTHY);
	assert_int_equal(sm.nhist, 0);
}

static void
test_cmd_recover(void **state)
{
	(void)state;
	to_healthy();
	assert_act(ev(YK_EV_CMD_RECOVER), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_int_equal(sm.nhist, 1);
	assert_int_equal(sm.streak, 1);
	assert_string_equal(sm.reason, "recovery requested by operator");
	assert_act(ev(YK_EV_CMD_RECOVER), 0);	/* already in progress */
	assert_int_equal(sm.nhist, 1);
	assert_int_equal(sm.streak, 1);
}

static void
test_cmd_recover_skips_backoff(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	done(false);
	assert_state(YK_BACKOFF);
	assert_act(ev(YK_EV_CMD_RECOVER), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_int_equal(sm.streak, 2);
	assert_int_equal(sm.nhist, 2);
	assert_int_equal(sm.wake_at, 0);
}

static void
test_cmd_recover_ignores_limit(void **state)
{
	(void)state;
	p.max_recoveries = 1;
	to_healthy();
	recover_once();
	fail_to_threshold();
	assert_state(YK_UNRECOVERABLE);
	assert_act(ev(YK_EV_CMD_RECOVER), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_int_equal(sm.nhist, 2);
}

static void
test_cmd_recover_ends_maintenance(void **state)
{
	(void)state;
	to_healthy();
	ev(YK_EV_CMD_PAUSE);
	assert_act(ev(YK_EV_CMD_RECOVER), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_false(sm.maintenance);
	assert_act(done(true), YK_ACT_PERSIST);
	assert_state(YK_STARTING);	/* not held in paused */
}

static void
test_cmd_recover_drops_reboot(void **state)
{
	(void)state;
	p.on_failure = YK_ONFAIL_REBOOT;
	to_healthy();
	fail_to_threshold();
	assert_true(sm.reboot_pending);
	assert_act(ev(YK_EV_CMD_RECOVER), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_false(sm.reboot_pending);
	assert_int_equal(sm.wake_at, 0);
	assert_int_equal(sm.streak, 2);
	assert_act(done(true), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_int_equal(sm.wake_at, 0);	/* no reboot deadline */
}

static void
test_cmd_recover_fills_history(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < YK_SM_HIST_MAX + 10; i++) {
		now += SEC;
		assert_act(ev(YK_EV_CMD_RECOVER),
		    YK_ACT_RECOVER | YK_ACT_PERSIST);
		assert_act(done(true), YK_ACT_PERSIST);
	}
	assert_int_equal(sm.nhist, YK_SM_HIST_MAX);
	assert_int_equal(sm.hist_cap, YK_SM_HIST_MAX);
	assert_true(sm.hist[YK_SM_HIST_MAX - 1] == now);	/* newest last */
	assert_true(sm.hist[0] == now - (YK_SM_HIST_MAX - 1) * SEC);
}

/* No recovery, no history memory; it grows with the recoveries recorded. */
static void
test_history_grows_on_demand(void **state)
{
	int i;

	(void)state;
	assert_int_equal(sm.hist_cap, 0);
	assert_null(sm.hist);
	for (i = 0; i < 5; i++) {
		now += SEC;
		assert_act(ev(YK_EV_CMD_RECOVER),
		    YK_ACT_RECOVER | YK_ACT_PERSIST);
		assert_act(done(true), YK_ACT_PERSIST);
		assert_int_equal(sm.hist_cap, i < 4 ? 4 : 8);
	}
	assert_int_equal(sm.nhist, 5);
	assert_true(sm.hist[0] == now - 4 * SEC);
	assert_true(sm.hist[4] == now);
	assert_true(yk_sm_hist_reserve(&sm, 1000));
	assert_int_equal(sm.hist_cap, YK_SM_HIST_MAX);	/* capped */
	yk_sm_free(&sm);
	assert_null(sm.hist);
	assert_int_equal(sm.nhist, 0);
	assert_state(YK_ABSENT);
}

/* ---- events with no effect ---------------------------------------------- */

static void
test_probes_ignored_when_not_probing(void **state)
{
	(void)state;
	/* absent */
	assert_act(probe(false), 0);
	assert_act(probe(true), 0);
	assert_state(YK_ABSENT);
	assert_int_equal(sm.consecutive_failures, 0);
	assert_int_equal(sm.consecutive_successes, 0);
	/* recovering */
	to_healthy();
	fail_to_threshold();
	assert_act(probe(true), 0);
	assert_act(probe(false), 0);
	assert_state(YK_RECOVERING);
	assert_int_equal(sm.consecutive_failures, 3);
	/* backoff */
	done(false);
	assert_act(probe(true), 0);
	assert_state(YK_BACKOFF);
	assert_int_equal(sm.consecutive_successes, 0);
	/* paused */
	ev(YK_EV_CMD_PAUSE);
	assert_act(probe(true), 0);
	assert_state(YK_PAUSED);
	assert_int_equal(sm.consecutive_successes, 0);
}

static void
test_recovery_done_ignored_elsewhere(void **state)
{
	(void)state;
	assert_act(done(true), 0);
	assert_state(YK_ABSENT);
	assert_false(sm.created_by_us);
	to_healthy();
	assert_act(done(true), 0);
	assert_act(done(false), 0);
	assert_state(YK_HEALTHY);
	assert_false(sm.created_by_us);
	ev(YK_EV_DOMAIN_PAUSED);
	assert_act(done(true), 0);		/* xen pause, no maintenance */
	assert_state(YK_PAUSED);
}

static void
test_timer_without_deadline(void **state)
{
	(void)state;
	assert_act(timer(), 0);
	to_healthy();
	now += 10 * HOUR;
	assert_act(timer(), 0);
	assert_state(YK_HEALTHY);
	assert_int_equal(sm.wake_at, 0);
}

static void
test_stale_deadline_is_cleared(void **state)
{
	(void)state;
	to_healthy();
	sm.wake_at = now;	/* should not happen; must not fire forever */
	assert_act(timer(), 0);
	assert_state(YK_HEALTHY);
	assert_int_equal(sm.wake_at, 0);
}

/* ---- Xen's own operations, adoption, identity (issue "Do no harm") ------ */

/* Into backoff: fail, recovery, create fails. */
static void
to_backoff(void)
{
	to_healthy();
	fail_to_threshold();
	assert_state(YK_RECOVERING);
	done(false);
	assert_state(YK_BACKOFF);
}

/*
 * The real-Xen race: xl migrate began as yaokid destroyed the domain; the
 * receiver's NAME--incoming appeared, then failed without its sender.
 * yaokid destroyed the domain, so it still owes the create.
 */
static void
test_incoming_that_fails_after_our_destroy_is_created(void **state)
{
	(void)state;
	to_backoff();
	assert_act(xen_op(YK_XOP_MIGRATING_IN), YK_ACT_CANCEL | YK_ACT_PERSIST);
	assert_state(YK_PAUSED);
	assert_string_equal(sm.reason, "migrating in");
	assert_act(gone(true), YK_ACT_PERSIST);
	assert_state(YK_BACKOFF);
	assert_string_equal(sm.reason,
	    "Xen's operation ended without the domain yaokid had destroyed");
	assert_int_equal(sm.xen_op, YK_XOP_NONE);
	assert_true(sm.wake_at > now);
	/* The backoff ends in a new attempt, as for any owed create. */
	now = sm.wake_at;
	assert_act(timer(), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
}

/* The same with nothing owed (nobody destroyed it): the incoming's end. */
static void
test_incoming_that_fails_with_nothing_owed_is_absent(void **state)
{
	(void)state;
	to_healthy();
	assert_act(ev(YK_EV_DOMAIN_GONE), 0);
	assert_state(YK_ABSENT);
	assert_act(xen_op(YK_XOP_MIGRATING_IN), 0);
	assert_act(gone(false), YK_ACT_PERSIST);
	assert_state(YK_ABSENT);
	assert_string_equal(sm.reason, "incoming migration did not complete");
}

static void
test_migration_away_cancels_backoff_and_ends_absent(void **state)
{
	(void)state;
	to_backoff();
	assert_act(xen_op(YK_XOP_MIGRATING_OUT), YK_ACT_CANCEL | YK_ACT_PERSIST);
	assert_state(YK_PAUSED);
	assert_string_equal(sm.reason, "migrating away");
	assert_int_equal(sm.wake_at, 0);
	assert_false(yk_sm_probing(&sm));
	/* The last second of the migration suspends it: still migrating. */
	assert_act(shutdown_ev(YK_SD_SUSPEND), 0);
	assert_int_equal(sm.xen_op, YK_XOP_MIGRATING_OUT);
	/* It now runs elsewhere: nothing is owed, even with an intent. */
	assert_act(gone(true), YK_ACT_PERSIST);
	assert_state(YK_ABSENT);
	assert_string_equal(sm.reason, "migrated away");
	assert_int_equal(sm.streak, 0);
	assert_false(sm.created_by_us);
	assert_int_equal(sm.xen_op, YK_XOP_NONE);
}

static void
test_migration_while_recovering_cancels_it(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	assert_state(YK_RECOVERING);
	assert_act(xen_op(YK_XOP_MIGRATING_OUT), YK_ACT_CANCEL | YK_ACT_PERSIST);
	assert_state(YK_PAUSED);
	/* A late outcome of the cancelled recovery changes nothing. */
	assert_act(done(true), 0);
	assert_state(YK_PAUSED);
}

static void
test_migration_from_failing_stops_counting(void **state)
{
	(void)state;
	to_healthy();
	probe(false);
	probe(false);
	assert_act(xen_op(YK_XOP_MIGRATING_OUT), 0);
	assert_state(YK_PAUSED);
	assert_int_equal(sm.consecutive_failures, 0);
	/* Probes in flight when it started count for nothing. */
	assert_act(probe(false), 0);
	assert_act(probe(false), 0);
	assert_state(YK_PAUSED);
}

/*
 * xl rolled a migration back (Debian 12's Xen cannot live-migrate a PV
 * guest): the same incarnation stayed. No start period: its probes judge
 * it at once, so a domain that was failing is recovered after the usual
 * threshold, not after start_period.
 */
static void
test_migration_that_did_not_happen_resumes_without_start_period(void **state)
{
	struct yk_sm_event stayed = { .kind = YK_EV_DOMAIN_UP, .stayed = true };
	unsigned i;

	(void)state;
	to_healthy();
	probe(false);
	assert_act(xen_op(YK_XOP_MIGRATING_OUT), 0);
	assert_state(YK_PAUSED);
	assert_act(yk_sm_step(&sm, &p, &stayed, now), YK_ACT_PERSIST);
	assert_state(YK_HEALTHY);
	assert_string_equal(sm.reason,
	    "the migration did not happen; the domain stayed");
	assert_int_equal(sm.xen_op, YK_XOP_NONE);
	for (i = 0; i + 1 < p.failures; i++)
		probe(false);
	assert_state(YK_FAILING);
	assert_act(probe(false), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
}

/* A new incarnation after the same operation (it came back) is a start. */
static void
test_migration_that_came_back_as_another_incarnation_starts(void **state)
{
	(void)state;
	to_healthy();
	assert_act(xen_op(YK_XOP_MIGRATING_OUT), 0);
	up_started(now, false);
	assert_state(YK_STARTING);
}

static void
test_save_suspend_holds_and_ends_absent(void **state)
{
	(void)state;
	to_healthy();
	probe(false);
	probe(false);
	assert_act(shutdown_ev(YK_SD_SUSPEND), 0);
	assert_state(YK_PAUSED);
	assert_string_equal(sm.reason, "being saved");
	/* The failure threshold is never reached while it is saved. */
	assert_act(probe(false), 0);
	assert_act(probe(false), 0);
	assert_state(YK_PAUSED);
	assert_act(gone(false), YK_ACT_PERSIST);
	assert_state(YK_ABSENT);
	assert_string_equal(sm.reason, "saved (xl save)");
}

static void
test_restore_is_a_new_start_not_ours(void **state)
{
	(void)state;
	to_healthy();
	recover_once();
	assert_true(sm.created_by_us);
	shutdown_ev(YK_SD_SUSPEND);
	gone(false);
	assert_state(YK_ABSENT);
	/* xl restore: created paused, then unpaused. */
	assert_act(xen_op(YK_XOP_RESTORING), 0);
	assert_state(YK_PAUSED);
	assert_string_equal(sm.reason, "being restored");
	now += 5 * SEC;
	assert_act(up_started(now - 2 * SEC, false), 0);
	assert_state(YK_STARTING);
	assert_false(sm.created_by_us);
	assert_int_equal(sm.start_until, now - 2 * SEC + p.start_period_ms);
}

static void
test_incoming_migration_becomes_starting(void **state)
{
	(void)state;
	assert_act(xen_op(YK_XOP_MIGRATING_IN), 0);
	assert_state(YK_PAUSED);
	assert_string_equal(sm.reason, "migrating in");
	assert_act(up_started(now, false), 0);
	assert_state(YK_STARTING);
	assert_int_equal(sm.xen_op, YK_XOP_NONE);
}

static void
test_incoming_migration_that_fails_is_absent(void **state)
{
	(void)state;
	xen_op(YK_XOP_MIGRATING_IN);
	assert_act(gone(false), YK_ACT_PERSIST);
	assert_state(YK_ABSENT);
	assert_string_equal(sm.reason, "incoming migration did not complete");
}

static void
test_xen_op_respects_maintenance_and_unrecoverable(void **state)
{
	(void)state;
	to_healthy();
	ev(YK_EV_CMD_PAUSE);
	assert_act(xen_op(YK_XOP_MIGRATING_OUT), 0);
	assert_state(YK_PAUSED);
	assert_true(sm.maintenance);
	assert_act(gone(false), 0);
	assert_state(YK_PAUSED);
	assert_int_equal(sm.xen_op, YK_XOP_NONE);

	setup(NULL);
	to_healthy();
	assert_act(with_why(YK_EV_GAVE_UP, "nothing to create it from"),
	    YK_ACT_HOOK | YK_ACT_PERSIST);
	assert_act(xen_op(YK_XOP_MIGRATING_OUT), 0);
	assert_state(YK_UNRECOVERABLE);
	assert_act(gone(false), 0);
	assert_state(YK_UNRECOVERABLE);
}

static void
test_resume_during_xen_op_stays_paused(void **state)
{
	(void)state;
	to_healthy();
	ev(YK_EV_CMD_PAUSE);
	xen_op(YK_XOP_SAVING);
	assert_act(ev(YK_EV_CMD_RESUME), YK_ACT_PERSIST);
	assert_state(YK_PAUSED);
	assert_false(sm.maintenance);
	assert_string_equal(sm.reason, "being saved");
}

static void
test_start_period_counts_from_domain_start(void **state)
{
	(void)state;
	now += 2 * HOUR;
	/* Found running for an hour when yaokid starts: no grace left. */
	assert_act(up_started(now - HOUR, false), 0);
	assert_state(YK_STARTING);
	assert_int_equal(sm.start_until, now - HOUR + p.start_period_ms);
	assert_act(probe(false), 0);
	assert_state(YK_FAILING);
	assert_int_equal(sm.consecutive_failures, 1);
	/* A start time in the future (clock skew) counts as now. */
	setup(NULL);
	assert_act(up_started(now + HOUR, false), 0);
	assert_int_equal(sm.start_until, now + p.start_period_ms);
}

static void
test_domain_up_ours_is_kept(void **state)
{
	(void)state;
	assert_act(up_started(0, true), YK_ACT_PERSIST);
	assert_true(sm.created_by_us);
	assert_int_equal(sm.start_until, now + p.start_period_ms);
}

static void
test_gone_in_backoff_not_owed_is_absent(void **state)
{
	(void)state;
	to_backoff();
	assert_act(gone(false), YK_ACT_PERSIST);
	assert_state(YK_ABSENT);
	assert_string_equal(sm.reason, "destroyed outside yaokid");
	assert_int_equal(sm.wake_at, 0);
	assert_false(sm.created_by_us);
	/* The backoff deadline, should it still fire, does nothing. */
	now += HOUR;
	assert_act(timer(), 0);
	assert_state(YK_ABSENT);
}

static void
test_adopted_in_backoff_is_never_destroyed(void **state)
{
	(void)state;
	to_backoff();
	now += SEC;
	assert_act(ev(YK_EV_ADOPTED), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_false(sm.created_by_us);
	assert_int_equal(sm.wake_at, 0);
	/* The old backoff deadline passes: no recovery. */
	now += HOUR;
	assert_act(timer(), 0);
	assert_state(YK_STARTING);
	assert_act(probe(true), YK_ACT_PERSIST);	/* the streak ends */
	assert_state(YK_HEALTHY);
	assert_int_equal(sm.streak, 0);
}

static void
test_adopted_during_recovery(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	assert_act(ev(YK_EV_ADOPTED), YK_ACT_PERSIST);
	assert_state(YK_STARTING);
	assert_false(sm.created_by_us);
	assert_int_equal(sm.nhist, 1);		/* the attempt still counts */
}

static void
test_adopted_ignored_when_unrecoverable_or_maintenance(void **state)
{
	(void)state;
	to_healthy();
	ev(YK_EV_CMD_PAUSE);
	assert_act(ev(YK_EV_ADOPTED), 0);
	assert_state(YK_PAUSED);
	setup(NULL);
	to_healthy();
	with_why(YK_EV_GAVE_UP, "x");
	assert_act(ev(YK_EV_ADOPTED), 0);
	assert_state(YK_UNRECOVERABLE);
}

static void
test_intent_failure_destroys_nothing_and_backs_off(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	assert_state(YK_RECOVERING);
	assert_act(with_why(YK_EV_INTENT_FAILED, "No space left on device"),
	    YK_ACT_PERSIST);
	assert_state(YK_BACKOFF);
	assert_string_equal(sm.reason, "cannot record the recovery intent (No "
	    "space left on device); nothing destroyed");
	assert_int_equal(sm.wake_at, now + p.backoff_ms);
	now += p.backoff_ms;
	assert_act(timer(), YK_ACT_RECOVER | YK_ACT_PERSIST);
	assert_state(YK_RECOVERING);
	assert_int_equal(sm.nhist, 2);
	/* Ignored in any other state. */
	assert_act(done(true), YK_ACT_PERSIST);
	assert_act(with_why(YK_EV_INTENT_FAILED, "x"), 0);
	assert_state(YK_STARTING);
}

static void
test_gave_up_is_unrecoverable_with_hook_once(void **state)
{
	(void)state;
	to_healthy();
	fail_to_threshold();
	assert_act(with_why(YK_EV_GAVE_UP, "no configuration to create it "
	    "from"), YK_ACT_HOOK | YK_ACT_PERSIST);
	assert_state(YK_UNRECOVERABLE);
	assert_string_equal(sm.reason, "no configuration to create it from");
	assert_act(with_why(YK_EV_GAVE_UP, "again"), 0);
	assert_string_equal(sm.reason, "no configuration to create it from");
}

static void
test_host_rebooted_during_recovery(void **state)
{
	(void)state;
	sm.created_by_us = true;
	sm.streak = 1;
	assert_act(ev(YK_EV_HOST_REBOOTED), YK_ACT_HOOK | YK_ACT_PERSIST);
	assert_state(YK_UNRECOVERABLE);
	assert_string_equal(sm.reason, "host restarted during a recovery; not "
	    "re-created (it may run elsewhere)");
	assert_false(sm.created_by_us);
	assert_act(ev(YK_EV_HOST_REBOOTED), 0);		/* the hook runs once */
}

static void
test_resume_recovery_counts_nothing(void **state)
{
	(void)state;
	/* yaokid restarted: a fresh machine, an intent in the record. */
	assert_act(ev(YK_EV_RESUME_RECOVERY), YK_ACT_RECOVER);
	assert_state(YK_RECOVERING);
	assert_int_equal(sm.nhist, 0);
	assert_act(ev(YK_EV_RESUME_RECOVERY), 0);	/* already running */
}

static void
test_restore_saved_record(void **state)
{
	int64_t hist[3] = { now - 2 * HOUR, now - MIN, now + HOUR };
	struct yk_sm_saved saved = { .maintenance = false,
	    .unrecoverable = true, .created_by_us = true, .streak = 2,
	    .nhist = 3, .hist = hist, .reason = "recovery limit reached" };

	(void)state;
	yk_sm_restore(&sm, &saved, now);
	assert_state(YK_UNRECOVERABLE);
	assert_true(sm.created_by_us);
	assert_int_equal(sm.streak, 2);
	assert_int_equal(sm.nhist, 3);
	assert_int_equal(sm.hist[1], now - MIN);
	assert_int_equal(sm.hist[2], now);	/* the future counts as now */
	assert_string_equal(sm.reason, "recovery limit reached");
	setup(NULL);
	saved.unrecoverable = false;
	saved.maintenance = true;
	yk_sm_restore(&sm, &saved, now);
	assert_state(YK_PAUSED);
	assert_true(sm.maintenance);
}

static void
test_xen_op_reasons(void **state)
{
	(void)state;
	assert_string_equal(yk_xen_op_reason(YK_XOP_MIGRATING_OUT),
	    "migrating away");
	assert_string_equal(yk_xen_op_reason(YK_XOP_MIGRATING_IN),
	    "migrating in");
	assert_string_equal(yk_xen_op_reason(YK_XOP_SAVING), "being saved");
	assert_string_equal(yk_xen_op_reason(YK_XOP_RESTORING),
	    "being restored");
	assert_string_equal(yk_xen_op_reason((enum yk_xen_op)99), "");
}

/* ---- the mass-failure hold (hold.c) --------------------------------------- */

/* Enters at the thresholds, leaves only below half of them. */
static void
test_hold_hysteresis(void **state)
{
	(void)state;
	/* min 3, fraction 0.5, 10 probed: enters at 5 failing. */
	assert_false(yk_hold_next(false, 4, 10, 3, 0.5));
	assert_true(yk_hold_next(false, 5, 10, 3, 0.5));
	/* Held: 4, 3 failing (at or above half of 5) keep it. */
	assert_true(yk_hold_next(true, 4, 10, 3, 0.5));
	assert_true(yk_hold_next(true, 3, 10, 3, 0.5));
	assert_false(yk_hold_next(true, 2, 10, 3, 0.5));
	/* min is held to half as well: 2 of 3 (fraction met) keeps it. */
	assert_true(yk_hold_next(false, 3, 3, 3, 0.5));
	assert_true(yk_hold_next(true, 2, 3, 3, 0.5));
	assert_false(yk_hold_next(true, 1, 3, 3, 0.5));
	assert_false(yk_hold_next(true, 0, 3, 3, 0.5));
	/* Nothing probed: never a hold. */
	assert_false(yk_hold_next(true, 0, 0, 1, 0.5));
	assert_false(yk_hold_next(false, 3, 0, 1, 0.5));
	/* Guests flapping around the threshold: one entry, one exit. */
	{
		static const unsigned failing[] = { 5, 4, 5, 4, 5, 3, 5, 2, 5 };
		bool held = false;
		unsigned i, entries = 0;

		for (i = 0; i < sizeof(failing) / sizeof(failing[0]); i++) {
			bool next = yk_hold_next(held, failing[i], 10, 3, 0.5);

			entries += next && !held;
			held = next;
		}
		assert_int_equal(entries, 2);       /* at 5, and after 2 */
	}
}

/* At most max runs within the window; refused runs are not recorded. */
static void
test_hook_rate(void **state)
{
	struct yk_hook_rate r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_true(yk_hook_rate_allow(&r, 1000, 3, 60000));
	assert_true(yk_hook_rate_allow(&r, 2000, 3, 60000));
	assert_true(yk_hook_rate_allow(&r, 3000, 3, 60000));
	assert_false(yk_hook_rate_allow(&r, 4000, 3, 60000));
	assert_false(yk_hook_rate_allow(&r, 60999, 3, 60000));  /* 1000 is in */
	assert_true(yk_hook_rate_allow(&r, 61000, 3, 60000));   /* 1000 is out */
	assert_false(yk_hook_rate_allow(&r, 61001, 3, 60000));
	assert_int_equal(r.n, 3);
	assert_true(yk_hook_rate_allow(&r, 200000, 3, 60000));  /* all out */
	assert_int_equal(r.n, 1);
	/* max 1: one per window. */
	memset(&r, 0, sizeof(r));
	assert_true(yk_hook_rate_allow(&r, 0, 1, 1000));
	assert_false(yk_hook_rate_allow(&r, 999, 1, 1000));
	assert_true(yk_hook_rate_allow(&r, 1000, 1, 1000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_state_names),
		cmocka_unit_test(test_hold_hysteresis),
		cmocka_unit_test(test_hook_rate),
		T(test_shutdown_reason_names),
		T(test_init_is_absent),
		T(test_params_from_conf),
		T(test_probing_states),
		T(test_domain_up_from_absent_starts),
		T(test_domain_up_absent_clears_created_by_us),
		T(test_domain_up_ignored_when_known),
		T(test_start_period_ignores_failures),
		T(test_start_period_deadline_counts_failures),
		T(test_start_first_success_ends_grace),
		T(test_start_success_makes_healthy),
		T(test_start_successes_threshold),
		T(test_start_grace_failure_resets_successes),
		T(test_healthy_ok_stays),
		T(test_failures_threshold),
		T(test_failures_one),
		T(test_failing_recovers_on_success),
		T(test_failing_needs_successes),
		T(test_on_failure_none_never_acts),
		T(test_hold_suppresses_recovery),
		T(test_hold_suppresses_reboot),
		T(test_recovery_done_ok_starts),
		T(test_second_attempt_waits_backoff),
		T(test_backoff_doubles_to_max),
		T(test_backoff_delay_edges),
		T(test_zero_backoff_still_wakes),
		T(test_create_failures_reach_unrecoverable),
		T(test_unrecoverable_hook_once),
		T(test_window_counts_recent_recoveries),
		T(test_window_slides),
		T(test_window_boundary_blocks),
		T(test_backoff_timer_rechecks_limit),
		T(test_max_recoveries_zero),
		T(test_reboot_first),
		T(test_reboot_then_healthy),
		T(test_reboot_deadline_recreates),
		T(test_reboot_did_not_help_threshold),
		T(test_reboot_deadline_while_failing),
		T(test_reboot_deadline_under_hold),
		T(test_reboot_respects_limit),
		T(test_reboot_guest_restart_keeps_deadline),
		T(test_crash_recreates),
		T(test_watchdog_recreates),
		T(test_crash_during_streak_backs_off),
		T(test_crash_on_crash_none),
		T(test_crash_ignored_states),
		T(test_guest_reboot_ours_restarts),
		T(test_guest_reboot_restart_fails),
		T(test_guest_reboot_unmonitored_not_ours),
		T(test_guest_reboot_monitored),
		T(test_crash_preserve_unrecoverable),
		T(test_crash_preserve_monitored),
		T(test_watchdog_preserve_reason),
		T(test_crash_monitor_restart_adopts),
		T(test_crash_monitor_restart_monitor_dies),
		T(test_crash_monitor_restart_bound),
		T(test_crash_monitor_coredump_bound),
		T(test_crash_monitor_destroy_then_recreate),
		T(test_crash_monitor_destroy_bound),
		T(test_crash_monitor_destroy_on_crash_none),
		T(test_crash_unmonitored_recovers_at_once),
		T(test_crash_monitor_unknown_action_waits),
		T(test_watchdog_monitor_reason),
		T(test_crash_monitor_wait_reset),
		T(test_crash_monitor_wait_maintenance),
		T(test_monitor_gone_ignored_elsewhere),
		T(test_poweroff_ours_destroys),
		T(test_poweroff_not_ours),
		T(test_shutdown_other_reasons_ignored),
		T(test_gone_makes_absent),
		T(test_gone_from_starting_and_failing),
		T(test_gone_ignored_states),
		T(test_gone_while_xen_paused),
		T(test_xen_pause_and_unpause),
		T(test_xen_pause_abandons_backoff),
		T(test_xen_pause_ignored_while_recovering),
		T(test_xen_pause_keeps_reboot_deadline_for_later),
		T(test_cmd_pause_resume),
		T(test_cmd_pause_clears_timers),
		T(test_cmd_pause_during_recovery),
		T(test_cmd_resume_while_xen_paused),
		T(test_cmd_resume_leaves_unrecoverable),
		T(test_cmd_resume_other_states),
		T(test_cmd_reset_unrecoverable),
		T(test_cmd_reset_backoff_and_healthy),
		T(test_cmd_recover),
		T(test_cmd_recover_skips_backoff),
		T(test_cmd_recover_ignores_limit),
		T(test_cmd_recover_ends_maintenance),
		T(test_cmd_recover_drops_reboot),
		T(test_cmd_recover_fills_history),
		T(test_history_grows_on_demand),
		T(test_probes_ignored_when_not_probing),
		T(test_recovery_done_ignored_elsewhere),
		T(test_timer_without_deadline),
		T(test_stale_deadline_is_cleared),
		T(test_migration_away_cancels_backoff_and_ends_absent),
		T(test_incoming_that_fails_after_our_destroy_is_created),
		T(test_incoming_that_fails_with_nothing_owed_is_absent),
		T(test_migration_while_recovering_cancels_it),
		T(test_migration_from_failing_stops_counting),
		T(test_migration_that_did_not_happen_resumes_without_start_period),
		T(test_migration_that_came_back_as_another_incarnation_starts),
		T(test_save_suspend_holds_and_ends_absent),
		T(test_restore_is_a_new_start_not_ours),
		T(test_incoming_migration_becomes_starting),
		T(test_incoming_migration_that_fails_is_absent),
		T(test_xen_op_respects_maintenance_and_unrecoverable),
		T(test_resume_during_xen_op_stays_paused),
		T(test_start_period_counts_from_domain_start),
		T(test_domain_up_ours_is_kept),
		T(test_gone_in_backoff_not_owed_is_absent),
		T(test_adopted_in_backoff_is_never_destroyed),
		T(test_adopted_during_recovery),
		T(test_adopted_ignored_when_unrecoverable_or_maintenance),
		T(test_intent_failure_destroys_nothing_and_backs_off),
		T(test_gave_up_is_unrecoverable_with_hook_once),
		T(test_host_rebooted_during_recovery),
		T(test_resume_recovery_counts_nothing),
		T(test_restore_saved_record),
		T(test_xen_op_reasons),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
