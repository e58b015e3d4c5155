/*
 * sm.h - the per-domain state machine: a pure function of
 * (state, event, now) -> (new state, actions).
 *
 * No I/O, no clock reads, no allocation: the caller passes the time in and
 * carries out the returned actions (start a recovery, run the hook, save
 * state...). Unit tests drive it with a fake clock.
 */
#ifndef YK_SM_H
#define YK_SM_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "hv_types.h"

enum yk_state {
	YK_ABSENT,
	YK_STARTING,
	YK_HEALTHY,
	YK_FAILING,
	YK_RECOVERING,
	YK_BACKOFF,
	YK_UNRECOVERABLE,
	YK_PAUSED,
};
#define YK_NSTATES 8

const char *yk_state_name(enum yk_state s);            /* "healthy", ... */
int yk_state_from_name(const char *name);              /* -1 if unknown */

/* What the machine needs from the domain's configuration. */
struct yk_sm_params {
	unsigned failures;
	unsigned successes;
	int64_t start_period_ms;
	unsigned max_recoveries;
	int64_t recovery_window_ms;
	int64_t backoff_ms;
	int64_t backoff_max_ms;
	enum yk_on_failure on_failure;
	enum yk_on_crash on_crash;
	/*
	 * How long an xl monitor may take to restart or destroy a domain that
	 * shut down before yaokid acts itself, and how much longer when it
	 * dumps the core first (coredump-*).
	 */
	int64_t monitor_wait_ms;
	int64_t coredump_wait_ms;
};
#define YK_SM_MONITOR_WAIT_MS   120000
#define YK_SM_COREDUMP_WAIT_MS  600000
void yk_sm_params_from_conf(struct yk_sm_params *p, const struct yk_domain_conf *c);

/*
 * What Xen's own tools are doing with the domain. While one of these runs,
 * yaokid neither destroys nor creates it, and probes do not count.
 */
enum yk_xen_op {
	YK_XOP_NONE,
	YK_XOP_MIGRATING_OUT,      /* "NAME--migratedaway": xl migrate sends it */
	YK_XOP_MIGRATING_IN,       /* "NAME--incoming": xl migrate-receive */
	YK_XOP_SAVING,             /* shut down with reason suspend: xl save */
	YK_XOP_RESTORING,          /* created paused from a save image */
	YK_XOP_MONITOR,            /* its xl monitor acts on its crash or
	                              watchdog (restart, or destroy and then
	                              yaokid re-creates it) */
};
/* The status reason while op runs ("migrating away", "being saved"...). */
const char *yk_xen_op_reason(enum yk_xen_op op);

/*
 * >= the largest max_recoveries the configuration allows (100), with room
 * for operator `recover`s. The history grows on demand: a domain that never
 * needed a recovery carries none of it.
 */
#define YK_SM_HIST_MAX 128

struct yk_sm {
	enum yk_state state;
	unsigned consecutive_failures;
	unsigned consecutive_successes;
	int64_t start_until;        /* STARTING: end of the start period */
	bool start_seen_ok;         /* STARTING: a probe succeeded since (re)start */
	int64_t wake_at;            /* when the caller must deliver YK_EV_TIMER; 0 = never */
	unsigned streak;            /* recovery attempts since the domain was last healthy */
	bool maintenance;           /* paused by `yaokictl pause` (persisted) */
	bool xen_paused;            /* paused in Xen */
	enum yk_xen_op xen_op;      /* Xen's own tools are handling it */
	bool created_by_us;         /* yaokid created the current incarnation (persisted) */
	bool reboot_pending;        /* on_failure=reboot: waiting for health after a reboot */
	bool monitor_restarts;      /* YK_XOP_MONITOR: the monitor brings the domain
	                               back (else it destroys it and yaokid then
	                               re-creates it) */
	enum yk_shutdown_reason monitor_reason;   /* YK_XOP_MONITOR: crash, watchdog */
	unsigned nhist;             /* recovery start times, oldest first (persisted) */
	unsigned hist_cap;          /* entries allocated at hist (<= YK_SM_HIST_MAX) */
	int64_t *hist;              /* owned; freed by yk_sm_free */
	char reason[200];           /* why it is unrecoverable / absent / recovering */
};

