/*
 * sim_conf.c - reads yaoki-simhv's configuration file with libconfuse.
 *
 * Owns the schema, the value checks and the "FILE:LINE: problem" messages.
 * Only reads the file: never touches sockets or domains.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "duration.h"
#include "sim_conf.h"
#include "sim_guest.h"

static void conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static int conf_check_duration(cfg_t *cfg, cfg_opt_t *opt);
static int conf_check_listen(cfg_t *cfg, cfg_opt_t *opt);
static int conf_check_domain(cfg_t *cfg, cfg_opt_t *opt);
static int conf_check_uuid(cfg_t *cfg, cfg_opt_t *opt);
static int conf_check_action(cfg_t *cfg, cfg_opt_t *opt);
static uint64_t conf_duration(cfg_t *cfg, const char *key, uint64_t dflt);
static int conf_fill(cfg_t *cfg, struct sim_conf *conf);

static cfg_opt_t domain_opts[] = {
	CFG_STR("listen", NULL, CFGF_NODEFAULT),
	CFG_STR("boot_time", NULL, CFGF_NODEFAULT),
	CFG_STR("guest", NULL, CFGF_NODEFAULT),
	CFG_STR("uuid", NULL, CFGF_NODEFAULT),
	CFG_BOOL("autostart", cfg_true, CFGF_NONE),
	CFG_STR("on_poweroff", "destroy", CFGF_NONE),
	CFG_STR("on_reboot", "restart", CFGF_NONE),
	CFG_STR("on_watchdog", "destroy", CFGF_NONE),
	CFG_STR("on_crash", "destroy", CFGF_NONE),
	CFG_END()
};

static cfg_opt_t root_opts[] = {
	CFG_STR("boot_time", "2s", CFGF_NONE),
	CFG_STR("create_time", "0", CFGF_NONE),
	CFG_STR("destroy_time", "0", CFGF_NONE),
	CFG_STR("restart_time", "300ms", CFGF_NONE),
	CFG_STR("dump_time", "1s", CFGF_NONE),
	CFG_SEC("domain", domain_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END()
};

static const char *const action_names[] = {
	[SIM_A_DESTROY] = "destroy",
	[SIM_A_RESTART] = "restart",
	[SIM_A_RENAME_RESTART] = "rename-restart",
	[SIM_A_PRESERVE] = "preserve",
	[SIM_A_COREDUMP_DESTROY] = "coredump-destroy",
	[SIM_A_COREDUMP_RESTART] = "coredump-restart",
	[SIM_A_SOFT_RESET] = "soft-reset",
};
#define NACTION_NAMES (sizeof(action_names) / sizeof(action_names[0]))

static const char *const on_keys[SIM_NON] = {
	[SIM_ON_POWEROFF] = "on_poweroff",
	[SIM_ON_REBOOT] = "on_reboot",
	[SIM_ON_WATCHDOG] = "on_watchdog",
	[SIM_ON_CRASH] = "on_crash",
};

const char *
sim_action_name(enum sim_action a)
{
	if ((unsigned)a >= NACTION_NAMES || action_names[a] == NULL)
		return "unknown";
	return action_names[a];
}

int
sim_action_from_name(const char *s)
{
	size_t i;

	for (i = 1; s != NULL && i < NACTION_NAMES; i++)
		if (strcmp(s, action_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
sim_on_key(enum sim_on on)
{
	return (unsigned)on < SIM_NON ? on_keys[on] : "on_unknown";
}

void
sim_actions_default(enum sim_action on[SIM_NON])
{
	on[SIM_ON_POWEROFF] = SIM_A_DESTROY;
	on[SIM_ON_REBOOT] = SIM_A_RESTART;
	on[SIM_ON_WATCHDOG] = SIM_A_DESTROY;
	on[SIM_ON_CRASH] = SIM_A_DESTROY;
}

int
sim_name_valid(const char *name)
{
	size_t i, len = strlen(name);
	int digits = 1;

	if (len == 0 || len > SIM_NAME_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isgraph((unsigned char)name[i]))
			return -1;
		if (!isdigit((unsigned char)name[i]))
			digits = 0;
	}
	return digits ? -1 : 0;
}

bool
sim_uuid_valid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

static void
conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	if (cfg != NULL && cfg->filename != NULL)
		fprintf(stderr, "%s:%d: ", cfg->filename, cfg->line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* The value just set is the last one of opt. */
static const char *
conf_last_str(cfg_opt_t *opt)
{
	return cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
}

static int
conf_check_duration(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *s = conf_last_str(opt);
	uint64_t ms;

	if (s == NULL || yk_duration_parse(s, &ms) == -1) {
		cfg_error(cfg, "%s: not a duration: \"%s\" "
		    "(write 2s, 500ms, 1m)", cfg_opt_name(opt), s ? s : "");
		return -1;
	}
	return 0;
}

static int
conf_check_listen(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *s = conf_last_str(opt);

	if (s == NULL || sim_listen_valid(s) == -1) {
		cfg_error(cfg, "listen: not an address and port: \"%s\" "
		    "(write \"127.0.1.1:8080\")", s ? s : "");
		return -1;
	}
	return 0;
}

static int
conf_check_action(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *s = conf_last_str(opt);

	if (s == NULL || sim_action_from_name(s) == -1) {
		cfg_error(cfg, "%s: not an action: \"%s\" (write destroy, "
		    "restart, rename-restart, preserve, coredump-destroy, "
		    "coredump-restart or soft-reset)", cfg_opt_name(opt),
		    s ? s : "");
		return -1;
	}
	return 0;
}

