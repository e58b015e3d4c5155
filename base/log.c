/*
 * log.c - formats log lines once and sends them to stderr or syslog.
 *
 * Owns the logging destination and verbosity. Safe to call from any thread
 * (each line is formatted into a local buffer and written with one call);
 * never allocates, never calls back into other modules.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "yaoki";
static int log_to_stderr = 1;
static volatile int log_verbosity;

void
log_init(const char *ident, int to_stderr, int verbosity)
{
	log_ident = ident;
	log_to_stderr = to_stderr;
	log_verbosity = verbosity;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_verbosity(int verbosity)
{
	log_verbosity = verbosity;
}

int
log_get_verbosity(void)
{
	return log_verbosity;
}

static const char *
prio_word(int prio)
{
	switch (prio) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: return "crit";
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

void
log_vlog(int prio, const char *fmt, va_list ap)
{
	char line[2048];
	int saved = errno;

	if (prio == LOG_DEBUG && log_verbosity < 1)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_to_stderr) {
		char out[2200];
		struct timespec ts;
		struct tm tm;
		int n;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(out, sizeof(out), "%02d:%02d:%02d.%03ld %s[%ld]: %s: %s\n",
		    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
		    log_ident, (long)getpid(), prio_word(prio), line);
		if (n > (int)sizeof(out) - 1)
			n = sizeof(out) - 1;
		/* One write per line keeps lines whole across threads. */
		if (write(STDERR_FILENO, out, (size_t)n) < 0) {
			/* nothing sensible to do */
		}
	} else {
		syslog(prio, "%s", line);
	}
	errno = saved;
}

#define LOG_BODY(prio)				\
	va_list ap;				\
	va_start(ap, fmt);			\
	log_vlog(prio, fmt, ap);		\
	va_end(ap)

void log_debug(const char *fmt, ...) { LOG_BODY(LOG_DEBUG); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_INFO); }
void log_notice(const char *fmt, ...) { LOG_BODY(LOG_NOTICE); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_WARNING); }
void log_errx(const char *fmt, ...) { LOG_BODY(LOG_ERR); }

void
log_warn(const char *fmt, ...)
{
	char msg[1800];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s: %s", msg, strerror(saved));
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	abort();
}
