/*
 * hv_sim.c - the `sim` hypervisor backend: a client of yaoki-simhv's control
 * socket (sim/PROTOCOL.md).
 *
 * Two connections: one carries requests, matched to replies by id (replies
 * may come out of order), the other the event stream. Both live on the main
 * loop and never block it. When simhv goes away every pending request fails,
 * and the backend reconnects every second, then asks yaokid to list again.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "failpoint.h"
#include "hv.h"
#include "log.h"
#include "unix_socket.h"

#define SIM_MAX_LINE (4u << 20)

enum sim_call_kind { REQ_LIST, REQ_CAPTURE, REQ_CREATE, REQ_DESTROY, REQ_REBOOT,
	REQ_UNPAUSE };

/* A destroy waits for a fresh list that shows domid is still expected. */
struct sim_destroy_check {
	struct hv_sim *sim;
	int domid;
	char name[128];
	char uuid[40];
	hv_done_fn *cb;
	void *arg;
};

/* A create is made paused, then unpaused, as libxl's toolstack does. */
struct sim_create_step {
	struct hv_sim *sim;
	int domid;
	hv_create_fn *cb;
	void *arg;
};

struct sim_call {
	TAILQ_ENTRY(sim_call) entry;
	int64_t id;
	enum sim_call_kind kind;
	void *cb;
	void *arg;
	struct event *deadline;
	struct hv_sim *sim;
	int offline;                  /* queued while simhv was unreachable */
	bool owns_arg;                /* arg is the backend's own continuation:
	                                 freed if the call never completes */
};
TAILQ_HEAD(sim_call_list, sim_call);

struct hv_sim {
	struct hv hv;                 /* first: struct hv * casts to this */
	char *path;
	struct bufferevent *req_bev;
	struct bufferevent *ev_bev;
	struct sim_call_list pending;
	int64_t next_id;
	struct event *reconnect;
	int connected;
};

static void sim_close(struct hv *hv);
static void sim_list(struct hv *hv, unsigned flags, hv_list_fn *cb,
    void *arg);
static void sim_capture(struct hv *hv, int domid, hv_capture_fn *cb, void *arg);
static void sim_destroy(struct hv *hv, int domid, const struct hv_ident *expect,
    hv_done_fn *cb, void *arg);
static void sim_create(struct hv *hv, const char *cfg, hv_create_fn *cb, void *arg);
static void sim_reboot(struct hv *hv, int domid, hv_done_fn *cb, void *arg);
static int sim_connect(struct hv_sim *sim, char *err, size_t errlen);
static void sim_disconnect(struct hv_sim *sim, const char *why);

static const struct hv_ops sim_ops = {
	.name = "sim",
	.close = sim_close,
	.list = sim_list,
	.capture = sim_capture,
	.destroy = sim_destroy,
	.create = sim_create,
	.reboot = sim_reboot,
};

/* Deadlines per request kind; a destroy that outlives it counts as done. */
static int
req_deadline_s(enum sim_call_kind kind)
{
	switch (kind) {
	case REQ_DESTROY: return 60;
	case REQ_CREATE: return 300;
	default: return 30;
	}
}

/* ---- completing requests ---------------------------------------------- */

static void
req_free(struct sim_call *r)
{
	if (r->deadline != NULL)
		event_free(r->deadline);
	free(r);
}

static int
parse_reason(const char *s)
{
	int r = s != NULL ? yk_shutdown_reason_from_name(s) : -1;

	return r < 0 ? YK_SD_UNKNOWN : r;
}

static enum hv_dstate
parse_dstate(const char *s)
{
	if (s == NULL)
		return HV_DYING;
	if (strcmp(s, "running") == 0)
		return HV_RUNNING;
	if (strcmp(s, "paused") == 0)
		return HV_PAUSED;
	if (strcmp(s, "shutdown") == 0)
		return HV_SHUTDOWN;
	return HV_DYING;
}

static const char *
obj_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
obj_int(struct json_object *o, const char *key, int dflt)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int(v);
}

