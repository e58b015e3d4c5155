/*
 * stub_hv.h - a scripted hypervisor for unit tests: list, capture, destroy
 * and create complete through the libevent loop (a zero-timeout event),
 * with the results the test set, and every call is appended to a log.
 */
#ifndef YK_STUB_HV_H
#define YK_STUB_HV_H

#include <stdbool.h>
#include <stddef.h>

#include "hv.h"

#define STUB_MAX_DOMS 8

struct stub_hv {
	struct hv hv;                       /* first: &stub.hv is the hv */
	struct hv_dominfo doms[STUB_MAX_DOMS];
	size_t ndoms;                       /* what list reports */
	int list_err;
	int create_err;                     /* non-zero: create fails */
	const char *create_errmsg;
	int next_domid;                     /* create's new domid */
	const char *capture_json;           /* NULL: capture fails */
	unsigned pending;                   /* completions not yet delivered */
	bool hold_destroy;                  /* keep destroy's completion back */
	bool refuse_destroy;                /* the identity check always fails (a
	                                       fresh read finds someone else) */
	void *held;                         /* ... until stub_release() */
	unsigned last_list_flags;           /* of the latest list */
	unsigned tools_lists;               /* lists with HV_LIST_TOOLS */
};

/*
 * A domain's xl_op is reported only by lists with HV_LIST_TOOLS, and a
 * destroy of a domain with an xl_op is refused (HV_ERR_XEN_TOOLS), as the
 * libxl backend does.
 */

/* The calls so far, e.g. "list destroy:5 create:{} " (tests add to it too). */
extern char stub_log[4096];
void stub_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void stub_hv_init(struct stub_hv *st, struct event_base *base);
void stub_hv_set(struct stub_hv *st, size_t i, const char *name, int domid,
    enum hv_dstate state, enum yk_shutdown_reason reason);
/* Delivers the destroy completion held back by hold_destroy. */
void stub_release(struct stub_hv *st);
/* Runs the loop without blocking until done() or 1000 rounds; done() true. */
bool stub_loop_until(struct event_base *base, bool (*done)(void *), void *arg);
/* Runs the loop until no stub completion is pending (bounded). */
void stub_settle(struct stub_hv *st, struct event_base *base);

#endif
