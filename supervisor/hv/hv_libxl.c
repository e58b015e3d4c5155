/*
 * hv_libxl.c - the `libxl` hypervisor backend (real Xen).
 *
 * Owns the one libxl context of the daemon and the thread that drives it.
 * Every libxl call after opening is made by a single dedicated thread. The
 * main loop hands that thread commands through a queue and an eventfd; the
 * thread hands results and domain events back through a second queue and
 * eventfd that the main loop watches, so every yaokid callback runs on the
 * main loop thread.
 *
 * Creates and destroys take seconds (domain build, hotplug scripts, device
 * teardown), and libxl does the CPU-bound part of a build inside the call
 * that starts it, holding its context's lock. So the thread checks a
 * destroy's target and parses a create's configuration, then hands the
 * libxl call itself to a lane (hv_libxl_lane.c: worker threads with a
 * libxl context each): several recoveries build and tear down domains at
 * once, and the 1 s domain list keeps its schedule meanwhile. A lane hands
 * the finished command back under the lock; the thread finishes it (watch,
 * mark and unpause a new domain, the "gone yet?" checks of a destroy) and
 * posts it back.
 *
 * While idle the thread sits in libxl_osevent_beforepoll/poll/afterpoll
 * (also woken by its command eventfd), so death watches fire at once and
 * commands progress; libxl delivers events through the
 * event_occurs hook.
 *
 * Never: call libxl from the main loop after opening, call libxl with a
 * NULL context, hold `lock` while calling libxl, touch SIGCHLD (libxl owns
 * it, reaping only its own children), or call exit() on libxl's behalf.
 */
#include "config.h"

#include <sys/eventfd.h>
#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

/* Pin the 4.14+ API (async-capable signatures with ao_how). */
#define LIBXL_API_VERSION 0x041400
#include <libxl.h>
#include <libxl_event.h>
#include <libxl_utils.h>

#include "clock.h"
#include "hv.h"
#include "failpoint.h"
#include "file.h"
#include "hv_libxl_cfgcache.h"
#include "hv_libxl_lane.h"
#include "hv_libxl_log.h"
#include "hv_xlmon.h"
#include "hv_xlproc.h"
#include "log.h"

#ifndef LIBXL_HAVE_NONCONST_EVENT_OCCURS_EVENT_ARG
#error "libxl too old: event_occurs must own (and free) its event"
#endif

#define DESTROY_POLL_MS    200     /* how often destroy checks the domain */
#define DESTROY_BOUND_MS   30000   /* a domain still alive after this: error */
#define DYING_GRACE_MS     2000    /* a zombie no longer holds the name */
#define JOIN_BOUND_S       15      /* close() waits this long for the thread */
#define LANES              4       /* creates and destroys at once (own ctxs) */
#define START_TRIES        5       /* lists that read a missing start time */
#define POLLFD_INITIAL     16
#define YAOKI_USERDATA_ID  "yaoki" /* libxl userdata key: "managed by yaoki" */
/*
 * A watched domain's name is taken from its watch and re-read from xenstore
 * every this many lists (staggered by domid): two xenstore reads per domain
 * per second (stub-domain check, name) would load xenstored, which the whole
 * toolstack shares, with thousands of requests a second on a large host. A
 * rename shows within this many seconds; a migrating domain's name is
 * re-read on every list.
 */
#define NAME_REFRESH_LISTS 10

enum xl_kind {
	XL_LIST, XL_CAPTURE, XL_DESTROY, XL_CREATE, XL_REBOOT,   /* commands */
	XL_EVENT, XL_DISASTER,                                   /* from libxl */
};

/*
 * One message: a command travelling to the libxl thread and coming back
 * with its result, or an event the thread posts to the main loop.
 */
struct xl_msg {
	TAILQ_ENTRY(xl_msg) entry;
	enum xl_kind kind;
	union {
		hv_list_fn *list;
		hv_capture_fn *capture;
		hv_create_fn *create;
		hv_done_fn *done;
	} cb;
	void *arg;
	int domid;                  /* in: the target; out (create): the new one */
	char *json_in;              /* create: the configuration to create from */
	char expect_name[128];      /* destroy: who must still be at domid */
	char expect_uuid[40];       /* ("" : not checked) */
	char *json_out;             /* capture: libxl's JSON, from malloc */
	int err;                    /* out: 0 or -1 */
	char errmsg[512];
	struct hv_dominfo *doms;    /* list */
	size_t ndoms;
	unsigned list_flags;        /* HV_LIST_* */
	struct hv_event ev;         /* XL_EVENT; ev.name points to ev_name */
	char ev_name[128];

	/* A create or destroy in flight (libxl thread only, but for what
	 * its lane writes before handing it back under the lock). */
	struct hv_libxl *xl;        /* the lane's way back */
	struct xl_lane_job job;
	TAILQ_ENTRY(xl_msg) lane_entry;     /* in xl->lane_done */
	libxl_domain_config *cfg;   /* create: lives until the ao completes */
	uint32_t new_domid;         /* create: written by libxl */
	int ao_rc;                  /* the operation's result */
	int64_t ao_start_ms;        /* when libxl was asked (for the log) */
	int64_t since_ms;           /* destroy: when the wait for "gone" began */
	int64_t dying_since_ms;     /* destroy: first seen dying, or -1 */
	int64_t next_check_ms;      /* destroy: next "gone yet?" */
	int64_t checks_start_ms;    /* destroy: when its checks began */
	int64_t checks_ms;          /* destroy: what they took */
	int64_t scan_ms;            /* destroy: reading the process table */
	int64_t parse_ms;           /* create: parsing the configuration */
	char label[128];
};
TAILQ_HEAD(xl_msg_list, xl_msg);

/* A libxl death watch on one domain, owned by the libxl thread. */
struct xl_watch {
	TAILQ_ENTRY(xl_watch) entry;
	uint32_t domid;
	uint64_t id;                /* the for_user value of its events */
	char name[128];
	libxl_evgen_domain_death *evg;
	bool dead;                  /* DEATH seen: disable after the libxl call */
	bool seen;                  /* present in the latest domain list */
	unsigned name_age;          /* lists since name was read from xenstore */
	int64_t start_wall_ms;      /* libxl_vm_get_start_time, 0 unknown */
	unsigned start_tries;       /* reads of it again while unknown */
	/* Read once when the domain is first seen shut down (see shutdown_facts). */
	bool facts;
	enum yk_shutdown_reason facts_reason;
	enum hv_action action;      /* its own on_crash/on_reboot... */
	long monitor_pid;           /* its xl monitor, 0: none */
	/* Events held back until who acts on the shutdown is known. */
	bool shutdown_pending;
	enum yk_shutdown_reason pending_reason;
	bool death_pending;
};
TAILQ_HEAD(xl_watch_list, xl_watch);

struct hv_libxl {
	struct hv hv;                       /* first: struct hv * casts to this */

	/* Set while opening, then read-only. */
	libxl_ctx *ctx;
	xentoollog_logger *logger;          /* must outlive ctx */
	libxl_childproc_hooks chld_hooks;   /* libxl keeps pointers to both */
	libxl_event_hooks ev_hooks;
	int cmd_efd;                        /* main -> thread: "look at cmds" */
	int done_efd;                       /* thread -> main: "look at done" */
	pthread_t thread;
	bool lock_ready;

	/* Main loop only. */
	struct event *done_ev;

	/* Under lock, shared by both threads. */
	pthread_mutex_t lock;
	struct xl_msg_list cmds;
	struct xl_msg_list done;
	struct xl_msg_list lane_done;       /* linked by lane_entry */
	bool stop;

	/* Opened before the thread starts; closed after it ends. */
	struct xl_lanes *lanes;             /* creates and destroys run there */

	/* libxl thread only. */
	struct xl_msg_list inflight;        /* creates and destroys in lanes */
	struct xl_msg_list ao_done;         /* ... completed, to be finished */
	struct xl_msg_list gone_wait;       /* destroys waiting for "gone" */
	bool aborted;                       /* stopping: in-flight ops aborted */
	struct xl_watch_list watches;
	uint64_t next_watch_id;
	bool watch_warned;                  /* warn once, not every second */
	bool broken;                        /* libxl reported a disaster */
	struct hv_xlprocs tools;            /* xl migrate/save seen by a scan */
	struct xl_cfgcache *parsed;         /* captured configurations, parsed */
	bool tools_warned;
	struct pollfd *pfds;
	int npfds;
};