/* Element i of a brief list entry as a string, or NULL. */
static const char *
arr_str(struct json_object *a, size_t i)
{
	struct json_object *v = json_object_array_get_idx(a, i);

	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static enum hv_xl_op
parse_xl_op(const char *s)
{
	if (s == NULL)
		return HV_XL_NONE;
	if (strcmp(s, "migrate") == 0)
		return HV_XL_MIGRATE;
	return strcmp(s, "save") == 0 ? HV_XL_SAVE : HV_XL_NONE;
}

/*
 * One entry of `list brief`: [name, domid, uuid, state, shutdown_reason,
 * start_time, monitored, action, xl] (start_time in seconds since the
 * epoch; action: the domain's own for its shutdown reason, null unless shut
 * down; xl: "migrate" or "save" while such an xl process works on it;
 * older simhvs stop earlier: no monitor, action unknown, no xl).
 */
static bool
parse_brief(struct json_object *d, struct hv_dominfo *out)
{
	struct json_object *id, *start, *mon;
	int action;
	const char *name, *uuid;

	if (!json_object_is_type(d, json_type_array) ||
	    json_object_array_length(d) < 5)
		return false;
	name = arr_str(d, 0);
	uuid = arr_str(d, 2);
	id = json_object_array_get_idx(d, 1);
	if (name == NULL || !json_object_is_type(id, json_type_int))
		return false;
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->uuid, sizeof(out->uuid), "%s", uuid ? uuid : "");
	out->domid = json_object_get_int(id);
	out->state = parse_dstate(arr_str(d, 3));
	out->reason = parse_reason(arr_str(d, 4));
	out->migrating = hv_migrating_name(out->name);
	start = json_object_array_get_idx(d, 5);
	out->start_wall_ms = start != NULL &&
	    (json_object_is_type(start, json_type_double) ||
	    json_object_is_type(start, json_type_int)) ?
	    (int64_t)(json_object_get_double(start) * 1000.0) : 0;
	mon = json_object_array_get_idx(d, 6);
	out->monitored = mon != NULL &&
	    json_object_is_type(mon, json_type_boolean) &&
	    json_object_get_boolean(mon);
	action = hv_action_from_name(json_object_array_length(d) > 7 ?
	    arr_str(d, 7) : NULL);
	out->action = action < 0 ? HV_ACTION_UNKNOWN : (enum hv_action)action;
	out->xl_op = parse_xl_op(json_object_array_length(d) > 8 ?
	    arr_str(d, 8) : NULL);
	return true;
}

static void
complete_list(struct sim_call *r, struct json_object *reply, const char *err)
{
	hv_list_fn *cb = (hv_list_fn *)r->cb;
	struct json_object *arr;
	const char *bootid;
	struct hv_dominfo *doms = NULL;
	size_t n = 0, i, k = 0;

	if (err != NULL || !json_object_object_get_ex(reply, "domains", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		cb(r->arg, -1, NULL, 0);
		return;
	}
	if ((bootid = obj_str(reply, "boot_id")) != NULL)
		snprintf(r->sim->hv.boot_id, sizeof(r->sim->hv.boot_id), "%s",
		    bootid);
	n = json_object_array_length(arr);
	doms = calloc(n ? n : 1, sizeof(*doms));
	if (doms == NULL) {
		cb(r->arg, -1, NULL, 0);
		return;
	}
	for (i = 0; i < n; i++)
		if (parse_brief(json_object_array_get_idx(arr, i), &doms[k]))
			k++;
	if (k < n)
		log_warnx("sim: %zu malformed entries in simhv's domain list",
		    n - k);
	cb(r->arg, 0, doms, k);
	free(doms);
}

static void
req_complete(struct sim_call *r, struct json_object *reply, const char *err)
{
	switch (r->kind) {
	case REQ_LIST:
		complete_list(r, reply, err);
		break;
	case REQ_CAPTURE:
		((hv_capture_fn *)r->cb)(r->arg, err ? -1 : 0,
		    err ? NULL : obj_str(reply, "config"));
		break;
	case REQ_CREATE:
		((hv_create_fn *)r->cb)(r->arg, err ? -1 : 0,
		    err ? -1 : obj_int(reply, "domid", -1), err);
		break;
	case REQ_DESTROY:
	case REQ_REBOOT:
	case REQ_UNPAUSE:
		((hv_done_fn *)r->cb)(r->arg, err ? -1 : 0, err);
		break;
	}
}

static void
req_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_call *r = arg;
	struct hv_sim *sim = r->sim;

	(void)fd; (void)what;
	TAILQ_REMOVE(&sim->pending, r, entry);
	if (r->offline)
		req_complete(r, NULL, "not connected to simhv");
	else if (r->kind == REQ_DESTROY) {
		log_warnx("sim: destroy still not finished after %d s; going on",
		    req_deadline_s(r->kind));
		req_complete(r, NULL, NULL);
	} else
		req_complete(r, NULL, "simhv did not answer in time");
	req_free(r);
}

