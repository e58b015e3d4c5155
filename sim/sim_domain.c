/*
 * sim_domain.c - the simulated domains and what the hypervisor does to them.
 *
 * Owns domids (1, 2, 3... never reused), states, the create/destroy delays
 * and create failures injected per name, the boot timer that opens a
 * guest's listener, graceful reboots, the "xl monitor" of the domains
 * simhv booted (it carries out the domain's own on_poweroff, on_reboot,
 * on_watchdog and on_crash after the shutdown, with xl's delays: restart,
 * core dump), which an operator may kill,
 * and Xen's own operations on them: xl rename, migrate (out, in, local),
 * save and restore, with the configurations and images they need.
 * Tells the world through one event callback; never writes to sockets
 * itself and never blocks.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/random.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "log.h"
#include "sim_domain.h"
#include "sim_prog.h"

#define HASH_BUCKETS	4096
#define REBOOT_DELAY_MS	100
#define SUSPEND_LAST_MS	1000		/* suspended for its last second */
#define SUFFIX_AWAY	"--migratedaway"
#define SUFFIX_IN	"--incoming"

enum sim_op {
	OP_NONE,
	OP_MIGRATING_OUT,
	OP_MIGRATING_IN,
	OP_SAVING,
	OP_RESTORING,
};

/* Settings kept per name: they survive re-creation. */
struct sim_name {
	char *name;
	unsigned fail_create;
	uint64_t create_delay_ms;
	uint64_t destroy_delay_ms;
	uint64_t restart_delay_ms;	/* a monitor's restart: destroy to create */
	uint64_t dump_delay_ms;		/* a monitor's core dump */
	struct monitor_job *mjob;	/* a monitor's restart under way */
	bool sticky;
	enum sim_behaviour behaviour;	/* when sticky */
	unsigned slow_ms;
	bool creating;			/* a create holds the name */
	struct sim_domain *live;	/* the non-dying domain of that name */
	struct sim_dconf *known;	/* its last configuration, or NULL */
	struct sim_dconf *image;	/* saved by `save`, for `restore` */
	LIST_ENTRY(sim_name) hash;
};

struct destroy_waiter {
	sim_destroy_fn *cb;
	void *arg;
	SLIST_ENTRY(destroy_waiter) entry;
};

struct sim_domain {
	struct sim_name *nm;
	int domid;
	char uuid[37];
	enum sim_state state;
	enum sim_reason reason;
	char *listen;
	char *guest_cmd;
	uint64_t boot_time_ms;
	bool monitor;			/* its xl monitor is alive */
	enum sim_action on[SIM_NON];
	struct event *monitor_ev;	/* the monitor's core dump */
	struct sim_guest *guest;	/* NULL with a program, or once dying */
	struct sim_prog *prog;		/* the running guest program */
	struct event *boot_ev;
	struct event *reboot_ev;
	struct event *gone_ev;
	bool reboot_pending;		/* asked while paused */
	bool boot_on_unpause;		/* created paused, not booted yet */
	bool resumed;			/* restored or migrated in: no boot */
	int64_t start_ms;		/* wall clock, when created here */
	enum sim_op op;
	int op_stage;			/* migrating out: -1 preparing (not
					   renamed yet), 0 copying, 1 suspended */
	bool op_local;			/* migrating out to this very host */
	uint64_t op_ms;			/* the operation's length */
	int peer_domid;			/* the other half of a local migrate */
	char op_name[SIM_NAME_MAX + 1];	/* the name before/after migrating */
	struct event *op_ev;
	SLIST_HEAD(, destroy_waiter) waiters;
	TAILQ_ENTRY(sim_domain) all;
	LIST_ENTRY(sim_domain) hash;
};

/* A monitor's restart: the configuration to create once the old is gone. */
struct monitor_job {
	struct sim_dconf c;
	struct sim_name *nm;
	struct event *ev;		/* the restart delay */
	bool cancelled;			/* the monitor was killed meanwhile */
};

struct create_op {
	struct sim_dconf c;
	struct sim_name *nm;
	bool monitor;
	bool fail;
	bool paused;
	bool resumed;
	sim_create_fn *cb;
	void *arg;
	struct event *ev;
	TAILQ_ENTRY(create_op) entry;
};

static struct event_base *dom_base;
static sim_event_fn *dom_on_event;
static uint64_t dflt_boot_ms, dflt_create_ms, dflt_destroy_ms;
static uint64_t dflt_restart_ms, dflt_dump_ms;
static int next_domid = 1;
static bool tearing_down;
static char boot_id[33];
static LIST_HEAD(, sim_name) name_hash[HASH_BUCKETS];
static LIST_HEAD(, sim_domain) id_hash[HASH_BUCKETS];
static TAILQ_HEAD(sim_domains_q, sim_domain) all_domains =
    TAILQ_HEAD_INITIALIZER(all_domains);
static TAILQ_HEAD(, create_op) create_ops = TAILQ_HEAD_INITIALIZER(create_ops);

static const char *const state_names[] = {
	[SIM_RUNNING] = "running",
	[SIM_PAUSED] = "paused",
	[SIM_SHUTDOWN] = "shutdown",
	[SIM_DYING] = "dying",
};

static const char *const reason_names[] = {
	[SIM_R_NONE] = NULL,
	[SIM_R_POWEROFF] = "poweroff",
	[SIM_R_REBOOT] = "reboot",
	[SIM_R_SUSPEND] = "suspend",
	[SIM_R_CRASH] = "crash",
	[SIM_R_WATCHDOG] = "watchdog",
	[SIM_R_SOFT_RESET] = "soft_reset",
};

static const char *const op_names[] = {
	[OP_NONE] = NULL,
	[OP_MIGRATING_OUT] = "migrating-out",
	[OP_MIGRATING_IN] = "migrating-in",
	[OP_SAVING] = "saving",
	[OP_RESTORING] = "restoring",
};

static unsigned hash_str(const char *s);
static struct sim_name *name_get(const char *name, bool add);
static struct sim_domain *domain_by_id(int domid);
static void emit(const char *event, const struct sim_domain *d);
static int domain_new(struct create_op *op, char *err, size_t errlen);
static void domain_free(struct sim_domain *d, const char *err);
static void domain_go_down(struct sim_domain *d);
static void domain_boot_cb(evutil_socket_t fd, short what, void *arg);
static void domain_reboot_cb(evutil_socket_t fd, short what, void *arg);
static void domain_gone_cb(evutil_socket_t fd, short what, void *arg);
static void domain_prog_exit(void *arg, int status);
static void create_op_cb(evutil_socket_t fd, short what, void *arg);
static void create_op_free(struct create_op *op);
static enum sim_action domain_action(const struct sim_domain *d);
static void monitor_act(struct sim_domain *d);
static void monitor_restart(struct sim_domain *d, bool rename);
static void monitor_dump_cb(evutil_socket_t fd, short what, void *arg);
static void monitor_restart_cb(evutil_socket_t fd, short what, void *arg);
static void monitor_job_free(struct monitor_job *job);
static void monitor_gone_cb(void *arg, const char *err);
static void monitor_created_cb(void *arg, int domid, const char *err);
static void timer_arm(struct event **ev, uint64_t ms,
    void (*cb)(evutil_socket_t, short, void *), void *arg);
