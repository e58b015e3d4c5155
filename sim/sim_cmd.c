/*
 * sim_cmd.c - what each control command means: checks its arguments, calls
 * the domain layer and answers. No I/O of its own, no JSON framing (that is
 * sim_proto.c), no domain state (that is sim_domain.c).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "sim_cmd.h"
#include "sim_domain.h"
#include "sim_proto.h"

/* Longest `delay`: one day. */
#define CMD_DELAY_MAX_S	86400.0
#define CMD_COUNT_MAX	1000000

typedef void cmd_fn(struct sim_req *req, size_t argc, const char *const *argv);

struct cmd {
	const char *name;
	size_t min_args;
	size_t max_args;
	const char *usage;
	cmd_fn *fn;
};

static cmd_fn cmd_list, cmd_capture, cmd_create, cmd_destroy, cmd_reboot,
    cmd_guest, cmd_crash, cmd_shutdown, cmd_pause, cmd_unpause,
    cmd_fail_create, cmd_delay, cmd_events, cmd_rename, cmd_migrate,
    cmd_save, cmd_restore, cmd_monitor, cmd_on;

static const struct cmd cmds[] = {
	{ "list", 0, 1, "list [brief]", cmd_list },
	{ "capture", 1, 1, "capture NAME", cmd_capture },
	{ "create", 1, 2, "create CONFIG [paused]", cmd_create },
	{ "destroy", 1, 1, "destroy NAME", cmd_destroy },
	{ "reboot", 1, 1, "reboot NAME", cmd_reboot },
	{ "guest", 2, 4, "guest NAME ok|hang|refuse|error|slow MS|garbage "
	    "[sticky]", cmd_guest },
	{ "crash", 1, 1, "crash NAME", cmd_crash },
	{ "shutdown", 2, 2, "shutdown NAME poweroff|reboot|watchdog",
	    cmd_shutdown },
	{ "pause", 1, 1, "pause NAME", cmd_pause },
	{ "unpause", 1, 1, "unpause NAME", cmd_unpause },
	{ "fail-create", 2, 2, "fail-create NAME COUNT", cmd_fail_create },
	{ "delay", 3, 3, "delay NAME create|destroy|restart|dump SECONDS",
	    cmd_delay },
	{ "events", 0, 0, "events", cmd_events },
	{ "rename", 2, 2, "rename OLD NEW", cmd_rename },
	{ "migrate", 3, 4, "migrate NAME out|in|local SECONDS [PREPARE]",
	    cmd_migrate },
	{ "save", 2, 2, "save NAME SECONDS", cmd_save },
	{ "restore", 2, 2, "restore NAME SECONDS", cmd_restore },
	{ "monitor", 2, 2, "monitor NAME kill", cmd_monitor },
	{ "on", 3, 3, "on NAME poweroff|reboot|watchdog|crash ACTION", cmd_on },
};

void
sim_cmd_dispatch(struct sim_req *req, const char *cmd, size_t argc,
    const char *const *argv)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmds[i].name, cmd) != 0)
			continue;
		if (argc < cmds[i].min_args || argc > cmds[i].max_args) {
			sim_req_fail(req, "usage: %s", cmds[i].usage);
			return;
		}
		cmds[i].fn(req, argc, argv);
		return;
	}
	sim_req_fail(req, "unknown command: %s", cmd);
}

/* ---- helpers ------------------------------------------------------------- */

static struct sim_domain *
cmd_domain(struct sim_req *req, const char *key)
{
	struct sim_domain *d;

	if ((d = sim_domain_find(key)) == NULL)
		sim_req_fail(req, "no such domain: %s", key);
	return d;
}

/* The name a per-name setting applies to: a domid stands for its name. */
static const char *
cmd_name(struct sim_req *req, const char *key)
{
	struct sim_domain *d;
	const char *p;

	for (p = key; isdigit((unsigned char)*p); p++)
		;
	if (*key == '\0' || *p != '\0')
		return key;
	if ((d = cmd_domain(req, key)) == NULL)
		return NULL;
	return sim_domain_name(d);
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out > max)
		return -1;
	return 0;
}

static void
reply_result(struct sim_req *req, int rc, const char *err)
{
	if (rc == 0)
		sim_req_ok(req, NULL);
	else
		sim_req_fail(req, "%s", err);
}

/* ---- commands ------------------------------------------------------------ */

