// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"

#include <sandlot/util.h>

#include "daemon/lambda-env.h"

#include <errno.h>

static struct sl_lambda_fn base_fn(void)
{
	return (struct sl_lambda_fn){
		.name = "hello",
		.handler = "function.handler",
		.memory_mb = 256,
		.region = "eu-west-1",
	};
}

static size_t count(char **envp)
{
	size_t n = 0;

	while (envp[n])
		n++;
	return n;
}

static void build_sets_lambda_variables(void **state)
{
	struct sl_lambda_fn fn = base_fn();
	char **envp = NULL;

	fn.log_stream = "2024/01/02/[$LATEST]00112233445566778899aabbccddeeff";
	assert_int_equal(sl_lambda_env_build(&fn, &envp, NULL), 0);
	assert_string_equal(sl_lambda_env_get(envp, "AWS_LAMBDA_RUNTIME_API"), "127.0.0.1:9001");
	assert_string_equal(sl_lambda_env_get(envp, "_HANDLER"), "function.handler");
	assert_string_equal(sl_lambda_env_get(envp, "LAMBDA_TASK_ROOT"), "/var/task");
	assert_string_equal(sl_lambda_env_get(envp, "LAMBDA_RUNTIME_DIR"), "/var/runtime");
	assert_string_equal(sl_lambda_env_get(envp, "AWS_LAMBDA_FUNCTION_NAME"), "hello");
	assert_string_equal(sl_lambda_env_get(envp, "AWS_LAMBDA_FUNCTION_VERSION"), "$LATEST");
	assert_string_equal(sl_lambda_env_get(envp, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), "256");
	assert_string_equal(sl_lambda_env_get(envp, "AWS_REGION"), "eu-west-1");
	assert_string_equal(sl_lambda_env_get(envp, "AWS_DEFAULT_REGION"), "eu-west-1");
	assert_string_equal(sl_lambda_env_get(envp, "TZ"), ":UTC");
	assert_string_equal(sl_lambda_env_get(envp, "LANG"), "en_US.UTF-8");
	assert_string_equal(sl_lambda_env_get(envp, "PATH"),
			    "/usr/local/bin:/usr/bin/:/bin:/opt/bin");
	assert_string_equal(sl_lambda_env_get(envp, "LD_LIBRARY_PATH"),
			    "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:"
			    "/var/task:/var/task/lib:/opt/lib");
	assert_string_equal(sl_lambda_env_get(envp, "AWS_LAMBDA_INITIALIZATION_TYPE"), "on-demand");
	assert_string_equal(sl_lambda_env_get(envp, "AWS_LAMBDA_LOG_GROUP_NAME"),
			    "/aws/lambda/hello");
	assert_string_equal(sl_lambda_env_get(envp, "AWS_LAMBDA_LOG_STREAM_NAME"), fn.log_stream);
	/* provided runtimes have no AWS_EXECUTION_ENV */
	assert_null(sl_lambda_env_get(envp, "AWS_EXECUTION_ENV"));
	free(envp);
}

static void build_merges_user_env(void **state)
{
	const char *user[] = {"GREETING=hi there", "PATH=/opt/bin:/usr/bin", "EMPTY=", NULL};
	struct sl_lambda_fn fn = base_fn();
	char **envp = NULL, **plain = NULL;

	fn.version = "7";
	fn.user_env = user;
	assert_int_equal(sl_lambda_env_build(&fn, &envp, NULL), 0);
	assert_string_equal(sl_lambda_env_get(envp, "GREETING"), "hi there");
	assert_string_equal(sl_lambda_env_get(envp, "PATH"), "/opt/bin:/usr/bin");
	assert_string_equal(sl_lambda_env_get(envp, "EMPTY"), "");
	assert_string_equal(sl_lambda_env_get(envp, "AWS_LAMBDA_FUNCTION_VERSION"), "7");
	fn.user_env = NULL;
	assert_int_equal(sl_lambda_env_build(&fn, &plain, NULL), 0);
	/* PATH replaced in place, two new entries */
	assert_int_equal(count(envp), count(plain) + 2);
	free(envp);
	free(plain);
}

static void build_rejects_reserved_keys(void **state)
{
	const char *user[] = {"OK_KEY=1", "AWS_REGION=us-east-1", NULL};
	const char *user2[] = {"AWS_LAMBDA_RUNTIME_API=10.0.0.1:1", NULL};
	struct sl_lambda_fn fn = base_fn();
	char **envp = (char **)0x1;
	size_t bad = 99;

	fn.user_env = user;
	assert_int_equal(sl_lambda_env_build(&fn, &envp, &bad), -EPERM);
	assert_int_equal(bad, 1);
	assert_ptr_equal(envp, (char **)0x1); /* untouched */
	fn.user_env = user2;
	assert_int_equal(sl_lambda_env_build(&fn, &envp, &bad), -EPERM);
	assert_int_equal(bad, 0);
	assert_true(sl_lambda_env_is_reserved("_HANDLER", 8));
	assert_false(sl_lambda_env_is_reserved("TZ", 2));
}

