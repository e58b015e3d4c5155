/*
 * hook.c - runs the alert hook: `HOOK EVENT DOMAIN`, no shell, the contract's
 * environment, the status JSON on standard input, killed (its whole process
 * group) after hook_timeout. Asynchronous: yaokid never waits for it.
 *
 * Started with posix_spawn (safe beside the libxl thread; an exec failure
 * is reported here). Reaped by pid only, through a pidfd watched on the
 * loop (libxl owns SIGCHLD in the libxl backend). The first 4 KiB of its
 * output go to the log; the rest is read and dropped, so it never blocks.
 * Never waits for the hook and never lets it stop yaokid.
 *
 * Owns: the running hooks (struct hook_child) and their pipes, pidfds and
 * timers. Its inputs are plain values (hook.h); the caller renders the
 * status JSON for its standard input.
 */
#include "config.h"

#include <sys/pidfd.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "hook.h"
#include "log.h"
#include "text.h"

#define REASON_MAX 200         /* printable characters of a line shown */
#define HOOK_LOG_MAX 4096      /* bytes of the hook's output that reach the log */
#define HOOK_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct hook_child {
	LIST_ENTRY(hook_child) entry;	/* runs */
	pid_t pid;
	char label[160];
	struct event *exit_ev;
	struct event *timeout_ev;
	struct bufferevent *in;    /* our end of its stdin */
	struct bufferevent *out;   /* our end of its stdout+stderr */
	size_t logged;
	int pidfd;
};

/* The hooks still running (or not yet reaped). */
static LIST_HEAD(, hook_child) runs = LIST_HEAD_INITIALIZER(runs);

static void
run_free(struct hook_child *h)
{
	LIST_REMOVE(h, entry);
	if (h->exit_ev != NULL)
		event_free(h->exit_ev);
	if (h->timeout_ev != NULL)
		event_free(h->timeout_ev);
	if (h->in != NULL)
		bufferevent_free(h->in);
	if (h->out != NULL)
		bufferevent_free(h->out);
	if (h->pidfd != -1)
		close(h->pidfd);
	free(h);
}

static void
log_output_line(struct hook_child *h, const char *line, size_t len)
{
	char clean[256];

	if (h->logged >= HOOK_LOG_MAX)
		return;
	/* One line of printable ASCII, at most 200 characters. */
	yk_text_printable(clean, REASON_MAX + 1, line);
	log_info("hook %s: %s", h->label, clean);
	h->logged += len + 1;
	if (h->logged >= HOOK_LOG_MAX)
		log_info("hook %s: (more output not logged)", h->label);
}

/* Logs whole lines of the hook's output, the first HOOK_LOG_MAX bytes. */
static void
consume_output(struct hook_child *h, struct evbuffer *in, bool at_end)
{
	char *line;
	size_t len;

	while (h->logged < HOOK_LOG_MAX &&
	    (line = evbuffer_readln(in, &len, EVBUFFER_EOL_ANY)) != NULL) {
		log_output_line(h, line, len);
		free(line);
	}
	/* Past the cap, or a partial line too long to keep: dropped. */
	if (h->logged >= HOOK_LOG_MAX || evbuffer_get_length(in) > HOOK_LOG_MAX)
		evbuffer_drain(in, evbuffer_get_length(in));
	if (at_end && evbuffer_get_length(in) > 0) {
		len = evbuffer_get_length(in);
		line = malloc(len + 1);
		if (line != NULL) {
			evbuffer_remove(in, line, len);
			line[len] = '\0';
			log_output_line(h, line, len);
			free(line);
		}
		evbuffer_drain(in, evbuffer_get_length(in));
	}
}

static void
out_read_cb(struct bufferevent *bev, void *arg)
{
	consume_output(arg, bufferevent_get_input(bev), false);
}

/* What the hook wrote before it exited but the loop has not read yet. */
static void
flush_output(struct hook_child *h)
{
	struct evbuffer *in;
	evutil_socket_t fd;
	int i;

	if (h->out == NULL)
		return;
	in = bufferevent_get_input(h->out);
	fd = bufferevent_getfd(h->out);
	for (i = 0; i < 64 && evbuffer_read(in, fd, 65536) > 0; i++)
		consume_output(h, in, false);
	consume_output(h, in, true);
}

static void
exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook_child *h = arg;
	int status;

	(void)fd; (void)what;
	if (waitpid(h->pid, &status, WNOHANG) != h->pid)
		return;
	flush_output(h);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_info("hook %s: exited 0", h->label);
	else if (WIFEXITED(status))
		log_warnx("hook %s: exited %d", h->label, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warnx("hook %s: killed by signal %d", h->label, WTERMSIG(status));
	/* Kill what it left behind in its process group. */
	kill(-h->pid, SIGKILL);
	run_free(h);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook_child *h = arg;

	(void)fd; (void)what;
	log_warnx("hook %s: still running after hook_timeout; killing its "
	    "process group", h->label);
	kill(-h->pid, SIGKILL);
}

static void
pipe_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct hook_child *h = arg;

	(void)what;
	if (bev == h->in) {
		bufferevent_free(h->in);
		h->in = NULL;
	} else {
		consume_output(h, bufferevent_get_input(h->out), true);
		bufferevent_free(h->out);
		h->out = NULL;
	}
}

static void
in_write_cb(struct bufferevent *bev, void *arg)
{
	struct hook_child *h = arg;

	/* All of stdin written: close it so the hook sees EOF. */
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		bufferevent_free(h->in);
		h->in = NULL;
	}
}

