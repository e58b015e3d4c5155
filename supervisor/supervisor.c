/*
 * supervisor.c - turns what yaokid observes into state-machine events and
 * carries out the machine's actions.
 *
 * Owns: the list of supervised domains, each domain's probe schedule and
 * state-machine timer, reconciliation with the hypervisor's domain list and
 * events, the mass-failure hold, applying a reloaded configuration, and
 * everything a recovery changes in a domain: recovery.c is asked through a
 * request and owner callbacks (the configuration to create from, the intent
 * record), and its one outcome is applied here (domid, counters, the state
 * machine). Alerts go out through s->alert (yaokid.c runs the hook).
 * Never blocks: hypervisor work is asynchronous (hv.h), probes too (probe.h),
 * and state files are written by the writer thread (writer.h).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "duration.h"
#include "file.h"
#include "log.h"
#include "recovery.h"
#include "persist.h"
#include "supervisor.h"
#include "writer.h"

#define LIST_INTERVAL_MS 1000
#define LIST_SLOW_MS     2000   /* a list slower than this is logged */
#define TOOLS_EVERY      10     /* lists: an idle host's xl scan period */
#define DOMAIN_CONFIG_MAX (8u << 20)    /* bytes of a domain_config file */

static void sync_schedules(struct sup_domain *d, enum yk_state before);
static void tally(struct sup_domain *d);
static void probe_timer_cb(evutil_socket_t fd, short what, void *arg);
static void sm_timer_cb(evutil_socket_t fd, short what, void *arg);
static void recover(struct sup_domain *d);
static void cancel_pending_recovery(struct sup_domain *d);

/* ---- the persisted record ---------------------------------------------- */

static void
persist_from_domain(const struct sup_domain *d, struct yk_persist *p)
{
	int64_t off = yk_wall_ms() - yk_now_ms();
	unsigned i;

	memset(p, 0, sizeof(*p));
	p->maintenance = d->sm.maintenance;
	p->unrecoverable = d->sm.state == YK_UNRECOVERABLE;
	p->created_by_us = d->sm.created_by_us;
	p->created_domid = d->created_domid;
	p->streak = d->sm.streak;
	p->nhist = d->sm.nhist;
	for (i = 0; i < d->sm.nhist; i++)
		p->hist_wall_ms[i] = d->sm.hist[i] + off;
	snprintf(p->reason, sizeof(p->reason), "%s", d->sm.reason);
	p->intent = d->intent;
	p->intent_domid = d->intent_domid;
	p->intent_wall_ms = d->intent_wall_ms;
	snprintf(p->intent_uuid, sizeof(p->intent_uuid), "%s", d->intent_uuid);
	p->intent_creating = d->intent_creating;
	/* Until the host's boot is known, the record's own stays. */
	snprintf(p->boot_id, sizeof(p->boot_id), "%s",
	    d->sup->hv->boot_id[0] != '\0' ? d->sup->hv->boot_id :
	    d->record_boot);
}

static void
domain_from_persist(struct sup_domain *d, const struct yk_persist *p)
{
	int64_t now = yk_now_ms(), off = yk_wall_ms() - now;
	int64_t hist[YK_SM_HIST_MAX];
	struct yk_sm_saved saved;
	unsigned i;

	for (i = 0; i < p->nhist && i < YK_SM_HIST_MAX; i++)
		hist[i] = p->hist_wall_ms[i] - off;
	saved.maintenance = p->maintenance;
	saved.unrecoverable = p->unrecoverable;
	saved.created_by_us = p->created_by_us;
	saved.streak = p->streak;
	saved.nhist = i;
	saved.hist = hist;
	saved.reason = p->reason;
	yk_sm_restore(&d->sm, &saved, now);
	d->created_domid = p->created_domid;
	d->intent = p->intent;
	d->intent_domid = p->intent_domid;
	d->intent_wall_ms = p->intent_wall_ms;
	snprintf(d->intent_uuid, sizeof(d->intent_uuid), "%s", p->intent_uuid);
	d->intent_creating = p->intent_creating;
	snprintf(d->record_boot, sizeof(d->record_boot), "%s", p->boot_id);
}

/* A background write ended; what (arg) says what it was, for the log. */
static void
saved(void *arg, const char *path, int err)
{
	const char *what = arg;

	if (err != 0) {
		errno = err;
		log_warn("cannot save %s to %s", what, path);
	}
}

static char what_state[] = "state";
static char what_config[] = "the captured configuration";

/* Queues NAME's record for the writer thread. */
static void
save_record(struct sup *s, const char *name, const struct yk_persist *p,
    unsigned flags, writer_done_fn *done, void *arg)
{
	char path[PATH_MAX];
	char *text;

	text = persist_record_text(name, p);
	persist_state_path(path, sizeof(path), s->cfg->state_dir, name);
	writer_submit(s->writer, path, text, strlen(text), 0600, flags, done,
	    arg);
	free(text);
}

/* A newer save of the same domain replaces one still waiting. */
void
sup_domain_save(struct sup_domain *d)
{
	struct yk_persist p;

	persist_from_domain(d, &p);
	save_record(d->sup, d->conf->name, &p, WRITER_COALESCE, saved,
	    what_state);
	snprintf(d->record_boot, sizeof(d->record_boot), "%s", p.boot_id);
}

/* ---- domain objects ------------------------------------------------------ */

static struct sup_domain *
domain_new(struct sup *s, struct yk_domain_conf *conf)
{
	struct sup_domain *d;

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		fatalx("out of memory");
	d->sup = s;
	d->conf = conf;
	yk_sm_params_from_conf(&d->params, conf);
	yk_sm_init(&d->sm);
	d->domid = -1;
	d->created_domid = -1;
	d->intent_domid = -1;
	d->expect_gone_domid = -1;
	d->halfbuilt_domid = -1;
	d->probe_timer = evtimer_new(s->base, probe_timer_cb, d);
	d->sm_timer = evtimer_new(s->base, sm_timer_cb, d);
	if (d->probe_timer == NULL || d->sm_timer == NULL)
		fatalx("out of memory");
	d->refs = 1;
	return d;
}

static void
domain_free(struct sup_domain *d)
{
	if (d->probe != NULL)
		probe_cancel(d->probe);
	event_free(d->probe_timer);
	event_free(d->sm_timer);
	yk_sm_free(&d->sm);
	free(d->captured);
	free(d);
}

void
sup_domain_ref(struct sup_domain *d)
{
	d->refs++;
}

void
sup_domain_unref(struct sup_domain *d)
{
	if (--d->refs == 0)
		domain_free(d);
}

struct sup_domain *
sup_find(struct sup *s, const char *name)
{
	struct sup_domain *d;

	TAILQ_FOREACH(d, &s->domains, entry)
		if (strcmp(d->conf->name, name) == 0)
			return d;
	return NULL;
}

bool
sup_busy(const struct sup *s)
{
	return recovery_running_count(s->recoveries) > 0 ||
	    writer_busy(s->writer) || writer_busy(s->metrics_writer);
}

