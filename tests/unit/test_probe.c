/*
 * test_probe.c - the probe engine against in-process servers on the same
 * libevent loop, all bound to 127.0.0.1 on ephemeral ports.
 *
 * An evhttp server answers the well-behaved cases (200, 500, 302, bodies
 * with and without the expected text, a 10 MB body); raw listeners play the
 * broken guests (hang, garbage, early close, reset, headers trickled one
 * byte per 100 ms, a body split across reads). Every wait is bounded by a
 * wall-clock deadline; every server is stopped by the test that started it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "clock.h"
#include "status_set.h"
#include "probe.h"

#define BIG_LEN		(10 * 1024 * 1024)
#define LARGE_LEN	(100 * 1024)
#define MARKER		"MARKER-7f3a"
#define NRAW		16
#define NCONC		200

/* ---- raw guests --------------------------------------------------------- */

enum raw_mode {
	RAW_HANG,	/* accept, read, never answer */
	RAW_SCRIPT,	/* send text in steps, then FIN */
	RAW_RESET,	/* accept, then RST */
};

struct raw_srv {
	struct evconnlistener	*lst;
	int			 port;
	enum raw_mode		 mode;
	const char		*text;
	size_t			 step;		/* bytes per send */
	int			 delay_ms;	/* between sends */
	int			 accepted;
	int			 closed;	/* connections the client closed */
};

struct raw_conn {
	LIST_ENTRY(raw_conn)	 entry;
	struct raw_srv		*srv;
	int			 fd;
	struct event		*rd;
	struct event		*tick;
	size_t			 pos;
};

/* ---- what a probe reported ---------------------------------------------- */

struct rec {
	int			 calls;
	bool			 from_start;	/* called back inside probe_start */
	struct probe_result	 res;
	double			 at;		/* yk_now_s() at the callback */
	struct probe		*cancel;	/* cancel this one from the callback */
};

static struct {
	struct event_base	*base;
	struct probe_engine	*pe;
	struct event		*tick;
	int			 done_total;
	bool			 in_start;

	struct evhttp		*http;
	int			 http_port;
	int			 target_hits;
	int			 ok_hits;
	int			 ok_ports[8];
	bool			 saw_accept_encoding;
	char			 user_agent[64];
	char			*big;
	size_t			 big_sent;	/* bytes the server wrote to the socket */
	char			*large;

	struct raw_srv		 raw[NRAW];
	int			 nraw;
	LIST_HEAD(, raw_conn)	 conns;
	char			 last_detail[160];
} fx;

static const struct yk_status_set set_200 = { .n = 1, .r = { { 200, 200 } } };
static const struct yk_status_set set_2xx3xx = { .n = 1, .r = { { 200, 399 } } };

/* ---- evhttp server ------------------------------------------------------ */

static void
count_sent(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	(void)buf;
	*(size_t *)arg += info->n_deleted;
}

static void
reply_text(struct evhttp_request *req, int code, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, text, strlen(text));
	evhttp_send_reply(req, code, "X", b);
	evbuffer_free(b);
}

