/*
 * test_supervisor.c - supervisor.c's reconciliation with the hypervisor's
 * list, fed through the scripted hypervisor (stub_hv.h) to a struct sup
 * built with sup_new on a temporary state_dir. Probes aim at a closed port
 * with a long interval: none runs during a test.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "persist.h"
#include "stub_hv.h"
#include "writer.h"
#include "supervisor.h"

struct fixture {
	char dir[64];
	struct event_base *base;
	struct stub_hv st;
	struct yk_config *cfg;
	struct sup *s;
	struct sup_domain *d;
};

static int
setup(void **state)
{
	struct yk_conf_errors errs = { 0, NULL };
	struct fixture *f = calloc(1, sizeof(*f));
	char text[512];

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/yaoki-test-sup.XXXXXX");
	if (mkdtemp(f->dir) == NULL || (f->base = event_base_new()) == NULL)
		return -1;
	snprintf(text, sizeof(text),
	    "hypervisor = \"sim\"\nstate_dir = \"%s\"\n"
	    "domain \"web01\" { url = \"http://127.0.0.1:9/\"\n"
	    "  interval = \"1h\" }\n", f->dir);
	if ((f->cfg = yk_config_load_text("test.conf", text, &errs)) == NULL)
		return -1;
	stub_hv_init(&f->st, f->base);
	f->s = sup_new(f->base, f->cfg, &f->st.hv);
	f->d = sup_find(f->s, "web01");
	*state = f;
	return f->d != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	stub_release(&f->st);
	stub_settle(&f->st, f->base);
	f->cfg = f->s->cfg;             /* a reload may have replaced it */
	sup_free(f->s);
	yk_config_free(f->cfg);
	event_base_free(f->base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/*
 * Runs the loop a bounded number of non-blocking rounds, waiting for the
 * writer thread's files (the intent record, which a destroy waits for).
 */
static void
pump(struct fixture *f)
{
	int i, round;

	for (round = 0; round < 20; round++) {
		for (i = 0; i < 50; i++)
			event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		writer_drain(f->s->writer);
		stub_settle(&f->st, f->base);
		if (!writer_busy(f->s->writer) &&
		    f->st.pending <= (f->st.held != NULL))
			break;
	}
}

/* Asks for a list now and lets everything it causes complete. */
static void
relist(struct fixture *f)
{
	sup_request_list(f->s);
	pump(f);
}

/* web01 runs as domain 5: yaokid sees it start and captures it. */
static void
start_running(struct fixture *f)
{
	stub_hv_set(&f->st, 0, "web01", 5, HV_RUNNING, YK_SD_UNKNOWN);
	sup_start(f->s);
	pump(f);
}

static void
test_appears_running_starting_and_captured(void **state)
{
	struct fixture *f = *state;

	start_running(f);
	assert_int_equal(f->d->domid, 5);
	assert_int_equal(f->d->sm.state, YK_STARTING);
	assert_non_null(strstr(stub_log, "list capture:5 "));
	assert_non_null(f->d->captured);
	assert_string_equal(f->d->captured, f->st.capture_json);
}

static void
test_domid_change_while_healthy_is_gone_and_new(void **state)
{
	struct fixture *f = *state;
	struct yk_sm_event ok = { .kind = YK_EV_PROBE, .ok = true };

	start_running(f);
	sup_domain_step(f->d, &ok);
	assert_int_equal(f->d->sm.state, YK_HEALTHY);
	stub_hv_set(&f->st, 0, "web01", 8, HV_RUNNING, YK_SD_UNKNOWN);
	stub_log[0] = '\0';
	relist(f);
	assert_int_equal(f->d->domid, 8);
	/* Not healthy any more: a new incarnation starts over. */
	assert_int_equal(f->d->sm.state, YK_STARTING);
	assert_string_equal(stub_log, "list capture:8 ");
}

static void
test_crash_starts_recovery(void **state)
{
	struct fixture *f = *state;

	start_running(f);
	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_CRASH);
	stub_log[0] = '\0';
	relist(f);
	assert_non_null(strstr(stub_log, "destroy:5 "));
	/* Re-created from the captured configuration, as domain 100. */
	assert_non_null(strstr(stub_log, "create:{\"c_info\":{}} "));
	assert_true(strstr(stub_log, "destroy:5 ") <
	    strstr(stub_log, "create:"));
	assert_int_equal(f->d->domid, 100);
	assert_int_equal(f->d->created_domid, 100);
	assert_int_equal(f->d->recoveries_ok, 1);
	assert_true(f->d->sm.created_by_us);
	assert_false(f->d->intent);
	assert_null(f->d->rec);
	assert_false(sup_busy(f->s));
}

