// SPDX-License-Identifier: Apache-2.0
/* The per-host address pool for --net egress (pure bookkeeping). */
#include "testutil.h"

#include "sandbox/netpool.h"

#include <arpa/inet.h>
#include <errno.h>

static void new_rejects_bad_cidrs(void **state)
{
	struct sl_netpool *p = NULL;

	assert_int_equal(sl_netpool_new(&p, "10.0.0.1/16"), -EINVAL); /* host bits */
	assert_int_equal(sl_netpool_new(&p, "10.0.0.0/29"), -EINVAL); /* too small */
	assert_int_equal(sl_netpool_new(&p, "10.0.0.0/7"), -EINVAL);
	assert_int_equal(sl_netpool_new(&p, "10.0.0.0"), -EINVAL);
	assert_int_equal(sl_netpool_new(&p, "fd00::/64"), -EINVAL);
	assert_int_equal(sl_netpool_new(&p, "10.0.0.0/16x"), -EINVAL);
	assert_int_equal(sl_netpool_new(&p, NULL), -EINVAL);
	assert_null(p);
	sl_netpool_free(&p); /* NULL-safe */
}

static void leases_are_disjoint_30s(void **state)
{
	struct sl_netpool *p = NULL;
	struct sl_netlease a, b;
	char s[INET_ADDRSTRLEN];

	assert_int_equal(sl_netpool_new(&p, SL_NETPOOL_DEFAULT), 0);
	assert_int_equal(sl_netpool_capacity(p), 16384);
	assert_int_equal(sl_netpool_alloc(p, &a), 0);
	assert_int_equal(sl_netpool_alloc(p, &b), 0);
	assert_string_equal(inet_ntop(AF_INET, &a.host, s, sizeof(s)), "10.213.0.1");
	assert_string_equal(inet_ntop(AF_INET, &a.sandbox, s, sizeof(s)), "10.213.0.2");
	assert_string_equal(inet_ntop(AF_INET, &b.host, s, sizeof(s)), "10.213.0.5");
	assert_string_equal(inet_ntop(AF_INET, &b.sandbox, s, sizeof(s)), "10.213.0.6");
	assert_int_equal(a.prefix, 30);
	assert_string_equal(a.host_if, "slh0");
	assert_string_equal(b.host_if, "slh1");
	/* the lowest free lease is reused */
	sl_netpool_release(p, &a);
	assert_int_equal(sl_netpool_alloc(p, &a), 0);
	assert_int_equal(a.index, 0);
	sl_netpool_free(&p);
	assert_null(p);
}

static void pool_exhausts_and_take_adopts(void **state)
{
	struct sl_netpool *p = NULL;
	struct sl_netlease l;

	assert_int_equal(sl_netpool_new(&p, "192.168.7.0/28"), 0);
	assert_int_equal(sl_netpool_capacity(p), 4);
	assert_int_equal(sl_netpool_take(p, 2, &l), 0);
	assert_int_equal(sl_netpool_take(p, 2, &l), -EBUSY);
	assert_int_equal(sl_netpool_take(p, 4, &l), -ERANGE);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sl_netpool_alloc(p, &l), 0);
	assert_int_equal(sl_netpool_alloc(p, &l), -ENOSPC);
	sl_netpool_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_rejects_bad_cidrs),
		cmocka_unit_test(leases_are_disjoint_30s),
		cmocka_unit_test(pool_exhausts_and_take_adopts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
