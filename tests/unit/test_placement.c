// SPDX-License-Identifier: Apache-2.0
/* control/placement: each eligibility rule and each preference, in their order. */
#include "testutil.h"

#include <sandlot/util.h>

#include "placement.h"

/* A healthy used host of 8 GiB with a long lease, 1 GiB used by 2 sandboxes, in zone z. */
static struct sl_place_host host(const char *z)
{
	return (struct sl_place_host){
		.zone = z,
		.mem_total_mb = 8192,
		.mem_used_mb = 1024,
		.sandboxes = 2,
		.max_sandboxes = 64,
		.healthy = true,
		.lease_left_ms = 8 * 3600 * 1000LL,
	};
}

static int pick(const struct sl_place_host *h, size_t n, uint32_t mem)
{
	return sl_placement_pick(h, n, mem, NULL);
}

static void default_opts(void **state)
{
	struct sl_place_opts o;

	sl_placement_default_opts(&o);
	assert_true(o.max_platform_error_rate == 0.5);
	assert_int_equal(o.min_sample, 10);
	assert_int_equal(o.min_lease_left_ms, 60000);
	assert_int_equal(o.prefer_lease_left_ms, 600000);
	assert_int_equal(o.max_fn_mem_pct, 25);
}

static void no_host_fits_is_enospc(void **state)
{
	struct sl_place_host h[2] = {host("a"), host("a")};

	assert_int_equal(pick(NULL, 0, 128), -ENOSPC);
	assert_int_equal(pick(h, 0, 128), -ENOSPC);
	assert_int_equal(pick(h, 2, 8192), -ENOSPC); /* 7168 free each */
	assert_int_equal(pick(h, 2, 7168), 0);	     /* exactly fits */
}

static void skips_unhealthy_hosts(void **state)
{
	struct sl_place_host h[2] = {host("a"), host("a")};

	h[0].mem_used_mb = 4096; /* the better fit, but not heartbeating */
	h[0].healthy = false;
	assert_int_equal(pick(h, 2, 256), 1);
	h[1].healthy = false;
	assert_int_equal(pick(h, 2, 256), -ENOSPC);
}

static void skips_hosts_whose_lease_is_over_or_ending(void **state)
{
	struct sl_place_host h[3] = {host("a"), host("a"), host("a")};

	h[0].mem_used_mb = h[1].mem_used_mb = 4096;
	h[0].lease_left_ms = 0;
	h[1].lease_left_ms = 59999; /* under min_lease_left_ms: about to be drained */
	assert_int_equal(pick(h, 3, 256), 2);
	h[2].lease_left_ms = -5;
	assert_int_equal(pick(h, 3, 256), -ENOSPC);
	h[1].lease_left_ms = 60000;
	assert_int_equal(pick(h, 3, 256), 1);
}

static void skips_hosts_without_memory_or_sandbox_room(void **state)
{
	struct sl_place_host h[3] = {host("a"), host("a"), host("a")};

	h[0].mem_used_mb = 8000; /* 192 MB free: too little for 256 */
	h[1].mem_used_mb = 4096;
	h[1].sandboxes = h[1].max_sandboxes;
	h[2].mem_used_mb = 9000; /* over-committed: never chosen */
	assert_int_equal(pick(h, 3, 256), -ENOSPC);
	h[1].sandboxes--;
	assert_int_equal(pick(h, 3, 256), 1);
	assert_int_equal(pick(h, 3, 128), 0); /* 192 free fits 128: the fullest */
}

static void skips_hosts_failing_for_platform_reasons(void **state)
{
	struct sl_place_host h[2] = {host("a"), host("a")};

	h[0].mem_used_mb = 4096;
	h[0].recent_invokes = 20;
	h[0].recent_platform_errors = 11; /* 55% > 50% */
	assert_int_equal(pick(h, 2, 256), 1);
	h[0].recent_platform_errors = 10; /* 50%: not above the threshold */
	assert_int_equal(pick(h, 2, 256), 0);
	h[0].recent_invokes = 9; /* too few calls to judge */
	h[0].recent_platform_errors = 9;
	assert_int_equal(pick(h, 2, 256), 0);
}

