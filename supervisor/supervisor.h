/*
 * supervisor.h - the daemon's world: the configured domains, their state
 * machines, probe schedules, hypervisor view and the mass-failure hold.
 *
 * supervisor.c turns inputs (probe verdicts, hypervisor lists and events,
 * timers, operator commands) into state-machine events and carries out the
 * actions the machine returns; recovery.c carries out recoveries for it
 * and reports each one's outcome, which supervisor.c applies to the
 * domain. Alerts go out through the alert callback (yaokid.c runs the hook
 * with the status JSON). Everything runs on the one libevent loop.
 */
#ifndef YK_SUPERVISOR_H
#define YK_SUPERVISOR_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "control_proto.h"
#include "sm.h"
#include "hold.h"
#include "hv.h"
#include "latency.h"
#include "probe.h"

struct event;
struct event_base;
struct recovery;
struct recovery_queue;

struct sup_domain {
	TAILQ_ENTRY(sup_domain) entry;
	struct sup *sup;
	struct yk_domain_conf *conf;     /* points into sup->cfg */
	struct yk_sm_params params;
	struct yk_sm sm;
	int domid;                       /* -1: not known to exist */
	char uuid[40];                   /* of the incarnation at domid, "" */
	int created_domid;               /* the incarnation yaokid created, -1 */
	bool shutdown_seen;              /* SHUTDOWN already delivered for domid */
	char record_boot[40];            /* the boot the persisted domids belong
	                                    to ("" : unknown, an older record) */
	bool boot_checked;               /* record_boot compared with the host's */
	char *captured;                  /* configuration JSON, or NULL */
	bool capturing;

	/* probing */
	struct probe *probe;
	struct event *probe_timer;
	int64_t next_probe_at;
	bool probing;                    /* a schedule is armed */
	struct event *sm_timer;

	/* recovery */
	struct recovery *rec;            /* in progress or queued */
	bool intent;                     /* persisted intent record in force */
	int intent_domid;
	int64_t intent_wall_ms;
	char intent_uuid[40];            /* the incarnation it was to destroy */
	bool intent_creating;            /* its create had started */
	bool create_owed;                /* the intent's incarnation is gone
	                                    (yaokid destroyed it): the intent
	                                    outlives Xen's tools taking over */
	int halfbuilt_domid;             /* the next recovery destroys this paused
	                                    domain yaokid never unpaused, -1 */
	int expect_gone_domid;           /* a domid yaokid destroyed itself */

	/* reporting */
	bool have_probe;
	time_t probe_at;
	bool probe_ok;
	long probe_status;
	double probe_ms;
	char probe_error[160];
	bool have_recovery;
	time_t recovery_at;
	char recovery_result[16];
	double recovery_seconds;
	uint64_t probes_ok, probes_fail;
	uint64_t recoveries_ok, recoveries_failed;

	/* its share of the mass-failure counts (struct sup n_probed/n_failing) */
	bool counted_probed, counted_failing;

	int refs;                        /* async operations holding it */
	bool removed;                    /* dropped by a reload; freed at refs 0 */
};
TAILQ_HEAD(sup_domain_list, sup_domain);

struct sup {
	struct event_base *base;
	struct yk_config *cfg;
	struct hv *hv;
	struct probe_engine *probes;
	struct sup_domain_list domains;
	struct event *list_timer;
	bool list_pending;
	int64_t list_asked_ms;           /* when the pending list was asked for */
	unsigned lists_since_tools;      /* lists without HV_LIST_TOOLS */
	bool list_again;                 /* a list was asked for while one ran */
	bool listed_once;
	bool hold;
	unsigned n_probed, n_failing;    /* kept by tally(): no walk per probe */
	struct yk_hook_rate hook_rate;   /* mass-failure hook runs (hold.h) */
	uint64_t hooks_suppressed;       /* mass-failure runs refused by it */
	char host[256];
	struct recovery_queue *recoveries;   /* recovery.h */
	struct writer *writer;           /* state_dir's files (writer.h) */
	struct writer *metrics_writer;   /* metrics_file, apart: a slow textfile
	                                    directory never delays the intent */
	struct yk_latency latency;       /* probe durations, for metrics */
	/* the daemon's reload entry point (yaokid.c) */
	int (*reload)(struct sup *s, char *err, size_t errlen);
	/*
	 * The daemon's alert (yaokid.c runs the hook): EVENT "unrecoverable"
	 * (d set) or "mass-failure" (d NULL). NULL: no alerts.
	 */
	void (*alert)(struct sup *s, const char *event, struct sup_domain *d,
	    const char *reason);
	bool stopping;
};

struct sup *sup_new(struct event_base *base, struct yk_config *cfg, struct hv *hv);
void sup_start(struct sup *s);
/* After the hypervisor backend was closed (nothing calls back any more). */
void sup_free(struct sup *s);
/* A clean stop begins: no new list, no queued recovery starts. */
void sup_stop(struct sup *s);
/* Applies a new configuration in place; takes ownership of cfg. */
void sup_apply_config(struct sup *s, struct yk_config *cfg);

struct sup_domain *sup_find(struct sup *s, const char *name);
/* Operator commands: pause, resume, recover, reset. 0, or -1 with err. */
int sup_command(struct sup *s, enum yk_ctl_cmd cmd, struct sup_domain *d,
    char *err, size_t errlen);
/* Feeds one event to d's state machine and carries out the actions. */
void sup_domain_step(struct sup_domain *d, const struct yk_sm_event *ev);

void sup_domain_ref(struct sup_domain *d);
void sup_domain_unref(struct sup_domain *d);
/* Captures d's configuration from the running domain (asynchronous). */
void sup_capture(struct sup_domain *d);
/* Persists d's record (history, flags, intent). */
void sup_domain_save(struct sup_domain *d);
/* Asks for a hypervisor list soon (coalesced). */
void sup_request_list(struct sup *s);
/* True when recoveries or file writes are in flight (for a clean stop). */
bool sup_busy(const struct sup *s);

#endif
