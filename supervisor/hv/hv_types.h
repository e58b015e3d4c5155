/*
 * hv_types.h - the hypervisor's words for a domain's condition, shared by
 * the backends and the state machine: run states, Xen's shutdown
 * reasons and a domain's own actions on shutdown, with their names.
 */
#ifndef YK_HV_TYPES_H
#define YK_HV_TYPES_H

#include <stdbool.h>

enum hv_dstate { HV_RUNNING, HV_PAUSED, HV_SHUTDOWN, HV_DYING };

/* Xen's shutdown reasons, same order as libxl's. */
enum yk_shutdown_reason {
	YK_SD_POWEROFF = 0,
	YK_SD_REBOOT,
	YK_SD_SUSPEND,
	YK_SD_CRASH,
	YK_SD_WATCHDOG,
	YK_SD_SOFT_RESET,
	YK_SD_UNKNOWN,
};
#define YK_NSHUTDOWN_REASONS (YK_SD_UNKNOWN + 1)

/*
 * A domain's own policy for a shutdown (its configuration's on_crash,
 * on_watchdog, on_reboot, on_poweroff), numbered as libxl's
 * libxl_action_on_shutdown; 0 when it is not known. Xen never acts on it:
 * the domain's xl monitor does, if it has one.
 */
enum hv_action {
	HV_ACTION_UNKNOWN = 0,
	HV_ACTION_DESTROY = 1,
	HV_ACTION_RESTART,
	HV_ACTION_RENAME_RESTART,
	HV_ACTION_PRESERVE,
	HV_ACTION_COREDUMP_DESTROY,
	HV_ACTION_COREDUMP_RESTART,
	HV_ACTION_SOFT_RESET,
};
#define HV_NACTIONS (HV_ACTION_SOFT_RESET + 1)

/*
 * What one of Xen's own tools (a running xl migrate, remus or save, or
 * libxl's save helper) is doing to a domain; see hv_xlproc.h.
 */
enum hv_xl_op {
	HV_XL_NONE = 0,
	HV_XL_MIGRATE,     /* xl migrate or xl remus: it is leaving this host */
	HV_XL_SAVE,        /* xl save (or a save helper of another caller) */
};
const char *hv_xl_op_name(enum hv_xl_op op);	/* "migrate", "save", NULL */

/*
 * xl migrate renames the sending domain "NAME--migratedaway" and creates
 * the receiving one as "NAME--incoming" until it takes over NAME.
 */
#define HV_SUFFIX_MIGRATEDAWAY "--migratedaway"
#define HV_SUFFIX_INCOMING     "--incoming"
/* True for a name with one of those suffixes. */
bool hv_migrating_name(const char *name);

const char *hv_dstate_name(enum hv_dstate s);                   /* "running" */
const char *yk_shutdown_reason_name(enum yk_shutdown_reason r); /* "crash" */
int yk_shutdown_reason_from_name(const char *name);            /* -1 if unknown */
/* As xl's configuration spells it: "restart", "coredump-destroy"... */
const char *hv_action_name(enum hv_action a);
int hv_action_from_name(const char *name);                     /* -1 if unknown */
/* The configuration key for reason's action: "on_crash"; NULL: none. */
const char *hv_action_key(enum yk_shutdown_reason r);
/* The monitor brings a new incarnation back (restart, rename-restart,
 * coredump-restart, soft-reset). */
bool hv_action_restarts(enum hv_action a);
/* The monitor destroys it and creates nothing (destroy, coredump-destroy). */
bool hv_action_destroys(enum hv_action a);
/* It dumps the core first, which may take long (coredump-*). */
bool hv_action_dumps(enum hv_action a);

#endif
