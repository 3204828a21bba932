// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"

#include "sandbox/cgroup-host.h"

#include <sandlot/util.h>

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

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

/* The whole of a file, NUL-terminated (tests: small proc files). */
static char *slurp(const char *path)
{
	static char buf[256 * 1024];

	assert_true(sl_read_file(path, buf, sizeof(buf)) >= 0);
	return strdup(buf);
}

static void assert_same_host(const struct sl_cgroup_host *a, const struct sl_cgroup_host *b)
{
	assert_int_equal(a->layout, b->layout);
	assert_string_equal(a->v2_mount, b->v2_mount);
	assert_string_equal(a->v2_self, b->v2_self);
	assert_string_equal(a->v2_self_dir, b->v2_self_dir);
	assert_int_equal(a->n_v1, b->n_v1);
	for (size_t i = 0; i < a->n_v1; i++) {
		const struct sl_cgroup_v1 *x = &a->v1[i];
		const struct sl_cgroup_v1 *y = sl_cgroup_host_v1(b, x->controllers);

		assert_non_null(y);
		assert_string_equal(x->controllers, y->controllers);
		assert_string_equal(x->mount, y->mount);
		assert_string_equal(x->self, y->self);
		assert_string_equal(x->self_dir, y->self_dir);
	}
}

/* On this host: the fast path and the mountinfo parse describe the same layout. */
static void fast_path_matches_mountinfo(void **state)
{
	struct sl_cgroup_host *fast = calloc(1, sizeof(*fast)), *slow = calloc(1, sizeof(*slow));
	char *mi, *cg;
	int r;

	sl_test_require_root();
	mi = slurp("/proc/self/mountinfo");
	cg = slurp("/proc/self/cgroup");
	r = sl_cgroup_host_detect_at("/sys/fs/cgroup", cg, fast);
	assert_int_equal(sl_cgroup_host_parse(mi, cg, NULL, slow), 0);
	if (r == -EAGAIN && slow->layout != SL_CGROUP_V2 && slow->layout != SL_CGROUP_HYBRID) {
		fprintf(stderr, "SKIP: host layout %s has no fast path\n",
			sl_cgroup_layout_name(slow->layout));
		skip();
	}
	assert_int_equal(r, 0);
	assert_same_host(fast, slow);
	/* and what detect returns is the same again, controllers included */
	assert_int_equal(sl_cgroup_host_detect(fast), 0);
	assert_same_host(fast, slow);
	free(mi);
	free(cg);
	free(fast);
	free(slow);
}

/*
 * The tests below build layouts in a private mount namespace (this test process's own, with
 * a tmpfs over /tmp), so nothing of them is seen outside or left behind.
 */
#define SUB_PREFIX "sandlot-test-cghost-"

static char own_v2[2048]; /* this process's v2 cgroup ("0::" of /proc/self/cgroup) */

/* Removes sub-cgroups a killed earlier run of this test left in the v2 hierarchy. */
static void remove_stale(const char *v2_dir)
{
	DIR *d = opendir(v2_dir);
	struct dirent *de;
	char path[4096];

	while (d && (de = readdir(d)))
		if (strncmp(de->d_name, SUB_PREFIX, strlen(SUB_PREFIX)) == 0) {
			snprintf(path, sizeof(path), "%s/%s", v2_dir, de->d_name);
			rmdir(path);
		}
	if (d)
		closedir(d);
}

static int private_mounts(void **state)
{
	struct sl_cgroup_host *h;

	if (geteuid() != 0)
		return 0;
	h = calloc(1, sizeof(*h));
	if (h && sl_cgroup_host_detect(h) == 0 && h->v2_self_dir[0]) {
		remove_stale(h->v2_self_dir);
		snprintf(own_v2, sizeof(own_v2), "%s", h->v2_self);
	}
	free(h);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("sl-cghost", "/tmp", "tmpfs", 0, "mode=0700") < 0)
		return -1;
	return 0;
}

static void mount_at(const char *path, const char *type, const char *opts)
{
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(mount("sl-cghost", path, type, 0, opts), 0);
}

/* A v1 hierarchy; skips the test where the controller is on cgroup2 (a pure v2 host). */
static void mount_v1(const char *path, const char *controller)
{
	assert_int_equal(mkdir(path, 0755), 0);
	if (mount("sl-cghost", path, "cgroup", 0, controller) < 0) {
		fprintf(stderr, "SKIP: cannot mount v1 %s here: %s\n", controller, strerror(errno));
		skip();
	}
}

static void fast_path_pure_v2(void **state)
{
	struct sl_cgroup_host *h = calloc(1, sizeof(*h));

	sl_test_require_root();
	mount_at("/tmp/v2", "cgroup2", NULL);
	assert_int_equal(sl_cgroup_host_detect_at("/tmp/v2", "0::/\n", h), 0);
	assert_int_equal(h->layout, SL_CGROUP_V2);
	assert_string_equal(h->v2_mount, "/tmp/v2");
	assert_string_equal(h->v2_self_dir, "/tmp/v2");
	assert_int_equal(h->n_v1, 0);
	/* a named v1 hierarchy carries no controller: still pure v2 */
	assert_int_equal(sl_cgroup_host_detect_at("/tmp/v2", "1:name=systemd:/\n0::/a/b\n", h), 0);
	assert_int_equal(h->layout, SL_CGROUP_V2);
	assert_string_equal(h->v2_self_dir, "/tmp/v2/a/b");
	/* a v1 controller on a host whose cgroup2 sits at the base: not the usual layout */
	assert_int_equal(sl_cgroup_host_detect_at("/tmp/v2", "4:memory:/\n0::/\n", h), -EAGAIN);
	assert_int_equal(h->layout, SL_CGROUP_V2); /* untouched */
	assert_int_equal(umount("/tmp/v2"), 0);
	free(h);
}

