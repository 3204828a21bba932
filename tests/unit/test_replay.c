// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"

#include <sandlot/replay.h>

#include <errno.h>

#define SEC 1000000000ull
#define NOW (1700000000ull * SEC)
#define WIN (30 * SEC)

static struct sl_replay *tracker(uint32_t max)
{
	struct sl_replay *r = NULL;

	assert_int_equal(sl_replay_new(&r, max, WIN), 0);
	return r;
}

static void in_order_frames_are_accepted_once(void **state)
{
	struct sl_replay *r = tracker(4);

	assert_int_equal(sl_replay_accept(r, 7, 99, 1, NOW, NOW), 1); /* new sender */
	for (uint64_t seq = 2; seq < 200; seq++)
		assert_int_equal(sl_replay_accept(r, 7, 99, seq, NOW, NOW), 0);
	assert_int_equal(sl_replay_accept(r, 7, 99, 199, NOW, NOW), -EALREADY);
	assert_int_equal(sl_replay_accept(r, 7, 99, 150, NOW, NOW), -EALREADY);
	assert_int_equal(sl_replay_count(r), 1);
	sl_replay_free(&r);
	assert_null(r);
}

static void reordering_within_the_window_is_accepted(void **state)
{
	struct sl_replay *r = tracker(4);

	assert_int_equal(sl_replay_accept(r, 7, 99, 100, NOW, NOW), 1);
	assert_int_equal(sl_replay_accept(r, 7, 99, 90, NOW, NOW), 0);
	assert_int_equal(sl_replay_accept(r, 7, 99, 90, NOW, NOW), -EALREADY);
	assert_int_equal(sl_replay_accept(r, 7, 99, 100 - SL_REPLAY_SEQ_WINDOW + 1, NOW, NOW), 0);
	assert_int_equal(sl_replay_accept(r, 7, 99, 101, NOW, NOW), 0);
	assert_int_equal(sl_replay_accept(r, 7, 99, 95, NOW, NOW), 0);
	assert_int_equal(sl_replay_accept(r, 7, 99, 95, NOW, NOW), -EALREADY);
	sl_replay_free(&r);
}

static void reordering_beyond_the_window_is_rejected(void **state)
{
	struct sl_replay *r = tracker(4);

	assert_int_equal(sl_replay_accept(r, 7, 99, 1000, NOW, NOW), 1);
	assert_int_equal(sl_replay_accept(r, 7, 99, 1000 - SL_REPLAY_SEQ_WINDOW, NOW, NOW),
			 -EALREADY);
	assert_int_equal(sl_replay_accept(r, 7, 99, 1, NOW, NOW), -EALREADY);
	/* A jump far ahead clears the bitmap but keeps older numbers out. */
	assert_int_equal(sl_replay_accept(r, 7, 99, 5000, NOW, NOW), 0);
	assert_int_equal(sl_replay_accept(r, 7, 99, 1000, NOW, NOW), -EALREADY);
	assert_int_equal(sl_replay_accept(r, 7, 99, 4999, NOW, NOW), 0);
	sl_replay_free(&r);
}

static void timestamps_outside_the_window_are_rejected(void **state)
{
	struct sl_replay *r = tracker(4);

	assert_int_equal(sl_replay_accept(r, 7, 99, 1, NOW - WIN - 1, NOW), -ETIME);
	assert_int_equal(sl_replay_accept(r, 7, 99, 1, NOW + WIN + 1, NOW), -ETIME);
	assert_int_equal(sl_replay_count(r), 0); /* nothing recorded */
	assert_int_equal(sl_replay_accept(r, 7, 99, 1, NOW - WIN, NOW), 1);
	assert_int_equal(sl_replay_accept(r, 7, 99, 2, NOW + WIN, NOW), 0);
	sl_replay_free(&r);
}

