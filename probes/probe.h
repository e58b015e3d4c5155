/*
 * probe.h - the probe engine: concurrent HTTP(S) health probes on the
 * daemon's libevent loop (libcurl multi socket API).
 *
 * A probe knows HTTP and nothing about recovery: it reports one verdict per
 * start. It never blocks; a hung guest holds one transfer until its timeout
 * and delays nothing else. Scheduling (when to start) belongs to the caller.
 */
#ifndef YK_PROBE_H
#define YK_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "status_set.h"

struct event_base;
struct probe_engine;
struct probe;

struct probe_spec {
	const char *url;                         /* http:// or https:// */
	uint64_t timeout_ms;                     /* whole probe: connect + response */
	const struct yk_status_set *expect_status;
	const char *expect_body;                 /* NULL: no body check */
	bool tls_verify;
	const char *ca_file;                     /* NULL: system bundle */
};

enum probe_error {
	PROBE_OK = 0,
	PROBE_ERR_CONNECT,     /* refused, reset, unreachable, DNS */
	PROBE_ERR_TIMEOUT,
	PROBE_ERR_STATUS,      /* status not in expect_status */
	PROBE_ERR_BODY,        /* expect_body not found in the first 64 KiB */
	PROBE_ERR_PROTOCOL,    /* not valid HTTP, early close */
	PROBE_ERR_TLS,         /* handshake or certificate */
	PROBE_ERR_OTHER,
};

struct probe_result {
	bool ok;
	long http_status;      /* 0 when no status line was received */
	double ms;             /* from start to verdict */
	enum probe_error err;
	char detail[160];      /* one line, printable ASCII; "" when ok */
};

typedef void probe_done_fn(void *arg, const struct probe_result *res);

struct probe_engine *probe_engine_new(struct event_base *base);
void probe_engine_free(struct probe_engine *pe);   /* cancels what is running */

/*
 * Starts one probe. The spec is copied; done runs exactly once, later, from
 * the event loop (never from inside probe_start), unless the probe is
 * cancelled first. Returns NULL only when the probe cannot even be set up.
 */
struct probe *probe_start(struct probe_engine *pe, const struct probe_spec *spec,
    probe_done_fn *done, void *arg);
void probe_cancel(struct probe *p);                /* no callback after this */

/* Short name of an error kind: "connect", "timeout", "status", ... */
const char *probe_error_name(enum probe_error err);

#endif