static void
serve_big(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	int fd = bufferevent_getfd(bev), sz = 16384;
	struct evbuffer *b = evbuffer_new();

	/* Small send buffer: what the server has written is what left it. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	evbuffer_add_cb(bufferevent_get_output(bev), count_sent, &fx.big_sent);
	evbuffer_add_reference(b, fx.big, BIG_LEN, NULL, NULL);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void
serve(struct evhttp_request *req, void *arg)
{
	const char *path = evhttp_request_get_uri(req);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *ua;
	char *host;
	uint16_t port;

	(void)arg;
	if (strcmp(path, "/ok") == 0) {
		if (evhttp_find_header(h, "Accept-Encoding") != NULL)
			fx.saw_accept_encoding = true;
		if ((ua = evhttp_find_header(h, "User-Agent")) != NULL)
			snprintf(fx.user_agent, sizeof(fx.user_agent), "%s", ua);
		evhttp_connection_get_peer(evhttp_request_get_connection(req),
		    &host, &port);
		fx.ok_ports[fx.ok_hits++ % 8] = port;
		reply_text(req, 200, "ok");
	} else if (strcmp(path, "/500") == 0) {
		reply_text(req, 500, "broken");
	} else if (strcmp(path, "/302") == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Location", "/target");
		reply_text(req, 302, "moved");
	} else if (strcmp(path, "/target") == 0) {
		fx.target_hits++;
		reply_text(req, 200, "target " MARKER);
	} else if (strcmp(path, "/nomarker") == 0) {
		reply_text(req, 200, "all fine here, but not the text");
	} else if (strcmp(path, "/kmp") == 0) {
		reply_text(req, 200, "abcabcabd");
	} else if (strcmp(path, "/big") == 0) {
		serve_big(req);
	} else if (strcmp(path, "/large") == 0) {
		struct evbuffer *b = evbuffer_new();

		evbuffer_add_reference(b, fx.large, LARGE_LEN, NULL, NULL);
		evhttp_send_reply(req, 200, "OK", b);
		evbuffer_free(b);
	} else {
		reply_text(req, 404, "no");
	}
}

static int
fd_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	return ntohs(sin.sin_port);
}

static void
http_start(void)
{
	struct evhttp_bound_socket *bs;

	fx.http = evhttp_new(fx.base);
	assert_non_null(fx.http);
	evhttp_set_gencb(fx.http, serve, NULL);
	bs = evhttp_bind_socket_with_handle(fx.http, "127.0.0.1", 0);
	assert_non_null(bs);
	fx.http_port = fd_port(evhttp_bound_socket_get_fd(bs));
	assert_true(fx.http_port > 0);
}

/* ---- raw servers -------------------------------------------------------- */

static void
raw_conn_free(struct raw_conn *c)
{
	LIST_REMOVE(c, entry);
	event_free(c->rd);
	event_free(c->tick);
	close(c->fd);
	free(c);
}

static void
raw_read(int fd, short ev, void *arg)
{
	struct raw_conn *c = arg;
	char buf[4096];
	ssize_t n;

	(void)ev;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n > 0 || (n == -1 && errno == EAGAIN))
		return;
	c->srv->closed++;
	raw_conn_free(c);
}

static void
raw_tick(int fd, short ev, void *arg)
{
	struct raw_conn *c = arg;
	struct raw_srv *s = c->srv;
	size_t len = strlen(s->text) - c->pos;
	struct timeval tv = { 0, s->delay_ms * 1000 };

	(void)fd;
	(void)ev;
	if (len > s->step)
		len = s->step;
	if (len > 0 && send(c->fd, s->text + c->pos, len,
	    MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len)
		return;		/* the client went away */
	c->pos += len;
	if (s->text[c->pos] == '\0') {
		/* FIN, but keep reading: an unread request would make it a RST */
		shutdown(c->fd, SHUT_WR);
		return;
	}
	evtimer_add(c->tick, &tv);
}

static void
raw_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct raw_srv *s = arg;
	struct raw_conn *c;
	struct linger lg = { 1, 0 };
	struct timeval now = { 0, 0 };

	(void)l;
	(void)sa;
	(void)salen;
	s->accepted++;
	if (s->mode == RAW_RESET) {
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->srv = s;
	c->fd = fd;
	c->rd = event_new(fx.base, fd, EV_READ | EV_PERSIST, raw_read, c);
	c->tick = evtimer_new(fx.base, raw_tick, c);
	LIST_INSERT_HEAD(&fx.conns, c, entry);
	event_add(c->rd, NULL);
	if (s->mode == RAW_SCRIPT)
		evtimer_add(c->tick, &now);
}

static struct raw_srv *
raw_start(enum raw_mode mode, const char *text, size_t step, int delay_ms)
{
	struct raw_srv *s;
	struct sockaddr_in sin;

	assert_true(fx.nraw < NRAW);
	s = &fx.raw[fx.nraw++];
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->text = text;
	s->step = step;
	s->delay_ms = delay_ms;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lst = evconnlistener_new_bind(fx.base, raw_accept, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    1024, (struct sockaddr *)&sin, sizeof(sin));
	assert_non_null(s->lst);
	s->port = fd_port(evconnlistener_get_fd(s->lst));
	assert_true(s->port > 0);
	return s;
}

/* A port nobody listens on: bind one, note it, give it back. */
static int
refused_port(void)
{
	struct sockaddr_in sin;
	int fd, port;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	port = fd_port(fd);
	close(fd);
	return port;
}

/* ---- driving the loop --------------------------------------------------- */

static void
tick_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
}