/* Its xl monitor restarts it: nothing destroyed or created; adopted. */
static void
test_monitored_crash_waits_and_adopts(void **state)
{
	struct fixture *f = *state;

	start_running(f);
	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_CRASH);
	f->st.doms[0].monitored = true;
	f->st.doms[0].action = HV_ACTION_RESTART;
	stub_log[0] = '\0';
	relist(f);
	assert_int_equal(f->d->sm.state, YK_PAUSED);
	assert_string_equal(f->d->sm.reason,
	    "crashed; its xl monitor restarts it (on_crash=restart)");
	f->st.ndoms = 0;                        /* destroyed by the monitor */
	relist(f);
	assert_int_equal(f->d->sm.state, YK_PAUSED);
	stub_hv_set(&f->st, 0, "web01", 6, HV_RUNNING, YK_SD_UNKNOWN);
	relist(f);
	assert_int_equal(f->d->domid, 6);
	assert_int_equal(f->d->sm.state, YK_STARTING);
	assert_false(f->d->sm.created_by_us);
	assert_null(strstr(stub_log, "destroy:"));
	assert_null(strstr(stub_log, "create:"));
	assert_int_equal(f->d->recoveries_ok, 0);
}

/* The monitor dies while yaokid waits for it: yaokid recovers it. */
static void
test_monitor_gone_on_relist_recovers(void **state)
{
	struct fixture *f = *state;

	start_running(f);
	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_CRASH);
	f->st.doms[0].monitored = true;
	f->st.doms[0].action = HV_ACTION_COREDUMP_RESTART;
	stub_log[0] = '\0';
	relist(f);
	assert_int_equal(f->d->sm.state, YK_PAUSED);
	relist(f);                              /* still dumping */
	assert_null(strstr(stub_log, "destroy:"));
	f->st.doms[0].monitored = false;
	relist(f);
	assert_non_null(strstr(stub_log, "destroy:5 "));
	assert_non_null(strstr(stub_log, "create:"));
	assert_int_equal(f->d->domid, 100);
	assert_int_equal(f->d->recoveries_ok, 1);
}

/* A shutdown event that says who acts is acted on before any list. */
static void
test_shutdown_event_with_facts_acts_at_once(void **state)
{
	struct fixture *f = *state;
	struct hv_event ev = { .kind = HV_EV_SHUTDOWN, .name = "web01",
	    .domid = 5, .reason = YK_SD_CRASH, .facts = true,
	    .monitored = false, .action = HV_ACTION_PRESERVE };

	start_running(f);
	f->st.hv.on_event(f->st.hv.event_arg, &ev);
	assert_int_equal(f->d->sm.state, YK_UNRECOVERABLE);
	assert_string_equal(f->d->sm.reason,
	    "crashed; on_crash=preserve keeps it for debugging");
	assert_true(f->d->shutdown_seen);
	stub_log[0] = '\0';
	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_CRASH);
	f->st.doms[0].action = HV_ACTION_PRESERVE;
	relist(f);
	assert_null(strstr(stub_log, "destroy:"));
	assert_int_equal(f->d->sm.state, YK_UNRECOVERABLE);
}

static void
test_vanishes_while_not_recovering_absent(void **state)
{
	struct fixture *f = *state;

	start_running(f);
	f->st.ndoms = 0;
	stub_log[0] = '\0';
	relist(f);
	assert_int_equal(f->d->domid, -1);
	assert_int_equal(f->d->sm.state, YK_ABSENT);
	assert_string_equal(stub_log, "list ");
}

/*
 * A reload drops the domain while yaokid destroys it: it is still created
 * again, and the intent record in its state file is cleared.
 */
