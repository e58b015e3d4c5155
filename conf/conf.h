/*
 * conf.h - yaoki's configuration: the parsed, validated form of yaoki.conf
 * (libconfuse syntax, see yaoki.conf(5)). The value parsers it uses
 * (durations, HTTP status sets) live in base/.
 *
 * Loading never touches the hypervisor, sockets or the state dir; it only
 * reads the file. A file is accepted whole or rejected whole.
 */
#ifndef YK_CONF_H
#define YK_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "duration.h"
#include "status_set.h"

/* ---- the configuration -------------------------------------------------- */

enum yk_hv_kind { YK_HV_LIBXL, YK_HV_SIM };
enum yk_on_failure { YK_ONFAIL_RECREATE, YK_ONFAIL_REBOOT, YK_ONFAIL_NONE };
enum yk_on_crash { YK_ONCRASH_RECREATE, YK_ONCRASH_NONE };

struct yk_domain_conf {
	char *name;
	char *url;
	uint64_t interval_ms;
	uint64_t timeout_ms;
	unsigned failures;
	unsigned successes;
	uint64_t start_period_ms;
	char *expect_status_text;          /* as written, e.g. "200-399" */
	struct yk_status_set expect_status;
	char *expect_body;                 /* NULL when unset */
	enum yk_on_failure on_failure;
	enum yk_on_crash on_crash;
	unsigned max_recoveries;
	uint64_t recovery_window_ms;
	uint64_t backoff_ms;
	uint64_t backoff_max_ms;
	char *domain_config;               /* NULL when unset */
	bool tls_verify;
	char *ca_file;                     /* NULL when unset */
	int line;                          /* line of `domain "NAME" {` */
};

struct yk_config {
	char *path;                        /* the file it came from */
	enum yk_hv_kind hypervisor;
	char *sim_socket;                  /* always set: default state_dir/simhv.sock */
	char *state_dir;
	char *socket;
	char *socket_group;                /* NULL: root only */
	char *hook;                        /* NULL: no hook */
	uint64_t hook_timeout_ms;
	unsigned max_parallel_recoveries;
	double mass_failure_fraction;
	unsigned mass_failure_min;
	unsigned mass_failure_hook_max;    /* mass-failure hook runs per... */
	uint64_t mass_failure_hook_window_ms;  /* ...this sliding window */
	char *metrics_file;                /* NULL when unset */
	size_t ndomains;
	struct yk_domain_conf *domains;    /* in file order */
};

/* Every problem found, each one complete line: "FILE:LINE: what is wrong". */
struct yk_conf_errors {
	size_t n;
	char **msg;
};

/*
 * Reads and validates path. Returns the configuration, or NULL with every
 * problem appended to errs (at least one). Compiled-in defaults apply, then
 * `defaults { }`, then the domain's own keys.
 */
struct yk_config *yk_config_load(const char *path, struct yk_conf_errors *errs);
/* Same, from text in memory; `name` is used in messages in place of a path. */
struct yk_config *yk_config_load_text(const char *name, const char *text,
    struct yk_conf_errors *errs);
void yk_config_free(struct yk_config *cfg);
void yk_conf_errors_free(struct yk_conf_errors *errs);
const struct yk_domain_conf *yk_config_find(const struct yk_config *cfg,
    const char *name);
/* True when the two are the same in everything that matters (all but line). */
bool yk_domain_conf_equal(const struct yk_domain_conf *a,
    const struct yk_domain_conf *b);

#endif