static void xl_close(struct hv *hv);
static void xl_list(struct hv *hv, unsigned flags, hv_list_fn *cb,
    void *arg);
static void xl_capture(struct hv *hv, int domid, hv_capture_fn *cb, void *arg);
static void xl_destroy(struct hv *hv, int domid, const struct hv_ident *expect,
    hv_done_fn *cb, void *arg);
static void xl_create(struct hv *hv, const char *cfg, hv_create_fn *cb, void *arg);
static void xl_reboot(struct hv *hv, int domid, hv_done_fn *cb, void *arg);
static void msg_fail(struct xl_msg *m, const char *fmt, ...) YK_PRINTF(2, 3);
static bool xl_destroy_done(struct hv_libxl *xl, struct xl_msg *m);
static int xl_lane_destroy(libxl_ctx *ctx, void *arg,
    const libxl_asyncop_how *how);
static int xl_lane_create(libxl_ctx *ctx, void *arg,
    const libxl_asyncop_how *how);
static bool xl_create_done(struct hv_libxl *xl, struct xl_msg *m);
static void xl_shutdown_facts(struct hv_libxl *xl, struct xl_watch *w,
    struct hv_dominfo *out);

static const struct hv_ops libxl_ops = {
	.name = "libxl",
	.close = xl_close,
	.list = xl_list,
	.capture = xl_capture,
	.destroy = xl_destroy,
	.create = xl_create,
	.reboot = xl_reboot,
};

/* ---- small helpers (any thread) ----------------------------------------- */

static const char *
xl_rcname(int rc)
{
	const char *s = libxl_error_to_string((libxl_error)rc);

	return s != NULL ? s : "unknown error";
}

static void
efd_signal(int fd)
{
	uint64_t one = 1;

	/* Only fails if the counter would overflow: it is readable anyway. */
	if (write(fd, &one, sizeof(one)) != (ssize_t)sizeof(one) && errno != EAGAIN)
		log_warn("libxl: cannot signal an eventfd");
}

static void
efd_drain(int fd)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN && errno != EINTR)
		log_warn("libxl: cannot read an eventfd");
}

static struct xl_msg *
msg_new(enum xl_kind kind, void *arg)
{
	struct xl_msg *m;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		fatalx("libxl: out of memory");
	m->kind = kind;
	m->arg = arg;
	m->domid = -1;
	return m;
}

static void
msg_free(struct xl_msg *m)
{
	if (m->cfg != NULL) {
		libxl_domain_config_dispose(m->cfg);
		free(m->cfg);
	}
	free(m->json_in);
	free(m->json_out);
	free(m->doms);
	free(m);
}

static void
msg_list_free(struct xl_msg_list *l)
{
	struct xl_msg *m;

	while ((m = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, m, entry);
		msg_free(m);
	}
}

static void
msg_fail(struct xl_msg *m, const char *fmt, ...)
{
	va_list ap;

	m->err = -1;
	va_start(ap, fmt);
	vsnprintf(m->errmsg, sizeof(m->errmsg), fmt, ap);
	va_end(ap);
}

static enum yk_shutdown_reason
reason_from_libxl(int r)
{
	switch (r) {
	case LIBXL_SHUTDOWN_REASON_POWEROFF: return YK_SD_POWEROFF;
	case LIBXL_SHUTDOWN_REASON_REBOOT: return YK_SD_REBOOT;
	case LIBXL_SHUTDOWN_REASON_SUSPEND: return YK_SD_SUSPEND;
	case LIBXL_SHUTDOWN_REASON_CRASH: return YK_SD_CRASH;
	case LIBXL_SHUTDOWN_REASON_WATCHDOG: return YK_SD_WATCHDOG;
	case LIBXL_SHUTDOWN_REASON_SOFT_RESET: return YK_SD_SOFT_RESET;
	default: return YK_SD_UNKNOWN;
	}
}

static enum hv_action
action_from_libxl(libxl_action_on_shutdown a)
{
	switch (a) {
	case LIBXL_ACTION_ON_SHUTDOWN_DESTROY: return HV_ACTION_DESTROY;
	case LIBXL_ACTION_ON_SHUTDOWN_RESTART: return HV_ACTION_RESTART;
	case LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME:
		return HV_ACTION_RENAME_RESTART;
	case LIBXL_ACTION_ON_SHUTDOWN_PRESERVE: return HV_ACTION_PRESERVE;
	case LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY:
		return HV_ACTION_COREDUMP_DESTROY;
	case LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART:
		return HV_ACTION_COREDUMP_RESTART;
	case LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET: return HV_ACTION_SOFT_RESET;
	default: return HV_ACTION_UNKNOWN;
	}
}

/* The field of a domain configuration that holds the action for r. */
static enum hv_action
action_for_reason(const libxl_domain_config *cfg, enum yk_shutdown_reason r)
{
	switch (r) {
	case YK_SD_POWEROFF: return action_from_libxl(cfg->on_poweroff);
	case YK_SD_REBOOT: return action_from_libxl(cfg->on_reboot);
	case YK_SD_CRASH: return action_from_libxl(cfg->on_crash);
	case YK_SD_WATCHDOG: return action_from_libxl(cfg->on_watchdog);
	case YK_SD_SOFT_RESET: return action_from_libxl(cfg->on_soft_reset);
	default: return HV_ACTION_UNKNOWN;
	}
}

/* ---- the main loop side: submitting and completing ---------------------- */

static void
xl_submit(struct hv_libxl *xl, struct xl_msg *m)
{
	pthread_mutex_lock(&xl->lock);
	TAILQ_INSERT_TAIL(&xl->cmds, m, entry);
	pthread_mutex_unlock(&xl->lock);
	efd_signal(xl->cmd_efd);
}

static void
xl_deliver(struct hv_libxl *xl, struct xl_msg *m)
{
	const char *emsg = m->err ? m->errmsg : NULL;

	switch (m->kind) {
	case XL_LIST:
		m->cb.list(m->arg, m->err, m->err ? NULL : m->doms,
		    m->err ? 0 : m->ndoms);
		break;
	case XL_CAPTURE:
		m->cb.capture(m->arg, m->err, m->err ? NULL : m->json_out);
		break;
	case XL_CREATE:
		m->cb.create(m->arg, m->err, m->err ? -1 : m->domid, emsg);
		break;
	case XL_DESTROY:
	case XL_REBOOT:
		m->cb.done(m->arg, m->err, emsg);
		break;
	case XL_EVENT:
		m->ev.name = m->ev_name;
		if (xl->hv.on_event != NULL)
			xl->hv.on_event(xl->hv.event_arg, &m->ev);
		break;
	case XL_DISASTER:
		/*
		 * libxl may now fail every call and lose events: stop cleanly
		 * (the state files let the next start carry on) rather than
		 * supervise blind.
		 */
		log_errx("libxl: %s; stopping yaokid", m->errmsg);
		xl->hv.failed = true;
		event_base_loopexit(xl->hv.base, NULL);
		break;
	}
}

/* The thread posted results or events: deliver them all, in order. */
static void
xl_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hv_libxl *xl = arg;
	struct xl_msg_list batch;
	struct xl_msg *m;

	(void)what;
	efd_drain(fd);
	TAILQ_INIT(&batch);
	pthread_mutex_lock(&xl->lock);
	TAILQ_CONCAT(&batch, &xl->done, entry);
	pthread_mutex_unlock(&xl->lock);
	/* Callbacks may submit more work: the lock is not held here. */
	while ((m = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, m, entry);
		xl_deliver(xl, m);
		msg_free(m);
	}
}

static void
xl_list(struct hv *hv, unsigned flags, hv_list_fn *cb, void *arg)
{
	struct xl_msg *m = msg_new(XL_LIST, arg);

	m->cb.list = cb;
	m->list_flags = flags;
	xl_submit((struct hv_libxl *)hv, m);
}

static void
xl_capture(struct hv *hv, int domid, hv_capture_fn *cb, void *arg)
{
	struct xl_msg *m = msg_new(XL_CAPTURE, arg);

	m->cb.capture = cb;
	m->domid = domid;
	xl_submit((struct hv_libxl *)hv, m);
}

