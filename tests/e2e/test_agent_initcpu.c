// SPDX-License-Identifier: Apache-2.0
/*
 * The daemon's CPU at init, as in Lambda: from the spawn until the runtime's first next a
 * sandbox has the init budget (--init-cpus, one CPU by default), then its memory's share
 * (128 MB: 72 thousandths, 7200 us per 100 ms period). A real sandlot-agent against the test
 * control node; needs root.
 */
#include "testutil.h"

#include "agenttest.h"
#include "sandbox/cgroup-host.h"

#include <fcntl.h>
#include <libgen.h>

/* Waits 2 s before its first next, then parks there. */
#define SLOW_INIT                                         \
	"#!/bin/sh\nsleep 2\nexec curl -sS -o /dev/null " \
	"http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/next\n"

/* The CPU quota of the sandbox whose v2 cgroup is v2dir, in us per period (-1: none). */
static long quota_of(const char *v2dir)
{
	static struct sl_cgroup_host h;
	const struct sl_cgroup_v1 *cpu;
	char name[256], path[1400], buf[64] = "";
	int fd;

	assert_int_equal(sl_cgroup_host_detect(&h), 0);
	cpu = sl_cgroup_host_v1(&h, "cpu");
	snprintf(name, sizeof(name), "%s", strrchr(v2dir, '/') + 1);
	if (cpu && !sl_cgroup_host_v2_has(&h, "cpu"))
		snprintf(path, sizeof(path), "%s/sandlot/%s/cpu.cfs_quota_us", cpu->self_dir, name);
	else
		snprintf(path, sizeof(path), "%s/cpu.max", v2dir);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	return strncmp(buf, "max", 3) == 0 ? -1 : strtol(buf, NULL, 10);
}

/* Quotas of a 128 MB sandbox during its init and after its first next. */
static void quotas(struct fx *f, long *ret_init, long *ret_after)
{
	char cg[1200];

	assert_true(peer_create(f->p, "ic", "ic", pkg_script(f->p, SLOW_INIT), "", 128, 10000) > 0);
	expect_event(f, "ic", SL_SANDBOX_CREATED, 0);
	assert_int_equal(peer_sandbox_cgroup(f->p, "ic", cg, sizeof(cg)), 0);
	*ret_init = quota_of(cg); /* in the bootstrap's sleep */
	expect_event(f, "ic", SL_SANDBOX_IDLE, 0);
	*ret_after = quota_of(cg);
}

static void init_budget_until_first_next(void **state)
{
	long init, after;

	fx_start(*state, NULL);
	quotas(*state, &init, &after);
	assert_int_equal(init, 100000); /* one CPU */
	assert_int_equal(after, 7200);
}

static void init_budget_off(void **state)
{
	long init, after;

	fx_start(*state, "--init-cpus", "0", NULL);
	quotas(*state, &init, &after);
	assert_int_equal(init, 7200);
	assert_int_equal(after, 7200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(init_budget_until_first_next, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(init_budget_off, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