static void
fail_all_pending(struct hv_sim *sim, const char *why)
{
	struct sim_call *r;

	while ((r = TAILQ_FIRST(&sim->pending)) != NULL) {
		TAILQ_REMOVE(&sim->pending, r, entry);
		req_complete(r, NULL, why);
		req_free(r);
	}
}

/* ---- the request connection -------------------------------------------- */

static void
handle_reply(struct hv_sim *sim, const char *line)
{
	struct json_object *reply, *okv, *idv;
	struct sim_call *r;
	int64_t id;

	reply = json_tokener_parse(line);
	if (reply == NULL || !json_object_object_get_ex(reply, "id", &idv)) {
		log_warnx("sim: unexpected reply from simhv: %.80s", line);
		json_object_put(reply);
		return;
	}
	id = json_object_get_int64(idv);
	TAILQ_FOREACH(r, &sim->pending, entry)
		if (r->id == id)
			break;
	if (r == NULL) {
		json_object_put(reply);   /* its deadline already passed */
		return;
	}
	TAILQ_REMOVE(&sim->pending, r, entry);
	if (json_object_object_get_ex(reply, "ok", &okv) &&
	    json_object_get_boolean(okv))
		req_complete(r, reply, NULL);
	else {
		const char *e = obj_str(reply, "error");
		req_complete(r, reply, e ? e : "simhv refused the request");
	}
	req_free(r);
	json_object_put(reply);
}

static void
req_read_cb(struct bufferevent *bev, void *arg)
{
	struct hv_sim *sim = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		handle_reply(sim, line);
		free(line);
		if (sim->req_bev == NULL)
			return;
	}
	if (evbuffer_get_length(in) > SIM_MAX_LINE)
		sim_disconnect(sim, "reply line too long");
}

static void
ev_dispatch(struct hv_sim *sim, struct json_object *o)
{
	const char *kind = obj_str(o, "event");
	struct hv_event ev;

	if (kind == NULL)
		return;          /* the {"ok": true} that opens the stream */
	memset(&ev, 0, sizeof(ev));
	ev.name = obj_str(o, "name");
	ev.domid = obj_int(o, "domid", -1);
	ev.reason = parse_reason(obj_str(o, "reason"));
	if (strcmp(kind, "shutdown") == 0) {
		struct json_object *mon;
		int action;

		ev.kind = HV_EV_SHUTDOWN;
		/* Who acts on it: in the event since simhv has monitors. */
		if (json_object_object_get_ex(o, "monitored", &mon) &&
		    json_object_is_type(mon, json_type_boolean)) {
			ev.facts = true;
			ev.monitored = json_object_get_boolean(mon);
			action = hv_action_from_name(obj_str(o, "action"));
			ev.action = action < 0 ? HV_ACTION_UNKNOWN :
			    (enum hv_action)action;
		}
	}
	else if (strcmp(kind, "dying") == 0 || strcmp(kind, "gone") == 0)
		ev.kind = HV_EV_GONE;
	else if (strcmp(kind, "created") == 0)
		ev.kind = HV_EV_CREATED;
	else if (strcmp(kind, "paused") == 0)
		ev.kind = HV_EV_PAUSED;
	else if (strcmp(kind, "unpaused") == 0)
		ev.kind = HV_EV_UNPAUSED;
	else if (strcmp(kind, "renamed") == 0)
		ev.kind = HV_EV_RESYNC;       /* names moved: list again */
	else
		return;
	if (ev.name != NULL && sim->hv.on_event != NULL)
		sim->hv.on_event(sim->hv.event_arg, &ev);
}

