/*
 * hv_types.c - names of hypervisor-level domain states and of Xen's
 * shutdown reasons (as logs, the sim protocol and libxl spell them).
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