static void
xl_destroy(struct hv *hv, int domid, const struct hv_ident *expect,
    hv_done_fn *cb, void *arg)
{
	struct xl_msg *m = msg_new(XL_DESTROY, arg);

	m->cb.done = cb;
	m->domid = domid;
	if (expect != NULL) {
		snprintf(m->expect_name, sizeof(m->expect_name), "%s",
		    expect->name != NULL ? expect->name : "");
		snprintf(m->expect_uuid, sizeof(m->expect_uuid), "%s",
		    expect->uuid != NULL ? expect->uuid : "");
	}
	xl_submit((struct hv_libxl *)hv, m);
}

static void
xl_create(struct hv *hv, const char *config_json, hv_create_fn *cb, void *arg)
{
	struct xl_msg *m = msg_new(XL_CREATE, arg);

	m->cb.create = cb;
	if ((m->json_in = strdup(config_json)) == NULL)
		fatalx("libxl: out of memory");
	xl_submit((struct hv_libxl *)hv, m);
}

static void
xl_reboot(struct hv *hv, int domid, hv_done_fn *cb, void *arg)
{
	struct xl_msg *m = msg_new(XL_REBOOT, arg);

	m->cb.done = cb;
	m->domid = domid;
	xl_submit((struct hv_libxl *)hv, m);
}

/* ---- the libxl thread: posting back ------------------------------------- */

static void
xl_post(struct hv_libxl *xl, struct xl_msg *m)
{
	pthread_mutex_lock(&xl->lock);
	TAILQ_INSERT_TAIL(&xl->done, m, entry);
	pthread_mutex_unlock(&xl->lock);
	efd_signal(xl->done_efd);
}

static void
xl_post_event(struct hv_libxl *xl, enum hv_event_kind kind, const char *name,
    int domid, enum yk_shutdown_reason reason)
{
	struct xl_msg *m = msg_new(XL_EVENT, NULL);

	snprintf(m->ev_name, sizeof(m->ev_name), "%s", name);
	m->ev.kind = kind;
	m->ev.domid = domid;
	m->ev.reason = reason;
	xl_post(xl, m);
}

static void
xl_label(struct hv_libxl *xl, uint32_t domid, char *buf, size_t len)
{
	char *name = libxl_domid_to_name(xl->ctx, domid);

	if (name != NULL && name[0] != '\0')
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "domain %" PRIu32, domid);
	free(name);
}

/* ---- the libxl thread: death watches ------------------------------------ */

static struct xl_watch *
watch_by_domid(struct hv_libxl *xl, uint32_t domid)
{
	struct xl_watch *w;

	TAILQ_FOREACH(w, &xl->watches, entry)
		if (w->domid == domid)
			return w;
	return NULL;
}

static struct xl_watch *
watch_by_id(struct hv_libxl *xl, uint64_t id)
{
	struct xl_watch *w;

	TAILQ_FOREACH(w, &xl->watches, entry)
		if (w->id == id)
			return w;
	return NULL;
}

static int
watch_cmp(const void *a, const void *b)
{
	const struct xl_watch *x = *(struct xl_watch *const *)a;
	const struct xl_watch *y = *(struct xl_watch *const *)b;

	return x->domid < y->domid ? -1 : x->domid > y->domid;
}

/*
 * The watches sorted by domid, for one domain list (O(log n) a lookup
 * instead of a walk of every watch per domain). NULL with *n = 0 if there
 * are none or memory is short: every lookup then misses.
 */
static struct xl_watch **
watch_index(struct hv_libxl *xl, size_t *n)
{
	struct xl_watch **idx, *w;
	size_t k = 0;

	TAILQ_FOREACH(w, &xl->watches, entry)
		k++;
	*n = 0;
	if (k == 0 || (idx = calloc(k, sizeof(*idx))) == NULL)
		return NULL;
	TAILQ_FOREACH(w, &xl->watches, entry)
		idx[(*n)++] = w;
	qsort(idx, *n, sizeof(*idx), watch_cmp);
	return idx;
}

static struct xl_watch *
watch_find(struct xl_watch **idx, size_t n, uint32_t domid)
{
	struct xl_watch key = { .domid = domid }, *kp = &key, **found;

	if (n == 0)
		return NULL;
	found = bsearch(&kp, idx, n, sizeof(*idx), watch_cmp);
	return found != NULL ? *found : NULL;
}

/* When domid was created (ms since the epoch), or 0 if libxl cannot say. */
static int64_t
xl_start_time(struct hv_libxl *xl, uint32_t domid)
{
	/* 0 (and a libxl log line) when xenstore has no start time. */
	uint32_t t = libxl_vm_get_start_time(xl->ctx, domid);

	return (int64_t)t * 1000;
}

/* A new death watch on domid (which has none); NULL if libxl refused. */
static struct xl_watch *
watch_add(struct hv_libxl *xl, uint32_t domid, const char *name)
{
	struct xl_watch *w;
	int rc;

	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		log_warnx("%s: out of memory for a death watch", name);
		return NULL;
	}
	w->domid = domid;
	w->id = ++xl->next_watch_id;
	w->name_age = domid % NAME_REFRESH_LISTS;	/* spread the re-reads */
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->start_wall_ms = xl_start_time(xl, domid);
	rc = libxl_evenable_domain_death(xl->ctx, domid, w->id, &w->evg);
	if (rc != 0) {
		if (!xl->watch_warned)
			log_warnx("%s: cannot watch domain %" PRIu32 " for shutdown "
			    "(libxl error %d, %s); noticing it from the domain list "
			    "only", name, domid, rc, xl_rcname(rc));
		xl->watch_warned = true;
		free(w);
		return NULL;
	}
	xl->watch_warned = false;
	TAILQ_INSERT_TAIL(&xl->watches, w, entry);
	return w;
}

/*
 * Makes sure domid has a death watch; keeps its name current (a migrated
 * domain loses its "--incoming" suffix). Returns NULL if libxl refused:
 * the once-a-second list still notices the domain's fate, only later.
 */
static struct xl_watch *
watch_ensure(struct hv_libxl *xl, uint32_t domid, const char *name)
{
	struct xl_watch *w = watch_by_domid(xl, domid);

	if (w != NULL) {
		snprintf(w->name, sizeof(w->name), "%s", name);
		w->name_age = 0;
		return w;
	}
	return watch_add(xl, domid, name);
}


static void
watch_disable(struct hv_libxl *xl, struct xl_watch *w)
{
	TAILQ_REMOVE(&xl->watches, w, entry);
	libxl_evdisable_domain_death(xl->ctx, w->evg);
	free(w);
}

static void
watch_disable_domid(struct hv_libxl *xl, uint32_t domid)
{
	struct xl_watch *w = watch_by_domid(xl, domid);

	if (w != NULL)
		watch_disable(xl, w);
}

/*
 * Shutdowns that came in (from inside some libxl call) go to the main loop
 * with who acts on them (the domain's own action, its xl monitor), read
 * now, outside libxl's callback, then a death held back behind them.
 */
static void
watch_post_shutdowns(struct hv_libxl *xl)
{
	struct xl_msg *m;
	struct hv_dominfo info;
	struct xl_watch *w;

	TAILQ_FOREACH(w, &xl->watches, entry) {
		if (!w->shutdown_pending)
			continue;
		w->shutdown_pending = false;
		memset(&info, 0, sizeof(info));
		snprintf(info.name, sizeof(info.name), "%s", w->name);
		info.domid = (int)w->domid;
		info.state = HV_SHUTDOWN;
		info.reason = w->pending_reason;
		xl_shutdown_facts(xl, w, &info);
		m = msg_new(XL_EVENT, NULL);
		snprintf(m->ev_name, sizeof(m->ev_name), "%s", w->name);
		m->ev.kind = HV_EV_SHUTDOWN;
		m->ev.domid = (int)w->domid;
		m->ev.reason = info.reason;
		m->ev.facts = true;
		m->ev.monitored = info.monitored;
		m->ev.action = info.action;
		xl_post(xl, m);
		if (w->death_pending) {
			w->death_pending = false;
			xl_post_event(xl, HV_EV_GONE, w->name, (int)w->domid,
			    YK_SD_UNKNOWN);
		}
	}
}

/* Watches whose DEATH came in (from inside some libxl call) are spent. */
static void
watch_reap_dead(struct hv_libxl *xl)
{
	struct xl_watch *w, *next;

	for (w = TAILQ_FIRST(&xl->watches); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->dead)
			watch_disable(xl, w);
	}
}

/* Domains missing from a fresh list are gone: their watches are useless. */
static void
watch_prune_unseen(struct hv_libxl *xl)
{
	struct xl_watch *w, *next;

	for (w = TAILQ_FIRST(&xl->watches); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (!w->seen)
			watch_disable(xl, w);
	}
}

