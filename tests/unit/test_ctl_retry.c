// SPDX-License-Identifier: Apache-2.0
/* control/retry: Lambda's retry schedule, the age limit, backoff and the round-robin rule. */
#include "testutil.h"

#include <sandlot/util.h>

#include "retry.h"

#define S 1000000000ull

static struct sl_retry_in in(enum sl_retry_kind kind, uint32_t attempts, uint32_t max_retry)
{
	return (struct sl_retry_in){.kind = kind,
				    .attempts = attempts,
				    .max_retry = max_retry,
				    .max_age_s = 21600,
				    .enqueued_ns = 1000 * S,
				    .now_ns = 1000 * S,
				    .scale = 1};
}

static void function_errors_retry_after_one_then_two_minutes(void **state)
{
	struct sl_retry_in i = in(SL_RETRY_FUNCTION, 1, 2);
	uint64_t due;

	assert_true(sl_retry_next(&i, &due));
	assert_int_equal(due, 1060 * S);
	i.attempts = 2;
	assert_true(sl_retry_next(&i, &due));
	assert_int_equal(due, 1120 * S);
	i.attempts = 3; /* the third run failed: no more */
	assert_false(sl_retry_next(&i, &due));
}

static void max_retry_bounds_the_runs(void **state)
{
	for (uint32_t max = 0; max <= SL_RETRY_MAX; max++) {
		uint32_t runs = 1;
		struct sl_retry_in i = in(SL_RETRY_FUNCTION, 1, max);
		uint64_t due;

		while (sl_retry_next(&i, &due)) {
			runs++;
			i.attempts++;
		}
		assert_int_equal(runs, max + 1);
	}
}

static void scale_shortens_every_delay(void **state)
{
	struct sl_retry_in i = in(SL_RETRY_FUNCTION, 1, 2);
	uint64_t due;

	i.scale = 0.01;
	assert_true(sl_retry_next(&i, &due));
	assert_int_equal(due - i.now_ns, 600000000ull);
	assert_int_equal(sl_retry_backoff_ns(0, 0.01), 10000000ull);
}

static void platform_errors_back_off_exponentially_and_cap(void **state)
{
	assert_int_equal(sl_retry_backoff_ns(0, 1), 1 * S);
	assert_int_equal(sl_retry_backoff_ns(1, 1), 2 * S);
	assert_int_equal(sl_retry_backoff_ns(5, 1), 32 * S);
	assert_int_equal(sl_retry_backoff_ns(9, 1), 300 * S);
	assert_int_equal(sl_retry_backoff_ns(200, 1), 300 * S);
}

static void platform_errors_do_not_count_as_attempts(void **state)
{
	struct sl_retry_in i = in(SL_RETRY_PLATFORM, 3, 0); /* attempts spent: still retried */
	uint64_t due;

	i.retries = 2;
	assert_true(sl_retry_next(&i, &due));
	assert_int_equal(due, 1004 * S);
}

static void the_age_limit_ends_retries(void **state)
{
	struct sl_retry_in i = in(SL_RETRY_PLATFORM, 0, 2);
	uint64_t due;

	i.max_age_s = 60;
	i.now_ns = i.enqueued_ns + 59 * S + S / 2; /* 1 s backoff would pass 60 s */
	assert_false(sl_retry_next(&i, &due));
	i.now_ns = i.enqueued_ns + 59 * S; /* the retry starts at 60 s: still in time */
	assert_true(sl_retry_next(&i, &due));
	i = in(SL_RETRY_FUNCTION, 1, 2);
	i.max_age_s = 60; /* the 60 s retry would start after the age */
	i.now_ns = i.enqueued_ns + 1 * S;
	assert_false(sl_retry_next(&i, &due));
	assert_true(sl_retry_expired(0, 60, 61 * S));
	assert_false(sl_retry_expired(0, 60, 60 * S));
}

static void round_robin_starts_after_the_last_served(void **state)
{
	const char *keys[] = {"111/a", "111/b", "111/c"};

	assert_int_equal(sl_fair_start(keys, 3, ""), 0);
	assert_int_equal(sl_fair_start(keys, 3, "111/a"), 1);
	assert_int_equal(sl_fair_start(keys, 3, "111/b"), 2);
	assert_int_equal(sl_fair_start(keys, 3, "111/c"), 0);  /* wraps */
	assert_int_equal(sl_fair_start(keys, 3, "111/bb"), 2); /* b's queue emptied meanwhile */
	assert_int_equal(sl_fair_start(keys, 0, "x"), 0);
}

/* A backlog of 100 on one function and 1 on another: the other is served in the first round. */
static void a_backlog_does_not_starve_another_function(void **state)
{
	const char *keys[] = {"111/big", "111/small"};
	unsigned backlog[2] = {100, 1}, served = 0, small_at = 0;
	char last[32] = "";

	while (backlog[0] + backlog[1]) {
		size_t n = 0, start;
		const char *due[2];
		unsigned idx[2];

		for (unsigned i = 0; i < 2; i++)
			if (backlog[i]) {
				idx[n] = i;
				due[n++] = keys[i];
			}
		start = sl_fair_start(due, n, last);
		backlog[idx[start]]--;
		served++;
		snprintf(last, sizeof(last), "%s", due[start]);
		if (idx[start] == 1)
			small_at = served;
	}
	assert_true(small_at >= 1 && small_at <= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(function_errors_retry_after_one_then_two_minutes),
		cmocka_unit_test(max_retry_bounds_the_runs),
		cmocka_unit_test(scale_shortens_every_delay),
		cmocka_unit_test(platform_errors_back_off_exponentially_and_cap),
		cmocka_unit_test(platform_errors_do_not_count_as_attempts),
		cmocka_unit_test(the_age_limit_ends_retries),
		cmocka_unit_test(round_robin_starts_after_the_last_served),
		cmocka_unit_test(a_backlog_does_not_starve_another_function),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
