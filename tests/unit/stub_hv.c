/*
 * stub_hv.c - the scripted hypervisor of the unit tests (stub_hv.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "stub_hv.h"

char stub_log[4096];

void
stub_note(const char *fmt, ...)
{
	size_t len = strlen(stub_log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(stub_log + len, sizeof(stub_log) - len, fmt, ap);
	va_end(ap);
	len = strlen(stub_log);
	snprintf(stub_log + len, sizeof(stub_log) - len, " ");
}

/*
 * As the libxl backend: what xl processes do (xl_op) is read only for a
 * list that asks for it (HV_LIST_TOOLS).
 */
static void
stub_list_deliver(struct stub_hv *st, unsigned flags, hv_list_fn *cb,
    void *arg)
{
	struct hv_dominfo doms[STUB_MAX_DOMS];
	size_t i;

	memcpy(doms, st->doms, sizeof(doms));
	for (i = 0; !(flags & HV_LIST_TOOLS) && i < st->ndoms; i++)
		doms[i].xl_op = HV_XL_NONE;
	cb(arg, st->list_err, doms, st->ndoms);
}

/* One pending completion. */
struct job {
	struct stub_hv *st;
	char op;                    /* l c d D(refused destroy) T(refused:
	                               Xen's tools) C */
	int domid;
	unsigned flags;             /* l: HV_LIST_* */
	void *cb;
	void *arg;
};

static void
job_cb(evutil_socket_t fd, short what, void *p)
{
	struct job *j = p;
	struct stub_hv *st = j->st;

	(void)fd; (void)what;
	st->pending--;
	switch (j->op) {
	case 'l':
		stub_list_deliver(st, j->flags, (hv_list_fn *)j->cb, j->arg);
		break;
	case 'c':
		((hv_capture_fn *)j->cb)(j->arg, st->capture_json ? 0 : -1,
		    st->capture_json);
		break;
	case 'd':
		((hv_done_fn *)j->cb)(j->arg, 0, NULL);
		break;
	case 'D':
		((hv_done_fn *)j->cb)(j->arg, -1, "not the expected domain: not "
		    "destroying it");
		break;
	case 'T':
		((hv_done_fn *)j->cb)(j->arg, HV_ERR_XEN_TOOLS, "domain is in "
		    "an xl migrate: not destroying it");
		break;
	case 'C':
		if (st->create_err)
			((hv_create_fn *)j->cb)(j->arg, -1, -1, st->create_errmsg);
		else
			((hv_create_fn *)j->cb)(j->arg, 0, st->next_domid++, NULL);
		break;
	}
	free(j);
}

static struct job *
later(struct stub_hv *st, char op, int domid, void *cb, void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	struct timeval tv = { 0, 0 };

	if (j == NULL)
		abort();
	j->st = st;
	j->op = op;
	j->domid = domid;
	j->cb = cb;
	j->arg = arg;
	st->pending++;
	if (op == 'd' && st->hold_destroy && st->held == NULL) {
		st->held = j;
		return j;
	}
	if (event_base_once(st->hv.base, -1, EV_TIMEOUT, job_cb, j, &tv) != 0)
		abort();
	return j;
}

static void
s_close(struct hv *hv)
{
	(void)hv;
}

static void
s_list(struct hv *hv, unsigned flags, hv_list_fn *cb, void *arg)
{
	struct stub_hv *st = (struct stub_hv *)hv;

	stub_note("list");
	st->last_list_flags = flags;
	if (flags & HV_LIST_TOOLS)
		st->tools_lists++;
	later(st, 'l', -1, (void *)cb, arg)->flags = flags;
}

static void
s_capture(struct hv *hv, int domid, hv_capture_fn *cb, void *arg)
{
	stub_note("capture:%d", domid);
	later((struct stub_hv *)hv, 'c', domid, (void *)cb, arg);
}

/* Like the real backends: the name and uuid at domid are checked first. */
static void
s_destroy(struct hv *hv, int domid, const struct hv_ident *expect,
    hv_done_fn *cb, void *arg)
{
	struct stub_hv *st = (struct stub_hv *)hv;
	size_t i;

	for (i = 0; i < st->ndoms; i++)
		if (st->doms[i].domid == domid)
			break;
	if (i < st->ndoms && expect != NULL && expect->name != NULL &&
	    (st->refuse_destroy || strcmp(st->doms[i].name, expect->name) != 0 ||
	    (expect->uuid != NULL && expect->uuid[0] != '\0' &&
	    strcmp(st->doms[i].uuid, expect->uuid) != 0))) {
		stub_note("destroy-refused:%d", domid);
		later(st, 'D', domid, (void *)cb, arg);
		return;
	}
	/* And, read right before acting, no xl migrate/save at work on it. */
	if (i < st->ndoms && expect != NULL && expect->name != NULL &&
	    st->doms[i].xl_op != HV_XL_NONE) {
		stub_note("destroy-refused-tools:%d", domid);
		later(st, 'T', domid, (void *)cb, arg);
		return;
	}
	stub_note("destroy:%d", domid);
	/* It is gone once destroyed. */
	if (i < st->ndoms)
		st->doms[i] = st->doms[--st->ndoms];
	later(st, 'd', domid, (void *)cb, arg);
}

static void
s_create(struct hv *hv, const char *json, hv_create_fn *cb, void *arg)
{
	stub_note("create:%s", json);
	later((struct stub_hv *)hv, 'C', -1, (void *)cb, arg);
}

static void
s_reboot(struct hv *hv, int domid, hv_done_fn *cb, void *arg)
{
	stub_note("reboot:%d", domid);
	later((struct stub_hv *)hv, 'd', domid, (void *)cb, arg);
}

static const struct hv_ops stub_ops = {
	.name = "stub",
	.close = s_close,
	.list = s_list,
	.capture = s_capture,
	.destroy = s_destroy,
	.create = s_create,
	.reboot = s_reboot,
};

void
stub_release(struct stub_hv *st)
{
	struct timeval tv = { 0, 0 };

	if (st->held == NULL)
		return;
	if (event_base_once(st->hv.base, -1, EV_TIMEOUT, job_cb, st->held,
	    &tv) != 0)
		abort();
	st->held = NULL;
	st->hold_destroy = false;
}

void
stub_hv_init(struct stub_hv *st, struct event_base *base)
{
	memset(st, 0, sizeof(*st));
	st->hv.ops = &stub_ops;
	st->hv.base = base;
	st->next_domid = 100;
	st->capture_json = "{\"c_info\":{}}";
	stub_log[0] = '\0';
}

void
stub_hv_set(struct stub_hv *st, size_t i, const char *name, int domid,
    enum hv_dstate state, enum yk_shutdown_reason reason)
{
	struct hv_dominfo *d = &st->doms[i];

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->domid = domid;
	d->state = state;
	d->reason = reason;
	d->migrating = hv_migrating_name(name);   /* as the backends do */
	if (i >= st->ndoms)
		st->ndoms = i + 1;
}

bool
stub_loop_until(struct event_base *base, bool (*done)(void *), void *arg)
{
	int i;

	for (i = 0; i < 1000; i++) {
		if (done(arg))
			return true;
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
	return done(arg);
}

void
stub_settle(struct stub_hv *st, struct event_base *base)
{
	int i;

	for (i = 0; i < 1000 && st->pending > (st->held != NULL); i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}
