/*
 * sim_guest.c - the HTTP endpoint of one simulated guest.
 *
 * Owns the guest's listening socket, its evhttp server and the requests it
 * holds back (hang, slow, paused). HTTP is evhttp's; the only bytes written
 * by hand are those of `garbage`, which must not be HTTP. Knows nothing of
 * domains, domids or the control socket. Never blocks.
 *
 * libevent 2.1 stops reading a connection while a request waits for its
 * reply, so it would never notice that a client of a hung guest went away.
 * Every held request therefore watches its socket itself and frees the
 * connection on EOF: a hung guest costs nothing once its clients leave.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "log.h"
#include "sim_guest.h"

/* Idle keep-alive connections are closed after this many seconds. */
#define GUEST_IDLE_TIMEOUT_S	30
#define GUEST_MAX_HEADERS	16384
#define GUEST_MAX_BODY		65536
#define GUEST_BACKLOG		511

/* Not HTTP in any version: a NUL byte, no status line, no headers. */
static const char garbage_bytes[] =
    "\x00\x01\x02 this is not HTTP \xff\xfe\r\nSSH-1.99-garbage\r\n";

enum hold_kind {
	HOLD_PAUSE,	/* answered per behaviour once unpaused */
	HOLD_HANG,	/* never answered; dropped when the client leaves */
	HOLD_SLOW,	/* answered 200 "ok" when the timer fires */
	HOLD_GARBAGE,	/* garbage written, then closed, from the loop */
	HOLD_DROP,	/* closed without a word, from the loop */
};

struct guest_hold {
	struct sim_guest *g;
	enum hold_kind kind;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	evutil_socket_t fd;
	struct event *watch;
	struct event *timer;
	TAILQ_ENTRY(guest_hold) entry;
};
TAILQ_HEAD(guest_holds, guest_hold);

struct sim_guest {
	struct event_base *base;
	char *name;
	char *listen;
	enum sim_behaviour behaviour;
	unsigned slow_ms;
	bool up;
	bool paused;
	bool bind_failed;	/* logged once until the next success */
	struct evhttp *http;	/* NULL while the listener is closed */
	struct evhttp_bound_socket *bound;
	struct guest_holds holds;
};

static const char *const behaviour_names[] = {
	[SIM_B_OK] = "ok",
	[SIM_B_HANG] = "hang",
	[SIM_B_REFUSE] = "refuse",
	[SIM_B_ERROR] = "error",
	[SIM_B_SLOW] = "slow",
	[SIM_B_GARBAGE] = "garbage",
};

#define NBEHAVIOURS (sizeof(behaviour_names) / sizeof(behaviour_names[0]))

static void guest_sync(struct sim_guest *g);
static int guest_open(struct sim_guest *g);
static void guest_close(struct sim_guest *g);
static void guest_request_cb(struct evhttp_request *req, void *arg);
static void guest_dispatch(struct sim_guest *g, struct evhttp_request *req);
static void guest_reply(struct evhttp_request *req, int code,
    const char *reason, const char *body);
static void guest_release_paused(struct sim_guest *g);
static void hold_new(struct sim_guest *g, struct evhttp_request *req,
    enum hold_kind kind, unsigned delay_ms);
static void hold_free(struct guest_hold *h);
static void hold_drop(struct guest_hold *h);
static void hold_watch_cb(evutil_socket_t fd, short what, void *arg);
static void hold_timer_cb(evutil_socket_t fd, short what, void *arg);
static void hold_send_garbage(struct guest_hold *h);

int
sim_behaviour_parse(const char *word, enum sim_behaviour *b)
{
	size_t i;

	for (i = 0; i < NBEHAVIOURS; i++) {
		if (strcmp(word, behaviour_names[i]) == 0) {
			*b = (enum sim_behaviour)i;
			return 0;
		}
	}
	return -1;
}

const char *
sim_behaviour_name(enum sim_behaviour b)
{
	if ((size_t)b >= NBEHAVIOURS)
		return "unknown";
	return behaviour_names[b];
}