static void build_rejects_bad_user_entries(void **state)
{
	const char *nokey[] = {"=x", NULL};
	const char *noeq[] = {"JUSTKEY", NULL};
	const char *shortkey[] = {"A=1", NULL};
	const char *badchar[] = {"MY-KEY=1", NULL};
	const char *digit[] = {"1KEY=1", NULL};
	const char *dup[] = {"KEY=1", "KEY=2", NULL};
	const char *dup_path[] = {"PATH=/a", "PATH=/b", NULL};
	const char *const *cases[] = {nokey, noeq, shortkey, badchar, digit, dup, dup_path};
	struct sl_lambda_fn fn = base_fn();
	char **envp = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		fn.user_env = cases[i];
		assert_int_equal(sl_lambda_env_build(&fn, &envp, NULL), -EINVAL);
	}
	assert_null(envp);
}

static void build_bounds_user_env(void **state)
{
	static char big[SL_LAMBDA_ENV_USER_MAX_BYTES + 16];
	static char fits[SL_LAMBDA_ENV_USER_MAX_BYTES + 16];
	static char names[300][16];
	const char *user[2] = {big, NULL};
	const char *many[302];
	struct sl_lambda_fn fn = base_fn();
	char **envp = NULL;

	/* exactly 4096 bytes of key and value fit; one more does not */
	memset(fits, 'v', SL_LAMBDA_ENV_USER_MAX_BYTES + 1);
	memcpy(fits, "KEY=", 4);
	fits[SL_LAMBDA_ENV_USER_MAX_BYTES + 1] = '\0';
	user[0] = fits;
	assert_int_equal(sl_lambda_env_build(&fn, &envp, NULL), 0);
	free(envp);
	memcpy(big, fits, sizeof(fits));
	big[SL_LAMBDA_ENV_USER_MAX_BYTES + 1] = 'v';
	user[0] = big;
	fn.user_env = user;
	assert_int_equal(sl_lambda_env_build(&fn, &envp, NULL), -E2BIG);
	for (int i = 0; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "K%d=", i);
		many[i] = names[i];
	}
	many[300] = NULL;
	fn.user_env = many;
	assert_int_equal(sl_lambda_env_build(&fn, &envp, NULL), -E2BIG);
}

static void build_rejects_bad_fields(void **state)
{
	struct sl_lambda_fn fn = base_fn();
	char **envp = NULL;

	fn.name = "has space";
	assert_int_equal(sl_lambda_env_build(&fn, &envp, NULL), -EINVAL);
	fn = base_fn();
	fn.name = "";
	assert_int_equal(sl_lambda_env_build(&fn, &envp, NULL), -EINVAL);
	fn = base_fn();
	fn.memory_mb = 64;
	assert_int_equal(sl_lambda_env_build(&fn, &envp, NULL), -EINVAL);
	fn = base_fn();
	fn.memory_mb = 20000;
	assert_int_equal(sl_lambda_env_build(&fn, &envp, NULL), -EINVAL);
	fn = base_fn();
	fn.region = NULL;
	assert_int_equal(sl_lambda_env_build(&fn, &envp, NULL), -EINVAL);
	fn = base_fn();
	fn.handler = "a\nb";
	assert_int_equal(sl_lambda_env_build(&fn, &envp, NULL), -EINVAL);
	assert_int_equal(sl_lambda_env_build(NULL, &envp, NULL), -EINVAL);
	assert_null(envp);
}

static void log_stream_has_lambda_format(void **state)
{
	uint8_t rnd[16];
	char buf[SL_LAMBDA_LOG_STREAM_MAX], tiny[8];

	for (int i = 0; i < 16; i++)
		rnd[i] = (uint8_t)(i * 17);
	/* 2024-02-29T12:00:00Z */
	assert_int_equal(sl_lambda_env_log_stream(buf, sizeof(buf), NULL, 1709208000, rnd), 52);
	assert_string_equal(buf, "2024/02/29/[$LATEST]00112233445566778899aabbccddeeff");
	assert_int_equal(sl_lambda_env_log_stream(tiny, sizeof(tiny), "3", 0, rnd), -ENOBUFS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(build_sets_lambda_variables),
		cmocka_unit_test(build_merges_user_env),
		cmocka_unit_test(build_rejects_reserved_keys),
		cmocka_unit_test(build_rejects_bad_user_entries),
		cmocka_unit_test(build_bounds_user_env),
		cmocka_unit_test(build_rejects_bad_fields),
		cmocka_unit_test(log_stream_has_lambda_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
