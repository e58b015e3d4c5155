/*
 * log.h - the one logging interface of every yaoki program.
 *
 * Lines go to stderr (foreground) or syslog (daemon). Thread-safe: the libxl
 * thread logs through the same functions. Every line about a domain starts
 * with the domain's name ("web01: ...").
 */
#ifndef YK_LOG_H
#define YK_LOG_H

#include <stdarg.h>
#include <syslog.h>

#define YK_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ident: program name; to_stderr: 1 = stderr, 0 = syslog; verbosity: number of -v. */
void log_init(const char *ident, int to_stderr, int verbosity);
void log_set_verbosity(int verbosity);
int log_get_verbosity(void);

void log_vlog(int prio, const char *fmt, va_list ap) YK_PRINTF(2, 0);
void log_debug(const char *fmt, ...) YK_PRINTF(1, 2);   /* shown with -v */
void log_info(const char *fmt, ...) YK_PRINTF(1, 2);
void log_notice(const char *fmt, ...) YK_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) YK_PRINTF(1, 2);
void log_warn(const char *fmt, ...) YK_PRINTF(1, 2);    /* appends ": strerror(errno)" */
void log_errx(const char *fmt, ...) YK_PRINTF(1, 2);
/* Impossible states: log and abort. */
void fatalx(const char *fmt, ...) YK_PRINTF(1, 2) __attribute__((noreturn));

#endif
