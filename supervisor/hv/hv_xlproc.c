/*
 * hv_xlproc.c - is an xl migrate, remus or save (or libxl's save helper)
 * working on a domain? One pass over the process table reads where every
 * process's executable is (one readlink each) and the command line of
 * those that run "xl" or "libxl-save-helper"; lookups by domain are then
 * made against that set.
 * Used by the libxl backend on its thread, once per domain list and right
 * before a destroy. Never calls libxl, never writes.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "file.h"
#include "hv_xlproc.h"

#define DELETED      " (deleted)"
#define CMDLINE_MAX  65536
#define SAVE_HELPER  "libxl-save-helper"

static const char *next_arg(const char *p, const char *end);
static const char *base_name(const char *path);
static int parse_xl(const char *cmdline, const char *end, struct hv_xlproc *p);
static int parse_helper(const char *cmdline, const char *end,
    struct hv_xlproc *p);
static int add_process(const char *procdir, const char *pid,
    struct hv_xlprocs *set);
static int names_domain(const struct hv_xlproc *p, const char *name,
    const char *uuid, const char *domid);

/* The argument after p (NULL at the end). */
static const char *
next_arg(const char *p, const char *end)
{
	p += strlen(p) + 1;
	return p < end ? p : NULL;
}

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/*
 * "xl [-v...] SUBCOMMAND ARGS...": the first argument not starting with
 * '-' is the subcommand (xl's global options take no values).
 */
static int
parse_xl(const char *cmdline, const char *end, struct hv_xlproc *p)
{
	const char *a = next_arg(cmdline, end);

	while (a != NULL && a[0] == '-')
		a = next_arg(a, end);
	if (a == NULL)
		return HV_XL_NONE;
	if (strcmp(a, "migrate") == 0 || strcmp(a, "remus") == 0)
		p->op = HV_XL_MIGRATE;
	else if (strcmp(a, "save") == 0)
		p->op = HV_XL_SAVE;
	else
		return HV_XL_NONE;	/* create (a monitor), list, ... */
	a = next_arg(a, end);
	p->domid = -1;
	p->argslen = a != NULL ? (size_t)(end - a) : 0;
	if ((p->args = malloc(p->argslen + 1)) == NULL)
		return -1;
	if (p->argslen > 0)
		memcpy(p->args, a, p->argslen);
	p->args[p->argslen] = '\0';
	return p->op;
}

/* "libxl-save-helper --save-domain FD DOMID ..." */
static int
parse_helper(const char *cmdline, const char *end, struct hv_xlproc *p)
{
	const char *mode, *fd, *domid;
	char *e;
	long id;

	if ((mode = next_arg(cmdline, end)) == NULL ||
	    strcmp(mode, "--save-domain") != 0 ||
	    (fd = next_arg(mode, end)) == NULL ||
	    (domid = next_arg(fd, end)) == NULL)
		return HV_XL_NONE;
	errno = 0;
	id = strtol(domid, &e, 10);
	if (e == domid || *e != '\0' || errno != 0 || id < 0 || id > INT_MAX)
		return HV_XL_NONE;
	p->op = HV_XL_SAVE;
	p->domid = (int)id;
	p->args = NULL;
	p->argslen = 0;
	return p->op;
}

int
hv_xlproc_parse(const char *prog, const char *cmdline, size_t len,
    struct hv_xlproc *p)
{
	const char *end = cmdline + len;

	if (len == 0 || cmdline[len - 1] != '\0')
		return HV_XL_NONE;	/* not a command line we understand */
	if (strcmp(prog, "xl") == 0)
		return parse_xl(cmdline, end, p);
	if (strcmp(prog, SAVE_HELPER) == 0)
		return parse_helper(cmdline, end, p);
	return HV_XL_NONE;
}

/*
 * The file name of pid's executable (one readlink of PROCDIR/PID/exe, the
 * cheapest look at a process), without a " (deleted)" left by an upgrade;
 * false for kernel threads and processes gone meanwhile.
 */
