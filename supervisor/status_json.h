/*
 * status_json.h - the status reply of the control protocol (json-c), shared
 * by `status`, the hook's standard input and the tests.
 */
#ifndef YK_STATUS_JSON_H
#define YK_STATUS_JSON_H

struct evbuffer;
struct sup;
struct sup_domain;

/*
 * Appends {"ok": true, "host", "version", "hold", "domains": [...]} and a
 * newline to out; only = NULL: every domain. -1 if out could not grow.
 */
int status_json_write(const struct sup *s, const struct sup_domain *only,
    struct evbuffer *out);

#endif
