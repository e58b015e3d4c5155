/*
 * sim_cmd.h - the commands of the control protocol (sim/PROTOCOL.md).
 */
#ifndef SIM_CMD_H
#define SIM_CMD_H

#include <stddef.h>

struct sim_req;

/* Checks the arguments, acts on the domains and answers req (now or later). */
void sim_cmd_dispatch(struct sim_req *req, const char *cmd, size_t argc,
    const char *const *argv);

#endif