/* ---- stepping the state machine ----------------------------------------- */

static void
arm_ms(struct event *ev, int64_t delay_ms)
{
	struct timeval tv;

	if (delay_ms < 0)
		delay_ms = 0;
	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

static void
reboot_done(void *arg, int err, const char *errmsg)
{
	struct sup_domain *d = arg;

	if (err != 0 && !d->removed)
		log_warnx("%s: graceful reboot request failed: %s", d->conf->name,
		    errmsg ? errmsg : "unknown error");
	sup_domain_unref(d);
}

static void
destroy_done(void *arg, int err, const char *errmsg)
{
	struct sup_domain *d = arg;

	if (err != 0 && !d->removed)
		log_warnx("%s: destroy failed: %s", d->conf->name,
		    errmsg ? errmsg : "unknown error");
	sup_request_list(d->sup);
	sup_domain_unref(d);
}

static void
apply_actions(struct sup_domain *d, unsigned acts)
{
	struct sup *s = d->sup;

	if (acts & YK_ACT_HOOK) {
		/* Giving up ends the promise to re-create: drop the intent. */
		d->intent = false;
		log_errx("%s: unrecoverable: %s", d->conf->name, d->sm.reason);
		if (s->alert != NULL)
			s->alert(s, "unrecoverable", d, d->sm.reason);
	}
	if (acts & (YK_ACT_PERSIST | YK_ACT_HOOK))
		sup_domain_save(d);
	if (acts & YK_ACT_CANCEL)
		cancel_pending_recovery(d);
	if (acts & YK_ACT_RECOVER)
		recover(d);
	if ((acts & YK_ACT_REBOOT) && d->domid >= 0) {
		log_notice("%s: asking domain %d for a graceful reboot",
		    d->conf->name, d->domid);
		sup_domain_ref(d);
		s->hv->ops->reboot(s->hv, d->domid, reboot_done, d);
	}
	if ((acts & YK_ACT_DESTROY) && d->domid >= 0) {
		struct hv_ident expect = { .name = d->conf->name, .uuid = d->uuid };

		log_notice("%s: destroying powered-off domain %d", d->conf->name,
		    d->domid);
		d->expect_gone_domid = d->domid;
		sup_domain_ref(d);
		s->hv->ops->destroy(s->hv, d->domid, &expect, destroy_done, d);
	}
}

void
sup_domain_step(struct sup_domain *d, const struct yk_sm_event *ev)
{
	enum yk_state before = d->sm.state;
	struct yk_sm_event e = *ev;
	unsigned acts;

	e.hold = d->sup->hold;
	acts = yk_sm_step(&d->sm, &d->params, &e, yk_now_ms());
	if (d->sm.state != before) {
		if (d->sm.state == YK_FAILING || d->sm.state == YK_HEALTHY ||
		    d->sm.state == YK_STARTING)
			log_info("%s: %s -> %s", d->conf->name,
			    yk_state_name(before), yk_state_name(d->sm.state));
		else
			log_notice("%s: %s -> %s%s%s", d->conf->name,
			    yk_state_name(before), yk_state_name(d->sm.state),
			    d->sm.reason[0] ? ": " : "", d->sm.reason);
	}
	apply_actions(d, acts);
	sync_schedules(d, before);
}

static void
step_kind(struct sup_domain *d, enum yk_sm_event_kind kind)
{
	struct yk_sm_event ev = { .kind = kind };

	sup_domain_step(d, &ev);
}

static void
step_why(struct sup_domain *d, enum yk_sm_event_kind kind, const char *why)
{
	struct yk_sm_event ev = { .kind = kind, .why = why };

	sup_domain_step(d, &ev);
}

static void
step_xen_op(struct sup_domain *d, enum yk_xen_op op)
{
	struct yk_sm_event ev = { .kind = YK_EV_XEN_OP, .op = op };

	sup_domain_step(d, &ev);
}

/* A domain's start time on the monotonic clock (0: unknown). */
static int64_t
started_mono(const struct hv_dominfo *info)
{
	if (info == NULL || info->start_wall_ms <= 0)
		return 0;
	return yk_now_ms() - (yk_wall_ms() - info->start_wall_ms);
}

/* Whether info is the incarnation yaokid created, on this boot. */
static bool
is_ours(const struct sup_domain *d, const struct hv_dominfo *info)
{
	return info != NULL && d->created_domid >= 0 &&
	    info->domid == d->created_domid;
}

/* ---- recoveries: the request, the owner's side, the outcome ------------- */

/*
 * The configured domain_config file, read afresh for every attempt; one
 * that root does not own, or others may write, is refused (it runs as
 * root: bootloader, device model arguments).
 */
static char *
read_domain_config(const char *path, char *why, size_t whylen)
{
	char *text = yk_file_read(path, DOMAIN_CONFIG_MAX, YK_FILE_NO_NUL |
	    YK_FILE_TRUSTED, NULL);
	struct stat st;
	char what[128];

	if (text != NULL)
		return text;
	if (errno == EPERM && stat(path, &st) == 0 &&
	    yk_file_untrusted(&st, 0, what, sizeof(what)) != NULL)
		snprintf(why, whylen, "domain_config %s: %s (a domain "
		    "configuration runs as root)", path, what);
	else
		snprintf(why, whylen, "cannot read domain_config %s: %s", path,
		    errno == EFBIG ? "too large" : strerror(errno));
	return NULL;
}

static char *
rec_config(void *arg, char *why, size_t whylen)
{
	struct sup_domain *d = arg;
	char *json;

	if (d->conf->domain_config != NULL)
		return read_domain_config(d->conf->domain_config, why, whylen);
	if (d->captured != NULL) {
		if ((json = strdup(d->captured)) == NULL)
			fatalx("out of memory");
		return json;
	}
	snprintf(why, whylen, "no configuration to create it from "
	    "(none was captured while it ran, and no domain_config)");
	return NULL;
}

/* A write a recovery waits for: the intent record, its "creating" mark. */
struct rec_write {
	struct sup_domain *d;           /* held by the recovery until its end */
	recovery_written_fn *written;
	void *warg;
	char name[];
};

static struct rec_write *
rec_write_new(struct sup_domain *d, recovery_written_fn *written, void *warg)
{
	struct rec_write *w;
	size_t len = strlen(d->conf->name) + 1;

	if ((w = malloc(sizeof(*w) + len)) == NULL)
		fatalx("out of memory");
	w->d = d;
	w->written = written;
	w->warg = warg;
	memcpy(w->name, d->conf->name, len);
	return w;
}

static void
intent_saved(void *arg, const char *path, int err)
{
	struct rec_write *w = arg;

	if (err != 0) {
		/* Without the record a yaokid killed midway would not finish
		 * the job: nothing is destroyed. */
		log_errx("%s: cannot write the recovery intent record to %s: "
		    "%s; not destroying the domain", w->name, path,
		    strerror(err));
		w->d->intent = false;
	}
	w->written(w->warg, err);
	free(w);
}

/*
 * The record is written off the loop, never coalesced: the recovery lists
 * the domains meanwhile and destroys only once intent_saved said it is on
 * disk.
 */
static void
rec_intent(void *arg, int domid, recovery_written_fn *written, void *warg)
{
	struct sup_domain *d = arg;
	struct yk_persist p;

	d->intent = true;
	d->intent_domid = domid;
	d->intent_wall_ms = yk_wall_ms();
	snprintf(d->intent_uuid, sizeof(d->intent_uuid), "%s", d->uuid);
	d->intent_creating = false;
	persist_from_domain(d, &p);
	save_record(d->sup, d->conf->name, &p, 0, intent_saved,
	    rec_write_new(d, written, warg));
	snprintf(d->record_boot, sizeof(d->record_boot), "%s", p.boot_id);
}

static void
rec_domid(void *arg, int domid)
{
	struct sup_domain *d = arg;

	d->domid = domid;
}

static void
rec_destroying(void *arg, int domid, const char *uuid)
{
	struct sup_domain *d = arg;

	log_notice("%s: destroying domain %d (%s)", d->conf->name, domid,
	    d->sm.reason);
	d->expect_gone_domid = domid;
	snprintf(d->intent_uuid, sizeof(d->intent_uuid), "%s", uuid);
}

static void
creating_saved(void *arg, const char *path, int err)
{
	struct rec_write *w = arg;

	if (err != 0)
		log_errx("%s: cannot mark the intent record %s \"creating\": "
		    "%s; creating the domain anyway (it is owed)", w->name,
		    path, strerror(err));
	w->written(w->warg, err);
	free(w);
}

/*
 * The create starts: a paused domain found after a crash is half-built.
 * The create waits for the whole write, fsyncs included: the contract's
 * order (temporary file, fsync, rename) puts the file's fsync before the
 * rename that a yaokid killed during the create needs to find, so only
 * the directory's fsync could be skipped, for one more callback path. It
 * costs the recovery one fsync, not the loop: the loop never waits.
 */
static void
rec_creating(void *arg, recovery_written_fn *written, void *warg)
{
	struct sup_domain *d = arg;
	struct yk_persist p;

	if (d->removed || d->intent_creating) {
		written(warg, 0);
		return;
	}
	d->intent_creating = true;
	persist_from_domain(d, &p);
	save_record(d->sup, d->conf->name, &p, 0, creating_saved,
	    rec_write_new(d, written, warg));
	snprintf(d->record_boot, sizeof(d->record_boot), "%s", p.boot_id);
}

/*
 * A domain dropped by a reload keeps its state file: clear the intent
 * there, or a later reload that adds it again would resume a recovery
 * that has ended.
 */
static void
forget_intent(struct sup *s, const char *name)
{
	struct yk_persist p;
	const char *dir = s->cfg->state_dir;

	if (persist_load(dir, name, &p) == 1 && p.intent) {
		p.intent = false;
		p.intent_domid = -1;
		p.intent_uuid[0] = '\0';
		p.intent_creating = false;
		save_record(s, name, &p, WRITER_COALESCE, saved, what_state);
	}
}

static enum yk_xen_op
xen_op_of(enum hv_tools_op op)
{
	switch (op) {
	case HV_TOOLS_MIGRATING_OUT: return YK_XOP_MIGRATING_OUT;
	case HV_TOOLS_MIGRATING_IN: return YK_XOP_MIGRATING_IN;
	case HV_TOOLS_SAVING: return YK_XOP_SAVING;
	default: return YK_XOP_NONE;
	}
}

static void
clear_intent(struct sup_domain *d)
{
	d->intent = false;
	d->intent_uuid[0] = '\0';
	d->intent_creating = false;
	d->create_owed = false;
	d->halfbuilt_domid = -1;
}

/* Where the recovery's time went, step by step (for yaokid's own cost). */
static void
log_recovery_steps(const char *name, const struct recovery_outcome *o)
{
	char buf[256];
	size_t off = 0;
	int i, n;

	buf[0] = '\0';
	for (i = 0; i < RECOVERY_NSTEPS && off < sizeof(buf); i++) {
		n = snprintf(buf + off, sizeof(buf) - off, "%s%s %.1f ms",
		    i > 0 ? ", " : "", recovery_step_name(i), o->step_ms[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	log_info("%s: recovery steps: %s", name, buf);
}

/* The report fields of status and metrics. */
static void
record_recovery(struct sup_domain *d, const struct recovery_outcome *o,
    bool ok)
{
	d->have_recovery = true;
	d->recovery_at = time(NULL);
	d->recovery_seconds = o->seconds;
	snprintf(d->recovery_result, sizeof(d->recovery_result), "%s",
	    ok ? "ok" : "failed");
	if (ok) {
		d->recoveries_ok++;
		log_notice("%s: re-created as domain %d in %.3f s "
		    "(destroy %.3f s, create %.3f s)", d->conf->name,
		    d->domid, o->seconds, o->destroy_seconds, o->create_seconds);
		log_recovery_steps(d->conf->name, o);
	} else {
		d->recoveries_failed++;
		log_errx("%s: recovery failed after %.1f s: %s",
		    d->conf->name, o->seconds, o->why);
	}
}

static void
rec_done(void *arg, const struct recovery_outcome *o)
{
	struct sup_domain *d = arg;
	struct yk_sm_event ev = { .kind = YK_EV_RECOVERY_DONE };

	d->rec = NULL;
	if (d->removed) {
		/* Created, or nothing destroyed: nothing is owed any more.
		 * (d->conf went with the old configuration: o->name.) */
		if (o->result == RECOVERY_CREATED ||
		    o->result == RECOVERY_CANCELLED)
			forget_intent(d->sup, o->name);
		sup_domain_unref(d);
		return;
	}
	switch (o->result) {
	case RECOVERY_CREATED:
	case RECOVERY_ADOPTED:
		d->domid = o->domid;
		if (o->result == RECOVERY_CREATED)
			d->created_domid = o->domid;
		d->shutdown_seen = false;
		clear_intent(d);
		record_recovery(d, o, true);
		ev.kind = o->result == RECOVERY_CREATED ? YK_EV_RECOVERY_DONE :
		    YK_EV_ADOPTED;
		ev.ok = true;
		sup_domain_step(d, &ev);     /* saves the record, intent gone */
		sup_capture(d);
		break;
	case RECOVERY_FAILED:
		record_recovery(d, o, false);
		sup_domain_step(d, &ev);
		break;
	case RECOVERY_NO_INTENT:
		record_recovery(d, o, false);
		step_why(d, YK_EV_INTENT_FAILED, o->why);
		break;
	case RECOVERY_GAVE_UP:
		record_recovery(d, o, false);
		step_why(d, YK_EV_GAVE_UP, o->why);
		break;
	case RECOVERY_CANCELLED:
		log_notice("%s: recovery cancelled: %s", d->conf->name, o->why);
		if (o->destroyed || d->domid < 0) {
			/*
			 * Xen's tools appeared after the domain was gone (a
			 * migration that cannot succeed without it): the
			 * create stays owed until they are done.
			 */
			d->create_owed = true;
			log_notice("%s: the domain is gone; yaokid still owes "
			    "its create if Xen's tools do not bring it back",
			    d->conf->name);
		} else {
			/* Xen's own tools took the domain over: nothing owed. */
			clear_intent(d);
			sup_domain_save(d);
		}
		step_xen_op(d, xen_op_of(o->xen_op));
		break;
	}
	sup_domain_unref(d);
}

/*
 * YK_ACT_CANCEL: Xen's tools took over; a recovery still in line goes. A
 * running one stops at its next look at the domain list, and its outcome
 * says whether the create is owed. An intent whose incarnation yaokid
 * already destroyed stays: Xen's tools may fail to bring the domain back.
 */
static void
cancel_pending_recovery(struct sup_domain *d)
{
	if (d->rec != NULL) {
		if (!recovery_cancel_queued(d->rec))
			return;
		log_notice("%s: queued recovery cancelled: %s", d->conf->name,
		    d->sm.reason);
		d->rec = NULL;
		sup_domain_unref(d);
	}
	if (d->intent && !d->create_owed) {
		log_notice("%s: pending recovery cancelled: %s", d->conf->name,
		    d->sm.reason);
		clear_intent(d);
		sup_domain_save(d);
	}
}

static const struct recovery_owner rec_owner = {
	.config = rec_config,
	.intent = rec_intent,
	.creating = rec_creating,
	.domid = rec_domid,
	.destroying = rec_destroying,
	.done = rec_done,
};

/* Puts d's recovery in line (the state machine asked for it). */
static void
recover(struct sup_domain *d)
{
	struct recovery_request req;

	if (d->rec != NULL)
		return;
	req.name = d->conf->name;
	req.domid = d->domid;
	req.created_by_us = d->sm.created_by_us;
	req.shutdown_seen = d->shutdown_seen;
	req.halfbuilt_domid = d->halfbuilt_domid;
	req.create_pending = d->intent && d->intent_creating;
	sup_domain_ref(d);
	d->rec = recovery_enqueue(d->sup->recoveries, &req, &rec_owner, d);
	recovery_queue_kick(d->sup->recoveries);
}

/* ---- timers: probe schedule and state-machine wake-ups ------------------- */

static void
sync_schedules(struct sup_domain *d, enum yk_state before)
{
	int64_t now = yk_now_ms();

	tally(d);
	if (yk_sm_probing(&d->sm) && !d->removed) {
		if (!d->probing) {
			int64_t delay = (int64_t)d->conf->interval_ms;

			/* First schedule after start: spread over one interval. */
			if (before == YK_ABSENT && !d->sup->listed_once)
				delay = random() % (delay > 0 ? delay : 1);
			d->probing = true;
			d->next_probe_at = now + delay;
			arm_ms(d->probe_timer, delay);
		}
	} else if (d->probing) {
		d->probing = false;
		evtimer_del(d->probe_timer);
		if (d->probe != NULL) {
			probe_cancel(d->probe);
			d->probe = NULL;
		}
	}
	if (d->sm.wake_at != 0 && !d->removed)
		arm_ms(d->sm_timer, d->sm.wake_at - now);
	else
		evtimer_del(d->sm_timer);
}

static void
sm_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sup_domain *d = arg;

	(void)fd; (void)what;
	if (d->sm.wake_at != 0 && yk_now_ms() < d->sm.wake_at) {
		arm_ms(d->sm_timer, d->sm.wake_at - yk_now_ms());
		return;
	}
	step_kind(d, YK_EV_TIMER);
}

/*
 * Keeps d's share of the mass-failure counts up to date; called whenever its
 * state may have changed. Report-only domains (on_failure none) may fail for
 * good; they must not hold everybody else's recoveries for ever.
 */
static void
tally(struct sup_domain *d)
{
	struct sup *s = d->sup;
	bool probed = !d->removed && yk_sm_probing(&d->sm) &&
	    d->params.on_failure != YK_ONFAIL_NONE;
	bool failing = probed && d->sm.consecutive_failures > 0;

	s->n_probed += (unsigned)probed - (unsigned)d->counted_probed;
	s->n_failing += (unsigned)failing - (unsigned)d->counted_failing;
	d->counted_probed = probed;
	d->counted_failing = failing;
}

/* Whether the state machine will count a failed probe of d now. */
static bool
failure_counts(const struct sup_domain *d, int64_t now)
{
	if (d->params.on_failure == YK_ONFAIL_NONE)
		return false;
	if (d->sm.state == YK_STARTING)
		return d->sm.start_seen_ok || now >= d->sm.start_until;
	return yk_sm_probing(&d->sm);
}

/*
 * The hook of one entry into the hold, unless mass_failure_hook_max runs
 * within mass_failure_hook_window already happened: then it is logged and
 * counted (yaoki_hook_runs_suppressed_total), not run.
 */
static void
mass_failure_alert(struct sup *s, const char *reason)
{
	char window[32];

	if (s->alert == NULL)
		return;
	if (yk_hook_rate_allow(&s->hook_rate, yk_now_ms(),
	    s->cfg->mass_failure_hook_max,
	    (int64_t)s->cfg->mass_failure_hook_window_ms)) {
		s->alert(s, "mass-failure", NULL, reason);
		return;
	}
	s->hooks_suppressed++;
	yk_duration_format(s->cfg->mass_failure_hook_window_ms, window,
	    sizeof(window));
	log_warnx("mass failure: hook not run: it ran %u times within %s "
	    "already (mass_failure_hook_max); %llu runs suppressed so far",
	    s->cfg->mass_failure_hook_max, window,
	    (unsigned long long)s->hooks_suppressed);
}

/* Recomputes the mass-failure hold; `extra` counts a failure not yet stepped. */
static void
update_hold(struct sup *s, unsigned extra)
{
	unsigned probed = s->n_probed, failing = s->n_failing + extra;
	bool hold = yk_hold_next(s->hold, failing, probed,
	    s->cfg->mass_failure_min, s->cfg->mass_failure_fraction);
	char reason[200];

	if (hold == s->hold)
		return;
	s->hold = hold;
	if (hold) {
		snprintf(reason, sizeof(reason), "%u of %u probed domains failing "
		    "at once: suspecting Dom0 itself, holding recoveries",
		    failing, probed);
		log_errx("mass failure: %s", reason);
		mass_failure_alert(s, reason);
	} else
		log_notice("mass failure over: %u of %u probed domains failing; "
		    "recoveries allowed again", failing, probed);
}

static void
record_probe(struct sup_domain *d, const struct probe_result *res)
{
	struct sup *s = d->sup;

	d->have_probe = true;
	d->probe_at = time(NULL);
	d->probe_ok = res->ok;
	d->probe_status = res->http_status;
	d->probe_ms = res->ms;
	snprintf(d->probe_error, sizeof(d->probe_error), "%s", res->detail);
	if (res->ok)
		d->probes_ok++;
	else
		d->probes_fail++;
	yk_latency_record(&s->latency, res->ms / 1000.0);
}

static void
probe_done_cb(void *arg, const struct probe_result *res)
{
	struct sup_domain *d = arg;
	struct yk_sm_event ev = { .kind = YK_EV_PROBE, .ok = res->ok };
	int64_t now = yk_now_ms();

	d->probe = NULL;
	record_probe(d, res);
	if (!res->ok)
		log_debug("%s: probe failed: %s", d->conf->name, res->detail);
	update_hold(d->sup, (!res->ok && d->sm.consecutive_failures == 0 &&
	    failure_counts(d, now)) ? 1 : 0);
	sup_domain_step(d, &ev);
	update_hold(d->sup, 0);
	if (d->probing && d->probe == NULL && !evtimer_pending(d->probe_timer, NULL))
		arm_ms(d->probe_timer, d->next_probe_at - now);
}

static void
probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sup_domain *d = arg;
	struct probe_spec spec;
	int64_t now = yk_now_ms();

	(void)fd; (void)what;
	if (!d->probing || d->probe != NULL)
		return;
	spec.url = d->conf->url;
	spec.timeout_ms = d->conf->timeout_ms;
	spec.expect_status = &d->conf->expect_status;
	spec.expect_body = d->conf->expect_body;
	spec.tls_verify = d->conf->tls_verify;
	spec.ca_file = d->conf->ca_file;
	/* Fixed rate: the next start is one interval after this one. */
	d->next_probe_at += (int64_t)d->conf->interval_ms;
	if (d->next_probe_at < now)
		d->next_probe_at = now + (int64_t)d->conf->interval_ms;
	d->probe = probe_start(d->sup->probes, &spec, probe_done_cb, d);
	if (d->probe == NULL) {
		log_warnx("%s: cannot start a probe", d->conf->name);
		arm_ms(d->probe_timer, d->next_probe_at - now);
	}
}

/* ---- the hypervisor's view ----------------------------------------------- */

static void
save_config(struct sup *s, const char *name, const char *json)
{
	char path[PATH_MAX];

	persist_config_path(path, sizeof(path), s->cfg->state_dir, name);
	writer_submit(s->writer, path, json, strlen(json), 0600,
	    WRITER_COALESCE, saved, what_config);
}

static void
capture_done(void *arg, int err, const char *json)
{
	struct sup_domain *d = arg;

	d->capturing = false;
	if (!d->removed) {
		if (err == 0 && json != NULL) {
			bool same = d->captured != NULL &&
			    strcmp(d->captured, json) == 0;

			if (!same) {
				free(d->captured);
				d->captured = strdup(json);
				save_config(d->sup, d->conf->name, json);
			}
			log_info("%s: configuration captured from domain %d%s",
			    d->conf->name, d->domid, same ? " (unchanged)" : "");
		} else
			log_warnx("%s: cannot capture the configuration of domain %d",
			    d->conf->name, d->domid);
	}
	sup_domain_unref(d);
}

void
sup_capture(struct sup_domain *d)
{
	if (d->capturing || d->domid < 0)
		return;
	d->capturing = true;
	sup_domain_ref(d);
	d->sup->hv->ops->capture(d->sup->hv, d->domid, capture_done, d);
}

/* The list's live (non-dying) entries, sorted by name for lookups. */
struct dom_index {
	const struct hv_dominfo **v;
	size_t n;
};

static int
info_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct hv_dominfo *const *)a)->name,
	    (*(const struct hv_dominfo *const *)b)->name);
}

