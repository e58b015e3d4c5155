/*
 * yaokid.c - the supervisor daemon's entry point: options, configuration
 * check (-t), start-up order, daemonizing, signals, systemd notification,
 * reload, a clean stop, and the supervisor's alerts (the hook, with the
 * status JSON on its standard input).
 *
 * Exit statuses: 0 clean stop, 1 configuration error, 2 cannot start.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "clock.h"
#include "conf.h"
#include "control.h"
#include "hook.h"
#include "hv.h"
#include "log.h"
#include "metrics.h"
#include "fd.h"
#include "file.h"
#include "persist.h"
#include "status_json.h"
#include "supervisor.h"

#define DEFAULT_CONFIG SYSCONFDIR "/yaoki/yaoki.conf"
#define STOP_GRACE_MS 30000
#define METRICS_FILE_PERIOD_S 5
#define METRICS_FILE_FIRST_S 2
#define HEAP_TRIM_PERIOD_S 30

struct daemon {
	const char *config_path;
	const char *pidfile;          /* -p, or NULL */
	struct event_base *base;
	struct yk_config *cfg;
	struct hv *hv;
	struct sup *sup;
	struct control *ctl;
	struct event *sig_hup, *sig_term, *sig_int;
	struct event *stop_timer, *metrics_timer, *watchdog_timer, *trim_timer;
	int64_t stop_deadline;
	int ready_fd;                 /* pipe to the waiting parent, or -1 */
};

static struct daemon yk;

static void
usage(void)
{
	fprintf(stderr, "usage: yaokid [-ftVv] [-c FILE] [-p PIDFILE]\n");
	exit(1);
}

static void
print_errors(const struct yk_conf_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msg[i]);
}

/* Reports a start-up failure (to the waiting parent too) and exits 2. */
static void __attribute__((noreturn))
cannot_start(const char *why)
{
	if (yk.ready_fd != -1) {
		log_errx("cannot start: %s", why);
		if (write(yk.ready_fd, why, strlen(why)) < 0) {
			/* the parent is gone; nothing to tell */
		}
	} else
		fprintf(stderr, "yaokid: %s\n", why);
	exit(2);
}

/*
 * Forks; the parent waits until the child says it serves (exit 0) or why it
 * cannot (prints the reason, exit 2), so init scripts see real failures.
 */
static void
daemonize(void)
{
	int fds[2], devnull;
	char buf[1024];
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		perror("yaokid: pipe");
		exit(2);
	}
	pid = fork();
	if (pid == -1) {
		perror("yaokid: fork");
		exit(2);
	}
	if (pid > 0) {
		close(fds[1]);
		n = read(fds[0], buf, sizeof(buf) - 1);
		if (n <= 0) {
			if (n == 0)
				exit(0);
			exit(2);
		}
		buf[n] = '\0';
		fprintf(stderr, "yaokid: %s\n", buf);
		exit(2);
	}
	close(fds[0]);
	yk.ready_fd = fds[1];
	setsid();
	if (chdir("/") == -1) {
		/* not fatal */
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull != -1) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (devnull > 2)
			close(devnull);
	}
}

static void
notify(const char *what)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, what);
#else
	(void)what;
#endif
}

/* WHAT plus a STATUS= line that `systemctl status` shows. */
static void
notify_status(const char *what)
{
#ifdef HAVE_SYSTEMD
	sd_notifyf(0, "%s\nSTATUS=supervising %zu domains (hypervisor %s)",
	    what, yk.cfg->ndomains, yk.hv->ops->name);
#else
	(void)what;
#endif
}

/* Written once yaokid serves, so that init scripts find it; 0644. */
static void
write_pidfile(void)
{
	char buf[32];
	int n;

	if (yk.pidfile == NULL)
		return;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (yk_file_write_atomic(yk.pidfile, buf, (size_t)n, 0644) == -1) {
		char why[1024];

		snprintf(why, sizeof(why), "pid file %s: %s", yk.pidfile,
		    strerror(errno));
		cannot_start(why);
	}
}

