// SPDX-License-Identifier: Apache-2.0
/* control/counting: Lambda's concurrency rules, and no unit ever leaks. */
#include "testutil.h"

#include <sandlot/util.h>

#include "counting.h"

#define A1 "111111111111"
#define A2 "222222222222"

static struct sl_counting *counting(uint32_t limit)
{
	struct sl_counting *c = NULL;

	assert_int_equal(sl_counting_new(&c, limit), 0);
	return c;
}

/* Acquires n units of fn (all must succeed). */
static void take(struct sl_counting *c, const char *account, const char *fn, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(sl_counting_acquire(c, account, fn, false, NULL), 0);
}

static void give(struct sl_counting *c, const char *account, const char *fn, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(sl_counting_release(c, account, fn), 0);
}

static void expect_throttle(struct sl_counting *c, const char *account, const char *fn, bool async,
			    enum sl_count_reason want)
{
	enum sl_count_reason why = SL_COUNT_OK;

	assert_int_equal(sl_counting_acquire(c, account, fn, async, &why), -EAGAIN);
	assert_int_equal(why, want);
}

static void new_and_free(void **state)
{
	struct sl_counting *c = NULL;

	assert_int_equal(sl_counting_new(&c, 0), -EINVAL);
	assert_null(c);
	c = counting(1000);
	sl_counting_free(&c);
	assert_null(c);
	sl_counting_free(&c);
	sl_counting_free(NULL);
}

static void account_limit_throttles_with_account_reason(void **state)
{
	struct sl_counting *c = counting(1000);
	struct sl_count_usage u;

	assert_int_equal(sl_counting_set_account_limit(c, A1, 150), 0);
	take(c, A1, "f", 100);
	take(c, A1, "g", 50);
	expect_throttle(c, A1, "h", false, SL_COUNT_ACCOUNT);
	/* another account has its own (default) limit */
	take(c, A2, "h", 1);
	assert_int_equal(sl_counting_account_usage(c, A1, &u), 0);
	assert_int_equal(u.limit, 150);
	assert_int_equal(u.in_use, 150);
	assert_int_equal(u.unreserved_in_use, 150);
	assert_int_equal(u.unreserved_limit, 150);
	give(c, A1, "g", 1);
	take(c, A1, "h", 1);
	assert_int_equal(sl_counting_function_in_use(c, A1, "f"), 100);
	assert_int_equal(sl_counting_function_in_use(c, A1, "h"), 1);
	sl_counting_free(&c);
}

static void reservation_is_a_floor_and_a_cap(void **state)
{
	struct sl_counting *c = counting(1000);
	struct sl_count_usage u;
	uint32_t r = 0;

	assert_int_equal(sl_counting_set_reserved(c, A1, "res", 200), 0);
	assert_int_equal(sl_counting_get_reserved(c, A1, "res", &r), 0);
	assert_int_equal(r, 200);
	/* cap: the reserved function never goes past 200 even with the pool idle */
	take(c, A1, "res", 200);
	expect_throttle(c, A1, "res", false, SL_COUNT_FUNCTION);
	/* floor: others fill the 800 unreserved but cannot touch the reservation */
	give(c, A1, "res", 200);
	take(c, A1, "other", 800);
	expect_throttle(c, A1, "other2", false, SL_COUNT_ACCOUNT);
	take(c, A1, "res", 200);
	assert_int_equal(sl_counting_account_usage(c, A1, &u), 0);
	assert_int_equal(u.in_use, 1000);
	assert_int_equal(u.reserved_total, 200);
	assert_int_equal(u.unreserved_limit, 800);
	assert_int_equal(u.unreserved_in_use, 800);
	sl_counting_free(&c);
}

