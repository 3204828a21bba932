// SPDX-License-Identifier: Apache-2.0
/*
 * What sl_sandbox_spawn() accepts before it makes anything (sl_sandbox_config_check): CMD,
 * its arguments and environment bounded, stdio values. No runtime is started.
 */
#include "testutil.h"

#include "sandbox/sandbox.h"

#include <sandlot/util.h>

static char *const cmd[] = {"/bin/true", NULL};

static struct sl_sandbox_config good(void)
{
	return (struct sl_sandbox_config){.argv = cmd, .memory_bytes = 128ULL << 20};
}

static void needs_cmd_and_memory(void **state)
{
	static char *const none[] = {NULL};
	static char *const empty[] = {"", "x", NULL};
	struct sl_sandbox_config c = good();

	assert_int_equal(sl_sandbox_config_check(&c), 0);
	c.argv = NULL;
	assert_int_equal(sl_sandbox_config_check(&c), -EINVAL);
	c.argv = none;
	assert_int_equal(sl_sandbox_config_check(&c), -EINVAL);
	c.argv = empty;
	assert_int_equal(sl_sandbox_config_check(&c), -EINVAL);
	c = good();
	c.memory_bytes = 0;
	assert_int_equal(sl_sandbox_config_check(&c), -EINVAL);
}

/* A vector of n copies of s, NULL-terminated. */
static char **vec(size_t n, char *s)
{
	char **v = calloc(n + 1, sizeof(*v));

	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = s;
	return v;
}

static void arguments_and_environment_are_bounded(void **state)
{
	struct sl_sandbox_config c = good();
	char **v;

	v = vec(SL_SANDBOX_ARGS_MAX, "a");
	c.argv = v;
	assert_int_equal(sl_sandbox_config_check(&c), 0);
	free(v);
	v = vec(SL_SANDBOX_ARGS_MAX + 1, "a");
	c.argv = v;
	assert_int_equal(sl_sandbox_config_check(&c), -E2BIG);
	free(v);

	c = good();
	v = vec(SL_SANDBOX_ENV_MAX, "K=v");
	c.envp = v;
	assert_int_equal(sl_sandbox_config_check(&c), 0);
	free(v);
	v = vec(SL_SANDBOX_ENV_MAX + 1, "K=v");
	c.envp = v;
	assert_int_equal(sl_sandbox_config_check(&c), -E2BIG);
	free(v);
}

/* docs/run.md: an argument of 32 KiB or more is refused; one byte less is not. */
static void one_string_is_bounded(void **state)
{
	struct sl_sandbox_config c = good();
	char *s = malloc(SL_SANDBOX_STRING_MAX + 1);
	char *argv[] = {"/bin/echo", s, NULL};
	char *envp[] = {"PATH=/usr/bin", s, NULL};

	assert_int_equal(SL_SANDBOX_STRING_MAX, 32 << 10);
	assert_non_null(s);
	memset(s, 'a', SL_SANDBOX_STRING_MAX - 1);
	s[SL_SANDBOX_STRING_MAX - 1] = '\0';
	c.argv = argv;
	c.envp = envp;
	assert_int_equal(sl_sandbox_config_check(&c), 0);
	s[SL_SANDBOX_STRING_MAX - 1] = 'a';
	s[SL_SANDBOX_STRING_MAX] = '\0';
	assert_int_equal(sl_sandbox_config_check(&c), -E2BIG);
	c.argv = cmd;
	assert_int_equal(sl_sandbox_config_check(&c), -E2BIG);
	free(s);
}

/* A string with no end in sight is refused without reading past the bound (ASan sees it). */
static void unterminated_string_is_not_overread(void **state)
{
	struct sl_sandbox_config c = good();
	char *s = malloc(SL_SANDBOX_STRING_MAX);
	char *envp[] = {s, NULL};

	assert_non_null(s);
	memset(s, 'a', SL_SANDBOX_STRING_MAX);
	c.envp = envp;
	assert_int_equal(sl_sandbox_config_check(&c), -E2BIG);
	free(s);
}

static void nofile_and_hostname_are_bounded(void **state)
{
	char host[80];
	struct sl_sandbox_config c = good();

	c.nofile = 65536;
	assert_int_equal(sl_sandbox_config_check(&c), 0);
	c.nofile = 65537;
	assert_int_equal(sl_sandbox_config_check(&c), -EINVAL);
	c = good();
	memset(host, 'h', 64);
	host[64] = '\0';
	c.hostname = host;
	assert_int_equal(sl_sandbox_config_check(&c), 0);
	host[64] = 'h';
	host[65] = '\0';
	assert_int_equal(sl_sandbox_config_check(&c), -EINVAL);
}

static void stdio_values(void **state)
{
	struct sl_sandbox_config c = good();

	c.stdio[0] = 5;
	c.stdio[1] = SL_STDIO_PIPE;
	c.stdio[2] = SL_STDIO_STDOUT; /* 2>&1 */
	assert_int_equal(sl_sandbox_config_check(&c), 0);
	c.stdio[0] = SL_STDIO_NULL;
	assert_int_equal(sl_sandbox_config_check(&c), 0);
	c.stdio[1] = SL_STDIO_STDOUT; /* stderr's only */
	assert_int_equal(sl_sandbox_config_check(&c), -EBADF);
	c.stdio[1] = 1;
	c.stdio[0] = -4;
	assert_int_equal(sl_sandbox_config_check(&c), -EBADF);
	c.stdio[0] = 0;
	c.stdio[2] = -100;
	assert_int_equal(sl_sandbox_config_check(&c), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(needs_cmd_and_memory),
		cmocka_unit_test(arguments_and_environment_are_bounded),
		cmocka_unit_test(one_string_is_bounded),
		cmocka_unit_test(unterminated_string_is_not_overread),
		cmocka_unit_test(nofile_and_hostname_are_bounded),
		cmocka_unit_test(stdio_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
