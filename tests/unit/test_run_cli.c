// SPDX-License-Identifier: Apache-2.0
/*
 * `sandlot-agent run` bad input: one line on stderr naming the problem, exit 2, and nothing
 * created (these are refused before the runtime exists, so they need no root).
 */
#include "testutil.h"

#define SL_TEST_STRING_MAX 32768 /* SL_SANDBOX_STRING_MAX: one byte over the longest argument */
#define SL_TEST_ARGS_MAX   4096	 /* SL_SANDBOX_ARGS_MAX */

static void expect_usage_error(const char *const *args, const char *needle)
{
	size_t n = 2, count = 0;
	char out[4096], err[4096];
	int status;

	while (args[count])
		count++;
	const char **argv = calloc(count + 3, sizeof(*argv));
	assert_non_null(argv);
	argv[0] = sl_test_agent();
	argv[1] = "run";
	for (; *args; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	status = sl_test_run((char *const *)argv, out, sizeof(out), err, sizeof(err));
	free(argv);
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

/* The sandbox's init and CMD are two tasks: fewer cannot run anything. */
static void pids_below_init_needs(void **state)
{
	expect_usage_error((const char *[]){"--pids", "1", "--", "/bin/true", NULL}, "--pids");
}

static void bad_kill_after(void **state)
{
	expect_usage_error((const char *[]){"--kill-after", "soon", "--", "/bin/true", NULL},
			   "--kill-after 'soon'");
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

/* CMD's bounds (sandbox.h) are usage errors, found before any sandbox is made. */
static void empty_cmd(void **state)
{
	expect_usage_error((const char *[]){"--", "", NULL}, "empty");
}

static void cmd_argument_too_long(void **state)
{
	char *big = malloc(SL_TEST_STRING_MAX + 1);

	assert_non_null(big);
	memset(big, 'x', SL_TEST_STRING_MAX);
	big[SL_TEST_STRING_MAX] = '\0';
	expect_usage_error((const char *[]){"--", "/bin/echo", big, NULL}, "too long");
	free(big);
}

static void too_many_cmd_arguments(void **state)
{
	const char **args = calloc(SL_TEST_ARGS_MAX + 3, sizeof(*args));

	assert_non_null(args);
	args[0] = "--";
	args[1] = "/bin/true";
	for (size_t i = 2; i < SL_TEST_ARGS_MAX + 2; i++)
		args[i] = "x"; /* CMD and 4096 arguments */
	expect_usage_error(args, "at most 4096");
	free(args);
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
		cmocka_unit_test(pids_below_init_needs),
		cmocka_unit_test(bad_kill_after),
		cmocka_unit_test(missing_rootfs),
		cmocka_unit_test(missing_code_dir),
		cmocka_unit_test(env_without_equals),
		cmocka_unit_test(net_other_than_none),
		cmocka_unit_test(missing_cmd),
		cmocka_unit_test(empty_cmd),
		cmocka_unit_test(cmd_argument_too_long),
		cmocka_unit_test(too_many_cmd_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