static bool
exe_name(const char *procdir, const char *pid, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;
	size_t blen;

	snprintf(path, sizeof(path), "%s/%s/exe", procdir, pid);
	if ((n = readlink(path, target, sizeof(target) - 1)) <= 0)
		return false;
	target[n] = '\0';
	base = base_name(target);
	blen = strlen(base);
	if (blen > sizeof(DELETED) - 1 &&
	    strcmp(base + blen - (sizeof(DELETED) - 1), DELETED) == 0)
		blen -= sizeof(DELETED) - 1;
	if (blen >= len)
		return false;
	memcpy(buf, base, blen);
	buf[blen] = '\0';
	return true;
}

/* Reads one process; 0 also when it is not one of ours or is gone. */
static int
add_process(const char *procdir, const char *pid, struct hv_xlprocs *set)
{
	char path[PATH_MAX], prog[64], *cmdline;
	struct hv_xlproc p;
	size_t len;
	int op;

	if (!exe_name(procdir, pid, prog, sizeof(prog)) ||
	    (strcmp(prog, "xl") != 0 && strcmp(prog, SAVE_HELPER) != 0))
		return 0;
	snprintf(path, sizeof(path), "%s/%s/cmdline", procdir, pid);
	cmdline = yk_file_read(path, CMDLINE_MAX, 0, &len);
	op = cmdline != NULL ? hv_xlproc_parse(prog, cmdline, len, &p) : 0;
	free(cmdline);
	if (op <= 0)
		return op;
	if (set->n == set->cap) {
		size_t cap = set->cap != 0 ? set->cap * 2 : 4;
		struct hv_xlproc *v = realloc(set->v, cap * sizeof(*v));

		if (v == NULL) {
			free(p.args);
			return -1;
		}
		set->v = v;
		set->cap = cap;
	}
	p.pid = strtol(pid, NULL, 10);
	set->v[set->n++] = p;
	return 0;
}

int
hv_xlproc_scan(const char *procdir, struct hv_xlprocs *set)
{
	struct dirent *de;
	DIR *dir;
	int err = 0;

	hv_xlproc_clear(set);
	if ((dir = opendir(procdir)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (add_process(procdir, de->d_name, set) != 0) {
			err = errno;
			break;
		}
	}
	closedir(dir);
	if (err != 0) {
		hv_xlproc_clear(set);
		errno = err;
		return -1;
	}
	return 0;
}

void
hv_xlproc_clear(struct hv_xlprocs *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		free(set->v[i].args);
	set->n = 0;
}

void
hv_xlproc_free(struct hv_xlprocs *set)
{
	hv_xlproc_clear(set);
	free(set->v);
	set->v = NULL;
	set->cap = 0;
}

/* Whether one of p's arguments is name, uuid or domid. */
static int
names_domain(const struct hv_xlproc *p, const char *name, const char *uuid,
    const char *domid)
{
	const char *a, *end = p->args + p->argslen;

	for (a = p->args; a < end; a += strlen(a) + 1)
		if (strcmp(a, name) == 0 || strcmp(a, domid) == 0 ||
		    (uuid != NULL && uuid[0] != '\0' &&
		    strcasecmp(a, uuid) == 0))
			return 1;
	return 0;
}

enum hv_xl_op
hv_xlproc_match(const struct hv_xlprocs *set, const char *name,
    const char *uuid, int domid, long *pid)
{
	enum hv_xl_op best = HV_XL_NONE;
	char id[16];
	size_t i;

	snprintf(id, sizeof(id), "%d", domid);
	for (i = 0; i < set->n; i++) {
		const struct hv_xlproc *p = &set->v[i];

		if (p->args != NULL ? !names_domain(p, name, uuid, id) :
		    p->domid != domid)
			continue;
		if (best == HV_XL_NONE || p->op == HV_XL_MIGRATE) {
			best = p->op;
			if (pid != NULL)
				*pid = p->pid;
		}
	}
	return best;
}
