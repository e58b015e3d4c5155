/*
 * sim_conf.h - yaoki-simhv's configuration file (libconfuse): the domains
 * it boots at start and the default delays.
 */
#ifndef SIM_CONF_H
#define SIM_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A domain's own action on a shutdown (xl's on_poweroff, on_reboot,
 * on_watchdog, on_crash), carried out by its monitor, as xl spells them.
 */
enum sim_action {
	SIM_A_DESTROY = 1,
	SIM_A_RESTART,
	SIM_A_RENAME_RESTART,
	SIM_A_PRESERVE,
	SIM_A_COREDUMP_DESTROY,
	SIM_A_COREDUMP_RESTART,
	SIM_A_SOFT_RESET,
};
/* The shutdown reasons a domain has an action for, in this order. */
enum sim_on { SIM_ON_POWEROFF, SIM_ON_REBOOT, SIM_ON_WATCHDOG, SIM_ON_CRASH };
#define SIM_NON 4

const char *sim_action_name(enum sim_action a);   /* "restart" */
int sim_action_from_name(const char *s);           /* -1 if unknown */
const char *sim_on_key(enum sim_on on);            /* "on_crash" */
/* xl's defaults: destroy, restart, destroy, destroy. */
void sim_actions_default(enum sim_action on[SIM_NON]);

struct sim_conf_domain {
	char *name;
	char *listen;			/* NULL only when guest is set */
	char *guest;			/* NULL: simhv serves the guest */
	uint64_t boot_time_ms;		/* the global one when unset */
	char *uuid;			/* NULL: simhv picks one at start */
	bool autostart;			/* booted when simhv starts */
	enum sim_action on[SIM_NON];	/* on_poweroff, on_reboot... */
};

struct sim_conf {
	uint64_t boot_time_ms;		/* default 2 s */
	uint64_t create_time_ms;	/* default 0 */
	uint64_t destroy_time_ms;	/* default 0 */
	uint64_t restart_time_ms;	/* a monitor's restart: default 300 ms */
	uint64_t dump_time_ms;		/* a monitor's core dump: default 1 s */
	size_t ndomains;
	struct sim_conf_domain *domains; /* in file order */
};

/*
 * Reads path. On any problem prints "FILE:LINE: what is wrong" lines to
 * stderr and returns NULL.
 */
struct sim_conf *sim_conf_load(const char *path);
void sim_conf_free(struct sim_conf *conf);

/* Domain names: 1..SIM_NAME_MAX bytes, printable, no space, not all digits. */
#define SIM_NAME_MAX 127
int sim_name_valid(const char *name);
/* 8-4-4-4-12 hexadecimal digits. */
bool sim_uuid_valid(const char *s);

#endif
