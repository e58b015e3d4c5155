/*
 * test_config.c - unit tests of conf/: durations, status sets, loading
 * yaoki.conf (defaults, precedence, every key) and every kind of error with
 * its exact FILE:LINE.
 *
 * Touches no network and no hypervisor; writes only its own temporary files
 * (mkstemp under TMPDIR or /tmp), removed before each test returns.
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
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

#define NAME "t.conf"

/* ---- helpers ------------------------------------------------------------ */

static struct yk_config *
load(const char *text, struct yk_conf_errors *e)
{
	return yk_config_load_text(NAME, text, e);
}

static void
print_errors(const struct yk_conf_errors *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		print_message("  error: %s\n", e->msg[i]);
}

/* Loads text that must be valid. */
static struct yk_config *
load_ok(const char *text)
{
	struct yk_conf_errors e = { 0, NULL };
	struct yk_config *c;

	c = load(text, &e);
	if (c == NULL || e.n != 0)
		print_errors(&e);
	assert_non_null(c);
	assert_int_equal(e.n, 0);
	yk_conf_errors_free(&e);
	return c;
}

/* The message is "t.conf:LINE: ..." and contains each word. */
static void
assert_msg(const char *msg, int line, const char *word1, const char *word2)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), NAME ":%d: ", line);
	if (strncmp(msg, prefix, strlen(prefix)) != 0 ||
	    (word1 != NULL && strstr(msg, word1) == NULL) ||
	    (word2 != NULL && strstr(msg, word2) == NULL))
		fail_msg("message \"%s\": expected prefix \"%s\" and words "
		    "\"%s\", \"%s\"", msg, prefix, word1 ? word1 : "",
		    word2 ? word2 : "");
}

/* text must be rejected with exactly one error, at line, naming word. */
static void
expect_error(const char *text, int line, const char *word1,
    const char *word2)
{
	struct yk_conf_errors e = { 0, NULL };
	struct yk_config *c;

	c = load(text, &e);
	if (c != NULL || e.n != 1) {
		print_message("text:\n%s\n", text);
		print_errors(&e);
	}
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_msg(e.msg[0], line, word1, word2);
	yk_conf_errors_free(&e);
}

/* One domain whose third line is `line`. */
static char *
domain_with(const char *line)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
	    "domain \"d\" {\n"
	    "  url = \"http://192.0.2.1/\"\n"
	    "  %s\n"
	    "}\n", line);
	return buf;
}

/* A config setting only `line` (line 1) plus one valid domain. */
static char *
global_with(const char *line)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
	    "%s\n"
	    "domain \"d\" {\n"
	    "  url = \"http://192.0.2.1/\"\n"
	    "}\n", line);
	return buf;
}

static char *
write_temp(const char *text)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	size_t len;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	len = strlen(dir) + 32;
	path = malloc(len);
	assert_non_null(path);
	snprintf(path, len, "%s/test_config.XXXXXX", dir);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	return path;
}

/* ---- durations ---------------------------------------------------------- */

static void
test_duration_forms(void **state)
{
	static const struct {
		const char *text;
		uint64_t ms;
	} ok[] = {
		{ "250ms", 250 },
		{ "5s", 5000 },
		{ "2m", 120000 },
		{ "1h", 3600000 },
		{ "5", 5000 },
		{ "0", 0 },
		{ "0ms", 0 },
		{ "1.5s", 1500 },
		{ "0.25", 250 },
		{ "1.5m", 90000 },
		{ "0.5h", 1800000 },
		{ "1.5ms", 2 },		/* rounded to whole ms, half up */
		{ "1.0004s", 1000 },
		{ "1.0005s", 1001 },
		{ "2.0000000001s", 2000 },
		{ "007s", 7000 },
		{ "720h", 2592000000ULL },
		{ "9223372036854775807ms", 9223372036854775807ULL },
	};
	uint64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ms = 12345;
		if (yk_duration_parse(ok[i].text, &ms) != 0)
			fail_msg("\"%s\" rejected", ok[i].text);
		if (ms != ok[i].ms)
			fail_msg("\"%s\" gave %llu, not %llu", ok[i].text,
			    (unsigned long long)ms,
			    (unsigned long long)ok[i].ms);
	}
}

static void
test_duration_bad(void **state)
{
	static const char *const bad[] = {
		"", "-5s", "+5s", "5x", "5 s", " 5s", "5s ", "s", "ms", ".5s",
		"5.s", "5.", "5sec", "5S", "1e3", "0x10", "5ms5", "5s5",
		"1d", "5..5s", "1,5s", "nan", "inf",
		"9223372036854775808ms",	/* > INT64_MAX */
		"99999999999999999999",		/* overflows uint64 */
		"2562047788016h",
		"9223372036854775.808s",	/* rounds past INT64_MAX */
	};
	uint64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 777;
		if (yk_duration_parse(bad[i], &ms) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(ms, 777);	/* untouched on error */
	}
	assert_int_equal(yk_duration_parse(NULL, &ms), -1);
}

static void
test_duration_format(void **state)
{
	static const struct {
		uint64_t ms;
		const char *text;
	} cases[] = {
		{ 0, "0s" },
		{ 250, "250ms" },
		{ 1500, "1500ms" },
		{ 5000, "5s" },
		{ 90000, "90s" },
		{ 120000, "2m" },
		{ 3600000, "1h" },
		{ 5400000, "90m" },
		{ 86400000, "24h" },
	};
	char buf[32], tiny[3];
	uint64_t back;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		yk_duration_format(cases[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].text);
		/* What it writes, the parser reads back. */
		assert_int_equal(yk_duration_parse(buf, &back), 0);
		assert_int_equal(back, cases[i].ms);
	}
	yk_duration_format(3600000, tiny, sizeof(tiny));
	assert_string_equal(tiny, "1h");
	yk_duration_format(250, tiny, sizeof(tiny));
	assert_string_equal(tiny, "25");	/* truncated, terminated */
}