static void
watch_disable_all(struct hv_libxl *xl)
{
	struct xl_watch *w;

	while ((w = TAILQ_FIRST(&xl->watches)) != NULL)
		watch_disable(xl, w);
}

/*
 * libxl's event_occurs hook: runs on the libxl thread, possibly in the
 * middle of another libxl call (libxl runs it with its own lock released).
 * It only posts to the main loop and marks a dead watch; the watch itself
 * is disabled afterwards, outside libxl.
 */
static void
xl_event_occurs(void *user, libxl_event *event)
{
	struct hv_libxl *xl = user;
	struct xl_watch *w = watch_by_id(xl, event->for_user);

	/* No watch: we disabled it since (e.g. our own destroy); not news. */
	if (w != NULL && w->domid == event->domid && !w->dead) {
		switch (event->type) {
		case LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN:
			/* Posted with its facts once out of libxl. */
			w->shutdown_pending = true;
			w->pending_reason = reason_from_libxl(
			    event->u.domain_shutdown.shutdown_reason);
			break;
		case LIBXL_EVENT_TYPE_DOMAIN_DEATH:
			w->dead = true;
			if (w->shutdown_pending)
				w->death_pending = true;   /* keep the order */
			else
				xl_post_event(xl, HV_EV_GONE, w->name,
				    (int)w->domid, YK_SD_UNKNOWN);
			break;
		default:
			break;
		}
	}
	libxl_event_free(xl->ctx, event);
}

/*
 * libxl's disaster hook: event handling inside libxl broke (out of memory,
 * a failing system call). libxl must not be called from here. Without this
 * hook libxl would exit(-1) under our feet.
 */
static void
xl_disaster(void *user, libxl_event_type type, const char *msg, int errnoval)
{
	struct hv_libxl *xl = user;
	struct xl_msg *m = msg_new(XL_DISASTER, NULL);
	char ebuf[128];

	xl->broken = true;
	snprintf(m->errmsg, sizeof(m->errmsg), "libxl lost track of %s events: "
	    "%s%s%s", type != 0 ? libxl_event_type_to_string(type) : "all",
	    msg != NULL ? msg : "unknown failure", errnoval >= 0 ? ": " : "",
	    errnoval >= 0 ? strerror_r(errnoval, ebuf, sizeof(ebuf)) : "");
	xl_post(xl, m);
}

/*
 * Events not routed to event_occurs would queue inside libxl for ever;
 * none are expected (only death watches are enabled), but free any.
 */
static void
xl_drain_queued_events(struct hv_libxl *xl)
{
	libxl_event *ev;
	int rc;

	while ((rc = libxl_event_check(xl->ctx, &ev, LIBXL_EVENTMASK_ALL,
	    NULL, NULL)) == 0) {
		log_debug("libxl: dropping an unexpected event of type %d",
		    (int)ev->type);
		libxl_event_free(xl->ctx, ev);
	}
	if (rc != ERROR_NOT_READY) {
		log_warnx("libxl: cannot collect events (libxl error %d, %s); "
		    "listing domains again", rc, xl_rcname(rc));
		xl_post_event(xl, HV_EV_RESYNC, "", -1, YK_SD_UNKNOWN);
	}
}

/* ---- the libxl thread: waiting ------------------------------------------ */

/*
 * Gives libxl's fds and timers one round of poll(2), for at most
 * timeout_ms (-1: no limit). With wake_on_cmd, a new command ends the
 * wait. pfds[0] is our command eventfd; libxl's fds follow it.
 */
static void
xl_wait(struct hv_libxl *xl, int timeout_ms, bool wake_on_cmd)
{
	struct pollfd *grown;
	struct timeval now;
	int nfds, timeout, rc, n;

	for (;;) {
		nfds = xl->npfds - 1;
		timeout = timeout_ms;
		gettimeofday(&now, NULL);
		rc = libxl_osevent_beforepoll(xl->ctx, &nfds, xl->pfds + 1,
		    &timeout, now);
		if (rc != ERROR_BUFFERFULL)
			break;
		/* libxl says how many it needs: make room and ask again. */
		grown = realloc(xl->pfds, (size_t)(nfds + 1) * sizeof(*grown));
		if (grown == NULL)
			fatalx("libxl: out of memory");
		xl->pfds = grown;
		xl->npfds = nfds + 1;
	}
	if (rc != 0) {
		log_warnx("libxl: cannot prepare to wait for events (libxl "
		    "error %d, %s)", rc, xl_rcname(rc));
		poll(NULL, 0, timeout_ms >= 0 && timeout_ms < 1000 ? timeout_ms : 1000);
		return;
	}
	xl->pfds[0].fd = wake_on_cmd ? xl->cmd_efd : -1;   /* -1: poll skips it */
	xl->pfds[0].events = POLLIN;
	xl->pfds[0].revents = 0;
	n = poll(xl->pfds, (nfds_t)nfds + 1, timeout);
	if (n == -1) {
		/* EINTR: libxl's own SIGCHLD handler, say; the next round sees it. */
		if (errno != EINTR) {
			log_warn("libxl: poll");
			poll(NULL, 0, 100);
		}
		return;
	}
	gettimeofday(&now, NULL);
	libxl_osevent_afterpoll(xl->ctx, nfds, xl->pfds + 1, now);
	if (xl->pfds[0].revents & POLLIN)
		efd_drain(xl->cmd_efd);
}

/* ---- the libxl thread: the commands ------------------------------------- */

static enum hv_dstate
dstate_from_libxl(const libxl_dominfo *in)
{
	if (in->dying)
		return HV_DYING;
	if (in->shutdown)
		return HV_SHUTDOWN;
	if (in->paused)
		return HV_PAUSED;
	return HV_RUNNING;     /* "running" in libxl only means on a CPU now */
}

/*
 * The name of a listed domain: from its watch while that is fresh (a
 * watched domain already passed the stub-domain check), else from xenstore.
 * False for what yaokid never sees: Dom0, stub domains, domains without a
 * name (vanished since the list). *fresh: it was read from xenstore.
 */
static bool
xl_dom_name(struct hv_libxl *xl, uint32_t domid, struct xl_watch *w,
    char *buf, size_t len, bool *fresh)
{
	char *name;

	*fresh = false;
	if (domid == 0)
		return false;
	if (w != NULL && !w->dead && w->name_age < NAME_REFRESH_LISTS &&
	    !hv_migrating_name(w->name)) {
		w->name_age++;
		snprintf(buf, len, "%s", w->name);
		return true;
	}
	if (libxl_is_stubdom(xl->ctx, domid, NULL))
		return false;
	if ((name = libxl_domid_to_name(xl->ctx, domid)) == NULL)
		return false;
	snprintf(buf, len, "%s", name);
	free(name);
	*fresh = true;
	return true;
}

/*
 * The domain's own action for reason, from the configuration libxl keeps
 * for it (what xl's monitor itself reloads before a restart); unknown when
 * libxl cannot give it. Libxl thread only.
 */
static enum hv_action
xl_domain_action(struct hv_libxl *xl, uint32_t domid, const char *name,
    enum yk_shutdown_reason reason)
{
	libxl_domain_config cfg;
	enum hv_action a = HV_ACTION_UNKNOWN;
	int rc;

	libxl_domain_config_init(&cfg);
	rc = libxl_retrieve_domain_configuration(xl->ctx, domid, &cfg, NULL);
	if (rc == 0)
		a = action_for_reason(&cfg, reason);
	else
		log_info("%s: cannot read the configuration of domain %" PRIu32
		    " for its %s (libxl error %d, %s)", name, domid,
		    hv_action_key(reason) != NULL ? hv_action_key(reason) :
		    "action", rc, xl_rcname(rc));
	libxl_domain_config_dispose(&cfg);
	return a;
}

/*
 * For a domain seen shut down: its own action for the reason (read once
 * per domid and reason, cached on its watch) and whether its xl monitor
 * is alive (the log is read once; the process is checked on every list).
 * Without a watch nothing can be cached and both are read each time.
 */
static void
xl_shutdown_facts(struct hv_libxl *xl, struct xl_watch *w,
    struct hv_dominfo *out)
{
	struct xl_watch tmp;
	const char *key = hv_action_key(out->reason);

