/*
 * http.c - the HTTP(S) probe engine: libcurl's multi socket API driven by
 * the daemon's libevent loop (the shape of curl's hiperfifo example).
 *
 * Owns one curl multi handle, one libevent timer (armed only through the
 * multi timer callback), one libevent event per socket curl is watching,
 * a free list of configured easy handles so a probe every second for
 * thousands of domains costs no handle setup, and (when its engine is the
 * first to initialise libcurl) the size-class cache curl allocates from. It
 * judges one response (status, first 64 KiB of body) and reports one
 * verdict per start.
 *
 * It must never block, never call `done` from inside probe_start (every
 * verdict comes from the loop), never follow a redirect, never use a proxy
 * from the environment, never reuse a connection (a kept-alive connection
 * would hide a guest that stopped accepting), never buffer a body (the
 * expected text is searched while streaming), and never log on the hot path
 * above debug level. It knows nothing about recovery. A done callback may
 * start and cancel probes, but must not free the engine.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "clock.h"
#include "status_set.h"
#include "log.h"
#include "probe.h"
#include "text.h"

#define PROBE_BODY_MAX		(64 * 1024)
#define PROBE_HEADERS_MAX	(64 * 1024)	/* all header lines together */
/*
 * curl's receive buffer, allocated for every transfer: its 16 KiB default is
 * a large malloc per probe (and 16 KiB held by each hung guest). Health
 * answers are small; a big body only takes more reads.
 */
#define PROBE_RECV_BUF		4096L
/* Idle easy handles kept for reuse; a burst beyond this is given back. */
#define PROBE_IDLE_MAX		16
#define PROBE_USER_AGENT	"yaoki/" PACKAGE_VERSION

struct probe {
	TAILQ_ENTRY(probe)	 entry;		/* pe->running or pe->idle */
	struct probe_engine	*pe;
	CURL			*easy;
	bool			 running;
	bool			 custom_ca;	/* CAINFO/CAPATH moved off the defaults */
	bool			 scheme_ok;	/* url is http:// or https:// */

	probe_done_fn		*done;
	void			*arg;
	double			 start;		/* yk_now_s() */
	uint64_t		 timeout_ms;
	struct yk_status_set	 status;

	/* expect_body, searched while streaming (Knuth-Morris-Pratt) */
	bool			 want_body;
	bool			 body_found;
	bool			 body_capped;	/* we stopped the transfer at the limit */
	size_t			 body_len;
	bool			 headers_capped; /* the guest sent too many header bytes */
	size_t			 headers_len;
	char			*needle;
	uint32_t		*fail;		/* KMP failure function of needle */
	size_t			 nlen;
	size_t			 ncap;
	size_t			 match;		/* bytes of needle matched so far */

	char			 errbuf[CURL_ERROR_SIZE];
};

TAILQ_HEAD(probeq, probe);

/* One libevent event per socket curl watches; recycled, never per probe. */
struct probe_sock {
	LIST_ENTRY(probe_sock)	 entry;		/* pe->socks_busy or pe->socks_idle */
	struct probe_engine	*pe;
	struct event		*ev;
	curl_socket_t		 fd;
};

struct probe_engine {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	int			 still_running;
	struct probeq		 running;
	struct probeq		 idle;
	unsigned		 nidle;
	LIST_HEAD(, probe_sock)	 socks_busy;
	LIST_HEAD(, probe_sock)	 socks_idle;
};

static int	 probe_multi_socket_cb(CURL *, curl_socket_t, int, void *, void *);
static int	 probe_multi_timer_cb(CURLM *, long, void *);
static void	 probe_sock_event_cb(int, short, void *);
static void	 probe_timer_event_cb(int, short, void *);
static void	 probe_collect(struct probe_engine *);
static struct probe_sock *probe_sock_get(struct probe_engine *);
static void	 probe_sock_put(struct probe_sock *);
static int	 probe_sock_watch(struct probe_sock *, curl_socket_t, int);
static curl_socket_t probe_open_socket(void *, curlsocktype,
		    struct curl_sockaddr *);
