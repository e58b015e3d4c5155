/*
 * sm.c - the per-domain state machine: (state, event, now) -> (state,
 * actions). It decides when a domain is healthy, failing, owed a recovery,
 * waiting in backoff or given up on; the caller carries the actions out.
 *
 * Pure by design: never does I/O, never reads a clock (time comes in as
 * `now`) and never logs, so the unit tests can drive it with a fake clock.
 * Its one allocation is the recovery history, grown when a recovery is
 * recorded (most domains never need one); yk_sm_free gives it back. The
 * states are those of the interface ("Domain states");
 * tests/unit/test_sm.c pins down every transition.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "sm.h"

static int64_t	 ms_from_conf(uint64_t);
static int64_t	 add_sat(int64_t, int64_t);
static int64_t	 wake_time(int64_t, int64_t);
static unsigned	 inc_sat(unsigned);
static void	 set_reason(struct yk_sm *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int64_t	 window_start(const struct yk_sm_params *, int64_t);
static void	 hist_prune(struct yk_sm *, const struct yk_sm_params *,
		    int64_t);
static void	 hist_append(struct yk_sm *, int64_t);
static bool	 limit_reached(struct yk_sm *, const struct yk_sm_params *,
		    int64_t);
static unsigned	 enter_unrecoverable(struct yk_sm *,
		    const struct yk_sm_params *);
static void	 enter_starting(struct yk_sm *, const struct yk_sm_params *,
		    int64_t);
static unsigned	 enter_healthy(struct yk_sm *);
static void	 enter_absent(struct yk_sm *);
static unsigned	 start_attempt(struct yk_sm *, int64_t);
static unsigned	 request_recovery(struct yk_sm *, const struct yk_sm_params *,
		    int64_t, const char *);
static unsigned	 probe_threshold(struct yk_sm *, const struct yk_sm_params *,
		    const struct yk_sm_event *, int64_t);
static unsigned	 probe_count_failure(struct yk_sm *,
		    const struct yk_sm_params *, const struct yk_sm_event *,
		    int64_t);
static unsigned	 on_probe(struct yk_sm *, const struct yk_sm_params *,
		    const struct yk_sm_event *, int64_t);
static unsigned	 on_timer(struct yk_sm *, const struct yk_sm_params *,
		    const struct yk_sm_event *, int64_t);
static unsigned	 on_domain_up(struct yk_sm *, const struct yk_sm_params *,
		    const struct yk_sm_event *, int64_t);
static unsigned	 on_domain_paused(struct yk_sm *);
static unsigned	 on_domain_shutdown(struct yk_sm *,
		    const struct yk_sm_params *, const struct yk_sm_event *,
		    int64_t);
static unsigned	 on_crashed(struct yk_sm *, const struct yk_sm_params *,
		    const struct yk_sm_event *, int64_t);
static unsigned	 wait_for_monitor(struct yk_sm *, const struct yk_sm_params *,
		    const struct yk_sm_event *, int64_t);
static unsigned	 monitor_failed(struct yk_sm *, const struct yk_sm_params *,
		    int64_t, const char *);
static unsigned	 on_domain_gone(struct yk_sm *, const struct yk_sm_params *,
		    const struct yk_sm_event *, int64_t);
static unsigned	 on_xen_op(struct yk_sm *, const struct yk_sm_event *);
static unsigned	 on_adopted(struct yk_sm *, const struct yk_sm_params *,
		    const struct yk_sm_event *, int64_t);
static unsigned	 on_intent_failed(struct yk_sm *, const struct yk_sm_params *,
		    const struct yk_sm_event *, int64_t);
static unsigned	 on_gave_up(struct yk_sm *, const char *);
static unsigned	 on_resume_recovery(struct yk_sm *, const struct yk_sm_params *,
		    const struct yk_sm_event *, int64_t);
static int64_t	 started_at(const struct yk_sm_event *, int64_t);
static unsigned	 on_recovery_done(struct yk_sm *, const struct yk_sm_params *,
		    const struct yk_sm_event *, int64_t);
static void	 enter_paused_by_xen(struct yk_sm *);
static unsigned	 on_cmd_pause(struct yk_sm *);
static unsigned	 on_cmd_resume(struct yk_sm *, const struct yk_sm_params *,
		    int64_t);
static unsigned	 on_cmd_reset(struct yk_sm *, const struct yk_sm_params *,
		    int64_t);
static unsigned	 on_cmd_recover(struct yk_sm *, int64_t);

static const char *const state_names[YK_NSTATES] = {
	[YK_ABSENT] = "absent",
	[YK_STARTING] = "starting",
	[YK_HEALTHY] = "healthy",
	[YK_FAILING] = "failing",
	[YK_RECOVERING] = "recovering",
	[YK_BACKOFF] = "backoff",
	[YK_UNRECOVERABLE] = "unrecoverable",
	[YK_PAUSED] = "paused",
};

static const char *const xen_op_reasons[] = {
	[YK_XOP_NONE] = "",
	[YK_XOP_MIGRATING_OUT] = "migrating away",
	[YK_XOP_MIGRATING_IN] = "migrating in",
	[YK_XOP_SAVING] = "being saved",
	[YK_XOP_RESTORING] = "being restored",
	[YK_XOP_MONITOR] = "its xl monitor is handling its shutdown",
};

/* ---- names -------------------------------------------------------------- */

