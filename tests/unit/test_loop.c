// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"

#include <sandlot/loop.h>

#include <sandlot/time.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>

static int order[16], n_order;

static void record(struct sl_loop *l, void *data)
{
	order[n_order++] = (int)(intptr_t)data;
}

static void timers_fire_in_deadline_order(void **state)
{
	struct sl_loop *l = NULL;
	struct sl_timer *t2 = NULL;
	uint64_t now = sl_now_ns();

	assert_int_equal(sl_loop_new(&l), 0);
	n_order = 0;
	assert_int_equal(sl_loop_add_timer(l, now + 3000000, record, (void *)3, NULL), 0);
	assert_int_equal(sl_loop_add_timer(l, now + 1000000, record, (void *)1, NULL), 0);
	assert_int_equal(sl_loop_add_timer(l, now + 2000000, record, (void *)2, &t2), 0);
	assert_int_equal(sl_loop_add_timer(l, now + 1000000, record, (void *)4, NULL), 0);
	sl_loop_cancel_timer(l, &t2);
	assert_null(t2);
	assert_int_equal(sl_loop_timer_count(l), 3);
	while (sl_loop_timer_count(l))
		assert_true(sl_loop_run_once(l, SL_NSEC_PER_SEC) >= 0);
	assert_int_equal(n_order, 3);
	assert_int_equal(order[0], 1); /* same deadline: arming order */
	assert_int_equal(order[1], 4);
	assert_int_equal(order[2], 3);
	sl_loop_free(&l);
	assert_null(l);
}

static int reads;

static void on_read(struct sl_loop *l, int fd, uint32_t events, void *data)
{
	char c;

	assert_true(events & EPOLLIN);
	assert_int_equal(read(fd, &c, 1), 1);
	reads++;
	/* removing ourselves from inside our own callback is allowed */
	assert_int_equal(sl_loop_del_io(l, fd), 0);
	sl_loop_exit(l, 42);
}

static void io_dispatch_and_self_removal(void **state)
{
	struct sl_loop *l = NULL;
	int p[2];

	assert_int_equal(sl_loop_new(&l), 0);
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(sl_loop_add_io(l, p[0], EPOLLIN, on_read, NULL), 0);
	assert_int_equal(sl_loop_add_io(l, p[0], EPOLLIN, on_read, NULL), -EEXIST);
	assert_int_equal(sl_loop_mod_io(l, 999, EPOLLIN), -ENOENT);
	assert_int_equal(write(p[1], "x", 1), 1);
	reads = 0;
	assert_int_equal(sl_loop_run(l), 42);
	assert_int_equal(reads, 1);
	assert_int_equal(sl_loop_io_count(l), 0);
	assert_int_equal(sl_loop_del_io(l, p[0]), -ENOENT);
	close(p[0]);
	close(p[1]);
	sl_loop_free(&l);
}

static int got_sig;

static void on_sig(struct sl_loop *l, int signo, void *data)
{
	got_sig = signo;
	sl_loop_exit(l, 0);
}

static void signals_arrive_through_the_loop(void **state)
{
	struct sl_loop *l = NULL;
	int sigs[] = {SIGUSR1};

	assert_int_equal(sl_loop_new(&l), 0);
	assert_int_equal(sl_loop_add_signals(l, sigs, 1, on_sig, NULL), 0);
	assert_int_equal(sl_loop_add_signals(l, sigs, 1, on_sig, NULL), -EBUSY);
	raise(SIGUSR1);
	assert_int_equal(sl_loop_run(l), 0);
	assert_int_equal(got_sig, SIGUSR1);
	sl_loop_free(&l);
}

static void timer_count_is_bounded(void **state)
{
	struct sl_loop *l = NULL;
	int r = 0;

	assert_int_equal(sl_loop_new(&l), 0);
	for (unsigned i = 0; i <= SL_LOOP_MAX_TIMERS && r == 0; i++)
		r = sl_loop_add_timer(l, UINT64_MAX - i, record, NULL, NULL);
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(sl_loop_timer_count(l), SL_LOOP_MAX_TIMERS);
	sl_loop_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_fire_in_deadline_order),
		cmocka_unit_test(io_dispatch_and_self_removal),
		cmocka_unit_test(signals_arrive_through_the_loop),
		cmocka_unit_test(timer_count_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
