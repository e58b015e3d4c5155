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
};
void yk_sm_params_from_conf(struct yk_sm_params *p, const struct yk_domain_conf *c);

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
	bool xen_paused;            /* paused in Xen or migrating */
	bool created_by_us;         /* yaokid created the current incarnation (persisted) */
	bool reboot_pending;        /* on_failure=reboot: waiting for health after a reboot */
	unsigned nhist;             /* recovery start times, oldest first (persisted) */
	unsigned hist_cap;          /* entries allocated at hist (<= YK_SM_HIST_MAX) */
	int64_t *hist;              /* owned; freed by yk_sm_free */
	char reason[200];           /* why it is unrecoverable / absent / recovering */
};

enum yk_sm_event_kind {
	YK_EV_PROBE,           /* .ok: one probe verdict */
	YK_EV_DOMAIN_UP,       /* the domain exists and runs (first seen, new domid, unpaused) */
	YK_EV_DOMAIN_PAUSED,   /* paused in Xen, or being migrated */
	YK_EV_DOMAIN_SHUTDOWN, /* .reason: the guest shut down (domain still exists) */
	YK_EV_DOMAIN_GONE,     /* vanished, and not because yaokid destroyed it */
	YK_EV_RECOVERY_DONE,   /* .ok: yaokid's destroy+create finished (ok = created) */
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
	bool hold;                      /* a mass-failure hold is in force */
};

/* Actions: a bit set returned by yk_sm_step. */
#define YK_ACT_RECOVER  0x01u  /* destroy (if it exists) + create, then deliver RECOVERY_DONE */
#define YK_ACT_REBOOT   0x02u  /* ask the guest for a graceful reboot */
#define YK_ACT_DESTROY  0x04u  /* destroy the (shut down) domain and leave it absent */
#define YK_ACT_HOOK     0x08u  /* just entered unrecoverable: run the hook once */
#define YK_ACT_PERSIST  0x10u  /* persisted fields changed: save them */

void yk_sm_init(struct yk_sm *sm);   /* ABSENT, everything zero */
void yk_sm_free(struct yk_sm *sm);   /* its history; the machine is ABSENT again */
/* Room for n history entries (at most YK_SM_HIST_MAX); false if out of memory. */
bool yk_sm_hist_reserve(struct yk_sm *sm, unsigned n);
unsigned yk_sm_step(struct yk_sm *sm, const struct yk_sm_params *p,
    const struct yk_sm_event *ev, int64_t now);

/* True in the states where the domain is probed: starting, healthy, failing. */
bool yk_sm_probing(const struct yk_sm *sm);
/* Recoveries in the sliding window ending at now. */
unsigned yk_sm_recoveries_in_window(const struct yk_sm *sm,
    const struct yk_sm_params *p, int64_t now);
/* The wait before the next attempt of the current streak (0 for the first). */
int64_t yk_sm_backoff_delay(const struct yk_sm *sm, const struct yk_sm_params *p);

#endif
