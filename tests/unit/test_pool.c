// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"

#include "daemon/pool.h"

static struct sl_pool_entry mk(const char *key, uint64_t mem)
{
	struct sl_pool_entry e = {.memory = mem};

	snprintf(e.key, sizeof(e.key), "%s", key);
	return e;
}

static void reserve_respects_capacity_and_count(void **state)
{
	struct sl_pool p;
	struct sl_pool_entry a = mk("f:1", 600), b = mk("f:1", 600), c = mk("g:1", 300),
			     huge = mk("h:1", 2000), d = mk("g:1", 100);

	sl_pool_init(&p, 1000, 2);
	assert_int_equal(sl_pool_reserve(&p, &a), 0);
	assert_int_equal(sl_pool_reserve(&p, &a), -EINVAL);
	assert_int_equal(sl_pool_reserve(&p, &b), -ENOSPC); /* memory */
	assert_int_equal(sl_pool_reserve(&p, &huge), -E2BIG);
	assert_int_equal(sl_pool_reserve(&p, &c), 0);
	assert_int_equal(sl_pool_reserve(&p, &d), -ENOSPC); /* count */
	assert_int_equal(p.reserved, 900);
	sl_pool_remove(&p, &a);
	sl_pool_remove(&p, &a); /* no-op */
	assert_int_equal(p.reserved, 300);
	assert_int_equal(p.n_entries, 1);
	assert_int_equal(sl_pool_reserve(&p, &b), 0);
}

static void take_prefers_most_recent_of_the_function(void **state)
{
	struct sl_pool p;
	struct sl_pool_entry a = mk("f:1", 1), b = mk("f:1", 1), c = mk("g:1", 1);

	sl_pool_init(&p, 100, 10);
	sl_pool_reserve(&p, &a);
	sl_pool_reserve(&p, &b);
	sl_pool_reserve(&p, &c);
	assert_null(sl_pool_take(&p, "f:1")); /* nothing warm yet */
	sl_pool_put_idle(&p, &a, 10);
	sl_pool_put_idle(&p, &b, 20);
	sl_pool_put_idle(&p, &c, 30);
	assert_ptr_equal(sl_pool_take(&p, "f:1"), &b);
	assert_int_equal(b.state, SL_POOL_IN_USE);
	assert_ptr_equal(sl_pool_take(&p, "f:1"), &a);
	assert_null(sl_pool_take(&p, "f:1"));
	assert_null(sl_pool_take(&p, "f:2")); /* versions are different functions */
	assert_int_equal(p.n_state[SL_POOL_IN_USE], 2);
	assert_int_equal(p.n_state[SL_POOL_IDLE], 1);
	assert_int_equal(sl_pool_take_entry(&p, &a), -EBUSY);
	assert_int_equal(sl_pool_take_entry(&p, &c), 0);
}

static void victims_and_expiry_are_least_recently_used(void **state)
{
	struct sl_pool p;
	struct sl_pool_entry a = mk("f:1", 1), b = mk("g:1", 1), busy = mk("h:1", 1);

	sl_pool_init(&p, 100, 10);
	sl_pool_reserve(&p, &a);
	sl_pool_reserve(&p, &b);
	sl_pool_reserve(&p, &busy);
	assert_null(sl_pool_victim(&p));
	assert_int_equal(sl_pool_next_expiry(&p, 100), UINT64_MAX);
	sl_pool_put_idle(&p, &a, 1000);
	sl_pool_put_idle(&p, &b, 2000);
	assert_ptr_equal(sl_pool_victim(&p), &a);
	assert_int_equal(sl_pool_next_expiry(&p, 100), 1100);
	assert_null(sl_pool_expired(&p, 1099, 100));
	assert_ptr_equal(sl_pool_expired(&p, 1100, 100), &a);
	/* a reused sandbox moves to the recent end */
	assert_ptr_equal(sl_pool_take(&p, "f:1"), &a);
	sl_pool_put_idle(&p, &a, 3000);
	assert_ptr_equal(sl_pool_victim(&p), &b);
	sl_pool_remove(&p, &b);
	assert_ptr_equal(sl_pool_victim(&p), &a);
	sl_pool_remove(&p, &a);
	assert_null(sl_pool_victim(&p)); /* in-use and starting sandboxes are never victims */
	assert_int_equal(p.n_entries, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reserve_respects_capacity_and_count),
		cmocka_unit_test(take_prefers_most_recent_of_the_function),
		cmocka_unit_test(victims_and_expiry_are_least_recently_used),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
