/*
 * test_xlproc.c - unit tests of finding Xen's tools at work on a domain
 * from the process table (supervisor/hv/hv_xlproc.c): command lines as xl
 * and libxl's save helper write them, parsed alone and read from a fake
 * /proc in a scratch directory; and the rules that turn one domain list
 * (names, those processes) into what Xen's tools are doing
 * (supervisor/hv/hv_toolsop.c).
 */
#include "config.h"

#include <sys/stat.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hv_toolsop.h"
#include "hv_xlproc.h"
#include "scratch.h"

#define XL "/usr/lib/xen-4.17/bin/xl"

/* A command line as /proc/PID/cmdline holds it: "a\0b\0c\0" from "a b c". */
static size_t
argv_of(char *buf, size_t cap, const char *spaced)
{
	size_t len = strlen(spaced);
	size_t i;

	assert_true(len + 1 <= cap);
	memcpy(buf, spaced, len + 1);
	for (i = 0; i < len; i++)
		if (buf[i] == ' ')
			buf[i] = '\0';
	return len + 1;
}

/* parse + match for one process. */
static enum hv_xl_op
one(const char *prog, const char *spaced, const char *name, const char *uuid,
    int domid)
{
	struct hv_xlprocs set = { 0 };
	struct hv_xlproc p;
	enum hv_xl_op op;
	char buf[512];
	size_t len = argv_of(buf, sizeof(buf), spaced);
	int r = hv_xlproc_parse(prog, buf, len, &p);

	assert_true(r >= 0);
	if (r == HV_XL_NONE)
		return HV_XL_NONE;
	p.pid = 42;
	set.v = &p;
	set.n = set.cap = 1;
	op = hv_xlproc_match(&set, name, uuid, domid, NULL);
	free(p.args);
	return op;
}

static void
test_xl_migrate_names_its_domain(void **state)
{
	(void)state;
	assert_int_equal(one("xl", "xl migrate web01 host2", "web01", "", 5),
	    HV_XL_MIGRATE);
	/* by domid, by uuid (any case), with options before the domain */
	assert_int_equal(one("xl", "/usr/lib/xen-4.17/bin/xl -v migrate -s ssh "
	    "--debug 5 host2", "web01", "", 5), HV_XL_MIGRATE);
	assert_int_equal(one("xl", "xl remus -i 100 "
	    "6F9619FF-8B86-D011-B42D-00CF4FC964FF backup", "web01",
	    "6f9619ff-8b86-d011-b42d-00cf4fc964ff", 5), HV_XL_MIGRATE);
	/* local migration as the xen-test runs it */
	assert_int_equal(one("xl", "xl migrate -s  web01 xl migrate-receive",
	    "web01", "", 9), HV_XL_MIGRATE);
	assert_int_equal(one("xl", "xl save -c web01 /var/lib/xen/save/web01",
	    "web01", "", 5), HV_XL_SAVE);
}

static void
test_other_domains_and_commands_are_not_matched(void **state)
{
	(void)state;
	/* another domain (a prefix is not the name) */
	assert_int_equal(one("xl", "xl migrate web011 host2", "web01", "", 5),
	    HV_XL_NONE);
	assert_int_equal(one("xl", "xl migrate 15 host2", "web01", "", 5),
	    HV_XL_NONE);
	/* xl's monitor, and commands that take a domain but move nothing */
	assert_int_equal(one("xl", "xl create /etc/xen/web01.cfg", "web01", "",
	    5), HV_XL_NONE);
	assert_int_equal(one("xl", "xl console web01", "web01", "", 5),
	    HV_XL_NONE);
	/* the receiving side: its domain shows as NAME--incoming */
	assert_int_equal(one("xl", "xl migrate-receive", "web01", "", 5),
	    HV_XL_NONE);
	/* what runs decides, not what argv[0] says */
	assert_int_equal(one("bash", "xl migrate web01 h", "web01", "", 5),
	    HV_XL_NONE);
}

static void
test_save_helper_names_a_domid(void **state)
{
	(void)state;
	assert_int_equal(one("libxl-save-helper", "/usr/lib/xen-4.17/bin/"
	    "libxl-save-helper --save-domain 12 7 0 0 5 0 0 0", "web01", "", 7),
	    HV_XL_SAVE);
	assert_int_equal(one("libxl-save-helper", "libxl-save-helper "
	    "--save-domain 12 17 0 0", "web01", "", 7), HV_XL_NONE);
	/* restoring shows as a new paused domain, not here */
	assert_int_equal(one("libxl-save-helper", "libxl-save-helper "
	    "--restore-domain 12 7 0", "web01", "", 7), HV_XL_NONE);
	assert_int_equal(one("libxl-save-helper", "libxl-save-helper "
	    "--save-domain 12 7x", "web01", "", 7), HV_XL_NONE);
	assert_int_equal(one("libxl-save-helper", "libxl-save-helper "
	    "--save-domain 12", "web01", "", 7), HV_XL_NONE);
}

static void
test_malformed_command_lines(void **state)
{
	struct hv_xlproc p;

	(void)state;
	/* empty, unterminated, no subcommand */
	assert_int_equal(hv_xlproc_parse("xl", "", 0, &p), HV_XL_NONE);
	assert_int_equal(hv_xlproc_parse("xl", "xl\0migrate\0web01", 16, &p),
	    HV_XL_NONE);
	assert_int_equal(one("xl", "xl -v", "web01", "", 5), HV_XL_NONE);
	/* a migrate with no arguments at all names nothing */
	assert_int_equal(one("xl", "xl migrate", "web01", "", 5), HV_XL_NONE);
}