/* ---- status sets -------------------------------------------------------- */

static void
test_status_set_parse(void **state)
{
	struct yk_status_set s;

	(void)state;
	assert_int_equal(yk_status_set_parse("200", &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.r[0].lo, 200);
	assert_int_equal(s.r[0].hi, 200);

	assert_int_equal(yk_status_set_parse("200-299", &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.r[0].lo, 200);
	assert_int_equal(s.r[0].hi, 299);

	assert_int_equal(yk_status_set_parse("200,204,301", &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.r[1].lo, 204);
	assert_int_equal(s.r[2].hi, 301);

	assert_int_equal(yk_status_set_parse("200-299, 301 ,100-101", &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.r[0].lo, 200);
	assert_int_equal(s.r[0].hi, 299);
	assert_int_equal(s.r[1].lo, 301);
	assert_int_equal(s.r[2].lo, 100);
	assert_int_equal(s.r[2].hi, 101);

	assert_int_equal(yk_status_set_parse("100-599", &s), 0);
	assert_int_equal(yk_status_set_parse("599", &s), 0);
	assert_int_equal(yk_status_set_parse("100", &s), 0);
}

static void
test_status_set_match(void **state)
{
	struct yk_status_set s;

	(void)state;
	assert_int_equal(yk_status_set_parse("200-299,301", &s), 0);
	assert_true(yk_status_set_match(&s, 200));
	assert_true(yk_status_set_match(&s, 250));
	assert_true(yk_status_set_match(&s, 299));
	assert_true(yk_status_set_match(&s, 301));
	assert_false(yk_status_set_match(&s, 199));
	assert_false(yk_status_set_match(&s, 300));
	assert_false(yk_status_set_match(&s, 302));
	assert_false(yk_status_set_match(&s, 500));
	assert_false(yk_status_set_match(&s, 0));
	assert_false(yk_status_set_match(&s, -200));
	assert_false(yk_status_set_match(&s, 65736));	/* 200 + 65536 */
}

static void
test_status_set_bad(void **state)
{
	static const char *const bad[] = {
		"", " ", "abc", "99", "600", "1000", "0200", "20", "2000",
		"100-", "-200", "300-200", "200-600", "200,,204", "200,", ",200",
		"200 - 299", "200-299x", "200;204", "200 204", "2OO",
		"200-299-300",
	};
	struct yk_status_set s;
	char many[256];
	size_t i, o;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.n = 99;
		if (yk_status_set_parse(bad[i], &s) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(s.n, 99);	/* untouched on error */
	}
	/* YK_STATUS_MAX_RANGES items are fine, one more is not. */
	for (i = 0, o = 0; i < YK_STATUS_MAX_RANGES; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%s%zu",
		    i ? "," : "", 200 + i);
	assert_int_equal(yk_status_set_parse(many, &s), 0);
	assert_int_equal(s.n, YK_STATUS_MAX_RANGES);
	snprintf(many + o, sizeof(many) - o, ",500");
	assert_int_equal(yk_status_set_parse(many, &s), -1);
}

/* ---- loading: defaults and precedence ----------------------------------- */

static void
assert_domain_defaults(const struct yk_domain_conf *d)
{
	assert_int_equal(d->interval_ms, 5000);
	assert_int_equal(d->timeout_ms, 2000);
	assert_int_equal(d->failures, 3);
	assert_int_equal(d->successes, 1);
	assert_int_equal(d->start_period_ms, 120000);
	assert_string_equal(d->expect_status_text, "200-399");
	assert_int_equal(d->expect_status.n, 1);
	assert_int_equal(d->expect_status.r[0].lo, 200);
	assert_int_equal(d->expect_status.r[0].hi, 399);
	assert_null(d->expect_body);
	assert_int_equal(d->on_failure, YK_ONFAIL_RECREATE);
	assert_int_equal(d->on_crash, YK_ONCRASH_RECREATE);
	assert_int_equal(d->max_recoveries, 3);
	assert_int_equal(d->recovery_window_ms, 3600000);
	assert_int_equal(d->backoff_ms, 10000);
	assert_int_equal(d->backoff_max_ms, 300000);
	assert_null(d->domain_config);
	assert_true(d->tls_verify);
	assert_null(d->ca_file);
}

static void
test_defaults(void **state)
{
	struct yk_config *c;
	const struct yk_domain_conf *d;

	(void)state;
	c = load_ok("domain \"web01\" {\n"
	    "  url = \"http://192.0.2.10/healthz\"\n"
	    "}\n");
	assert_string_equal(c->path, NAME);
	assert_int_equal(c->hypervisor, YK_HV_LIBXL);
	assert_string_equal(c->state_dir, "/var/lib/yaoki");
	assert_string_equal(c->sim_socket, "/var/lib/yaoki/simhv.sock");
	assert_string_equal(c->socket, "/run/yaoki/yaokid.sock");
	assert_null(c->socket_group);
	assert_null(c->hook);
	assert_int_equal(c->hook_timeout_ms, 30000);
	assert_int_equal(c->max_parallel_recoveries, 2);
	assert_true(c->mass_failure_fraction == 0.5);
	assert_int_equal(c->mass_failure_min, 3);
	assert_int_equal(c->mass_failure_hook_max, 3);
	assert_int_equal(c->mass_failure_hook_window_ms, 3600000);
	assert_null(c->metrics_file);
	assert_int_equal(c->ndomains, 1);
	d = &c->domains[0];
	assert_string_equal(d->name, "web01");
	assert_string_equal(d->url, "http://192.0.2.10/healthz");
	assert_int_equal(d->line, 1);
	assert_domain_defaults(d);
	yk_config_free(c);
}

static void
test_zero_domains(void **state)
{
	struct yk_config *c;

	(void)state;
	c = load_ok("");
	assert_int_equal(c->ndomains, 0);
	assert_string_equal(c->state_dir, "/var/lib/yaoki");
	yk_config_free(c);
	c = load_ok("# only a comment\n\nhypervisor = \"sim\"\n"
	    "defaults {\n  interval = 1s\n}\n");
	assert_int_equal(c->ndomains, 0);
	assert_int_equal(c->hypervisor, YK_HV_SIM);
	yk_config_free(c);
}

static void
test_sim_socket_default(void **state)
{
	struct yk_config *c;

	(void)state;
	c = load_ok("state_dir = \"/srv/yk/\"\n");
	assert_string_equal(c->sim_socket, "/srv/yk/simhv.sock");
	yk_config_free(c);
	c = load_ok("state_dir = \"/\"\n");
	assert_string_equal(c->sim_socket, "/simhv.sock");
	yk_config_free(c);
	c = load_ok("sim_socket = \"/run/sim.sock\"\nstate_dir = \"/x\"\n");
	assert_string_equal(c->sim_socket, "/run/sim.sock");
	assert_string_equal(c->state_dir, "/x");
	yk_config_free(c);
}

static void
test_precedence(void **state)
{
	struct yk_config *c;
	const struct yk_domain_conf *a, *b;

	(void)state;
	c = load_ok(
	    "domain \"a\" {\n"			/* domains before defaults: */
	    "  url = \"http://192.0.2.1/\"\n"	/* order does not matter */
	    "  interval = 1s\n"
	    "  tls_verify = true\n"
	    "  expect_body = \"mine\"\n"
	    "}\n"
	    "defaults {\n"
	    "  interval = 10s\n"
	    "  failures = 5\n"
	    "  tls_verify = false\n"
	    "  expect_body = \"ok\"\n"
	    "  url = \"http://192.0.2.9/common\"\n"
	    "}\n"
	    "domain \"b\" {\n"
	    "}\n");
	assert_int_equal(c->ndomains, 2);
	a = yk_config_find(c, "a");
	b = yk_config_find(c, "b");
	assert_non_null(a);
	assert_non_null(b);
	/* domain's own key beats defaults { } */
	assert_int_equal(a->interval_ms, 1000);
	assert_true(a->tls_verify);
	assert_string_equal(a->expect_body, "mine");
	assert_string_equal(a->url, "http://192.0.2.1/");
	/* defaults { } beats compiled-in */
	assert_int_equal(a->failures, 5);
	assert_int_equal(b->interval_ms, 10000);
	assert_int_equal(b->failures, 5);
	assert_false(b->tls_verify);
	assert_string_equal(b->expect_body, "ok");
	assert_string_equal(b->url, "http://192.0.2.9/common");
	/* compiled-in where neither sets it */
	assert_int_equal(a->timeout_ms, 2000);
	assert_int_equal(b->timeout_ms, 2000);
	assert_int_equal(a->line, 1);
	assert_int_equal(b->line, 14);
	yk_config_free(c);
}

/* Every key, each set to something other than its default. */
static void
test_every_key(void **state)
{
	struct yk_config *c;
	const struct yk_domain_conf *d;

	(void)state;
	c = load_ok(
	    "hypervisor = \"sim\"\n"
	    "sim_socket = \"/tmp/sim.sock\"\n"
	    "state_dir = \"/srv/yaoki\"\n"
	    "socket = \"/run/y.sock\"\n"
	    "socket_group = \"yaoki\"\n"
	    "hook = \"/etc/yaoki/hook\"\n"
	    "hook_timeout = 1m\n"
	    "max_parallel_recoveries = 64\n"
	    "mass_failure_fraction = 1\n"
	    "mass_failure_min = 100000\n"
	    "mass_failure_hook_max = 7\n"
	    "mass_failure_hook_window = 10m\n"
	    "metrics_file = \"/var/lib/m/yaoki.prom\"\n"
	    "domain \"db01\" {\n"
	    "  url = \"https://[2001:db8::1]:8443/health?x=1\"\n"
	    "  interval = 250ms\n"
	    "  timeout = 1.5s\n"
	    "  failures = 1000\n"
	    "  successes = 2\n"
	    "  start_period = 0\n"
	    "  expect_status = \"200,204\"\n"
	    "  expect_body = \"all good\"\n"
	    "  on_failure = \"reboot\"\n"
	    "  on_crash = \"none\"\n"
	    "  max_recoveries = 100\n"
	    "  recovery_window = 720h\n"
	    "  backoff = 0\n"
	    "  backoff_max = 0\n"
	    "  domain_config = \"/etc/yaoki/db01.json\"\n"
	    "  tls_verify = no\n"
	    "  ca_file = \"/etc/yaoki/ca.pem\"\n"
	    "}\n");
	assert_int_equal(c->hypervisor, YK_HV_SIM);
	assert_string_equal(c->sim_socket, "/tmp/sim.sock");
	assert_string_equal(c->state_dir, "/srv/yaoki");
	assert_string_equal(c->socket, "/run/y.sock");
	assert_string_equal(c->socket_group, "yaoki");
	assert_string_equal(c->hook, "/etc/yaoki/hook");
	assert_int_equal(c->hook_timeout_ms, 60000);
	assert_int_equal(c->max_parallel_recoveries, 64);
	assert_true(c->mass_failure_fraction == 1.0);
	assert_int_equal(c->mass_failure_min, 100000);
	assert_int_equal(c->mass_failure_hook_max, 7);
	assert_int_equal(c->mass_failure_hook_window_ms, 600000);
	assert_string_equal(c->metrics_file, "/var/lib/m/yaoki.prom");
	assert_int_equal(c->ndomains, 1);
	d = &c->domains[0];
	assert_string_equal(d->name, "db01");
	assert_int_equal(d->line, 14);
	assert_string_equal(d->url, "https://[2001:db8::1]:8443/health?x=1");
	assert_int_equal(d->interval_ms, 250);
	assert_int_equal(d->timeout_ms, 1500);
	assert_int_equal(d->failures, 1000);
	assert_int_equal(d->successes, 2);
	assert_int_equal(d->start_period_ms, 0);
	assert_string_equal(d->expect_status_text, "200,204");
	assert_int_equal(d->expect_status.n, 2);
	assert_true(yk_status_set_match(&d->expect_status, 204));
	assert_false(yk_status_set_match(&d->expect_status, 201));
	assert_string_equal(d->expect_body, "all good");
	assert_int_equal(d->on_failure, YK_ONFAIL_REBOOT);
	assert_int_equal(d->on_crash, YK_ONCRASH_NONE);
	assert_int_equal(d->max_recoveries, 100);
	assert_int_equal(d->recovery_window_ms, 2592000000ULL);
	assert_int_equal(d->backoff_ms, 0);
	assert_int_equal(d->backoff_max_ms, 0);
	assert_string_equal(d->domain_config, "/etc/yaoki/db01.json");
	assert_false(d->tls_verify);
	assert_string_equal(d->ca_file, "/etc/yaoki/ca.pem");
	yk_config_free(c);
}

/* Unquoted values, other boolean spellings, on_failure none. */
static void
test_value_spellings(void **state)
{
	struct yk_config *c;
	const struct yk_domain_conf *d;

	(void)state;
	c = load_ok(
	    "hypervisor = libxl\n"
	    "mass_failure_fraction = 0.25\n"
	    "domain web-01.example_2 {\n"
	    "  url = http://192.0.2.1:8080/x\n"
	    "  interval = 2m\n"
	    "  timeout = 10ms\n"
	    "  failures = 3\n"
	    "  expect_status = 200\n"
	    "  on_failure = none\n"
	    "  tls_verify = off\n"
	    "}\n");
	assert_true(c->mass_failure_fraction == 0.25);
	d = &c->domains[0];
	assert_string_equal(d->name, "web-01.example_2");
	assert_string_equal(d->url, "http://192.0.2.1:8080/x");
	assert_int_equal(d->interval_ms, 120000);
	assert_int_equal(d->timeout_ms, 10);
	assert_int_equal(d->on_failure, YK_ONFAIL_NONE);
	assert_false(d->tls_verify);
	yk_config_free(c);
}

/* ---- errors -------------------------------------------------------------- */

static void
test_error_unknown_key(void **state)
{
	(void)state;
	expect_error("hypervisor = \"sim\"\nbogus = 1\n", 2, "bogus", NULL);
	expect_error(domain_with("intervall = 5s"), 3, "intervall",
	    "domain \"d\"");
	expect_error("defaults {\n\n  urll = \"http://x/\"\n}\n", 3, "urll",
	    "defaults");
	/* global keys belong at the top, not in a domain */
	expect_error(domain_with("hypervisor = \"sim\""), 3, "hypervisor",
	    NULL);
	/* no include(): loading reads only this file */
	expect_error("\ninclude(\"/etc/passwd\")\n", 2, "include", NULL);
	/* the hidden per-section option cannot be set either */
	expect_error(domain_with("\"yaoki section info\" = \"x\""), 3,
	    "yaoki section info", NULL);
}

static void
test_error_wrong_type(void **state)
{
	(void)state;
	expect_error(domain_with("failures = abc"), 3, "failures",
	    "whole number");
	expect_error(domain_with("failures = 1.5"), 3, "failures",
	    "whole number");
	expect_error(domain_with("failures = -1"), 3, "failures", "1 to 1000");
	expect_error(domain_with("interval = fast"), 3, "interval",
	    "not a duration");
	expect_error(domain_with("tls_verify = maybe"), 3, "tls_verify",
	    "true, false");
	expect_error(global_with("mass_failure_fraction = half"), 1,
	    "mass_failure_fraction", "at most 1");
	expect_error(global_with("max_parallel_recoveries = two"), 1,
	    "max_parallel_recoveries", "1 to 64");
	/* structure: a section used as a value, a value used as a section */
	expect_error("\n\ndefaults = 5\n", 3, "defaults", NULL);
	expect_error("\ninterval {\n}\n", 2, "interval", NULL);
	expect_error("\n\ndomain = \"x\"\n", 3, "domain", NULL);
	expect_error("\ndomain {\n}\n", 2, "domain", NULL);
	expect_error(domain_with("interval = { 1s, 2s }"), 3, NULL, NULL);
}

static void
test_error_syntax(void **state)
{
	(void)state;
	expect_error("hypervisor = \"sim\"\n}\n", 2, "closing brace", NULL);
	/* libconfuse alone would close it silently at the end of file */
	expect_error("domain \"a\" {\n  url = \"http://192.0.2.1/\"\n", 1,
	    "never closed", NULL);
	expect_error("\ndefaults {\n  interval = 1s\n\n", 2, "never closed",
	    NULL);
	expect_error("hypervisor =\n", 2, "end of file", NULL);
	expect_error("hypervisor \"sim\"\n", 1, "hypervisor", NULL);
	expect_error("\n\nhook = \"/x\n\n", 3, "unterminated string", NULL);
	expect_error("\nhook = '/x\n", 2, "unterminated string", NULL);
	expect_error("\n\n/* never closed\n\n", 3, "unterminated comment",
	    NULL);
}

static void
test_error_duplicate_domain(void **state)
{
	struct yk_conf_errors e = { 0, NULL };

	(void)state;
	expect_error(
	    "domain \"web01\" {\n"
	    "  url = \"http://192.0.2.1/\"\n"
	    "}\n"
	    "domain \"web02\" {\n"
	    "  url = \"http://192.0.2.2/\"\n"
	    "}\n"
	    "domain \"web01\" {\n"
	    "  url = \"http://192.0.2.3/\"\n"
	    "}\n", 7, "duplicate domain \"web01\"", "line 1");
	/* parsing goes on: a later error is reported too */
	assert_null(load(
	    "domain \"a\" {\n  url = \"http://192.0.2.1/\"\n}\n"
	    "domain \"a\" {\n  url = \"http://192.0.2.1/\"\n}\n"
	    "domain \"b\" {\n  url = \"http://192.0.2.1/\"\n"
	    "  failures = 0\n}\n", &e));
	assert_int_equal(e.n, 2);
	assert_msg(e.msg[0], 4, "duplicate domain \"a\"", NULL);
	assert_msg(e.msg[1], 9, "failures", NULL);
	yk_conf_errors_free(&e);
}

struct range_case {
	const char *key;
	bool global;
	const char *bad_low, *ok_low, *ok_high, *bad_high;
	const char *accepted;		/* how the message states the range */
};

static void
check_range_value(const struct range_case *rc, const char *value, bool ok)
{
	char line[128];
	const char *text;
	struct yk_config *c;

	if (value == NULL)
		return;
	snprintf(line, sizeof(line), "%s = %s", rc->key, value);
	text = rc->global ? global_with(line) : domain_with(line);
	if (ok) {
		c = load_ok(text);
		yk_config_free(c);
	} else {
		char key[64];

		snprintf(key, sizeof(key), "%s: ", rc->key);
		expect_error(text, rc->global ? 1 : 3, key, rc->accepted);
	}
}

static void
test_error_ranges(void **state)
{
	static const struct range_case cases[] = {
		{ "interval", false, "99ms", "100ms", "24h", "86400001ms",
		    "100ms to 24h" },
		{ "timeout", false, "9ms", "10ms", "1h", "3601s",
		    "10ms to 1h" },
		{ "failures", false, "0", "1", "1000", "1001", "1 to 1000" },
		{ "successes", false, "0", "1", "1000", "1001", "1 to 1000" },
		{ "start_period", false, NULL, "0", "24h", "1441m",
		    "0s to 24h" },
		{ "max_recoveries", false, "0", "1", "100", "101",
		    "1 to 100" },
		{ "recovery_window", false, "999ms", "1s", "720h", "721h",
		    "1s to 720h" },
		/* backoff 24h: see test_error_backoff_max */
		{ "backoff", false, NULL, "0", "5m", "25h", "0s to 24h" },
		{ "backoff_max", false, NULL, "10s", "24h", "24.001h",
		    "0s to 24h" },
		{ "hook_timeout", true, "0.999", "1s", "1h", "61m",
		    "1s to 1h" },
		{ "max_parallel_recoveries", true, "0", "1", "64", "65",
		    "1 to 64" },
		{ "mass_failure_fraction", true, "0", "0.001", "1", "1.0001",
		    "greater than 0" },
		{ "mass_failure_min", true, "0", "1", "100000", "100001",
		    "1 to 100000" },
		{ "mass_failure_hook_max", true, "0", "1", "1000", "1001",
		    "1 to 1000" },
		{ "mass_failure_hook_window", true, "59s", "1m", "24h", "1441m",
		    "1m to 24h" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_range_value(&cases[i], cases[i].bad_low, false);
		check_range_value(&cases[i], cases[i].ok_low, true);
		check_range_value(&cases[i], cases[i].ok_high, true);
		check_range_value(&cases[i], cases[i].bad_high, false);
	}
	/* backoff above the compiled-in backoff_max (5m) */
	expect_error(domain_with("backoff = 6m"), 3, "backoff_max", "6m");
}

static void
test_error_backoff_max(void **state)
{
	struct yk_config *c;

	(void)state;
	/* set in the domain: reported at backoff_max's line */
	expect_error(
	    "domain \"d\" {\n"
	    "  url = \"http://192.0.2.1/\"\n"
	    "  backoff_max = 5s\n"
	    "  backoff = 10s\n"
	    "}\n", 3, "backoff_max", "backoff (10s)");
	/* only backoff set in the domain, against a max from defaults */
	expect_error(
	    "defaults {\n"
	    "  backoff_max = 30s\n"
	    "}\n"
	    "domain \"d\" {\n"
	    "  url = \"http://192.0.2.1/\"\n"
	    "  backoff = 1m\n"
	    "}\n", 6, "backoff_max", "30s");
	/* wrong in defaults: reported once, there, not per domain */
	expect_error(
	    "defaults {\n"
	    "  backoff = 2m\n"
	    "  backoff_max = 1m\n"
	    "}\n"
	    "domain \"a\" {\n  url = \"http://192.0.2.1/\"\n}\n"
	    "domain \"b\" {\n  url = \"http://192.0.2.1/\"\n}\n",
	    3, "backoff_max", "2m");
	/* equal is fine, and a domain may repair what defaults set */
	c = load_ok(domain_with("backoff = 5m"));
	assert_int_equal(c->domains[0].backoff_ms, 300000);
	yk_config_free(c);
	c = load_ok("domain \"d\" {\n  url = \"http://192.0.2.1/\"\n"
	    "  backoff = 24h\n  backoff_max = 24h\n}\n");
	assert_int_equal(c->domains[0].backoff_ms, 86400000);
	yk_config_free(c);
	c = load_ok(
	    "defaults {\n  backoff = 10m\n  backoff_max = 1h\n}\n"
	    "domain \"d\" {\n  url = \"http://192.0.2.1/\"\n"
	    "  backoff = 1s\n  backoff_max = 2s\n}\n");
	assert_int_equal(c->domains[0].backoff_max_ms, 2000);
	yk_config_free(c);
}

static void
test_error_enums(void **state)
{
	(void)state;
	expect_error(global_with("hypervisor = \"xen\""), 1, "hypervisor",
	    "\"libxl\", \"sim\"");
	expect_error(global_with("hypervisor = \"LIBXL\""), 1, "hypervisor",
	    NULL);
	expect_error(domain_with("on_failure = \"restart\""), 3, "on_failure",
	    "\"recreate\", \"reboot\", \"none\"");
	expect_error(domain_with("on_crash = \"reboot\""), 3, "on_crash",
	    "\"recreate\", \"none\"");
}

static void
test_error_url(void **state)
{
	struct yk_config *c;

	(void)state;
	expect_error(
	    "hypervisor = \"sim\"\n"
	    "\n"
	    "domain \"web01\" {\n"
	    "  interval = 5s\n"
	    "}\n", 3, "domain \"web01\" has no url", NULL);
	expect_error(domain_with("url = \"ftp://192.0.2.1/\""), 3, "url: ",
	    "http:// or https://");
	expect_error(domain_with("url = \"192.0.2.1/healthz\""), 3, "url: ",
	    "http:// or https://");
	expect_error(domain_with("url = \"/healthz\""), 3, "url: ", NULL);
	expect_error(domain_with("url = \"http://\""), 3, "url: ", NULL);
	expect_error(domain_with("url = \"http://:80/\""), 3, "url: ", NULL);
	expect_error(domain_with("url = \"http://a b/\""), 3, "url: ", NULL);
	expect_error(domain_with("url = \"http://192.0.2.1:99999/\""), 3,
	    "url: ", NULL);
	expect_error(domain_with("url = \"\""), 3, "url: ", NULL);
	/* a url in defaults { } serves every domain */
	c = load_ok("defaults {\n  url = \"HTTPS://192.0.2.1/h\"\n}\n"
	    "domain \"d\" {\n}\n");
	assert_string_equal(c->domains[0].url, "HTTPS://192.0.2.1/h");
	yk_config_free(c);
}

static void
test_error_status(void **state)
{
	(void)state;
	expect_error(domain_with("expect_status = \"2xx\""), 3,
	    "expect_status", "100 to 599");
	expect_error(domain_with("expect_status = \"299-200\""), 3,
	    "expect_status", NULL);
	expect_error(domain_with("expect_status = 700"), 3, "expect_status",
	    NULL);
}

static void
test_error_domain_names(void **state)
{
	static const char *const good[] = {
		"a", "web01", "Web-01.example_x", "0",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk",
	};
	static const char *const bad[] = {
		"", ".hidden", "..", "-x", "a/b", "a b", "a:b", "caf\xc3\xa9",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl",
	};
	char text[256];
	struct yk_config *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "\ndomain \"%s\" {\n"
		    "  url = \"http://192.0.2.1/\"\n}\n", good[i]);
		c = load_ok(text);
		assert_string_equal(c->domains[0].name, good[i]);
		assert_non_null(yk_config_find(c, good[i]));
		yk_config_free(c);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "\ndomain \"%s\" {\n"
		    "  url = \"http://192.0.2.1/\"\n}\n", bad[i]);
		expect_error(text, 2, "domain name", "63 characters");
	}
}

static void
test_error_paths(void **state)
{
	static const char *const global_keys[] = {
		"state_dir", "socket", "sim_socket", "hook", "metrics_file",
	};
	static const char *const domain_keys[] = {
		"domain_config", "ca_file",
	};
	char line[128], want[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(global_keys) / sizeof(global_keys[0]); i++) {
		snprintf(line, sizeof(line), "%s = \"relative/x\"",
		    global_keys[i]);
		snprintf(want, sizeof(want), "%s: ", global_keys[i]);
		expect_error(global_with(line), 1, want, "absolute path");
		snprintf(line, sizeof(line), "%s = \"\"", global_keys[i]);
		expect_error(global_with(line), 1, want, "absolute path");
	}
	for (i = 0; i < sizeof(domain_keys) / sizeof(domain_keys[0]); i++) {
		snprintf(line, sizeof(line), "%s = \"x.json\"", domain_keys[i]);
		snprintf(want, sizeof(want), "%s: ", domain_keys[i]);
		expect_error(domain_with(line), 3, want, "absolute path");
	}
	expect_error(global_with("socket_group = \"\""), 1, "socket_group",
	    "empty");
	expect_error(domain_with("expect_body = \"\""), 3, "expect_body",
	    "empty");
}

/* Several problems: all reported in one go, in line order. */
static void
test_multiple_errors(void **state)
{
	struct yk_conf_errors e = { 0, NULL };

	(void)state;
	assert_null(load(
	    "hypervisor = \"xen\"\n"		/* 1 */
	    "state_dir = \"var/lib\"\n"		/* 2 */
	    "domain \"web01\" {\n"		/* 3: no url */
	    "  interval = 50ms\n"		/* 4 */
	    "  # a comment\n"
	    "  timeout = 2q\n"			/* 6 */
	    "}\n"
	    "domain \"web02\" {\n"
	    "  url = \"gopher://x/\"\n"		/* 9 */
	    "  on_crash = \"explode\"\n"		/* 10 */
	    "}\n"
	    "mass_failure_min = 0\n", &e));	/* 12 */
	if (e.n != 8)
		print_errors(&e);
	assert_int_equal(e.n, 8);
	assert_msg(e.msg[0], 1, "hypervisor", NULL);
	assert_msg(e.msg[1], 2, "state_dir", NULL);
	assert_msg(e.msg[2], 3, "domain \"web01\" has no url", NULL);
	assert_msg(e.msg[3], 4, "interval", NULL);
	assert_msg(e.msg[4], 6, "timeout", NULL);
	assert_msg(e.msg[5], 9, "url", NULL);
	assert_msg(e.msg[6], 10, "on_crash", NULL);
	assert_msg(e.msg[7], 12, "mass_failure_min", NULL);
	yk_conf_errors_free(&e);
	/* errs is appended to, not overwritten */
	assert_null(load(global_with("hook = \"x\""), &e));
	assert_null(load(global_with("socket = \"y\""), &e));
	assert_int_equal(e.n, 2);
	assert_msg(e.msg[0], 1, "hook", NULL);
	assert_msg(e.msg[1], 1, "socket", NULL);
	yk_conf_errors_free(&e);
	assert_int_equal(e.n, 0);
	assert_null(e.msg);
	/* and it may be NULL */
	assert_null(load(global_with("hook = \"x\""), NULL));
}

/*
 * Comments of every kind must not shift line numbers (libconfuse 3.3 alone
 * counts each comment as extra lines), and '#' or '//' inside quotes are
 * not comments.
 */
static void
test_comments_and_lines(void **state)
{
	struct yk_config *c;

	(void)state;
	expect_error(
	    "# one\n"
	    "# two\n"
	    "// three\n"
	    "/* four\n"
	    "   five */\n"
	    "hypervisor = \"sim\" # six\n"
	    "/* seven */ hook_timeout = 30s // seven\n"
	    "failures = 3\n", 8, "failures", NULL);
	expect_error(
	    "domain \"d\" {\n"
	    "  ##### banner\n"
	    "  url = \"http://192.0.2.1/#frag\" # comment\n"
	    "  //\n"
	    "  expect_body = \"a # b // c /* d\"\n"
	    "  interval = 1x\n"
	    "}\n", 6, "interval", NULL);
	c = load_ok(
	    "domain \"d\" {\n"
	    "  url = 'http://192.0.2.1/a#b'\n"
	    "  expect_body = \"x // y\" /* z */\n"
	    "  expect_status = \"200\" # ok\n"
	    "}\n");
	assert_string_equal(c->domains[0].url, "http://192.0.2.1/a#b");
	assert_string_equal(c->domains[0].expect_body, "x // y");
	yk_config_free(c);
	/* a multi-line string counts its lines */
	expect_error("hook = \"/a\n/b\"\nhypervisor = \"x\"\n", 3,
	    "hypervisor", NULL);
	/* the line of a domain is that of its opening brace */
	c = load_ok("# c\n\ndomain \"a\" {\n  url = \"http://192.0.2.1/\"\n"
	    "}\n");
	assert_int_equal(c->domains[0].line, 3);
	yk_config_free(c);
}

static void
test_load_file(void **state)
{
	struct yk_conf_errors e = { 0, NULL };
	struct yk_config *c;
	char *path, want[512];

	(void)state;
	path = write_temp("domain \"f\" {\n  url = \"http://192.0.2.1/\"\n}\n");
	c = yk_config_load(path, &e);
	assert_non_null(c);
	assert_int_equal(e.n, 0);
	assert_string_equal(c->path, path);
	assert_int_equal(c->ndomains, 1);
	yk_config_free(c);
	unlink(path);
	free(path);

	path = write_temp("\n\nfailures = 3\n");
	assert_null(yk_config_load(path, &e));
	assert_int_equal(e.n, 1);
	snprintf(want, sizeof(want), "%s:3: ", path);
	assert_true(strncmp(e.msg[0], want, strlen(want)) == 0);
	assert_non_null(strstr(e.msg[0], "failures"));
	yk_conf_errors_free(&e);
	unlink(path);
	free(path);
}

static void
test_cannot_read(void **state)
{
	struct yk_conf_errors e = { 0, NULL };
	const char *dir = getenv("TMPDIR");
	char *path;

	(void)state;
	assert_null(yk_config_load("/nonexistent/yaoki.conf", &e));
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0],
	    "/nonexistent/yaoki.conf: cannot read: No such file or directory");
	yk_conf_errors_free(&e);

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	assert_null(yk_config_load(dir, &e));
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], ": cannot read: Is a directory"));
	yk_conf_errors_free(&e);

	path = write_temp("hypervisor = \"sim\"\n");
	{
		FILE *f = fopen(path, "a");

		assert_non_null(f);
		fputc('\0', f);
		fputs("hook = 1\n", f);
		fclose(f);
	}
	assert_null(yk_config_load(path, &e));
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "cannot read"));
	yk_conf_errors_free(&e);
	unlink(path);
	free(path);
}

