/*
 * hv_types.c - names of hypervisor-level domain states and of Xen's
 * shutdown reasons (as logs, the sim protocol and libxl spell them), and
 * of a domain's own actions on shutdown (as xl's configuration spells them).
 */
#include "config.h"

#include <string.h>

#include "hv_types.h"

static const char *const shutdown_names[YK_NSHUTDOWN_REASONS] = {
	[YK_SD_POWEROFF] = "poweroff",
	[YK_SD_REBOOT] = "reboot",
	[YK_SD_SUSPEND] = "suspend",
	[YK_SD_CRASH] = "crash",
	[YK_SD_WATCHDOG] = "watchdog",
	[YK_SD_SOFT_RESET] = "soft_reset",
	[YK_SD_UNKNOWN] = "unknown",
};

static const char *const action_names[HV_NACTIONS] = {
	[HV_ACTION_UNKNOWN] = "unknown",
	[HV_ACTION_DESTROY] = "destroy",
	[HV_ACTION_RESTART] = "restart",
	[HV_ACTION_RENAME_RESTART] = "rename-restart",
	[HV_ACTION_PRESERVE] = "preserve",
	[HV_ACTION_COREDUMP_DESTROY] = "coredump-destroy",
	[HV_ACTION_COREDUMP_RESTART] = "coredump-restart",
	[HV_ACTION_SOFT_RESET] = "soft-reset",
};

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && strcmp(s + n - k, suffix) == 0;
}

bool
hv_migrating_name(const char *name)
{
	return has_suffix(name, HV_SUFFIX_MIGRATEDAWAY) ||
	    has_suffix(name, HV_SUFFIX_INCOMING);
}

const char *
hv_dstate_name(enum hv_dstate s)
{
	switch (s) {
	case HV_RUNNING: return "running";
	case HV_PAUSED: return "paused";
	case HV_SHUTDOWN: return "shutdown";
	case HV_DYING: return "dying";
	}
	return "unknown";
}

const char *
yk_shutdown_reason_name(enum yk_shutdown_reason r)
{
	if ((unsigned)r >= YK_NSHUTDOWN_REASONS)
		return "unknown";
	return shutdown_names[r];
}

int
yk_shutdown_reason_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < YK_NSHUTDOWN_REASONS; i++)
		if (strcmp(name, shutdown_names[i]) == 0)
			return i;
	return -1;
}

const char *
hv_action_name(enum hv_action a)
{
	if ((unsigned)a >= HV_NACTIONS)
		return "unknown";
	return action_names[a];
}

int
hv_action_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < HV_NACTIONS; i++)
		if (strcmp(name, action_names[i]) == 0)
			return i;
	return -1;
}

const char *
hv_action_key(enum yk_shutdown_reason r)
{
	switch (r) {
	case YK_SD_POWEROFF: return "on_poweroff";
	case YK_SD_REBOOT: return "on_reboot";
	case YK_SD_CRASH: return "on_crash";
	case YK_SD_WATCHDOG: return "on_watchdog";
	case YK_SD_SOFT_RESET: return "on_soft_reset";
	default: return NULL;
	}
}

bool
hv_action_restarts(enum hv_action a)
{
	return a == HV_ACTION_RESTART || a == HV_ACTION_RENAME_RESTART ||
	    a == HV_ACTION_COREDUMP_RESTART || a == HV_ACTION_SOFT_RESET;
}

bool
hv_action_destroys(enum hv_action a)
{
	return a == HV_ACTION_DESTROY || a == HV_ACTION_COREDUMP_DESTROY;
}

bool
hv_action_dumps(enum hv_action a)
{
	return a == HV_ACTION_COREDUMP_DESTROY ||
	    a == HV_ACTION_COREDUMP_RESTART;
}

const char *
hv_xl_op_name(enum hv_xl_op op)
{
	switch (op) {
	case HV_XL_MIGRATE: return "migrate";
	case HV_XL_SAVE: return "save";
	default: return NULL;
	}
}
