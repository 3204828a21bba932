#include "testutil.h"

#include "cgroup-host.h"

static const char hybrid_mountinfo[] =
	"22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
	"25 22 0:23 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
	"26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
	"27 25 0:25 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
	"30 25 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
	"31 25 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
	"32 25 0:30 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
	"33 22 0:31 / /mnt/with\\040space rw - ext4 /dev/x rw\n";
static const char hybrid_cgroup[] = "9:name=systemd:/\n"
				    "4:memory:/process_api/abc\n"
				    "3:cpu,cpuacct:/\n"
				    "2:pids:/\n"
				    "0::/\n";

static void detects_hybrid(void **state)
{
	struct sl_cgroup_host *h = calloc(1, sizeof(*h));
	const struct sl_cgroup_v1 *mem, *cpu;

	assert_int_equal(sl_cgroup_host_parse(hybrid_mountinfo, hybrid_cgroup, "hugetlb", h), 0);
	assert_int_equal(h->layout, SL_CGROUP_HYBRID);
	assert_string_equal(h->v2_mount, "/sys/fs/cgroup/unified");
	assert_string_equal(h->v2_self, "/");
	assert_string_equal(h->v2_self_dir, "/sys/fs/cgroup/unified");
	assert_int_equal(h->n_v1, 3); /* name=systemd carries no controller */
	mem = sl_cgroup_host_v1(h, "memory");
	assert_non_null(mem);
	assert_string_equal(mem->self_dir, "/sys/fs/cgroup/memory/process_api/abc");
	cpu = sl_cgroup_host_v1(h, "cpuacct");
	assert_non_null(cpu);
	assert_string_equal(cpu->controllers, "cpu,cpuacct");
	assert_string_equal(cpu->self_dir, "/sys/fs/cgroup/cpu,cpuacct");
	assert_null(sl_cgroup_host_v1(h, "freezer"));
	assert_true(sl_cgroup_host_v2_has(h, "hugetlb"));
	assert_false(sl_cgroup_host_v2_has(h, "memory"));
	free(h);
}

static void detects_unified(void **state)
{
	struct sl_cgroup_host *h = calloc(1, sizeof(*h));

	assert_int_equal(
		sl_cgroup_host_parse("25 22 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
				     "0::/system.slice/sandlot.service\n", "cpu memory pids", h),
		0);
	assert_int_equal(h->layout, SL_CGROUP_V2);
	assert_string_equal(h->v2_self_dir, "/sys/fs/cgroup/system.slice/sandlot.service");
	assert_true(sl_cgroup_host_v2_has(h, "memory"));
	assert_false(sl_cgroup_host_v2_has(h, "mem"));
	free(h);
}

static void handles_namespaced_root(void **state)
{
	struct sl_cgroup_host *h = calloc(1, sizeof(*h));

	/* a mount whose root is a sub-cgroup, and our cgroup below it */
	assert_int_equal(sl_cgroup_host_parse("25 22 0:23 /kube/pod1 /sys/fs/cgroup rw - cgroup2 "
					      "cgroup2 rw\n",
					      "0::/kube/pod1/ctr\n", NULL, h),
			 0);
	assert_string_equal(h->v2_self_dir, "/sys/fs/cgroup/ctr");
	/* outside the mount's root: not reachable */
	assert_int_equal(sl_cgroup_host_parse("25 22 0:23 /kube/pod1 /sys/fs/cgroup rw - cgroup2 "
					      "cgroup2 rw\n",
					      "0::/other\n", NULL, h),
			 0);
	assert_string_equal(h->v2_self_dir, "");
	free(h);
}

static void tolerates_garbage(void **state)
{
	struct sl_cgroup_host *h = calloc(1, sizeof(*h));

	assert_int_equal(sl_cgroup_host_parse("garbage\n\n - \nx y z\n", "nonsense", NULL, h), 0);
	assert_int_equal(h->layout, SL_CGROUP_NONE);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(detects_hybrid),
		cmocka_unit_test(detects_unified),
		cmocka_unit_test(handles_namespaced_root),
		cmocka_unit_test(tolerates_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