/* Runs the loop until `want` callbacks in total arrived or max_s passed. */
static void
run_until(int want, double max_s)
{
	double deadline = yk_now_s() + max_s;
	struct timeval tv = { 0, 20 * 1000 };

	event_add(fx.tick, &tv);
	while (fx.done_total < want && yk_now_s() < deadline)
		event_base_loop(fx.base, EVLOOP_ONCE);
	event_del(fx.tick);
}

static void
run_for(double s)
{
	run_until(INT32_MAX, s);
}

static void
rec_done(void *arg, const struct probe_result *res)
{
	struct rec *r = arg;

	r->calls++;
	r->from_start = r->from_start || fx.in_start;
	r->res = *res;
	r->at = yk_now_s();
	fx.done_total++;
	if (getenv("TEST_PROBE_VERBOSE") != NULL)
		print_message("verdict: %s status %ld %.1f ms \"%s\"\n",
		    probe_error_name(res->err), res->http_status, res->ms,
		    res->detail);
	if (r->cancel != NULL)
		probe_cancel(r->cancel);
}

static struct probe *
start(const char *url, uint64_t timeout_ms, const struct yk_status_set *set,
    const char *body, struct rec *r)
{
	struct probe_spec spec = {
		.url = url,
		.timeout_ms = timeout_ms,
		.expect_status = set,
		.expect_body = body,
		.tls_verify = true,
	};
	struct probe *p;

	fx.in_start = true;
	p = probe_start(fx.pe, &spec, rec_done, r);
	fx.in_start = false;
	assert_non_null(p);
	return p;
}

static void
url_for(char *buf, size_t len, const char *scheme, int port, const char *path)
{
	snprintf(buf, len, "%s://127.0.0.1:%d%s", scheme, port, path);
}

static void
assert_detail_clean(const struct probe_result *res)
{
	const char *c;

	for (c = res->detail; *c != '\0'; c++)
		assert_true(*c >= 0x20 && *c <= 0x7e);
	if (res->ok)
		assert_string_equal(res->detail, "");
	else
		assert_true(res->detail[0] != '\0');
}

/* One probe, run to its verdict; checks what every verdict must satisfy. */
static void
probe_one(const char *url, uint64_t timeout_ms, const struct yk_status_set *set,
    const char *body, struct rec *r)
{
	int before = fx.done_total;

	memset(r, 0, sizeof(*r));
	start(url, timeout_ms, set, body, r);
	assert_int_equal(r->calls, 0);		/* never from probe_start */
	run_until(before + 1, timeout_ms / 1000.0 + 5);
	assert_int_equal(r->calls, 1);
	assert_false(r->from_start);
	assert_detail_clean(&r->res);
	assert_true(r->res.ms >= 0);
	assert_int_equal(r->res.ok, r->res.err == PROBE_OK);
}

static void
probe_path(const char *path, const struct yk_status_set *set, const char *body,
    struct rec *r)
{
	char url[128];

	url_for(url, sizeof(url), "http", fx.http_port, path);
	probe_one(url, 3000, set, body, r);
}

/* ---- fixture ------------------------------------------------------------ */

static int
setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	LIST_INIT(&fx.conns);
	fx.base = event_base_new();
	assert_non_null(fx.base);
	fx.tick = event_new(fx.base, -1, EV_PERSIST, tick_cb, NULL);
	fx.pe = probe_engine_new(fx.base);
	assert_non_null(fx.pe);
	fx.big = malloc(BIG_LEN);
	assert_non_null(fx.big);
	memset(fx.big, 'x', BIG_LEN);
	memcpy(fx.big + BIG_LEN - strlen(MARKER), MARKER, strlen(MARKER));
	fx.large = malloc(LARGE_LEN);
	assert_non_null(fx.large);
	memset(fx.large, 'y', LARGE_LEN);
	memcpy(fx.large + 500, MARKER, strlen(MARKER));
	http_start();
	return 0;
}