static int
name_index(const char *const *names, int n, const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *
yk_state_name(enum yk_state s)
{
	if ((unsigned)s >= YK_NSTATES)
		return "unknown";
	return state_names[s];
}

int
yk_state_from_name(const char *name)
{
	return name_index(state_names, YK_NSTATES, name);
}

const char *
yk_xen_op_reason(enum yk_xen_op op)
{
	if ((unsigned)op >= sizeof(xen_op_reasons) / sizeof(xen_op_reasons[0]))
		return "";
	return xen_op_reasons[op];
}

/* ---- parameters --------------------------------------------------------- */

static int64_t
ms_from_conf(uint64_t ms)
{
	return ms > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)ms;
}

void
yk_sm_params_from_conf(struct yk_sm_params *p, const struct yk_domain_conf *c)
{
	memset(p, 0, sizeof(*p));
	p->failures = c->failures;
	p->successes = c->successes;
	p->start_period_ms = ms_from_conf(c->start_period_ms);
	p->max_recoveries = c->max_recoveries;
	p->recovery_window_ms = ms_from_conf(c->recovery_window_ms);
	p->backoff_ms = ms_from_conf(c->backoff_ms);
	p->backoff_max_ms = ms_from_conf(c->backoff_max_ms);
	p->on_failure = c->on_failure;
	p->on_crash = c->on_crash;
	p->monitor_wait_ms = YK_SM_MONITOR_WAIT_MS;
	p->coredump_wait_ms = YK_SM_COREDUMP_WAIT_MS;
}

/* ---- small helpers ------------------------------------------------------ */

static int64_t
add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

/* wake_at == 0 means "never": a real deadline is never 0. */
static int64_t
wake_time(int64_t now, int64_t delay)
{
	int64_t t;

	t = add_sat(now, delay > 0 ? delay : 0);
	return t == 0 ? 1 : t;
}

static unsigned
inc_sat(unsigned n)
{
	return n == UINT_MAX ? n : n + 1;
}

static void
set_reason(struct yk_sm *sm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sm->reason, sizeof(sm->reason), fmt, ap);
	va_end(ap);
}

/* ---- recovery history (sliding window) --------------------------------- */

/* Entries older than this stop counting; an entry exactly at it still counts. */
static int64_t
window_start(const struct yk_sm_params *p, int64_t now)
{
	return add_sat(now, -(p->recovery_window_ms > 0 ?
	    p->recovery_window_ms : 0));
}

static void
hist_prune(struct yk_sm *sm, const struct yk_sm_params *p, int64_t now)
{
	int64_t from;
	unsigned i, n;

	from = window_start(p, now);
	if (sm->nhist > sm->hist_cap)
		sm->nhist = sm->hist_cap;
	for (i = n = 0; i < sm->nhist; i++)
		if (sm->hist[i] >= from)
			sm->hist[n++] = sm->hist[i];
	sm->nhist = n;
}

/*
 * A full history forgets its oldest entry (only `recover` can fill it; so
 * does running out of memory while growing it, which only shortens the
 * window's memory).
 */
static void
hist_append(struct yk_sm *sm, int64_t now)
{
	if (sm->nhist >= sm->hist_cap)
		(void)yk_sm_hist_reserve(sm, sm->hist_cap < 4 ? 4 :
		    sm->hist_cap * 2);
	if (sm->hist_cap == 0)
		return;		/* out of memory before the first entry */
	if (sm->nhist >= sm->hist_cap) {
		memmove(&sm->hist[0], &sm->hist[1],
		    (sm->hist_cap - 1) * sizeof(sm->hist[0]));
		sm->nhist = sm->hist_cap - 1;
	}
	sm->hist[sm->nhist++] = now;
}

bool
yk_sm_hist_reserve(struct yk_sm *sm, unsigned n)
{
	int64_t *h;

	if (n > YK_SM_HIST_MAX)
		n = YK_SM_HIST_MAX;
	if (n <= sm->hist_cap)
		return true;
	if ((h = realloc(sm->hist, n * sizeof(*h))) == NULL)
		return false;
	sm->hist = h;
	sm->hist_cap = n;
	return true;
}