static void
test_dropped_mid_recovery_created_and_intent_cleared(void **state)
{
	struct fixture *f = *state;
	struct yk_conf_errors errs = { 0, NULL };
	struct yk_config *cfg;
	struct yk_persist p;
	char text[512];

	start_running(f);
	stub_hv_set(&f->st, 0, "web01", 5, HV_SHUTDOWN, YK_SD_CRASH);
	f->st.hold_destroy = true;
	stub_log[0] = '\0';
	relist(f);
	assert_string_equal(stub_log, "list list destroy:5 ");
	writer_drain(f->s->writer);
	assert_int_equal(persist_load(f->dir, "web01", &p), 1);
	assert_true(p.intent);
	assert_int_equal(p.intent_domid, 5);
	snprintf(text, sizeof(text),
	    "hypervisor = \"sim\"\nstate_dir = \"%s\"\n"
	    "domain \"web02\" { url = \"http://127.0.0.1:9/\"\n"
	    "  interval = \"1h\" }\n", f->dir);
	cfg = yk_config_load_text("test.conf", text, &errs);
	assert_non_null(cfg);
	sup_apply_config(f->s, cfg);
	assert_null(sup_find(f->s, "web01"));
	stub_release(&f->st);
	pump(f);
	/* The list after the destroy: the domain must be gone first. */
	assert_non_null(strstr(stub_log, "destroy:5 list "));
	assert_non_null(strstr(stub_log, " create:"));
	assert_true(strstr(stub_log, "destroy:5") < strstr(stub_log, " create:"));
	writer_drain(f->s->writer);
	assert_int_equal(persist_load(f->dir, "web01", &p), 1);
	assert_false(p.intent);
	assert_false(sup_busy(f->s));
}

/* ---- Xen's own tools, boots, half-built domains --------------------------- */

/* An intent record (to destroy domain 3) written on boot, as a yaokid
 * killed midway leaves it; creating: its create had started. */
static void
save_intent(struct fixture *f, const char *boot, bool creating)
{
	struct yk_persist p;

	memset(&p, 0, sizeof(p));
	p.created_domid = -1;
	p.intent = true;
	p.intent_domid = 3;
	p.intent_creating = creating;
	snprintf(p.boot_id, sizeof(p.boot_id), "%s", boot);
	assert_int_equal(persist_save(f->dir, "web01", &p), 0);
	assert_int_equal(persist_save_config(f->dir, "web01", "{\"c_info\":{}}"),
	    0);
}

/* A failing domain starts migrating away: paused, probes stop, no recovery. */
static void
test_migration_away_is_hands_off_then_absent(void **state)
{
	struct fixture *f = *state;
	struct yk_sm_event fail = { .kind = YK_EV_PROBE, .ok = false };

	start_running(f);
	sup_domain_step(f->d, &fail);
	stub_hv_set(&f->st, 0, "web01--migratedaway", 5, HV_RUNNING, YK_SD_UNKNOWN);
	relist(f);
	assert_int_equal(f->d->sm.state, YK_PAUSED);
	assert_string_equal(f->d->sm.reason, "migrating away");
	assert_int_equal(f->d->sm.xen_op, YK_XOP_MIGRATING_OUT);
	/* Probes still in flight count for nothing. */
	sup_domain_step(f->d, &fail);
	sup_domain_step(f->d, &fail);
	sup_domain_step(f->d, &fail);
	assert_int_equal(f->d->sm.state, YK_PAUSED);
	f->st.ndoms = 0;                      /* it now runs elsewhere */
	relist(f);
	assert_int_equal(f->d->sm.state, YK_ABSENT);
	assert_string_equal(f->d->sm.reason, "migrated away");
	assert_null(strstr(stub_log, "destroy"));
	assert_null(strstr(stub_log, "create"));
}

/*
 * xl migrate to this host, as real Xen orders it: first only xl's process
 * names the domain, then the receiver's NAME--incoming appears beside the
 * still unrenamed sender, then xl rolls back (no log-dirty mode): the
 * incoming copy goes, the sender stays. It is the sender's migration
 * throughout, and the domain that stayed is healthy again at once (no new
 * start period), with nothing destroyed or created.
 */
static void
test_local_migration_rolled_back_is_the_sender_s_throughout(void **state)
{
	struct fixture *f = *state;
	struct yk_sm_event ok = { .kind = YK_EV_PROBE, .ok = true };
	struct yk_sm_event fail = { .kind = YK_EV_PROBE, .ok = false };

	start_running(f);
	sup_domain_step(f->d, &ok);
	assert_int_equal(f->d->sm.state, YK_HEALTHY);
	/* A failed probe: the next list reads what xl processes do. */
	sup_domain_step(f->d, &fail);
	f->st.doms[0].xl_op = HV_XL_MIGRATE;
	relist(f);
	assert_int_equal(f->d->sm.state, YK_PAUSED);
	assert_int_equal(f->d->sm.xen_op, YK_XOP_MIGRATING_OUT);
	stub_hv_set(&f->st, 1, "web01--incoming", 9, HV_PAUSED, YK_SD_UNKNOWN);
	relist(f);
	assert_int_equal(f->d->sm.xen_op, YK_XOP_MIGRATING_OUT);
	assert_string_equal(f->d->sm.reason, "migrating away");
	assert_int_equal(f->d->domid, 5);
	f->st.ndoms = 1;                      /* the incoming copy is gone */
	f->st.doms[0].xl_op = HV_XL_NONE;     /* and xl migrate ended */
	relist(f);
	assert_int_equal(f->d->sm.state, YK_HEALTHY);
	assert_int_equal(f->d->sm.xen_op, YK_XOP_NONE);
	assert_int_equal(f->d->domid, 5);
	assert_null(strstr(stub_log, "destroy"));
	assert_null(strstr(stub_log, "create"));
}