enum yk_sm_event_kind {
	YK_EV_PROBE,           /* .ok: one probe verdict */
	YK_EV_DOMAIN_UP,       /* the domain exists and runs (first seen, new domid,
	                          unpaused); .ours, .started */
	YK_EV_DOMAIN_PAUSED,   /* paused in Xen */
	YK_EV_DOMAIN_SHUTDOWN, /* .reason, .monitored, .action: the guest shut down
	                          (domain still exists) */
	YK_EV_MONITOR_GONE,    /* the xl monitor of the shut-down domain died */
	YK_EV_DOMAIN_GONE,     /* vanished, and not because yaokid destroyed it; .owed */
	YK_EV_RECOVERY_DONE,   /* .ok: yaokid's destroy+create finished (ok = created) */
	YK_EV_XEN_OP,          /* .op: Xen's own tools took the domain over */
	YK_EV_ADOPTED,         /* a domain yaokid did not create holds the name now
	                          (xl monitor, operator, xendomains); .started */
	YK_EV_INTENT_FAILED,   /* .why: the intent record could not be written, so
	                          the recovery destroyed nothing */
	YK_EV_GAVE_UP,         /* .why: the recovery cannot succeed (nothing to create
	                          the domain from) */
	YK_EV_HOST_REBOOTED,   /* a recovery was cut short by a host reboot and the
	                          domain is absent: it may run elsewhere now */
	YK_EV_RESUME_RECOVERY, /* a recovery interrupted on this boot (yaokid killed,
	                          a half-built domain found) is to be finished;
	                          .ok: it had finished (its domain runs) */
	YK_EV_TIMER,           /* now >= wake_at */
	YK_EV_CMD_PAUSE,
	YK_EV_CMD_RESUME,
	YK_EV_CMD_RECOVER,
	YK_EV_CMD_RESET,
};

struct yk_sm_event {
	enum yk_sm_event_kind kind;
	bool ok;                        /* PROBE, RECOVERY_DONE */
	enum yk_shutdown_reason reason; /* DOMAIN_SHUTDOWN */
	bool monitored;                 /* DOMAIN_SHUTDOWN: an xl monitor is alive */
	enum hv_action action;          /* DOMAIN_SHUTDOWN: the domain's own action
	                                   for reason (on_crash...) */
	bool hold;                      /* a mass-failure hold is in force */
	enum yk_xen_op op;              /* XEN_OP */
	bool owed;                      /* DOMAIN_GONE: yaokid destroyed it itself
	                                   and still owes the create (intent) */
	bool ours;                      /* DOMAIN_UP, DOMAIN_SHUTDOWN: the incarnation
	                                   yaokid created */
	bool stayed;                    /* DOMAIN_UP: the incarnation Xen's tools
	                                   held is still here (a migration away
	                                   or a save that did not happen) */
	int64_t started;                /* DOMAIN_UP, ADOPTED: when the domain was
	                                   created, on the caller's clock (0: now) */
	const char *why;                /* INTENT_FAILED, GAVE_UP */
};

/* Actions: a bit set returned by yk_sm_step. */
#define YK_ACT_RECOVER  0x01u  /* destroy (if it exists) + create, then deliver RECOVERY_DONE */
#define YK_ACT_REBOOT   0x02u  /* ask the guest for a graceful reboot */
#define YK_ACT_DESTROY  0x04u  /* destroy the (shut down) domain and leave it absent */
#define YK_ACT_HOOK     0x08u  /* just entered unrecoverable: run the hook once */
#define YK_ACT_PERSIST  0x10u  /* persisted fields changed: save them */
#define YK_ACT_CANCEL   0x20u  /* drop the pending recovery (Xen's tools took over) */

void yk_sm_init(struct yk_sm *sm);   /* ABSENT, everything zero */
void yk_sm_free(struct yk_sm *sm);   /* its history; the machine is ABSENT again */
/* Room for n history entries (at most YK_SM_HIST_MAX); false if out of memory. */
bool yk_sm_hist_reserve(struct yk_sm *sm, unsigned n);
unsigned yk_sm_step(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now);

/* What persists of a machine across restarts of yaokid. */
struct yk_sm_saved {
	bool maintenance;
	bool unrecoverable;
	bool created_by_us;
	unsigned streak;
	unsigned nhist;
	const int64_t *hist;        /* on the caller's clock, oldest first */
	const char *reason;
};
/* Restores a machine (fresh from yk_sm_init) from what was saved. */
void yk_sm_restore(struct yk_sm *sm, const struct yk_sm_saved *saved,
    int64_t now);

/* True in the states where the domain is probed: starting, healthy, failing. */
bool yk_sm_probing(const struct yk_sm *sm);
/* Recoveries in the sliding window ending at now. */
unsigned yk_sm_recoveries_in_window(const struct yk_sm *sm,
    const struct yk_sm_params *p, int64_t now);
/* The wait before the next attempt of the current streak (0 for the first). */
int64_t yk_sm_backoff_delay(const struct yk_sm *sm, const struct yk_sm_params *p);

#endif
