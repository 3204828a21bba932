// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"

#include "daemon/logtail.h"

static void keeps_everything_below_the_bound(void **state)
{
	struct sl_logtail t;
	char out[SL_LOGTAIL_SIZE];

	sl_logtail_reset(&t);
	assert_int_equal(sl_logtail_read(&t, out), 0);
	sl_logtail_write(&t, "hello ", 6);
	sl_logtail_write(&t, "world", 5);
	assert_int_equal(sl_logtail_read(&t, out), 11);
	assert_memory_equal(out, "hello world", 11);
}

static void keeps_the_last_bytes_when_wrapping(void **state)
{
	static struct sl_logtail t;
	static char out[SL_LOGTAIL_SIZE], all[3 * SL_LOGTAIL_SIZE + 123];

	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (char)('a' + i % 26);
	/* in odd-sized pieces, then one piece larger than the ring */
	for (size_t step = 1; step <= 3 * SL_LOGTAIL_SIZE; step = step * 3 + 1) {
		sl_logtail_reset(&t);
		for (size_t off = 0; off < sizeof(all); off += step)
			sl_logtail_write(&t, all + off,
					 off + step < sizeof(all) ? step : sizeof(all) - off);
		assert_int_equal(t.total, sizeof(all));
		assert_int_equal(sl_logtail_read(&t, out), SL_LOGTAIL_SIZE);
		assert_memory_equal(out, all + sizeof(all) - SL_LOGTAIL_SIZE, SL_LOGTAIL_SIZE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keeps_everything_below_the_bound),
		cmocka_unit_test(keeps_the_last_bytes_when_wrapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