static void timer_cancel(struct event **ev);
static int dconf_copy(struct sim_dconf *dst, const struct sim_dconf *src);
static void random_bytes(unsigned char *b, size_t len);
static void uuid_random(char out[37]);
static void name_set_conf(struct sim_dconf **slot, const struct sim_dconf *c,
    const char *name);
static void dconf_of(const struct sim_domain *d, const char *name,
    struct sim_dconf *c);
static int domain_rename(struct sim_domain *d, const char *name, char *err,
    size_t errlen);
static void op_abandon(struct sim_domain *d);
static void op_cb(evutil_socket_t fd, short what, void *arg);
static int outgoing_begin(struct sim_domain *d, char *err, size_t errlen);
static int outgoing_names_free(const struct sim_domain *d, bool local,
    char *err, size_t errlen);

/* ---- lookups ------------------------------------------------------------- */

static unsigned
hash_str(const char *s)
{
	unsigned h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % HASH_BUCKETS;
}

static struct sim_name *
name_get(const char *name, bool add)
{
	unsigned b = hash_str(name);
	struct sim_name *nm;

	LIST_FOREACH(nm, &name_hash[b], hash)
		if (strcmp(nm->name, name) == 0)
			return nm;
	if (!add)
		return NULL;
	if ((nm = calloc(1, sizeof(*nm))) == NULL ||
	    (nm->name = strdup(name)) == NULL)
		fatalx("%s: out of memory", name);
	nm->create_delay_ms = dflt_create_ms;
	nm->destroy_delay_ms = dflt_destroy_ms;
	nm->restart_delay_ms = dflt_restart_ms;
	nm->dump_delay_ms = dflt_dump_ms;
	LIST_INSERT_HEAD(&name_hash[b], nm, hash);
	return nm;
}

static struct sim_domain *
domain_by_id(int domid)
{
	struct sim_domain *d;

	LIST_FOREACH(d, &id_hash[(unsigned)domid % HASH_BUCKETS], hash)
		if (d->domid == domid)
			return d;
	return NULL;
}

struct sim_domain *
sim_domain_find(const char *key)
{
	struct sim_domain *d;
	struct sim_name *nm;
	const char *p;
	long id;

	for (p = key; *p != '\0' && isdigit((unsigned char)*p); p++)
		;
	if (*key != '\0' && *p == '\0') {
		errno = 0;
		id = strtol(key, NULL, 10);
		if (errno != 0 || id <= 0 || id > 0x7fffffff)
			return NULL;
		return domain_by_id((int)id);
	}
	if ((nm = name_get(key, false)) == NULL)
		return NULL;
	if (nm->live != NULL)
		return nm->live;
	TAILQ_FOREACH_REVERSE(d, &all_domains, sim_domains_q, all)
		if (d->nm == nm)
			return d;
	return NULL;
}

const char *
sim_domain_name(const struct sim_domain *d)
{
	return d->nm->name;
}

enum sim_state
sim_domain_state(const struct sim_domain *d)
{
	return d->state;
}

/* ---- setup and teardown -------------------------------------------------- */

void
sim_domains_init(struct event_base *base, const struct sim_conf *conf,
    sim_event_fn *on_event)
{
	unsigned char b[16];
	size_t i;

	dom_base = base;
	dom_on_event = on_event;
	dflt_boot_ms = conf->boot_time_ms;
	dflt_create_ms = conf->create_time_ms;
	dflt_destroy_ms = conf->destroy_time_ms;
	dflt_restart_ms = conf->restart_time_ms;
	dflt_dump_ms = conf->dump_time_ms;
	random_bytes(b, sizeof(b));
	for (i = 0; i < sizeof(b); i++)
		snprintf(boot_id + 2 * i, 3, "%02x", b[i]);
	for (i = 0; i < HASH_BUCKETS; i++) {
		LIST_INIT(&name_hash[i]);
		LIST_INIT(&id_hash[i]);
	}
}

void
sim_domains_boot(const struct sim_conf *conf)
{
	struct sim_dconf c;
	char err[256];
	size_t i;

	for (i = 0; i < conf->ndomains; i++) {
		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "%s", conf->domains[i].name);
		if (conf->domains[i].uuid != NULL)
			snprintf(c.uuid, sizeof(c.uuid), "%s",
			    conf->domains[i].uuid);
		else
			uuid_random(c.uuid);
		c.listen = conf->domains[i].listen;
		c.guest = conf->domains[i].guest;
		c.boot_time_ms = conf->domains[i].boot_time_ms;
		memcpy(c.on, conf->domains[i].on, sizeof(c.on));
		/* Known even when not booted: for migrate in and restore. */
		name_set_conf(&name_get(c.name, true)->known, &c, c.name);
		if (!conf->domains[i].autostart)
			continue;
		if (sim_domain_create(&c, true, false, monitor_created_cb,
		    NULL, err, sizeof(err)) == -1)
			log_warnx("%s: not booted: %s", c.name, err);
	}
}

void
sim_domains_free(void)
{
	struct create_op *op;
	struct sim_domain *d;
	struct sim_name *nm;
	size_t i;

	tearing_down = true;
	while ((op = TAILQ_FIRST(&create_ops)) != NULL) {
		sim_create_fn *cb = op->cb;
		void *arg = op->arg;

		create_op_free(op);
		if (cb != NULL)
			cb(arg, -1, "simhv is stopping");
	}
	while ((d = TAILQ_FIRST(&all_domains)) != NULL)
		domain_free(d, "simhv is stopping");
	for (i = 0; i < HASH_BUCKETS; i++) {
		while ((nm = LIST_FIRST(&name_hash[i])) != NULL) {
			LIST_REMOVE(nm, hash);
			if (nm->mjob != NULL && nm->mjob->ev != NULL)
				monitor_job_free(nm->mjob);	/* in its delay */
			name_set_conf(&nm->known, NULL, NULL);
			name_set_conf(&nm->image, NULL, NULL);
			free(nm->name);
			free(nm);
		}
	}
}

/* ---- events and timers --------------------------------------------------- */

static void
emit(const char *event, const struct sim_domain *d)
{
	const char *reason = NULL;

	if (tearing_down || dom_on_event == NULL)
		return;
	if (strcmp(event, "shutdown") == 0) {
		enum sim_action a = domain_action(d);

		dom_on_event(event, d->nm->name, d->domid,
		    reason_names[d->reason], NULL, a != 0 ?
		    sim_action_name(a) : NULL, d->monitor);
		return;
	}
	dom_on_event(event, d->nm->name, d->domid, reason, NULL, NULL, -1);
}

