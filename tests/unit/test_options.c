// SPDX-License-Identifier: Apache-2.0
/*
 * Options as people type them: --log-level before or after the command, a missing value named,
 * bad $SANDLOT_LOG / $SANDLOT_BPF refused. All usage paths: no root needed.
 */
#include "testutil.h"

/* Runs the agent with args (NULL-terminated); returns the exit status, stderr in err. */
static int agent(char *err, size_t errlen, const char *const *args)
{
	const char *argv[16] = {sl_test_agent()};
	char out[8192];
	size_t n = 1;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	int st = sl_test_run((char *const *)argv, out, sizeof(out), err, errlen);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void log_level_before_or_after_command(void **state)
{
	char err[8192];

	assert_int_equal(agent(err, sizeof(err),
			       (const char *[]){"--log-level", "debug", "run", "--help", NULL}),
			 0);
	assert_int_equal(agent(err, sizeof(err),
			       (const char *[]){"run", "--log-level", "debug", "--help", NULL}),
			 0);
	assert_int_equal(agent(err, sizeof(err),
			       (const char *[]){"--log-level=warn", "probe", "--help", NULL}),
			 0);
	assert_int_equal(agent(err, sizeof(err),
			       (const char *[]){"probe", "--log-level", "warn", "--help", NULL}),
			 0);
	assert_int_equal(agent(err, sizeof(err),
			       (const char *[]){"invoke", "--log-level", "debug", "--help", NULL}),
			 0);
	assert_int_equal(agent(err, sizeof(err),
			       (const char *[]){"run", "--log-level", "loud", "--", "true", NULL}),
			 2);
	assert_non_null(strstr(err, "--log-level 'loud'"));
}

static void missing_value_names_the_option(void **state)
{
	char err[8192];

	assert_int_equal(agent(err, sizeof(err), (const char *[]){"--log-level", NULL}), 2);
	assert_non_null(strstr(err, "option '--log-level' needs a value"));
	assert_int_equal(agent(err, sizeof(err), (const char *[]){"run", "--memory", NULL}), 2);
	assert_non_null(strstr(err, "option '--memory' needs a value"));
	assert_int_equal(agent(err, sizeof(err), (const char *[]){"run", "--timeout", NULL}), 2);
	assert_non_null(strstr(err, "option '--timeout' needs a value"));
}

static void bad_environment_is_an_error(void **state)
{
	char err[8192];

	setenv("SANDLOT_LOG", "loud", 1);
	assert_int_equal(agent(err, sizeof(err), (const char *[]){"run", "--help", NULL}), 2);
	assert_non_null(strstr(err, "SANDLOT_LOG='loud'"));
	unsetenv("SANDLOT_LOG");
	setenv("SANDLOT_BPF", "nope", 1);
	assert_int_equal(agent(err, sizeof(err), (const char *[]){"run", "--help", NULL}), 2);
	assert_non_null(strstr(err, "SANDLOT_BPF='nope'"));
	setenv("SANDLOT_BPF", "off", 1);
	assert_int_equal(agent(err, sizeof(err), (const char *[]){"run", "--help", NULL}), 0);
	unsetenv("SANDLOT_BPF");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(log_level_before_or_after_command),
		cmocka_unit_test(missing_value_names_the_option),
		cmocka_unit_test(bad_environment_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