	if (w == NULL) {
		memset(&tmp, 0, sizeof(tmp));
		w = &tmp;
	}
	if (!w->facts || w->facts_reason != out->reason) {
		w->facts = true;
		w->facts_reason = out->reason;
		w->action = out->reason == YK_SD_SUSPEND ? HV_ACTION_UNKNOWN :
		    xl_domain_action(xl, (uint32_t)out->domid, out->name,
		    out->reason);
		w->monitor_pid = hv_xlmon_find(HV_XLMON_LOGDIR, "/proc",
		    out->name, out->domid);
		if (w->monitor_pid > 0)
			log_debug("%s: domain %d shut down (%s); %s=%s; xl monitor "
			    "pid %ld", out->name, out->domid,
			    yk_shutdown_reason_name(out->reason),
			    key != NULL ? key : "action", hv_action_name(w->action),
			    w->monitor_pid);
		else
			log_debug("%s: domain %d shut down (%s); %s=%s; no xl "
			    "monitor (no live \"Waiting for domain\" line in "
			    "%s/xl-%s.log)", out->name, out->domid,
			    yk_shutdown_reason_name(out->reason),
			    key != NULL ? key : "action", hv_action_name(w->action),
			    HV_XLMON_LOGDIR, out->name);
	} else if (w->monitor_pid > 0 &&
	    !hv_xlmon_alive("/proc", w->monitor_pid)) {
		log_debug("%s: domain %d: xl monitor pid %ld is gone", out->name,
		    out->domid, w->monitor_pid);
		w->monitor_pid = 0;
	}
	out->action = w->action;
	out->monitored = w->monitor_pid > 0;
}

/*
 * Fills out from one libxl_dominfo; false for what yaokid never sees.
 * Watches every live domain it reports (w: its watch, if it has one).
 */
static bool
xl_fill_dominfo(struct hv_libxl *xl, const libxl_dominfo *in,
    struct xl_watch *w, struct hv_dominfo *out)
{
	uint32_t domid = in->domid;
	bool fresh;

	if (!xl_dom_name(xl, domid, w, out->name, sizeof(out->name), &fresh))
		return false;
	snprintf(out->uuid, sizeof(out->uuid), LIBXL_UUID_FMT,
	    LIBXL_UUID_BYTES(in->uuid));
	out->domid = (int)domid;
	out->state = dstate_from_libxl(in);
	out->reason = out->state == HV_SHUTDOWN ?
	    reason_from_libxl(in->shutdown_reason) : YK_SD_UNKNOWN;
	out->migrating = hv_migrating_name(out->name);
	/* A dying domain no longer holds its name: nothing left to watch. */
	if (out->state == HV_DYING)
		return true;
	out->xl_op = hv_xlproc_match(&xl->tools, out->name, out->uuid,
	    out->domid, NULL);
	if (w == NULL)
		w = watch_add(xl, domid, out->name);
	else if (fresh) {
		snprintf(w->name, sizeof(w->name), "%s", out->name);
		w->name_age = 0;
	}
	if (w != NULL) {
		w->seen = true;
		/*
		 * A domain watched while paused (being restored, or restarted
		 * by its monitor) may not have its start time in xenstore yet:
		 * read it again once it runs, a few lists at most.
		 */
		if (w->start_wall_ms == 0 && out->state == HV_RUNNING &&
		    w->start_tries < START_TRIES) {
			w->start_tries++;
			w->start_wall_ms = xl_start_time(xl, domid);
		}
		out->start_wall_ms = w->start_wall_ms;
	} else
		out->start_wall_ms = xl_start_time(xl, domid);
	if (out->state == HV_SHUTDOWN)
		xl_shutdown_facts(xl, w, out);
	return true;
}

/*
 * Which domains xl migrate/remus/save processes are working on, read from
 * the process table once per list. Unreadable: none known (said once).
 */
static void
xl_scan_tools(struct hv_libxl *xl)
{
	if (hv_xlproc_scan(HV_XLPROC_PROCDIR, &xl->tools) == 0) {
		xl->tools_warned = false;
		return;
	}
	if (!xl->tools_warned)
		log_warn("cannot read %s to find xl migrate and xl save",
		    HV_XLPROC_PROCDIR);
	xl->tools_warned = true;
}

static void
xl_do_list(struct hv_libxl *xl, struct xl_msg *m)
{
	libxl_dominfo *info;
	struct xl_watch *w, **idx;
	size_t nidx;
	int n = 0, i;

	info = libxl_list_domain(xl->ctx, &n);
	if (info == NULL) {
		msg_fail(m, "cannot list the domains (see libxl's message)");
		return;
	}
	m->doms = calloc(n > 0 ? (size_t)n : 1, sizeof(*m->doms));
	if (m->doms == NULL) {
		libxl_dominfo_list_free(info, n);
		msg_fail(m, "out of memory");
		return;
	}
	if (m->list_flags & HV_LIST_TOOLS)
		xl_scan_tools(xl);
	else
		hv_xlproc_clear(&xl->tools);
	idx = watch_index(xl, &nidx);
	TAILQ_FOREACH(w, &xl->watches, entry)
		w->seen = false;
	for (i = 0; i < n; i++)
		if (xl_fill_dominfo(xl, &info[i],
		    watch_find(idx, nidx, info[i].domid), &m->doms[m->ndoms]))
			m->ndoms++;
	free(idx);
	libxl_dominfo_list_free(info, n);
	watch_prune_unseen(xl);
}

static void
xl_do_capture(struct hv_libxl *xl, struct xl_msg *m)
{
	libxl_domain_config cfg;
	char label[128];
	int rc;

	libxl_domain_config_init(&cfg);
	rc = libxl_retrieve_domain_configuration(xl->ctx, (uint32_t)m->domid,
	    &cfg, NULL);
	if (rc != 0)
		msg_fail(m, "libxl_retrieve_domain_configuration failed (libxl "
		    "error %d, %s)", rc, xl_rcname(rc));
	else if ((m->json_out = libxl_domain_config_to_json(xl->ctx, &cfg)) == NULL)
		msg_fail(m, "libxl_domain_config_to_json failed");
	else
		/* Parsed now, so that a recovery from it need not. */
		xl_cfgcache_put(xl->parsed, xl->ctx, m->json_out);
	libxl_domain_config_dispose(&cfg);
	if (m->err) {
		/* The capture callback carries no message: say why here. */
		xl_label(xl, (uint32_t)m->domid, label, sizeof(label));
		log_info("%s: capture of domain %d: %s", label, m->domid, m->errmsg);
	}
}

enum xl_presence { XL_ALIVE, XL_DYING, XL_GONE, XL_UNKNOWN };

/* Whether domid still exists; XL_UNKNOWN (with *rcp) when libxl fails. */
static enum xl_presence
xl_presence(struct hv_libxl *xl, uint32_t domid, int *rcp)
{
	libxl_dominfo info;
	enum xl_presence p;
	int rc;

	libxl_dominfo_init(&info);
	rc = libxl_domain_info(xl->ctx, &info, domid);
	if (rc == ERROR_DOMAIN_NOTFOUND)
		p = XL_GONE;
	else if (rc != 0)
		p = XL_UNKNOWN;
	else
		p = info.dying ? XL_DYING : XL_ALIVE;
	libxl_dominfo_dispose(&info);
	*rcp = rc;
	return p;
}

/*
 * After libxl_domain_destroy: whether the domain is gone yet (one look).
 * A domain that stays dying (a zombie some backend still holds) no longer
 * holds its name, so after a short grace it counts as gone. True when m is
 * finished, successfully or not (m->err).
 */
static bool
xl_gone_check(struct hv_libxl *xl, struct xl_msg *m)
{
	enum xl_presence p;
	int64_t now;
	int rc;

	p = xl_presence(xl, (uint32_t)m->domid, &rc);
	if (p == XL_GONE) {
		log_info("%s: domain %d gone %.3f s after the destroy", m->label,
		    m->domid, (double)(yk_now_ms() - m->since_ms) / 1000.0);
		return true;
	}
	if (p == XL_UNKNOWN) {
		msg_fail(m, "cannot check whether domain %d is gone (libxl "
		    "error %d, %s)", m->domid, rc, xl_rcname(rc));
		return true;
	}
	now = yk_now_ms();
	if (p == XL_DYING && m->dying_since_ms < 0)
		m->dying_since_ms = now;
	if (p == XL_DYING && now - m->dying_since_ms >= DYING_GRACE_MS) {
		log_notice("%s: domain %d is still dying (held by a backend); "
		    "its name is free, going on", m->label, m->domid);
		return true;
	}
	if (xl->aborted) {
		msg_fail(m, "yaokid is stopping");   /* never delivered */
		return true;
	}
	if (now - m->since_ms >= DESTROY_BOUND_MS) {
		msg_fail(m, "domain %d still exists %d s after "
		    "libxl_domain_destroy", m->domid, DESTROY_BOUND_MS / 1000);
		return true;
	}
	m->next_check_ms = now + DESTROY_POLL_MS;
	return false;
}

