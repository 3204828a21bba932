// SPDX-License-Identifier: Apache-2.0
/* The rlimits a sandbox gets and how each is fitted under the caller's hard limits (creds.c). */
#include "testutil.h"

#include "sandbox/creds-internal.h"

#include <sandlot/util.h>

#define INF RLIM_INFINITY
#define MiB (1ULL << 20)

static const struct sl_creds_limit *find(const struct sl_creds_limit *v, size_t n, int res)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].res == res)
			return &v[i];
	fail_msg("rlimit %d is not set", res);
	return NULL;
}

/* docs/run.md: "every rlimit set afresh": none is left as the agent had it. */
static void every_rlimit_set_once(void **state)
{
	struct sl_creds c = {.uid = 100000, .gid = 100000, .nofile = 1024};
	struct sl_creds_limit v[SL_CREDS_LIMITS];
	unsigned seen[RLIMIT_NLIMITS] = {0};
	size_t n = sl_creds_limits(&c, v);

	assert_int_equal(n, RLIMIT_NLIMITS);
	for (size_t i = 0; i < n; i++) {
		assert_in_range(v[i].res, 0, RLIMIT_NLIMITS - 1);
		seen[v[i].res]++;
		assert_true(v[i].cur == INF || v[i].max == INF || v[i].cur <= v[i].max);
	}
	for (int res = 0; res < RLIMIT_NLIMITS; res++)
		if (seen[res] != 1)
			fail_msg("rlimit %d set %u times", res, seen[res]);
}

static void configured_limits_are_exact(void **state)
{
	struct sl_creds c = {.nofile = 4096, .core_bytes = 0};
	struct sl_creds_limit v[SL_CREDS_LIMITS];
	size_t n = sl_creds_limits(&c, v);
	const struct sl_creds_limit *l;

	l = find(v, n, RLIMIT_NOFILE);
	assert_true(l->exact && l->cur == 4096 && l->max == 4096);
	l = find(v, n, RLIMIT_CORE);
	assert_true(l->exact && l->cur == 0 && l->max == 0); /* no core dumps */
	for (size_t i = 0; i < n; i++)
		if (v[i].res != RLIMIT_NOFILE && v[i].res != RLIMIT_CORE && v[i].exact)
			fail_msg("rlimit %d would fail where the agent's hard limit is lower",
				 v[i].res);
}

/* The bounds where the rlimit is the only one (per uid, the sandbox's own) and no priority. */
static void fixed_bounds(void **state)
{
	struct sl_creds c = {.nofile = 1024};
	struct sl_creds_limit v[SL_CREDS_LIMITS];
	size_t n = sl_creds_limits(&c, v);
	const struct sl_creds_limit *l;

	l = find(v, n, RLIMIT_NICE);
	assert_true(l->cur == 0 && l->max == 0);
	l = find(v, n, RLIMIT_RTPRIO);
	assert_true(l->cur == 0 && l->max == 0);
	l = find(v, n, RLIMIT_MEMLOCK);
	assert_true(l->cur == 8 * MiB && l->max == 8 * MiB);
	l = find(v, n, RLIMIT_SIGPENDING);
	assert_true(l->cur == 4096 && l->max == 4096);
	l = find(v, n, RLIMIT_MSGQUEUE);
	assert_true(l->cur == 819200 && l->max == 819200);
	l = find(v, n, RLIMIT_STACK); /* soft only: a program may raise it */
	assert_true(l->cur == 8 * MiB && l->max == INF);
	l = find(v, n, RLIMIT_NPROC); /* the pids cgroup bounds it */
	assert_true(l->cur == INF && l->max == INF);
}

/* Without CAP_SYS_RESOURCE a hard limit cannot be raised: never asked for, but when exact. */
static void fit_never_raises_a_hard_limit(void **state)
{
	static const rlim_t hard[] = {0, 1000, 4 * MiB, 16 * MiB, INF};
	struct sl_creds c = {.nofile = 1024};
	struct sl_creds_limit v[SL_CREDS_LIMITS];
	size_t n = sl_creds_limits(&c, v);

	for (size_t h = 0; h < ARRAY_SIZE(hard); h++) {
		for (size_t i = 0; i < n; i++) {
			struct rlimit r = sl_creds_limit_fit(&v[i], (struct rlimit){0, hard[h]});

			assert_true(r.rlim_cur == INF ? r.rlim_max == INF
						      : r.rlim_cur <= r.rlim_max);
			if (v[i].exact) {
				assert_true(r.rlim_max == v[i].max && r.rlim_cur == v[i].cur);
				continue;
			}
			assert_true(r.rlim_max <= hard[h] || hard[h] == INF);
			if (v[i].max == INF) /* as high as we have */
				assert_true(r.rlim_max == hard[h]);
		}
	}
}

static void fit_caps_and_keeps(void **state)
{
	struct sl_creds_limit stack = {RLIMIT_STACK, 8 * MiB, INF, false};
	struct sl_creds_limit memlock = {RLIMIT_MEMLOCK, 8 * MiB, 8 * MiB, false};
	struct sl_creds_limit nofile = {RLIMIT_NOFILE, 65536, 65536, true};
	struct rlimit r;

	r = sl_creds_limit_fit(&stack, (struct rlimit){INF, INF});
	assert_true(r.rlim_cur == 8 * MiB && r.rlim_max == INF);
	r = sl_creds_limit_fit(&stack, (struct rlimit){1 * MiB, 4 * MiB}); /* soft above hard */
	assert_true(r.rlim_cur == 4 * MiB && r.rlim_max == 4 * MiB);
	r = sl_creds_limit_fit(&memlock, (struct rlimit){64 * MiB, 64 * MiB}); /* lowered */
	assert_true(r.rlim_cur == 8 * MiB && r.rlim_max == 8 * MiB);
	/* exact: asked as configured, the kernel then refuses (the spawn fails, not the limit) */
	r = sl_creds_limit_fit(&nofile, (struct rlimit){1024, 4096});
	assert_true(r.rlim_cur == 65536 && r.rlim_max == 65536);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_rlimit_set_once),
		cmocka_unit_test(configured_limits_are_exact),
		cmocka_unit_test(fixed_bounds),
		cmocka_unit_test(fit_never_raises_a_hard_limit),
		cmocka_unit_test(fit_caps_and_keeps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