static size_t	 probe_body_cb(char *, size_t, size_t, void *);
static size_t	 probe_header_cb(char *, size_t, size_t, void *);
static void	 probe_body_scan(struct probe *, const char *, size_t);
static int	 probe_needle_set(struct probe *, const char *);
static struct probe *probe_get(struct probe_engine *);
static void	 probe_put(struct probe *);
static void	 probe_destroy(struct probe *);
static int	 probe_easy_common(struct probe *);
static int	 probe_easy_spec(struct probe *, const struct probe_spec *);
static bool	 probe_url_ip_literal(const char *);
static void	 probe_verdict(struct probe *, CURLcode, struct probe_result *);
static void	 probe_verdict_curl(struct probe *, CURLcode,
		    struct probe_result *);
static void	 probe_detail(struct probe_result *, const char *, ...)
		    YK_PRINTF(2, 3);
static const char *probe_errno_text(long);

static void	*pm_malloc(size_t);
static void	 pm_free(void *);
static void	*pm_realloc(void *, size_t);
static char	*pm_strdup(const char *);
static void	*pm_calloc(size_t, size_t);
static void	 pm_flush(void);
/* True on the thread that set up an engine: the one that may cache. */
static _Thread_local bool pm_owner;

static const struct yk_status_set probe_default_status = {
	.n = 1, .r = { { 200, 399 } },
};

/* ---- engine ------------------------------------------------------------- */