static void restarted_sender_starts_a_new_session(void **state)
{
	struct sl_replay *r = tracker(4);

	assert_int_equal(sl_replay_accept(r, 7, 99, 1, NOW, NOW), 1);
	assert_int_equal(sl_replay_accept(r, 7, 99, 2, NOW + 1, NOW), 0);
	/* Restart: new nonce, sequence from 1 again, later clock. */
	assert_int_equal(sl_replay_accept(r, 7, 555, 1, NOW + 2, NOW + 2), 1);
	assert_int_equal(sl_replay_accept(r, 7, 555, 2, NOW + 3, NOW + 3), 0);
	/* Frames of the old session cannot come back, even with unseen sequence numbers. */
	assert_int_equal(sl_replay_accept(r, 7, 99, 3, NOW + 1, NOW + 4), -ETIME);
	assert_int_equal(sl_replay_accept(r, 7, 99, 2, NOW + 1, NOW + 4), -ETIME);
	assert_int_equal(sl_replay_accept(r, 7, 555, 2, NOW + 3, NOW + 4), -EALREADY);
	sl_replay_free(&r);
}

static void sender_table_is_bounded(void **state)
{
	struct sl_replay *r = tracker(3);

	for (uint64_t id = 1; id <= 3; id++)
		assert_int_equal(sl_replay_accept(r, id * 10, 5, 1, NOW, NOW), 1);
	assert_int_equal(sl_replay_accept(r, 40, 5, 1, NOW, NOW), -ENOSPC);
	assert_int_equal(sl_replay_count(r), 3);
	/* Known senders still pass. */
	assert_int_equal(sl_replay_accept(r, 20, 5, 2, NOW, NOW), 0);
	/* Later, senders silent for longer than the window make room. */
	assert_int_equal(sl_replay_accept(r, 30, 5, 2, NOW + 2 * WIN, NOW + 2 * WIN), 0);
	assert_int_equal(sl_replay_accept(r, 40, 5, 1, NOW + 2 * WIN, NOW + 2 * WIN), 1);
	assert_int_equal(sl_replay_count(r), 3);
	assert_int_equal(sl_replay_accept(r, 50, 5, 1, NOW + 2 * WIN, NOW + 2 * WIN), 1);
	assert_int_equal(sl_replay_accept(r, 60, 5, 1, NOW + 2 * WIN, NOW + 2 * WIN), -ENOSPC);
	/* The survivors are the ones that spoke recently, looked up correctly after the moves. */
	assert_int_equal(sl_replay_accept(r, 30, 5, 2, NOW + 2 * WIN, NOW + 2 * WIN), -EALREADY);
	assert_int_equal(sl_replay_accept(r, 40, 5, 1, NOW + 2 * WIN, NOW + 2 * WIN), -EALREADY);
	assert_int_equal(sl_replay_accept(r, 50, 5, 1, NOW + 2 * WIN, NOW + 2 * WIN), -EALREADY);
	sl_replay_free(&r);
}

static void zero_fields_are_invalid(void **state)
{
	struct sl_replay *r = tracker(1);

	assert_int_equal(sl_replay_accept(r, 0, 5, 1, NOW, NOW), -EINVAL);
	assert_int_equal(sl_replay_accept(r, 1, 0, 1, NOW, NOW), -EINVAL);
	assert_int_equal(sl_replay_accept(r, 1, 5, 0, NOW, NOW), -EINVAL);
	assert_int_equal(sl_replay_new(&r, 0, WIN), -EINVAL);
	sl_replay_free(&r);
	sl_replay_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(in_order_frames_are_accepted_once),
		cmocka_unit_test(reordering_within_the_window_is_accepted),
		cmocka_unit_test(reordering_beyond_the_window_is_rejected),
		cmocka_unit_test(timestamps_outside_the_window_are_rejected),
		cmocka_unit_test(restarted_sender_starts_a_new_session),
		cmocka_unit_test(sender_table_is_bounded),
		cmocka_unit_test(zero_fields_are_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