const char *
sim_boot_id(void)
{
	return boot_id;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
timer_arm(struct event **ev, uint64_t ms,
    void (*cb)(evutil_socket_t, short, void *), void *arg)
{
	struct timeval tv;

	if (*ev == NULL && (*ev = evtimer_new(dom_base, cb, arg)) == NULL)
		fatalx("out of memory");
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	evtimer_add(*ev, &tv);
}

static void
timer_cancel(struct event **ev)
{
	if (*ev != NULL) {
		event_free(*ev);
		*ev = NULL;
	}
}

/* ---- create -------------------------------------------------------------- */

int
sim_domain_create(const struct sim_dconf *c, bool monitor, bool paused,
    sim_create_fn *cb, void *arg, char *err, size_t errlen)
{
	struct create_op *op;
	struct sim_name *nm;

	if (sim_name_valid(c->name) == -1) {
		snprintf(err, errlen, "invalid domain name");
		return -1;
	}
	nm = name_get(c->name, true);
	if (nm->live != NULL) {
		snprintf(err, errlen, "%s: domain exists (domid %d, %s)",
		    nm->name, nm->live->domid, state_names[nm->live->state]);
		return -1;
	}
	if (nm->creating) {
		snprintf(err, errlen, "%s: a create is already in progress",
		    nm->name);
		return -1;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL || dconf_copy(&op->c, c))
		fatalx("%s: out of memory", c->name);
	op->nm = nm;
	op->monitor = monitor;
	op->paused = paused;
	op->cb = cb;
	op->arg = arg;
	if (nm->fail_create > 0) {
		nm->fail_create--;
		op->fail = true;
	}
	nm->creating = true;
	TAILQ_INSERT_TAIL(&create_ops, op, entry);
	/* Without a delay, domids follow the order of the requests. */
	if (nm->create_delay_ms == 0)
		create_op_cb(-1, 0, op);
	else
		timer_arm(&op->ev, nm->create_delay_ms, create_op_cb, op);
	return 0;
}

static void
create_op_free(struct create_op *op)
{
	TAILQ_REMOVE(&create_ops, op, entry);
	op->nm->creating = false;
	timer_cancel(&op->ev);
	sim_dconf_clear(&op->c);
	free(op);
}

static void
create_op_cb(evutil_socket_t fd, short what, void *arg)
{
	struct create_op *op = arg;
	sim_create_fn *cb = op->cb;
	void *cbarg = op->arg;
	char err[512];
	int domid = -1;

	(void)fd;
	(void)what;
	op->nm->creating = false;
	if (op->fail) {
		snprintf(err, sizeof(err), "%s: create failed (injected by "
		    "fail-create)", op->nm->name);
		log_info("%s", err);
	} else {
		domid = domain_new(op, err, sizeof(err));
	}
	create_op_free(op);
	if (cb != NULL)
		cb(cbarg, domid, domid > 0 ? NULL : err);
}

/* Returns the new domid, or -1 with err. */
static int
domain_new(struct create_op *op, char *err, size_t errlen)
{
	struct sim_name *nm = op->nm;
	struct sim_domain *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatalx("%s: out of memory", nm->name);
	d->nm = nm;
	d->domid = next_domid++;
	memcpy(d->uuid, op->c.uuid, sizeof(d->uuid));
	d->state = op->paused ? SIM_PAUSED : SIM_RUNNING;
	d->boot_time_ms = op->c.boot_time_ms;
	d->monitor = op->monitor;
	memcpy(d->on, op->c.on, sizeof(d->on));
	d->resumed = op->resumed;
	d->start_ms = now_ms();
	SLIST_INIT(&d->waiters);
	if (op->c.listen != NULL && (d->listen = strdup(op->c.listen)) == NULL)
		fatalx("%s: out of memory", nm->name);
	if (op->c.guest != NULL &&
	    (d->guest_cmd = strdup(op->c.guest)) == NULL)
		fatalx("%s: out of memory", nm->name);
	if (d->guest_cmd != NULL) {
		d->prog = sim_prog_start(d->guest_cmd, nm->name, d->domid,
		    domain_prog_exit, d, err, errlen);
		if (d->prog == NULL) {
			log_warnx("%s: create failed: %s", nm->name, err);
			free(d->listen);
			free(d->guest_cmd);
			free(d);
			return -1;
		}
		if (op->paused)
			sim_prog_pause(d->prog, true);
	} else {
		d->guest = sim_guest_new(dom_base, nm->name, d->listen);
		if (d->guest == NULL)
			fatalx("%s: out of memory", nm->name);
		if (nm->sticky)
			sim_guest_set_behaviour(d->guest, nm->behaviour,
			    nm->slow_ms);
		if (op->paused) {
			/* It boots (or resumes) once unpaused. */
			sim_guest_set_paused(d->guest, true);
			d->boot_on_unpause = true;
		} else {
			timer_arm(&d->boot_ev, d->boot_time_ms, domain_boot_cb,
			    d);
		}
	}
	nm->live = d;
	TAILQ_INSERT_TAIL(&all_domains, d, all);
	LIST_INSERT_HEAD(&id_hash[(unsigned)d->domid % HASH_BUCKETS], d, hash);
	name_set_conf(&nm->known, &op->c, nm->name);
	log_info("%s: created as domid %d%s", nm->name, d->domid,
	    op->paused ? " (paused)" : "");
	emit("created", d);
	if (op->paused)
		emit("paused", d);
	return d->domid;
}

static void
domain_boot_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_domain *d = arg;

	(void)fd;
	(void)what;
	timer_cancel(&d->boot_ev);
	log_debug("%s: domid %d booted", d->nm->name, d->domid);
	if (d->guest != NULL)
		sim_guest_set_up(d->guest, true);
}

/* ---- destroy ------------------------------------------------------------- */

void
sim_domain_destroy(struct sim_domain *d, sim_destroy_fn *cb, void *arg)
{
	struct destroy_waiter *w;

	if (cb != NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			fatalx("out of memory");
		w->cb = cb;
		w->arg = arg;
		SLIST_INSERT_HEAD(&d->waiters, w, entry);
	}
	if (d->state == SIM_DYING)
		return;
	op_abandon(d);
	domain_go_down(d);
	d->state = SIM_DYING;
	if (d->nm->live == d)
		d->nm->live = NULL;
	sim_guest_free(d->guest);
	d->guest = NULL;
	log_info("%s: domid %d destroyed; dying for %llu ms", d->nm->name,
	    d->domid, (unsigned long long)d->nm->destroy_delay_ms);
	emit("dying", d);
	timer_arm(&d->gone_ev, d->nm->destroy_delay_ms, domain_gone_cb, d);
}

static void
domain_gone_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_domain *d = arg;

	(void)fd;
	(void)what;
	emit("gone", d);
	log_debug("%s: domid %d gone", d->nm->name, d->domid);
	domain_free(d, NULL);
}

/* Unlinks and frees d, then tells whoever waited for its destruction. */
static void
domain_free(struct sim_domain *d, const char *err)
{
	struct destroy_waiter *w, *waiters;

	op_abandon(d);
	domain_go_down(d);
	if (d->nm->live == d)
		d->nm->live = NULL;
	TAILQ_REMOVE(&all_domains, d, all);
	LIST_REMOVE(d, hash);
	timer_cancel(&d->gone_ev);
	sim_guest_free(d->guest);
	waiters = SLIST_FIRST(&d->waiters);
	free(d->listen);
	free(d->guest_cmd);
	free(d);
	/* d is gone: a callback may create a domain of the same name. */
	while ((w = waiters) != NULL) {
		waiters = SLIST_NEXT(w, entry);
		w->cb(w->arg, err);
		free(w);
	}
}

/* What every way out of running has in common: nothing answers any more. */
static void
domain_go_down(struct sim_domain *d)
{
	timer_cancel(&d->boot_ev);
	timer_cancel(&d->reboot_ev);
	timer_cancel(&d->monitor_ev);
	d->reboot_pending = false;
	if (d->guest != NULL) {
		sim_guest_set_paused(d->guest, false);
		sim_guest_set_up(d->guest, false);
	}
	if (d->prog != NULL) {
		sim_prog_stop(d->prog);
		d->prog = NULL;
	}
}