struct probe_engine *
probe_engine_new(struct event_base *base)
{
	struct probe_engine *pe;

	/*
	 * curl takes these only when it is not initialised yet (otherwise it
	 * keeps what it has and counts one more user).
	 */
#if !defined(__SANITIZE_ADDRESS__)
	pm_owner = true;	/* under ASan, every block goes to malloc */
#endif
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, pm_malloc, pm_free,
	    pm_realloc, pm_strdup, pm_calloc) != CURLE_OK) {
		log_warnx("probe: curl_global_init failed");
		return NULL;
	}
	if ((pe = calloc(1, sizeof(*pe))) == NULL) {
		log_warn("probe: calloc");
		curl_global_cleanup();
		return NULL;
	}
	pe->base = base;
	TAILQ_INIT(&pe->running);
	TAILQ_INIT(&pe->idle);
	LIST_INIT(&pe->socks_busy);
	LIST_INIT(&pe->socks_idle);
	if ((pe->timer = evtimer_new(base, probe_timer_event_cb, pe)) == NULL)
		goto fail;
	if ((pe->multi = curl_multi_init()) == NULL)
		goto fail;
	if (curl_multi_setopt(pe->multi, CURLMOPT_SOCKETFUNCTION,
	    probe_multi_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(pe->multi, CURLMOPT_SOCKETDATA, pe) != CURLM_OK ||
	    curl_multi_setopt(pe->multi, CURLMOPT_TIMERFUNCTION,
	    probe_multi_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(pe->multi, CURLMOPT_TIMERDATA, pe) != CURLM_OK)
		goto fail;
	return pe;
fail:
	log_warnx("probe: cannot set up the curl multi handle");
	probe_engine_free(pe);
	return NULL;
}

void
probe_engine_free(struct probe_engine *pe)
{
	struct probe *p;
	struct probe_sock *s;

	if (pe == NULL)
		return;
	/* In-flight probes end here, silently: no callbacks. */
	while ((p = TAILQ_FIRST(&pe->running)) != NULL)
		probe_cancel(p);
	while ((p = TAILQ_FIRST(&pe->idle)) != NULL)
		probe_destroy(p);
	/* May still call the socket callback for cached connections. */
	if (pe->multi != NULL)
		curl_multi_cleanup(pe->multi);
	while ((s = LIST_FIRST(&pe->socks_busy)) != NULL)
		probe_sock_put(s);
	while ((s = LIST_FIRST(&pe->socks_idle)) != NULL) {
		LIST_REMOVE(s, entry);
		event_free(s->ev);
		free(s);
	}
	if (pe->timer != NULL)
		event_free(pe->timer);
	free(pe);
	curl_global_cleanup();
	pm_flush();
}

/* ---- curl's memory ------------------------------------------------------ */

/*
 * libcurl allocates and frees some 80 blocks per transfer (the connection,
 * its filters, header and URL strings, the receive buffer). glibc serves the
 * first few of each size from its thread cache; the rest cycle through its
 * fast bins, and every block of 1 KiB or more (the connection, the buffer)
 * first consolidates those bins: at thousands of probes a second that is
 * the largest user-space cost of a probe. So curl's blocks come from here:
 * a few size classes, each with a bounded list of free blocks, used only by
 * the thread that set up the engine (curl's resolver threads, if any, go
 * straight to malloc). Every block carries a header naming its class, so a
 * block can be freed by any thread and reused by the owner.
 */
#define PM_DIRECT	UINT32_MAX

struct pm_hdr {
	alignas(16) uint32_t	 cls;	/* index into pm_class, or PM_DIRECT */
};

struct pm_free {
	struct pm_free		*next;
};

static const size_t pm_class[] = {
	32, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072,
	PROBE_RECV_BUF + 64, 8192,
};
#define PM_NCLASS	(sizeof(pm_class) / sizeof(pm_class[0]))
/* Free blocks kept per class: small ones, and those of 1 KiB or more. */
#define PM_KEEP_SMALL	64
#define PM_KEEP_LARGE	16

static struct pm_free		*pm_list[PM_NCLASS];
static unsigned			 pm_count[PM_NCLASS];

static void *
pm_malloc(size_t len)
{
	struct pm_hdr *h;
	struct pm_free *f;
	uint32_t c;

	for (c = 0; c < PM_NCLASS && pm_class[c] < len; c++)
		continue;
	if (c == PM_NCLASS) {
		if (len > SIZE_MAX - sizeof(*h) ||
		    (h = malloc(sizeof(*h) + len)) == NULL)
			return NULL;
		h->cls = PM_DIRECT;
		return h + 1;
	}
	if (pm_owner && (f = pm_list[c]) != NULL) {
		pm_list[c] = f->next;
		pm_count[c]--;
		return f;
	}
	if ((h = malloc(sizeof(*h) + pm_class[c])) == NULL)
		return NULL;
	h->cls = c;
	return h + 1;
}

static void
pm_free(void *ptr)
{
	struct pm_hdr *h;
	struct pm_free *f = ptr;
	uint32_t c;

	if (ptr == NULL)
		return;
	h = (struct pm_hdr *)ptr - 1;
	c = h->cls;
	if (c != PM_DIRECT && pm_owner && pm_count[c] <
	    (pm_class[c] < 1024 ? PM_KEEP_SMALL : PM_KEEP_LARGE)) {
		f->next = pm_list[c];
		pm_list[c] = f;
		pm_count[c]++;
		return;
	}
	free(h);
}

static void *
pm_realloc(void *ptr, size_t len)
{
	struct pm_hdr *h;
	size_t have;
	void *n;

	if (ptr == NULL)
		return pm_malloc(len);
	h = (struct pm_hdr *)ptr - 1;
	if (h->cls == PM_DIRECT) {
		if (len > SIZE_MAX - sizeof(*h) ||
		    (h = realloc(h, sizeof(*h) + len)) == NULL)
			return NULL;
		return h + 1;
	}
	if (len <= (have = pm_class[h->cls]))
		return ptr;
	if ((n = pm_malloc(len)) == NULL)
		return NULL;
	memcpy(n, ptr, have);
	pm_free(ptr);
	return n;
}

static char *
pm_strdup(const char *str)
{
	size_t len = strlen(str) + 1;
	char *n;

	if ((n = pm_malloc(len)) != NULL)
		memcpy(n, str, len);
	return n;
}

static void *
pm_calloc(size_t nmemb, size_t size)
{
	void *n;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	if ((n = pm_malloc(nmemb * size)) != NULL)
		memset(n, 0, nmemb * size);
	return n;
}

/* Gives the cached free blocks back to malloc. */
static void
pm_flush(void)
{
	struct pm_free *f;
	size_t c;

	if (!pm_owner)
		return;
	for (c = 0; c < PM_NCLASS; c++) {
		while ((f = pm_list[c]) != NULL) {
			pm_list[c] = f->next;
			free((struct pm_hdr *)(void *)f - 1);
		}
		pm_count[c] = 0;
	}
}

/* ---- curl <-> libevent glue --------------------------------------------- */

static int
probe_multi_socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg,
    void *sockp)
{
	struct probe_engine *pe = arg;
	struct probe_sock *s = sockp;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL)
			probe_sock_put(s);
		return 0;
	}
	if (s == NULL) {
		if ((s = probe_sock_get(pe)) == NULL)
			return -1;
		if (curl_multi_assign(pe->multi, fd, s) != CURLM_OK) {
			probe_sock_put(s);
			return -1;
		}
	}
	return probe_sock_watch(s, fd, what);
}

