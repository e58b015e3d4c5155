/*
 * control_proto.h - the status-socket protocol, shared by both ends
 * (yaokid's control.c and yaokictl): the command table, the request line,
 * the default socket and the domain-name rule. A command is defined and
 * parsed here, once.
 *
 * Request: one line, at most YK_CTL_REQUEST_MAX bytes, "COMMAND[ DOMAIN]\n".
 * Reply: one JSON object on one line (Prometheus text for `metrics`).
 */
#ifndef YK_CONTROL_PROTO_H
#define YK_CONTROL_PROTO_H

#include <stdbool.h>
#include <stddef.h>

/* The contract's default socket, whatever the install prefix. */
#define YK_CTL_DEFAULT_SOCKET "/run/yaoki/yaokid.sock"
#define YK_CTL_REQUEST_MAX 1024
/* Domain names: 1 to 63 of A-Z a-z 0-9 _ . -, not starting with . or -. */
#define YK_DOMAIN_NAME_MAX 63

enum yk_ctl_cmd {
	YK_CMD_STATUS,
	YK_CMD_METRICS,
	YK_CMD_VERSION,
	YK_CMD_PAUSE,
	YK_CMD_RESUME,
	YK_CMD_RECOVER,
	YK_CMD_RESET,
	YK_CMD_RELOAD,
};

enum yk_ctl_arg { YK_ARG_NONE, YK_ARG_REQUIRED, YK_ARG_OPTIONAL };
enum yk_ctl_reply { YK_REPLY_STATUS, YK_REPLY_METRICS, YK_REPLY_VERSION,
	YK_REPLY_ACK };

struct yk_ctl_command {
	const char *name;
	enum yk_ctl_cmd cmd;
	bool root_only;            /* else root and socket_group */
	enum yk_ctl_arg arg;       /* the DOMAIN argument */
	enum yk_ctl_reply reply;
	const char *synopsis;      /* "status [DOMAIN]", for usage texts */
	const char *help;          /* one line */
};

/* Every command, in the order yaokictl's usage lists them. */
extern const struct yk_ctl_command yk_ctl_commands[];
extern const size_t yk_ctl_ncommands;

const struct yk_ctl_command *yk_ctl_command_find(const char *name);
const char *yk_ctl_command_name(enum yk_ctl_cmd cmd);   /* "pause" */

bool yk_domain_name_valid(const char *name);

struct yk_ctl_request {
	const struct yk_ctl_command *cmd;
	const char *domain;        /* NULL when none; points into the line */
};

/*
 * Parses one request line (without its newline; len bytes, NUL-terminated,
 * modified in place). Returns 0, or -1 with the reason in err: a NUL byte,
 * not "COMMAND [DOMAIN]" in printable words, an unknown command, a missing
 * or unexpected DOMAIN. Whether the peer may run it is the caller's part.
 */
int yk_ctl_parse(char *line, size_t len, struct yk_ctl_request *req,
    char *err, size_t errlen);

#endif