/* Checks now, then every DESTROY_POLL_MS from the thread's loop. */
static bool
xl_wait_gone(struct hv_libxl *xl, struct xl_msg *m)
{
	m->since_ms = yk_now_ms();
	m->dying_since_ms = -1;
	if (xl_gone_check(xl, m))
		return true;
	TAILQ_INSERT_TAIL(&xl->gone_wait, m, entry);
	return false;
}

/*
 * A lane finished m's libxl call (runs on the lane's thread): hand it back
 * to the libxl thread, which finishes it (unpause, the "gone yet?" checks).
 */
static void
xl_lane_done(void *arg, int rc)
{
	struct xl_msg *m = arg;
	struct hv_libxl *xl = m->xl;

	m->ao_rc = rc;
	pthread_mutex_lock(&xl->lock);
	TAILQ_INSERT_TAIL(&xl->lane_done, m, lane_entry);
	pthread_mutex_unlock(&xl->lock);
	efd_signal(xl->cmd_efd);
}

/* Hands m's create or destroy (started by start) to a lane. */
static void
xl_lane_begin(struct hv_libxl *xl, struct xl_msg *m,
    int (*start)(libxl_ctx *, void *, const libxl_asyncop_how *))
{
	m->xl = xl;
	m->job.start = start;
	m->job.done = xl_lane_done;
	m->job.arg = m;
	TAILQ_INSERT_TAIL(&xl->inflight, m, entry);
	m->ao_start_ms = yk_now_ms();
	xl_lanes_submit(xl->lanes, &m->job);
}

/* What lanes finished since the last look: to be finished here. */
static void
xl_collect_lanes(struct hv_libxl *xl)
{
	struct xl_msg *m;

	pthread_mutex_lock(&xl->lock);
	while ((m = TAILQ_FIRST(&xl->lane_done)) != NULL) {
		TAILQ_REMOVE(&xl->lane_done, m, lane_entry);
		TAILQ_REMOVE(&xl->inflight, m, entry);
		TAILQ_INSERT_TAIL(&xl->ao_done, m, entry);
	}
	pthread_mutex_unlock(&xl->lock);
}

/* The process table, read for m's destroy (timed for the log). */
static int
xl_scan_for(struct hv_libxl *xl, struct xl_msg *m)
{
	int64_t t0 = yk_now_ms();
	int rc = hv_xlproc_scan(HV_XLPROC_PROCDIR, &xl->tools);

	m->scan_ms = yk_now_ms() - t0;
	return rc;
}

/*
 * Right before a destroy: is domid still the domain the caller means (info:
 * what Xen says of it now)? The name is read afresh from xenstore (the
 * list's may be seconds old after an xl rename), the uuid from Xen, and a
 * domain that an xl migrate, save or remus works on is never destroyed;
 * when the process table cannot be read to rule that out, neither (rule 1:
 * unsure, hold). False (m failed, saying what is there) when it is not.
 */
static bool
xl_still_expected(struct hv_libxl *xl, struct xl_msg *m,
    const libxl_dominfo *info)
{
	char uuid[40], *name;
	enum hv_xl_op op = HV_XL_NONE;
	long pid = 0;

	name = libxl_domid_to_name(xl->ctx, (uint32_t)m->domid);
	snprintf(m->label, sizeof(m->label), "%s", name != NULL && name[0] ?
	    name : "a domain without a name");
	if (m->expect_name[0] == '\0') {
		free(name);
		return true;
	}
	snprintf(uuid, sizeof(uuid), LIBXL_UUID_FMT, LIBXL_UUID_BYTES(info->uuid));
	if (name == NULL)
		msg_fail(m, "cannot tell who domain %d is now (no name in "
		    "xenstore): not destroying it", m->domid);
	else if (strcmp(name, m->expect_name) != 0 || hv_migrating_name(name))
		msg_fail(m, "domain %d is now named %s, not %s: not destroying "
		    "it", m->domid, name, m->expect_name);
	else if (m->expect_uuid[0] != '\0' && strcmp(uuid, m->expect_uuid) != 0)
		msg_fail(m, "domain %d now has uuid %s, not %s: not destroying "
		    "it", m->domid, uuid, m->expect_uuid);
	else if (xl_scan_for(xl, m) == -1)
		msg_fail(m, "cannot read %s to rule out an xl migrate or save "
		    "of domain %d (%s): not destroying it", HV_XLPROC_PROCDIR,
		    m->domid, strerror(errno));
	else if ((op = hv_xlproc_match(&xl->tools, name, uuid, m->domid,
	    &pid)) != HV_XL_NONE) {
		msg_fail(m, "domain %d is in an xl %s (pid %ld): not destroying "
		    "it", m->domid, hv_xl_op_name(op), pid);
		m->err = HV_ERR_XEN_TOOLS;
	}
	free(name);
	return m->err == 0;
}

/*
 * Starts a destroy. True when m is finished already (gone, refused, failed
 * to start); otherwise it completes in xl_destroy_done and xl_gone_check.
 * One look at the domain (libxl_domain_info) serves both "is it there?"
 * and "is it still the one meant?".
 */
static bool
xl_do_destroy(struct hv_libxl *xl, struct xl_msg *m)
{
	uint32_t domid = (uint32_t)m->domid;
	libxl_dominfo info;
	int rc;

	if (m->domid <= 0) {
		msg_fail(m, "refusing to destroy domain %d", m->domid);
		return true;
	}
	m->checks_start_ms = yk_now_ms();
	/* Our own destroy is not news: no GONE event for it. */
	watch_disable_domid(xl, domid);
	libxl_dominfo_init(&info);
	rc = libxl_domain_info(xl->ctx, &info, domid);
	if (rc == ERROR_DOMAIN_NOTFOUND) {
		libxl_dominfo_dispose(&info);
		return true;                /* already gone: done */
	}
	if (rc == 0 && info.dying) {
		libxl_dominfo_dispose(&info);
		xl_label(xl, domid, m->label, sizeof(m->label));
		return xl_wait_gone(xl, m); /* destroyed already: just wait */
	}
	if (rc != 0 && m->expect_name[0] != '\0') {
		libxl_dominfo_dispose(&info);
		msg_fail(m, "cannot tell who domain %d is now (libxl error %d, "
		    "%s): not destroying it", m->domid, rc, xl_rcname(rc));
		return true;
	}
	if (!xl_still_expected(xl, m, &info)) {
		libxl_dominfo_dispose(&info);
		return true;
	}
	libxl_dominfo_dispose(&info);
	m->checks_ms = yk_now_ms() - m->checks_start_ms;
	xl_lane_begin(xl, m, xl_lane_destroy);
	return false;
}

/* On a lane: the destroy itself. */
static int
xl_lane_destroy(libxl_ctx *ctx, void *arg, const libxl_asyncop_how *how)
{
	struct xl_msg *m = arg;

	return libxl_domain_destroy(ctx, (uint32_t)m->domid, how);
}

/* libxl finished destroying (m->ao_rc): now wait until Xen agrees. */
static bool
xl_destroy_done(struct hv_libxl *xl, struct xl_msg *m)
{
	enum xl_presence p;
	int irc;

	if (m->ao_rc != 0) {
		/* It may have gone anyway (devices failed, the domain did not). */
		p = xl_presence(xl, (uint32_t)m->domid, &irc);
		if (p != XL_GONE && p != XL_DYING) {
			msg_fail(m, "libxl_domain_destroy failed (libxl error %d, "
			    "%s)", m->ao_rc, xl_rcname(m->ao_rc));
			return true;
		}
		log_notice("%s: libxl_domain_destroy reported libxl error %d (%s), "
		    "but domain %d is gone or dying", m->label, m->ao_rc,
		    xl_rcname(m->ao_rc), m->domid);
	} else
		log_info("%s: libxl destroyed domain %d in %.3f s (checked it "
		    "first in %" PRId64 " ms, process table %" PRId64 " ms)",
		    m->label, m->domid,
		    (double)(yk_now_ms() - m->ao_start_ms) / 1000.0,
		    m->checks_ms, m->scan_ms);
	return xl_wait_gone(xl, m);
}

