// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"

#include "daemon/agent-config.h"

#include <sandlot/time.h>

static int parse(struct sl_agent_config *c, char *err, const char *a1, const char *a2)
{
	char *argv[] = {"sandlot-agent", (char *)a1, (char *)a2, NULL};

	sl_agent_config_defaults(c);
	return sl_agent_config_parse(c, a2 ? 3 : a1 ? 2 : 1, argv, err, 256);
}

static void defaults_follow_the_design(void **state)
{
	struct sl_agent_config c;
	char err[256];

	assert_int_equal(parse(&c, err, NULL, NULL), 0);
	assert_string_equal(c.listen, "tcp://0.0.0.0:7401");
	assert_string_equal(c.http, "127.0.0.1:7481");
	assert_int_equal(c.keep_alive_ns, 600 * SL_NSEC_PER_SEC);
	assert_int_equal(c.idle_threshold_ns, 50 * SL_NSEC_PER_MSEC);
	assert_true(c.memory_capacity > 0);
	assert_int_equal(sl_validate_name(c.name), 0);
}

static void accepts_valid_options(void **state)
{
	struct sl_agent_config c;
	char err[256];

	assert_int_equal(parse(&c, err, "--control", "tcp://ctl.example-1:7400"), 0);
	assert_string_equal(c.control, "tcp://ctl.example-1:7400");
	assert_int_equal(parse(&c, err, "--http", "[::1]:8080"), 0);
	assert_int_equal(parse(&c, err, "--http", "localhost:8080"), 0);
	assert_int_equal(parse(&c, err, "--keep-alive", "90s"), 0);
	assert_int_equal(c.keep_alive_ns, 90 * SL_NSEC_PER_SEC);
	assert_int_equal(parse(&c, err, "--memory-capacity", "2G"), 0);
	assert_int_equal(c.memory_capacity, 2ULL << 30);
	assert_int_equal(parse(&c, err, "--listen", "ipc:///tmp/x.ipc"), 0);
	assert_int_equal(parse(&c, err, "--help", NULL), 1);
}

static void rejects_bad_values_naming_the_option(void **state)
{
	static const char *const cases[][3] = {
		{"--control", "http://x:1", "--control"},
		{"--control", "tcp://host:99999", "--control"},
		{"--http", "0.0.0.0", "--http"},
		{"--http", "local host:80", "--http"},
		{"--http", "-x:80", "--http"},
		{"--listen", "tcp://a_b:7401", "--listen"},
		{"--name", "a b", "--name"},
		{"--zone", "", "--zone"},
		{"--memory-capacity", "12Q", "--memory-capacity"},
		{"--max-sandboxes", "0", "--max-sandboxes"},
		{"--max-sandboxes", "100000", "--max-sandboxes"},
		{"--keep-alive", "forever", "--keep-alive"},
		{"--idle-threshold", "2h", "--idle-threshold"},
		{"--bogus", "1", "unknown option '--bogus'"},
		{"--name", NULL, "needs a value"},
	};
	struct sl_agent_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(&c, err, cases[i][0], cases[i][1]), -EINVAL);
		if (!strstr(err, cases[i][2]))
			fail_msg("case %zu: '%s' does not mention '%s'", i, err, cases[i][2]);
	}
	/* a name longer than the bound */
	char longname[100];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(parse(&c, err, "--name", longname), -EINVAL);
}

/* Bound options get the name's address, connected ones keep the name; literals stay. */
static void resolve_turns_bound_names_into_addresses(void **state)
{
	struct sl_agent_config c;
	char err[256];
	char *argv[] = {"sandlot-agent",  "--listen",  "tcp://localhost:7401", "--http",
			"localhost:7481", "--control", "tcp://localhost:7400", NULL};

	sl_agent_config_defaults(&c);
	assert_int_equal(sl_agent_config_parse(&c, 7, argv, err, sizeof(err)), 0);
	assert_int_equal(sl_agent_config_resolve(&c, err, sizeof(err)), 0);
	assert_string_equal(c.listen, "tcp://127.0.0.1:7401");
	assert_string_equal(c.advertise, "tcp://localhost:7401");
	assert_string_equal(c.http, "127.0.0.1:7481");
	assert_string_equal(c.control, "tcp://localhost:7400");
	/* the defaults, literals and ipc:// as they were */
	assert_int_equal(parse(&c, err, "--listen", "ipc:///tmp/x.ipc"), 0);
	assert_int_equal(sl_agent_config_resolve(&c, err, sizeof(err)), 0);
	assert_string_equal(c.listen, "ipc:///tmp/x.ipc");
	assert_string_equal(c.http, "127.0.0.1:7481");
	assert_string_equal(c.control, "tcp://127.0.0.1:7400");
	assert_int_equal(parse(&c, err, "--http", "[::1]:8080"), 0);
	assert_int_equal(sl_agent_config_resolve(&c, err, sizeof(err)), 0);
	assert_string_equal(c.http, "[::1]:8080");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_follow_the_design),
		cmocka_unit_test(accepts_valid_options),
		cmocka_unit_test(rejects_bad_values_naming_the_option),
		cmocka_unit_test(resolve_turns_bound_names_into_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