/*
 * A hook that cannot run is pointed out now, not first when a domain is
 * already lost. Not an error: the operator may install it later.
 */
static void
check_hook(const struct yk_config *cfg)
{
	struct stat st;

	if (cfg->hook == NULL)
		return;
	if (stat(cfg->hook, &st) == -1)
		log_warn("hook %s", cfg->hook);
	else if (!S_ISREG(st.st_mode))
		log_warnx("hook %s: not a regular file", cfg->hook);
	else if (access(cfg->hook, X_OK) == -1)
		log_warn("hook %s: not executable", cfg->hook);
}

/* ---- alerts: the hook ---------------------------------------------------- */

/* The status JSON of d (NULL: every domain), as a string; NULL if no memory. */
static char *
status_text(const struct sup *s, const struct sup_domain *d)
{
	struct evbuffer *buf = evbuffer_new();
	size_t len;
	char *text = NULL;

	if (buf == NULL)
		return NULL;
	if (status_json_write(s, d, buf) == 0) {
		len = evbuffer_get_length(buf);
		if ((text = malloc(len + 1)) != NULL) {
			evbuffer_remove(buf, text, len);
			text[len] = '\0';
		}
	}
	evbuffer_free(buf);
	return text;
}

/* sup->alert: runs the hook, if one is configured, with the status JSON. */
static void
alert(struct sup *s, const char *event, struct sup_domain *d,
    const char *reason)
{
	struct hook_spec spec = { s->cfg->hook, s->cfg->hook_timeout_ms, s->host };
	char *json;

	if (spec.path == NULL)
		return;
	json = status_text(s, d);
	hook_run(&spec, s->base, event, d != NULL ? d->conf->name : NULL,
	    reason, d != NULL ? yk_sm_recoveries_in_window(&d->sm, &d->params,
	    yk_now_ms()) : 0, json);
	free(json);
}

/* ---- reload ---------------------------------------------------------------- */

static void
keep_string(char **dst, char *const *src, const char *key)
{
	if ((*dst == NULL) != (*src == NULL) ||
	    (*dst != NULL && strcmp(*dst, *src) != 0))
		log_warnx("reload: %s changes only with a restart; keeping %s",
		    key, *src ? *src : "(unset)");
	free(*dst);
	*dst = *src ? strdup(*src) : NULL;
}

/*
 * Gives the heap's free pages back to the system. Bursts leave many: the
 * parse tree of a large configuration (libconfuse, some 2.7 kB per domain
 * section, freed as soon as the configuration is built), thousands of probes
 * in flight at once (curl, some 25 kB each) after the loop was held up, a
 * status reply of thousands of domains. Called after each configuration
 * load and every HEAP_TRIM_PERIOD_S seconds (a walk of the free chunks).
 */
static void
heap_trim(void)
{
#ifdef HAVE_MALLOC_TRIM
	malloc_trim(0);
#endif
}

static int
reload(struct sup *s, char *err, size_t errlen)
{
	struct yk_conf_errors errs = { 0, NULL };
	struct yk_config *cfg;
	size_t i, off = 0;

	cfg = yk_config_load(yk.config_path, &errs);
	if (cfg == NULL) {
		err[0] = '\0';
		for (i = 0; i < errs.n; i++) {
			log_errx("reload rejected: %s", errs.msg[i]);
			off += (size_t)snprintf(err + off, off < errlen ? errlen - off : 0,
			    "%s%s", i ? "\n" : "", errs.msg[i]);
			if (off >= errlen)
				break;
		}
		yk_conf_errors_free(&errs);
		return -1;
	}
	if (cfg->hypervisor != s->cfg->hypervisor) {
		log_warnx("reload: hypervisor changes only with a restart");
		cfg->hypervisor = s->cfg->hypervisor;
	}
	keep_string(&cfg->sim_socket, &s->cfg->sim_socket, "sim_socket");
	keep_string(&cfg->state_dir, &s->cfg->state_dir, "state_dir");
	keep_string(&cfg->socket, &s->cfg->socket, "socket");
	keep_string(&cfg->socket_group, &s->cfg->socket_group, "socket_group");
	log_notice("reloading %s: %zu domains", yk.config_path, cfg->ndomains);
	sup_apply_config(s, cfg);
	yk.cfg = cfg;
	check_hook(cfg);
	heap_trim();
	return 0;
}