int
sim_listen_valid(const char *listen)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (listen == NULL || evutil_parse_sockaddr_port(listen,
	    (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ((struct sockaddr_in *)&ss)->sin_port != 0 ? 0 : -1;
	if (ss.ss_family == AF_INET6)
		return ((struct sockaddr_in6 *)&ss)->sin6_port != 0 ? 0 : -1;
	return -1;
}

struct sim_guest *
sim_guest_new(struct event_base *base, const char *name, const char *listen)
{
	struct sim_guest *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->base = base;
	g->behaviour = SIM_B_OK;
	TAILQ_INIT(&g->holds);
	if ((g->name = strdup(name)) == NULL ||
	    (g->listen = strdup(listen)) == NULL) {
		free(g->name);
		free(g);
		return NULL;
	}
	return g;
}

/* The name in log lines, after a rename. */
void
sim_guest_set_name(struct sim_guest *g, const char *name)
{
	char *copy;

	if ((copy = strdup(name)) == NULL)
		return;			/* keeps the old one */
	free(g->name);
	g->name = copy;
}

void
sim_guest_free(struct sim_guest *g)
{
	if (g == NULL)
		return;
	guest_close(g);
	free(g->name);
	free(g->listen);
	free(g);
}

void
sim_guest_set_up(struct sim_guest *g, bool up)
{
	g->up = up;
	guest_sync(g);
}

void
sim_guest_set_behaviour(struct sim_guest *g, enum sim_behaviour b,
    unsigned slow_ms)
{
	g->behaviour = b;
	g->slow_ms = slow_ms;
	guest_sync(g);
}

void
sim_guest_set_paused(struct sim_guest *g, bool paused)
{
	bool was = g->paused;

	g->paused = paused;
	guest_sync(g);
	if (was && !paused)
		guest_release_paused(g);
}

enum sim_behaviour
sim_guest_behaviour(const struct sim_guest *g)
{
	return g->behaviour;
}

/* Opens or closes the listener to match (up, behaviour, paused). */
static void
guest_sync(struct sim_guest *g)
{
	bool want = g->up && g->behaviour != SIM_B_REFUSE;
	struct evconnlistener *lev;

	if (!want) {
		guest_close(g);
		return;
	}
	if (g->http == NULL && guest_open(g) == -1)
		return;
	lev = evhttp_bound_socket_get_listener(g->bound);
	if (g->paused)
		evconnlistener_disable(lev);
	else
		evconnlistener_enable(lev);
}

static int
guest_open(struct sim_guest *g)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss), one = 1;
	evutil_socket_t fd;

	if (evutil_parse_sockaddr_port(g->listen, (struct sockaddr *)&ss,
	    &len) != 0)
		fatalx("%s: listen address %s passed validation", g->name,
		    g->listen);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		log_warn("%s: guest socket", g->name);
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, (socklen_t)len) == -1 ||
	    listen(fd, GUEST_BACKLOG) == -1) {
		if (!g->bind_failed)
			log_warn("%s: guest cannot listen on %s", g->name,
			    g->listen);
		g->bind_failed = true;
		close(fd);
		return -1;
	}
	if ((g->http = evhttp_new(g->base)) == NULL) {
		log_warnx("%s: evhttp_new failed", g->name);
		close(fd);
		return -1;
	}
	evhttp_set_timeout(g->http, GUEST_IDLE_TIMEOUT_S);
	evhttp_set_max_headers_size(g->http, GUEST_MAX_HEADERS);
	evhttp_set_max_body_size(g->http, GUEST_MAX_BODY);
	evhttp_set_allowed_methods(g->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(g->http, guest_request_cb, g);
	g->bound = evhttp_accept_socket_with_handle(g->http, fd);
	if (g->bound == NULL) {
		log_warnx("%s: cannot serve %s", g->name, g->listen);
		evhttp_free(g->http);
		g->http = NULL;
		close(fd);
		return -1;
	}
	if (g->bind_failed)
		log_info("%s: guest listens on %s again", g->name, g->listen);
	g->bind_failed = false;
	log_debug("%s: guest listens on %s", g->name, g->listen);
	return 0;
}

/* Closes the listener and every connection, held requests included. */
static void
guest_close(struct sim_guest *g)
{
	struct guest_hold *h;

	while ((h = TAILQ_FIRST(&g->holds)) != NULL)
		hold_free(h);
	if (g->http != NULL) {
		/* Frees the listener (closing its socket), every connection. */
		evhttp_free(g->http);
		g->http = NULL;
		g->bound = NULL;
		log_debug("%s: guest listener closed", g->name);
	}
}

static void
guest_request_cb(struct evhttp_request *req, void *arg)
{
	struct sim_guest *g = arg;

	if (g->paused)
		hold_new(g, req, HOLD_PAUSE, 0);
	else
		guest_dispatch(g, req);
}

static void
guest_dispatch(struct sim_guest *g, struct evhttp_request *req)
{
	switch (g->behaviour) {
	case SIM_B_OK:
		guest_reply(req, HTTP_OK, "OK", "ok");
		break;
	case SIM_B_ERROR:
		guest_reply(req, HTTP_INTERNAL, "Internal Server Error",
		    "error");
		break;
	case SIM_B_SLOW:
		hold_new(g, req, HOLD_SLOW, g->slow_ms);
		break;
	case SIM_B_HANG:
		hold_new(g, req, HOLD_HANG, 0);
		break;
	case SIM_B_GARBAGE:
		hold_new(g, req, HOLD_GARBAGE, 0);
		break;
	case SIM_B_REFUSE:
		/* Only a connection accepted before the switch gets here. */
		hold_new(g, req, HOLD_DROP, 0);
		break;
	}
}