/* An incoming migration keeps its domid when it takes the name: captured. */
static void
test_incoming_migration_is_captured_on_arrival(void **state)
{
	struct fixture *f = *state;

	stub_hv_set(&f->st, 0, "web01--incoming", 7, HV_PAUSED, YK_SD_UNKNOWN);
	sup_start(f->s);
	pump(f);
	assert_int_equal(f->d->sm.state, YK_PAUSED);
	assert_string_equal(f->d->sm.reason, "migrating in");
	assert_null(strstr(stub_log, "capture"));
	stub_hv_set(&f->st, 0, "web01", 7, HV_RUNNING, YK_SD_UNKNOWN);
	relist(f);
	assert_int_equal(f->d->sm.state, YK_STARTING);
	assert_int_equal(f->d->domid, 7);
	assert_non_null(strstr(stub_log, "capture:7"));
}

/* An intent of another boot whose domain is absent: never re-created. */
static void
test_intent_of_another_boot_makes_unrecoverable(void **state)
{
	struct fixture *f = *state;
	struct yk_persist p;

	save_intent(f, "old-boot", true);
	snprintf(f->st.hv.boot_id, sizeof(f->st.hv.boot_id), "new-boot");
	/* Domain 3 of the new boot is somebody else entirely. */
	stub_hv_set(&f->st, 0, "db01", 3, HV_RUNNING, YK_SD_UNKNOWN);
	sup_start(f->s);
	pump(f);
	assert_int_equal(f->d->sm.state, YK_UNRECOVERABLE);
	assert_string_equal(f->d->sm.reason, "host restarted during a recovery; "
	    "not re-created (it may run elsewhere)");
	assert_null(strstr(stub_log, "destroy"));
	assert_null(strstr(stub_log, "create"));
	writer_drain(f->s->writer);
	assert_int_equal(persist_load(f->dir, "web01", &p), 1);
	assert_false(p.intent);
	assert_true(p.unrecoverable);
	assert_string_equal(p.boot_id, "new-boot");
}

/* The same intent on the same boot: the recovery is finished. */
static void
test_intent_of_this_boot_is_finished(void **state)
{
	struct fixture *f = *state;

	f->st.capture_json = "{\"c_info\":{}}";
	save_intent(f, "this-boot", false);
	snprintf(f->st.hv.boot_id, sizeof(f->st.hv.boot_id), "this-boot");
	sup_start(f->s);
	pump(f);
	pump(f);
	assert_non_null(strstr(stub_log, "create:"));
	assert_int_equal(f->d->sm.state, YK_STARTING);
}

/* A paused domain found while an intent says our create had begun. */
static void
test_half_built_domain_is_destroyed(void **state)
{
	struct fixture *f = *state;

	save_intent(f, "this-boot", true);
	snprintf(f->st.hv.boot_id, sizeof(f->st.hv.boot_id), "this-boot");
	stub_hv_set(&f->st, 0, "web01", 8, HV_PAUSED, YK_SD_UNKNOWN);
	sup_start(f->s);
	pump(f);
	pump(f);
	assert_non_null(strstr(stub_log, "destroy:8"));
	assert_non_null(strstr(stub_log, "create:"));
	assert_true(strstr(stub_log, "destroy:8") < strstr(stub_log, "create:"));
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_appears_running_starting_and_captured),
		T(test_domid_change_while_healthy_is_gone_and_new),
		T(test_crash_starts_recovery),
		T(test_monitored_crash_waits_and_adopts),
		T(test_monitor_gone_on_relist_recovers),
		T(test_shutdown_event_with_facts_acts_at_once),
		T(test_vanishes_while_not_recovering_absent),
		T(test_dropped_mid_recovery_created_and_intent_cleared),
		T(test_migration_away_is_hands_off_then_absent),
		T(test_local_migration_rolled_back_is_the_sender_s_throughout),
		T(test_incoming_migration_is_captured_on_arrival),
		T(test_intent_of_another_boot_makes_unrecoverable),
		T(test_intent_of_this_boot_is_finished),
		T(test_half_built_domain_is_destroyed),
	};

	log_init("test_supervisor", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
