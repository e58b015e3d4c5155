/*
 * hv_libxl_log.c - the xentoollog adapter: libxl's (and libxc's) messages
 * go to yaokid's log, one line each, never raw to stderr.
 *
 * Owns nothing but the logger object. Called from whichever thread calls
 * libxl (the libxl thread, or the main thread while opening), so it keeps
 * no state and formats into stack buffers. It must never call libxl: libxl
 * may be logging from deep inside itself, with its own locks held.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <xentoollog.h>

#include "hv_libxl_log.h"
#include "log.h"

static void xlog_vmessage(xentoollog_logger *lg, xentoollog_level level,
    int errnoval, const char *context, const char *format, va_list al)
    YK_PRINTF(5, 0);
static void xlog_emit(int prio, const char *fmt, ...) YK_PRINTF(2, 3);

/* The syslog priority of a xentoollog level; -1 for "never log". */
static int
xlog_priority(xentoollog_level level)
{
	switch (level) {
	case XTL_DEBUG:
	case XTL_VERBOSE:
	case XTL_DETAIL:
		return LOG_DEBUG;
	case XTL_PROGRESS:
	case XTL_INFO:
		return LOG_INFO;
	case XTL_NOTICE:
		return LOG_NOTICE;
	case XTL_WARN:
		return LOG_WARNING;
	case XTL_ERROR:
		return LOG_ERR;
	case XTL_CRITICAL:
		return LOG_CRIT;
	case XTL_NONE:
	case XTL_NUM_LEVELS:
		break;
	}
	return -1;
}

/*
 * libxl's DEBUG and VERBOSE levels trace every internal step (each xenstore
 * watch, each async operation); shown with one -v they would drown yaokid's
 * own debug lines, so they need -vv, as xl needs -vvv for them.
 */
static int
xlog_wanted(xentoollog_level level)
{
	if (level == XTL_DEBUG || level == XTL_VERBOSE)
		return log_get_verbosity() >= 2;
	return 1;
}

static void
xlog_emit(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(prio, fmt, ap);
	va_end(ap);
}

static void
xlog_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
    const char *context, const char *format, va_list al)
{
	char msg[1536], ebuf[128];
	const char *etext = "";
	int prio = xlog_priority(level);
	size_t len;

	(void)lg;
	if (prio == -1 || !xlog_wanted(level))
		return;
	vsnprintf(msg, sizeof(msg), format, al);
	/* Some callers end their text with a newline; the log adds its own. */
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	if (errnoval >= 0)
		etext = strerror_r(errnoval, ebuf, sizeof(ebuf));   /* GNU: returns the text */
	xlog_emit(prio, "%s%s%s%s%s", context != NULL ? context : "",
	    context != NULL ? ": " : "", msg, errnoval >= 0 ? ": " : "", etext);
}

/* Progress bars (save/restore/migrate) mean nothing in a daemon's log. */
static void
xlog_progress(xentoollog_logger *lg, const char *context, const char *doing_what,
    int percent, unsigned long done, unsigned long total)
{
	(void)lg; (void)context; (void)doing_what;
	(void)percent; (void)done; (void)total;
}

static void
xlog_destroy(xentoollog_logger *lg)
{
	free(lg);
}

xentoollog_logger *
hv_libxl_logger_new(void)
{
	xentoollog_logger *lg;

	lg = calloc(1, sizeof(*lg));
	if (lg == NULL)
		return NULL;
	lg->vmessage = xlog_vmessage;
	lg->progress = xlog_progress;
	lg->destroy = xlog_destroy;
	return lg;
}