static int
index_build(struct dom_index *ix, const struct hv_dominfo *doms, size_t n)
{
	size_t i;

	ix->n = 0;
	ix->v = calloc(n ? n : 1, sizeof(*ix->v));
	if (ix->v == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (doms[i].state != HV_DYING)
			ix->v[ix->n++] = &doms[i];
	qsort(ix->v, ix->n, sizeof(*ix->v), info_cmp);
	return 0;
}

/* Position of the first entry named name (or where it would be). */
static size_t
index_first(const struct dom_index *ix, const char *name)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ix->v[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first live entry named exactly name, or NULL. */
static const struct hv_dominfo *
index_get(const struct dom_index *ix, const char *name)
{
	size_t i = index_first(ix, name);

	return i < ix->n && strcmp(ix->v[i]->name, name) == 0 ? ix->v[i] : NULL;
}

/*
 * The incarnation that holds name, and what Xen's tools are doing with it
 * (*op, hv_tools_op's rules). Without a live NAME the incarnation being
 * migrated stands for it. A dying domain no longer holds its name.
 */
static const struct hv_dominfo *
find_info(const struct dom_index *ix, const char *name, enum yk_xen_op *op)
{
	char other[sizeof(((struct hv_dominfo *)0)->name) + 16];
	struct hv_named named;

	named.live = index_get(ix, name);
	snprintf(other, sizeof(other), "%s%s", name, HV_SUFFIX_MIGRATEDAWAY);
	named.away = index_get(ix, other);
	snprintf(other, sizeof(other), "%s%s", name, HV_SUFFIX_INCOMING);
	named.incoming = index_get(ix, other);
	*op = xen_op_of(hv_tools_op(&named));
	if (named.live != NULL)
		return named.live;
	return named.away != NULL ? named.away : named.incoming;
}

/* Whether the persisted record's domids belong to this host's boot. */
static bool
record_of_this_boot(const struct sup_domain *d)
{
	return d->record_boot[0] != '\0' && d->sup->hv->boot_id[0] != '\0' &&
	    strcmp(d->record_boot, d->sup->hv->boot_id) == 0;
}

/*
 * Once the host's boot is known: a record written on another boot names
 * domids that mean nothing now (they start at 1 again), so they are
 * forgotten. An intent of another boot is handled where it is acted on.
 */
static void
check_record_boot(struct sup_domain *d)
{
	if (d->boot_checked || d->sup->hv->boot_id[0] == '\0')
		return;
	d->boot_checked = true;
	if (d->record_boot[0] == '\0' && !d->intent && d->created_domid < 0)
		return;                 /* nothing in it depends on the boot */
	if (record_of_this_boot(d))
		return;
	log_notice("%s: the state file is from another boot of the host; its "
	    "domain ids no longer apply", d->conf->name);
	d->created_domid = -1;
}

/*
 * An intent record with no recovery running: yaokid was killed (or
 * stopped) in the middle of a recovery, or a reset/resume ended the wait
 * of one. On this boot: finish it (adopt what it had created, destroy a
 * half-built domain and create it again, or start the recovery again). Of
 * another boot: the domain may run elsewhere now; never create it blindly.
 */
static void
finish_interrupted_recovery(struct sup_domain *d, const struct hv_dominfo *info)
{
	struct yk_sm_event ev = { .kind = YK_EV_RESUME_RECOVERY };

	if (!record_of_this_boot(d)) {
		clear_intent(d);
		if (info == NULL) {
			log_errx("%s: a recovery was interrupted by a restart of "
			    "the host; not creating the domain (it may run "
			    "elsewhere now)", d->conf->name);
			step_kind(d, YK_EV_HOST_REBOOTED);
			return;
		}
		log_notice("%s: a recovery was interrupted by a restart of the "
		    "host, and domain %d holds the name now: adopting it",
		    d->conf->name, info->domid);
		d->domid = info->domid;
		snprintf(d->uuid, sizeof(d->uuid), "%s", info->uuid);
		ev.kind = YK_EV_ADOPTED;
		ev.started = started_mono(info);
		sup_domain_step(d, &ev);
		sup_capture(d);
		return;
	}
	if (info != NULL && info->domid != d->intent_domid &&
	    info->state == HV_PAUSED && d->intent_creating &&
	    !info->migrating) {
		log_notice("%s: domain %d is half-built (created paused by the "
		    "interrupted recovery, never unpaused): destroying it and "
		    "creating the domain again", d->conf->name, info->domid);
		d->domid = info->domid;
		snprintf(d->uuid, sizeof(d->uuid), "%s", info->uuid);
		d->halfbuilt_domid = info->domid;
		sup_domain_step(d, &ev);
		return;
	}
	if (info != NULL && info->state != HV_SHUTDOWN &&
	    info->domid != d->intent_domid) {
		log_notice("%s: the interrupted recovery had created domain %d; "
		    "finishing it", d->conf->name, info->domid);
		d->domid = info->domid;
		d->created_domid = info->domid;
		snprintf(d->uuid, sizeof(d->uuid), "%s", info->uuid);
		d->shutdown_seen = false;
		clear_intent(d);
		ev.ok = true;           /* it had finished: a new start */
		sup_domain_step(d, &ev);
		sup_domain_save(d);
		sup_capture(d);
		return;
	}
	log_notice("%s: resuming the recovery interrupted at domain %d",
	    d->conf->name, d->intent_domid);
	d->domid = info != NULL ? info->domid : -1;
	snprintf(d->uuid, sizeof(d->uuid), "%s", info != NULL ? info->uuid : "");
	d->shutdown_seen = info != NULL && info->state == HV_SHUTDOWN;
	sup_domain_step(d, &ev);
}

/*
 * Whether d's intent record must be acted on now. Not while a recovery
 * runs or waits in line (it owns the intent), not during a backoff (the
 * timer starts the next attempt), not in maintenance or unrecoverable.
 */
static bool
intent_unowned(const struct sup_domain *d)
{
	return d->intent && d->rec == NULL && d->sm.state != YK_BACKOFF &&
	    d->sm.state != YK_RECOVERING && d->sm.state != YK_PAUSED &&
	    d->sm.state != YK_UNRECOVERABLE;
}

/* The domain vanished (info NULL). */
static void
reconcile_gone(struct sup_domain *d)
{
	struct yk_sm_event ev = { .kind = YK_EV_DOMAIN_GONE };
	int old = d->domid;

	/*
	 * Nothing known gone, unless Xen's tools held the domain: their copy
	 * may come and go between two lists (an incoming migration that
	 * fails at once), and what that ends must still be decided.
	 */
	if (old < 0 && (d->sm.xen_op == YK_XOP_NONE ||
	    d->sm.xen_op == YK_XOP_MONITOR))
		return;
	d->domid = -1;
	d->uuid[0] = '\0';
	/*
	 * After a reboot yaokid asked for, the toolstack (an xl monitor)
	 * destroys and creates the domain: not gone. If it never comes back,
	 * the reboot deadline acts.
	 */
	if ((old >= 0 && old == d->expect_gone_domid) || d->sm.reboot_pending)
		return;
	if (d->sm.xen_op == YK_XOP_NONE)
		log_notice("%s: domain %d is gone (destroyed outside yaokid)",
		    d->conf->name, old);
	else if (d->sm.xen_op == YK_XOP_MONITOR)
		log_notice("%s: domain %d is gone (destroyed by its xl monitor)",
		    d->conf->name, old);
	ev.owed = d->intent;
	sup_domain_step(d, &ev);
	/* Xen's tools took it away (migrated, saved): nothing is owed. */
	if (d->intent && d->sm.state == YK_ABSENT) {
		clear_intent(d);
		sup_domain_save(d);
	}
}

/* info holds the name with another domid than the one yaokid knew. */
static void
reconcile_new_incarnation(struct sup_domain *d, const struct hv_dominfo *info,
    enum yk_xen_op op)
{
	struct yk_sm_event ev = { .kind = YK_EV_ADOPTED,
	    .started = started_mono(info) };
	int old = d->domid;

	d->domid = info->domid;
	snprintf(d->uuid, sizeof(d->uuid), "%s", info->uuid);
	d->shutdown_seen = false;
	log_info("%s: domain %d (%s%s)", d->conf->name, d->domid,
	    hv_dstate_name(info->state), op != YK_XOP_NONE ? ", migrating" : "");
	/* A new incarnation, unless it is the reboot yaokid asked for. */
	if (old >= 0 && yk_sm_probing(&d->sm) && !d->sm.reboot_pending)
		step_kind(d, YK_EV_DOMAIN_GONE);
	/* Our own create, which completed after its caller died: half-built. */
	if (d->sm.state == YK_BACKOFF && op == YK_XOP_NONE &&
	    info->state == HV_PAUSED && d->intent && d->intent_creating) {
		struct yk_sm_event resume = { .kind = YK_EV_RESUME_RECOVERY };

		log_notice("%s: domain %d is half-built (an earlier create of "
		    "yaokid's, never unpaused): destroying it and creating the "
		    "domain again", d->conf->name, info->domid);
		d->halfbuilt_domid = info->domid;
		sup_domain_step(d, &resume);
		return;
	}
	/* Re-created by somebody else while yaokid waited to try again. */
	if (d->sm.state == YK_BACKOFF && op == YK_XOP_NONE &&
	    info->state != HV_SHUTDOWN && !is_ours(d, info)) {
		log_notice("%s: domain %d was created outside yaokid during the "
		    "backoff; adopting it", d->conf->name, info->domid);
		clear_intent(d);
		sup_domain_step(d, &ev);
	}
	if (op == YK_XOP_NONE &&
	    (info->state == HV_RUNNING || info->state == HV_PAUSED))
		sup_capture(d);
}

static void
reconcile_running(struct sup_domain *d, const struct hv_dominfo *info,
    bool stayed)
{
	struct yk_sm_event ev = { .kind = YK_EV_DOMAIN_UP,
	    .ours = is_ours(d, info), .started = started_mono(info),
	    .stayed = stayed };
	bool arrived = d->sm.xen_op != YK_XOP_NONE;

	if (d->sm.state != YK_ABSENT && !d->sm.xen_paused && !arrived)
		return;
	if (arrived && d->intent) {
		/* Xen's tools brought it back: the owed create is not. */
		log_notice("%s: domain %d came back through Xen's tools; "
		    "nothing left to create", d->conf->name, info->domid);
		clear_intent(d);
	}
	sup_domain_step(d, &ev);
	/* A migration in or a restore ended here: its configuration is new. */
	if (arrived)
		sup_capture(d);
}

/* What the hypervisor says will happen to a domain that shut down. */
static void
log_shutdown(const struct sup_domain *d, const struct hv_dominfo *info)
{
	const char *key = hv_action_key(info->reason);

	log_notice("%s: domain %d shut down (%s)", d->conf->name, d->domid,
	    yk_shutdown_reason_name(info->reason));
	if (key != NULL)
		log_info("%s: domain %d: %s=%s; %s", d->conf->name, d->domid,
		    key, hv_action_name(info->action), info->monitored ?
		    "its xl monitor is alive" : "no xl monitor (yaokid acts)");
	if (!info->monitored && hv_action_dumps(info->action) &&
	    (info->reason == YK_SD_CRASH || info->reason == YK_SD_WATCHDOG))
		log_notice("%s: %s=%s, but no xl monitor dumps the core: yaokid "
		    "recovers it without the dump", d->conf->name, key,
		    hv_action_name(info->action));
}

static void
reconcile_shutdown(struct sup_domain *d, const struct hv_dominfo *info)
{
	struct yk_sm_event ev = { .kind = YK_EV_DOMAIN_SHUTDOWN,
	    .reason = info->reason, .ours = is_ours(d, info),
	    .monitored = info->monitored, .action = info->action };

	if (d->shutdown_seen) {
		/* Waiting for its monitor, which died: yaokid acts. */
		if (d->sm.xen_op == YK_XOP_MONITOR && !info->monitored) {
			log_notice("%s: the xl monitor of domain %d is gone",
			    d->conf->name, d->domid);
			step_kind(d, YK_EV_MONITOR_GONE);
		}
		return;
	}
	d->shutdown_seen = true;
	log_shutdown(d, info);
	sup_domain_step(d, &ev);
}

static void
reconcile_domain(struct sup_domain *d, const struct hv_dominfo *info,
    enum yk_xen_op op)
{
	bool same;

	if (d->removed)
		return;
	check_record_boot(d);
	/* Xen's own tools win, even over a recovery in line or running. */
	if (op != YK_XOP_NONE && d->sm.xen_op != op)
		step_xen_op(d, op);
	if (d->rec != NULL)
		return;            /* the recovery owns the domain right now */
	if (intent_unowned(d) && op == YK_XOP_NONE) {
		finish_interrupted_recovery(d, info);
		return;
	}
	if (info == NULL) {
		reconcile_gone(d);
		return;
	}
	same = info->domid == d->domid;
	if (!same)
		reconcile_new_incarnation(d, info, op);
	else if (strcmp(d->uuid, info->uuid) != 0)
		/* A domain yaokid created: its uuid is first seen here. */
		snprintf(d->uuid, sizeof(d->uuid), "%s", info->uuid);
	if (op != YK_XOP_NONE)
		return;            /* neither probed nor recovered meanwhile */
	switch (info->state) {
	case HV_RUNNING:
		reconcile_running(d, info, same);
		break;
	case HV_PAUSED:
		/* A new domain first seen paused is being restored (xl restore). */
		if (d->sm.state == YK_ABSENT && !is_ours(d, info))
			step_xen_op(d, YK_XOP_RESTORING);
		else if (!d->sm.xen_paused && d->sm.xen_op == YK_XOP_NONE)
			step_kind(d, YK_EV_DOMAIN_PAUSED);
		break;
	case HV_SHUTDOWN:
		reconcile_shutdown(d, info);
		break;
	case HV_DYING:
		break;
	}
}

/* Whether domid is in the list and not dying. */
static bool
domid_alive(const struct hv_dominfo *doms, size_t n, int domid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (doms[i].domid == domid)
			return doms[i].state != HV_DYING;
	return false;
}

/*
 * Whether this list must also find xl migrate/save at work: while any
 * domain fails, recovers, waits or is held by Xen's tools (a destroy may
 * be near), and every TOOLS_EVERY lists anyway so that the status of a
 * healthy domain being migrated shows it within that many seconds.
 */
static unsigned
list_flags(struct sup *s)
{
	struct sup_domain *d;

	if (++s->lists_since_tools >= TOOLS_EVERY) {
		s->lists_since_tools = 0;
		return HV_LIST_TOOLS;
	}
	TAILQ_FOREACH(d, &s->domains, entry)
		if (d->rec != NULL || d->sm.consecutive_failures > 0 ||
		    d->sm.state == YK_FAILING || d->sm.state == YK_RECOVERING ||
		    d->sm.state == YK_BACKOFF || d->sm.state == YK_PAUSED)
			return HV_LIST_TOOLS;
	return 0;
}

/*
 * A list that took long held up every domain's view of Xen (a shutdown is
 * acted on from the list): say so, it means the hypervisor backend is busy.
 */
static void
list_timing(struct sup *s)
{
	int64_t took = yk_now_ms() - s->list_asked_ms;

	if (s->list_asked_ms > 0 && took > LIST_SLOW_MS)
		log_notice("the hypervisor's domain list took %.1f s",
		    (double)took / 1000.0);
	s->list_asked_ms = 0;
}

static void
list_done(void *arg, int err, const struct hv_dominfo *doms, size_t n)
{
	struct sup *s = arg;
	struct sup_domain *d, *next;

	struct dom_index ix;

	s->list_pending = false;
	list_timing(s);
	if (s->list_again) {
		/* Asked for while this one was in flight: it may be stale. */
		s->list_again = false;
		sup_request_list(s);
	}
	if (err != 0) {
		log_debug("hypervisor list failed; retrying");
		return;
	}
	if (index_build(&ix, doms, n) == -1) {
		log_warnx("out of memory reading the hypervisor's list");
		return;
	}
	for (d = TAILQ_FIRST(&s->domains); d != NULL; d = next) {
		const struct hv_dominfo *info;
		enum yk_xen_op op;

		next = TAILQ_NEXT(d, entry);
		info = find_info(&ix, d->conf->name, &op);
		if (d->intent && !d->create_owed)
			d->create_owed = !domid_alive(doms, n, d->intent_domid);
		reconcile_domain(d, info, op);
	}
	free(ix.v);
	s->listed_once = true;
}

static void
list_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sup *s = arg;

	(void)fd; (void)what;
	if (!s->list_pending && !s->stopping) {
		s->list_pending = true;
		s->list_asked_ms = yk_now_ms();
		s->hv->ops->list(s->hv, list_flags(s), list_done, s);
	}
	arm_ms(s->list_timer, LIST_INTERVAL_MS);
}

void
sup_request_list(struct sup *s)
{
	if (s->list_pending)
		s->list_again = true;
	arm_ms(s->list_timer, 0);
}

/*
 * Hypervisor events list again at once: a shutdown is acted on from the
 * list, which says who acts on it (an xl monitor, and the domain's own
 * action), so a crash costs one list, not a list interval.
 */
static void
hv_event_cb(void *arg, const struct hv_event *ev)
{
	struct sup *s = arg;
	struct sup_domain *d;

	/*
	 * A shutdown that says who acts on it is acted on at once: a monitor
	 * may destroy the domain before the next list could see it shut down.
	 */
	if (ev->kind == HV_EV_SHUTDOWN && ev->facts &&
	    (d = sup_find(s, ev->name)) != NULL && d->domid == ev->domid &&
	    d->rec == NULL && !d->shutdown_seen && !d->intent) {
		struct hv_dominfo info;

		memset(&info, 0, sizeof(info));
		info.domid = ev->domid;
		info.state = HV_SHUTDOWN;
		info.reason = ev->reason;
		info.monitored = ev->monitored;
		info.action = ev->action;
		snprintf(info.uuid, sizeof(info.uuid), "%s", d->uuid);
		reconcile_shutdown(d, &info);
	}
	sup_request_list(s);
}

/* ---- operator commands --------------------------------------------------- */

int
sup_command(struct sup *s, enum yk_ctl_cmd cmd, struct sup_domain *d,
    char *err, size_t errlen)
{
	enum yk_sm_event_kind kind;

	switch (cmd) {
	case YK_CMD_PAUSE:
		kind = YK_EV_CMD_PAUSE;
		break;
	case YK_CMD_RESUME:
		if (d->sm.state != YK_PAUSED && d->sm.state != YK_UNRECOVERABLE) {
			snprintf(err, errlen, "%s is not paused (state %s)",
			    d->conf->name, yk_state_name(d->sm.state));
			return -1;
		}
		kind = YK_EV_CMD_RESUME;
		break;
	case YK_CMD_RECOVER:
		if (d->sm.state == YK_RECOVERING || d->rec != NULL) {
			snprintf(err, errlen, "%s: a recovery is already in progress",
			    d->conf->name);
			return -1;
		}
		kind = YK_EV_CMD_RECOVER;
		break;
	case YK_CMD_RESET:
		kind = YK_EV_CMD_RESET;
		break;
	default:
		snprintf(err, errlen, "not a domain command");
		return -1;
	}
	log_notice("%s: operator: %s", d->conf->name,
	    yk_ctl_command_name(cmd));
	step_kind(d, kind);
	if (kind == YK_EV_CMD_RESUME || kind == YK_EV_CMD_RESET)
		sup_request_list(s);
	return 0;
}

/* ---- life cycle ---------------------------------------------------------- */

struct sup *
sup_new(struct event_base *base, struct yk_config *cfg, struct hv *hv)
{
	struct sup *s;
	size_t i;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		fatalx("out of memory");
	s->base = base;
	s->cfg = cfg;
	s->hv = hv;
	TAILQ_INIT(&s->domains);
	s->recoveries = recovery_queue_new(base, hv, cfg->max_parallel_recoveries);
	s->writer = writer_new(base, NULL);
	s->metrics_writer = writer_new(base, NULL);
	if (gethostname(s->host, sizeof(s->host) - 1) == -1)
		snprintf(s->host, sizeof(s->host), "localhost");
	s->probes = probe_engine_new(base);
	s->list_timer = evtimer_new(base, list_timer_cb, s);
	if (s->probes == NULL || s->list_timer == NULL)
		fatalx("cannot set up the probe engine");
	hv_set_event_handler(hv, hv_event_cb, s);
	for (i = 0; i < cfg->ndomains; i++) {
		struct sup_domain *d = domain_new(s, &cfg->domains[i]);

		TAILQ_INSERT_TAIL(&s->domains, d, entry);
	}
	return s;
}

static void
domain_load(struct sup_domain *d)
{
	struct yk_persist p;
	const char *dir = d->sup->cfg->state_dir;

	if (persist_load(dir, d->conf->name, &p))
		domain_from_persist(d, &p);
	d->captured = persist_load_config(dir, d->conf->name);
}

void
sup_start(struct sup *s)
{
	struct sup_domain *d;

	srandom((unsigned)(time(NULL) ^ getpid()));
	TAILQ_FOREACH(d, &s->domains, entry)
		domain_load(d);
	sup_request_list(s);
}

static void
domain_remove(struct sup *s, struct sup_domain *d)
{
	TAILQ_REMOVE(&s->domains, d, entry);
	d->removed = true;
	tally(d);
	/* A queued recovery is dropped; a running one reports when done. */
	if (d->rec != NULL && recovery_cancel(d->rec)) {
		d->rec = NULL;
		sup_domain_unref(d);
	}
	evtimer_del(d->sm_timer);
	evtimer_del(d->probe_timer);
	if (d->probe != NULL) {
		probe_cancel(d->probe);
		d->probe = NULL;
	}
	sup_domain_unref(d);
}

void
sup_apply_config(struct sup *s, struct yk_config *cfg)
{
	struct sup_domain *d, *next;
	struct yk_config *old = s->cfg;
	bool changed;
	size_t i;

	for (d = TAILQ_FIRST(&s->domains); d != NULL; d = next) {
		struct yk_domain_conf *nc = NULL;

		next = TAILQ_NEXT(d, entry);
		for (i = 0; i < cfg->ndomains; i++)
			if (strcmp(cfg->domains[i].name, d->conf->name) == 0)
				nc = &cfg->domains[i];
		if (nc == NULL) {
			log_notice("%s: no longer configured; no longer supervised",
			    d->conf->name);
			domain_remove(s, d);
			continue;
		}
		changed = !yk_domain_conf_equal(d->conf, nc);
		d->conf = nc;
		yk_sm_params_from_conf(&d->params, nc);
		tally(d);
		if (changed) {
			log_notice("%s: configuration changed", nc->name);
			/* A new interval or URL takes effect with the next probe. */
			if (d->probing && d->probe == NULL) {
				d->next_probe_at = yk_now_ms();
				arm_ms(d->probe_timer, 0);
			}
		}
	}
	for (i = 0; i < cfg->ndomains; i++) {
		if (sup_find(s, cfg->domains[i].name) != NULL)
			continue;
		d = domain_new(s, &cfg->domains[i]);
		TAILQ_INSERT_TAIL(&s->domains, d, entry);
		log_notice("%s: now supervised", d->conf->name);
		domain_load(d);
	}
	s->cfg = cfg;
	/* Removed domains with work in flight never touch conf again. */
	yk_config_free(old);
	update_hold(s, 0);
	recovery_queue_set_max(s->recoveries, cfg->max_parallel_recoveries);
	recovery_queue_kick(s->recoveries);
	sup_request_list(s);
}

void
sup_free(struct sup *s)
{
	struct sup_domain *d;

	sup_stop(s);
	while ((d = TAILQ_FIRST(&s->domains)) != NULL) {
		/* The hypervisor is closed: the calls that held d never end. */
		d->refs = 1;
		domain_remove(s, d);
	}
	recovery_queue_free(s->recoveries);
	/* The writes still queued end here (blocking): yaokid is exiting. */
	writer_free(s->writer);
	writer_free(s->metrics_writer);
	event_free(s->list_timer);
	probe_engine_free(s->probes);
	free(s);
}

void
sup_stop(struct sup *s)
{
	s->stopping = true;
	recovery_queue_stop(s->recoveries);
}
