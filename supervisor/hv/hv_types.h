/*
 * hv_types.h - the hypervisor's words for a domain's condition, shared by
 * the backends and the state machine: run states and Xen's shutdown
 * reasons, with their names.
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

#endif