static bool
limit_reached(struct yk_sm *sm, const struct yk_sm_params *p, int64_t now)
{
	hist_prune(sm, p, now);
	return sm->nhist >= p->max_recoveries;
}

unsigned
yk_sm_recoveries_in_window(const struct yk_sm *sm,
    const struct yk_sm_params *p, int64_t now)
{
	int64_t from;
	unsigned i, n, max;

	from = window_start(p, now);
	max = sm->nhist > sm->hist_cap ? sm->hist_cap : sm->nhist;
	for (i = n = 0; i < max; i++)
		if (sm->hist[i] >= from)
			n++;
	return n;
}

int64_t
yk_sm_backoff_delay(const struct yk_sm *sm, const struct yk_sm_params *p)
{
	int64_t d, max;
	unsigned i;

	if (sm->streak == 0)
		return 0;
	d = p->backoff_ms > 0 ? p->backoff_ms : 0;
	max = p->backoff_max_ms > 0 ? p->backoff_max_ms : 0;
	for (i = 1; i < sm->streak && d > 0 && d < max; i++) {
		if (d > INT64_MAX / 2) {
			d = INT64_MAX;
			break;
		}
		d *= 2;
	}
	return d < max ? d : max;
}

/* ---- transitions -------------------------------------------------------- */

static unsigned
enter_unrecoverable(struct yk_sm *sm, const struct yk_sm_params *p)
{
	char window[32];

	yk_duration_format((uint64_t)(p->recovery_window_ms > 0 ?
	    p->recovery_window_ms : 0), window, sizeof(window));
	set_reason(sm, "recovery limit reached: %u recoveries within %s",
	    sm->nhist, window);
	sm->state = YK_UNRECOVERABLE;
	sm->wake_at = 0;
	sm->reboot_pending = false;
	return YK_ACT_HOOK | YK_ACT_PERSIST;
}

/*
 * The start period runs from since: the moment the domain started, which
 * is long ago for a domain found running when yaokid itself starts.
 */
static void
enter_starting(struct yk_sm *sm, const struct yk_sm_params *p, int64_t since)
{
	sm->state = YK_STARTING;
	sm->xen_op = YK_XOP_NONE;
	sm->monitor_restarts = false;
	sm->start_until = add_sat(since, p->start_period_ms > 0 ?
	    p->start_period_ms : 0);
	sm->start_seen_ok = false;
	sm->consecutive_failures = 0;
	sm->consecutive_successes = 0;
	sm->wake_at = sm->reboot_pending ? wake_time(sm->start_until, 0) : 0;
}

static unsigned
enter_healthy(struct yk_sm *sm)
{
	unsigned had_streak;

	had_streak = sm->streak;
	sm->state = YK_HEALTHY;
	sm->streak = 0;
	sm->reboot_pending = false;
	sm->wake_at = 0;
	return had_streak != 0 ? YK_ACT_PERSIST : 0;
}

/* Nothing exists (any more) that yaokid must wait for. */
static void
enter_absent(struct yk_sm *sm)
{
	sm->state = YK_ABSENT;
	sm->reboot_pending = false;
	sm->wake_at = 0;
}

static unsigned
start_attempt(struct yk_sm *sm, int64_t now)
{
	sm->state = YK_RECOVERING;
	hist_append(sm, now);
	sm->streak = inc_sat(sm->streak);
	sm->wake_at = 0;
	return YK_ACT_RECOVER | YK_ACT_PERSIST;
}

static unsigned
request_recovery(struct yk_sm *sm, const struct yk_sm_params *p, int64_t now,
    const char *reason)
{
	if (limit_reached(sm, p, now))
		return enter_unrecoverable(sm, p);
	set_reason(sm, "%s", reason);
	if (sm->streak >= 1) {
		sm->state = YK_BACKOFF;
		sm->wake_at = wake_time(now, yk_sm_backoff_delay(sm, p));
		return YK_ACT_PERSIST;
	}
	return start_attempt(sm, now);
}

/* ---- probes ------------------------------------------------------------- */

static unsigned
probe_threshold(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	char why[64];

	if (sm->consecutive_failures < p->failures)
		return 0;
	if (p->on_failure == YK_ONFAIL_NONE || ev->hold)
		return 0;
	snprintf(why, sizeof(why), "%u consecutive failed probes",
	    sm->consecutive_failures);
	if (p->on_failure == YK_ONFAIL_REBOOT) {
		if (sm->reboot_pending) {
			/* The reboot did not help: recreate. */
			sm->reboot_pending = false;
			return request_recovery(sm, p, now, why);
		}
		if (limit_reached(sm, p, now))
			return enter_unrecoverable(sm, p);
		set_reason(sm, "%s", why);
		hist_append(sm, now);
		sm->streak = inc_sat(sm->streak);
		sm->reboot_pending = true;
		enter_starting(sm, p, now);
		return YK_ACT_REBOOT | YK_ACT_PERSIST;
	}
	return request_recovery(sm, p, now, why);
}