/* ---- signals and timers ------------------------------------------------------ */

static void
sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	char err[4096];

	(void)sig; (void)what; (void)arg;
	notify("RELOADING=1");
	if (reload(yk.sup, err, sizeof(err)) == -1)
		log_errx("SIGHUP: the running configuration stays in force");
	notify_status("READY=1");
}

static void
stop_check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, 100000 };

	(void)fd; (void)what; (void)arg;
	if (!sup_busy(yk.sup) || yk_now_ms() >= yk.stop_deadline) {
		if (sup_busy(yk.sup))
			log_warnx("stopping with recoveries unfinished; their "
			    "intent records make the next start finish them");
		event_base_loopbreak(yk.base);
		return;
	}
	evtimer_add(yk.stop_timer, &tv);
}

static void
sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what; (void)arg;
	if (yk.sup->stopping) {
		event_base_loopbreak(yk.base);
		return;
	}
	log_notice("signal %d: stopping%s", (int)sig, sup_busy(yk.sup) ?
	    " after the recoveries and file writes in progress" : "");
	notify("STOPPING=1");
	sup_stop(yk.sup);
	yk.stop_deadline = yk_now_ms() + STOP_GRACE_MS;
	stop_check_cb(-1, 0, NULL);
}

static void
metrics_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { METRICS_FILE_PERIOD_S, 0 };

	(void)fd; (void)what; (void)arg;
	metrics_write_file(yk.sup);
	evtimer_add(yk.metrics_timer, &tv);
}

static void
trim_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	heap_trim();
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	notify("WATCHDOG=1");
}

static void
setup_timers(void)
{
	/* The first metrics_file once the hypervisor has been listed. */
	struct timeval mt = { METRICS_FILE_FIRST_S, 0 };
	struct timeval trim = { HEAP_TRIM_PERIOD_S, 0 };

	yk.sig_hup = evsignal_new(yk.base, SIGHUP, sighup_cb, NULL);
	yk.sig_term = evsignal_new(yk.base, SIGTERM, sigterm_cb, NULL);
	yk.sig_int = evsignal_new(yk.base, SIGINT, sigterm_cb, NULL);
	yk.stop_timer = evtimer_new(yk.base, stop_check_cb, NULL);
	yk.metrics_timer = evtimer_new(yk.base, metrics_timer_cb, NULL);
	yk.trim_timer = event_new(yk.base, -1, EV_PERSIST, trim_timer_cb, NULL);
	if (yk.sig_hup == NULL || yk.sig_term == NULL || yk.sig_int == NULL ||
	    yk.stop_timer == NULL || yk.metrics_timer == NULL ||
	    yk.trim_timer == NULL)
		cannot_start("cannot set up signal handling");
	evsignal_add(yk.sig_hup, NULL);
	evsignal_add(yk.sig_term, NULL);
	evsignal_add(yk.sig_int, NULL);
	evtimer_add(yk.metrics_timer, &mt);
	evtimer_add(yk.trim_timer, &trim);
#ifdef HAVE_SYSTEMD
	{
		uint64_t usec;

		if (sd_watchdog_enabled(0, &usec) > 0) {
			struct timeval wt = { (time_t)(usec / 2000000),
			    (suseconds_t)((usec / 2) % 1000000) };

			yk.watchdog_timer = event_new(yk.base, -1, EV_PERSIST,
			    watchdog_cb, NULL);
			evtimer_add(yk.watchdog_timer, &wt);
		}
	}
#else
	(void)watchdog_cb;
#endif
}