/* Best effort, for a domain that we created but cannot hand over. */
static void
xl_destroy_quietly(struct hv_libxl *xl, uint32_t domid, const char *label)
{
	int rc;

	watch_disable_domid(xl, domid);
	rc = libxl_domain_destroy(xl->ctx, domid, NULL);
	if (rc != 0 && rc != ERROR_DOMAIN_NOTFOUND)
		log_warnx("%s: cannot destroy the half-created domain %" PRIu32
		    " (libxl error %d, %s)", label, domid, rc, xl_rcname(rc));
}

/* A "managed by yaoki" marker, as libvirt leaves its own; informative only. */
static void
xl_mark_managed(struct hv_libxl *xl, uint32_t domid, const char *label)
{
	static const char mark[] = "yaokid\n";
	int rc;

	rc = libxl_userdata_store(xl->ctx, domid, YAOKI_USERDATA_ID,
	    (const uint8_t *)mark, (int)(sizeof(mark) - 1));
	if (rc != 0)
		log_debug("%s: cannot store the yaoki userdata marker (libxl "
		    "error %d, %s)", label, rc, xl_rcname(rc));
}

/*
 * Starts a create from the captured configuration. True when m is
 * finished already (bad configuration, failed to start); otherwise it
 * completes in xl_create_done.
 */
static bool
xl_do_create(struct hv_libxl *xl, struct xl_msg *m)
{
	int rc;

	/*
	 * A fresh structure every time (create fills defaults into it): a
	 * copy of the one parsed at capture, or parsed now.
	 */
	if ((m->cfg = calloc(1, sizeof(*m->cfg))) == NULL)
		fatalx("libxl: out of memory");
	libxl_domain_config_init(m->cfg);
	m->parse_ms = yk_now_ms();
	if (xl_cfgcache_copy(xl->parsed, xl->ctx, m->json_in, m->cfg))
		rc = 0;
	else
		rc = libxl_domain_config_from_json(xl->ctx, m->cfg, m->json_in);
	m->parse_ms = yk_now_ms() - m->parse_ms;
	if (rc != 0) {
		msg_fail(m, "the domain configuration is not valid libxl JSON "
		    "(libxl error %d, %s)", rc, xl_rcname(rc));
		return true;
	}
	/* The captured domid is the old incarnation's: let Xen pick one. */
	m->cfg->c_info.domid = INVALID_DOMID;
	snprintf(m->label, sizeof(m->label), "%s",
	    m->cfg->c_info.name != NULL ? m->cfg->c_info.name : "new domain");
	m->new_domid = INVALID_DOMID;
	xl_lane_begin(xl, m, xl_lane_create);
	return false;
}

/* On a lane: the create itself (libxl builds the domain in this call). */
static int
xl_lane_create(libxl_ctx *ctx, void *arg, const libxl_asyncop_how *how)
{
	struct xl_msg *m = arg;

	return libxl_domain_create_new(ctx, m->cfg, &m->new_domid, how, NULL);
}

/* libxl finished building (m->ao_rc): watch, mark and unpause it. */
static bool
xl_create_done(struct hv_libxl *xl, struct xl_msg *m)
{
	uint32_t domid = m->new_domid;
	int rc = m->ao_rc;
	int64_t built_ms = yk_now_ms();

	if (rc != 0) {
		/* ABORTED may leave a half-built domain; others are cleaned up. */
		if (rc == ERROR_ABORTED && libxl_domid_valid_guest(domid))
			xl_destroy_quietly(xl, domid, m->label);
		msg_fail(m, "libxl_domain_create_new failed (libxl error %d, %s)",
		    rc, xl_rcname(rc));
		return true;
	}
	/* Watch before unpausing, so that a crash at first boot is seen. */
	(void)watch_ensure(xl, domid, m->label);
	xl_mark_managed(xl, domid, m->label);
	yk_failpoint("unpause", m->label);
	/* libxl creates domains paused; without this the guest never runs. */
	rc = libxl_domain_unpause(xl->ctx, domid, NULL);
	if (rc != 0) {
		xl_destroy_quietly(xl, domid, m->label);
		msg_fail(m, "created domain %" PRIu32 " but cannot unpause it "
		    "(libxl error %d, %s); destroyed it again", domid, rc,
		    xl_rcname(rc));
		return true;
	}
	log_info("%s: libxl built domain %" PRIu32 " in %.3f s; watched, "
	    "marked and unpaused it in %.3f s (configuration ready in %"
	    PRId64 " ms)", m->label, domid,
	    (double)(built_ms - m->ao_start_ms) / 1000.0,
	    (double)(yk_now_ms() - built_ms) / 1000.0, m->parse_ms);
	m->domid = (int)domid;
	return true;
}

static void
xl_do_reboot(struct hv_libxl *xl, struct xl_msg *m)
{
	int rc;

	rc = libxl_domain_reboot(xl->ctx, (uint32_t)m->domid, NULL);
	if (rc == ERROR_NOPARAVIRT)
		msg_fail(m, "the guest has no PV drivers to ask for a reboot "
		    "(libxl error %d, %s)", rc, xl_rcname(rc));
	else if (rc != 0)
		msg_fail(m, "libxl_domain_reboot failed (libxl error %d, %s)",
		    rc, xl_rcname(rc));
}

/* Runs or starts command m; true when it is finished (post it). */
static bool
xl_run(struct hv_libxl *xl, struct xl_msg *m)
{
	if (xl->broken) {
		msg_fail(m, "libxl is unusable after an earlier failure");
		return true;
	}
	switch (m->kind) {
	case XL_LIST: xl_do_list(xl, m); break;
	case XL_CAPTURE: xl_do_capture(xl, m); break;
	case XL_DESTROY: return xl_do_destroy(xl, m);
	case XL_CREATE: return xl_do_create(xl, m);
	case XL_REBOOT: xl_do_reboot(xl, m); break;
	case XL_EVENT:
	case XL_DISASTER:
		fatalx("libxl: an event was queued as a command");
	}
	return true;
}

/* Finishes the operations libxl completed during the last libxl calls. */
static void
xl_finish_completed(struct hv_libxl *xl)
{
	struct xl_msg *m;
	bool done;

	while ((m = TAILQ_FIRST(&xl->ao_done)) != NULL) {
		TAILQ_REMOVE(&xl->ao_done, m, entry);
		if (m->kind == XL_CREATE)
			done = xl_create_done(xl, m);
		else
			done = xl_destroy_done(xl, m);
		if (done)
			xl_post(xl, m);
	}
}

/*
 * Looks again at the destroys due for a "gone yet?"; returns how long the
 * thread may sleep until the next one is due (-1: none waits).
 */
static int
xl_check_gone(struct hv_libxl *xl)
{
	struct xl_msg_list due;
	struct xl_msg *m, *next;
	int64_t now = yk_now_ms(), wait = -1;

	TAILQ_INIT(&due);
	for (m = TAILQ_FIRST(&xl->gone_wait); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (m->next_check_ms <= now || xl->aborted) {
			TAILQ_REMOVE(&xl->gone_wait, m, entry);
			TAILQ_INSERT_TAIL(&due, m, entry);
		}
	}
	while ((m = TAILQ_FIRST(&due)) != NULL) {
		TAILQ_REMOVE(&due, m, entry);
		if (xl_gone_check(xl, m))
			xl_post(xl, m);
		else
			TAILQ_INSERT_TAIL(&xl->gone_wait, m, entry);
	}
	now = yk_now_ms();
	TAILQ_FOREACH(m, &xl->gone_wait, entry)
		if (wait < 0 || m->next_check_ms - now < wait)
			wait = m->next_check_ms - now;
	return wait < 0 ? -1 : (int)(wait > 0 ? wait : 0);
}

/* yaokid is stopping: the lanes abort what still runs (once). */
static void
xl_abort_inflight(struct hv_libxl *xl)
{
	struct xl_msg *m;

	if (xl->aborted)
		return;
	xl->aborted = true;
	/* (A create's new domid is its lane's to write until it is done.) */
	TAILQ_FOREACH(m, &xl->inflight, entry)
		if (m->kind == XL_CREATE)
			log_notice("%s: yaokid is stopping: aborting its create",
			    m->label);
		else
			log_notice("%s: yaokid is stopping: aborting the destroy "
			    "of domain %d", m->label, m->domid);
	xl_lanes_stop(xl->lanes);
}

