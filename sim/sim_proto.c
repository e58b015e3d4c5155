/*
 * sim_proto.c - yaoki-simhv's control socket.
 *
 * Owns the UNIX socket, its connections, the framing (one JSON object per
 * line, at most 1 MiB), request ids, replies and the event stream. What a
 * command means is sim_cmd.c's business. Never blocks: a client that reads
 * events too slowly is disconnected rather than buffered forever.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <json-c/json.h>

#include "log.h"
#include "sim_proto.h"
#include "unix_socket.h"

#define PROTO_MAX_LINE	(1024 * 1024)
#define PROTO_MAX_BEHIND (1024 * 1024)
#define PROTO_MAX_ARGS	16

struct sim_conn {
	struct bufferevent *bev;
	bool events;		/* an event stream: requests are ignored */
	bool eof;		/* the client is done sending */
	bool closing;		/* close once the replies are out */
	bool dead;		/* waiting for the reaper */
	TAILQ_HEAD(, sim_req) reqs;
	TAILQ_ENTRY(sim_conn) entry;
};

struct sim_req {
	struct sim_conn *conn;	/* NULL once the client has gone */
	bool has_id;
	int64_t id;
	TAILQ_ENTRY(sim_req) entry;
};

static struct event_base *proto_base;
static struct evconnlistener *proto_lev;
static struct event *proto_reap_ev;
static sim_dispatch_fn *proto_dispatch;
static char *proto_path;
static TAILQ_HEAD(sim_conns, sim_conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static struct sim_conns dead_conns = TAILQ_HEAD_INITIALIZER(dead_conns);

static void proto_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg);
static void proto_read_cb(struct bufferevent *bev, void *arg);
static void proto_write_cb(struct bufferevent *bev, void *arg);
static void proto_event_cb(struct bufferevent *bev, short what, void *arg);
static void proto_reap_cb(evutil_socket_t fd, short what, void *arg);
static void conn_handle_line(struct sim_conn *c, const char *line);
static void conn_kill(struct sim_conn *c);
static void conn_maybe_done(struct sim_conn *c);
static void conn_free(struct sim_conn *c);
static void conn_write_json(struct sim_conn *c, json_object *o);
static struct sim_req *req_new(struct sim_conn *c);
static void req_finish(struct sim_req *req, json_object *reply);

/* ---- the socket ---------------------------------------------------------- */

int
sim_proto_bind(const char *path, char *err, size_t errlen)
{
	return yk_unix_listen(path, 0600, (gid_t)-1, "yaoki-simhv", err,
	    errlen);
}

int
sim_proto_start(struct event_base *base, int fd, const char *path,
    sim_dispatch_fn *dispatch)
{
	proto_base = base;
	proto_dispatch = dispatch;
	if ((proto_path = strdup(path)) == NULL)
		return -1;
	proto_reap_ev = event_new(base, -1, 0, proto_reap_cb, NULL);
	proto_lev = evconnlistener_new(base, proto_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (proto_reap_ev == NULL || proto_lev == NULL)
		return -1;
	return 0;
}

void
sim_proto_close(void)
{
	struct sim_conn *c;

	if (proto_lev != NULL) {
		evconnlistener_free(proto_lev);
		proto_lev = NULL;
	}
	if (proto_path != NULL) {
		(void)unlink(proto_path);
		free(proto_path);
		proto_path = NULL;
	}
	while ((c = TAILQ_FIRST(&conns)) != NULL)
		conn_kill(c);
	while ((c = TAILQ_FIRST(&dead_conns)) != NULL)
		conn_free(c);
	if (proto_reap_ev != NULL) {
		event_free(proto_reap_ev);
		proto_reap_ev = NULL;
	}
}

/* ---- connections --------------------------------------------------------- */

static void
proto_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct sim_conn *c;

	(void)lev;
	(void)sa;
	(void)salen;
	(void)arg;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("control: out of memory");
		close(fd);
		return;
	}
	c->bev = bufferevent_socket_new(proto_base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("control: cannot set up a connection");
		close(fd);
		free(c);
		return;
	}
	TAILQ_INIT(&c->reqs);
	TAILQ_INSERT_TAIL(&conns, c, entry);
	bufferevent_setcb(c->bev, proto_read_cb, proto_write_cb, proto_event_cb,
	    c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
proto_read_cb(struct bufferevent *bev, void *arg)
{
	struct sim_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct sim_req *req;
	size_t len;
	char *line;

	while (!c->dead && !c->closing &&
	    (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (c->events)
			;	/* an event stream's requests are ignored */
		else if (len > PROTO_MAX_LINE)
			sim_req_fail(req_new(c), "request line longer than %d "
			    "bytes", PROTO_MAX_LINE);
		else
			conn_handle_line(c, line);
		free(line);
	}
	if (c->dead || c->closing)
		return;
	if (c->events) {
		/* An event stream has nothing more to say. */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (evbuffer_get_length(in) > PROTO_MAX_LINE) {
		req = req_new(c);
		sim_req_fail(req, "request line longer than %d bytes",
		    PROTO_MAX_LINE);
		c->closing = true;
		bufferevent_disable(bev, EV_READ);
		conn_maybe_done(c);
	}
}

static void
proto_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_maybe_done(arg);
}

static void
proto_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sim_conn *c = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !c->events) {
		/* Half-closed: the replies still owed will be written. */
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		conn_maybe_done(c);
		return;
	}
	conn_kill(c);
}

/* Closes once nothing is owed and everything is written. */
static void
conn_maybe_done(struct sim_conn *c)
{
	if (c->dead || !(c->eof || c->closing) || !TAILQ_EMPTY(&c->reqs))
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return;
	conn_kill(c);
}