static void
teardown(void)
{
	control_close(yk.ctl);
	/* First the backend: its calls still pending are dropped, so nothing
	 * calls back into the supervisor any more. */
	yk.hv->ops->close(yk.hv);
	sup_free(yk.sup);
	hook_forget_all();
	event_free(yk.sig_hup);
	event_free(yk.sig_term);
	event_free(yk.sig_int);
	event_free(yk.stop_timer);
	event_free(yk.metrics_timer);
	event_free(yk.trim_timer);
	if (yk.watchdog_timer != NULL)
		event_free(yk.watchdog_timer);
	yk_config_free(yk.cfg);
	event_base_free(yk.base);
}


int
main(int argc, char *argv[])
{
	struct yk_conf_errors errs = { 0, NULL };
	int ch, foreground = 0, check_only = 0, verbose = 0, rc;
	char err[1024];

	yk.config_path = DEFAULT_CONFIG;
	yk.ready_fd = -1;
	while ((ch = getopt(argc, argv, "c:fp:tvVh")) != -1) {
		switch (ch) {
		case 'c': yk.config_path = optarg; break;
		case 'p': yk.pidfile = optarg; break;
		case 'f': foreground = 1; break;
		case 't': check_only = 1; break;
		case 'v': verbose++; break;
		case 'V':
			printf("yaokid %s\n", PACKAGE_VERSION);
			return 0;
		default: usage();
		}
	}
	if (optind != argc)
		usage();

	log_init("yaokid", 1, verbose);
	yk.cfg = yk_config_load(yk.config_path, &errs);
	if (yk.cfg == NULL) {
		print_errors(&errs);
		yk_conf_errors_free(&errs);
		return 1;
	}
	if (check_only) {
		printf("%s: configuration OK\n", yk.config_path);
		yk_config_free(yk.cfg);
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	if (!foreground) {
		daemonize();
		log_init("yaokid", 0, verbose);
	}
	/* Its lock is held until the process ends: never closed. */
	if (persist_dir_prepare(yk.cfg->state_dir, err, sizeof(err)) == -1)
		cannot_start(err);
	/*
	 * Not with libevent's epoll change list: it saves 0.6 epoll_ctl per
	 * probe, but the output of a hook that exited at once was lost with it
	 * (test_failing_hook_is_logged failed 7 runs in 8).
	 */
	if ((yk.base = event_base_new()) == NULL)
		cannot_start("cannot create the event loop");
	yk.hv = hv_open(yk.cfg, yk.base, err, sizeof(err));
	if (yk.hv == NULL)
		cannot_start(err);
	yk.sup = sup_new(yk.base, yk.cfg, yk.hv);
	yk.sup->reload = reload;
	yk.sup->alert = alert;
	yk.ctl = control_open(yk.sup, yk.cfg->socket, yk.cfg->socket_group,
	    err, sizeof(err));
	if (yk.ctl == NULL)
		cannot_start(err);
	setup_timers();
	check_hook(yk.cfg);
	heap_trim();
	sup_start(yk.sup);
	/* Everything is open: nothing of it may reach a spawned program. */
	if (yk_fd_cloexec_all() == -1)
		log_warn("cannot mark descriptors close-on-exec");

	write_pidfile();
	log_notice("started: %zu domains, hypervisor %s, socket %s",
	    yk.cfg->ndomains, yk.hv->ops->name, yk.cfg->socket);
	/* The socket serves from here on: the loop only has to run. */
	notify_status("READY=1");
	if (yk.ready_fd != -1) {
		close(yk.ready_fd);
		yk.ready_fd = -1;
	}
	event_base_dispatch(yk.base);
	/* A broken hypervisor backend is a failure: let systemd restart us. */
	rc = yk.hv->failed ? 2 : 0;
	log_notice(rc ? "stopped: the hypervisor backend failed" : "stopped");
	if (yk.pidfile != NULL)
		unlink(yk.pidfile);
	teardown();
	return rc;
}