/* ---- shutdown, reboot, pause --------------------------------------------- */

static int
check_alive(const struct sim_domain *d, char *err, size_t errlen)
{
	if (d->state == SIM_RUNNING || d->state == SIM_PAUSED)
		return 0;
	snprintf(err, errlen, "%s: domid %d is %s", d->nm->name, d->domid,
	    state_names[d->state]);
	return -1;
}

int
sim_domain_shutdown(struct sim_domain *d, enum sim_reason reason, char *err,
    size_t errlen)
{
	if (check_alive(d, err, errlen) == -1)
		return -1;
	domain_go_down(d);
	d->state = SIM_SHUTDOWN;
	d->reason = reason;
	log_info("%s: domid %d shut down (%s)", d->nm->name, d->domid,
	    reason_names[reason]);
	emit("shutdown", d);
	if (d->monitor)
		monitor_act(d);
	return 0;
}

static void
domain_prog_exit(void *arg, int status)
{
	struct sim_domain *d = arg;
	char err[128];

	d->prog = NULL;
	log_info("%s: guest program exited (status 0x%x): the domain crashes",
	    d->nm->name, status);
	(void)sim_domain_shutdown(d, SIM_R_CRASH, err, sizeof(err));
}

int
sim_domain_reboot(struct sim_domain *d, char *err, size_t errlen)
{
	if (check_alive(d, err, errlen) == -1)
		return -1;
	if (d->reboot_ev == NULL && !d->reboot_pending)
		timer_arm(&d->reboot_ev, REBOOT_DELAY_MS, domain_reboot_cb, d);
	return 0;
}

static void
domain_reboot_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_domain *d = arg;
	char err[128];

	(void)fd;
	(void)what;
	timer_cancel(&d->reboot_ev);
	if (d->state == SIM_PAUSED) {
		/* A paused guest cannot act on the request until it runs. */
		d->reboot_pending = true;
		return;
	}
	(void)sim_domain_shutdown(d, SIM_R_REBOOT, err, sizeof(err));
}

int
sim_domain_pause(struct sim_domain *d, bool pause, char *err, size_t errlen)
{
	if (check_alive(d, err, errlen) == -1)
		return -1;
	if (pause == (d->state == SIM_PAUSED))
		return 0;
	d->state = pause ? SIM_PAUSED : SIM_RUNNING;
	if (d->guest != NULL)
		sim_guest_set_paused(d->guest, pause);
	if (!pause && d->boot_on_unpause) {
		/* Created paused: a new guest boots, a resumed one goes on. */
		d->boot_on_unpause = false;
		if (d->guest != NULL && d->resumed)
			sim_guest_set_up(d->guest, true);
		else if (d->guest != NULL)
			timer_arm(&d->boot_ev, d->boot_time_ms, domain_boot_cb,
			    d);
	}
	if (d->prog != NULL)
		sim_prog_pause(d->prog, pause);
	log_info("%s: domid %d %s", d->nm->name, d->domid,
	    pause ? "paused" : "unpaused");
	emit(pause ? "paused" : "unpaused", d);
	if (!pause && d->reboot_pending) {
		d->reboot_pending = false;
		timer_arm(&d->reboot_ev, REBOOT_DELAY_MS, domain_reboot_cb, d);
	}
	return 0;
}

int
sim_domain_set_behaviour(struct sim_domain *d, enum sim_behaviour b,
    unsigned slow_ms, bool sticky, char *err, size_t errlen)
{
	if (d->guest_cmd != NULL) {
		snprintf(err, errlen, "%s: the guest is a program (%s); "
		    "guest does not apply", d->nm->name, d->guest_cmd);
		return -1;
	}
	if (d->state == SIM_DYING) {
		snprintf(err, errlen, "%s: domid %d is dying", d->nm->name,
		    d->domid);
		return -1;
	}
	sim_guest_set_behaviour(d->guest, b, slow_ms);
	d->nm->sticky = sticky;
	d->nm->behaviour = b;
	d->nm->slow_ms = slow_ms;
	log_info("%s: guest behaviour %s%s", d->nm->name, sim_behaviour_name(b),
	    sticky ? " (sticky)" : "");
	return 0;
}

/* ---- the "xl monitor" of booted domains ---------------------------------- */

/* Which of a domain's actions a shutdown reason selects; -1: none. */
static int
on_of_reason(enum sim_reason r)
{
	switch (r) {
	case SIM_R_POWEROFF: return SIM_ON_POWEROFF;
	case SIM_R_REBOOT: return SIM_ON_REBOOT;
	case SIM_R_WATCHDOG: return SIM_ON_WATCHDOG;
	case SIM_R_CRASH: return SIM_ON_CRASH;
	default: return -1;
	}
}

/* The action d's monitor takes (or would take) for its shutdown; 0: none. */
static enum sim_action
domain_action(const struct sim_domain *d)
{
	int on = d->state == SIM_SHUTDOWN ? on_of_reason(d->reason) : -1;

	return on < 0 ? 0 : d->on[on];
}

/* What xl's monitor does once the domain has shut down. */
static void
monitor_act(struct sim_domain *d)
{
	enum sim_action a = domain_action(d);

	if (a == 0)
		return;		/* suspend, soft_reset: not the monitor's */
	log_info("%s: domid %d %s; monitor: %s=%s", d->nm->name, d->domid,
	    reason_names[d->reason], sim_on_key(on_of_reason(d->reason)),
	    sim_action_name(a));
	switch (a) {
	case SIM_A_DESTROY:
		sim_domain_destroy(d, NULL, NULL);
		break;
	case SIM_A_RESTART:
	case SIM_A_SOFT_RESET:
		monitor_restart(d, false);
		break;
	case SIM_A_RENAME_RESTART:
		monitor_restart(d, true);
		break;
	case SIM_A_PRESERVE:
		break;		/* left as it is, for debugging */
	case SIM_A_COREDUMP_DESTROY:
	case SIM_A_COREDUMP_RESTART:
		/* The dump takes its time; the domain stays shut down. */
		timer_arm(&d->monitor_ev, d->nm->dump_delay_ms,
		    monitor_dump_cb, d);
		break;
	}
}

static void
monitor_dump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_domain *d = arg;

	(void)fd;
	(void)what;
	timer_cancel(&d->monitor_ev);
	log_info("%s: domid %d: monitor dumped the core", d->nm->name,
	    d->domid);
	if (domain_action(d) == SIM_A_COREDUMP_RESTART)
		monitor_restart(d, false);
	else
		sim_domain_destroy(d, NULL, NULL);
}

/*
 * Destroys d (or, for rename-restart, renames it NAME-old-DOMID and leaves
 * it shut down without a monitor), then after the name's restart delay
 * creates it again from the same configuration and uuid, with a monitor.
 */