/* Marks c dead now and frees it from the loop (it may be on the stack). */
static void
conn_kill(struct sim_conn *c)
{
	struct sim_req *req;

	if (c->dead)
		return;
	c->dead = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	while ((req = TAILQ_FIRST(&c->reqs)) != NULL) {
		TAILQ_REMOVE(&c->reqs, req, entry);
		req->conn = NULL;
	}
	TAILQ_REMOVE(&conns, c, entry);
	TAILQ_INSERT_TAIL(&dead_conns, c, entry);
	if (proto_reap_ev != NULL)
		event_active(proto_reap_ev, EV_TIMEOUT, 1);
}

static void
conn_free(struct sim_conn *c)
{
	TAILQ_REMOVE(&dead_conns, c, entry);
	bufferevent_free(c->bev);
	free(c);
}

static void
proto_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_conn *c;

	(void)fd;
	(void)what;
	(void)arg;
	while ((c = TAILQ_FIRST(&dead_conns)) != NULL)
		conn_free(c);
}

static void
conn_write_json(struct sim_conn *c, json_object *o)
{
	size_t len;
	const char *s;

	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	bufferevent_write(c->bev, s, len);
	bufferevent_write(c->bev, "\n", 1);
}

/* ---- requests ------------------------------------------------------------ */

static struct sim_req *
req_new(struct sim_conn *c)
{
	struct sim_req *req;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		fatalx("control: out of memory");
	req->conn = c;
	TAILQ_INSERT_TAIL(&c->reqs, req, entry);
	return req;
}

static void
conn_handle_line(struct sim_conn *c, const char *line)
{
	const char *argv[PROTO_MAX_ARGS + 1], *cmd;
	enum json_tokener_error jerr;
	json_object *o, *v, *a;
	struct sim_req *req;
	size_t i, argc = 0;

	req = req_new(c);
	if ((o = json_tokener_parse_verbose(line, &jerr)) == NULL) {
		sim_req_fail(req, "request is not JSON: %s",
		    json_tokener_error_desc(jerr));
		return;
	}
	if (!json_object_is_type(o, json_type_object)) {
		sim_req_fail(req, "request is not a JSON object");
		goto out;
	}
	if (json_object_object_get_ex(o, "id", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_int)) {
			sim_req_fail(req, "id must be an integer");
			goto out;
		}
		req->has_id = true;
		req->id = json_object_get_int64(v);
	}
	if (!json_object_object_get_ex(o, "cmd", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		sim_req_fail(req, "request has no cmd string");
		goto out;
	}
	cmd = json_object_get_string(v);
	if (json_object_object_get_ex(o, "args", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_array) ||
		    json_object_array_length(v) > PROTO_MAX_ARGS) {
			sim_req_fail(req, "args must be an array of at most %d "
			    "strings", PROTO_MAX_ARGS);
			goto out;
		}
		argc = json_object_array_length(v);
		for (i = 0; i < argc; i++) {
			a = json_object_array_get_idx(v, i);
			if (!json_object_is_type(a, json_type_string)) {
				sim_req_fail(req, "args must be strings");
				goto out;
			}
			argv[i] = json_object_get_string(a);
		}
	}
	argv[argc] = NULL;
	proto_dispatch(req, cmd, argc, argv);
out:
	json_object_put(o);
}

static void
req_finish(struct sim_req *req, json_object *reply)
{
	struct sim_conn *c = req->conn;

	if (c != NULL) {
		TAILQ_REMOVE(&c->reqs, req, entry);
		conn_write_json(c, reply);
	}
	json_object_put(reply);
	free(req);
	if (c != NULL)
		conn_maybe_done(c);
}

static json_object *
reply_new(const struct sim_req *req, bool ok)
{
	json_object *o = json_object_new_object();

	if (req->has_id)
		json_object_object_add(o, "id", json_object_new_int64(req->id));
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	return o;
}

void
sim_req_ok(struct sim_req *req, json_object *fields)
{
	json_object *o = reply_new(req, true);

	if (fields != NULL) {
		json_object_object_foreach(fields, key, val)
			json_object_object_add(o, key, json_object_get(val));
		json_object_put(fields);
	}
	req_finish(req, o);
}

void
sim_req_fail(struct sim_req *req, const char *fmt, ...)
{
	json_object *o = reply_new(req, false);
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(msg));
	req_finish(req, o);
}

void
sim_req_subscribe(struct sim_req *req)
{
	if (req->conn != NULL)
		req->conn->events = true;
	sim_req_ok(req, NULL);
}

/* ---- events -------------------------------------------------------------- */

void
sim_proto_event(const char *event, const char *name, int domid,
    const char *reason, const char *old_name, const char *action,
    int monitored)
{
	struct sim_conn *c, *next;
	json_object *o;
	size_t len;
	const char *s;

	o = json_object_new_object();
	json_object_object_add(o, "event", json_object_new_string(event));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "domid", json_object_new_int(domid));
	if (reason != NULL)
		json_object_object_add(o, "reason",
		    json_object_new_string(reason));
	if (old_name != NULL)
		json_object_object_add(o, "old_name",
		    json_object_new_string(old_name));
	if (monitored >= 0) {
		json_object_object_add(o, "monitored",
		    json_object_new_boolean(monitored));
		json_object_object_add(o, "action", action != NULL ?
		    json_object_new_string(action) : NULL);
	}
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	for (c = TAILQ_FIRST(&conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!c->events)
			continue;
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) >
		    PROTO_MAX_BEHIND) {
			log_warnx("control: an event client fell more than "
			    "1 MiB behind; disconnecting it");
			conn_kill(c);
			continue;
		}
		bufferevent_write(c->bev, s, len);
		bufferevent_write(c->bev, "\n", 1);
	}
	json_object_put(o);
}