static void
cmd_list(struct sim_req *req, size_t argc, const char *const *argv)
{
	json_object *o;
	bool brief = false;

	if (argc == 1) {
		if (strcmp(argv[0], "brief") != 0) {
			sim_req_fail(req, "usage: list [brief]");
			return;
		}
		brief = true;
	}
	o = json_object_new_object();
	json_object_object_add(o, "boot_id",
	    json_object_new_string(sim_boot_id()));
	json_object_object_add(o, "domains", sim_domains_list_json(brief));
	sim_req_ok(req, o);
}

static void
cmd_capture(struct sim_req *req, size_t argc, const char *const *argv)
{
	struct sim_domain *d;
	json_object *o;
	char err[256], *text;

	(void)argc;
	if ((d = cmd_domain(req, argv[0])) == NULL)
		return;
	if ((text = sim_domain_capture(d, err, sizeof(err))) == NULL) {
		sim_req_fail(req, "%s", err);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "config", json_object_new_string(text));
	free(text);
	sim_req_ok(req, o);
}

static void
cmd_create_done(void *arg, int domid, const char *err)
{
	struct sim_req *req = arg;
	json_object *o;

	if (err != NULL) {
		sim_req_fail(req, "%s", err);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "domid", json_object_new_int(domid));
	sim_req_ok(req, o);
}

static void
cmd_create(struct sim_req *req, size_t argc, const char *const *argv)
{
	struct sim_dconf c;
	char err[512];
	bool paused = false;

	if (argc == 2) {
		if (strcmp(argv[1], "paused") != 0) {
			sim_req_fail(req, "usage: create CONFIG [paused]");
			return;
		}
		paused = true;
	}
	if (sim_dconf_parse(argv[0], &c, err, sizeof(err)) == -1) {
		sim_req_fail(req, "%s", err);
		return;
	}
	if (sim_domain_create(&c, false, paused, cmd_create_done, req, err,
	    sizeof(err)) == -1)
		sim_req_fail(req, "%s", err);
	sim_dconf_clear(&c);
}

static void
cmd_destroy_done(void *arg, const char *err)
{
	reply_result(arg, err == NULL ? 0 : -1, err);
}

static void
cmd_destroy(struct sim_req *req, size_t argc, const char *const *argv)
{
	struct sim_domain *d;

	(void)argc;
	if ((d = cmd_domain(req, argv[0])) != NULL)
		sim_domain_destroy(d, cmd_destroy_done, req);
}

static void
cmd_reboot(struct sim_req *req, size_t argc, const char *const *argv)
{
	struct sim_domain *d;
	char err[256];

	(void)argc;
	if ((d = cmd_domain(req, argv[0])) != NULL)
		reply_result(req, sim_domain_reboot(d, err, sizeof(err)), err);
}

static void
cmd_guest(struct sim_req *req, size_t argc, const char *const *argv)
{
	enum sim_behaviour b;
	struct sim_domain *d;
	unsigned long ms = 0;
	bool sticky = false;
	size_t next = 2;
	char err[256];

	if (sim_behaviour_parse(argv[1], &b) == -1)
		goto usage;
	if (b == SIM_B_SLOW) {
		if (argc < 3 || parse_uint(argv[2], SIM_SLOW_MAX_MS, &ms) == -1)
			goto usage;
		next = 3;
	}
	if (next < argc) {
		if (strcmp(argv[next], "sticky") != 0)
			goto usage;
		sticky = true;
		next++;
	}
	if (next != argc)
		goto usage;
	if ((d = cmd_domain(req, argv[0])) == NULL)
		return;
	reply_result(req, sim_domain_set_behaviour(d, b, (unsigned)ms, sticky,
	    err, sizeof(err)), err);
	return;
usage:
	sim_req_fail(req, "usage: guest NAME ok|hang|refuse|error|slow MS|"
	    "garbage [sticky] (MS at most %u)", SIM_SLOW_MAX_MS);
}

static void
cmd_crash(struct sim_req *req, size_t argc, const char *const *argv)
{
	struct sim_domain *d;
	char err[256];

	(void)argc;
	if ((d = cmd_domain(req, argv[0])) != NULL)
		reply_result(req, sim_domain_shutdown(d, SIM_R_CRASH, err,
		    sizeof(err)), err);
}

static void
cmd_shutdown(struct sim_req *req, size_t argc, const char *const *argv)
{
	enum sim_reason reason;
	struct sim_domain *d;
	char err[256];

	(void)argc;
	if (strcmp(argv[1], "poweroff") == 0)
		reason = SIM_R_POWEROFF;
	else if (strcmp(argv[1], "reboot") == 0)
		reason = SIM_R_REBOOT;
	else if (strcmp(argv[1], "watchdog") == 0)
		reason = SIM_R_WATCHDOG;
	else {
		sim_req_fail(req, "usage: shutdown NAME poweroff|reboot|watchdog");
		return;
	}
	if ((d = cmd_domain(req, argv[0])) != NULL)
		reply_result(req, sim_domain_shutdown(d, reason, err,
		    sizeof(err)), err);
}