/* A broken file must not leave libconfuse's lexer in a bad state. */
static void
test_load_after_error(void **state)
{
	static const char *const broken[] = {
		"hook = \"/x\n", "domain \"a\" {\n", "/* x\n", "}\n",
		"hook = 'x\n", "domain \"a\" {\n url = \"http://x/\"\n bogus = 1\n}\n",
	};
	struct yk_conf_errors e = { 0, NULL };
	struct yk_config *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		assert_null(load(broken[i], &e));
		assert_true(e.n >= 1);
		yk_conf_errors_free(&e);
		c = load_ok("\ndomain \"b\" {\n  url = \"http://192.0.2.1/\"\n"
		    "}\n");
		assert_int_equal(c->domains[0].line, 2);
		yk_config_free(c);
	}
}

static void
test_example_conf(void **state)
{
	struct yk_conf_errors e = { 0, NULL };
	struct yk_config *c;
	const char *src = getenv("YAOKI_SRCDIR");
	char path[4096];

	(void)state;
	if (src != NULL && *src != '\0')
		snprintf(path, sizeof(path), "%s/conf/yaoki.conf", src);
	else
		snprintf(path, sizeof(path), "conf/yaoki.conf");
	c = yk_config_load(path, &e);
	if (c == NULL)
		print_errors(&e);
	assert_non_null(c);
	assert_int_equal(e.n, 0);
	assert_int_equal(c->hypervisor, YK_HV_LIBXL);
	assert_true(c->ndomains >= 2);
	assert_non_null(yk_config_find(c, "web01"));
	yk_config_free(c);
}