static void
ev_read_cb(struct bufferevent *bev, void *arg)
{
	struct hv_sim *sim = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		struct json_object *o = json_tokener_parse(line);

		free(line);
		if (o != NULL) {
			ev_dispatch(sim, o);
			json_object_put(o);
		}
		if (sim->ev_bev == NULL)
			return;
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct hv_sim *sim = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		sim_disconnect(sim, (what & BEV_EVENT_EOF) ?
		    "simhv closed the connection" : "connection to simhv failed");
}

static void
reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hv_sim *sim = arg;
	struct timeval one = { 1, 0 };
	char err[256];

	(void)fd; (void)what;
	if (sim_connect(sim, err, sizeof(err)) == -1) {
		log_debug("sim: %s", err);
		evtimer_add(sim->reconnect, &one);
		return;
	}
	log_notice("sim: reconnected to simhv at %s", sim->path);
	if (sim->hv.on_event != NULL) {
		struct hv_event ev = { .kind = HV_EV_RESYNC, .name = "", .domid = -1 };
		sim->hv.on_event(sim->hv.event_arg, &ev);
	}
}

static void
sim_disconnect(struct hv_sim *sim, const char *why)
{
	struct timeval one = { 1, 0 };

	if (!sim->connected)
		return;
	log_warnx("sim: lost simhv at %s: %s; reconnecting", sim->path, why);
	sim->connected = 0;
	if (sim->req_bev != NULL)
		bufferevent_free(sim->req_bev);
	if (sim->ev_bev != NULL)
		bufferevent_free(sim->ev_bev);
	sim->req_bev = sim->ev_bev = NULL;
	fail_all_pending(sim, "lost the connection to simhv");
	evtimer_add(sim->reconnect, &one);
}

static struct bufferevent *
open_bev(struct hv_sim *sim, bufferevent_data_cb readcb, char *err, size_t errlen)
{
	struct bufferevent *bev;
	int fd;

	fd = yk_unix_connect(sim->path, 0);
	if (fd == -1) {
		snprintf(err, errlen, "cannot connect to simhv at %s: %s",
		    sim->path, strerror(errno));
		return NULL;
	}
	evutil_make_socket_nonblocking(fd);
	bev = bufferevent_socket_new(sim->hv.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	bufferevent_setcb(bev, readcb, NULL, conn_event_cb, sim);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return bev;
}

static int
sim_connect(struct hv_sim *sim, char *err, size_t errlen)
{
	static const char events_req[] = "{\"cmd\": \"events\"}\n";

	sim->req_bev = open_bev(sim, req_read_cb, err, errlen);
	if (sim->req_bev == NULL)
		return -1;
	sim->ev_bev = open_bev(sim, ev_read_cb, err, errlen);
	if (sim->ev_bev == NULL) {
		bufferevent_free(sim->req_bev);
		sim->req_bev = NULL;
		return -1;
	}
	bufferevent_write(sim->ev_bev, events_req, sizeof(events_req) - 1);
	sim->connected = 1;
	return 0;
}

/* Sends {"id": N, "cmd": CMD, "args": [ARG]} and queues the callback. */
static void
sim_request(struct hv_sim *sim, enum sim_call_kind kind, const char *cmd,
    const char *arg1, const char *arg2, void *cb, void *arg)
{
	struct json_object *o, *args;
	struct sim_call *r;
	struct timeval tv = { req_deadline_s(kind), 0 };
	const char *text;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		fatalx("sim: out of memory");
	r->id = ++sim->next_id;
	r->kind = kind;
	r->cb = cb;
	r->arg = arg;
	r->sim = sim;
	r->deadline = evtimer_new(sim->hv.base, req_deadline_cb, r);
	if (r->deadline == NULL)
		fatalx("sim: out of memory");
	TAILQ_INSERT_TAIL(&sim->pending, r, entry);
	if (!sim->connected) {
		/* Complete later, from the loop, like every other answer. */
		struct timeval now = { 0, 0 };
		r->offline = 1;
		evtimer_add(r->deadline, &now);
		return;
	}
	evtimer_add(r->deadline, &tv);
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(r->id));
	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	args = json_object_new_array();
	if (arg1 != NULL)
		json_object_array_add(args, json_object_new_string(arg1));
	if (arg2 != NULL)
		json_object_array_add(args, json_object_new_string(arg2));
	json_object_object_add(o, "args", args);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	bufferevent_write(sim->req_bev, text, strlen(text));
	bufferevent_write(sim->req_bev, "\n", 1);
	json_object_put(o);
}