static void
guest_reply(struct evhttp_request *req, int code, const char *reason,
    const char *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	evhttp_send_reply(req, code, reason, NULL);
}

/* Answers, per the current behaviour, what arrived while paused. */
static void
guest_release_paused(struct sim_guest *g)
{
	struct guest_holds paused = TAILQ_HEAD_INITIALIZER(paused);
	struct guest_hold *h, *next;
	struct evhttp_request *req;

	for (h = TAILQ_FIRST(&g->holds); h != NULL; h = next) {
		next = TAILQ_NEXT(h, entry);
		if (h->kind != HOLD_PAUSE)
			continue;
		TAILQ_REMOVE(&g->holds, h, entry);
		TAILQ_INSERT_TAIL(&paused, h, entry);
	}
	while ((h = TAILQ_FIRST(&paused)) != NULL) {
		/* hold_free unlinks from g->holds: relink it there first. */
		TAILQ_REMOVE(&paused, h, entry);
		TAILQ_INSERT_TAIL(&g->holds, h, entry);
		req = h->req;
		hold_free(h);
		guest_dispatch(g, req);
	}
}

static void
hold_new(struct sim_guest *g, struct evhttp_request *req, enum hold_kind kind,
    unsigned delay_ms)
{
	struct guest_hold *h;
	struct timeval tv;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		fatalx("%s: out of memory", g->name);
	h->g = g;
	h->kind = kind;
	h->req = req;
	h->evcon = evhttp_request_get_connection(req);
	h->fd = bufferevent_getfd(evhttp_connection_get_bufferevent(h->evcon));
	h->watch = event_new(g->base, h->fd, EV_READ | EV_PERSIST,
	    hold_watch_cb, h);
	if (h->watch == NULL)
		fatalx("%s: out of memory", g->name);
	event_add(h->watch, NULL);
	if (kind == HOLD_SLOW || kind == HOLD_GARBAGE || kind == HOLD_DROP) {
		if ((h->timer = evtimer_new(g->base, hold_timer_cb, h)) == NULL)
			fatalx("%s: out of memory", g->name);
		tv.tv_sec = delay_ms / 1000;
		tv.tv_usec = (delay_ms % 1000) * 1000;
		evtimer_add(h->timer, &tv);
	}
	TAILQ_INSERT_TAIL(&g->holds, h, entry);
}

/* Forgets the hold; the request and its connection stay as they are. */
static void
hold_free(struct guest_hold *h)
{
	TAILQ_REMOVE(&h->g->holds, h, entry);
	if (h->watch != NULL)
		event_free(h->watch);
	if (h->timer != NULL)
		event_free(h->timer);
	free(h);
}

/* Closes the connection (and frees the request it carries). */
static void
hold_drop(struct guest_hold *h)
{
	struct evhttp_connection *evcon = h->evcon;

	hold_free(h);
	evhttp_connection_free(evcon);
}

static void
hold_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct guest_hold *h = arg;
	char buf[4096];
	ssize_t n;
	int i;

	(void)what;
	if (h->kind != HOLD_HANG) {
		/* A reply will come: leave data to evhttp, only spot EOF. */
		n = recv(fd, buf, 1, MSG_PEEK);
		if (n > 0)
			event_del(h->watch);
		else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			hold_drop(h);
		return;
	}
	/* Never answered: whatever the client sends is read and forgotten. */
	for (i = 0; i < 16; i++) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			hold_drop(h);
		return;
	}
}

static void
hold_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct guest_hold *h = arg;
	struct evhttp_request *req = h->req;

	(void)fd;
	(void)what;
	switch (h->kind) {
	case HOLD_SLOW:
		hold_free(h);
		guest_reply(req, HTTP_OK, "OK", "ok");
		break;
	case HOLD_GARBAGE:
		hold_send_garbage(h);
		hold_drop(h);
		break;
	default:
		hold_drop(h);
		break;
	}
}

/* The one hand-written reply: bytes no HTTP client can parse. */
static void
hold_send_garbage(struct guest_hold *h)
{
	char buf[4096];
	int i;

	if (send(h->fd, garbage_bytes, sizeof(garbage_bytes) - 1,
	    MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
		log_debug("%s: garbage not sent: %s", h->g->name,
		    strerror(errno));
	/* Unread input would turn the close into a reset losing the bytes. */
	for (i = 0; i < 16; i++)
		if (recv(h->fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
	(void)shutdown(h->fd, SHUT_WR);
}
