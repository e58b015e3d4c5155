/*
 * failpoint.h - test hooks for the kill -9 tests: YAOKI_FAILPOINT names
 * steps (comma-separated) at which the process stops itself with SIGSTOP,
 * so that a test can SIGKILL it exactly there. Unset, a failpoint costs
 * one getenv and changes nothing.
 */
#ifndef YK_FAILPOINT_H
#define YK_FAILPOINT_H

/* Stops the process at step when YAOKI_FAILPOINT lists it; who: for the log. */
void yk_failpoint(const char *step, const char *who);

#endif
