/*
 * test_proto.c - the status-socket protocol shared by yaokid and yaokictl:
 * request parsing, the command table and the domain-name rule.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control_proto.h"

static int
parse(const char *text, struct yk_ctl_request *req, char *err, size_t errlen)
{
	static char line[YK_CTL_REQUEST_MAX + 1];

	snprintf(line, sizeof(line), "%s", text);
	return yk_ctl_parse(line, strlen(line), req, err, errlen);
}

static void
test_every_command_parses(void **state)
{
	struct yk_ctl_request req;
	char err[128], text[128];
	size_t i;

	(void)state;
	for (i = 0; i < yk_ctl_ncommands; i++) {
		const struct yk_ctl_command *c = &yk_ctl_commands[i];

		snprintf(text, sizeof(text), "%s%s", c->name,
		    c->arg == YK_ARG_REQUIRED ? " web01" : "");
		assert_int_equal(parse(text, &req, err, sizeof(err)), 0);
		assert_ptr_equal(req.cmd, c);
		assert_ptr_equal(yk_ctl_command_find(c->name), c);
		assert_string_equal(yk_ctl_command_name(c->cmd), c->name);
		if (c->arg == YK_ARG_REQUIRED)
			assert_string_equal(req.domain, "web01");
		else
			assert_null(req.domain);
	}
}

static void
test_status_takes_an_optional_domain(void **state)
{
	struct yk_ctl_request req;
	char err[128];

	(void)state;
	assert_int_equal(parse("status web01", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd->cmd, YK_CMD_STATUS);
	assert_string_equal(req.domain, "web01");
	assert_false(req.cmd->root_only);
}

static void
test_bad_requests_say_why(void **state)
{
	static const struct { const char *text, *why; } cases[] = {
		{ "", "malformed request" },
		{ " web01", "malformed request" },
		{ "status  web01", "malformed request" },
		{ "status web01 x", "malformed request" },
		{ "status\tweb01", "malformed request" },
		{ "st\x01tus", "malformed request" },
		{ "frobnicate", "unknown command: frobnicate" },
		{ "metrics web01", "metrics takes no argument" },
		{ "reload now", "reload takes no argument" },
		{ "pause", "pause needs a domain name" },
	};
	struct yk_ctl_request req;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(cases[i].text, &req, err, sizeof(err)), -1);
		if (strstr(err, cases[i].why) == NULL)
			fail_msg("%s: got \"%s\", expected \"%s\"",
			    cases[i].text, err, cases[i].why);
	}
}

static void
test_nul_byte_is_malformed(void **state)
{
	struct yk_ctl_request req;
	char line[] = "status\0web01", err[128];

	(void)state;
	assert_int_equal(yk_ctl_parse(line, sizeof(line) - 1, &req, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL byte"));
}

static void
test_root_only_commands(void **state)
{
	static const char *const root[] = { "pause", "resume", "recover",
	    "reset", "reload" };
	static const char *const anyone[] = { "status", "metrics", "version" };
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_true(yk_ctl_command_find(root[i])->root_only);
	for (i = 0; i < 3; i++)
		assert_false(yk_ctl_command_find(anyone[i])->root_only);
	assert_null(yk_ctl_command_find("Status"));
}

static void
test_domain_name_rule(void **state)
{
	char longest[YK_DOMAIN_NAME_MAX + 2];

	(void)state;
	assert_true(yk_domain_name_valid("web01"));
	assert_true(yk_domain_name_valid("a.b_c-d"));
	assert_false(yk_domain_name_valid(""));
	assert_false(yk_domain_name_valid(".hidden"));
	assert_false(yk_domain_name_valid("-x"));
	assert_false(yk_domain_name_valid("a/b"));
	assert_false(yk_domain_name_valid("a b"));
	assert_false(yk_domain_name_valid("caf\xc3\xa9"));
	memset(longest, 'a', YK_DOMAIN_NAME_MAX);
	longest[YK_DOMAIN_NAME_MAX] = '\0';
	assert_true(yk_domain_name_valid(longest));
	longest[YK_DOMAIN_NAME_MAX] = 'a';
	longest[YK_DOMAIN_NAME_MAX + 1] = '\0';
	assert_false(yk_domain_name_valid(longest));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command_parses),
		cmocka_unit_test(test_status_takes_an_optional_domain),
		cmocka_unit_test(test_bad_requests_say_why),
		cmocka_unit_test(test_nul_byte_is_malformed),
		cmocka_unit_test(test_root_only_commands),
		cmocka_unit_test(test_domain_name_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
