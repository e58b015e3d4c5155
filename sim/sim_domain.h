/*
 * sim_domain.h - the simulated domains: ids, states, lifecycle (create,
 * destroy, shutdown, pause), per-name fault injection and the "xl monitor"
 * of the domains simhv booted, which carries out their own actions on
 * shutdown (on_crash, on_reboot...).
 */
#ifndef SIM_DOMAIN_H
#define SIM_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_conf.h"
#include "sim_guest.h"

struct event_base;
struct json_object;
struct sim_domain;

enum sim_state { SIM_RUNNING, SIM_PAUSED, SIM_SHUTDOWN, SIM_DYING };

enum sim_reason {
	SIM_R_NONE,
	SIM_R_POWEROFF,
	SIM_R_REBOOT,
	SIM_R_SUSPEND,
	SIM_R_CRASH,
	SIM_R_WATCHDOG,
	SIM_R_SOFT_RESET,
};

/* A domain's configuration: what `capture` gives and `create` takes. */
struct sim_dconf {
	char name[SIM_NAME_MAX + 1];
	char uuid[37];
	char *listen;			/* NULL only with a guest program */
	char *guest;			/* NULL: simhv serves the guest */
	uint64_t boot_time_ms;
	enum sim_action on[SIM_NON];	/* its own actions on shutdown */
};

/*
 * Every change, for the event stream; reason and action (the domain's own
 * for that reason, NULL if none) are NULL and monitored -1 except for
 * "shutdown", old_name NULL except for "renamed".
 */
typedef void sim_event_fn(const char *event, const char *name, int domid,
    const char *reason, const char *old_name, const char *action,
    int monitored);

/* Xen's own operations (xl migrate, xl save, xl restore). */
enum sim_migrate { SIM_MIGRATE_OUT, SIM_MIGRATE_IN, SIM_MIGRATE_LOCAL };
/* Longest migrate, save or restore: one hour. */
#define SIM_OP_MAX_MS	3600000u
/* domid > 0, or -1 with err. */
typedef void sim_create_fn(void *arg, int domid, const char *err);
/* err is NULL once the domain is gone (non-NULL only when simhv stops). */
typedef void sim_destroy_fn(void *arg, const char *err);

void sim_domains_init(struct event_base *base, const struct sim_conf *conf,
    sim_event_fn *on_event);
/* Creates the configured domains (monitor = true) but autostart = false. */
void sim_domains_boot(const struct sim_conf *conf);
/* This run's random id (32 hex digits): every start is a new host boot. */
const char *sim_boot_id(void);
/* Frees everything; pending callbacks get an error; no events. */
void sim_domains_free(void);

/* A name (the live domain, else the newest dying one) or a domid. */
struct sim_domain *sim_domain_find(const char *name_or_domid);
const char *sim_domain_name(const struct sim_domain *d);
enum sim_state sim_domain_state(const struct sim_domain *d);

struct json_object *sim_domains_list_json(bool brief);
/* The configuration as JSON text (malloc'ed), or NULL with err. */
char *sim_domain_capture(const struct sim_domain *d, char *err, size_t errlen);
int sim_dconf_parse(const char *json, struct sim_dconf *c, char *err,
    size_t errlen);
void sim_dconf_clear(struct sim_dconf *c);

/*
 * Starts a create; the callback runs after the name's create delay. Returns
 * -1 with err (and no callback) when it cannot even start.
 */
int sim_domain_create(const struct sim_dconf *c, bool monitor, bool paused,
    sim_create_fn *cb, void *arg, char *err, size_t errlen);
/* Dying at once; cb (may be NULL) runs when it is freed. */
void sim_domain_destroy(struct sim_domain *d, sim_destroy_fn *cb, void *arg);
int sim_domain_shutdown(struct sim_domain *d, enum sim_reason reason,
    char *err, size_t errlen);
/* Graceful: shuts down with reason reboot 100 ms later. */
int sim_domain_reboot(struct sim_domain *d, char *err, size_t errlen);
int sim_domain_pause(struct sim_domain *d, bool pause, char *err,
    size_t errlen);
/* xl rename: same domid, new name. */
int sim_domain_rename(struct sim_domain *d, const char *name, char *err,
    size_t errlen);
/*
 * Starts a migration of key (a name; a domid too but for SIM_MIGRATE_IN).
 * A sender (out, local) first spends prepare_ms as xl migrate does before
 * its last round: the domain keeps its name, only the xl process shows.
 */
int sim_domain_migrate(const char *key, enum sim_migrate how, uint64_t ms,
    uint64_t prepare_ms, char *err, size_t errlen);
int sim_domain_save(struct sim_domain *d, uint64_t ms, char *err,
    size_t errlen);
int sim_domain_restore(const char *name, uint64_t ms, char *err,
    size_t errlen);
int sim_domain_set_behaviour(struct sim_domain *d, enum sim_behaviour b,
    unsigned slow_ms, bool sticky, char *err, size_t errlen);

/* The xl monitor of d dies (an operator killed the xl process). */
/* (also between the destroy and the create of its restart: by name). */
int sim_domain_kill_monitor(const char *name_or_domid, char *err,
    size_t errlen);
/* d's own action for one shutdown reason (xl's on_crash...). */
int sim_domain_set_action(struct sim_domain *d, enum sim_on on,
    enum sim_action a, char *err, size_t errlen);

/* Per-name settings; they outlive the domains of that name. */
int sim_name_fail_create(const char *name, unsigned count, char *err,
    size_t errlen);
/* What takes ms: create, destroy, a monitor's restart or core dump. */
enum sim_delay { SIM_DELAY_CREATE, SIM_DELAY_DESTROY, SIM_DELAY_RESTART,
	SIM_DELAY_DUMP };
int sim_name_delay(const char *name, enum sim_delay what, uint64_t ms,
    char *err, size_t errlen);

#endif
