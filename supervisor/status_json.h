/*
 * status_json.h - the status reply of the control protocol (json-c), shared
 * by `status`, the hook's standard input and the tests.
 */
#ifndef YK_STATUS_JSON_H
#define YK_STATUS_JSON_H

struct json_object;
struct sup;
struct sup_domain;

/* {"ok": true, "host", "version", "hold", "domains": [...]}; only = NULL: all. */
struct json_object *status_json(const struct sup *s, const struct sup_domain *only);

#endif
