/*
 * hv_libxl.c - the `libxl` hypervisor backend (real Xen).
 *
 * This first version only opens the libxl context, so that yaokid on a
 * machine without Xen says so in one line and exits 2. The operations
 * (thread owning the ctx, death watches, capture/destroy/create) come with
 * the real-Xen work; until then an opened context is refused plainly.
 */
#include "config.h"

#include <stdio.h>

#include <libxl.h>
#include <xentoollog.h>

#include "hv.h"
#include "log.h"

struct hv *
hv_libxl_open(struct event_base *base, char *err, size_t errlen)
{
	xentoollog_logger_stdiostream *lg;
	libxl_ctx *ctx = NULL;
	int rc;

	(void)base;
	lg = xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
	if (lg == NULL) {
		snprintf(err, errlen, "libxl: cannot create a logger");
		return NULL;
	}
	rc = libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, (xentoollog_logger *)lg);
	if (rc != 0 || ctx == NULL) {
		snprintf(err, errlen, "cannot open libxl (error %d): is this a "
		    "Xen Dom0 with the hypervisor running and xenstored started?",
		    rc);
		xtl_logger_destroy((xentoollog_logger *)lg);
		return NULL;
	}
	libxl_ctx_free(ctx);
	xtl_logger_destroy((xentoollog_logger *)lg);
	snprintf(err, errlen, "the libxl backend is not complete in this "
	    "build; use hypervisor = \"sim\"");
	return NULL;
}