static struct xl_msg *
xl_next_command(struct hv_libxl *xl, bool *stop)
{
	struct xl_msg *m;

	pthread_mutex_lock(&xl->lock);
	*stop = xl->stop;
	m = *stop ? NULL : TAILQ_FIRST(&xl->cmds);
	if (m != NULL)
		TAILQ_REMOVE(&xl->cmds, m, entry);
	pthread_mutex_unlock(&xl->lock);
	return m;
}

static void *
xl_thread_main(void *arg)
{
	struct hv_libxl *xl = arg;
	struct xl_msg *m;
	bool stop;

	int timeout = -1;

	for (;;) {
		m = xl_next_command(xl, &stop);
		if (stop) {
			/* Operations in flight end (aborted) before the ctx goes. */
			xl_abort_inflight(xl);
			if (TAILQ_EMPTY(&xl->inflight) && TAILQ_EMPTY(&xl->ao_done))
				break;
			xl_wait(xl, 100, false);
		} else if (m != NULL) {
			if (xl_run(xl, m))
				xl_post(xl, m);
			/* A steady stream of commands must not starve the watches. */
			xl_wait(xl, 0, false);
		} else
			xl_wait(xl, timeout, true);
		xl_collect_lanes(xl);
		xl_finish_completed(xl);
		timeout = xl_check_gone(xl);
		watch_post_shutdowns(xl);
		watch_reap_dead(xl);
		xl_drain_queued_events(xl);
	}
	msg_list_free(&xl->gone_wait);
	watch_disable_all(xl);
	return NULL;
}

/* ---- opening and closing ------------------------------------------------- */

/* Frees everything; the thread must not be running. */
static void
xl_free(struct hv_libxl *xl)
{
	if (xl->done_ev != NULL)
		event_free(xl->done_ev);
	msg_list_free(&xl->cmds);
	msg_list_free(&xl->done);
	if (xl->lanes != NULL && !xl_lanes_close(xl->lanes, JOIN_BOUND_S))
		return;		/* a lane still logs: leave the rest as it is */
	libxl_ctx_free(xl->ctx);               /* NULL is fine */
	xtl_logger_destroy(xl->logger);        /* after the ctxs that log to it */
	if (xl->cmd_efd != -1)
		close(xl->cmd_efd);
	if (xl->done_efd != -1)
		close(xl->done_efd);
	if (xl->lock_ready)
		pthread_mutex_destroy(&xl->lock);
	free(xl->pfds);
	hv_xlproc_free(&xl->tools);
	xl_cfgcache_free(xl->parsed);
	free(xl);
}

static void
xl_close(struct hv *hv)
{
	struct hv_libxl *xl = (struct hv_libxl *)hv;
	struct timespec until;

	pthread_mutex_lock(&xl->lock);
	xl->stop = true;
	pthread_mutex_unlock(&xl->lock);
	efd_signal(xl->cmd_efd);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += JOIN_BOUND_S;
	if (pthread_timedjoin_np(xl->thread, NULL, &until) != 0) {
		/*
		 * Stuck inside libxl (a hung hotplug script, say). The process
		 * is about to exit: leave the thread, the context and the fds
		 * it may still use; only the loop's event must go now.
		 */
		log_warnx("libxl: the libxl thread is still busy after %d s; "
		    "exiting without waiting for it", JOIN_BOUND_S);
		event_free(xl->done_ev);
		xl->done_ev = NULL;
		return;
	}
	/* Commands never run and results never delivered are dropped. */
	xl_free(xl);
}

static int
xl_open_ctx(struct hv_libxl *xl, char *err, size_t errlen)
{
	int rc;

	xl->logger = hv_libxl_logger_new();
	if (xl->logger == NULL) {
		snprintf(err, errlen, "cannot open libxl: out of memory");
		return -1;
	}
	rc = libxl_ctx_alloc(&xl->ctx, LIBXL_VERSION, 0, xl->logger);
	if (rc != 0 || xl->ctx == NULL) {
		xl->ctx = NULL;
		snprintf(err, errlen, "cannot open libxl (libxl error %d, %s): "
		    "is this a Xen Dom0 with the hypervisor running and "
		    "xenstored started, and is yaokid running as root?",
		    rc, xl_rcname(rc));
		return -1;
	}
	/*
	 * libxl installs its SIGCHLD handler now and reaps only its own
	 * children; yaokid reaps its own (hooks) by pid.
	 */
	xl->chld_hooks.chldowner = libxl_sigchld_owner_libxl_always_selective_reap;
	libxl_childproc_setmode(xl->ctx, &xl->chld_hooks, xl);
	xl->ev_hooks.event_occurs_mask =
	    (UINT64_C(1) << LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN) |
	    (UINT64_C(1) << LIBXL_EVENT_TYPE_DOMAIN_DEATH);
	xl->ev_hooks.event_occurs = xl_event_occurs;
	xl->ev_hooks.disaster = xl_disaster;
	libxl_event_register_callbacks(xl->ctx, &xl->ev_hooks, xl);
	return 0;
}

static int
xl_open_plumbing(struct hv_libxl *xl, char *err, size_t errlen)
{
	/* CLOEXEC: libxl's children (hotplug scripts, qemu) must not get them. */
	xl->cmd_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	xl->done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (xl->cmd_efd == -1 || xl->done_efd == -1) {
		snprintf(err, errlen, "libxl: eventfd: %s", strerror(errno));
		return -1;
	}
	xl->done_ev = event_new(xl->hv.base, xl->done_efd, EV_READ | EV_PERSIST,
	    xl_done_cb, xl);
	if (xl->done_ev == NULL || event_add(xl->done_ev, NULL) == -1) {
		snprintf(err, errlen, "libxl: cannot watch the result queue");
		return -1;
	}
	xl->pfds = calloc(POLLFD_INITIAL, sizeof(*xl->pfds));
	if (xl->pfds == NULL) {
		snprintf(err, errlen, "libxl: out of memory");
		return -1;
	}
	xl->npfds = POLLFD_INITIAL;
	return 0;
}

/*
 * The host's boot: Dom0 cannot restart without the whole host, so its boot
 * id stands for the hypervisor's boot.
 */
static void
xl_read_boot_id(char *buf, size_t len)
{
	char *text = yk_file_read("/proc/sys/kernel/random/boot_id", 64,
	    YK_FILE_NO_NUL, NULL);

	snprintf(buf, len, "%s", text != NULL ? text : "");
	buf[strcspn(buf, "\n")] = '\0';
	free(text);
}

struct hv *
hv_libxl_open(struct event_base *base, char *err, size_t errlen)
{
	struct hv_libxl *xl;
	int rc;

	xl = calloc(1, sizeof(*xl));
	if (xl == NULL) {
		snprintf(err, errlen, "libxl: out of memory");
		return NULL;
	}
	xl->hv.ops = &libxl_ops;
	xl->hv.base = base;
	xl_read_boot_id(xl->hv.boot_id, sizeof(xl->hv.boot_id));
	xl->cmd_efd = xl->done_efd = -1;
	TAILQ_INIT(&xl->cmds);
	TAILQ_INIT(&xl->done);
	TAILQ_INIT(&xl->lane_done);
	TAILQ_INIT(&xl->watches);
	TAILQ_INIT(&xl->inflight);
	TAILQ_INIT(&xl->ao_done);
	TAILQ_INIT(&xl->gone_wait);
	xl->parsed = xl_cfgcache_new();
	if ((rc = pthread_mutex_init(&xl->lock, NULL)) != 0) {
		snprintf(err, errlen, "libxl: pthread_mutex_init: %s", strerror(rc));
		free(xl);
		return NULL;
	}
	xl->lock_ready = true;
	if (xl_open_ctx(xl, err, errlen) == -1 ||
	    (xl->lanes = xl_lanes_open(LANES, xl->logger, err, errlen)) ==
	    NULL || xl_open_plumbing(xl, err, errlen) == -1) {
		xl_free(xl);
		return NULL;
	}
	/* From here on only the thread calls libxl on xl->ctx. */
	rc = pthread_create(&xl->thread, NULL, xl_thread_main, xl);
	if (rc != 0) {
		snprintf(err, errlen, "libxl: cannot start the libxl thread: %s",
		    strerror(rc));
		xl_free(xl);
		return NULL;
	}
	log_info("libxl: context open; the libxl thread is running");
	return &xl->hv;
}