static void keeps_one_hundred_unreserved(void **state)
{
	struct sl_counting *c = counting(1000);
	struct sl_count_usage u;
	uint32_t r = 0;

	assert_int_equal(sl_counting_set_reserved(c, A1, "a", 500), 0);
	assert_int_equal(sl_counting_set_reserved(c, A1, "b", 400), 0);
	assert_int_equal(sl_counting_set_reserved(c, A1, "c", 1), -ENOSPC);
	assert_int_equal(sl_counting_get_reserved(c, A1, "c", &r), -ENOENT);
	assert_int_equal(sl_counting_set_reserved(c, A1, "b", 401), -ENOSPC);
	assert_int_equal(sl_counting_get_reserved(c, A1, "b", &r), 0);
	assert_int_equal(r, 400); /* unchanged */
	assert_int_equal(sl_counting_set_reserved(c, A1, "b", 300), 0);
	assert_int_equal(sl_counting_set_reserved(c, A1, "c", 100), 0);
	/* the account limit cannot drop under reservations + 100 either */
	assert_int_equal(sl_counting_set_account_limit(c, A1, 999), -ENOSPC);
	assert_int_equal(sl_counting_account_usage(c, A1, &u), 0);
	assert_int_equal(u.limit, 1000);
	assert_int_equal(u.unreserved_limit, 100);
	/* an account with a limit under 100 can reserve nothing, not even 0 */
	assert_int_equal(sl_counting_set_account_limit(c, A2, 50), 0);
	assert_int_equal(sl_counting_set_reserved(c, A2, "x", 0), -ENOSPC);
	sl_counting_free(&c);
}

static void reserved_zero_throttles_every_call(void **state)
{
	struct sl_counting *c = counting(1000);

	assert_int_equal(sl_counting_set_reserved(c, A1, "off", 0), 0);
	expect_throttle(c, A1, "off", false, SL_COUNT_FUNCTION);
	expect_throttle(c, A1, "off", true, SL_COUNT_FUNCTION);
	assert_int_equal(sl_counting_function_in_use(c, A1, "off"), 0);
	assert_int_equal(sl_counting_clear_reserved(c, A1, "off"), 0);
	take(c, A1, "off", 1);
	sl_counting_free(&c);
}