static void
test_find(void **state)
{
	struct yk_config *c;

	(void)state;
	c = load_ok("domain \"a\" {\n  url = \"http://192.0.2.1/\"\n}\n"
	    "domain \"b\" {\n  url = \"http://192.0.2.2/\"\n}\n");
	assert_ptr_equal(yk_config_find(c, "a"), &c->domains[0]);
	assert_ptr_equal(yk_config_find(c, "b"), &c->domains[1]);
	assert_null(yk_config_find(c, "c"));
	assert_null(yk_config_find(c, "A"));
	assert_null(yk_config_find(c, ""));
	yk_config_free(c);
}

static void
test_domain_conf_equal(void **state)
{
	static const char *const changes[] = {
		"url = \"http://192.0.2.9/\"", "interval = 6s", "timeout = 3s",
		"failures = 4", "successes = 2", "start_period = 1m",
		"expect_status = \"200-299\"", "expect_body = \"ok\"",
		"on_failure = \"reboot\"", "on_crash = \"none\"",
		"max_recoveries = 4", "recovery_window = 2h", "backoff = 1s",
		"backoff_max = 4m", "domain_config = \"/x.json\"",
		"tls_verify = false", "ca_file = \"/ca.pem\"",
	};
	struct yk_config *base, *moved, *same, *other;
	struct yk_domain_conf copy;
	size_t i;

	(void)state;
	base = load_ok(domain_with("# nothing"));
	/* same values in another place and spelling: equal */
	moved = load_ok("\n\n\ndefaults {\n  interval = 5000ms\n}\n"
	    "domain \"d\" {\n  url = \"http://192.0.2.1/\"\n"
	    "  expect_status = \"200-399\"\n}\n");
	assert_int_not_equal(base->domains[0].line, moved->domains[0].line);
	assert_true(yk_domain_conf_equal(&base->domains[0],
	    &moved->domains[0]));
	assert_true(yk_domain_conf_equal(&base->domains[0],
	    &base->domains[0]));
	/* any one key changed: not equal */
	for (i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		other = load_ok(domain_with(changes[i]));
		if (yk_domain_conf_equal(&base->domains[0], &other->domains[0]))
			fail_msg("\"%s\" not seen as a change", changes[i]);
		assert_false(yk_domain_conf_equal(&other->domains[0],
		    &base->domains[0]));
		yk_config_free(other);
	}
	/* another name */
	same = load_ok("domain \"e\" {\n  url = \"http://192.0.2.1/\"\n}\n");
	assert_false(yk_domain_conf_equal(&base->domains[0], &same->domains[0]));
	yk_config_free(same);
	/* the parsed status set counts, not only its text */
	copy = base->domains[0];
	copy.expect_status.r[0].hi = 398;
	assert_false(yk_domain_conf_equal(&base->domains[0], &copy));
	yk_config_free(moved);
	yk_config_free(base);
}