static void
monitor_restart(struct sim_domain *d, bool rename)
{
	struct monitor_job *job;
	char old[SIM_NAME_MAX + 1], err[256];
	struct sim_name *nm = d->nm;

	if ((job = calloc(1, sizeof(*job))) == NULL)
		fatalx("out of memory");
	dconf_of(d, nm->name, &job->c);
	job->nm = nm;
	if (nm->mjob != NULL)
		nm->mjob->cancelled = true;	/* an older one is superseded */
	nm->mjob = job;
	if (rename) {
		snprintf(old, sizeof(old), "%.100s-old-%d", nm->name, d->domid);
		d->monitor = false;
		if (domain_rename(d, old, err, sizeof(err)) == 0) {
			monitor_gone_cb(job, NULL);
			return;
		}
		log_warnx("%s: monitor cannot rename it: %s; destroying it",
		    nm->name, err);
	}
	sim_domain_destroy(d, monitor_gone_cb, job);
}

/* The old incarnation is gone: the restart delay starts. */
static void
monitor_gone_cb(void *arg, const char *err)
{
	struct monitor_job *job = arg;

	if (err != NULL || job->cancelled) {
		monitor_job_free(job);
		return;
	}
	timer_arm(&job->ev, job->nm->restart_delay_ms, monitor_restart_cb,
	    job);
}

static void
monitor_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct monitor_job *job = arg;
	char why[256];

	(void)fd;
	(void)what;
	if (sim_domain_create(&job->c, true, false, monitor_created_cb, NULL,
	    why, sizeof(why)) == -1)
		log_warnx("%s: monitor cannot re-create it: %s", job->c.name,
		    why);
	monitor_job_free(job);
}

static void
monitor_job_free(struct monitor_job *job)
{
	if (job->nm->mjob == job)
		job->nm->mjob = NULL;
	timer_cancel(&job->ev);
	sim_dconf_clear(&job->c);
	free(job);
}

static void
monitor_created_cb(void *arg, int domid, const char *err)
{
	(void)arg;
	(void)domid;
	if (err != NULL && !tearing_down)
		log_warnx("monitor: %s", err);
}

int
sim_domain_kill_monitor(const char *key, char *err, size_t errlen)
{
	struct sim_domain *d = sim_domain_find(key);
	struct sim_name *nm = d != NULL ? d->nm : name_get(key, false);
	struct monitor_job *job = nm != NULL ? nm->mjob : NULL;

	if ((d == NULL || !d->monitor) && job == NULL) {
		snprintf(err, errlen, "%s: no monitor", key);
		return -1;
	}
	if (d != NULL) {
		d->monitor = false;
		timer_cancel(&d->monitor_ev);	/* a dump in progress ends */
		log_info("%s: domid %d: its monitor was killed", d->nm->name,
		    d->domid);
	}
	if (job != NULL) {
		/* A restart under way is dropped: nothing is created. */
		if (job->ev != NULL)
			monitor_job_free(job);
		else
			job->cancelled = true;
		log_info("%s: its monitor's restart was killed", nm->name);
	}
	return 0;
}

int
sim_domain_set_action(struct sim_domain *d, enum sim_on on, enum sim_action a,
    char *err, size_t errlen)
{
	if (d->state == SIM_DYING) {
		snprintf(err, errlen, "%s: domid %d is dying", d->nm->name,
		    d->domid);
		return -1;
	}
	d->on[on] = a;
	log_info("%s: domid %d: %s=%s", d->nm->name, d->domid, sim_on_key(on),
	    sim_action_name(a));
	return 0;
}

/* ---- Xen's own operations: rename, migrate, save, restore ---------------- */

/* Replaces *slot with a copy of c named name (c NULL: frees *slot). */
static void
name_set_conf(struct sim_dconf **slot, const struct sim_dconf *c,
    const char *name)
{
	if (*slot != NULL) {
		sim_dconf_clear(*slot);
		free(*slot);
		*slot = NULL;
	}
	if (c == NULL)
		return;
	if ((*slot = calloc(1, sizeof(**slot))) == NULL ||
	    dconf_copy(*slot, c) == -1)
		fatalx("%s: out of memory", name);
	snprintf((*slot)->name, sizeof((*slot)->name), "%s", name);
}

/* d's configuration under name; strings are copies (sim_dconf_clear). */
static void
dconf_of(const struct sim_domain *d, const char *name, struct sim_dconf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	memcpy(c->uuid, d->uuid, sizeof(c->uuid));
	c->boot_time_ms = d->boot_time_ms;
	memcpy(c->on, d->on, sizeof(c->on));
	if ((d->listen != NULL && (c->listen = strdup(d->listen)) == NULL) ||
	    (d->guest_cmd != NULL && (c->guest = strdup(d->guest_cmd)) == NULL))
		fatalx("out of memory");
}

/* name + suffix into out, or -1 with err when too long. */
static int
suffixed(char out[SIM_NAME_MAX + 1], const char *name, const char *suffix,
    char *err, size_t errlen)
{
	int n = snprintf(out, SIM_NAME_MAX + 1, "%s%s", name, suffix);

	if (n < 0 || n > SIM_NAME_MAX) {
		snprintf(err, errlen, "%s: the name %s%s would be longer than "
		    "%d bytes", name, name, suffix, SIM_NAME_MAX);
		return -1;
	}
	return 0;
}

/* -1 with err when a live domain (or a create) holds name. */
static int
name_free(const char *name, char *err, size_t errlen)
{
	struct sim_name *nm = name_get(name, false);

	if (nm != NULL && nm->live != NULL) {
		snprintf(err, errlen, "%s: a live domain holds the name "
		    "(domid %d, %s)", name, nm->live->domid,
		    state_names[nm->live->state]);
		return -1;
	}
	if (nm != NULL && nm->creating) {
		snprintf(err, errlen, "%s: a create of that name is in "
		    "progress", name);
		return -1;
	}
	return 0;
}

static int
domain_rename(struct sim_domain *d, const char *name, char *err, size_t errlen)
{
	struct sim_name *old = d->nm, *nm;
	struct sim_dconf c;

	if (sim_name_valid(name) == -1) {
		snprintf(err, errlen, "invalid domain name: %s", name);
		return -1;
	}
	if (strcmp(name, old->name) == 0) {
		snprintf(err, errlen, "%s: domid %d already has that name",
		    name, d->domid);
		return -1;
	}
	if (name_free(name, err, errlen) == -1)
		return -1;
	nm = name_get(name, true);
	if (old->live == d)
		old->live = NULL;
	d->nm = nm;
	nm->live = d;
	if (d->guest != NULL)
		sim_guest_set_name(d->guest, nm->name);
	dconf_of(d, nm->name, &c);
	name_set_conf(&nm->known, &c, nm->name);
	sim_dconf_clear(&c);
	log_info("%s: domid %d renamed %s", old->name, d->domid, nm->name);
	if (!tearing_down && dom_on_event != NULL)
		dom_on_event("renamed", nm->name, d->domid, NULL, old->name,
		    NULL, -1);
	return 0;
}

static int
check_idle(const struct sim_domain *d, char *err, size_t errlen)
{
	if (d->state == SIM_DYING) {
		snprintf(err, errlen, "%s: domid %d is dying", d->nm->name,
		    d->domid);
		return -1;
	}
	if (d->op != OP_NONE) {
		snprintf(err, errlen, "%s: domid %d is %s", d->nm->name,
		    d->domid, op_names[d->op]);
		return -1;
	}
	return 0;
}

int
sim_domain_rename(struct sim_domain *d, const char *name, char *err,
    size_t errlen)
{
	if (check_idle(d, err, errlen) == -1)
		return -1;
	return domain_rename(d, name, err, errlen);
}