static void async_leaves_headroom_for_sync(void **state)
{
	struct sl_counting *c = counting(200);
	struct sl_count_usage u;

	sl_counting_set_async_headroom(c, 20);
	for (int i = 0; i < 180; i++)
		assert_int_equal(sl_counting_acquire(c, A1, "q", true, NULL), 0);
	expect_throttle(c, A1, "q", true, SL_COUNT_ACCOUNT);
	take(c, A1, "sync", 20); /* sync callers still get the last 20 */
	expect_throttle(c, A1, "sync", false, SL_COUNT_ACCOUNT);
	assert_int_equal(sl_counting_account_usage(c, A1, &u), 0);
	assert_int_equal(u.in_use, 200);
	/* a reservation is its function's own: headroom does not apply inside it */
	assert_int_equal(sl_counting_set_account_limit(c, A2, 200), 0);
	assert_int_equal(sl_counting_set_reserved(c, A2, "r", 10), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(sl_counting_acquire(c, A2, "r", true, NULL), 0);
	/* headroom larger than the pool: async gets nothing, sync everything */
	sl_counting_set_async_headroom(c, 500);
	expect_throttle(c, A2, "q", true, SL_COUNT_ACCOUNT);
	take(c, A2, "q", 1);
	sl_counting_free(&c);
}

static void release_without_acquire_is_refused(void **state)
{
	struct sl_counting *c = counting(1000);
	struct sl_count_usage u;

	assert_int_equal(sl_counting_release(c, A1, "never"), -EINVAL);
	take(c, A1, "f", 2);
	give(c, A1, "f", 2);
	assert_int_equal(sl_counting_release(c, A1, "f"), -EINVAL);
	assert_int_equal(sl_counting_set_reserved(c, A1, "r", 5), 0);
	assert_int_equal(sl_counting_release(c, A1, "r"), -EINVAL);
	assert_int_equal(sl_counting_account_usage(c, A1, &u), 0);
	assert_int_equal(u.in_use, 0);
	assert_int_equal(u.unreserved_in_use, 0);
	assert_int_equal(sl_counting_function_in_use(c, A1, "f"), 0);
	sl_counting_free(&c);
}

static void forget_refuses_while_units_held(void **state)
{
	struct sl_counting *c = counting(1000);
	struct sl_count_usage u;
	uint32_t r;

	assert_int_equal(sl_counting_set_reserved(c, A1, "f", 300), 0);
	take(c, A1, "f", 1);
	assert_int_equal(sl_counting_forget_function(c, A1, "f"), -EBUSY);
	assert_int_equal(sl_counting_get_reserved(c, A1, "f", &r), 0);
	give(c, A1, "f", 1);
	assert_int_equal(sl_counting_forget_function(c, A1, "f"), 0);
	assert_int_equal(sl_counting_get_reserved(c, A1, "f", &r), -ENOENT);
	assert_int_equal(sl_counting_account_usage(c, A1, &u), 0);
	assert_int_equal(u.reserved_total, 0);
	assert_int_equal(sl_counting_forget_function(c, A1, "unknown"), 0);
	sl_counting_free(&c);
}

static void units_move_with_a_new_reservation(void **state)
{
	struct sl_counting *c = counting(1000);
	struct sl_count_usage u;

	take(c, A1, "f", 5);
	assert_int_equal(sl_counting_set_reserved(c, A1, "f", 3), 0);
	assert_int_equal(sl_counting_account_usage(c, A1, &u), 0);
	assert_int_equal(u.unreserved_in_use, 0);
	assert_int_equal(u.in_use, 5);
	expect_throttle(c, A1, "f", false, SL_COUNT_FUNCTION); /* 5 held, cap 3 */
	give(c, A1, "f", 3);
	take(c, A1, "f", 1);
	assert_int_equal(sl_counting_clear_reserved(c, A1, "f"), 0);
	assert_int_equal(sl_counting_account_usage(c, A1, &u), 0);
	assert_int_equal(u.unreserved_in_use, 3);
	give(c, A1, "f", 3);
	assert_int_equal(sl_counting_account_usage(c, A1, &u), 0);
	assert_int_equal(u.in_use, 0);
	assert_int_equal(u.unreserved_in_use, 0);
	sl_counting_free(&c);
}

static void rejects_bad_names(void **state)
{
	struct sl_counting *c = counting(1000);
	char long_name[66];

	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	assert_int_equal(sl_counting_acquire(c, "12345678901", "f", false, NULL), -EINVAL);
	assert_int_equal(sl_counting_acquire(c, "12345678901a", "f", false, NULL), -EINVAL);
	assert_int_equal(sl_counting_acquire(c, A1, "", false, NULL), -EINVAL);
	assert_int_equal(sl_counting_acquire(c, A1, "a/b", false, NULL), -EINVAL);
	assert_int_equal(sl_counting_acquire(c, A1, long_name, false, NULL), -EINVAL);
	long_name[64] = '\0';
	assert_int_equal(sl_counting_acquire(c, A1, long_name, false, NULL), 0);
	assert_int_equal(sl_counting_acquire(c, NULL, "f", false, NULL), -EINVAL);
	sl_counting_free(&c);
}

/*
 * Random acquires and releases over 3 accounts x 40 functions (some reserved, async headroom
 * set), checked against a model after every step: an acquire succeeds exactly when the rules
 * allow it, in_use never passes a limit, and once everything is released nothing is held.
 */
#define NACC 3
#define NFN  40
struct model {
	uint32_t held[NACC][NFN];
	int32_t reserved[NACC][NFN]; /* -1: none */
	uint32_t limit[NACC];
};

static uint32_t model_unreserved(const struct model *m, int a, uint32_t *ret_pool)
{
	uint32_t used = 0, rsum = 0;

	for (int f = 0; f < NFN; f++) {
		if (m->reserved[a][f] < 0)
			used += m->held[a][f];
		else
			rsum += (uint32_t)m->reserved[a][f];
	}
	*ret_pool = m->limit[a] - rsum;
	return used;
}

static void random_step(struct sl_counting *c, struct model *m, const char *acc[], int a, int f)
{
	char fn[16];
	bool async = rand() % 4 == 0;
	uint32_t pool, used = model_unreserved(m, a, &pool);
	bool allow;

	snprintf(fn, sizeof(fn), "fn-%d", f);
	if (rand() % 2 && m->held[a][f] > 0) {
		assert_int_equal(sl_counting_release(c, acc[a], fn), 0);
		m->held[a][f]--;
		return;
	}
	if (m->reserved[a][f] >= 0)
		allow = m->held[a][f] < (uint32_t)m->reserved[a][f];
	else
		allow = used < (async ? (pool > 10 ? pool - 10 : 0) : pool);
	assert_int_equal(sl_counting_acquire(c, acc[a], fn, async, NULL), allow ? 0 : -EAGAIN);
	m->held[a][f] += allow;
}

static void random_sequence_keeps_invariants(void **state)
{
	static const char *acc[NACC] = {"100000000001", "100000000002", "100000000003"};
	struct sl_counting *c = counting(150);
	struct model m = {0};
	struct sl_count_usage u;
	char fn[16];

	srand(42);
	sl_counting_set_async_headroom(c, 10);
	for (int a = 0; a < NACC; a++) {
		m.limit[a] = a == 0 ? 150 : 130;
		if (a)
			assert_int_equal(sl_counting_set_account_limit(c, acc[a], 130), 0);
		for (int f = 0; f < NFN; f++) {
			m.reserved[a][f] = f % 10 == 0 ? f / 10 * 3 : -1; /* 0, 3, 6, 9 */
			snprintf(fn, sizeof(fn), "fn-%d", f);
			if (m.reserved[a][f] >= 0)
				assert_int_equal(
					sl_counting_set_reserved(c, acc[a], fn, m.reserved[a][f]),
					0);
		}
	}
	for (int step = 0; step < 200000; step++) {
		int a = rand() % NACC, f = rand() % 4 ? rand() % 8 : rand() % NFN;
		uint32_t pool, used;

		random_step(c, &m, acc, a, f);
		used = model_unreserved(&m, a, &pool);
		assert_int_equal(sl_counting_account_usage(c, acc[a], &u), 0);
		assert_int_equal(u.unreserved_in_use, used);
		assert_true(u.unreserved_in_use <= u.unreserved_limit);
		assert_true(u.in_use <= u.limit);
		snprintf(fn, sizeof(fn), "fn-%d", f);
		assert_int_equal(sl_counting_function_in_use(c, acc[a], fn), m.held[a][f]);
	}
	for (int a = 0; a < NACC; a++) {
		for (int f = 0; f < NFN; f++) {
			snprintf(fn, sizeof(fn), "fn-%d", f);
			give(c, acc[a], fn, m.held[a][f]);
			assert_int_equal(sl_counting_release(c, acc[a], fn), -EINVAL);
		}
		assert_int_equal(sl_counting_account_usage(c, acc[a], &u), 0);
		assert_int_equal(u.in_use, 0);
		assert_int_equal(u.unreserved_in_use, 0);
	}
	sl_counting_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_and_free),
		cmocka_unit_test(account_limit_throttles_with_account_reason),
		cmocka_unit_test(reservation_is_a_floor_and_a_cap),
		cmocka_unit_test(keeps_one_hundred_unreserved),
		cmocka_unit_test(reserved_zero_throttles_every_call),
		cmocka_unit_test(async_leaves_headroom_for_sync),
		cmocka_unit_test(release_without_acquire_is_refused),
		cmocka_unit_test(forget_refuses_while_units_held),
		cmocka_unit_test(units_move_with_a_new_reservation),
		cmocka_unit_test(rejects_bad_names),
		cmocka_unit_test(random_sequence_keeps_invariants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
