/*
 * hv_xlproc.h - which domains Xen's own command-line tools are working on
 * right now, read from the process table: `xl migrate`, `xl remus` and
 * `xl save` name their domain on their command line from the moment they
 * start, long before the domain itself shows anything (xl renames a
 * migrating domain "NAME--migratedaway" only for its last round, and a
 * remote receiver is on another host). libxl's save helper
 * (`libxl-save-helper --save-domain FD DOMID ...`) names the domid.
 *
 * Plain reads of PROCDIR/PID/exe (a symbolic link) and PROCDIR/PID/cmdline:
 * no libxl here, so that it is unit-tested anywhere against a made-up
 * process table. Reading another user's exe link needs root, as yaokid is.
 */
#ifndef YK_HV_XLPROC_H
#define YK_HV_XLPROC_H

#include <stddef.h>

#include "hv_types.h"

#define HV_XLPROC_PROCDIR "/proc"

/* One process of Xen's tools at work on a domain. */
struct hv_xlproc {
	long pid;
	enum hv_xl_op op;
	int domid;                 /* the save helper's domid; -1 for xl */
	char *args;                /* xl: its arguments after the subcommand,
	                              each NUL-terminated; NULL for the helper */
	size_t argslen;
};

struct hv_xlprocs {
	struct hv_xlproc *v;
	size_t n, cap;
};

/*
 * What the process running the executable called prog (a file name without
 * its directory) with this command line (NUL-separated arguments, len
 * bytes) is doing: HV_XL_NONE for anything but an xl
 * migrate/remus/save or a save helper. On a match, p is filled (p->args
 * malloc'ed) and the op returned; -1 when out of memory.
 */
int hv_xlproc_parse(const char *prog, const char *cmdline, size_t len,
    struct hv_xlproc *p);
/*
 * Reads the process table under procdir into set (its old contents are
 * dropped). 0, or -1 with errno set when procdir cannot be read (set is
 * then empty). Processes that end while being read are skipped.
 */
int hv_xlproc_scan(const char *procdir, struct hv_xlprocs *set);
/* Empties set (keeping its memory); _free also releases that. */
void hv_xlproc_clear(struct hv_xlprocs *set);
void hv_xlproc_free(struct hv_xlprocs *set);
/*
 * What set says is being done to the domain called name (with uuid, at
 * domid): an xl process whose arguments name it by name, domid or uuid,
 * or a save helper for domid. A migration wins over a save. *pid (if not
 * NULL) gets the process's pid; HV_XL_NONE when nothing is.
 */
enum hv_xl_op hv_xlproc_match(const struct hv_xlprocs *set, const char *name,
    const char *uuid, int domid, long *pid);

#endif