static unsigned
probe_count_failure(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	sm->consecutive_failures = inc_sat(sm->consecutive_failures);
	sm->consecutive_successes = 0;
	sm->state = YK_FAILING;
	return probe_threshold(sm, p, ev, now);
}

static unsigned
on_probe(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	if (!yk_sm_probing(sm))
		return 0;
	if (ev->ok) {
		if (sm->state == YK_HEALTHY) {
			sm->consecutive_failures = 0;
			return 0;
		}
		if (sm->state == YK_STARTING)
			sm->start_seen_ok = true;
		sm->consecutive_failures = 0;
		sm->consecutive_successes = inc_sat(sm->consecutive_successes);
		if (sm->consecutive_successes >= p->successes)
			return enter_healthy(sm);
		return 0;
	}
	if (sm->state == YK_STARTING && !sm->start_seen_ok &&
	    now < sm->start_until) {
		/* Booting: failures do not count yet. */
		sm->consecutive_successes = 0;
		return 0;
	}
	return probe_count_failure(sm, p, ev, now);
}

/* ---- timers ------------------------------------------------------------- */

static unsigned
on_timer(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	if (sm->wake_at == 0 || now < sm->wake_at)
		return 0;
	switch (sm->state) {
	case YK_BACKOFF:
		if (limit_reached(sm, p, now))
			return enter_unrecoverable(sm, p);
		return start_attempt(sm, now);
	case YK_STARTING:
	case YK_FAILING:
		if (!sm->reboot_pending)
			break;
		if (ev->hold) {
			/*
			 * Probes are not to be trusted now; the failure
			 * threshold (reboot still pending) decides later.
			 */
			sm->wake_at = 0;
			return 0;
		}
		sm->reboot_pending = false;
		return request_recovery(sm, p, now,
		    "not healthy within start period after reboot");
	case YK_PAUSED:
		if (sm->xen_op != YK_XOP_MONITOR || sm->maintenance)
			break;
		return monitor_failed(sm, p, now, sm->monitor_restarts ?
		    "did not bring it back in time" :
		    "did not destroy it in time");
	default:
		break;
	}
	/* A deadline with no meaning in this state: stop it firing again. */
	sm->wake_at = 0;
	return 0;
}

/* ---- hypervisor events -------------------------------------------------- */

/* When the domain of ev started, never later than now. */
static int64_t
started_at(const struct yk_sm_event *ev, int64_t now)
{
	return ev->started > 0 && ev->started < now ? ev->started : now;
}

/*
 * A migration away or a save that did not happen (xl rolled it back): the
 * domain never stopped, so no start period; it is judged by its probes
 * again at once, as before Xen's tools held it.
 */
static unsigned
xen_op_ended_here(struct yk_sm *sm)
{
	set_reason(sm, "%s did not happen; the domain stayed",
	    sm->xen_op == YK_XOP_SAVING ? "the save" : "the migration");
	sm->xen_op = YK_XOP_NONE;
	sm->consecutive_failures = 0;
	sm->consecutive_successes = 0;
	return enter_healthy(sm) | YK_ACT_PERSIST;
}

static unsigned
on_domain_up(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	bool was_ours = sm->created_by_us;

	sm->xen_paused = false;
	switch (sm->state) {
	case YK_ABSENT:
		sm->created_by_us = ev->ours;
		sm->reboot_pending = false;
		enter_starting(sm, p, started_at(ev, now));
		return was_ours != ev->ours ? YK_ACT_PERSIST : 0;
	case YK_PAUSED:
		if (sm->maintenance) {
			sm->xen_op = YK_XOP_NONE;
			return 0;
		}
		if (ev->stayed && (sm->xen_op == YK_XOP_MIGRATING_OUT ||
		    sm->xen_op == YK_XOP_SAVING))
			return xen_op_ended_here(sm);
		if (sm->xen_op != YK_XOP_NONE) {
			/* A migration in or a restore ended here: a new start. */
			sm->created_by_us = ev->ours;
			sm->reboot_pending = false;
			enter_starting(sm, p, started_at(ev, now));
			return was_ours != ev->ours ? YK_ACT_PERSIST : 0;
		}
		enter_starting(sm, p, now);
		return 0;
	default:
		return 0;
	}
}

static unsigned
on_domain_paused(struct yk_sm *sm)
{
	sm->xen_paused = true;
	if (sm->state == YK_RECOVERING || sm->state == YK_UNRECOVERABLE)
		return 0;
	sm->state = YK_PAUSED;
	sm->wake_at = 0;
	return 0;
}

