/*
 * control_proto.c - the command table and request parsing of the status
 * socket, and the domain-name rule that both ends (and the configuration)
 * enforce.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "control_proto.h"

const struct yk_ctl_command yk_ctl_commands[] = {
	{ "status", YK_CMD_STATUS, false, YK_ARG_OPTIONAL, YK_REPLY_STATUS,
	    "status [DOMAIN]", "health of every domain (or one)" },
	{ "metrics", YK_CMD_METRICS, false, YK_ARG_NONE, YK_REPLY_METRICS,
	    "metrics", "Prometheus text exposition" },
	{ "version", YK_CMD_VERSION, false, YK_ARG_NONE, YK_REPLY_VERSION,
	    "version", "the daemon's version" },
	{ "pause", YK_CMD_PAUSE, true, YK_ARG_REQUIRED, YK_REPLY_ACK,
	    "pause DOMAIN", "maintenance: stop probing, never recover" },
	{ "resume", YK_CMD_RESUME, true, YK_ARG_REQUIRED, YK_REPLY_ACK,
	    "resume DOMAIN", "end maintenance" },
	{ "recover", YK_CMD_RECOVER, true, YK_ARG_REQUIRED, YK_REPLY_ACK,
	    "recover DOMAIN", "recover the domain now" },
	{ "reset", YK_CMD_RESET, true, YK_ARG_REQUIRED, YK_REPLY_ACK,
	    "reset DOMAIN", "clear unrecoverable and the recovery history" },
	{ "reload", YK_CMD_RELOAD, true, YK_ARG_NONE, YK_REPLY_ACK,
	    "reload", "reload the configuration" },
};
const size_t yk_ctl_ncommands =
    sizeof(yk_ctl_commands) / sizeof(yk_ctl_commands[0]);

static bool word_ok(const char *s);

const struct yk_ctl_command *
yk_ctl_command_find(const char *name)
{
	size_t i;

	for (i = 0; i < yk_ctl_ncommands; i++)
		if (strcmp(yk_ctl_commands[i].name, name) == 0)
			return &yk_ctl_commands[i];
	return NULL;
}

const char *
yk_ctl_command_name(enum yk_ctl_cmd cmd)
{
	size_t i;

	for (i = 0; i < yk_ctl_ncommands; i++)
		if (yk_ctl_commands[i].cmd == cmd)
			return yk_ctl_commands[i].name;
	return "unknown";
}

bool
yk_domain_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > YK_DOMAIN_NAME_MAX || name[0] == '.' ||
	    name[0] == '-')
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* Printable ASCII without spaces: a command or a domain name. */
static bool
word_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int
yk_ctl_parse(char *line, size_t len, struct yk_ctl_request *req, char *err,
    size_t errlen)
{
	char *arg;

	req->cmd = NULL;
	req->domain = NULL;
	if (strlen(line) != len) {
		snprintf(err, errlen, "malformed request: NUL byte");
		return -1;
	}
	if ((arg = strchr(line, ' ')) != NULL)
		*arg++ = '\0';
	if (!word_ok(line) || (arg != NULL && !word_ok(arg))) {
		snprintf(err, errlen, "malformed request: expected COMMAND "
		    "[DOMAIN]");
		return -1;
	}
	if ((req->cmd = yk_ctl_command_find(line)) == NULL) {
		snprintf(err, errlen, "unknown command: %.40s", line);
		return -1;
	}
	if (req->cmd->arg == YK_ARG_NONE && arg != NULL) {
		snprintf(err, errlen, "%s takes no argument", line);
		return -1;
	}
	if (req->cmd->arg == YK_ARG_REQUIRED && arg == NULL) {
		snprintf(err, errlen, "%s needs a domain name", line);
		return -1;
	}
	req->domain = arg;
	return 0;
}