static int
teardown(void **state)
{
	struct raw_conn *c;
	int i;

	(void)state;
	probe_engine_free(fx.pe);
	/* Let the servers see what the engine closed, then stop them. */
	run_for(0.05);
	while ((c = LIST_FIRST(&fx.conns)) != NULL)
		raw_conn_free(c);
	for (i = 0; i < fx.nraw; i++)
		evconnlistener_free(fx.raw[i].lst);
	evhttp_free(fx.http);
	event_free(fx.tick);
	event_base_free(fx.base);
	free(fx.big);
	free(fx.large);
	return 0;
}

/* ---- verdicts from the evhttp server ------------------------------------ */

static void
test_ok(void **state)
{
	struct rec r;

	(void)state;
	probe_path("/ok", &set_200, NULL, &r);
	assert_true(r.res.ok);
	assert_int_equal(r.res.err, PROBE_OK);
	assert_int_equal(r.res.http_status, 200);
	assert_true(r.res.ms < 3000);
	assert_int_equal(strncmp(fx.user_agent, "yaoki/", 6), 0);
	assert_false(fx.saw_accept_encoding);
}

static void
test_status_500(void **state)
{
	struct rec r;

	(void)state;
	probe_path("/500", &set_2xx3xx, NULL, &r);
	assert_false(r.res.ok);
	assert_int_equal(r.res.err, PROBE_ERR_STATUS);
	assert_int_equal(r.res.http_status, 500);
	assert_non_null(strstr(r.res.detail, "500"));
}

static void
test_redirect_not_followed(void **state)
{
	struct rec r;

	(void)state;
	/* 302 judged by its own status... */
	probe_path("/302", &set_200, NULL, &r);
	assert_int_equal(r.res.err, PROBE_ERR_STATUS);
	assert_int_equal(r.res.http_status, 302);
	/* ...accepted when 3xx is accepted; the body check sees the 302's */
	probe_path("/302", &set_2xx3xx, NULL, &r);
	assert_true(r.res.ok);
	assert_int_equal(r.res.http_status, 302);
	probe_path("/302", &set_2xx3xx, MARKER, &r);
	assert_int_equal(r.res.err, PROBE_ERR_BODY);
	assert_int_equal(fx.target_hits, 0);
}

static void
test_default_status_set(void **state)
{
	struct rec r;

	(void)state;
	probe_path("/ok", NULL, NULL, &r);
	assert_true(r.res.ok);
	probe_path("/500", NULL, NULL, &r);
	assert_int_equal(r.res.err, PROBE_ERR_STATUS);
}

static void
test_body(void **state)
{
	struct rec r;

	(void)state;
	probe_path("/nomarker", &set_200, MARKER, &r);
	assert_false(r.res.ok);
	assert_int_equal(r.res.err, PROBE_ERR_BODY);
	assert_int_equal(r.res.http_status, 200);
	probe_path("/target", &set_200, MARKER, &r);
	assert_true(r.res.ok);
	probe_path("/target", &set_200, "", &r);
	assert_true(r.res.ok);
	/* a partial match must not hide the real one */
	probe_path("/kmp", &set_200, "abcabd", &r);
	assert_true(r.res.ok);
	probe_path("/kmp", &set_200, "abcabe", &r);
	assert_int_equal(r.res.err, PROBE_ERR_BODY);
	/* the status is judged before the body */
	probe_path("/500", &set_200, "broken", &r);
	assert_int_equal(r.res.err, PROBE_ERR_STATUS);
}

static void
test_big_body_not_downloaded(void **state)
{
	struct rec r;

	(void)state;
	probe_path("/big", &set_200, MARKER, &r);
	/* the text is only at the end: beyond the 64 KiB that are read */
	assert_int_equal(r.res.err, PROBE_ERR_BODY);
	assert_int_equal(r.res.http_status, 200);
	assert_true(fx.big_sent > 64 * 1024);
	assert_true(fx.big_sent < BIG_LEN / 2);
	/* nor is the rest sent later: the client closed the connection */
	run_for(0.3);
	assert_true(fx.big_sent < BIG_LEN / 2);
}

