/*
 * hv_xlmon.c - is an xl monitor alive for a domain? Reads the end of xl's
 * per-domain log for its last "Waiting for domain NAME (domid N) to die
 * [pid P]" line and checks /proc/P/comm. Used by the libxl backend (on its
 * thread, only for domains seen shut down); never calls libxl, never
 * writes, never blocks on anything but two small local files.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "hv_xlmon.h"

#define WAITING "Waiting for domain "

static long parse_line(const char *line, size_t len, const char *name,
    int domid);

/* One line (without its newline): the pid if it is the one for domid. */
static long
parse_line(const char *line, size_t len, const char *name, int domid)
{
	char buf[512], *p, *end;
	size_t nlen = strlen(name);
	long id, pid;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if ((p = strstr(buf, WAITING)) == NULL)
		return -1;		/* not such a line at all */
	p += sizeof(WAITING) - 1;
	if (strncmp(p, name, nlen) != 0 || strncmp(p + nlen, " (domid ", 8) != 0)
		return 0;		/* another domain's (or a renamed one) */
	p += nlen + 8;
	errno = 0;
	id = strtol(p, &end, 10);
	if (end == p || errno != 0 || id != domid ||
	    strncmp(end, ") to die [pid ", 14) != 0)
		return 0;
	p = end + 14;
	pid = strtol(p, &end, 10);
	if (end == p || errno != 0 || pid <= 0 || pid > INT_MAX ||
	    *end != ']')
		return 0;
	return pid;
}

long
hv_xlmon_parse(const char *log, const char *name, int domid)
{
	const char *line, *nl;
	long pid, last = 0;

	for (line = log; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = line + strlen(line);
		if ((pid = parse_line(line, (size_t)(nl - line), name,
		    domid)) >= 0)
			last = pid;	/* the last such line decides */
		if (*nl == '\0')
			break;
	}
	return last;
}

int
hv_xlmon_alive(const char *procdir, long pid)
{
	char path[PATH_MAX], *comm;
	int alive;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%ld/comm", procdir, pid);
	if ((comm = yk_file_read(path, 64, YK_FILE_NO_NUL, NULL)) == NULL)
		return 0;
	alive = strcmp(comm, "xl\n") == 0 || strcmp(comm, "xl") == 0;
	free(comm);
	return alive;
}

long
hv_xlmon_find(const char *logdir, const char *procdir, const char *name,
    int domid)
{
	char path[PATH_MAX], *log;
	long pid;

	if (strchr(name, '/') != NULL)
		return 0;		/* not a file name xl would write */
	snprintf(path, sizeof(path), "%s/xl-%s.log", logdir, name);
	if ((log = yk_file_read_tail(path, HV_XLMON_TAIL_MAX, NULL)) == NULL)
		return 0;		/* no log: no monitor */
	pid = hv_xlmon_parse(log, name, domid);
	free(log);
	return hv_xlmon_alive(procdir, pid) ? pid : 0;
}