static unsigned
on_domain_shutdown(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	struct yk_sm_event save = { .kind = YK_EV_XEN_OP, .op = YK_XOP_SAVING };
	bool was_ours;

	/* xl save, or the last second of a migration away: hands off. */
	if (ev->reason == YK_SD_SUSPEND)
		return on_xen_op(sm, &save);
	if (ev->ours)
		sm->created_by_us = true;   /* the incarnation yaokid created */
	if (sm->state == YK_RECOVERING || sm->state == YK_UNRECOVERABLE ||
	    (sm->state == YK_PAUSED && sm->maintenance))
		return 0;
	if (ev->reason == YK_SD_CRASH || ev->reason == YK_SD_WATCHDOG ||
	    ev->reason == YK_SD_REBOOT || ev->reason == YK_SD_POWEROFF)
		sm->xen_paused = false;	/* it is no longer running at all */
	switch (ev->reason) {
	case YK_SD_CRASH:
	case YK_SD_WATCHDOG:
		if (sm->state == YK_BACKOFF)
			return 0;	/* a recovery is already scheduled */
		return on_crashed(sm, p, ev, now);
	case YK_SD_REBOOT:
		if (!ev->monitored) {
			/*
			 * No xl monitor restarts it (yaokid created it, or
			 * its monitor is gone): yaokid is its toolstack.
			 */
			sm->state = YK_RECOVERING;
			sm->wake_at = 0;
			set_reason(sm, "guest rebooted");
			return YK_ACT_RECOVER;
		}
		/* Its own toolstack restarts it; the reboot is a new start. */
		enter_starting(sm, p, now);
		return 0;
	case YK_SD_POWEROFF:
		was_ours = sm->created_by_us;
		enter_absent(sm);
		set_reason(sm, "guest powered off");
		if (!was_ours)
			return 0;
		sm->created_by_us = false;
		return YK_ACT_DESTROY | YK_ACT_PERSIST;
	default:
		return 0;
	}
}

/* "crashed" or "watchdog expired": how a reason reads in a state reason. */
static const char *
crash_text(enum yk_shutdown_reason r)
{
	return r == YK_SD_WATCHDOG ? "watchdog expired" : "crashed";
}

/*
 * A crash or watchdog expiry. The domain's own action comes first: a
 * preserved domain is evidence and is never touched; a live xl monitor
 * acts on the others and yaokid waits for it; without a monitor yaokid is
 * the toolstack and recovers it at once per its own on_crash.
 */
static unsigned
on_crashed(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	if (ev->action == HV_ACTION_PRESERVE) {
		set_reason(sm, "%s; %s=preserve keeps it for debugging",
		    crash_text(ev->reason), hv_action_key(ev->reason));
		sm->state = YK_UNRECOVERABLE;
		sm->xen_op = YK_XOP_NONE;
		sm->wake_at = 0;
		sm->reboot_pending = false;
		return YK_ACT_HOOK | YK_ACT_PERSIST;
	}
	if (ev->monitored && !(hv_action_destroys(ev->action) &&
	    p->on_crash == YK_ONCRASH_NONE))
		return wait_for_monitor(sm, p, ev, now);
	if (p->on_crash == YK_ONCRASH_NONE) {
		enter_absent(sm);
		set_reason(sm, "crashed; on_crash is none");
		return 0;
	}
	return request_recovery(sm, p, now, crash_text(ev->reason));
}

/*
 * Its xl monitor acts (restart: it brings a new incarnation back; destroy:
 * yaokid re-creates it once it is gone; unknown action: waited for like a
 * restart). Hands off like any of Xen's own operations, within a bound.
 */
static unsigned
wait_for_monitor(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	int64_t bound = p->monitor_wait_ms;

	if (hv_action_dumps(ev->action))
		bound = add_sat(bound, p->coredump_wait_ms);
	sm->state = YK_PAUSED;
	sm->xen_op = YK_XOP_MONITOR;
	sm->monitor_restarts = !hv_action_destroys(ev->action);
	sm->monitor_reason = ev->reason;
	sm->reboot_pending = false;
	sm->consecutive_failures = 0;
	sm->consecutive_successes = 0;
	sm->wake_at = wake_time(now, bound);
	if (ev->action == HV_ACTION_UNKNOWN)
		set_reason(sm, "%s; its xl monitor handles it (%s unknown)",
		    crash_text(ev->reason), hv_action_key(ev->reason));
	else if (sm->monitor_restarts)
		set_reason(sm, "%s; its xl monitor restarts it (%s=%s)",
		    crash_text(ev->reason), hv_action_key(ev->reason),
		    hv_action_name(ev->action));
	else
		set_reason(sm, "%s; its xl monitor destroys it (%s=%s), then "
		    "yaokid re-creates it", crash_text(ev->reason),
		    hv_action_key(ev->reason), hv_action_name(ev->action));
	return 0;
}