static void
test_large_body_text_early(void **state)
{
	struct rec r;

	(void)state;
	probe_path("/large", &set_200, MARKER, &r);
	assert_true(r.res.ok);
	assert_int_equal(r.res.http_status, 200);
	probe_path("/large", &set_200, NULL, &r);
	assert_true(r.res.ok);
}

/* ---- broken guests ------------------------------------------------------ */

static void
assert_timeout_verdict(const char *url, uint64_t timeout_ms)
{
	struct rec r;
	double t0 = yk_now_s(), took;

	probe_one(url, timeout_ms, &set_200, NULL, &r);
	took = (r.at - t0) * 1000.0;
	assert_int_equal(r.res.err, PROBE_ERR_TIMEOUT);
	assert_false(r.res.ok);
	assert_int_equal(r.res.http_status, 0);
	/*
	 * curl keeps time with CLOCK_MONOTONIC_RAW (not slewed by NTP, unlike
	 * our CLOCK_MONOTONIC) and lets a timer count as expired within a
	 * millisecond or so: a verdict can land a hair before timeout_ms by our
	 * clock (seen: 999.4 ms for 1000). 5 ms is that slack, nothing more.
	 */
	assert_true(took >= (double)timeout_ms - 5);
	assert_true(took <= (double)timeout_ms + 1000.0);
	assert_true(r.res.ms >= (double)timeout_ms - 5);
	assert_true(r.res.ms <= took + 1);
	assert_non_null(strstr(r.res.detail, "timed out"));
	snprintf(fx.last_detail, sizeof(fx.last_detail), "%s", r.res.detail);
}

static void
test_hang_times_out(void **state)
{
	struct raw_srv *s = raw_start(RAW_HANG, NULL, 0, 0);
	char url[128];
	struct rec r;

	(void)state;
	/* a handle that got a full response last time */
	probe_path("/ok", &set_200, NULL, &r);
	assert_true(r.res.ok);
	url_for(url, sizeof(url), "http", s->port, "/");
	assert_timeout_verdict(url, 700);
	assert_non_null(strstr(fx.last_detail, "waiting for the response"));
	assert_int_equal(s->accepted, 1);
	run_until(INT32_MAX, 0.2);
	assert_int_equal(s->closed, 1);		/* the engine let go of it */
}

static void
test_trickled_headers_time_out(void **state)
{
	static char text[256];
	struct raw_srv *s;
	char url[128];

	(void)state;
	/* ~20 s worth of header at one byte per 100 ms */
	snprintf(text, sizeof(text), "HTTP/1.1 200 OK\r\nX-Pad: %0180d\r\n"
	    "Content-Length: 2\r\n\r\nok", 0);
	s = raw_start(RAW_SCRIPT, text, 1, 100);
	url_for(url, sizeof(url), "http", s->port, "/");
	assert_timeout_verdict(url, 1000);
}

static void
test_garbage(void **state)
{
	struct raw_srv *s = raw_start(RAW_SCRIPT,
	    "SSH-2.0-OpenSSH_9.2\r\n\x01\x02\xff\xfe not http\r\n", 4096, 0);
	char url[128];
	struct rec r;

	(void)state;
	url_for(url, sizeof(url), "http", s->port, "/");
	probe_one(url, 3000, &set_200, NULL, &r);
	assert_int_equal(r.res.err, PROBE_ERR_PROTOCOL);
	assert_int_equal(r.res.http_status, 0);
}

static void
test_early_close(void **state)
{
	struct raw_srv *s = raw_start(RAW_SCRIPT, "", 1, 0);
	char url[128];
	struct rec r;

	(void)state;
	url_for(url, sizeof(url), "http", s->port, "/");
	probe_one(url, 3000, &set_200, NULL, &r);
	assert_int_equal(s->accepted, 1);
	assert_int_equal(r.res.err, PROBE_ERR_PROTOCOL);
	assert_int_equal(r.res.http_status, 0);
}