/* Creates c now (no create delay, no fail-create), paused; NULL with err. */
static struct sim_domain *
domain_new_paused(const struct sim_dconf *c, bool monitor, char *err,
    size_t errlen)
{
	struct create_op op;
	int domid;

	memset(&op, 0, sizeof(op));
	op.c = *c;			/* domain_new only copies from it */
	op.nm = name_get(c->name, true);
	op.monitor = monitor;
	op.paused = true;
	op.resumed = true;
	if ((domid = domain_new(&op, err, errlen)) == -1)
		return NULL;
	return domain_by_id(domid);
}

static void
op_start(struct sim_domain *d, enum sim_op op, uint64_t ms, const char *name)
{
	d->op = op;
	d->op_stage = 0;
	d->op_ms = ms;
	snprintf(d->op_name, sizeof(d->op_name), "%s", name);
}

/* The receiving side's end: renamed to its name and unpaused. */
static void
incoming_finish(struct sim_domain *d)
{
	char err[256];

	timer_cancel(&d->op_ev);
	d->op = OP_NONE;
	d->peer_domid = 0;
	if (d->state != SIM_PAUSED && d->state != SIM_RUNNING) {
		log_warnx("%s: domid %d is %s: migration in not completed",
		    d->nm->name, d->domid, state_names[d->state]);
		return;
	}
	if (domain_rename(d, d->op_name, err, sizeof(err)) == -1) {
		log_warnx("%s: migration in not completed: %s", d->nm->name,
		    err);
		return;
	}
	(void)sim_domain_pause(d, false, err, sizeof(err));
}

static void
local_gone_cb(void *arg, const char *err)
{
	struct sim_domain *d;

	if (err != NULL)
		return;
	d = domain_by_id((int)(intptr_t)arg);
	if (d != NULL && d->op == OP_MIGRATING_IN)
		incoming_finish(d);
}

/*
 * A sender whose migration cannot go on (it went down before suspending, or
 * its incoming copy was destroyed): xl renames it back; it stays as it is.
 */
static void
outgoing_fail(struct sim_domain *d)
{
	struct sim_domain *p;
	char err[256];
	int peer = d->peer_domid;

	timer_cancel(&d->op_ev);
	d->op = OP_NONE;
	d->peer_domid = 0;
	log_warnx("%s: domid %d: migration failed", d->nm->name, d->domid);
	if (peer != 0 && (p = domain_by_id(peer)) != NULL &&
	    p->op == OP_MIGRATING_IN) {
		p->op = OP_NONE;
		p->peer_domid = 0;
		sim_domain_destroy(p, NULL, NULL);
	}
	if (d->state != SIM_DYING && strcmp(d->nm->name, d->op_name) != 0 &&
	    domain_rename(d, d->op_name, err, sizeof(err)) == -1)
		log_warnx("%s: not renamed back: %s", d->nm->name, err);
}

/* d is being destroyed or freed in the middle of an operation. */
static void
op_abandon(struct sim_domain *d)
{
	enum sim_op op = d->op;
	struct sim_domain *p;
	int peer = d->peer_domid;

	timer_cancel(&d->op_ev);
	d->op = OP_NONE;
	d->peer_domid = 0;
	if (op == OP_NONE || tearing_down)
		return;
	log_info("%s: domid %d destroyed while %s", d->nm->name, d->domid,
	    op_names[op]);
	if (peer == 0 || (p = domain_by_id(peer)) == NULL ||
	    p->peer_domid != d->domid)
		return;
	p->peer_domid = 0;
	if (op == OP_MIGRATING_OUT && p->op == OP_MIGRATING_IN) {
		/* The receiver discards what it got. */
		p->op = OP_NONE;
		timer_cancel(&p->op_ev);
		sim_domain_destroy(p, NULL, NULL);
	} else if (op == OP_MIGRATING_IN && p->op == OP_MIGRATING_OUT) {
		outgoing_fail(p);
	}
}

static void
op_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_domain *d = arg;
	char err[256];
	int peer;

	(void)fd;
	(void)what;
	switch (d->op) {
	case OP_MIGRATING_OUT:
		if (d->op_stage == -1) {
			/* xl is done preparing: the domain is renamed. */
			if (check_alive(d, err, sizeof(err)) == -1 ||
			    outgoing_begin(d, err, sizeof(err)) == -1) {
				log_warnx("%s", err);
				outgoing_fail(d);
			}
			return;
		}
		if (d->op_stage == 0) {
			/* The last round of copying: the guest is stopped. */
			if (sim_domain_shutdown(d, SIM_R_SUSPEND, err,
			    sizeof(err)) == -1) {
				outgoing_fail(d);
				return;
			}
			d->op_stage = 1;
			timer_arm(&d->op_ev, d->op_ms > SUSPEND_LAST_MS ?
			    SUSPEND_LAST_MS : d->op_ms, op_cb, d);
			return;
		}
		peer = d->peer_domid;
		timer_cancel(&d->op_ev);
		d->op = OP_NONE;
		d->peer_domid = 0;
		log_info("%s: domid %d migrated away", d->nm->name, d->domid);
		if (peer != 0)
			sim_domain_destroy(d, local_gone_cb,
			    (void *)(intptr_t)peer);
		else
			sim_domain_destroy(d, NULL, NULL);
		return;
	case OP_MIGRATING_IN:
		incoming_finish(d);
		return;
	case OP_SAVING:
		timer_cancel(&d->op_ev);
		d->op = OP_NONE;
		{
			struct sim_dconf c;

			dconf_of(d, d->nm->name, &c);
			name_set_conf(&d->nm->image, &c, d->nm->name);
			sim_dconf_clear(&c);
		}
		log_info("%s: domid %d saved", d->nm->name, d->domid);
		sim_domain_destroy(d, NULL, NULL);
		return;
	case OP_RESTORING:
		timer_cancel(&d->op_ev);
		d->op = OP_NONE;
		if (sim_domain_pause(d, false, err, sizeof(err)) == -1)
			log_warnx("restore: %s", err);
		return;
	case OP_NONE:
		timer_cancel(&d->op_ev);
		return;
	}
}

static struct sim_domain *
find_idle_alive(const char *key, char *err, size_t errlen)
{
	struct sim_domain *d;

	if ((d = sim_domain_find(key)) == NULL || d->state == SIM_DYING) {
		snprintf(err, errlen, "no such domain: %s", key);
		return NULL;
	}
	if (check_idle(d, err, errlen) == -1 ||
	    check_alive(d, err, errlen) == -1)
		return NULL;
	return d;
}