/* The monitor died, or took too long: yaokid recovers the domain itself. */
static unsigned
monitor_failed(struct yk_sm *sm, const struct yk_sm_params *p, int64_t now,
    const char *what)
{
	char why[sizeof(sm->reason)];

	snprintf(why, sizeof(why), "%s; its xl monitor %s",
	    crash_text(sm->monitor_reason), what);
	sm->xen_op = YK_XOP_NONE;
	sm->monitor_restarts = false;
	sm->wake_at = 0;
	sm->state = YK_FAILING;	/* not paused any more, whatever comes */
	return request_recovery(sm, p, now, why);
}

/* Where Xen's own operation took the domain: nothing is owed. */
static unsigned
xen_op_ended_away(struct yk_sm *sm)
{
	static const char *const where[] = {
		[YK_XOP_NONE] = "",
		[YK_XOP_MIGRATING_OUT] = "migrated away",
		[YK_XOP_MIGRATING_IN] = "incoming migration did not complete",
		[YK_XOP_SAVING] = "saved (xl save)",
		[YK_XOP_RESTORING] = "restore did not complete",
	};

	set_reason(sm, "%s", where[sm->xen_op]);
	sm->xen_op = YK_XOP_NONE;
	sm->created_by_us = false;
	sm->streak = 0;
	enter_absent(sm);
	return YK_ACT_PERSIST;
}

/*
 * Xen's operation ended without the domain, which yaokid had destroyed
 * (a migration that began as yaokid destroyed it fails without it): the
 * create yaokid owes is made now. Never lose a domain yaokid destroyed.
 */
static unsigned
xen_op_ended_owed(struct yk_sm *sm, const struct yk_sm_params *p, int64_t now)
{
	sm->xen_op = YK_XOP_NONE;
	sm->state = YK_FAILING;
	return request_recovery(sm, p, now,
	    "Xen's operation ended without the domain yaokid had destroyed");
}

static unsigned
on_domain_gone(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	bool was_ours;

	sm->xen_paused = false;
	if (sm->xen_op == YK_XOP_MONITOR && sm->state == YK_PAUSED &&
	    !sm->maintenance) {
		if (sm->monitor_restarts)
			return 0;	/* destroyed on its way back */
		/* Its monitor destroyed it: now yaokid's on_crash applies. */
		sm->xen_op = YK_XOP_NONE;
		sm->wake_at = 0;
		return request_recovery(sm, p, now,
		    crash_text(sm->monitor_reason));
	}
	if (sm->xen_op == YK_XOP_MONITOR) {
		sm->xen_op = YK_XOP_NONE;
		return 0;
	}
	if (sm->xen_op != YK_XOP_NONE) {
		if (sm->state == YK_UNRECOVERABLE || sm->maintenance) {
			sm->xen_op = YK_XOP_NONE;
			return 0;
		}
		/* An incoming copy (migration in, restore) that appeared
		 * after yaokid destroyed the domain, and did not complete. */
		if (ev->owed && (sm->xen_op == YK_XOP_MIGRATING_IN ||
		    sm->xen_op == YK_XOP_RESTORING))
			return xen_op_ended_owed(sm, p, now);
		return xen_op_ended_away(sm);
	}
	switch (sm->state) {
	case YK_BACKOFF:
		if (ev->owed)
			return 0;	/* yaokid destroyed it: the create is owed */
		/*
		 * Destroyed by an operator while yaokid waited to try again:
		 * the operator's intent wins, nothing is re-created.
		 */
		set_reason(sm, "destroyed outside yaokid");
		sm->created_by_us = false;
		enter_absent(sm);
		return YK_ACT_PERSIST;
	case YK_PAUSED:
		if (sm->maintenance)
			return 0;
		/* FALLTHROUGH */
	case YK_STARTING:
	case YK_HEALTHY:
	case YK_FAILING:
	case YK_ABSENT:
		/* Already absent: keep the first reason (e.g. powered off). */
		if (sm->state != YK_ABSENT || sm->reason[0] == '\0')
			set_reason(sm, "destroyed outside yaokid");
		was_ours = sm->created_by_us;
		sm->created_by_us = false;
		enter_absent(sm);
		return was_ours ? YK_ACT_PERSIST : 0;
	default:
		return 0;
	}
}

static unsigned
on_recovery_done(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	bool maint_paused;

	maint_paused = sm->state == YK_PAUSED && sm->maintenance;
	if (sm->state != YK_RECOVERING && !maint_paused)
		return 0;
	if (!ev->ok) {
		if (maint_paused)
			return 0;
		return request_recovery(sm, p, now, "create failed");
	}
	sm->created_by_us = true;
	sm->xen_paused = false;
	if (!maint_paused)
		enter_starting(sm, p, now);
	return YK_ACT_PERSIST;
}

