// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"

#include <sandlot/parse.h>
#include <sandlot/time.h>

#include <errno.h>

static void size_accepts_units(void **state)
{
	uint64_t v;

	assert_int_equal(sl_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(sl_parse_size("128M", &v), 0);
	assert_int_equal(v, 128ULL << 20);
	assert_int_equal(sl_parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(sl_parse_size("512k", &v), 0);
	assert_int_equal(v, 512ULL << 10);
	assert_int_equal(sl_parse_size("1T", &v), 0);
	assert_int_equal(v, 1ULL << 40);
}

static void size_rejects_junk(void **state)
{
	uint64_t v = 7;

	assert_int_equal(sl_parse_size("12Q", &v), -EINVAL);
	assert_int_equal(sl_parse_size("", &v), -EINVAL);
	assert_int_equal(sl_parse_size("-1M", &v), -EINVAL);
	assert_int_equal(sl_parse_size(" 1M", &v), -EINVAL);
	assert_int_equal(sl_parse_size("1M ", &v), -EINVAL);
	assert_int_equal(sl_parse_size("M", &v), -EINVAL);
	assert_int_equal(sl_parse_size(NULL, &v), -EINVAL);
	assert_int_equal(sl_parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(sl_parse_size("17179869184T", &v), -ERANGE);
	assert_int_equal(v, 7); /* untouched on failure */
}

static void duration_accepts_units(void **state)
{
	uint64_t v;

	assert_int_equal(sl_parse_duration("250ms", &v), 0);
	assert_int_equal(v, 250 * SL_NSEC_PER_MSEC);
	assert_int_equal(sl_parse_duration("30", &v), 0);
	assert_int_equal(v, 30 * SL_NSEC_PER_SEC);
	assert_int_equal(sl_parse_duration("2m30s", &v), 0);
	assert_int_equal(v, 150 * SL_NSEC_PER_SEC);
	assert_int_equal(sl_parse_duration("1500us", &v), 0);
	assert_int_equal(v, 1500 * SL_NSEC_PER_USEC);
	assert_int_equal(sl_parse_duration("1h", &v), 0);
	assert_int_equal(v, 3600 * SL_NSEC_PER_SEC);
}

static void duration_accepts_fractions(void **state)
{
	uint64_t v;

	assert_int_equal(sl_parse_duration("1.5s", &v), 0);
	assert_int_equal(v, 1500 * SL_NSEC_PER_MSEC);
	assert_int_equal(sl_parse_duration("1.5", &v), 0);
	assert_int_equal(v, 1500 * SL_NSEC_PER_MSEC);
	assert_int_equal(sl_parse_duration("2m", &v), 0);
	assert_int_equal(v, 120 * SL_NSEC_PER_SEC);
	assert_int_equal(sl_parse_duration("0.25ms", &v), 0);
	assert_int_equal(v, 250 * SL_NSEC_PER_USEC);
	assert_int_equal(sl_parse_duration("0.5h", &v), 0);
	assert_int_equal(v, 1800 * SL_NSEC_PER_SEC);
	assert_int_equal(sl_parse_duration("1m0.5s", &v), 0);
	assert_int_equal(v, 60 * SL_NSEC_PER_SEC + 500 * SL_NSEC_PER_MSEC);
	assert_int_equal(sl_parse_duration("0.0000000019s", &v), 0);
	assert_int_equal(v, 1); /* past the nanosecond: dropped */
}

static void duration_rejects_bad_fractions(void **state)
{
	uint64_t v = 3;

	assert_int_equal(sl_parse_duration("1.s", &v), -EINVAL);
	assert_int_equal(sl_parse_duration(".5s", &v), -EINVAL);
	assert_int_equal(sl_parse_duration("1.5.5s", &v), -EINVAL);
	assert_int_equal(sl_parse_duration("1m30", &v), -EINVAL);
	assert_int_equal(v, 3);
}

static void duration_rejects_junk(void **state)
{
	uint64_t v = 3;

	assert_int_equal(sl_parse_duration("", &v), -EINVAL);
	assert_int_equal(sl_parse_duration("10x", &v), -EINVAL);
	assert_int_equal(sl_parse_duration("ms", &v), -EINVAL);
	assert_int_equal(sl_parse_duration("1s2", &v), -EINVAL);
	assert_int_equal(sl_parse_duration("-5s", &v), -EINVAL);
	assert_int_equal(sl_parse_duration("99999999999999h", &v), -ERANGE);
	assert_int_equal(v, 3);
}

static void u64_checks_range(void **state)
{
	uint64_t v = 0;

	assert_int_equal(sl_parse_u64("10", 1, 100, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(sl_parse_u64("0", 1, 100, &v), -ERANGE);
	assert_int_equal(sl_parse_u64("101", 1, 100, &v), -ERANGE);
	assert_int_equal(sl_parse_u64("1e3", 1, 10000, &v), -EINVAL);
}

static void double_parses_fractions(void **state)
{
	double d = 0;

	assert_int_equal(sl_parse_double("0.5", 64, &d), 0);
	assert_true(d > 0.499 && d < 0.501);
	assert_int_equal(sl_parse_double("2", 64, &d), 0);
	assert_true(d == 2.0);
	assert_int_equal(sl_parse_double("65", 64, &d), -ERANGE);
	assert_int_equal(sl_parse_double("1.", 64, &d), -EINVAL);
	assert_int_equal(sl_parse_double(".5", 64, &d), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(size_accepts_units),
		cmocka_unit_test(size_rejects_junk),
		cmocka_unit_test(duration_accepts_units),
		cmocka_unit_test(duration_rejects_junk),
		cmocka_unit_test(duration_accepts_fractions),
		cmocka_unit_test(duration_rejects_bad_fractions),
		cmocka_unit_test(u64_checks_range),
		cmocka_unit_test(double_parses_fractions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
