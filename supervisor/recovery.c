/*
 * recovery.c - carries out recoveries: at most max_parallel_recoveries at
 * once, the rest wait in line (first come, first served).
 *
 * One recovery: write the intent record (so that a yaokid killed midway
 * finishes the job after a restart) -> destroy the old incarnation if it
 * exists and wait until it is gone -> create from the captured (or the
 * configured) domain configuration -> clear the intent -> tell the state
 * machine. Every step is asynchronous; nothing here blocks the loop.
 *
 * For the kill -9 tests, YAOKI_FAILPOINT may name steps (comma-separated:
 * "intent", "create", "created") at which yaokid stops itself with SIGSTOP,
 * so that a test can SIGKILL it exactly there. Unset, it costs one getenv
 * per recovery step and changes nothing.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "file.h"
#include "log.h"
#include "recovery.h"
#include "persist.h"
#include "supervisor.h"

#define DOMAIN_CONFIG_MAX (8u << 20)    /* bytes of a domain_config file */

struct recovery {
	TAILQ_ENTRY(recovery) entry;
	struct sup_domain *d;
	char *name;             /* d->conf dies with a reload that drops d */
	bool started;
	double t0, t_destroyed;
	char *config_json;
	struct event *grace;
};

static void start(struct recovery *r);
static void resolve(struct recovery *r);
static void grace_cb(evutil_socket_t fd, short what, void *arg);

/* Stops the process at a named step when YAOKI_FAILPOINT lists it. */
static void
failpoint(const char *step, const char *name)
{
	const char *list = getenv("YAOKI_FAILPOINT"), *p;
	size_t n = strlen(step);

	if (list == NULL)
		return;
	for (p = list; (p = strstr(p, step)) != NULL; p += n) {
		if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ',')) {
			log_warnx("%s: failpoint %s: stopping (SIGSTOP)",
			    name, step);
			raise(SIGSTOP);
			return;
		}
	}
}

void
recovery_enqueue(struct sup_domain *d)
{
	struct sup *s = d->sup;
	struct recovery *r;

	if (d->rec != NULL)
		return;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		fatalx("out of memory");
	r->d = d;
	d->rec = r;
	sup_domain_ref(d);
	TAILQ_INSERT_TAIL(&s->queue, r, entry);
	if (s->recoveries_running >= s->cfg->max_parallel_recoveries)
		log_notice("%s: recovery waits in line (%u running, "
		    "max_parallel_recoveries %u)", d->conf->name,
		    s->recoveries_running, s->cfg->max_parallel_recoveries);
	recovery_kick(s);
}

void
recovery_kick(struct sup *s)
{
	struct recovery *r;

	while (!s->stopping &&
	    s->recoveries_running < s->cfg->max_parallel_recoveries &&
	    (r = TAILQ_FIRST(&s->queue)) != NULL) {
		TAILQ_REMOVE(&s->queue, r, entry);
		start(r);
	}
}

void
recovery_dequeue(struct sup_domain *d)
{
	struct recovery *r = d->rec;

	if (r == NULL || r->started)
		return;
	TAILQ_REMOVE(&d->sup->queue, r, entry);
	d->rec = NULL;
	free(r);
	sup_domain_unref(d);
}

/*
 * A domain dropped by a reload keeps its state file: clear the intent
 * there, or a later reload that adds it again would resume a recovery
 * that has ended.
 */
static void
forget_intent(struct recovery *r)
{
	struct yk_persist p;
	const char *dir = r->d->sup->cfg->state_dir;

	if (persist_load(dir, r->name, &p) == 1 && p.intent) {
		p.intent = false;
		p.intent_domid = -1;
		persist_save(dir, r->name, &p);
	}
}

static void
finish(struct recovery *r, bool ok, const char *why)
{
	struct sup_domain *d = r->d;
	struct sup *s = d->sup;
	double secs = yk_now_s() - r->t0;

	s->recoveries_running--;
	d->rec = NULL;
	if (!d->removed) {
		d->have_recovery = true;
		d->recovery_at = time(NULL);
		d->recovery_seconds = secs;
		snprintf(d->recovery_result, sizeof(d->recovery_result), "%s",
		    ok ? "ok" : "failed");
		if (ok) {
			d->recoveries_ok++;
			log_notice("%s: re-created as domain %d in %.1f s "
			    "(destroy %.1f s, create %.1f s)", d->conf->name,
			    d->domid, secs, r->t_destroyed - r->t0,
			    yk_now_s() - r->t_destroyed);
		} else {
			d->recoveries_failed++;
			log_errx("%s: recovery failed after %.1f s: %s",
			    d->conf->name, secs, why);
		}
		if (why != NULL && !ok && r->config_json == NULL)
			sup_domain_give_up(d, why);
		else {
			struct yk_sm_event ev = { .kind = YK_EV_RECOVERY_DONE, .ok = ok };

			sup_domain_step(d, &ev);
		}
	}
	free(r->config_json);
	free(r->name);
	if (r->grace != NULL)
		event_free(r->grace);
	free(r);
	sup_domain_unref(d);
	recovery_kick(s);
}

/* Someone else (an xl monitor, an operator) created it meanwhile: adopt it. */
static void
adopt(struct recovery *r, int domid)
{
	struct sup_domain *d = r->d;

	log_notice("%s: domain %d was created outside yaokid meanwhile; "
	    "adopting it instead of creating another", d->conf->name, domid);
	d->domid = domid;
	d->shutdown_seen = false;
	d->intent = false;
	d->sm.created_by_us = false;
	sup_domain_save(d);
	sup_capture(d);
	finish(r, true, NULL);
}