static void packs_into_the_fullest_host_that_fits(void **state)
{
	struct sl_place_host h[4] = {host("a"), host("a"), host("a"), host("a")};

	h[0].mem_used_mb = 2048;
	h[1].mem_used_mb = 7900; /* fullest, but 292 free: not for 512 */
	h[2].mem_used_mb = 6144;
	h[3].mem_used_mb = 5000;
	assert_int_equal(pick(h, 4, 512), 2);
	assert_int_equal(pick(h, 4, 256), 1);
}

static void opens_an_empty_host_only_when_no_used_one_fits(void **state)
{
	struct sl_place_host h[3] = {host("a"), host("a"), host("a")};

	h[0].mem_used_mb = 0;
	h[0].sandboxes = 0;
	h[1].fn_sandboxes = 3; /* even a host with the function beats opening one */
	h[1].mem_used_mb = 4096;
	h[2].mem_used_mb = 8000;
	assert_int_equal(pick(h, 3, 256), 1);
	h[1].mem_used_mb = 8000;
	assert_int_equal(pick(h, 3, 256), 0);
}

static void spreads_a_function_to_a_zone_without_it_even_on_an_empty_host(void **state)
{
	struct sl_place_host h[3] = {host("a"), host("a"), host("b")};

	h[0].fn_sandboxes = 1;
	h[1].mem_used_mb = 6000;
	h[2].mem_used_mb = 0; /* zone b: one empty host */
	h[2].sandboxes = 0;
	assert_int_equal(pick(h, 3, 256), 2);
	h[2].fn_sandboxes = 0;
	h[2].healthy = false; /* no host of zone b can take it: back to zone a, packed */
	assert_int_equal(pick(h, 3, 256), 1);
	h[2].healthy = true;
	h[2].sandboxes = 1;
	h[2].fn_sandboxes = 1; /* both zones hold one: the host holding none of it */
	h[2].mem_used_mb = 128;
	assert_int_equal(pick(h, 3, 256), 1);
}

static void opens_an_empty_host_before_one_function_crowds_a_host(void **state)
{
	struct sl_place_host h[2] = {host("a"), host("a")};

	h[1].mem_used_mb = 0;
	h[1].sandboxes = 0;
	/* 8 GiB hosts: 7 + 1 sandboxes of 256 MB are exactly 25%, 8 + 1 are more */
	h[0].fn_sandboxes = 7;
	h[0].sandboxes = 7;
	assert_int_equal(pick(h, 2, 256), 0);
	h[0].fn_sandboxes = 8;
	h[0].sandboxes = 8;
	assert_int_equal(pick(h, 2, 256), 1);
	/* another function (none of its sandboxes there) still packs into the used host */
	h[0].fn_sandboxes = 0;
	assert_int_equal(pick(h, 2, 256), 0);
	/* with no other host, a crowded one still serves */
	h[0].fn_sandboxes = 8;
	assert_int_equal(pick(h, 1, 256), 0);
	/* a host holding other functions' sandboxes is no more crowded than an empty one */
	h[1].sandboxes = 1;
	h[1].mem_used_mb = 512;
	assert_int_equal(pick(h, 2, 256), 1);
}

static void prefers_hosts_whose_lease_outlasts_keep_alive(void **state)
{
	struct sl_place_host h[2] = {host("a"), host("a")};

	h[0].mem_used_mb = 6144;     /* the better fit ... */
	h[0].lease_left_ms = 300000; /* ... drained in 5 min */
	assert_int_equal(pick(h, 2, 256), 1);
	h[1].mem_used_mb = 8000; /* no room on the long-leased one: the short lease still serves */
	assert_int_equal(pick(h, 2, 256), 0);
}

static void spreads_a_function_over_zones(void **state)
{
	struct sl_place_host h[4] = {host("a"), host("a"), host("b"), host("c")};
	char zone_b[] = "b"; /* the same zone under another pointer */

	h[0].fn_sandboxes = 1;
	h[1].mem_used_mb = 6000; /* fullest, none of the function, but zone a holds one */
	h[2].fn_sandboxes = 1;
	h[3].mem_used_mb = 2048; /* zone c holds none */
	assert_int_equal(pick(h, 4, 256), 3);
	h[3].zone = zone_b; /* now zones a and b hold 1+0 and 1+0 ... */
	h[3].fn_sandboxes = 0;
	/* a: 1, b: 1; then the host with fewest (1 or 3), then the fullest: 1 */
	assert_int_equal(pick(h, 4, 256), 1);
}

