/*
 * hv.h - the hypervisor interface: a small table of asynchronous operations
 * and a stream of domain events, with two backends (libxl, sim).
 *
 * Every operation returns at once and completes later with a callback on
 * the main loop; none ever blocks the loop. Callbacks run exactly once.
 */
#ifndef YK_HV_H
#define YK_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "hv_types.h"

struct event_base;
struct hv;

struct hv_dominfo {
	char name[128];
	char uuid[40];
	int domid;
	enum hv_dstate state;
	enum yk_shutdown_reason reason;   /* valid when HV_SHUTDOWN */
	bool migrating;                   /* "--incoming" / "--migratedaway" */
	enum hv_xl_op xl_op;              /* an xl migrate/save at work on it */
	/*
	 * Valid when HV_SHUTDOWN: whether an xl monitor (the process `xl
	 * create` leaves behind) is alive for this domid, and the domain's
	 * own action for the reason it shut down with (on_crash for a crash,
	 * on_watchdog, on_reboot, on_poweroff), HV_ACTION_UNKNOWN if the
	 * backend cannot tell.
	 */
	bool monitored;
	enum hv_action action;
	int64_t start_wall_ms;            /* when it was created (ms since the
	                                     epoch); 0 when unknown */
};

/* Who a destroy expects to find at the domid it names. */
struct hv_ident {
	const char *name;
	const char *uuid;                 /* "" or NULL: not checked */
};

enum hv_event_kind {
	HV_EV_SHUTDOWN,    /* the guest shut down; .reason, and when .facts
	                      who acts on it (.monitored, .action); without
	                      them the next list says */
	HV_EV_GONE,        /* the domain no longer exists (or is dying) */
	HV_EV_CREATED,     /* a domain appeared */
	HV_EV_PAUSED,
	HV_EV_UNPAUSED,
	HV_EV_RESYNC,      /* events may have been lost: list again */
};

struct hv_event {
	enum hv_event_kind kind;
	const char *name;
	int domid;
	enum yk_shutdown_reason reason;
	bool facts;                       /* SHUTDOWN: monitored, action are set */
	bool monitored;                   /* as in struct hv_dominfo */
	enum hv_action action;
};

typedef void hv_event_fn(void *arg, const struct hv_event *ev);
/*
 * A list that also finds the domains Xen's command-line tools work on
 * (xl migrate/remus/save: hv_dominfo.xl_op). The libxl backend reads the
 * process table for it, which costs Dom0 a syscall per process: asked for
 * when a decision depends on it (failing domains, recoveries), not on
 * every idle second. Without it xl_op is HV_XL_NONE.
 */
#define HV_LIST_TOOLS 0x1

/*
 * The error a destroy reports when it refused because an xl migrate, save
 * or remus works on the domain: nothing was destroyed, Xen's tools have it.
 * (Other failures are -1.)
 */
#define HV_ERR_XEN_TOOLS (-2)

typedef void hv_list_fn(void *arg, int err, const struct hv_dominfo *doms, size_t n);
typedef void hv_capture_fn(void *arg, int err, const char *config_json);
typedef void hv_create_fn(void *arg, int err, int domid, const char *errmsg);
typedef void hv_done_fn(void *arg, int err, const char *errmsg);

struct hv_ops {
	const char *name;
	void (*close)(struct hv *hv);
	/* flags: HV_LIST_* */
	void (*list)(struct hv *hv, unsigned flags, hv_list_fn *cb, void *arg);
	void (*capture)(struct hv *hv, int domid, hv_capture_fn *cb, void *arg);
	/*
	 * Destroys domid and completes once it is gone or a bound has passed.
	 * Right before acting it checks that domid still is expect (name and
	 * uuid, read afresh) and is not being migrated; if not, nothing is
	 * destroyed and the callback gets an error saying what is there.
	 * A domid already gone completes without error.
	 */
	void (*destroy)(struct hv *hv, int domid, const struct hv_ident *expect,
	    hv_done_fn *cb, void *arg);
	/* Creates (and unpauses) a domain from a captured configuration. */
	void (*create)(struct hv *hv, const char *config_json, hv_create_fn *cb, void *arg);
	void (*reboot)(struct hv *hv, int domid, hv_done_fn *cb, void *arg);
};

struct hv {
	const struct hv_ops *ops;
	struct event_base *base;
	hv_event_fn *on_event;
	void *event_arg;
	/* The backend broke for good and stopped the loop (yaokid exits 2). */
	bool failed;
	/*
	 * The host's current boot (Dom0's boot id on Xen; a new one at each
	 * start of yaoki-simhv): domids of another boot name other domains.
	 * "" until the backend knows it (the sim: after its first list).
	 */
	char boot_id[40];
};

/*
 * Opens the backend the configuration names. On failure returns NULL with a
 * one-line reason in err (yaokid then exits 2).
 */
struct hv *hv_open(const struct yk_config *cfg, struct event_base *base,
    char *err, size_t errlen);
/* Where the backend delivers domain events (none until this is called). */
void hv_set_event_handler(struct hv *hv, hv_event_fn *on_event, void *arg);

struct hv *hv_sim_open(const char *socket_path, struct event_base *base,
    char *err, size_t errlen);
struct hv *hv_libxl_open(struct event_base *base, char *err, size_t errlen);

#endif