static void
test_truncated_body(void **state)
{
	struct raw_srv *s = raw_start(RAW_SCRIPT,
	    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", 4096, 0);
	char url[128];
	struct rec r;

	(void)state;
	url_for(url, sizeof(url), "http", s->port, "/");
	probe_one(url, 3000, &set_200, NULL, &r);
	assert_int_equal(r.res.err, PROBE_ERR_PROTOCOL);
	assert_int_equal(r.res.http_status, 200);
}

static void
test_body_split_across_reads(void **state)
{
#define SPLIT_HEAD "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n" \
	    "Connection: close\r\n\r\n"
	struct raw_srv *s;
	char url[128];
	struct rec r;

	(void)state;
	/* "xxMARK" now, "ER-7f3ayyyy" 100 ms later */
	s = raw_start(RAW_SCRIPT, SPLIT_HEAD "xxMARKER-7f3ayy",
	    strlen(SPLIT_HEAD) + 6, 100);
#undef SPLIT_HEAD
	url_for(url, sizeof(url), "http", s->port, "/");
	probe_one(url, 3000, &set_200, MARKER, &r);
	assert_true(r.res.ok);
	/* the second half came a timer later (libevent's cached clock may
	 * make that a little under 100 ms) */
	assert_true(r.res.ms >= 50);
}

static void
test_reset(void **state)
{
	struct raw_srv *s = raw_start(RAW_RESET, NULL, 0, 0);
	char url[128];
	struct rec r;

	(void)state;
	url_for(url, sizeof(url), "http", s->port, "/");
	probe_one(url, 3000, &set_200, NULL, &r);
	assert_int_equal(s->accepted, 1);
	assert_int_equal(r.res.err, PROBE_ERR_CONNECT);
}

static void
test_refused(void **state)
{
	char url[128];
	struct rec r;

	(void)state;
	/* on a handle that just saw a 200: nothing carries over */
	probe_path("/ok", &set_200, NULL, &r);
	assert_true(r.res.ok);
	url_for(url, sizeof(url), "http", refused_port(), "/");
	probe_one(url, 3000, &set_200, NULL, &r);
	assert_int_equal(r.res.err, PROBE_ERR_CONNECT);
	assert_int_equal(r.res.http_status, 0);
	assert_string_equal(r.res.detail, "connection refused");
	assert_true(r.res.ms < 3000);
}

static void
test_scheme_and_url(void **state)
{
	char url[128];
	struct rec r;

	(void)state;
	url_for(url, sizeof(url), "ftp", fx.http_port, "/ok");
	probe_one(url, 3000, &set_200, NULL, &r);
	assert_int_equal(r.res.err, PROBE_ERR_OTHER);
	probe_one("file:///etc/passwd", 3000, &set_200, NULL, &r);
	assert_int_equal(r.res.err, PROBE_ERR_OTHER);
	probe_one("http://", 3000, &set_200, NULL, &r);
	assert_int_equal(r.res.err, PROBE_ERR_OTHER);
	assert_int_equal(fx.ok_hits, 0);
}

static void
test_tls(void **state)
{
	struct probe_spec spec = { .timeout_ms = 3000, .expect_status = &set_200,
	    .tls_verify = true };
	char url[128];
	struct rec r;

	(void)state;
	/* TLS spoken to a plain-HTTP server */
	url_for(url, sizeof(url), "https", fx.http_port, "/ok");
	spec.url = url;
	spec.ca_file = "/nonexistent/yaoki-ca.pem";
	memset(&r, 0, sizeof(r));
	assert_non_null(probe_start(fx.pe, &spec, rec_done, &r));
	run_until(fx.done_total + 1, 5);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.res.err, PROBE_ERR_TLS);
	assert_detail_clean(&r.res);
	assert_non_null(strstr(r.res.detail, "yaoki-ca.pem"));
	/* the reused handle is back on the system CA store */
	probe_one(url, 3000, &set_200, NULL, &r);
	assert_int_equal(r.res.err, PROBE_ERR_TLS);
	assert_null(strstr(r.res.detail, "yaoki-ca.pem"));
	assert_int_equal(fx.ok_hits, 0);
}

/* ---- the engine's promises ---------------------------------------------- */