int
sim_domain_migrate(const char *key, enum sim_migrate how, uint64_t ms,
    uint64_t prepare_ms, char *err, size_t errlen)
{
	char name[SIM_NAME_MAX + 1];
	char incoming[SIM_NAME_MAX + 1];
	struct sim_domain *d = NULL, *in;
	struct sim_dconf c;
	struct sim_name *nm;

	if (how == SIM_MIGRATE_IN) {
		if (sim_name_valid(key) == -1) {
			snprintf(err, errlen, "invalid domain name: %s", key);
			return -1;
		}
		if ((nm = name_get(key, false)) == NULL || nm->known == NULL) {
			snprintf(err, errlen, "%s: unknown to simhv (no domain "
			    "block and no earlier domain of that name)", key);
			return -1;
		}
		snprintf(name, sizeof(name), "%s", key);
		if (suffixed(incoming, name, SUFFIX_IN, err, errlen) == -1 ||
		    name_free(incoming, err, errlen) == -1)
			return -1;
		if (name_free(name, err, errlen) == -1) {
			strncat(err, " (migrate NAME local moves a domain of "
			    "this host)", errlen - strlen(err) - 1);
			return -1;
		}
		c = *nm->known;
		snprintf(c.name, sizeof(c.name), "%s", incoming);
		if ((in = domain_new_paused(&c, true, err, errlen)) == NULL)
			return -1;
		op_start(in, OP_MIGRATING_IN, ms, name);
		timer_arm(&in->op_ev, ms, op_cb, in);
		return 0;
	}
	if ((d = find_idle_alive(key, err, errlen)) == NULL)
		return -1;
	if (outgoing_names_free(d, how == SIM_MIGRATE_LOCAL, err, errlen) == -1)
		return -1;
	op_start(d, OP_MIGRATING_OUT, ms, d->nm->name);
	d->op_local = how == SIM_MIGRATE_LOCAL;
	if (prepare_ms > 0) {
		d->op_stage = -1;
		timer_arm(&d->op_ev, prepare_ms, op_cb, d);
		return 0;
	}
	if (outgoing_begin(d, err, errlen) == -1) {
		d->op = OP_NONE;
		return -1;
	}
	return 0;
}

/* -1 with err when NAME--migratedaway (or NAME--incoming) is taken. */
static int
outgoing_names_free(const struct sim_domain *d, bool local, char *err,
    size_t errlen)
{
	char away[SIM_NAME_MAX + 1], incoming[SIM_NAME_MAX + 1];

	if (suffixed(away, d->nm->name, SUFFIX_AWAY, err, errlen) == -1 ||
	    name_free(away, err, errlen) == -1)
		return -1;
	if (local && (suffixed(incoming, d->nm->name, SUFFIX_IN, err,
	    errlen) == -1 || name_free(incoming, err, errlen) == -1))
		return -1;
	return 0;
}

/*
 * The sender's rounds begin: renamed NAME--migratedaway, suspended for
 * the last second of op_ms; a local migration's receiver is created now.
 */
static int
outgoing_begin(struct sim_domain *d, char *err, size_t errlen)
{
	char away[SIM_NAME_MAX + 1], incoming[SIM_NAME_MAX + 1];
	const char *name = d->op_name;
	struct sim_domain *in;
	struct sim_dconf c;
	uint64_t ms = d->op_ms;

	if (outgoing_names_free(d, d->op_local, err, errlen) == -1)
		return -1;
	if (suffixed(away, name, SUFFIX_AWAY, err, errlen) == -1 ||
	    domain_rename(d, away, err, errlen) == -1)
		return -1;
	d->op_stage = 0;
	timer_arm(&d->op_ev, ms > SUSPEND_LAST_MS ? ms - SUSPEND_LAST_MS : 0,
	    op_cb, d);
	if (!d->op_local)
		return 0;
	if (suffixed(incoming, name, SUFFIX_IN, err, errlen) == -1)
		return -1;
	dconf_of(d, incoming, &c);
	in = domain_new_paused(&c, d->monitor, err, errlen);
	sim_dconf_clear(&c);
	if (in == NULL)
		return -1;
	op_start(in, OP_MIGRATING_IN, ms, name);
	in->peer_domid = d->domid;
	d->peer_domid = in->domid;
	return 0;
}

int
sim_domain_save(struct sim_domain *d, uint64_t ms, char *err, size_t errlen)
{
	if (check_idle(d, err, errlen) == -1 ||
	    check_alive(d, err, errlen) == -1)
		return -1;
	if (sim_domain_shutdown(d, SIM_R_SUSPEND, err, errlen) == -1)
		return -1;
	op_start(d, OP_SAVING, ms, d->nm->name);
	timer_arm(&d->op_ev, ms, op_cb, d);
	return 0;
}

int
sim_domain_restore(const char *name, uint64_t ms, char *err, size_t errlen)
{
	struct sim_domain *d;
	struct sim_name *nm;

	if (sim_name_valid(name) == -1) {
		snprintf(err, errlen, "invalid domain name: %s", name);
		return -1;
	}
	if ((nm = name_get(name, false)) == NULL || nm->image == NULL) {
		snprintf(err, errlen, "%s: no saved image", name);
		return -1;
	}
	if (name_free(name, err, errlen) == -1)
		return -1;
	if ((d = domain_new_paused(nm->image, true, err, errlen)) == NULL)
		return -1;
	name_set_conf(&nm->image, NULL, NULL);	/* consumed */
	op_start(d, OP_RESTORING, ms, name);
	timer_arm(&d->op_ev, ms, op_cb, d);
	return 0;
}

/* ---- per-name settings --------------------------------------------------- */

int
sim_name_fail_create(const char *name, unsigned count, char *err,
    size_t errlen)
{
	if (sim_name_valid(name) == -1) {
		snprintf(err, errlen, "invalid domain name: %s", name);
		return -1;
	}
	name_get(name, true)->fail_create = count;
	return 0;
}

int
sim_name_delay(const char *name, enum sim_delay what, uint64_t ms, char *err,
    size_t errlen)
{
	struct sim_name *nm;

	if (sim_name_valid(name) == -1) {
		snprintf(err, errlen, "invalid domain name: %s", name);
		return -1;
	}
	nm = name_get(name, true);
	switch (what) {
	case SIM_DELAY_CREATE: nm->create_delay_ms = ms; break;
	case SIM_DELAY_DESTROY: nm->destroy_delay_ms = ms; break;
	case SIM_DELAY_RESTART: nm->restart_delay_ms = ms; break;
	case SIM_DELAY_DUMP: nm->dump_delay_ms = ms; break;
	}
	return 0;
}

/* ---- JSON: list, capture, create configurations -------------------------- */

static json_object *domain_brief_json(const struct sim_domain *);

/* The xl command at work on d, as a process table would show it. */
static const char *
domain_xl_op(const struct sim_domain *d)
{
	if (d->state == SIM_DYING)
		return NULL;
	return d->op == OP_MIGRATING_OUT ? "migrate" :
	    d->op == OP_SAVING ? "save" : NULL;
}

/* {"on_poweroff": "destroy", "on_reboot": "restart", ...} */
static json_object *
actions_json(const enum sim_action on[SIM_NON])
{
	json_object *o = json_object_new_object();
	int k;

	for (k = 0; k < SIM_NON; k++)
		json_object_object_add(o, sim_on_key(k),
		    json_object_new_string(sim_action_name(on[k])));
	return o;
}

/* Seconds since the epoch, printed with exactly 3 decimals. */
static json_object *
start_time_json(const struct sim_domain *d)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld.%03lld",
	    (long long)(d->start_ms / 1000), (long long)(d->start_ms % 1000));
	return json_object_new_double_s((double)d->start_ms / 1000.0, buf);
}

static json_object *
json_str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

