// SPDX-License-Identifier: Apache-2.0
/* control/config.c: sandlot-control's options (pure). */
#include "testutil.h"

#include <sandlot/util.h>

#include <sandlot/time.h>

#include "config.h"

static int parse(struct sl_ctl_config *c, char *err, const char *const *args)
{
	char *argv[32] = {"sandlot-control"};
	int argc = 1;

	for (; args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	sl_ctl_config_defaults(c);
	return sl_ctl_config_parse(c, argc, argv, err, 256);
}

static void defaults_follow_design(void **state)
{
	struct sl_ctl_config c;
	char err[256];

	assert_int_equal(parse(&c, err, (const char *const[]){NULL}), 0);
	assert_string_equal(c.http, "127.0.0.1:7480");
	assert_string_equal(c.listen, "tcp://0.0.0.0:7400");
	assert_string_equal(c.data, "/var/lib/sandlot/control");
	assert_int_equal(c.heartbeat_timeout_ns, 3 * SL_NSEC_PER_SEC);
	assert_int_equal(c.lease_ns, 8 * 3600 * SL_NSEC_PER_SEC);
	assert_int_equal(c.account_concurrency, 1000);
}

static void options_parsed(void **state)
{
	struct sl_ctl_config c;
	char err[256];

	assert_int_equal(parse(&c, err,
			       (const char *const[]){"--http",
						     "[::1]:8080",
						     "--listen",
						     "ipc:///run/sl.sock",
						     "--data",
						     "/d",
						     "--key-file",
						     "/k",
						     "--access-keys",
						     "/a",
						     "--heartbeat-timeout",
						     "500ms",
						     "--lease",
						     "6h",
						     "--account-concurrency",
						     "5",
						     "--region",
						     "eu-west-1",
						     "--shutdown-grace",
						     "0",
						     NULL}),
			 0);
	assert_string_equal(c.http, "[::1]:8080");
	assert_string_equal(c.listen, "ipc:///run/sl.sock");
	assert_string_equal(c.access_keys, "/a");
	assert_int_equal(c.heartbeat_timeout_ns, 500 * SL_NSEC_PER_MSEC);
	assert_int_equal(c.lease_ns, 6 * 3600 * SL_NSEC_PER_SEC);
	assert_int_equal(c.account_concurrency, 5);
	assert_string_equal(c.region, "eu-west-1");
	assert_int_equal(c.shutdown_grace_ns, 0);
	assert_int_equal(parse(&c, err, (const char *const[]){"--help", NULL}), 1);
}

static void bad_options_say_which(void **state)
{
	const char *const *bad[] = {
		(const char *const[]){"--http", "localhost:80", NULL},
		(const char *const[]){"--http", "127.0.0.1:99999", NULL},
		(const char *const[]){"--listen", "http://x", NULL},
		(const char *const[]){"--heartbeat-timeout", "10ms", NULL},
		(const char *const[]){"--lease", "forever", NULL},
		(const char *const[]){"--account-concurrency", "0", NULL},
		(const char *const[]){"--region", "Bad Region", NULL},
		(const char *const[]){"--log-level", "loud", NULL},
		(const char *const[]){"--nope", NULL},
		(const char *const[]){"stray", NULL},
		(const char *const[]){"--data", NULL},
	};
	struct sl_ctl_config c;
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		assert_int_equal(parse(&c, err, bad[i]), -EINVAL);
		assert_true(strlen(err) > 0);
		assert_null(strchr(err, '\n'));
	}
	parse(&c, err, bad[0]);
	assert_non_null(strstr(err, "--http"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_follow_design),
		cmocka_unit_test(options_parsed),
		cmocka_unit_test(bad_options_say_which),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
