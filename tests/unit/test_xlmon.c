/*
 * test_xlmon.c - unit tests of finding a domain's xl monitor
 * (supervisor/hv/hv_xlmon.c) and of the bounded tail read it uses
 * (base/file.c), on files in a scratch directory: a fake xl log and a
 * fake /proc.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
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

#include "file.h"
#include "hv_xlmon.h"
#include "scratch.h"

/* Writes text to dir/file (the test fails if it cannot). */
static void
put(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	scratch_path(path, sizeof(path), dir, file);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* A fake /proc/PID/comm under dir/proc. */
static void
put_comm(const char *dir, long pid, const char *comm)
{
	char sub[PATH_MAX];

	snprintf(sub, sizeof(sub), "%s/proc", dir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/proc/%ld", dir, pid);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "proc/%ld/comm", pid);
	put(dir, sub, comm);
}

static void
test_parse_last_line_decides(void **state)
{
	const char *log =
	    "Parsing config from /etc/xen/web01.cfg\n"
	    "Waiting for domain web01 (domid 3) to die [pid 411]\n"
	    "Domain 3 has shut down, reason code 3 0x3\n"
	    "Action for shutdown reason code 3 is restart\n"
	    "Waiting for domain web01 (domid 7) to die [pid 411]\n";

	(void)state;
	assert_int_equal(hv_xlmon_parse(log, "web01", 7), 411);
	/* The monitor moved on to domid 7: none waits for 3 any more. */
	assert_int_equal(hv_xlmon_parse(log, "web01", 3), 0);
	assert_int_equal(hv_xlmon_parse(log, "web01", 8), 0);
	assert_int_equal(hv_xlmon_parse(log, "web0", 7), 0);
	assert_int_equal(hv_xlmon_parse("", "web01", 7), 0);
	/* Without a final newline, and with a prefix before the message. */
	assert_int_equal(hv_xlmon_parse("libxl: Waiting for domain a (domid 1) "
	    "to die [pid 9]", "a", 1), 9);
}

static void
test_parse_malformed(void **state)
{
	(void)state;
	assert_int_equal(hv_xlmon_parse("Waiting for domain a (domid 1) to die "
	    "[pid x]\n", "a", 1), 0);
	assert_int_equal(hv_xlmon_parse("Waiting for domain a (domid 1) to die "
	    "[pid 9\n", "a", 1), 0);
	assert_int_equal(hv_xlmon_parse("Waiting for domain a (domid 1x) to "
	    "die [pid 9]\n", "a", 1), 0);
	assert_int_equal(hv_xlmon_parse("Waiting for domain a (domid 1) to die "
	    "[pid -9]\n", "a", 1), 0);
	assert_int_equal(hv_xlmon_parse("Waiting for domain a (domid 1) to die "
	    "[pid 99999999999999999999]\n", "a", 1), 0);
}

static void
test_find_checks_the_process(void **state)
{
	const char *dir = *state;
	char proc[PATH_MAX];

	scratch_path(proc, sizeof(proc), dir, "proc");
	put(dir, "xl-web01.log",
	    "Waiting for domain web01 (domid 5) to die [pid 411]\n");
	put(dir, "xl-web02.log",
	    "Waiting for domain web02 (domid 6) to die [pid 412]\n");
	put(dir, "xl-web03.log",
	    "Waiting for domain web03 (domid 8) to die [pid 413]\n");
	put_comm(dir, 411, "xl\n");
	put_comm(dir, 412, "bash\n");	/* the pid was reused */
	assert_int_equal(hv_xlmon_find(dir, proc, "web01", 5), 411);
	assert_int_equal(hv_xlmon_find(dir, proc, "web01", 4), 0);
	assert_int_equal(hv_xlmon_find(dir, proc, "web02", 6), 0);
	assert_int_equal(hv_xlmon_find(dir, proc, "web03", 8), 0);	/* gone */
	assert_int_equal(hv_xlmon_find(dir, proc, "web04", 9), 0);	/* no log */
	assert_int_equal(hv_xlmon_find(dir, proc, "../xl-web01", 5), 0);
	assert_true(hv_xlmon_alive(proc, 411));
	assert_false(hv_xlmon_alive(proc, 0));
}

static void
test_file_read_tail(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX], big[300];
	size_t len;
	char *s;

	put(dir, "short", "abc\n");
	scratch_path(path, sizeof(path), dir, "short");
	assert_non_null(s = yk_file_read_tail(path, 100, &len));
	assert_string_equal(s, "abc\n");
	assert_int_equal(len, 4);
	free(s);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[sizeof(big) - 3] = 'E';
	put(dir, "big", big);
	scratch_path(path, sizeof(path), dir, "big");
	assert_non_null(s = yk_file_read_tail(path, 10, &len));
	assert_int_equal(len, 10);
	assert_string_equal(s, "xxxxxxxxEx");
	free(s);
	scratch_path(path, sizeof(path), dir, "missing");
	assert_null(yk_file_read_tail(path, 10, NULL));
	assert_int_equal(errno, ENOENT);
	assert_null(yk_file_read_tail(dir, 10, NULL));
	assert_int_equal(errno, EISDIR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_last_line_decides),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test_setup_teardown(test_find_checks_the_process,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_file_read_tail,
		    scratch_setup, scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
