/*
 * metrics.c - renders the Prometheus text exposition format (version 0.0.4):
 * state per domain, probe and recovery counters, the probe-latency
 * histogram, recovery budgets and last-activity times, the hold flag and
 * build info; and writes them to metrics_file atomically (on a writer
 * thread of its own, writer.h: never blocking the loop nor the state
 * files), never through
 * a link planted in its directory and never into a directory that others
 * may write (unless sticky). Domain names are
 * restricted by the configuration to [A-Za-z0-9_.-], so label values need
 * no escaping.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "recovery.h"
#include "file.h"
#include "supervisor.h"
#include "writer.h"

static void
render_states(const struct sup *s, struct evbuffer *out)
{
	const struct sup_domain *d;
	int64_t now = yk_now_ms();
	int st;

	evbuffer_add_printf(out, "# HELP yaoki_domain_state 1 for the domain's "
	    "current state, 0 for the others.\n# TYPE yaoki_domain_state gauge\n");
	TAILQ_FOREACH(d, &s->domains, entry)
		for (st = 0; st < YK_NSTATES; st++)
			evbuffer_add_printf(out, "yaoki_domain_state{domain=\"%s\","
			    "state=\"%s\"} %d\n", d->conf->name,
			    yk_state_name((enum yk_state)st), (int)d->sm.state == st);
	evbuffer_add_printf(out, "# HELP yaoki_domain_consecutive_failures "
	    "Consecutive failed probes.\n"
	    "# TYPE yaoki_domain_consecutive_failures gauge\n");
	TAILQ_FOREACH(d, &s->domains, entry)
		evbuffer_add_printf(out, "yaoki_domain_consecutive_failures"
		    "{domain=\"%s\"} %u\n", d->conf->name, d->sm.consecutive_failures);
	evbuffer_add_printf(out, "# HELP yaoki_domain_recoveries_in_window "
	    "Recoveries within recovery_window (max_recoveries is the limit).\n"
	    "# TYPE yaoki_domain_recoveries_in_window gauge\n");
	TAILQ_FOREACH(d, &s->domains, entry)
		evbuffer_add_printf(out, "yaoki_domain_recoveries_in_window"
		    "{domain=\"%s\"} %u\n", d->conf->name,
		    yk_sm_recoveries_in_window(&d->sm, &d->params, now));
	evbuffer_add_printf(out, "# HELP yaoki_domain_max_recoveries The "
	    "domain's max_recoveries.\n"
	    "# TYPE yaoki_domain_max_recoveries gauge\n");
	TAILQ_FOREACH(d, &s->domains, entry)
		evbuffer_add_printf(out, "yaoki_domain_max_recoveries"
		    "{domain=\"%s\"} %u\n", d->conf->name, d->conf->max_recoveries);
}

/* Wall-clock times, for "no probe for too long" alerts. */
static void
render_times(const struct sup *s, struct evbuffer *out)
{
	const struct sup_domain *d;

	evbuffer_add_printf(out, "# HELP yaoki_domain_last_probe_timestamp_seconds "
	    "When the last probe verdict came (Unix time).\n"
	    "# TYPE yaoki_domain_last_probe_timestamp_seconds gauge\n");
	TAILQ_FOREACH(d, &s->domains, entry)
		if (d->have_probe)
			evbuffer_add_printf(out,
			    "yaoki_domain_last_probe_timestamp_seconds"
			    "{domain=\"%s\"} %lld\n", d->conf->name,
			    (long long)d->probe_at);
	evbuffer_add_printf(out, "# HELP yaoki_domain_last_recovery_timestamp_seconds "
	    "When the last recovery ended (Unix time).\n"
	    "# TYPE yaoki_domain_last_recovery_timestamp_seconds gauge\n");
	TAILQ_FOREACH(d, &s->domains, entry)
		if (d->have_recovery)
			evbuffer_add_printf(out,
			    "yaoki_domain_last_recovery_timestamp_seconds"
			    "{domain=\"%s\"} %lld\n", d->conf->name,
			    (long long)d->recovery_at);
}

