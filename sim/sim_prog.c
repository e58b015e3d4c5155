/*
 * sim_prog.c - guest programs: start them, kill their process groups, reap
 * them.
 *
 * Owns every child process simhv has. Reaps only the pids it started
 * (waitpid(pid, WNOHANG) on SIGCHLD), never waitpid(-1). Runs programs
 * without a shell. Knows nothing of domains beyond the name and domid it
 * puts in the environment.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "sim_prog.h"

#define PROG_MAX_ARGS	64
#define PROG_KILL_GRACE_S 2

struct sim_prog {
	pid_t pid;
	sim_prog_exit_fn *on_exit;
	void *arg;
	bool stopped;			/* killed by us: no callback */
	struct event *kill_ev;
	LIST_ENTRY(sim_prog) entry;
};

static LIST_HEAD(, sim_prog) progs = LIST_HEAD_INITIALIZER(progs);
static struct event_base *prog_base;
static struct event *sigchld_ev;

static void prog_sigchld_cb(evutil_socket_t sig, short what, void *arg);
static void prog_kill_cb(evutil_socket_t fd, short what, void *arg);
static void prog_free(struct sim_prog *p);
static int prog_split(char *line, char **argv, size_t max);
static void prog_child(char **argv, const char *domain, int domid, int errfd)
    __attribute__((noreturn));

int
sim_progs_init(struct event_base *base)
{
	prog_base = base;
	sigchld_ev = evsignal_new(base, SIGCHLD, prog_sigchld_cb, NULL);
	if (sigchld_ev == NULL || evsignal_add(sigchld_ev, NULL) == -1)
		return -1;
	return 0;
}

static int
prog_split(char *line, char **argv, size_t max)
{
	char *save = NULL, *tok;
	size_t n = 0;

	for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (n + 1 >= max)
			return -1;
		argv[n++] = tok;
	}
	argv[n] = NULL;
	return n == 0 ? -1 : (int)n;
}

/* In the child, before exec (simhv has one thread: setenv is safe). */
static void
prog_child(char **argv, const char *domain, int domid, int errfd)
{
	char idbuf[32];
	sigset_t none;
	int e, fd;

	(void)setpgid(0, 0);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		if (fd != STDIN_FILENO)
			(void)close(fd);
	}
	/* Every fd of ours is O_CLOEXEC; this only catches strays. */
	if (errfd > 3)
		(void)close_range(3, (unsigned)errfd - 1, 0);
	(void)close_range((unsigned)errfd + 1, ~0U, 0);
	snprintf(idbuf, sizeof(idbuf), "%d", domid);
	(void)setenv("YAOKI_SIM_DOMAIN", domain, 1);
	(void)setenv("YAOKI_SIM_DOMID", idbuf, 1);
	execvp(argv[0], argv);
	e = errno;
	(void)write(errfd, &e, sizeof(e));
	_exit(127);
}

struct sim_prog *
sim_prog_start(const char *cmdline, const char *domain, int domid,
    sim_prog_exit_fn *on_exit, void *arg, char *err, size_t errlen)
{
	char *line, *argv[PROG_MAX_ARGS];
	struct sim_prog *p;
	int pfd[2], e;
	ssize_t n;
	pid_t pid;

	if ((line = strdup(cmdline)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (prog_split(line, argv, PROG_MAX_ARGS) == -1) {
		snprintf(err, errlen, "guest program: empty or more than %d "
		    "words", PROG_MAX_ARGS - 1);
		free(line);
		return NULL;
	}
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(line);
		return NULL;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		free(line);
		return NULL;
	}
	if (pid == 0)
		prog_child(argv, domain, domid, pfd[1]);
	(void)setpgid(pid, pid);
	close(pfd[1]);
	/* EOF means exec succeeded (the pipe closed on exec). */
	do {
		n = read(pfd[0], &e, sizeof(e));
	} while (n == -1 && errno == EINTR);
	close(pfd[0]);
	if (n == (ssize_t)sizeof(e)) {
		snprintf(err, errlen, "cannot run %s: %s", argv[0],
		    strerror(e));
		(void)waitpid(pid, NULL, 0);
		free(line);
		return NULL;
	}
	free(line);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatalx("out of memory");
	p->pid = pid;
	p->on_exit = on_exit;
	p->arg = arg;
	LIST_INSERT_HEAD(&progs, p, entry);
	log_info("%s: guest program started (pid %ld)", domain, (long)pid);
	return p;
}

pid_t
sim_prog_pid(const struct sim_prog *p)
{
	return p->pid;
}

void
sim_prog_pause(struct sim_prog *p, bool pause)
{
	if (!p->stopped)
		(void)kill(-p->pid, pause ? SIGSTOP : SIGCONT);
}

void
sim_prog_stop(struct sim_prog *p)
{
	struct timeval tv = { PROG_KILL_GRACE_S, 0 };

	if (p->stopped)
		return;
	p->stopped = true;
	p->on_exit = NULL;
	p->arg = NULL;
	(void)kill(-p->pid, SIGTERM);
	(void)kill(-p->pid, SIGCONT);	/* a paused guest must see it */
	if ((p->kill_ev = evtimer_new(prog_base, prog_kill_cb, p)) == NULL)
		fatalx("out of memory");
	evtimer_add(p->kill_ev, &tv);
}

static void
prog_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_prog *p = arg;

	(void)fd;
	(void)what;
	log_info("guest program %ld ignored SIGTERM; killing it", (long)p->pid);
	(void)kill(-p->pid, SIGKILL);
}

static void
prog_free(struct sim_prog *p)
{
	LIST_REMOVE(p, entry);
	if (p->kill_ev != NULL)
		event_free(p->kill_ev);
	free(p);
}

static void
prog_sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct sim_prog *p, *next;
	sim_prog_exit_fn *fn;
	void *fnarg;
	int status;

	(void)sig;
	(void)what;
	(void)arg;
	for (p = LIST_FIRST(&progs); p != NULL; p = next) {
		next = LIST_NEXT(p, entry);
		if (waitpid(p->pid, &status, WNOHANG) != p->pid)
			continue;
		/* What the leader left behind in its group goes with it. */
		(void)kill(-p->pid, SIGKILL);
		fn = p->on_exit;
		fnarg = p->arg;
		log_debug("guest program %ld exited (status 0x%x)",
		    (long)p->pid, status);
		prog_free(p);
		if (fn != NULL)
			fn(fnarg, status);
	}
}

void
sim_progs_shutdown(void)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	struct sim_prog *p, *next;
	int i;

	LIST_FOREACH(p, &progs, entry) {
		if (!p->stopped) {
			(void)kill(-p->pid, SIGTERM);
			(void)kill(-p->pid, SIGCONT);
		}
		p->stopped = true;
	}
	for (i = 0; i < PROG_KILL_GRACE_S * 50 && !LIST_EMPTY(&progs); i++) {
		for (p = LIST_FIRST(&progs); p != NULL; p = next) {
			next = LIST_NEXT(p, entry);
			if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
				(void)kill(-p->pid, SIGKILL);
				prog_free(p);
			}
		}
		nanosleep(&nap, NULL);
	}
	while ((p = LIST_FIRST(&progs)) != NULL) {
		(void)kill(-p->pid, SIGKILL);
		(void)waitpid(p->pid, NULL, 0);
		prog_free(p);
	}
	if (sigchld_ev != NULL) {
		event_free(sigchld_ev);
		sigchld_ev = NULL;
	}
}