static int
probe_multi_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct probe_engine *pe = arg;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(pe->timer);
	/* Even a 0 ms timeout goes through the loop: curl is not re-entrant. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(pe->timer, &tv);
}

static void
probe_sock_event_cb(int fd, short events, void *arg)
{
	struct probe_sock *s = arg;
	struct probe_engine *pe = s->pe;
	int flags = 0;

	if (events & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (events & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	/* s may be recycled inside this call; only pe is used afterwards. */
	curl_multi_socket_action(pe->multi, fd, flags, &pe->still_running);
	probe_collect(pe);
}

static void
probe_timer_event_cb(int fd, short events, void *arg)
{
	struct probe_engine *pe = arg;

	(void)fd;
	(void)events;
	curl_multi_socket_action(pe->multi, CURL_SOCKET_TIMEOUT, 0,
	    &pe->still_running);
	probe_collect(pe);
}

static struct probe_sock *
probe_sock_get(struct probe_engine *pe)
{
	struct probe_sock *s;

	if ((s = LIST_FIRST(&pe->socks_idle)) != NULL) {
		LIST_REMOVE(s, entry);
	} else {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return NULL;
		/* Assigned for real in probe_sock_watch. */
		s->ev = event_new(pe->base, -1, 0, probe_sock_event_cb, s);
		if (s->ev == NULL) {
			free(s);
			return NULL;
		}
		s->pe = pe;
	}
	s->fd = CURL_SOCKET_BAD;
	LIST_INSERT_HEAD(&pe->socks_busy, s, entry);
	return s;
}

static void
probe_sock_put(struct probe_sock *s)
{
	event_del(s->ev);
	s->fd = CURL_SOCKET_BAD;
	LIST_REMOVE(s, entry);
	LIST_INSERT_HEAD(&s->pe->socks_idle, s, entry);
}

static int
probe_sock_watch(struct probe_sock *s, curl_socket_t fd, int what)
{
	short events = EV_PERSIST;

	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	event_del(s->ev);
	s->fd = fd;
	if (event_assign(s->ev, s->pe->base, fd, events, probe_sock_event_cb,
	    s) == -1)
		return -1;
	return event_add(s->ev, NULL);
}

/* Every probe socket is close-on-exec: hooks must not inherit them. */
static curl_socket_t
probe_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	(void)arg;
	(void)purpose;
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC,
	    addr->protocol);
}