/* ---- Xen's own operations and adoption --------------------------------- */

/*
 * Xen's tools took the domain over (migration, save, restore): hands off.
 * A pending recovery is dropped (YK_ACT_CANCEL); probes stop counting.
 */
static unsigned
on_xen_op(struct yk_sm *sm, const struct yk_sm_event *ev)
{
	bool cancel;

	if (ev->op == YK_XOP_NONE || sm->xen_op == ev->op)
		return 0;
	/* A migration away that suspends for its last second stays one. */
	if (sm->xen_op == YK_XOP_MIGRATING_OUT && ev->op == YK_XOP_SAVING)
		return 0;
	sm->xen_op = ev->op;
	if (sm->state == YK_UNRECOVERABLE || sm->maintenance)
		return 0;
	cancel = sm->state == YK_RECOVERING || sm->state == YK_BACKOFF;
	sm->state = YK_PAUSED;
	sm->wake_at = 0;
	sm->reboot_pending = false;
	sm->consecutive_failures = 0;
	sm->consecutive_successes = 0;
	set_reason(sm, "%s", yk_xen_op_reason(ev->op));
	return cancel ? YK_ACT_CANCEL | YK_ACT_PERSIST : 0;
}

/* Someone else brought the domain back: a new start, not yaokid's. */
static unsigned
on_adopted(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	if (sm->state == YK_UNRECOVERABLE || sm->maintenance)
		return 0;
	sm->created_by_us = false;
	sm->xen_paused = false;
	sm->reboot_pending = false;
	sm->wake_at = 0;
	enter_starting(sm, p, started_at(ev, now));
	return YK_ACT_PERSIST;
}

/* Without a durable intent nothing is destroyed: wait and try again. */
static unsigned
on_intent_failed(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	if (sm->state != YK_RECOVERING)
		return 0;
	set_reason(sm, "cannot record the recovery intent (%s); nothing "
	    "destroyed", ev->why != NULL ? ev->why : "write failed");
	sm->state = YK_BACKOFF;
	sm->wake_at = wake_time(now, yk_sm_backoff_delay(sm, p));
	return YK_ACT_PERSIST;
}

static unsigned
on_gave_up(struct yk_sm *sm, const char *why)
{
	if (sm->state == YK_UNRECOVERABLE)
		return 0;
	set_reason(sm, "%s", why);
	sm->state = YK_UNRECOVERABLE;
	sm->wake_at = 0;
	sm->reboot_pending = false;
	return YK_ACT_HOOK | YK_ACT_PERSIST;
}

/* The attempt was counted when it began: finishing it counts nothing. */
static unsigned
on_resume_recovery(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	if (sm->state == YK_UNRECOVERABLE || sm->state == YK_RECOVERING)
		return 0;
	sm->reboot_pending = false;
	if (ev->ok) {
		/* It had got as far as the create: the new domain runs. */
		sm->created_by_us = true;
		sm->xen_paused = false;
		enter_starting(sm, p, now);
		return YK_ACT_PERSIST;
	}
	sm->state = YK_RECOVERING;
	sm->wake_at = 0;
	return YK_ACT_RECOVER;
}

/* ---- operator commands -------------------------------------------------- */

/* Out of maintenance or unrecoverable, into what Xen is doing. */
static void
enter_paused_by_xen(struct yk_sm *sm)
{
	sm->state = YK_PAUSED;
	sm->wake_at = 0;
	if (sm->xen_op != YK_XOP_NONE)
		set_reason(sm, "%s", yk_xen_op_reason(sm->xen_op));
}

static unsigned
on_cmd_pause(struct yk_sm *sm)
{
	sm->maintenance = true;
	sm->state = YK_PAUSED;
	sm->wake_at = 0;
	sm->reboot_pending = false;
	return YK_ACT_PERSIST;
}

static unsigned
on_cmd_resume(struct yk_sm *sm, const struct yk_sm_params *p, int64_t now)
{
	bool was_maint;

	was_maint = sm->maintenance;
	sm->maintenance = false;
	if (sm->state != YK_PAUSED && sm->state != YK_UNRECOVERABLE)
		return was_maint ? YK_ACT_PERSIST : 0;
	if (sm->xen_op == YK_XOP_MONITOR)
		sm->xen_op = YK_XOP_NONE;	/* the operator takes it back */
	if (sm->xen_paused || sm->xen_op != YK_XOP_NONE)
		enter_paused_by_xen(sm);
	else
		enter_starting(sm, p, now);
	return YK_ACT_PERSIST;
}