static void
created_cb(void *arg, int err, int domid, const char *errmsg)
{
	struct recovery *r = arg;
	struct sup_domain *d = r->d;

	if (d->removed) {
		if (err == 0 && domid >= 0) {
			log_notice("%s: re-created as domain %d; no longer "
			    "supervised", r->name, domid);
			forget_intent(r);
		} else
			log_errx("%s: creating it again failed: %s; it is no "
			    "longer supervised", r->name,
			    errmsg != NULL ? errmsg : "create failed");
		finish(r, err == 0, errmsg);
		return;
	}
	if (err != 0 || domid < 0) {
		finish(r, false, errmsg != NULL ? errmsg : "create failed");
		return;
	}
	failpoint("created", r->name);
	d->domid = domid;
	d->created_domid = domid;
	d->shutdown_seen = false;
	d->intent = false;
	d->sm.created_by_us = true;
	sup_domain_save(d);
	sup_capture(d);
	finish(r, true, NULL);
}

static void
create_step(struct recovery *r)
{
	struct sup_domain *d = r->d;

	r->t_destroyed = yk_now_s();
	failpoint("create", r->name);
	log_notice("%s: creating the domain again", r->name);
	d->sup->hv->ops->create(d->sup->hv, r->config_json, created_cb, r);
}

static void
destroyed_cb(void *arg, int err, const char *errmsg)
{
	struct recovery *r = arg;
	struct sup_domain *d = r->d;

	if (d->removed) {
		/* Dropped by a reload, but destroyed by yaokid: still owed. */
		log_notice("%s: no longer configured, but destroyed by yaokid: "
		    "creating it again", r->name);
		d->domid = -1;
		create_step(r);
		return;
	}
	if (err != 0)
		log_warnx("%s: destroy of domain %d failed: %s; trying to "
		    "create anyway", d->conf->name, d->domid,
		    errmsg ? errmsg : "unknown error");
	else
		log_info("%s: domain %d destroyed in %.1f s", d->conf->name,
		    d->domid, yk_now_s() - r->t0);
	d->domid = -1;
	create_step(r);
}

/* The configured domain_config file, read afresh for every attempt. */
static char *
read_domain_config(const char *path, char *why, size_t whylen)
{
	char *text = yk_file_read(path, DOMAIN_CONFIG_MAX, YK_FILE_NO_NUL, NULL);

	if (text == NULL)
		snprintf(why, whylen, "cannot read domain_config %s: %s", path,
		    errno == EFBIG ? "too large" : strerror(errno));
	return text;
}

static void
start(struct recovery *r)
{
	struct sup_domain *d = r->d;
	struct sup *s = d->sup;
	char why[300];
	int grace_ms;

	r->started = true;
	r->t0 = r->t_destroyed = yk_now_s();
	if ((r->name = strdup(d->conf->name)) == NULL)
		fatalx("out of memory");
	s->recoveries_running++;
	if (d->conf->domain_config != NULL)
		r->config_json = read_domain_config(d->conf->domain_config, why,
		    sizeof(why));
	else if (d->captured != NULL)
		r->config_json = strdup(d->captured);
	else
		snprintf(why, sizeof(why), "no configuration to create it from "
		    "(none was captured while it ran, and no domain_config)");
	if (r->config_json == NULL) {
		finish(r, false, why);
		return;
	}
	d->intent = true;
	d->intent_domid = d->domid;
	d->intent_wall_ms = yk_wall_ms();
	sup_domain_save(d);
	failpoint("intent", r->name);
	grace_ms = s->hv->ops->crash_grace_ms;
	if (grace_ms > 0 && !d->sm.created_by_us && d->shutdown_seen) {
		struct timeval tv = { grace_ms / 1000, (grace_ms % 1000) * 1000 };

		r->grace = evtimer_new(s->base, grace_cb, r);
		if (r->grace != NULL && evtimer_add(r->grace, &tv) == 0)
			return;
	}
	resolve(r);
}

static void
grace_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	resolve(arg);
}

/*
 * Looks the domain up by name right before acting: the incarnation yaokid
 * knows may be gone, or another one may have appeared.
 */
static void
resolved_cb(void *arg, int err, const struct hv_dominfo *doms, size_t n)
{
	struct recovery *r = arg;
	struct sup_domain *d = r->d;
	const struct hv_dominfo *found = NULL;
	size_t i;

	if (d->removed) {
		/* Nothing was destroyed yet: nothing is owed. */
		forget_intent(r);
		finish(r, false, "no longer configured");
		return;
	}
	for (i = 0; err == 0 && i < n; i++)
		if (strcmp(doms[i].name, d->conf->name) == 0 &&
		    doms[i].state != HV_DYING && !doms[i].migrating)
			found = &doms[i];
	/* If listing failed, act on the incarnation yaokid knows. */
	if (found != NULL && found->domid != d->domid &&
	    (found->state == HV_RUNNING || found->state == HV_PAUSED)) {
		adopt(r, found->domid);
		return;
	}
	if (found != NULL)
		d->domid = found->domid;
	else if (err == 0)
		d->domid = -1;
	if (d->domid < 0) {
		create_step(r);
		return;
	}
	log_notice("%s: destroying domain %d (%s)", d->conf->name, d->domid,
	    d->sm.reason);
	d->expect_gone_domid = d->domid;
	d->sup->hv->ops->destroy(d->sup->hv, d->domid, destroyed_cb, r);
}

static void
resolve(struct recovery *r)
{
	struct sup *s = r->d->sup;

	s->hv->ops->list(s->hv, resolved_cb, r);
}
