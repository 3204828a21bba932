// SPDX-License-Identifier: Apache-2.0
/*
 * `sandlot-agent run` bad input: one line on stderr naming the problem, exit 2, and nothing
 * created (these are refused before the runtime exists, so they need no root).
 */
#include "testutil.h"

static void expect_usage_error(const char *const *args, const char *needle)
{
	const char *argv[32] = {sl_test_agent(), "run"};
	char out[4096], err[4096];
	size_t n = 2;
	int status;

	for (; *args; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	status = sl_test_run((char *const *)argv, out, sizeof(out), err, sizeof(err));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 2);
	if (!strstr(err, needle))
		fail_msg("stderr does not name '%s': %s", needle, err);
	/* one line */
	char *nl = strchr(err, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
	assert_string_equal(out, "");
}

static void unknown_option(void **state)
{
	expect_usage_error((const char *[]){"--frobnicate", "--", "/bin/true", NULL},
			   "--frobnicate");
}

static void bad_size_suffix(void **state)
{
	expect_usage_error((const char *[]){"--memory", "12Q", "--", "/bin/true", NULL}, "12Q");
}

static void memory_too_small(void **state)
{
	expect_usage_error((const char *[]){"--memory", "1K", "--", "/bin/true", NULL}, "--memory");
}

static void bad_tmp_size(void **state)
{
	expect_usage_error((const char *[]){"--tmp-size", "lots", "--", "/bin/true", NULL},
			   "--tmp-size");
}

static void bad_duration(void **state)
{
	expect_usage_error((const char *[]){"--timeout", "5parsecs", "--", "/bin/true", NULL},
			   "5parsecs");
}

static void bad_cpus(void **state)
{
	expect_usage_error((const char *[]){"--cpus", "-1", "--", "/bin/true", NULL}, "--cpus");
}

static void bad_pids(void **state)
{
	expect_usage_error((const char *[]){"--pids", "0", "--", "/bin/true", NULL}, "--pids");
}

static void missing_rootfs(void **state)
{
	expect_usage_error(
		(const char *[]){"--rootfs", "/nonexistent/rootfs", "--", "/bin/true", NULL},
		"/nonexistent/rootfs");
}

static void missing_code_dir(void **state)
{
	expect_usage_error((const char *[]){"--code", "/nonexistent/code", "--", "/bin/true", NULL},
			   "/nonexistent/code");
}

static void env_without_equals(void **state)
{
	expect_usage_error((const char *[]){"--env", "NOVALUE", "--", "/bin/true", NULL},
			   "NOVALUE");
}

static void net_other_than_none(void **state)
{
	expect_usage_error((const char *[]){"--net", "host", "--", "/bin/true", NULL}, "host");
}

static void missing_cmd(void **state)
{
	expect_usage_error((const char *[]){"--memory", "64M", NULL}, "CMD");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unknown_option),
		cmocka_unit_test(bad_size_suffix),
		cmocka_unit_test(memory_too_small),
		cmocka_unit_test(bad_tmp_size),
		cmocka_unit_test(bad_duration),
		cmocka_unit_test(bad_cpus),
		cmocka_unit_test(bad_pids),
		cmocka_unit_test(missing_rootfs),
		cmocka_unit_test(missing_code_dir),
		cmocka_unit_test(env_without_equals),
		cmocka_unit_test(net_other_than_none),
		cmocka_unit_test(missing_cmd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