/* Finished transfers: release each handle first, then report. */
static void
probe_collect(struct probe_engine *pe)
{
	struct probe_result res;
	struct probe *p;
	probe_done_fn *done;
	CURLMsg *msg;
	CURLcode rc;
	void *arg, *priv;
	int left;

	while ((msg = curl_multi_info_read(pe->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		if ((p = priv) == NULL || !p->running)
			fatalx("probe: finished transfer without a probe");
		probe_verdict(p, rc, &res);
		done = p->done;
		arg = p->arg;
		curl_multi_remove_handle(pe->multi, p->easy);
		probe_put(p);
		if (!res.ok)
			log_debug("probe: %s: %s", probe_error_name(res.err),
			    res.detail);
		/* done may start or cancel probes; nothing of p is used after. */
		done(arg, &res);
	}
}

/* ---- probes ------------------------------------------------------------- */

struct probe *
probe_start(struct probe_engine *pe, const struct probe_spec *spec,
    probe_done_fn *done, void *arg)
{
	struct probe *p;

	if (spec == NULL || spec->url == NULL || done == NULL)
		return NULL;
	if ((p = probe_get(pe)) == NULL)
		return NULL;
	if (probe_easy_spec(p, spec) == -1 ||
	    probe_needle_set(p, spec->expect_body) == -1)
		goto fail;
	p->status = spec->expect_status != NULL ? *spec->expect_status :
	    probe_default_status;
	p->done = done;
	p->arg = arg;
	p->body_len = 0;
	p->body_capped = false;
	p->headers_len = 0;
	p->headers_capped = false;
	p->match = 0;
	p->errbuf[0] = '\0';
	p->start = yk_now_s();
	/* Only arms the timer: the transfer itself starts from the loop. */
	if (curl_multi_add_handle(pe->multi, p->easy) != CURLM_OK)
		goto fail;
	p->running = true;
	TAILQ_REMOVE(&pe->idle, p, entry);
	pe->nidle--;
	TAILQ_INSERT_TAIL(&pe->running, p, entry);
	return p;
fail:
	log_warnx("probe: cannot set up a probe of %s", spec->url);
	return NULL;
}

void
probe_cancel(struct probe *p)
{
	if (p == NULL || !p->running)
		return;
	/* Closes its connection; curl drops its sockets via the callback. */
	curl_multi_remove_handle(p->pe->multi, p->easy);
	probe_put(p);
}

/* An idle probe with a configured easy handle; it stays on pe->idle. */
static struct probe *
probe_get(struct probe_engine *pe)
{
	struct probe *p;

	if ((p = TAILQ_FIRST(&pe->idle)) != NULL)
		return p;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("probe: calloc");
		return NULL;
	}
	p->pe = pe;
	if ((p->easy = curl_easy_init()) == NULL || probe_easy_common(p) == -1) {
		log_warnx("probe: cannot set up a curl easy handle");
		if (p->easy != NULL)
			curl_easy_cleanup(p->easy);
		free(p);
		return NULL;
	}
	TAILQ_INSERT_HEAD(&pe->idle, p, entry);
	pe->nidle++;
	return p;
}

static void
probe_put(struct probe *p)
{
	struct probe_engine *pe = p->pe;

	p->running = false;
	p->done = NULL;
	p->arg = NULL;
	TAILQ_REMOVE(&pe->running, p, entry);
	TAILQ_INSERT_HEAD(&pe->idle, p, entry);
	pe->nidle++;
	/* After a burst (many hung guests), keep only a working set. */
	if (pe->nidle > PROBE_IDLE_MAX)
		probe_destroy(TAILQ_LAST(&pe->idle, probeq));
}

/* Frees an idle probe and its easy handle. */
static void
probe_destroy(struct probe *p)
{
	struct probe_engine *pe = p->pe;

	TAILQ_REMOVE(&pe->idle, p, entry);
	pe->nidle--;
	curl_easy_cleanup(p->easy);
	free(p->needle);
	free(p->fail);
	free(p);
}

#define SETOPT(e, opt, val)	(curl_easy_setopt((e), (opt), (val)) == CURLE_OK)

/* What every probe shares; set once per easy handle (and after a reset). */
static int
probe_easy_common(struct probe *p)
{
	CURL *e = p->easy;
	bool ok = true;

	ok = ok && SETOPT(e, CURLOPT_PRIVATE, p);
	ok = ok && SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	ok = ok && SETOPT(e, CURLOPT_ERRORBUFFER, p->errbuf);
	ok = ok && SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
	ok = ok && SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	ok = ok && SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
	/* "" disables proxies, including http_proxy & co. from the env. */
	ok = ok && SETOPT(e, CURLOPT_PROXY, "");
	ok = ok && SETOPT(e, CURLOPT_NOPROXY, "*");
	ok = ok && SETOPT(e, CURLOPT_FRESH_CONNECT, 1L);
	ok = ok && SETOPT(e, CURLOPT_FORBID_REUSE, 1L);
	/* One request per connection: HTTP/2 would only add work. */
	ok = ok && SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	ok = ok && SETOPT(e, CURLOPT_BUFFERSIZE, PROBE_RECV_BUF);
	ok = ok && SETOPT(e, CURLOPT_USERAGENT, PROBE_USER_AGENT);
	/* CURLOPT_ACCEPT_ENCODING stays unset: no Accept-Encoding, no inflating. */
	ok = ok && SETOPT(e, CURLOPT_OPENSOCKETFUNCTION, probe_open_socket);
	ok = ok && SETOPT(e, CURLOPT_OPENSOCKETDATA, p);
	ok = ok && SETOPT(e, CURLOPT_WRITEFUNCTION, probe_body_cb);
	ok = ok && SETOPT(e, CURLOPT_WRITEDATA, p);
	ok = ok && SETOPT(e, CURLOPT_HEADERFUNCTION, probe_header_cb);
	ok = ok && SETOPT(e, CURLOPT_HEADERDATA, p);
	p->custom_ca = false;
	return ok ? 0 : -1;
}

/* What differs between probes; set on every start. */
static int
probe_easy_spec(struct probe *p, const struct probe_spec *spec)
{
	CURL *e = p->easy;
	uint64_t t = spec->timeout_ms;
	bool ok = true, https;

	/* Back to the system CA store takes a reset: there is no "unset". */
	if (spec->ca_file == NULL && p->custom_ca) {
		curl_easy_reset(e);
		if (probe_easy_common(p) == -1)
			return -1;
	}
	if (t == 0)
		t = 1;		/* 0 would mean "no timeout" to curl */
	if (t > (uint64_t)LONG_MAX)
		t = (uint64_t)LONG_MAX;
	p->timeout_ms = t;
	https = strncasecmp(spec->url, "https://", 8) == 0;
	p->scheme_ok = https || strncasecmp(spec->url, "http://", 7) == 0;
	ok = ok && SETOPT(e, CURLOPT_URL, spec->url);
	/*
	 * curl walks its whole DNS cache (one entry per guest) at the end of
	 * every transfer to prune it, unless entries never expire. An address
	 * literal cannot go stale: cache it "forever" and skip the walk. Host
	 * names keep curl's default of 60 s.
	 */
	ok = ok && SETOPT(e, CURLOPT_DNS_CACHE_TIMEOUT,
	    probe_url_ip_literal(spec->url) ? -1L : 60L);
	ok = ok && SETOPT(e, CURLOPT_TIMEOUT_MS, (long)t);
	/*
	 * Plain HTTP writes its one request in one send(), which Nagle never
	 * delays: TCP_NODELAY would only cost a setsockopt per probe. TLS
	 * writes several records in a row, so it keeps it.
	 */
	ok = ok && SETOPT(e, CURLOPT_TCP_NODELAY, https ? 1L : 0L);
	ok = ok && SETOPT(e, CURLOPT_SSL_VERIFYPEER, spec->tls_verify ? 1L : 0L);
	ok = ok && SETOPT(e, CURLOPT_SSL_VERIFYHOST, spec->tls_verify ? 2L : 0L);
	if (spec->ca_file != NULL) {
		/* Only this bundle is trusted, not the system directory too. */
		ok = ok && SETOPT(e, CURLOPT_CAINFO, spec->ca_file);
		ok = ok && SETOPT(e, CURLOPT_CAPATH, (char *)NULL);
		p->custom_ca = true;
	}
	return ok ? 0 : -1;
}

#undef SETOPT

/* Is the URL's host an IPv4 or IPv6 address (not a name to resolve)? */
static bool
probe_url_ip_literal(const char *url)
{
	struct in_addr a4;
	const char *h, *e, *at;
	char host[INET_ADDRSTRLEN];
	size_t n;

	if ((h = strstr(url, "://")) == NULL)
		return false;
	h += 3;
	n = strcspn(h, "/?#");
	/* Skip user:password@, whose text may hold any of ":[]". */
	if ((at = memrchr(h, '@', n)) != NULL) {
		n -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	if (n > 0 && h[0] == '[')
		return memchr(h, ']', n) != NULL;
	if ((e = memchr(h, ':', n)) != NULL)
		n = (size_t)(e - h);
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	return inet_pton(AF_INET, host, &a4) == 1;
}

/* ---- body --------------------------------------------------------------- */

static int
probe_needle_set(struct probe *p, const char *text)
{
	size_t n, i, k;
	char *nb;
	uint32_t *nf;

	p->want_body = text != NULL;
	p->nlen = 0;
	p->body_found = true;
	if (text == NULL)
		return 0;
	if ((n = strlen(text)) > UINT32_MAX - 1)
		return -1;
	if (n + 1 > p->ncap) {
		if ((nb = realloc(p->needle, n + 1)) == NULL)
			return -1;
		p->needle = nb;
		if ((nf = reallocarray(p->fail, n + 1, sizeof(*nf))) == NULL)
			return -1;
		p->fail = nf;
		p->ncap = n + 1;
	}
	memcpy(p->needle, text, n + 1);
	p->nlen = n;
	p->body_found = n == 0;
	if (n == 0)
		return 0;
	p->fail[0] = 0;
	for (i = 1, k = 0; i < n; i++) {
		while (k > 0 && text[i] != text[k])
			k = p->fail[k - 1];
		if (text[i] == text[k])
			k++;
		p->fail[i] = (uint32_t)k;
	}
	return 0;
}

static void
probe_body_scan(struct probe *p, const char *data, size_t len)
{
	size_t i, q = p->match;

	for (i = 0; i < len; i++) {
		while (q > 0 && data[i] != p->needle[q])
			q = p->fail[q - 1];
		if (data[i] == p->needle[q])
			q++;
		if (q == p->nlen) {
			p->body_found = true;
			return;
		}
	}
	p->match = q;
}

/*
 * Body bytes are searched, counted and dropped. At 64 KiB the transfer is
 * stopped (returning short makes curl abort with CURLE_WRITE_ERROR, which
 * probe_verdict turns back into a complete response).
 */
static size_t
probe_body_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct probe *p = arg;
	size_t len = size * nmemb, take = len;

	if (take > PROBE_BODY_MAX - p->body_len)
		take = PROBE_BODY_MAX - p->body_len;
	if (!p->body_found)
		probe_body_scan(p, data, take);
	p->body_len += take;
	if (take < len || p->body_len >= PROBE_BODY_MAX) {
		p->body_capped = true;
		return 0;
	}
	return len;
}

/*
 * Header lines are only counted: a guest that sends more than 64 KiB of
 * them is not a working web server, and is stopped there.
 */
static size_t
probe_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct probe *p = arg;
	size_t len = size * nmemb;

	(void)data;
	p->headers_len += len;
	if (p->headers_len > PROBE_HEADERS_MAX) {
		p->headers_capped = true;
		return 0;
	}
	return len;
}