static void
test_env_proxy_ignored(void **state)
{
	char proxy[64];
	struct rec r;

	(void)state;
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", refused_port());
	setenv("http_proxy", proxy, 1);
	setenv("HTTP_PROXY", proxy, 1);
	setenv("all_proxy", proxy, 1);
	setenv("ALL_PROXY", proxy, 1);
	probe_path("/ok", &set_200, NULL, &r);
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	assert_true(r.res.ok);
	assert_int_equal(fx.ok_hits, 1);
}

static void
test_fresh_connection_each_probe(void **state)
{
	struct rec r;

	(void)state;
	probe_path("/ok", &set_200, NULL, &r);
	assert_true(r.res.ok);
	probe_path("/ok", &set_200, NULL, &r);
	assert_true(r.res.ok);
	probe_path("/ok", &set_200, NULL, &r);
	assert_true(r.res.ok);
	assert_int_equal(fx.ok_hits, 3);
	assert_int_not_equal(fx.ok_ports[0], fx.ok_ports[1]);
	assert_int_not_equal(fx.ok_ports[1], fx.ok_ports[2]);
}

/* The probe's socket is the one whose peer is the hang server. */
static int
count_probe_sockets(int port, int *cloexec)
{
	struct sockaddr_in sin;
	socklen_t len;
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	*cloexec = 0;
	d = opendir("/proc/self/fd");
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		fd = atoi(de->d_name);
		len = sizeof(sin);
		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		if (getpeername(fd, (struct sockaddr *)&sin, &len) == -1 ||
		    sin.sin_family != AF_INET || ntohs(sin.sin_port) != port)
			continue;
		n++;
		if (fcntl(fd, F_GETFD) & FD_CLOEXEC)
			(*cloexec)++;
	}
	closedir(d);
	return n;
}

static void
test_sockets_close_on_exec(void **state)
{
	struct raw_srv *s = raw_start(RAW_HANG, NULL, 0, 0);
	struct rec r = { 0 };
	char url[128];
	double deadline = yk_now_s() + 5;
	int cloexec;

	(void)state;
	url_for(url, sizeof(url), "http", s->port, "/");
	start(url, 5000, &set_200, NULL, &r);
	while (s->accepted == 0 && yk_now_s() < deadline)
		run_for(0.02);
	assert_int_equal(s->accepted, 1);
	assert_int_equal(count_probe_sockets(s->port, &cloexec), 1);
	assert_int_equal(cloexec, 1);
	assert_int_equal(r.calls, 0);
}

static void
test_cancel(void **state)
{
	struct raw_srv *s = raw_start(RAW_HANG, NULL, 0, 0);
	struct rec early = { 0 }, mid = { 0 }, control = { 0 };
	struct probe *p_early, *p_mid;
	char url[128], ok[128];
	double deadline = yk_now_s() + 5;

	(void)state;
	url_for(url, sizeof(url), "http", s->port, "/");
	url_for(ok, sizeof(ok), "http", fx.http_port, "/ok");
	/* before the loop ever ran */
	p_early = start(url, 300, &set_200, NULL, &early);
	probe_cancel(p_early);
	/* while connected */
	p_mid = start(url, 300, &set_200, NULL, &mid);
	while (s->accepted < 1 && yk_now_s() < deadline)
		run_for(0.02);
	assert_int_equal(s->accepted, 1);
	probe_cancel(p_mid);
	/* the engine still works, and the cancelled ones stay silent */
	start(ok, 3000, &set_200, NULL, &control);
	run_for(0.8);
	assert_int_equal(control.calls, 1);
	assert_true(control.res.ok);
	assert_int_equal(early.calls, 0);
	assert_int_equal(mid.calls, 0);
	assert_int_equal(fx.done_total, 1);
	/* and its connection was closed, not leaked */
	assert_int_equal(s->closed, 1);
}

static void
test_cancel_from_callback(void **state)
{
	struct raw_srv *s = raw_start(RAW_HANG, NULL, 0, 0);
	struct rec fast = { 0 }, slow = { 0 };
	char url[128], refused[128];

	(void)state;
	url_for(url, sizeof(url), "http", s->port, "/");
	url_for(refused, sizeof(refused), "http", refused_port(), "/");
	fast.cancel = start(url, 300, &set_200, NULL, &slow);
	start(refused, 3000, &set_200, NULL, &fast);
	run_for(0.8);
	assert_int_equal(fast.calls, 1);
	assert_int_equal(fast.res.err, PROBE_ERR_CONNECT);
	assert_int_equal(slow.calls, 0);
}