static void fast_path_hybrid(void **state)
{
	struct sl_cgroup_host *h = calloc(1, sizeof(*h));
	const struct sl_cgroup_v1 *mem;

	sl_test_require_root();
	mount_at("/tmp/h", "tmpfs", NULL);
	mount_at("/tmp/h/unified", "cgroup2", NULL);
	mount_v1("/tmp/h/memory", "memory");
	mount_v1("/tmp/h/pids", "pids");
	assert_int_equal(sl_cgroup_host_detect_at("/tmp/h",
						  "9:name=systemd:/\n8:pids:/\n"
						  "4:memory:/process_api/x\n0::/\n",
						  h),
			 0);
	assert_int_equal(h->layout, SL_CGROUP_HYBRID);
	assert_string_equal(h->v2_mount, "/tmp/h/unified");
	assert_string_equal(h->v2_self_dir, "/tmp/h/unified");
	assert_int_equal(h->n_v1, 2);
	assert_string_equal(h->v1[0].controllers, "memory"); /* hierarchy ids ascending */
	mem = sl_cgroup_host_v1(h, "memory");
	assert_non_null(mem);
	assert_string_equal(mem->mount, "/tmp/h/memory");
	assert_string_equal(mem->self, "/process_api/x");
	assert_string_equal(mem->self_dir, "/tmp/h/memory/process_api/x");
	assert_string_equal(sl_cgroup_host_v1(h, "pids")->self_dir, "/tmp/h/pids");
	free(h);
}

/* Anything unusual: -EAGAIN, so that detect parses mountinfo. Runs after fast_path_hybrid. */
static void fast_path_falls_back(void **state)
{
	struct sl_cgroup_host *h = calloc(1, sizeof(*h));
	char sub[sizeof(own_v2) + 64];

	sl_test_require_root();
	if (access("/tmp/h/pids/cgroup.procs", F_OK) < 0)
		skip(); /* fast_path_hybrid could not build its layout (it says why) */
	/* a v1 hierarchy of ours not mounted where expected */
	assert_int_equal(sl_cgroup_host_detect_at("/tmp/h", "3:cpuset:/\n0::/\n", h), -EAGAIN);
	/* the same hierarchy under two names (a bind mount) */
	assert_int_equal(mount("/tmp/h/pids", "/tmp/h/memory", NULL, MS_BIND, NULL), 0);
	assert_int_equal(sl_cgroup_host_detect_at("/tmp/h", "8:pids:/\n4:memory:/\n0::/\n", h),
			 -EAGAIN);
	assert_int_equal(umount("/tmp/h/memory"), 0);
	/* a mount that shows a sub-cgroup (a real one of ours: removed below, and by the next
	 * run's setup if this one dies), not its hierarchy's root */
	snprintf(sub, sizeof(sub), "/tmp/h/unified%s/" SUB_PREFIX "%d",
		 strcmp(own_v2, "/") == 0 ? "" : own_v2, (int)getpid());
	assert_int_equal(mkdir(sub, 0755), 0);
	mount_at("/tmp/sub", "tmpfs", NULL);
	assert_int_equal(mkdir("/tmp/sub/unified", 0755), 0);
	assert_int_equal(mkdir("/tmp/sub/memory", 0755), 0);
	assert_int_equal(mount(sub, "/tmp/sub/unified", NULL, MS_BIND, NULL), 0);
	assert_int_equal(mount("/tmp/h/memory", "/tmp/sub/memory", NULL, MS_BIND, NULL), 0);
	assert_int_equal(sl_cgroup_host_detect_at("/tmp/sub", "4:memory:/\n0::/\n", h), -EAGAIN);
	assert_int_equal(umount("/tmp/sub/unified"), 0);
	assert_int_equal(rmdir(sub), 0);
	/* cgroup2 beside nothing, and no cgroup file system at all */
	assert_int_equal(sl_cgroup_host_detect_at("/tmp/h", "0::/\n", h), -EAGAIN);
	assert_int_equal(sl_cgroup_host_detect_at("/tmp", "0::/\n", h), -EAGAIN);
	/* no v2 line in /proc/self/cgroup */
	assert_int_equal(sl_cgroup_host_detect_at("/tmp/h", "4:memory:/\n", h), -EAGAIN);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(detects_hybrid),
		cmocka_unit_test(detects_unified),
		cmocka_unit_test(handles_namespaced_root),
		cmocka_unit_test(tolerates_garbage),
		cmocka_unit_test(fast_path_matches_mountinfo),
		cmocka_unit_test(fast_path_pure_v2),
		cmocka_unit_test(fast_path_hybrid),
		cmocka_unit_test(fast_path_falls_back),
	};
	return cmocka_run_group_tests(tests, private_mounts, NULL);
}
