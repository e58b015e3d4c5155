/*
 * sim_prog.h - guest programs: real processes that play a simulated guest.
 */
#ifndef SIM_PROG_H
#define SIM_PROG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct sim_prog;

/* Called once when the program exits by itself (status as from waitpid). */
typedef void sim_prog_exit_fn(void *arg, int status);

/* Installs the SIGCHLD handler; call once. */
int sim_progs_init(struct event_base *base);
/* At exit: SIGTERM to every program, SIGKILL after 2 s, reap them all. */
void sim_progs_shutdown(void);

/*
 * Runs cmdline (split on white space, no shell) in its own process group,
 * with YAOKI_SIM_DOMAIN and YAOKI_SIM_DOMID set. Returns NULL with a reason
 * in err when it cannot be started (fork or exec failed).
 */
struct sim_prog *sim_prog_start(const char *cmdline, const char *domain,
    int domid, sim_prog_exit_fn *on_exit, void *arg, char *err, size_t errlen);
/*
 * Kills the program: SIGTERM to its process group, SIGKILL 2 s later. The
 * exit callback is never called after this; the process is reaped later.
 */
void sim_prog_stop(struct sim_prog *p);
/* Freezes (SIGSTOP) or thaws (SIGCONT) its process group, as xl pause does. */
void sim_prog_pause(struct sim_prog *p, bool pause);
pid_t sim_prog_pid(const struct sim_prog *p);

#endif