static int
conf_check_uuid(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *s = conf_last_str(opt);

	if (s == NULL || !sim_uuid_valid(s)) {
		cfg_error(cfg, "uuid: not a uuid: \"%s\" (write "
		    "\"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\")", s ? s : "");
		return -1;
	}
	return 0;
}

static int
conf_check_domain(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	const char *name = cfg_title(sec);

	if (name == NULL || sim_name_valid(name) == -1) {
		cfg_error(cfg, "domain \"%s\": a name is 1 to %d printable "
		    "characters without spaces, not all digits",
		    name ? name : "", SIM_NAME_MAX);
		return -1;
	}
	if (cfg_size(sec, "listen") == 0 && cfg_size(sec, "guest") == 0) {
		cfg_error(cfg, "domain \"%s\": needs listen "
		    "(or a guest program)", name);
		return -1;
	}
	return 0;
}

static uint64_t
conf_duration(cfg_t *cfg, const char *key, uint64_t dflt)
{
	uint64_t ms;

	if (cfg_size(cfg, key) == 0 ||
	    yk_duration_parse(cfg_getstr(cfg, key), &ms) == -1)
		return dflt;
	return ms;
}

static char *
conf_strdup_opt(cfg_t *sec, const char *key)
{
	char *s;

	if (cfg_size(sec, key) == 0)
		return NULL;
	if ((s = strdup(cfg_getstr(sec, key))) == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return s;
}

static int
conf_fill(cfg_t *cfg, struct sim_conf *conf)
{
	struct sim_conf_domain *d;
	cfg_t *sec;
	size_t i, k;

	conf->boot_time_ms = conf_duration(cfg, "boot_time", 2000);
	conf->create_time_ms = conf_duration(cfg, "create_time", 0);
	conf->destroy_time_ms = conf_duration(cfg, "destroy_time", 0);
	conf->restart_time_ms = conf_duration(cfg, "restart_time", 300);
	conf->dump_time_ms = conf_duration(cfg, "dump_time", 1000);
	conf->ndomains = cfg_size(cfg, "domain");
	if (conf->ndomains == 0)
		return 0;
	conf->domains = calloc(conf->ndomains, sizeof(*conf->domains));
	if (conf->domains == NULL)
		return -1;
	for (i = 0; i < conf->ndomains; i++) {
		sec = cfg_getnsec(cfg, "domain", (unsigned)i);
		d = &conf->domains[i];
		if ((d->name = strdup(cfg_title(sec))) == NULL)
			return -1;
		d->listen = conf_strdup_opt(sec, "listen");
		d->guest = conf_strdup_opt(sec, "guest");
		d->uuid = conf_strdup_opt(sec, "uuid");
		d->autostart = cfg_getbool(sec, "autostart") == cfg_true;
		d->boot_time_ms = conf_duration(sec, "boot_time",
		    conf->boot_time_ms);
		for (k = 0; k < SIM_NON; k++)
			d->on[k] = (enum sim_action)sim_action_from_name(
			    cfg_getstr(sec, on_keys[k]));
	}
	return 0;
}

struct sim_conf *
sim_conf_load(const char *path)
{
	struct sim_conf *conf;
	cfg_t *cfg;
	int rc;

	if ((cfg = cfg_init(root_opts, CFGF_NONE)) == NULL) {
		fprintf(stderr, "%s: cannot initialise libconfuse\n", path);
		return NULL;
	}
	cfg_set_error_function(cfg, conf_errfunc);
	cfg_set_validate_func(cfg, "boot_time", conf_check_duration);
	cfg_set_validate_func(cfg, "create_time", conf_check_duration);
	cfg_set_validate_func(cfg, "destroy_time", conf_check_duration);
	cfg_set_validate_func(cfg, "restart_time", conf_check_duration);
	cfg_set_validate_func(cfg, "dump_time", conf_check_duration);
	cfg_set_validate_func(cfg, "domain|on_poweroff", conf_check_action);
	cfg_set_validate_func(cfg, "domain|on_reboot", conf_check_action);
	cfg_set_validate_func(cfg, "domain|on_watchdog", conf_check_action);
	cfg_set_validate_func(cfg, "domain|on_crash", conf_check_action);
	cfg_set_validate_func(cfg, "domain|boot_time", conf_check_duration);
	cfg_set_validate_func(cfg, "domain|listen", conf_check_listen);
	cfg_set_validate_func(cfg, "domain|uuid", conf_check_uuid);
	cfg_set_validate_func(cfg, "domain", conf_check_domain);
	errno = 0;
	rc = cfg_parse(cfg, path);
	if (rc == CFG_FILE_ERROR) {
		fprintf(stderr, "%s: cannot read: %s\n", path,
		    errno ? strerror(errno) : "unknown error");
		cfg_free(cfg);
		return NULL;
	}
	if (rc != CFG_SUCCESS) {
		cfg_free(cfg);
		return NULL;
	}
	if ((conf = calloc(1, sizeof(*conf))) == NULL || conf_fill(cfg, conf)) {
		fprintf(stderr, "%s: out of memory\n", path);
		sim_conf_free(conf);
		cfg_free(cfg);
		return NULL;
	}
	cfg_free(cfg);
	return conf;
}

void
sim_conf_free(struct sim_conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->ndomains && conf->domains != NULL; i++) {
		free(conf->domains[i].name);
		free(conf->domains[i].listen);
		free(conf->domains[i].guest);
		free(conf->domains[i].uuid);
	}
	free(conf->domains);
	free(conf);
}