/* The hook's process: own group, default signals, pipes as 0, 1, 2. */
static int
spawn_hook(const char *hook, char *const argv[], char *const envp[],
    int in_fd, int out_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	int rc;

	sigfillset(&all);
	sigemptyset(&none);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return rc;
	if ((rc = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return rc;
	}
	if ((rc = posix_spawn_file_actions_adddup2(&fa, in_fd, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, out_fd, 1)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, out_fd, 2)) != 0 ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
	    (rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(&attr, 0)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &all)) != 0)
		goto out;
	/* posix_spawn, not fork: safe beside the libxl thread, and an exec
	 * failure comes back here instead of from a child. */
	rc = posix_spawn(pid, hook, &fa, &attr, argv, envp);
out:
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/*
 * Takes over the pipe ends (closed on failure too) and watches the process
 * through a pidfd: its exit, its output, hook_timeout.
 */
static int
watch(struct event_base *base, uint64_t timeout_ms, struct hook_child *h,
    int in_fd, int out_fd)
{
	struct timeval tv;

	evutil_make_socket_nonblocking(in_fd);
	evutil_make_socket_nonblocking(out_fd);
	h->in = bufferevent_socket_new(base, in_fd, BEV_OPT_CLOSE_ON_FREE);
	if (h->in == NULL)
		close(in_fd);
	h->out = bufferevent_socket_new(base, out_fd, BEV_OPT_CLOSE_ON_FREE);
	if (h->out == NULL)
		close(out_fd);
	h->pidfd = pidfd_open(h->pid, 0);
	if (h->pidfd != -1)
		h->exit_ev = event_new(base, h->pidfd, EV_READ | EV_PERSIST,
		    exit_cb, h);
	h->timeout_ev = evtimer_new(base, timeout_cb, h);
	if (h->in == NULL || h->out == NULL || h->exit_ev == NULL ||
	    h->timeout_ev == NULL)
		return -1;
	bufferevent_setcb(h->in, NULL, in_write_cb, pipe_event_cb, h);
	bufferevent_setcb(h->out, out_read_cb, NULL, pipe_event_cb, h);
	bufferevent_enable(h->out, EV_READ);
	bufferevent_enable(h->in, EV_WRITE);
	tv.tv_sec = (time_t)(timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)((timeout_ms % 1000) * 1000);
	event_add(h->exit_ev, NULL);
	evtimer_add(h->timeout_ev, &tv);
	return 0;
}

void
hook_run(const struct hook_spec *spec, struct event_base *base,
    const char *event, const char *domain, const char *reason,
    unsigned recoveries, const char *stdin_json)
{
	const char *hook = spec->path;
	const char *name = domain != NULL ? domain : "-";
	char e_event[64], e_domain[200], e_host[300], e_reason[260], e_recov[64];
	char clean[REASON_MAX + 1];
	char *argv[4], *envp[8];
	int in_pipe[2], out_pipe[2], rc;
	struct hook_child *h;
	pid_t pid;

	if (hook == NULL)
		return;
	yk_text_printable(clean, sizeof(clean), reason);
	snprintf(e_event, sizeof(e_event), "YAOKI_EVENT=%s", event);
	snprintf(e_domain, sizeof(e_domain), "YAOKI_DOMAIN=%s", name);
	snprintf(e_host, sizeof(e_host), "YAOKI_HOST=%s", spec->host);
	snprintf(e_reason, sizeof(e_reason), "YAOKI_REASON=%s", clean);
	snprintf(e_recov, sizeof(e_recov), "YAOKI_RECOVERIES=%u", recoveries);
	envp[0] = e_event; envp[1] = e_domain; envp[2] = e_host;
	envp[3] = e_reason; envp[4] = e_recov;
	envp[5] = (char *)HOOK_PATH;
	envp[6] = NULL;
	argv[0] = (char *)hook;
	argv[1] = (char *)event;
	argv[2] = (char *)name;
	argv[3] = NULL;

	if (pipe2(in_pipe, O_CLOEXEC) == -1) {
		log_warn("hook %s %s: pipe", event, name);
		return;
	}
	if (pipe2(out_pipe, O_CLOEXEC) == -1) {
		log_warn("hook %s %s: pipe", event, name);
		close(in_pipe[0]); close(in_pipe[1]);
		return;
	}
	rc = spawn_hook(hook, argv, envp, in_pipe[0], out_pipe[1], &pid);
	close(in_pipe[0]);
	close(out_pipe[1]);
	if (rc != 0) {
		log_warnx("hook %s %s: cannot run %s: %s", event, name, hook,
		    strerror(rc));
		close(in_pipe[1]);
		close(out_pipe[0]);
		return;
	}

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		fatalx("out of memory");
	h->pid = pid;
	h->pidfd = -1;
	LIST_INSERT_HEAD(&runs, h, entry);
	snprintf(h->label, sizeof(h->label), "%s %s (pid %ld)", event, name,
	    (long)pid);
	log_notice("hook %s: started: %s %s %s", h->label, hook, event, name);
	if (watch(base, spec->timeout_ms, h, in_pipe[1], out_pipe[0]) == -1) {
		log_warn("hook %s: cannot watch it; killing it", h->label);
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);      /* SIGKILLed: a moment at most */
		run_free(h);
		return;
	}
	if (stdin_json == NULL || evbuffer_add(bufferevent_get_output(h->in),
	    stdin_json, strlen(stdin_json)) == -1)
		log_warnx("hook %s: out of memory writing its input", h->label);
}

/*
 * yaokid stops: a hook still running goes on alone (it has its own process
 * group); only yaokid's side of it (pipes, pidfd, events) is given back.
 */
void
hook_forget_all(void)
{
	struct hook_child *h;

	while ((h = LIST_FIRST(&runs)) != NULL) {
		log_info("hook %s: still running as yaokid stops; left to finish "
		    "alone", h->label);
		run_free(h);
	}
}
