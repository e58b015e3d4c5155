/*
 * sim_conf.h - yaoki-simhv's configuration file (libconfuse): the domains
 * it boots at start and the default delays.
 */
#ifndef SIM_CONF_H
#define SIM_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_conf_domain {
	char *name;
	char *listen;			/* NULL only when guest is set */
	char *guest;			/* NULL: simhv serves the guest */
	uint64_t boot_time_ms;		/* the global one when unset */
	char *uuid;			/* NULL: simhv picks one at start */
	bool autostart;			/* booted when simhv starts */
};

struct sim_conf {
	uint64_t boot_time_ms;		/* default 2 s */
	uint64_t create_time_ms;	/* default 0 */
	uint64_t destroy_time_ms;	/* default 0 */
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
