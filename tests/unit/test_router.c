// SPDX-License-Identifier: Apache-2.0
/* control/router.c: the sandbox table and warm routing (pure). */
#include "testutil.h"

#include "router.h"

#define A   0xa1
#define B   0xb2
#define KEY "111122223333/fn/abcdef12"

static bool all_ok(void *data, uint64_t host)
{
	return true;
}

static bool not_b(void *data, uint64_t host)
{
	return host != B;
}

static struct sl_router *table(void)
{
	struct sl_router *r = NULL;

	assert_int_equal(sl_router_new(&r), 0);
	return r;
}

static void add_idle(struct sl_router *r, uint64_t host, const char *id)
{
	assert_int_equal(sl_router_add(r, host, id, KEY, 128), 0);
	assert_int_equal(sl_router_report(r, host, id, SL_SANDBOX_IDLE, SL_REASON_COMMAND), 0);
}

static void add_and_remove(void **state)
{
	struct sl_router *r = table();
	uint32_t n, busy;
	uint64_t mem;

	assert_int_equal(sl_router_add(r, A, "s1", KEY, 256), 0);
	assert_int_equal(sl_router_add(r, A, "s1", KEY, 256), -EEXIST);
	assert_int_equal(sl_router_add(r, A, "bad id!", KEY, 256), -EINVAL);
	assert_int_equal(sl_router_add(r, A, "s2", "", 256), -EINVAL);
	assert_non_null(sl_router_get(r, "s1"));
	assert_int_equal(sl_router_get(r, "s1")->state, SL_SANDBOX_CREATED);
	assert_true(sl_router_host_usage(r, A, &n, &busy, &mem));
	assert_int_equal(n, 1);
	assert_int_equal(busy, 1); /* a sandbox starting is busy */
	assert_int_equal(mem, 256);
	assert_int_equal(sl_router_remove(r, "s1"), 0);
	assert_int_equal(sl_router_remove(r, "s1"), -ENOENT);
	assert_null(sl_router_get(r, "s1"));
	assert_int_equal(sl_router_size(r), 0);
	sl_router_host_usage(r, A, &n, &busy, &mem);
	assert_int_equal(n + busy + mem, 0);
	sl_router_free(&r);
	assert_null(r);
	sl_router_free(&r);
}

static void reports_come_from_the_owner_only(void **state)
{
	struct sl_router *r = table();

	assert_int_equal(sl_router_add(r, A, "s1", KEY, 128), 0);
	assert_int_equal(sl_router_report(r, B, "s1", SL_SANDBOX_IDLE, 0), -EPERM);
	assert_int_equal(sl_router_report(r, A, "nope", SL_SANDBOX_IDLE, 0), -ENOENT);
	assert_int_equal(sl_router_get(r, "s1")->state, SL_SANDBOX_CREATED);
	assert_int_equal(sl_router_report(r, A, "s1", SL_SANDBOX_DESTROYED, 0), 0);
	assert_null(sl_router_get(r, "s1"));
	sl_router_free(&r);
}

static void pick_marks_in_flight_until_release(void **state)
{
	struct sl_router *r = table();
	const struct sl_rsb *sb;

	assert_null(sl_router_pick(r, KEY, all_ok, NULL));
	assert_int_equal(sl_router_add(r, A, "s1", KEY, 128), 0);
	assert_null(sl_router_pick(r, KEY, all_ok, NULL)); /* not ready yet */
	assert_int_equal(sl_router_report(r, A, "s1", SL_SANDBOX_IDLE, SL_REASON_COMMAND), 0);
	sb = sl_router_pick(r, KEY, all_ok, NULL);
	assert_non_null(sb);
	assert_string_equal(sb->id, "s1");
	assert_true(sb->inflight);
	assert_int_equal(sl_router_inflight(r), 1);
	assert_null(sl_router_pick(r, KEY, all_ok, NULL)); /* one invocation at a time */
	assert_int_equal(sl_router_claim(r, "s1"), -EBUSY);
	assert_int_equal(sl_router_release(r, "s1"), 0);
	assert_int_equal(sl_router_inflight(r), 0);
	assert_non_null(sl_router_pick(r, KEY, all_ok, NULL));
	assert_null(sl_router_pick(r, "other/key/x", all_ok, NULL));
	sl_router_free(&r);
}

static void busy_after_its_response_is_not_routed_to(void **state)
{
	struct sl_router *r = table();

	add_idle(r, A, "s1");
	assert_non_null(sl_router_pick(r, KEY, all_ok, NULL));
	/* the agent: busy with our invocation, then the result came */
	assert_int_equal(sl_router_report(r, A, "s1", SL_SANDBOX_BUSY, SL_REASON_INVOKE), 0);
	assert_int_equal(sl_router_release(r, "s1"), 0);
	assert_non_null(sl_router_pick(r, KEY, all_ok, NULL)); /* only our invocation: fine */
	sl_router_release(r, "s1");
	/* eBPF saw it work on after its response */
	assert_int_equal(sl_router_report(r, A, "s1", SL_SANDBOX_BUSY, SL_REASON_ACTIVE), 0);
	assert_null(sl_router_pick(r, KEY, all_ok, NULL));
	assert_int_equal(sl_router_report(r, A, "s1", SL_SANDBOX_FROZEN, SL_REASON_FREEZE), 0);
	assert_non_null(sl_router_pick(r, KEY, all_ok, NULL));
	sl_router_free(&r);
}