static void
cmd_pause_common(struct sim_req *req, const char *key, bool pause)
{
	struct sim_domain *d;
	char err[256];

	if ((d = cmd_domain(req, key)) != NULL)
		reply_result(req, sim_domain_pause(d, pause, err, sizeof(err)),
		    err);
}

static void
cmd_pause(struct sim_req *req, size_t argc, const char *const *argv)
{
	(void)argc;
	cmd_pause_common(req, argv[0], true);
}

static void
cmd_unpause(struct sim_req *req, size_t argc, const char *const *argv)
{
	(void)argc;
	cmd_pause_common(req, argv[0], false);
}

static void
cmd_fail_create(struct sim_req *req, size_t argc, const char *const *argv)
{
	unsigned long count;
	const char *name;
	char err[256];

	(void)argc;
	if (parse_uint(argv[1], CMD_COUNT_MAX, &count) == -1) {
		sim_req_fail(req, "fail-create: COUNT must be 0..%d",
		    CMD_COUNT_MAX);
		return;
	}
	if ((name = cmd_name(req, argv[0])) == NULL)
		return;
	reply_result(req, sim_name_fail_create(name, (unsigned)count, err,
	    sizeof(err)), err);
}

static void
cmd_delay(struct sim_req *req, size_t argc, const char *const *argv)
{
	static const char *const whats[] = {
		[SIM_DELAY_CREATE] = "create",
		[SIM_DELAY_DESTROY] = "destroy",
		[SIM_DELAY_RESTART] = "restart",
		[SIM_DELAY_DUMP] = "dump",
	};
	const char *name;
	char err[256], *end;
	enum sim_delay what;
	size_t i;
	uint64_t ms;
	double s;

	(void)argc;
	for (i = 0; i < sizeof(whats) / sizeof(whats[0]); i++)
		if (strcmp(argv[1], whats[i]) == 0)
			break;
	if (i == sizeof(whats) / sizeof(whats[0])) {
		sim_req_fail(req, "usage: delay NAME create|destroy|restart|dump "
		    "SECONDS");
		return;
	}
	what = (enum sim_delay)i;
	errno = 0;
	s = strtod(argv[2], &end);
	if (!isdigit((unsigned char)argv[2][0]) || *end != '\0' ||
	    errno != 0 || !isfinite(s) || s < 0 || s > CMD_DELAY_MAX_S) {
		sim_req_fail(req, "delay: SECONDS must be a number from 0 "
		    "to %g", CMD_DELAY_MAX_S);
		return;
	}
	if ((name = cmd_name(req, argv[0])) == NULL)
		return;
	ms = (uint64_t)(s * 1000.0 + 0.5);
	reply_result(req, sim_name_delay(name, what, ms, err, sizeof(err)),
	    err);
}

/* `monitor NAME kill`: what an operator's kill of the xl process does. */
static void
cmd_monitor(struct sim_req *req, size_t argc, const char *const *argv)
{
	char err[256];

	(void)argc;
	if (strcmp(argv[1], "kill") != 0) {
		sim_req_fail(req, "usage: monitor NAME kill");
		return;
	}
	reply_result(req, sim_domain_kill_monitor(argv[0], err, sizeof(err)),
	    err);
}

/* `on NAME REASON ACTION`: the domain's own action (xl's on_crash...). */
static void
cmd_on(struct sim_req *req, size_t argc, const char *const *argv)
{
	static const char *const reasons[SIM_NON] = {
		[SIM_ON_POWEROFF] = "poweroff",
		[SIM_ON_REBOOT] = "reboot",
		[SIM_ON_WATCHDOG] = "watchdog",
		[SIM_ON_CRASH] = "crash",
	};
	struct sim_domain *d;
	char err[256];
	int on, a;

	(void)argc;
	for (on = 0; on < SIM_NON; on++)
		if (strcmp(argv[1], reasons[on]) == 0)
			break;
	if (on == SIM_NON || (a = sim_action_from_name(argv[2])) == -1) {
		sim_req_fail(req, "usage: on NAME poweroff|reboot|watchdog|crash "
		    "destroy|restart|rename-restart|preserve|coredump-destroy|"
		    "coredump-restart|soft-reset");
		return;
	}
	if ((d = cmd_domain(req, argv[0])) != NULL)
		reply_result(req, sim_domain_set_action(d, (enum sim_on)on,
		    (enum sim_action)a, err, sizeof(err)), err);
}