/* ---- verdicts ----------------------------------------------------------- */

static void
probe_verdict(struct probe *p, CURLcode rc, struct probe_result *res)
{
	long code = 0;

	memset(res, 0, sizeof(*res));
	res->ms = (yk_now_s() - p->start) * 1000.0;
	if (res->ms < 0)
		res->ms = 0;
	if (curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &code) ==
	    CURLE_OK)
		res->http_status = code;
	if (rc == CURLE_WRITE_ERROR && p->headers_capped) {
		res->err = PROBE_ERR_PROTOCOL;
		probe_detail(res, "not a valid HTTP response: headers larger "
		    "than 64 KiB");
		return;
	}
	if (rc == CURLE_WRITE_ERROR && p->body_capped)
		rc = CURLE_OK;
	if (rc != CURLE_OK) {
		probe_verdict_curl(p, rc, res);
		return;
	}
	if (!yk_status_set_match(&p->status, code)) {
		res->err = PROBE_ERR_STATUS;
		probe_detail(res, "status %ld not in accepted set", code);
		return;
	}
	if (p->want_body && !p->body_found) {
		res->err = PROBE_ERR_BODY;
		probe_detail(res, "body does not contain expected text%s",
		    p->body_capped ? " (in the first 64 KiB)" : "");
		return;
	}
	res->ok = true;
	res->err = PROBE_OK;
}

