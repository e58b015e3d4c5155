/*
 * hv_xlmon.h - finding a domain's xl monitor: the process `xl create`
 * leaves behind to act on the domain's shutdown (on_crash, on_reboot...).
 *
 * xl writes "Waiting for domain NAME (domid N) to die [pid P]" into
 * LOGDIR/xl-NAME.log each time its monitor starts waiting for a domain;
 * the monitor is alive when process P still exists and is named "xl".
 * Plain file reads: no libxl here, so that it is unit-tested anywhere.
 */
#ifndef YK_HV_XLMON_H
#define YK_HV_XLMON_H

#include <stddef.h>

/* Where xl writes its per-domain logs on Debian (and upstream). */
#define HV_XLMON_LOGDIR "/var/log/xen"
/* How much of the end of a log is read. */
#define HV_XLMON_TAIL_MAX 65536

/*
 * The pid in the last "Waiting for domain NAME (domid N) to die [pid P]"
 * line of log when that line names domid; 0 otherwise (no such line, the
 * last one is for another domid or name, or it is malformed).
 */
long hv_xlmon_parse(const char *log, const char *name, int domid);
/* Whether process pid exists and its comm is "xl" (read under procdir). */
int hv_xlmon_alive(const char *procdir, long pid);
/*
 * The pid of the xl monitor of name at domid, read from the tail of
 * LOGDIR/xl-NAME.log and checked under procdir; 0 when there is none
 * (a missing log, no line for this domid, the process gone).
 */
long hv_xlmon_find(const char *logdir, const char *procdir, const char *name,
    int domid);

#endif