static void
sim_request_domid(struct hv_sim *sim, enum sim_call_kind kind, const char *cmd,
    int domid, void *cb, void *arg)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", domid);
	sim_request(sim, kind, cmd, buf, NULL, cb, arg);
}

static void
sim_list(struct hv *hv, unsigned flags, hv_list_fn *cb, void *arg)
{
	(void)flags;		/* simhv reports xl at no cost */
	sim_request((struct hv_sim *)hv, REQ_LIST, "list", "brief", NULL,
	    (void *)cb, arg);
}

static void
sim_capture(struct hv *hv, int domid, hv_capture_fn *cb, void *arg)
{
	sim_request_domid((struct hv_sim *)hv, REQ_CAPTURE, "capture", domid,
	    (void *)cb, arg);
}

/* The fresh list for a destroy: act only on the domain the caller means. */
static void
ignore_done(void *arg, int err, const char *errmsg)
{
	(void)arg; (void)err; (void)errmsg;
}

static void
destroy_checked(void *arg, int err, const struct hv_dominfo *doms, size_t n)
{
	struct sim_destroy_check *c = arg;
	const struct hv_dominfo *d = NULL;
	char why[512];
	size_t i;

	for (i = 0; err == 0 && i < n; i++)
		if (doms[i].domid == c->domid)
			d = &doms[i];
	if (err != 0) {
		c->cb(c->arg, -1, "cannot list the domains to check who is to be "
		    "destroyed: not destroying");
	} else if (d == NULL || d->state == HV_DYING) {
		c->cb(c->arg, 0, NULL);               /* gone already */
	} else if (strcmp(d->name, c->name) != 0 || d->migrating) {
		snprintf(why, sizeof(why), "domain %d is now named %s, not %s: "
		    "not destroying it", c->domid, d->name, c->name);
		c->cb(c->arg, -1, why);
	} else if (c->uuid[0] != '\0' && strcmp(d->uuid, c->uuid) != 0) {
		snprintf(why, sizeof(why), "domain %d now has uuid %s, not %s: "
		    "not destroying it", c->domid, d->uuid, c->uuid);
		c->cb(c->arg, -1, why);
	} else if (d->xl_op != HV_XL_NONE) {
		snprintf(why, sizeof(why), "domain %d is in an xl %s: not "
		    "destroying it", c->domid, hv_xl_op_name(d->xl_op));
		c->cb(c->arg, HV_ERR_XEN_TOOLS, why);
	} else
		sim_request_domid(c->sim, REQ_DESTROY, "destroy", c->domid,
		    (void *)c->cb, c->arg);
	free(c);
}

