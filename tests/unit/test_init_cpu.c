// SPDX-License-Identifier: Apache-2.0
/*
 * The CPU of a function's sandbox, as in Lambda: memory / 1769 MB after the init, the init
 * budget (or that share, if larger) until the runtime's first next; the daemon's --init-cpus.
 */
#include "testutil.h"

#include "daemon/agent-config.h"
#include "daemon/lambda-env.h"

static void memory_share(void **state)
{
	assert_int_equal(sl_lambda_cpu_millis(128), 72);
	assert_int_equal(sl_lambda_cpu_millis(1769), 1000);
	assert_int_equal(sl_lambda_cpu_millis(3538), 2000);
	assert_int_equal(sl_lambda_cpu_millis(10240), 5788);
	assert_int_equal(sl_lambda_cpu_millis(1), 50); /* the floor */
}

static void init_budget(void **state)
{
	assert_int_equal(sl_lambda_init_cpu_millis(128, 1000), 1000);
	assert_int_equal(sl_lambda_init_cpu_millis(128, 0), 72);
	assert_int_equal(sl_lambda_init_cpu_millis(3538, 1000), 2000); /* never below the share */
}

static int parse(struct sl_agent_config *c, const char *val, char *err, size_t len)
{
	char *argv[] = {"sandlot-agentd", "--init-cpus", (char *)val, NULL};

	sl_agent_config_defaults(c);
	return sl_agent_config_parse(c, 3, argv, err, len);
}

static void daemon_option(void **state)
{
	struct sl_agent_config c;
	char err[256] = "";

	sl_agent_config_defaults(&c);
	assert_int_equal(c.init_cpu_millis, 1000);
	assert_int_equal(parse(&c, "0.5", err, sizeof(err)), 0);
	assert_int_equal(c.init_cpu_millis, 500);
	assert_int_equal(parse(&c, "0", err, sizeof(err)), 0);
	assert_int_equal(c.init_cpu_millis, 0);
	assert_int_equal(parse(&c, "-1", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--init-cpus"));
	assert_int_equal(parse(&c, "2000", err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(memory_share),
		cmocka_unit_test(init_budget),
		cmocka_unit_test(daemon_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
