/*
 * test_import.c - import/: monit's tokenizer and parser (what they read,
 * what they note, every error with its file and line), the translation's
 * pieces (exec lines, status sets, plain-string regular expressions) and
 * the libconfuse writer (read back through libconfuse itself).
 */
#include "config.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <confuse.h>

#include "conf_writer.h"
#include "monit_parse.h"
#include "monit_xlate.h"
#include "scratch.h"

/* dir/name holding text; its path into path. */
static void
put(const char *dir, const char *name, const char *text, char *path,
    size_t len)
{
	FILE *f;

	scratch_path(path, len, dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Parses dir/name (after writing text there); the notes into *notes. */
static int
parse_text(const char *dir, const char *name, const char *text,
    struct mconf *c, char *err, size_t errlen, char **notes)
{
	char path[512];
	size_t len;
	FILE *mem;
	int rc;

	put(dir, name, text, path, sizeof(path));
	assert_non_null(mem = open_memstream(notes, &len));
	rc = monit_parse(path, mem, c, err, errlen);
	assert_int_equal(fclose(mem), 0);
	return rc;
}

/* The parse of text fails with exactly "DIR/name:LINE: want". */
static void
assert_parse_error(const char *dir, const char *text, int line,
    const char *want)
{
	struct mconf c;
	char err[1024], expect[1024], *notes = NULL;

	assert_int_equal(parse_text(dir, "monitrc", text, &c, err, sizeof(err),
	    &notes), -1);
	snprintf(expect, sizeof(expect), "%s/monitrc:%d: %s", dir, line, want);
	assert_string_equal(err, expect);
	free(notes);
}

static void
test_parse_host(void **state)
{
	const char *dir = *state;
	struct mconf c;
	struct mtest *t;
	char err[1024], *notes = NULL;

	assert_int_equal(parse_text(dir, "monitrc",
	    "# a comment\n"
	    "set daemon 30 with start delay 60\n"
	    "check host web01 with address 10.0.0.5\n"
	    "  if failed host 10.0.0.9 port 8080 protocol HTTP\n"
	    "     request \"/health\" status != 500 and content = 'OK'\n"
	    "     with timeout 7 seconds 2 times within 4 cycles\n"
	    "  then exec \"/usr/sbin/xl destroy web01\" as uid root\n",
	    &c, err, sizeof(err), &notes), 0);
	assert_string_equal(notes, "");
	assert_int_equal(c.daemon_s, 30);
	assert_int_equal(c.start_delay_s, 60);
	assert_int_equal(c.daemon_line, 2);
	assert_int_equal(c.nchecks, 1);
	assert_string_equal(c.checks[0].name, "web01");
	assert_string_equal(c.checks[0].address, "10.0.0.5");
	assert_int_equal(c.checks[0].line, 3);
	assert_int_equal(c.checks[0].ntests, 1);
	t = &c.checks[0].tests[0];
	assert_int_equal(t->line, 4);
	assert_true(t->failed);
	assert_int_equal(t->kind, MTEST_PORT);
	assert_string_equal(t->host, "10.0.0.9");
	assert_int_equal(t->port, 8080);
	assert_string_equal(t->protocol, "http");
	assert_string_equal(t->request, "/health");
	assert_string_equal(t->status_op, "!=");
	assert_int_equal(t->status, 500);
	assert_string_equal(t->content_op, "=");
	assert_string_equal(t->content, "OK");
	assert_int_equal(t->timeout_ms, 7000);
	assert_int_equal(t->cycles, 2);
	assert_int_equal(t->within, 4);
	assert_int_equal(t->action, MACT_EXEC);
	assert_string_equal(t->exec, "/usr/sbin/xl destroy web01");
	monit_conf_free(&c);
	free(notes);
}

/* Statements span lines; '\' joins lines; filler words mean nothing. */
static void
test_parse_free_form(void **state)
{
	const char *dir = *state;
	struct mconf c;
	struct mtest *t;
	char err[1024], *notes = NULL;

	assert_int_equal(parse_text(dir, "monitrc",
	    "CHECK HOST \"db 1\" WITH ADDRESS db1.example\n"
	    "  if failed url https://db1.example:8443/ready?x=1 \\\n"
	    "     for 5 cycles then alert\n"
	    "  if failed port 443 type tcpssl protocol http; then restart\n"
	    "  every 3 cycles\n",
	    &c, err, sizeof(err), &notes), 0);
	assert_int_equal(c.daemon_s, -1);
	assert_string_equal(c.checks[0].name, "db 1");
	assert_int_equal(c.checks[0].every, 3);
	assert_int_equal(c.checks[0].ntests, 2);
	t = &c.checks[0].tests[0];
	assert_int_equal(t->kind, MTEST_URL);
	assert_string_equal(t->url, "https://db1.example:8443/ready?x=1");
	assert_int_equal(t->cycles, 5);
	assert_int_equal(t->within, 0);
	assert_int_equal(t->action, MACT_ALERT);
	t = &c.checks[0].tests[1];
	assert_true(t->ssl);
	assert_int_equal(t->cycles, 1);
	assert_int_equal(t->timeout_ms, -1);
	assert_int_equal(t->action, MACT_RESTART);
	monit_conf_free(&c);
	free(notes);
}

/* Other checks, monit's own settings and header options are noted. */
static void
test_parse_notes(void **state)
{
	const char *dir = *state;
	struct mconf c;
	char err[1024], *notes = NULL, want[2048];

	assert_int_equal(parse_text(dir, "monitrc",
	    "set httpd port 2812 and use address localhost\n"
	    "    allow admin:monit\n"
	    "set mail-format { subject: Monit's alert message: it's $EVENT }\n"
	    "check process sshd with pidfile /var/run/sshd.pid\n"
	    "  if failed port 22 protocol ssh then restart\n"
	    "check system dom0\n"
	    "  if loadavg (1min) > 4 then alert\n"
	    "check host web with address 10.0.0.5\n"
	    "  group www\n"
	    "  alert ops@example.com on { timeout, restart } with reminder on "
	    "3 cycles\n"
	    "  if failed port 80 protocol http hostheader \"www\" retry 2\n"
	    "  then alert else if succeeded then alert\n",
	    &c, err, sizeof(err), &notes), 0);
	snprintf(want, sizeof(want),
	    "%1$s/monitrc:1: not translated: set httpd (a setting of monit "
	    "itself)\n"
	    "%1$s/monitrc:3: not translated: set mail-format (a setting of "
	    "monit itself)\n"
	    "%1$s/monitrc:4: not translated: check process sshd (yaoki probes "
	    "hosts over HTTP; skipped)\n"
	    "%1$s/monitrc:6: not translated: check system dom0 (yaoki probes "
	    "hosts over HTTP; skipped)\n"
	    "%1$s/monitrc:9: not translated: check host web: \"group ...\" "
	    "(no such setting in yaoki)\n"
	    "%1$s/monitrc:10: not translated: check host web: \"alert ...\" "
	    "(no such setting in yaoki)\n", dir);
	assert_string_equal(notes, want);
	assert_int_equal(c.nchecks, 1);
	assert_int_equal(c.checks[0].ntests, 1);
	assert_int_equal(c.checks[0].tests[0].ndropped, 3);
	assert_string_equal(c.checks[0].tests[0].dropped[2].what,
	    "else branch (yaoki alerts only when a domain is unrecoverable)");
	assert_int_equal(c.checks[0].tests[0].dropped[2].line, 12);
	monit_conf_free(&c);
	free(notes);
}

/* include: globs in sorted order, relative to the including file. */
static void
test_parse_include(void **state)
{
	const char *dir = *state;
	struct mconf c;
	char err[1024], path[512], *notes = NULL, want[1024];

	scratch_path(path, sizeof(path), dir, "conf.d");
	assert_int_equal(mkdir(path, 0700), 0);
	put(dir, "conf.d/b.cfg", "check host b with address 10.0.0.2\n",
	    path, sizeof(path));
	put(dir, "conf.d/a.cfg", "check host a with address 10.0.0.1\n"
	    "include 'b.cfg'\n", path, sizeof(path));
	assert_int_equal(parse_text(dir, "monitrc",
	    "include conf.d/*.cfg\n"
	    "include \"none.d/*\"\n"
	    "set daemon 10\n",
	    &c, err, sizeof(err), &notes), 0);
	assert_int_equal(c.nchecks, 2);
	assert_string_equal(c.checks[0].name, "a");
	assert_string_equal(c.checks[1].name, "b");
	snprintf(want, sizeof(want), "%1$s/conf.d/a.cfg", dir);
	assert_string_equal(c.checks[0].file, want);
	assert_int_equal(c.daemon_s, 10);
	snprintf(want, sizeof(want),
	    "%1$s/monitrc:1: note: %1$s/conf.d/b.cfg was included before; "
	    "not read again\n"
	    "%1$s/monitrc:2: note: include %1$s/none.d/* matches no file\n",
	    dir);
	assert_string_equal(notes, want);
	monit_conf_free(&c);
	free(notes);
}

static void
test_parse_errors(void **state)
{
	const char *dir = *state;
	char path[512], msg[1024];

	assert_parse_error(dir, "set daemon 30\n\ncheck host x with address "
	    "y\n  if failed port 80 protocol http request \"/health\n"
	    "then alert\n", 4, "unterminated string (the \" opened here is "
	    "never closed)");
	assert_parse_error(dir, "set daemon 30\nfrobnicate all\n", 2,
	    "unknown statement \"frobnicate\" (expected set, check or "
	    "include)");
	assert_parse_error(dir, "check host x with address y\n"
	    "  iff failed port 80 then alert\n", 2,
	    "check host x: unknown statement \"iff\"");
	assert_parse_error(dir, "check hots x with address y\n", 1,
	    "unknown check type \"hots\" (monit knows host, process, file, "
	    "fifo, filesystem, directory, system, program, network)");
	assert_parse_error(dir, "check host x with address y\n"
	    "  if failed port 80 protocol http\n"
	    "check host z with address w\n", 3,
	    "check host x: the \"if\" of line 2 has no \"then\"");
	assert_parse_error(dir, "check host x with address y\n"
	    "  if failed port 80 then exec /sbin/xl\n", 2,
	    "exec: expected the command in quotes, found \"/sbin/xl\"");
	assert_parse_error(dir, "check host x address y\n"
	    "  if failed port 80 for 3 then alert\n", 2,
	    "expected \"cycles\" after 3, found \"then\"");
	assert_parse_error(dir, "check host x with address y\n"
	    "  if failed port 99999 then alert\n", 2,
	    "port 99999: not a port number");
	assert_parse_error(dir, "check host x\n  if failed port 80 then "
	    "alert\n", 2, "check host x: expected \"with address ADDRESS\", "
	    "found \"if\"");
	scratch_path(path, sizeof(path), dir, "missing.cfg");
	snprintf(msg, sizeof(msg), "include %s: No such file or directory",
	    path);
	assert_parse_error(dir, "set daemon 5\n\ninclude missing.cfg\n", 3,
	    msg);
	/* A cycle: monitrc includes loop.cfg, which includes monitrc. */
	put(dir, "loop.cfg", "\n\ninclude monitrc\n", path, sizeof(path));
	{
		struct mconf c;
		char err[1024], want[1024], *notes = NULL;

		assert_int_equal(parse_text(dir, "monitrc", "include "
		    "loop.cfg\n", &c, err, sizeof(err), &notes), -1);
		snprintf(want, sizeof(want), "%1$s/loop.cfg:3: include cycle: "
		    "%1$s/monitrc is already being read (it is the control "
		    "file)", dir);
		assert_string_equal(err, want);
		free(notes);
	}
}

static void
test_parse_unreadable(void **state)
{
	const char *dir = *state;
	struct mconf c;
	char err[1024], path[512], want[1024];

	scratch_path(path, sizeof(path), dir, "nothing");
	assert_int_equal(monit_parse(path, NULL, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
}

static void
test_exec_domain(void **state)
{
	char name[64];

	(void)state;
	assert_int_equal(monit_exec_domain("/usr/sbin/xm destroy web01 && "
	    "/usr/sbin/xm create /etc/xen/web01.cfg", name, sizeof(name)), 0);
	assert_string_equal(name, "web01");
	assert_int_equal(monit_exec_domain("/bin/sh -c 'xl destroy -f db.1;"
	    "sleep 2;xl create -q /etc/xen/db.cfg'", name, sizeof(name)), 0);
	assert_string_equal(name, "db.1");
	assert_int_equal(monit_exec_domain("xl destroy web01", name,
	    sizeof(name)), -1);
	assert_int_equal(monit_exec_domain("xl create /etc/xen/a.cfg; "
	    "xl destroy a", name, sizeof(name)), -1);
	assert_int_equal(monit_exec_domain("/usr/local/bin/recover web01",
	    name, sizeof(name)), -1);
	assert_int_equal(monit_exec_domain("virsh destroy a && virsh create "
	    "a.xml", name, sizeof(name)), -1);
	assert_int_equal(monit_exec_domain("xl destroy abcdefgh; xl create x",
	    name, 4), -1);
}

static void
test_status_set(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(monit_status_set("=", 200, out, sizeof(out)), 0);
	assert_string_equal(out, "200");
	assert_int_equal(monit_status_set("!=", 500, out, sizeof(out)), 0);
	assert_string_equal(out, "100-499,501-599");
	assert_int_equal(monit_status_set("!=", 100, out, sizeof(out)), 0);
	assert_string_equal(out, "101-599");
	assert_int_equal(monit_status_set("<", 400, out, sizeof(out)), 0);
	assert_string_equal(out, "100-399");
	assert_int_equal(monit_status_set("<=", 204, out, sizeof(out)), 0);
	assert_string_equal(out, "100-204");
	assert_int_equal(monit_status_set(">", 598, out, sizeof(out)), 0);
	assert_string_equal(out, "599");
	assert_int_equal(monit_status_set(">=", 300, out, sizeof(out)), 0);
	assert_string_equal(out, "300-599");
	assert_int_equal(monit_status_set("<", 100, out, sizeof(out)), -1);
	assert_int_equal(monit_status_set(">", 599, out, sizeof(out)), -1);
	assert_int_equal(monit_status_set("=", 700, out, sizeof(out)), -1);
}

static void
test_regex_literal(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(monit_regex_literal("OK", out, sizeof(out)), 0);
	assert_string_equal(out, "OK");
	assert_int_equal(monit_regex_literal("all good: \"yes\"", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "all good: \"yes\"");
	assert_int_equal(monit_regex_literal("v1\\.2 \\(ok\\)", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "v1.2 (ok)");
	assert_int_equal(monit_regex_literal("v1.2", out, sizeof(out)), -1);
	assert_int_equal(monit_regex_literal("^OK$", out, sizeof(out)), -1);
	assert_int_equal(monit_regex_literal("a|b", out, sizeof(out)), -1);
	assert_int_equal(monit_regex_literal("\\d+", out, sizeof(out)), -1);
	assert_int_equal(monit_regex_literal("", out, sizeof(out)), -1);
	assert_int_equal(monit_regex_literal("toolong", out, 4), -1);
}

/* What the writer quotes, libconfuse reads back byte for byte. */
static void
test_writer_round_trip(void **state)
{
	static const char *const values[] = {
		"plain", "with \"quotes\"", "back\\slash", "${HOME} and $PATH",
		"tab\there\nnewline", "caf\xc3\xa9 \x01\x7f", "# not a comment",
		"'single'",
	};
	cfg_opt_t dom[] = { CFG_STR("v", NULL, CFGF_NONE), CFG_END() };
	cfg_opt_t opts[] = {
		CFG_SEC("domain", dom, CFGF_MULTI | CFGF_TITLE), CFG_END()
	};
	struct cw w;
	char *text = NULL, title[32];
	size_t len, i;
	FILE *mem;
	cfg_t *cfg;

	(void)state;
	assert_non_null(mem = open_memstream(&text, &len));
	cw_init(&w, mem);
	cw_comment(&w, "a comment with a newline\nand a \x01 byte");
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(title, sizeof(title), "d$%zu\"", i);
		cw_begin(&w, "domain", title);
		cw_string(&w, "v", values[i], "note\nwith newline");
		cw_end(&w);
	}
	assert_int_equal(fclose(mem), 0);
	assert_non_null(cfg = cfg_init(opts, CFGF_NONE));
	assert_int_equal(cfg_parse_buf(cfg, text), CFG_SUCCESS);
	assert_int_equal(cfg_size(cfg, "domain"),
	    sizeof(values) / sizeof(values[0]));
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		cfg_t *d = cfg_getnsec(cfg, "domain", (unsigned)i);

		snprintf(title, sizeof(title), "d$%zu\"", i);
		assert_string_equal(cfg_title(d), title);
		assert_string_equal(cfg_getstr(d, "v"), values[i]);
	}
	cfg_free(cfg);
	free(text);
}

static void
test_writer_durations(void **state)
{
	char d[32];

	(void)state;
	cw_format_duration(d, sizeof(d), 30000);
	assert_string_equal(d, "30s");
	cw_format_duration(d, sizeof(d), 120000);
	assert_string_equal(d, "2m");
	cw_format_duration(d, sizeof(d), 7200000);
	assert_string_equal(d, "2h");
	cw_format_duration(d, sizeof(d), 1500);
	assert_string_equal(d, "1500ms");
	cw_format_duration(d, sizeof(d), 0);
	assert_string_equal(d, "0s");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parse_host,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_parse_free_form,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_parse_notes,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_parse_include,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_parse_errors,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_parse_unreadable,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test(test_exec_domain),
		cmocka_unit_test(test_status_set),
		cmocka_unit_test(test_regex_literal),
		cmocka_unit_test(test_writer_round_trip),
		cmocka_unit_test(test_writer_durations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