static void warm_goes_to_the_most_loaded_host(void **state)
{
	struct sl_router *r = table();
	const struct sl_rsb *sb;

	/* host A: one idle sandbox; host B: one idle and two busy ones (of other functions) */
	add_idle(r, A, "a1");
	add_idle(r, B, "b1");
	assert_int_equal(sl_router_add(r, B, "b2", "111122223333/other/11111111", 128), 0);
	assert_int_equal(sl_router_add(r, B, "b3", "111122223333/other/11111111", 128), 0);
	sb = sl_router_pick(r, KEY, all_ok, NULL);
	assert_string_equal(sb->id, "b1");
	sb = sl_router_pick(r, KEY, all_ok, NULL);
	assert_string_equal(sb->id, "a1");
	sl_router_release(r, "a1");
	sl_router_release(r, "b1");
	/* a host the caller refuses (dead, draining) is skipped */
	sb = sl_router_pick(r, KEY, not_b, NULL);
	assert_string_equal(sb->id, "a1");
	sl_router_free(&r);
}

static void idle_before_just_finished_before_frozen_on_a_host(void **state)
{
	struct sl_router *r = table();
	const struct sl_rsb *sb;

	assert_int_equal(sl_router_add(r, A, "f", KEY, 128), 0);
	assert_int_equal(sl_router_report(r, A, "f", SL_SANDBOX_FROZEN, SL_REASON_FREEZE), 0);
	assert_int_equal(sl_router_add(r, A, "j", KEY, 128), 0);
	assert_int_equal(sl_router_report(r, A, "j", SL_SANDBOX_BUSY, SL_REASON_INVOKE), 0);
	add_idle(r, A, "i");
	sb = sl_router_pick(r, KEY, all_ok, NULL);
	assert_string_equal(sb->id, "i");
	sb = sl_router_pick(r, KEY, all_ok, NULL);
	assert_string_equal(sb->id, "f");
	sb = sl_router_pick(r, KEY, all_ok, NULL);
	assert_string_equal(sb->id, "j");
	assert_null(sl_router_pick(r, KEY, all_ok, NULL));
	sl_router_free(&r);
}

static void dropping_a_host_empties_its_part(void **state)
{
	struct sl_router *r = table();
	char id[16];

	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "a%d", i);
		add_idle(r, A, id);
		snprintf(id, sizeof(id), "b%d", i);
		add_idle(r, B, id);
	}
	assert_non_null(sl_router_pick(r, KEY, not_b, NULL));
	assert_int_equal(sl_router_drop_host(r, A), 100);
	assert_int_equal(sl_router_size(r), 100);
	assert_int_equal(sl_router_inflight(r), 0);
	assert_int_equal(sl_router_count(r, KEY, A), 0);
	assert_int_equal(sl_router_count(r, KEY, B), 100);
	assert_null(sl_router_pick(r, KEY, not_b, NULL));
	sl_router_free(&r);
}

static void count_each(const struct sl_rsb *sb, void *data)
{
	(*(int *)data)++;
}

static void each_by_prefix(void **state)
{
	struct sl_router *r = table();
	int n = 0;

	add_idle(r, A, "s1");
	assert_int_equal(sl_router_add(r, A, "s2", "111122223333/fn/99999999", 128), 0);
	assert_int_equal(sl_router_add(r, A, "s3", "111122223333/fnx/99999999", 128), 0);
	sl_router_each(r, "111122223333/fn/", count_each, &n);
	assert_int_equal(n, 2);
	sl_router_free(&r);
}

/* The batch numbers a placement snapshot takes match the per-host calls, pass after pass. */
static void usage_of_matches_the_per_host_calls(void **state)
{
	static const char *const other = "111122223333/other/abcdef12";
	struct sl_router *r = table();
	uint64_t hosts[600 + 1];
	struct sl_router_usage u[600 + 1];
	char id[16];

	for (int i = 0; i < 600; i++) { /* more hosts than the table has buckets share chains */
		hosts[i] = 0x1000 + (uint64_t)i * 4096;
		for (int k = 0; k < i % 4; k++) {
			snprintf(id, sizeof(id), "s%d-%d", i, k);
			if ((i + k) % 3)
				add_idle(r, hosts[i], id);
			else
				assert_int_equal(sl_router_add(r, hosts[i], id, other, 512), 0);
		}
	}
	hosts[600] = 0xdead; /* unknown to the table */
	for (int pass = 0; pass < 3; pass++) {
		const char *key = pass == 1 ? other : KEY;

		sl_router_usage_of(r, key, hosts, 601, u);
		for (int i = 0; i <= 600; i++) {
			uint32_t n, busy;
			uint64_t mem;

			sl_router_host_usage(r, hosts[i], &n, &busy, &mem);
			assert_int_equal(u[i].sandboxes, n);
			assert_int_equal(u[i].busy, busy);
			assert_int_equal(u[i].memory_mb, mem);
			assert_int_equal(u[i].fn_sandboxes, sl_router_count(r, key, hosts[i]));
		}
		assert_int_equal(u[600].sandboxes, 0);
		assert_int_equal(u[3].fn_sandboxes, pass == 0 ? 2 : 1);
		assert_int_equal(sl_router_remove(r, "s3-1"), pass == 0 ? 0 : -ENOENT);
	}
	sl_router_usage_of(r, "111122223333/none/abcdef12", hosts, 601, u);
	for (int i = 0; i <= 600; i++)
		assert_int_equal(u[i].fn_sandboxes, 0);
	sl_router_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_and_remove),
		cmocka_unit_test(reports_come_from_the_owner_only),
		cmocka_unit_test(pick_marks_in_flight_until_release),
		cmocka_unit_test(busy_after_its_response_is_not_routed_to),
		cmocka_unit_test(warm_goes_to_the_most_loaded_host),
		cmocka_unit_test(idle_before_just_finished_before_frozen_on_a_host),
		cmocka_unit_test(dropping_a_host_empties_its_part),
		cmocka_unit_test(each_by_prefix),
		cmocka_unit_test(usage_of_matches_the_per_host_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
