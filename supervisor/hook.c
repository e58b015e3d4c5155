/*
 * hook.c - runs the alert hook: `HOOK EVENT DOMAIN`, no shell, the contract's
 * environment, the status JSON on standard input, killed (its whole process
 * group) after hook_timeout. Asynchronous: yaokid never waits for it.
 *
 * The child is reaped by pid only, through a pidfd watched on the loop
 * (libxl owns SIGCHLD in the libxl backend). Its output goes to the log.
 */
#include "config.h"

#include <sys/pidfd.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "clock.h"
#include "hook.h"
#include "log.h"
#include "status_json.h"
#include "supervisor.h"

#define HOOK_LOG_MAX 4096      /* bytes of the hook's output that reach the log */

struct hook_run {
	pid_t pid;
	char label[160];
	struct event *exit_ev;
	struct event *timeout_ev;
	struct bufferevent *in;    /* our end of its stdin */
	struct bufferevent *out;   /* our end of its stdout+stderr */
	size_t logged;
	int pidfd;
};

/* One line of printable ASCII, at most 200 characters. */
static void
sanitize(const char *in, char *out, size_t outlen)
{
	size_t i = 0;

	for (; *in != '\0' && i + 1 < outlen && i < 200; in++)
		out[i++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[i] = '\0';
}

static void
run_free(struct hook_run *h)
{
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
exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook_run *h = arg;
	int status;

	(void)fd; (void)what;
	if (waitpid(h->pid, &status, WNOHANG) != h->pid)
		return;
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
	struct hook_run *h = arg;

	(void)fd; (void)what;
	log_warnx("hook %s: still running after hook_timeout; killing it",
	    h->label);
	kill(-h->pid, SIGKILL);
}

static void
out_read_cb(struct bufferevent *bev, void *arg)
{
	struct hook_run *h = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_ANY)) != NULL) {
		char clean[256];

		if (h->logged < HOOK_LOG_MAX) {
			sanitize(line, clean, sizeof(clean));
			log_info("hook %s: %s", h->label, clean);
			h->logged += len + 1;
		}
		free(line);
	}
	/* Anything without a newline past the cap is dropped, not buffered. */
	if (evbuffer_get_length(in) > HOOK_LOG_MAX)
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void
pipe_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct hook_run *h = arg;

	(void)what;
	if (bev == h->in) {
		bufferevent_free(h->in);
		h->in = NULL;
	} else {
		bufferevent_free(h->out);
		h->out = NULL;
	}
}

static void
in_write_cb(struct bufferevent *bev, void *arg)
{
	struct hook_run *h = arg;

	/* All of stdin written: close it so the hook sees EOF. */
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		bufferevent_free(h->in);
		h->in = NULL;
	}
}

static void
child_exec(const char *hook, char *const argv[], char *const envp[],
    int in_fd, int out_fd)
{
	sigset_t none;
	int sig;

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	if (dup2(in_fd, 0) == -1 || dup2(out_fd, 1) == -1 || dup2(out_fd, 2) == -1)
		_exit(126);
	close_range(3, ~0U, 0);
	execve(hook, argv, envp);
	dprintf(2, "cannot execute %s: %s\n", hook, strerror(errno));
	_exit(127);
}

void
hook_run(struct sup *s, const char *event, struct sup_domain *d,
    const char *reason)
{
	const char *hook = s->cfg->hook;
	char e_event[64], e_domain[200], e_host[300], e_reason[260], e_recov[64];
	char clean[201];
	char *argv[4], *envp[8];
	int in_pipe[2], out_pipe[2];
	struct json_object *js;
	const char *stdin_text;
	struct hook_run *h;
	struct timeval tv;
	pid_t pid;

	if (hook == NULL)
		return;
	sanitize(reason, clean, sizeof(clean));
	snprintf(e_event, sizeof(e_event), "YAOKI_EVENT=%s", event);
	snprintf(e_domain, sizeof(e_domain), "YAOKI_DOMAIN=%s", d ? d->conf->name : "-");
	snprintf(e_host, sizeof(e_host), "YAOKI_HOST=%s", s->host);
	snprintf(e_reason, sizeof(e_reason), "YAOKI_REASON=%s", clean);
	snprintf(e_recov, sizeof(e_recov), "YAOKI_RECOVERIES=%u", d ?
	    yk_sm_recoveries_in_window(&d->sm, &d->params, yk_now_ms()) : 0);
	envp[0] = e_event; envp[1] = e_domain; envp[2] = e_host;
	envp[3] = e_reason; envp[4] = e_recov;
	envp[5] = (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	envp[6] = NULL;
	argv[0] = (char *)hook;
	argv[1] = (char *)event;
	argv[2] = d ? d->conf->name : (char *)"-";
	argv[3] = NULL;

	if (pipe2(in_pipe, O_CLOEXEC) == -1) {
		log_warn("hook: pipe");
		return;
	}
	if (pipe2(out_pipe, O_CLOEXEC) == -1) {
		log_warn("hook: pipe");
		close(in_pipe[0]); close(in_pipe[1]);
		return;
	}
	pid = fork();
	if (pid == -1) {
		log_warn("hook: fork");
		close(in_pipe[0]); close(in_pipe[1]);
		close(out_pipe[0]); close(out_pipe[1]);
		return;
	}
	if (pid == 0)
		child_exec(hook, argv, envp, in_pipe[0], out_pipe[1]);
	setpgid(pid, pid);
	close(in_pipe[0]);
	close(out_pipe[1]);

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		fatalx("out of memory");
	h->pid = pid;
	h->pidfd = -1;
	snprintf(h->label, sizeof(h->label), "%s %s (pid %ld)", event,
	    d ? d->conf->name : "-", (long)pid);
	log_notice("hook %s: started: %s %s %s", h->label, hook, event,
	    d ? d->conf->name : "-");

	evutil_make_socket_nonblocking(in_pipe[1]);
	evutil_make_socket_nonblocking(out_pipe[0]);
	h->in = bufferevent_socket_new(s->base, in_pipe[1], BEV_OPT_CLOSE_ON_FREE);
	h->out = bufferevent_socket_new(s->base, out_pipe[0], BEV_OPT_CLOSE_ON_FREE);
	h->pidfd = pidfd_open(pid, 0);
	if (h->in == NULL || h->out == NULL || h->pidfd == -1)
		fatalx("hook: cannot watch the hook process");
	bufferevent_setcb(h->in, NULL, in_write_cb, pipe_event_cb, h);
	bufferevent_setcb(h->out, out_read_cb, NULL, pipe_event_cb, h);
	bufferevent_enable(h->out, EV_READ);
	bufferevent_enable(h->in, EV_WRITE);
	js = status_json(s, d);
	stdin_text = json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN);
	bufferevent_write(h->in, stdin_text, strlen(stdin_text));
	bufferevent_write(h->in, "\n", 1);
	json_object_put(js);

	h->exit_ev = event_new(s->base, h->pidfd, EV_READ | EV_PERSIST, exit_cb, h);
	h->timeout_ev = evtimer_new(s->base, timeout_cb, h);
	tv.tv_sec = (time_t)(s->cfg->hook_timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)((s->cfg->hook_timeout_ms % 1000) * 1000);
	event_add(h->exit_ev, NULL);
	evtimer_add(h->timeout_ev, &tv);
}