json_object *
sim_domains_list_json(bool brief)
{
	json_object *arr = json_object_new_array(), *o;
	const char *beh;
	struct sim_domain *d;

	TAILQ_FOREACH(d, &all_domains, all) {
		if (brief) {
			json_object_array_add(arr, domain_brief_json(d));
			continue;
		}
		o = json_object_new_object();
		json_object_object_add(o, "name",
		    json_object_new_string(d->nm->name));
		json_object_object_add(o, "domid",
		    json_object_new_int(d->domid));
		json_object_object_add(o, "uuid",
		    json_object_new_string(d->uuid));
		json_object_object_add(o, "state",
		    json_object_new_string(state_names[d->state]));
		json_object_object_add(o, "shutdown_reason",
		    json_str_or_null(d->state == SIM_SHUTDOWN ?
		    reason_names[d->reason] : NULL));
		json_object_object_add(o, "listen",
		    json_str_or_null(d->listen));
		if (d->guest_cmd != NULL)
			beh = "program";
		else if (d->guest != NULL)
			beh = sim_behaviour_name(sim_guest_behaviour(d->guest));
		else
			beh = "none";
		json_object_object_add(o, "behaviour",
		    json_object_new_string(beh));
		json_object_object_add(o, "monitor",
		    json_object_new_boolean(d->monitor));
		json_object_object_add(o, "actions", actions_json(d->on));
		if (d->prog != NULL)
			json_object_object_add(o, "guest_pid",
			    json_object_new_int((int)sim_prog_pid(d->prog)));
		json_object_object_add(o, "start_time", start_time_json(d));
		json_object_object_add(o, "operation",
		    json_str_or_null(op_names[d->op]));
		json_object_object_add(o, "xl",
		    json_str_or_null(domain_xl_op(d)));
		json_object_array_add(arr, o);
	}
	return arr;
}

/*
 * What a toolstack's domain list holds, as [name, domid, uuid, state,
 * shutdown_reason, start_time, monitor, action] (action: its own for the
 * reason it shut down with, null unless shut down): an array is several
 * times cheaper to parse than an object for a client that lists thousands
 * of domains every second.
 */
static json_object *
domain_brief_json(const struct sim_domain *d)
{
	json_object *a = json_object_new_array_ext(9);
	enum sim_action act = domain_action(d);

	json_object_array_add(a, json_object_new_string(d->nm->name));
	json_object_array_add(a, json_object_new_int(d->domid));
	json_object_array_add(a, json_object_new_string(d->uuid));
	json_object_array_add(a, json_object_new_string(state_names[d->state]));
	json_object_array_add(a, json_str_or_null(d->state == SIM_SHUTDOWN ?
	    reason_names[d->reason] : NULL));
	json_object_array_add(a, start_time_json(d));
	json_object_array_add(a, json_object_new_boolean(d->monitor));
	json_object_array_add(a, act != 0 ?
	    json_object_new_string(sim_action_name(act)) : NULL);
	json_object_array_add(a, json_str_or_null(domain_xl_op(d)));
	return a;
}

char *
sim_domain_capture(const struct sim_domain *d, char *err, size_t errlen)
{
	json_object *o;
	char *text;
	int k;

	if (d->state == SIM_DYING) {
		snprintf(err, errlen, "%s: domid %d is dying", d->nm->name,
		    d->domid);
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(d->nm->name));
	json_object_object_add(o, "uuid", json_object_new_string(d->uuid));
	json_object_object_add(o, "listen", json_str_or_null(d->listen));
	json_object_object_add(o, "boot_time_ms",
	    json_object_new_int64((int64_t)d->boot_time_ms));
	json_object_object_add(o, "guest", json_str_or_null(d->guest_cmd));
	for (k = 0; k < SIM_NON; k++)
		json_object_object_add(o, sim_on_key(k),
		    json_object_new_string(sim_action_name(d->on[k])));
	text = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (text == NULL)
		snprintf(err, errlen, "out of memory");
	return text;
}

/* Optional string member: 0 with *out NULL when absent or null. */
static int
dconf_str(json_object *o, const char *key, const char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*out = json_object_get_string(v);
	return 0;
}

int
sim_dconf_parse(const char *json, struct sim_dconf *c, char *err,
    size_t errlen)
{
	const char *name, *uuid, *listen, *guest;
	enum json_tokener_error jerr;
	json_object *o, *v;
	int64_t bt;
	int k;

	memset(c, 0, sizeof(*c));
	if ((o = json_tokener_parse_verbose(json, &jerr)) == NULL) {
		snprintf(err, errlen, "configuration is not JSON: %s",
		    json_tokener_error_desc(jerr));
		return -1;
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "configuration is not a JSON object");
		goto bad;
	}
	if (dconf_str(o, "name", &name) || name == NULL ||
	    sim_name_valid(name) == -1) {
		snprintf(err, errlen, "configuration: missing or invalid name");
		goto bad;
	}
	if (dconf_str(o, "uuid", &uuid) ||
	    (uuid != NULL && !sim_uuid_valid(uuid))) {
		snprintf(err, errlen, "%s: configuration: invalid uuid", name);
		goto bad;
	}
	if (dconf_str(o, "guest", &guest) ||
	    (guest != NULL && *guest == '\0')) {
		snprintf(err, errlen, "%s: configuration: invalid guest", name);
		goto bad;
	}
	if (dconf_str(o, "listen", &listen) ||
	    (listen == NULL && guest == NULL) ||
	    (listen != NULL && sim_listen_valid(listen) == -1)) {
		snprintf(err, errlen, "%s: configuration: missing or invalid "
		    "listen", name);
		goto bad;
	}
	bt = (int64_t)dflt_boot_ms;
	if (json_object_object_get_ex(o, "boot_time_ms", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_int) ||
		    (bt = json_object_get_int64(v)) < 0) {
			snprintf(err, errlen, "%s: configuration: invalid "
			    "boot_time_ms", name);
			goto bad;
		}
	}
	sim_actions_default(c->on);
	for (k = 0; k < SIM_NON; k++) {
		const char *an;
		int a;

		if (dconf_str(o, sim_on_key(k), &an) ||
		    (an != NULL && (a = sim_action_from_name(an)) == -1)) {
			snprintf(err, errlen, "%s: configuration: invalid %s",
			    name, sim_on_key(k));
			goto bad;
		}
		if (an != NULL)
			c->on[k] = (enum sim_action)a;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (uuid != NULL)
		snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
	else
		uuid_random(c->uuid);
	c->boot_time_ms = (uint64_t)bt;
	if ((listen != NULL && (c->listen = strdup(listen)) == NULL) ||
	    (guest != NULL && (c->guest = strdup(guest)) == NULL))
		fatalx("out of memory");
	json_object_put(o);
	return 0;
bad:
	json_object_put(o);
	return -1;
}

void
sim_dconf_clear(struct sim_dconf *c)
{
	free(c->listen);
	free(c->guest);
	c->listen = c->guest = NULL;
}

static int
dconf_copy(struct sim_dconf *dst, const struct sim_dconf *src)
{
	*dst = *src;
	dst->listen = dst->guest = NULL;
	if (src->listen != NULL && (dst->listen = strdup(src->listen)) == NULL)
		return -1;
	if (src->guest != NULL && (dst->guest = strdup(src->guest)) == NULL)
		return -1;
	return 0;
}

static void
random_bytes(unsigned char *b, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = getrandom(b + got, len - got, 0);
		if (n <= 0 && errno != EINTR)
			fatalx("getrandom: %s", strerror(errno));
		if (n > 0)
			got += (size_t)n;
	}
}

static void
uuid_random(char out[37])
{
	unsigned char b[16];

	random_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}
