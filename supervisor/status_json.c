/*
 * status_json.c - writes the status reply of the control protocol with
 * json-c (no hand-made escaping): host, version, hold and one object per
 * domain, exactly the shape interface.md documents.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "clock.h"
#include "log.h"
#include "status_json.h"
#include "supervisor.h"

static struct json_object *
last_probe_json(const struct sup_domain *d)
{
	struct json_object *o;
	char at[32];

	if (!d->have_probe)
		return NULL;
	yk_format_utc(d->probe_at, at, sizeof(at));
	o = json_object_new_object();
	json_object_object_add(o, "at", json_object_new_string(at));
	json_object_object_add(o, "ok", json_object_new_boolean(d->probe_ok));
	json_object_object_add(o, "http_status", d->probe_status > 0 ?
	    json_object_new_int((int)d->probe_status) : NULL);
	json_object_object_add(o, "ms", json_object_new_double(
	    (double)(int64_t)(d->probe_ms * 10 + 0.5) / 10));
	json_object_object_add(o, "error", d->probe_ok ? NULL :
	    json_object_new_string(d->probe_error));
	return o;
}

static struct json_object *
last_recovery_json(const struct sup_domain *d)
{
	struct json_object *o;
	char at[32];

	if (!d->have_recovery)
		return NULL;
	yk_format_utc(d->recovery_at, at, sizeof(at));
	o = json_object_new_object();
	json_object_object_add(o, "at", json_object_new_string(at));
	json_object_object_add(o, "result", json_object_new_string(d->recovery_result));
	json_object_object_add(o, "seconds", json_object_new_double(
	    (double)(int64_t)(d->recovery_seconds * 10 + 0.5) / 10));
	return o;
}

static struct json_object *
domain_json(const struct sup_domain *d)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(d->conf->name));
	json_object_object_add(o, "domid", d->domid >= 0 ?
	    json_object_new_int(d->domid) : NULL);
	json_object_object_add(o, "state",
	    json_object_new_string(yk_state_name(d->sm.state)));
	json_object_object_add(o, "consecutive_failures",
	    json_object_new_int((int)d->sm.consecutive_failures));
	json_object_object_add(o, "recoveries_in_window", json_object_new_int(
	    (int)yk_sm_recoveries_in_window(&d->sm, &d->params, yk_now_ms())));
	json_object_object_add(o, "last_probe", last_probe_json(d));
	json_object_object_add(o, "last_recovery", last_recovery_json(d));
	json_object_object_add(o, "reason", d->sm.reason[0] ?
	    json_object_new_string(d->sm.reason) : NULL);
	return o;
}

/*
 * The reply is written one domain at a time: the tree of thousands of
 * domains (some 600 bytes of json-c objects each), its text and the copy in
 * the output buffer never exist at once. json-c writes the envelope, with an
 * empty "domains" array as its last member, and every domain object; only
 * the array's brackets and commas are joined here.
 */
int
status_json_write(const struct sup *s, const struct sup_domain *only,
    struct evbuffer *out)
{
	struct json_object *o = json_object_new_object(), *dj;
	const struct sup_domain *d;
	const char *text;
	size_t len;
	bool first = true;
	int rc = 0;

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "host", json_object_new_string(s->host));
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "hold", json_object_new_boolean(s->hold));
	json_object_object_add(o, "domains", json_object_new_array());
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);
	/* ..."domains":[]}  ->  ..."domains":[  domain,domain  ]} */
	if (len < 3 || strcmp(text + len - 3, "[]}") != 0)
		fatalx("status: unexpected json-c output");
	rc |= evbuffer_add(out, text, len - 2);
	json_object_put(o);
	for (d = only != NULL ? only : TAILQ_FIRST(&s->domains); d != NULL;
	    d = only != NULL ? NULL : TAILQ_NEXT(d, entry)) {
		dj = domain_json(d);
		text = json_object_to_json_string_ext(dj, JSON_C_TO_STRING_PLAIN);
		if (!first)
			rc |= evbuffer_add(out, ",", 1);
		rc |= evbuffer_add(out, text, strlen(text));
		json_object_put(dj);
		first = false;
	}
	rc |= evbuffer_add(out, "]}\n", 3);
	return rc == 0 ? 0 : -1;
}