/* dir/proc/PID/{exe,cmdline}: exe a link to the program (NULL: none). */
static void
put_proc(const char *dir, long pid, const char *exe, const char *spaced)
{
	char path[PATH_MAX], buf[512];
	size_t len = argv_of(buf, sizeof(buf), spaced);
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/proc/%ld", dir, pid);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/proc/%ld/exe", dir, pid);
	if (exe != NULL)
		assert_int_equal(symlink(exe, path), 0);
	snprintf(path, sizeof(path), "%s/proc/%ld/cmdline", dir, pid);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_scan_reads_the_process_table(void **state)
{
	const char *dir = *state;
	struct hv_xlprocs set = { 0 };
	char proc[PATH_MAX];
	long pid = 0;

	put_proc(dir, 1, "/usr/lib/systemd/systemd", "/sbin/init");
	put_proc(dir, 2, NULL, "");		/* a kernel thread */
	put_proc(dir, 300, XL, "xl create /etc/xen/web01.cfg");
	put_proc(dir, 301, XL, "xl migrate -s  web02 xl migrate-receive");
	put_proc(dir, 302, "/usr/lib/xen-4.17/bin/libxl-save-helper",
	    "libxl-save-helper --save-domain 9 4 0 0");
	/* still running after an upgrade replaced its binary */
	put_proc(dir, 303, XL " (deleted)", "xl save web03 /tmp/web03");
	put_proc(dir, 304, XL, "xl save web02 /tmp/web02");
	/* a shell script calling itself xl: not xl */
	put_proc(dir, 305, "/usr/bin/dash", "xl migrate web03 h");
	snprintf(proc, sizeof(proc), "%s/proc/self", dir);
	assert_int_equal(mkdir(proc, 0700), 0);	/* not a pid: skipped */
	snprintf(proc, sizeof(proc), "%s/proc", dir);
	assert_int_equal(hv_xlproc_scan(proc, &set), 0);
	assert_int_equal(set.n, 4);
	assert_int_equal(hv_xlproc_match(&set, "web01", "", 3, NULL),
	    HV_XL_NONE);
	/* the migration wins over the save of the same domain */
	assert_int_equal(hv_xlproc_match(&set, "web02", "", 4, &pid),
	    HV_XL_MIGRATE);
	assert_int_equal(pid, 301);
	assert_int_equal(hv_xlproc_match(&set, "web03", "", 8, &pid),
	    HV_XL_SAVE);
	assert_int_equal(pid, 303);
	/* the helper for domid 4 (whatever its name) */
	assert_int_equal(hv_xlproc_match(&set, "web04", "", 4, &pid),
	    HV_XL_SAVE);
	assert_int_equal(pid, 302);
	/* a second scan starts afresh */
	snprintf(proc, sizeof(proc), "%s/nothing-here", dir);
	assert_int_equal(hv_xlproc_scan(proc, &set), -1);
	assert_int_equal(set.n, 0);
	hv_xlproc_free(&set);
}

/* ---- hv_tools_op: one list -> what Xen's tools do ----------------------- */

static struct hv_dominfo tdoms[4];
static size_t ntdoms;

static void
tdom(const char *name, int domid, enum hv_dstate st, enum hv_xl_op op)
{
	struct hv_dominfo *d = &tdoms[ntdoms++];

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->domid = domid;
	d->state = st;
	d->xl_op = op;
}

static enum hv_tools_op
tools_op_of(const char *name)
{
	struct hv_named n;

	hv_named_find(tdoms, ntdoms, name, &n);
	return hv_tools_op(&n);
}

static void
test_tools_op_rules(void **state)
{
	struct hv_named n;

	(void)state;
	ntdoms = 0;
	tdom("web01", 5, HV_RUNNING, HV_XL_NONE);
	tdom("web010", 6, HV_RUNNING, HV_XL_MIGRATE);   /* another domain */
	assert_int_equal(tools_op_of("web01"), HV_TOOLS_NONE);
	tdoms[0].xl_op = HV_XL_MIGRATE;                  /* xl migrate, phase 1 */
	assert_int_equal(tools_op_of("web01"), HV_TOOLS_MIGRATING_OUT);
	tdoms[0].xl_op = HV_XL_SAVE;
	assert_int_equal(tools_op_of("web01"), HV_TOOLS_SAVING);
	tdoms[0].xl_op = HV_XL_NONE;
	tdoms[0].state = HV_SHUTDOWN;                    /* suspended: a save */
	tdoms[0].reason = YK_SD_SUSPEND;
	assert_int_equal(tools_op_of("web01"), HV_TOOLS_SAVING);
	tdoms[0].state = HV_RUNNING;
	tdom("web01--incoming", 7, HV_PAUSED, HV_XL_NONE);  /* local migration */
	assert_int_equal(tools_op_of("web01"), HV_TOOLS_MIGRATING_OUT);
	tdoms[0].state = HV_DYING;                       /* the sender is gone */
	assert_int_equal(tools_op_of("web01"), HV_TOOLS_MIGRATING_IN);
	hv_named_find(tdoms, ntdoms, "web01", &n);
	assert_null(n.live);
	assert_int_equal(n.incoming->domid, 7);
	ntdoms = 0;
	tdom("web01--migratedaway", 5, HV_PAUSED, HV_XL_NONE);
	assert_int_equal(tools_op_of("web01"), HV_TOOLS_MIGRATING_OUT);
	assert_int_equal(tools_op_of("web0"), HV_TOOLS_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xl_migrate_names_its_domain),
		cmocka_unit_test(test_other_domains_and_commands_are_not_matched),
		cmocka_unit_test(test_save_helper_names_a_domid),
		cmocka_unit_test(test_malformed_command_lines),
		cmocka_unit_test(test_tools_op_rules),
		cmocka_unit_test_setup_teardown(test_scan_reads_the_process_table,
		    scratch_setup, scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
