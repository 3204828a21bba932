// SPDX-License-Identifier: Apache-2.0
/* The agent's command line: usage errors exit 2 with a message, help exits 0. */
#include "testutil.h"

static int run_agent(const char *a1, const char *a2, char *err, size_t errlen)
{
	char *argv[] = {(char *)sl_test_agent(), (char *)a1, (char *)a2, NULL};
	char out[8192];

	return sl_test_run(argv, out, sizeof(out), err, errlen);
}

static void unknown_command_is_usage_error(void **state)
{
	char err[8192];
	int st = run_agent("frobnicate", NULL, err, sizeof(err));

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
	assert_non_null(strstr(err, "unknown command 'frobnicate'"));
	assert_non_null(strstr(err, "Usage:"));
}

static void unknown_option_is_usage_error(void **state)
{
	char err[8192];
	int st = run_agent("--bogus", NULL, err, sizeof(err));

	assert_int_equal(WEXITSTATUS(st), 2);
	st = run_agent("probe", "--bogus", err, sizeof(err));
	assert_int_equal(WEXITSTATUS(st), 2);
	assert_non_null(strstr(err, "Usage: sandlot-agent probe"));
	st = run_agent("probe", "extra", err, sizeof(err));
	assert_int_equal(WEXITSTATUS(st), 2);
	assert_non_null(strstr(err, "unexpected argument 'extra'"));
}

static void no_command_is_usage_error(void **state)
{
	char err[8192];
	int st = run_agent("--log-level", "loud", err, sizeof(err));
	assert_int_equal(WEXITSTATUS(st), 2);
	assert_non_null(strstr(err, "unknown log level"));
}

static void help_exits_zero(void **state)
{
	char err[8192];

	assert_int_equal(WEXITSTATUS(run_agent("--help", NULL, err, sizeof(err))), 0);
	assert_int_equal(WEXITSTATUS(run_agent("probe", "--help", err, sizeof(err))), 0);
	assert_int_equal(WEXITSTATUS(run_agent("--version", NULL, err, sizeof(err))), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unknown_command_is_usage_error),
		cmocka_unit_test(unknown_option_is_usage_error),
		cmocka_unit_test(no_command_is_usage_error),
		cmocka_unit_test(help_exits_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