static void
probe_verdict_curl(struct probe *p, CURLcode rc, struct probe_result *res)
{
	const char *why = p->errbuf[0] != '\0' ? p->errbuf :
	    curl_easy_strerror(rc);
	curl_off_t connected = 0;
	long oserr = 0;

	curl_easy_getinfo(p->easy, CURLINFO_OS_ERRNO, &oserr);
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(p->easy, CURLINFO_CONNECT_TIME_T, &connected);
		res->err = PROBE_ERR_TIMEOUT;
		probe_detail(res, "timed out after %llu ms %s",
		    (unsigned long long)p->timeout_ms,
		    connected == 0 ? "connecting" :
		    res->http_status == 0 ? "waiting for the response" :
		    "reading the body");
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		res->err = PROBE_ERR_CONNECT;
		probe_detail(res, "cannot resolve host: %s", why);
		break;
	case CURLE_OUT_OF_MEMORY:
		if (res->http_status == 0)
			goto other;
		/* curl refuses one header line longer than its buffer */
		res->err = PROBE_ERR_PROTOCOL;
		probe_detail(res, "not a valid HTTP response: header line too large");
		break;
	case CURLE_RECV_ERROR:
		if (res->http_status != 0 && oserr == 0) {
			/* the status line came; what followed was not HTTP */
			res->err = PROBE_ERR_PROTOCOL;
			probe_detail(res, "not a valid HTTP response: %s", why);
			break;
		}
		/* FALLTHROUGH */
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
		res->err = PROBE_ERR_CONNECT;
		if (probe_errno_text(oserr) != NULL)
			probe_detail(res, "%s", probe_errno_text(oserr));
		else
			probe_detail(res, "connection failed: %s", why);
		break;
	case CURLE_GOT_NOTHING:
		res->err = PROBE_ERR_PROTOCOL;
		probe_detail(res, "connection closed without a response");
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		if (!p->scheme_ok) {
			res->err = PROBE_ERR_OTHER;
			probe_detail(res, "unsupported URL scheme "
			    "(only http and https)");
			break;
		}
		/* an http(s) URL: the peer answered something else (HTTP/0.9) */
		res->err = PROBE_ERR_PROTOCOL;
		probe_detail(res, "not a valid HTTP response: %s", why);
		break;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_PARTIAL_FILE:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_RANGE_ERROR:
	case CURLE_TOO_MANY_REDIRECTS:
		res->err = PROBE_ERR_PROTOCOL;
		probe_detail(res, "not a valid HTTP response: %s", why);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		res->err = PROBE_ERR_TLS;
		probe_detail(res, "TLS: %s", why);
		break;
	case CURLE_URL_MALFORMAT:
		res->err = PROBE_ERR_OTHER;
		probe_detail(res, "invalid URL: %s", why);
		break;
	default:
	other:
		res->err = PROBE_ERR_OTHER;
		probe_detail(res, "%s", why);
		break;
	}
}