static void
cmd_events(struct sim_req *req, size_t argc, const char *const *argv)
{
	(void)argc;
	(void)argv;
	sim_req_subscribe(req);
}

/*
 * SECONDS of migrate, save and restore: plain decimal digits with at most
 * one point, more than 0 and at most SIM_OP_MAX_MS / 1000. Returns ms or 0.
 */
static uint64_t
parse_op_seconds(const char *s)
{
	size_t digits = 0, dots = 0;
	const char *p;
	double v;

	for (p = s; *p != '\0'; p++) {
		if (isdigit((unsigned char)*p))
			digits++;
		else if (*p == '.')
			dots++;
		else
			return 0;
	}
	if (digits == 0 || dots > 1 || p - s > 32)
		return 0;
	v = strtod(s, NULL);
	if (!isfinite(v) || v <= 0 || v * 1000.0 > (double)SIM_OP_MAX_MS)
		return 0;
	if (v * 1000.0 < 1.0)
		return 0;
	return (uint64_t)(v * 1000.0 + 0.5);
}

static bool
op_seconds(struct sim_req *req, const char *cmd, const char *arg,
    uint64_t *ms)
{
	if ((*ms = parse_op_seconds(arg)) == 0) {
		sim_req_fail(req, "%s: SECONDS must be a decimal number of "
		    "seconds, at least 0.001 and at most %u (got \"%.32s\")",
		    cmd, SIM_OP_MAX_MS / 1000, arg);
		return false;
	}
	return true;
}

static void
cmd_rename(struct sim_req *req, size_t argc, const char *const *argv)
{
	struct sim_domain *d;
	char err[512];

	(void)argc;
	if (sim_name_valid(argv[1]) == -1) {
		sim_req_fail(req, "rename: invalid domain name: \"%.*s\" (1 to "
		    "%d printable characters without spaces, not all digits)",
		    SIM_NAME_MAX + 1, argv[1], SIM_NAME_MAX);
		return;
	}
	if ((d = cmd_domain(req, argv[0])) != NULL)
		reply_result(req, sim_domain_rename(d, argv[1], err,
		    sizeof(err)), err);
}

static void
cmd_migrate(struct sim_req *req, size_t argc, const char *const *argv)
{
	enum sim_migrate how;
	char err[512];
	uint64_t ms, prepare_ms = 0;

	if (strcmp(argv[1], "out") == 0)
		how = SIM_MIGRATE_OUT;
	else if (strcmp(argv[1], "in") == 0)
		how = SIM_MIGRATE_IN;
	else if (strcmp(argv[1], "local") == 0)
		how = SIM_MIGRATE_LOCAL;
	else {
		sim_req_fail(req, "usage: migrate NAME out|in|local SECONDS "
		    "[PREPARE]");
		return;
	}
	if (!op_seconds(req, "migrate", argv[2], &ms))
		return;
	if (argc == 4 && how == SIM_MIGRATE_IN) {
		sim_req_fail(req, "migrate: PREPARE is the sender's (out or "
		    "local), not the receiver's");
		return;
	}
	if (argc == 4 && (prepare_ms = parse_op_seconds(argv[3])) == 0) {
		sim_req_fail(req, "migrate: PREPARE must be a decimal number of "
		    "seconds, at least 0.001 and at most %u (got \"%.32s\")",
		    SIM_OP_MAX_MS / 1000, argv[3]);
		return;
	}
	reply_result(req, sim_domain_migrate(argv[0], how, ms, prepare_ms,
	    err, sizeof(err)), err);
}

static void
cmd_save(struct sim_req *req, size_t argc, const char *const *argv)
{
	struct sim_domain *d;
	char err[512];
	uint64_t ms;

	(void)argc;
	if (!op_seconds(req, "save", argv[1], &ms))
		return;
	if ((d = cmd_domain(req, argv[0])) != NULL)
		reply_result(req, sim_domain_save(d, ms, err, sizeof(err)),
		    err);
}

static void
cmd_restore(struct sim_req *req, size_t argc, const char *const *argv)
{
	char err[512];
	uint64_t ms;

	(void)argc;
	if (!op_seconds(req, "restore", argv[1], &ms))
		return;
	reply_result(req, sim_domain_restore(argv[0], ms, err, sizeof(err)),
	    err);
}