static void
sim_destroy(struct hv *hv, int domid, const struct hv_ident *expect,
    hv_done_fn *cb, void *arg)
{
	struct hv_sim *sim = (struct hv_sim *)hv;
	struct sim_destroy_check *c;

	if (expect == NULL || expect->name == NULL) {
		sim_request_domid(sim, REQ_DESTROY, "destroy", domid, (void *)cb,
		    arg);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatalx("sim: out of memory");
	c->sim = sim;
	c->domid = domid;
	snprintf(c->name, sizeof(c->name), "%s", expect->name);
	snprintf(c->uuid, sizeof(c->uuid), "%s",
	    expect->uuid != NULL ? expect->uuid : "");
	c->cb = cb;
	c->arg = arg;
	sim_request(sim, REQ_LIST, "list", "brief", NULL, (void *)destroy_checked,
	    c);
	TAILQ_LAST(&sim->pending, sim_call_list)->owns_arg = true;
}

static void
unpaused(void *arg, int err, const char *errmsg)
{
	struct sim_create_step *c = arg;
	char why[300];

	if (err != 0) {
		snprintf(why, sizeof(why), "created domain %d but cannot unpause "
		    "it (%s); destroyed it again", c->domid,
		    errmsg != NULL ? errmsg : "unknown error");
		sim_request_domid(c->sim, REQ_DESTROY, "destroy", c->domid,
		    (void *)ignore_done, NULL);
		c->cb(c->arg, -1, -1, why);
	} else
		c->cb(c->arg, 0, c->domid, NULL);
	free(c);
}

static void
created_paused(void *arg, int err, int domid, const char *errmsg)
{
	struct sim_create_step *c = arg;
	char label[32];

	if (err != 0 || domid < 0) {
		c->cb(c->arg, -1, -1, errmsg);
		free(c);
		return;
	}
	c->domid = domid;
	snprintf(label, sizeof(label), "domain %d", domid);
	yk_failpoint("unpause", label);
	sim_request_domid(c->sim, REQ_UNPAUSE, "unpause", domid,
	    (void *)unpaused, c);
	TAILQ_LAST(&c->sim->pending, sim_call_list)->owns_arg = true;
}

static void
sim_create(struct hv *hv, const char *cfg, hv_create_fn *cb, void *arg)
{
	struct sim_create_step *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatalx("sim: out of memory");
	c->sim = (struct hv_sim *)hv;
	c->cb = cb;
	c->arg = arg;
	sim_request(c->sim, REQ_CREATE, "create", cfg, "paused",
	    (void *)created_paused, c);
	TAILQ_LAST(&c->sim->pending, sim_call_list)->owns_arg = true;
}

static void
sim_reboot(struct hv *hv, int domid, hv_done_fn *cb, void *arg)
{
	sim_request_domid((struct hv_sim *)hv, REQ_REBOOT, "reboot", domid,
	    (void *)cb, arg);
}

static void
sim_close(struct hv *hv)
{
	struct hv_sim *sim = (struct hv_sim *)hv;
	struct sim_call *r;

	while ((r = TAILQ_FIRST(&sim->pending)) != NULL) {
		TAILQ_REMOVE(&sim->pending, r, entry);
		if (r->owns_arg)
			free(r->arg);
		req_free(r);
	}
	if (sim->req_bev != NULL)
		bufferevent_free(sim->req_bev);
	if (sim->ev_bev != NULL)
		bufferevent_free(sim->ev_bev);
	event_free(sim->reconnect);
	free(sim->path);
	free(sim);
}

struct hv *
hv_sim_open(const char *socket_path, struct event_base *base, char *err,
    size_t errlen)
{
	struct hv_sim *sim;

	sim = calloc(1, sizeof(*sim));
	if (sim == NULL || (sim->path = strdup(socket_path)) == NULL) {
		free(sim);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sim->hv.ops = &sim_ops;
	sim->hv.base = base;
	TAILQ_INIT(&sim->pending);
	sim->reconnect = evtimer_new(base, reconnect_cb, sim);
	if (sim->reconnect == NULL || sim_connect(sim, err, errlen) == -1) {
		if (sim->reconnect != NULL)
			event_free(sim->reconnect);
		free(sim->path);
		free(sim);
		return NULL;
	}
	return &sim->hv;
}