static const char *
probe_errno_text(long err)
{
	switch (err) {
	case ECONNREFUSED:
		return "connection refused";
	case ECONNRESET:
		return "connection reset";
	case EPIPE:
		return "connection reset (broken pipe)";
	case EHOSTUNREACH:
		return "host unreachable";
	case ENETUNREACH:
		return "network unreachable";
	case ETIMEDOUT:
		return "connection timed out";
	default:
		return NULL;
	}
}

/* One line of printable ASCII, whatever the guest (or OpenSSL) sent. */
static void
probe_detail(struct probe_result *res, const char *fmt, ...)
{
	va_list ap;
	char *c;

	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
	/* curl's messages may end in a newline: drop trailing blanks first */
	c = res->detail + strlen(res->detail);
	while (c > res->detail && (unsigned char)c[-1] <= ' ')
		*--c = '\0';
	yk_text_printable(res->detail, sizeof(res->detail), res->detail);
}

const char *
probe_error_name(enum probe_error err)
{
	switch (err) {
	case PROBE_OK:
		return "ok";
	case PROBE_ERR_CONNECT:
		return "connect";
	case PROBE_ERR_TIMEOUT:
		return "timeout";
	case PROBE_ERR_STATUS:
		return "status";
	case PROBE_ERR_BODY:
		return "body";
	case PROBE_ERR_PROTOCOL:
		return "protocol";
	case PROBE_ERR_TLS:
		return "tls";
	case PROBE_ERR_OTHER:
		return "other";
	}
	return "other";
}