/*
 * An existing domain_config must be root's (or the euid's: the tests run
 * as root, or not) and writable only by its owner; a missing one is fine.
 */
static void
test_domain_config_untrusted(void **state)
{
	char line[512], *path = write_temp("{}");
	struct yk_config *c;

	(void)state;
	snprintf(line, sizeof(line), "domain_config = \"%s\"", path);
	assert_int_equal(chmod(path, 0600), 0);
	yk_config_free(load_ok(domain_with(line)));
	assert_int_equal(chmod(path, 0644), 0);
	yk_config_free(load_ok(domain_with(line)));
	assert_int_equal(chmod(path, 0664), 0);
	expect_error(domain_with(line), 3, path, "writable by its group");
	assert_int_equal(chmod(path, 0606), 0);
	expect_error(domain_with(line), 3, path, "writable by anybody");
	/* In defaults { }: reported once, at its line there. */
	snprintf(line, sizeof(line), "defaults {\n  domain_config = \"%s\"\n}\n"
	    "domain \"a\" { url = \"http://192.0.2.1/\" }\n"
	    "domain \"b\" { url = \"http://192.0.2.2/\" }\n", path);
	expect_error(line, 2, "domain_config", "mode 0606");
	snprintf(line, sizeof(line), "domain_config = \"%s\"", path);
	if (geteuid() == 0) {
		assert_int_equal(chmod(path, 0644), 0);
		assert_int_equal(chown(path, 4242, (gid_t)-1), 0);
		expect_error(domain_with(line), 3, path, "owned by uid 4242");
	}
	assert_int_equal(unlink(path), 0);
	c = load_ok(domain_with(line));       /* missing: not an error */
	yk_config_free(c);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_forms),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_status_set_parse),
		cmocka_unit_test(test_status_set_match),
		cmocka_unit_test(test_status_set_bad),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_zero_domains),
		cmocka_unit_test(test_sim_socket_default),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_value_spellings),
		cmocka_unit_test(test_error_unknown_key),
		cmocka_unit_test(test_error_wrong_type),
		cmocka_unit_test(test_error_syntax),
		cmocka_unit_test(test_error_duplicate_domain),
		cmocka_unit_test(test_error_ranges),
		cmocka_unit_test(test_error_backoff_max),
		cmocka_unit_test(test_error_enums),
		cmocka_unit_test(test_error_url),
		cmocka_unit_test(test_error_status),
		cmocka_unit_test(test_error_domain_names),
		cmocka_unit_test(test_error_paths),
		cmocka_unit_test(test_multiple_errors),
		cmocka_unit_test(test_comments_and_lines),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_cannot_read),
		cmocka_unit_test(test_load_after_error),
		cmocka_unit_test(test_example_conf),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_domain_conf_equal),
		cmocka_unit_test(test_domain_config_untrusted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