static unsigned
on_cmd_reset(struct yk_sm *sm, const struct yk_sm_params *p, int64_t now)
{
	sm->nhist = 0;
	sm->streak = 0;
	if (sm->state == YK_PAUSED && sm->xen_op == YK_XOP_MONITOR &&
	    !sm->maintenance) {
		sm->xen_op = YK_XOP_NONE;	/* the operator takes it back */
		enter_starting(sm, p, now);
		return YK_ACT_PERSIST;
	}
	if (sm->state == YK_UNRECOVERABLE || sm->state == YK_BACKOFF) {
		if (sm->xen_paused || sm->xen_op != YK_XOP_NONE)
			enter_paused_by_xen(sm);
		else
			enter_starting(sm, p, now);
	}
	return YK_ACT_PERSIST;
}

static unsigned
on_cmd_recover(struct yk_sm *sm, int64_t now)
{
	if (sm->state == YK_RECOVERING)
		return 0;
	sm->maintenance = false;
	sm->reboot_pending = false;
	set_reason(sm, "recovery requested by operator");
	return start_attempt(sm, now);
}

/* ---- entry points ------------------------------------------------------- */

void
yk_sm_init(struct yk_sm *sm)
{
	memset(sm, 0, sizeof(*sm));
	sm->state = YK_ABSENT;
}

void
yk_sm_free(struct yk_sm *sm)
{
	free(sm->hist);
	yk_sm_init(sm);
}

void
yk_sm_restore(struct yk_sm *sm, const struct yk_sm_saved *saved, int64_t now)
{
	unsigned i, skip;

	sm->maintenance = saved->maintenance;
	sm->created_by_us = saved->created_by_us;
	sm->streak = saved->streak;
	/* Out of memory, only the newest entries that fit are kept. */
	(void)yk_sm_hist_reserve(sm, saved->nhist);
	skip = saved->nhist > sm->hist_cap ? saved->nhist - sm->hist_cap : 0;
	sm->nhist = saved->nhist - skip;
	/* A history "in the future" (the clock was set back) counts as now. */
	for (i = 0; i < sm->nhist; i++)
		sm->hist[i] = saved->hist[skip + i] < now ?
		    saved->hist[skip + i] : now;
	set_reason(sm, "%s", saved->reason != NULL ? saved->reason : "");
	if (saved->unrecoverable)
		sm->state = YK_UNRECOVERABLE;
	else if (saved->maintenance)
		sm->state = YK_PAUSED;
}

bool
yk_sm_probing(const struct yk_sm *sm)
{
	return sm->state == YK_STARTING || sm->state == YK_HEALTHY ||
	    sm->state == YK_FAILING;
}

unsigned
yk_sm_step(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now)
{
	switch (ev->kind) {
	case YK_EV_PROBE:
		return on_probe(sm, p, ev, now);
	case YK_EV_DOMAIN_UP:
		return on_domain_up(sm, p, ev, now);
	case YK_EV_DOMAIN_PAUSED:
		return on_domain_paused(sm);
	case YK_EV_DOMAIN_SHUTDOWN:
		return on_domain_shutdown(sm, p, ev, now);
	case YK_EV_DOMAIN_GONE:
		return on_domain_gone(sm, p, ev, now);
	case YK_EV_MONITOR_GONE:
		if (sm->xen_op != YK_XOP_MONITOR || sm->state != YK_PAUSED ||
		    sm->maintenance)
			return 0;
		return monitor_failed(sm, p, now, "is gone");
	case YK_EV_RECOVERY_DONE:
		return on_recovery_done(sm, p, ev, now);
	case YK_EV_TIMER:
		return on_timer(sm, p, ev, now);
	case YK_EV_CMD_PAUSE:
		return on_cmd_pause(sm);
	case YK_EV_CMD_RESUME:
		return on_cmd_resume(sm, p, now);
	case YK_EV_CMD_RECOVER:
		return on_cmd_recover(sm, now);
	case YK_EV_CMD_RESET:
		return on_cmd_reset(sm, p, now);
	case YK_EV_XEN_OP:
		return on_xen_op(sm, ev);
	case YK_EV_ADOPTED:
		return on_adopted(sm, p, ev, now);
	case YK_EV_INTENT_FAILED:
		return on_intent_failed(sm, p, ev, now);
	case YK_EV_GAVE_UP:
		return on_gave_up(sm, ev->why != NULL ? ev->why :
		    "recovery impossible");
	case YK_EV_HOST_REBOOTED:
		sm->created_by_us = false;
		return on_gave_up(sm, "host restarted during a recovery; not "
		    "re-created (it may run elsewhere)");
	case YK_EV_RESUME_RECOVERY:
		return on_resume_recovery(sm, p, ev, now);
	}
	return 0;
}