static void spreads_a_function_over_hosts_in_a_zone(void **state)
{
	struct sl_place_host h[3] = {host("a"), host("a"), host("a")};

	h[0].fn_sandboxes = 2;
	h[0].mem_used_mb = 7000;
	h[1].fn_sandboxes = 1;
	h[1].mem_used_mb = 6000;
	h[2].fn_sandboxes = 1;
	h[2].mem_used_mb = 3000;
	assert_int_equal(pick(h, 3, 256), 1);
}

static void ties_go_to_the_lowest_index(void **state)
{
	struct sl_place_host h[3] = {host(NULL), host(NULL), host(NULL)};

	assert_int_equal(pick(h, 3, 256), 0);
	h[0].healthy = false;
	assert_int_equal(pick(h, 3, 256), 1);
}

static void ties_across_zones_go_to_the_lowest_index(void **state)
{
	struct sl_place_host h[5] = {host("b"), host("b"), host("a"), host(NULL), host("a")};

	h[0].healthy = false;
	assert_int_equal(pick(h, 5, 256), 1); /* b's best, a's best and the NULL zone's tie */
	h[1].fn_sandboxes = 1;		      /* zone b now holds one: a's best (2) wins */
	assert_int_equal(pick(h, 5, 256), 2);
	h[2].mem_used_mb = h[4].mem_used_mb = 7000; /* nearly full: 4 is a's best... */
	h[4].mem_used_mb = 7500;
	assert_int_equal(pick(h, 5, 256), 4);
	h[4].fn_sandboxes = 1; /* ...until zone a holds one too: the NULL-zone host holds none */
	assert_int_equal(pick(h, 5, 256), 3);
}

static void takes_custom_opts(void **state)
{
	struct sl_place_host h[2] = {host("a"), host("a")};
	struct sl_place_opts o;

	sl_placement_default_opts(&o);
	h[0].mem_used_mb = 4096;
	h[0].recent_invokes = 10;
	h[0].recent_platform_errors = 2;
	assert_int_equal(sl_placement_pick(h, 2, 256, &o), 0);
	o.max_platform_error_rate = 0.1;
	assert_int_equal(sl_placement_pick(h, 2, 256, &o), 1);
	o.min_sample = 11;
	assert_int_equal(sl_placement_pick(h, 2, 256, &o), 0);
	h[0].fn_sandboxes = 9; /* 10 x 256 MB: 31% of the host */
	h[1].sandboxes = 0;
	h[1].mem_used_mb = 0;
	assert_int_equal(sl_placement_pick(h, 2, 256, &o), 1);
	o.max_fn_mem_pct = 0; /* no limit */
	assert_int_equal(sl_placement_pick(h, 2, 256, &o), 0);
	o.max_fn_mem_pct = 40;
	assert_int_equal(sl_placement_pick(h, 2, 256, &o), 0);
	h[0].lease_left_ms = 100000;
	o.min_lease_left_ms = 200000;
	assert_int_equal(sl_placement_pick(h, 2, 256, &o), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_opts),
		cmocka_unit_test(no_host_fits_is_enospc),
		cmocka_unit_test(skips_unhealthy_hosts),
		cmocka_unit_test(skips_hosts_whose_lease_is_over_or_ending),
		cmocka_unit_test(skips_hosts_without_memory_or_sandbox_room),
		cmocka_unit_test(skips_hosts_failing_for_platform_reasons),
		cmocka_unit_test(packs_into_the_fullest_host_that_fits),
		cmocka_unit_test(opens_an_empty_host_only_when_no_used_one_fits),
		cmocka_unit_test(spreads_a_function_to_a_zone_without_it_even_on_an_empty_host),
		cmocka_unit_test(opens_an_empty_host_before_one_function_crowds_a_host),
		cmocka_unit_test(prefers_hosts_whose_lease_outlasts_keep_alive),
		cmocka_unit_test(spreads_a_function_over_zones),
		cmocka_unit_test(spreads_a_function_over_hosts_in_a_zone),
		cmocka_unit_test(ties_go_to_the_lowest_index),
		cmocka_unit_test(ties_across_zones_go_to_the_lowest_index),
		cmocka_unit_test(takes_custom_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