static void
render_counters(const struct sup *s, struct evbuffer *out)
{
	const struct sup_domain *d;

	evbuffer_add_printf(out, "# HELP yaoki_probes_total Probes by result.\n"
	    "# TYPE yaoki_probes_total counter\n");
	TAILQ_FOREACH(d, &s->domains, entry)
		evbuffer_add_printf(out,
		    "yaoki_probes_total{domain=\"%s\",result=\"ok\"} %llu\n"
		    "yaoki_probes_total{domain=\"%s\",result=\"fail\"} %llu\n",
		    d->conf->name, (unsigned long long)d->probes_ok,
		    d->conf->name, (unsigned long long)d->probes_fail);
	evbuffer_add_printf(out, "# HELP yaoki_recoveries_total Recoveries "
	    "(destroy + create) by result.\n# TYPE yaoki_recoveries_total counter\n");
	TAILQ_FOREACH(d, &s->domains, entry)
		evbuffer_add_printf(out,
		    "yaoki_recoveries_total{domain=\"%s\",result=\"ok\"} %llu\n"
		    "yaoki_recoveries_total{domain=\"%s\",result=\"failed\"} %llu\n",
		    d->conf->name, (unsigned long long)d->recoveries_ok,
		    d->conf->name, (unsigned long long)d->recoveries_failed);
}

static void
render_histogram(const struct sup *s, struct evbuffer *out)
{
	size_t i;

	evbuffer_add_printf(out, "# HELP yaoki_probe_duration_seconds Time from "
	    "probe start to verdict.\n# TYPE yaoki_probe_duration_seconds histogram\n");
	for (i = 0; i < YK_LATENCY_NBUCKETS; i++)
		evbuffer_add_printf(out, "yaoki_probe_duration_seconds_bucket"
		    "{le=\"%g\"} %llu\n", yk_latency_bounds[i],
		    (unsigned long long)s->latency.bucket[i]);
	evbuffer_add_printf(out,
	    "yaoki_probe_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "yaoki_probe_duration_seconds_sum %.6f\n"
	    "yaoki_probe_duration_seconds_count %llu\n",
	    (unsigned long long)s->latency.count, s->latency.sum,
	    (unsigned long long)s->latency.count);
}

void
metrics_render(const struct sup *s, struct evbuffer *out)
{
	render_states(s, out);
	render_counters(s, out);
	render_times(s, out);
	render_histogram(s, out);
	evbuffer_add_printf(out, "# HELP yaoki_hold 1 while a mass failure holds "
	    "recoveries.\n# TYPE yaoki_hold gauge\nyaoki_hold %d\n", s->hold);
	evbuffer_add_printf(out, "# HELP yaoki_hook_runs_suppressed_total Hook "
	    "runs not made because of their rate limit.\n"
	    "# TYPE yaoki_hook_runs_suppressed_total counter\n"
	    "yaoki_hook_runs_suppressed_total{event=\"mass-failure\"} %llu\n",
	    (unsigned long long)s->hooks_suppressed);
	evbuffer_add_printf(out, "# HELP yaoki_recoveries_running Recoveries in "
	    "progress.\n# TYPE yaoki_recoveries_running gauge\n"
	    "yaoki_recoveries_running %u\n",
	    recovery_running_count(s->recoveries));
	evbuffer_add_printf(out, "# HELP yaoki_domains Configured domains.\n"
	    "# TYPE yaoki_domains gauge\nyaoki_domains %zu\n", s->cfg->ndomains);
	evbuffer_add_printf(out, "# HELP yaoki_build_info yaokid's version.\n"
	    "# TYPE yaoki_build_info gauge\nyaoki_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
}

/* Says why the directory of path was refused (EPERM from the write). */
static void
warn_untrusted_dir(const char *path)
{
	char dir[PATH_MAX], why[128];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	if (stat(dir, &st) == 0 && yk_file_untrusted(&st, 1, why, sizeof(why)))
		log_warnx("cannot write metrics_file %s: its directory %s: %s "
		    "(or sticky, like /tmp)", path, dir, why);
	else
		log_warnx("cannot write metrics_file %s: its directory %s cannot "
		    "be trusted", path, dir);
}

static void
metrics_written(void *arg, const char *path, int err)
{
	(void)arg;
	if (err == 0)
		return;
	if (err == EPERM)
		warn_untrusted_dir(path);
	else {
		errno = err;
		log_warn("cannot write metrics_file %s", path);
	}
}

/* Off the loop: a newer text replaces one the writer has not begun. */
void
metrics_write_file(const struct sup *s)
{
	struct evbuffer *buf;
	size_t len;
	char *text;

	if (s->cfg->metrics_file == NULL)
		return;
	buf = evbuffer_new();
	if (buf == NULL)
		return;
	metrics_render(s, buf);
	len = evbuffer_get_length(buf);
	text = (char *)evbuffer_pullup(buf, -1);
	writer_submit(s->metrics_writer, s->cfg->metrics_file, text, len, 0644,
	    WRITER_COALESCE, metrics_written, NULL);
	evbuffer_free(buf);
}
