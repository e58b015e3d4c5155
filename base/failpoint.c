/*
 * failpoint.c - stops the process at a named step when the environment
 * asks for it (YAOKI_FAILPOINT), for the tests that kill yaokid there.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "failpoint.h"
#include "log.h"

void
yk_failpoint(const char *step, const char *who)
{
	const char *list = getenv("YAOKI_FAILPOINT"), *p;
	size_t n = strlen(step);

	if (list == NULL)
		return;
	for (p = list; (p = strstr(p, step)) != NULL; p += n) {
		if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ',')) {
			log_warnx("%s: failpoint %s: stopping (SIGSTOP)", who,
			    step);
			raise(SIGSTOP);
			return;
		}
	}
}