static void
test_free_with_probes_in_flight(void **state)
{
	struct raw_srv *s = raw_start(RAW_HANG, NULL, 0, 0);
	struct rec r[3];
	char url[128];
	double deadline = yk_now_s() + 5;
	int i;

	(void)state;
	memset(r, 0, sizeof(r));
	url_for(url, sizeof(url), "http", s->port, "/");
	for (i = 0; i < 3; i++)
		start(url, 300, &set_200, NULL, &r[i]);
	while (s->accepted < 3 && yk_now_s() < deadline)
		run_for(0.02);
	assert_int_equal(s->accepted, 3);
	probe_engine_free(fx.pe);
	fx.pe = NULL;
	run_for(0.6);
	for (i = 0; i < 3; i++)
		assert_int_equal(r[i].calls, 0);
	assert_int_equal(s->closed, 3);
}

static void
test_many_concurrent(void **state)
{
	struct raw_srv *s = raw_start(RAW_HANG, NULL, 0, 0);
	static struct rec r[NCONC];
	char hang[128], ok[128];
	const uint64_t timeout_ms = 2500;
	double t0;
	int i;

	(void)state;
	memset(r, 0, sizeof(r));
	url_for(hang, sizeof(hang), "http", s->port, "/");
	url_for(ok, sizeof(ok), "http", fx.http_port, "/ok");
	t0 = yk_now_s();
	for (i = 0; i < NCONC; i++)
		start(i % 2 ? ok : hang, timeout_ms, &set_200, NULL, &r[i]);
	run_until(NCONC, timeout_ms / 1000.0 + 3);
	assert_int_equal(fx.done_total, NCONC);
	for (i = 0; i < NCONC; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_false(r[i].from_start);
		if (i % 2) {
			assert_true(r[i].res.ok);
			/* not held up by the hung ones */
			assert_true((r[i].at - t0) * 1000.0 < timeout_ms / 2.0);
		} else {
			assert_int_equal(r[i].res.err, PROBE_ERR_TIMEOUT);
			assert_true((r[i].at - t0) * 1000.0 >= timeout_ms - 5);
		}
	}
	assert_int_equal(fx.ok_hits, NCONC / 2);
	assert_int_equal(s->accepted, NCONC / 2);
}

static void
test_error_names(void **state)
{
	enum probe_error e, f;

	(void)state;
	assert_string_equal(probe_error_name(PROBE_OK), "ok");
	assert_string_equal(probe_error_name(PROBE_ERR_CONNECT), "connect");
	assert_string_equal(probe_error_name(PROBE_ERR_TIMEOUT), "timeout");
	assert_string_equal(probe_error_name(PROBE_ERR_STATUS), "status");
	assert_string_equal(probe_error_name(PROBE_ERR_BODY), "body");
	assert_string_equal(probe_error_name(PROBE_ERR_PROTOCOL), "protocol");
	assert_string_equal(probe_error_name(PROBE_ERR_TLS), "tls");
	for (e = PROBE_OK; e <= PROBE_ERR_OTHER; e++)
		for (f = e + 1; f <= PROBE_ERR_OTHER; f++)
			assert_string_not_equal(probe_error_name(e),
			    probe_error_name(f));
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ok),
		T(test_status_500),
		T(test_redirect_not_followed),
		T(test_default_status_set),
		T(test_body),
		T(test_big_body_not_downloaded),
		T(test_large_body_text_early),
		T(test_hang_times_out),
		T(test_trickled_headers_time_out),
		T(test_garbage),
		T(test_early_close),
		T(test_truncated_body),
		T(test_body_split_across_reads),
		T(test_reset),
		T(test_refused),
		T(test_scheme_and_url),
		T(test_tls),
		T(test_env_proxy_ignored),
		T(test_fresh_connection_each_probe),
		T(test_sockets_close_on_exec),
		T(test_cancel),
		T(test_cancel_from_callback),
		T(test_free_with_probes_in_flight),
		T(test_many_concurrent),
		cmocka_unit_test(test_error_names),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
