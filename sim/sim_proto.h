/*
 * sim_proto.h - yaoki-simhv's control socket (see sim/PROTOCOL.md): one JSON
 * request per line, one JSON reply per request (possibly out of order), and
 * the event stream.
 */
#ifndef SIM_PROTO_H
#define SIM_PROTO_H

#include <stddef.h>

struct event_base;
struct json_object;
struct sim_req;

/* The request of a line, parsed; argv is valid only during the call. */
typedef void sim_dispatch_fn(struct sim_req *req, const char *cmd,
    size_t argc, const char *const *argv);

/*
 * Binds SOCKET (mode 0600), replacing a stale socket file; fails when
 * another server answers there. Returns the listening fd or -1 with err.
 */
int sim_proto_bind(const char *path, char *err, size_t errlen);
int sim_proto_start(struct event_base *base, int fd, const char *path,
    sim_dispatch_fn *dispatch);
/* Closes every connection (pending requests are orphaned) and unlinks it. */
void sim_proto_close(void);

/*
 * Exactly one of these answers each request, now or later; req is freed.
 * fields (an object, may be NULL) is merged into the reply and released.
 * When the client has gone, the reply is dropped.
 */
void sim_req_ok(struct sim_req *req, struct json_object *fields);
void sim_req_fail(struct sim_req *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Answers {"ok": true}; from then on the connection carries only events. */
void sim_req_subscribe(struct sim_req *req);

/* Writes one event line to every subscribed connection. */
void sim_proto_event(const char *event, const char *name, int domid,
    const char *reason, const char *old_name, const char *action,
    int monitored);

#endif
