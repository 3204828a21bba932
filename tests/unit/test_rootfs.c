// SPDX-License-Identifier: Apache-2.0
/*
 * The root template's layout (what sl_rootfs_build takes from the host and makes itself) and
 * the per-sandbox /tmp options (rootfs.c). tests/priv/test_containment.c checks the mounts
 * themselves inside a sandbox.
 */
#include "testutil.h"

#include "sandbox/rootfs-internal.h"

#include <sandlot/util.h>

#include <inttypes.h>

static bool in(const char *name, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, v[i]) == 0)
			return true;
	return false;
}

/* Host paths reach the sandbox read-only, without set-id or device nodes that work. */
static void host_paths_are_mounted_read_only(void **state)
{
	assert_true(SL_ROOTFS_HOST_ATTRS & MOUNT_ATTR_RDONLY);
	assert_true(SL_ROOTFS_HOST_ATTRS & MOUNT_ATTR_NOSUID);
	assert_true(SL_ROOTFS_HOST_ATTRS & MOUNT_ATTR_NODEV);
	/* the template's own root too; its /dev nodes (made by us) must work there */
	assert_true(SL_ROOTFS_ROOT_ATTRS & MOUNT_ATTR_RDONLY);
	assert_true(SL_ROOTFS_ROOT_ATTRS & MOUNT_ATTR_NOSUID);
	assert_false(SL_ROOTFS_ROOT_ATTRS & MOUNT_ATTR_NODEV);
}

/* Without --rootfs only the system's programs and libraries come from the host. */
static void host_entries_are_programs_and_libraries(void **state)
{
	static const char *const system[] = {"usr",   "bin",   "sbin",	"lib",
					     "lib32", "lib64", "libx32"};
	const struct sl_rootfs_layout *l = sl_rootfs_layout();

	assert_true(l->n_host_entries > 0);
	assert_true(in("usr", l->host_entries, l->n_host_entries));
	for (size_t i = 0; i < l->n_host_entries; i++)
		if (!in(l->host_entries[i], system, ARRAY_SIZE(system)))
			fail_msg("/%s of the host is in the template", l->host_entries[i]);
}

/* /dev: the five harmless devices, none that reaches memory, ports, the console or a disk. */
static void devices_are_the_harmless_five(void **state)
{
	static const struct sl_rootfs_device want[] = {{"null", 1, 3},
						       {"zero", 1, 5},
						       {"full", 1, 7},
						       {"random", 1, 8},
						       {"urandom", 1, 9}};
	const struct sl_rootfs_layout *l = sl_rootfs_layout();

	assert_int_equal(l->n_devices, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		bool found = false;

		for (size_t j = 0; j < l->n_devices; j++)
			found |= strcmp(l->devices[j].name, want[i].name) == 0 &&
				 l->devices[j].maj == want[i].maj &&
				 l->devices[j].min == want[i].min;
		if (!found)
			fail_msg("/dev/%s is not %u:%u", want[i].name, want[i].maj, want[i].min);
	}
}

/* Counts the lines of text, each with exactly fields colon-separated fields. */
static size_t table_lines(const char *text, unsigned fields)
{
	size_t lines = 0;
	unsigned colons = 0;

	for (const char *p = text; *p; p++) {
		if (*p == ':')
			colons++;
		if (*p != '\n')
			continue;
		assert_int_equal(colons, fields - 1);
		colons = 0;
		lines++;
	}
	assert_int_equal(colons, 0); /* ends with a newline */
	return lines;
}

static const char *etc_file(const char *name)
{
	const struct sl_rootfs_layout *l = sl_rootfs_layout();

	for (size_t i = 0; i < l->n_etc_files; i++)
		if (strcmp(l->etc_files[i].name, name) == 0)
			return l->etc_files[i].text;
	fail_msg("no generated /etc/%s", name);
	return NULL;
}

/* The generated /etc: well-formed, and nothing of the host's users, hosts or resolvers. */
static void generated_etc_knows_only_root_and_nobody(void **state)
{
	const char *passwd = etc_file("passwd");

	assert_int_equal(table_lines(passwd, 7), 2);
	assert_true(strncmp(passwd, "root:x:0:0:", 11) == 0);
	assert_non_null(strstr(passwd, "\nnobody:x:65534:65534:"));
	assert_int_equal(table_lines(etc_file("group"), 4), 2);
	assert_string_equal(etc_file("resolv.conf"), "");
	assert_string_equal(etc_file("hostname"), "sandlot\n");
	assert_null(strstr(etc_file("nsswitch.conf"), "dns"));
	/* localhost only: every line names it and nothing else */
	for (const char *p = etc_file("hosts"); *p; p = strchr(p, '\n') + 1) {
		const char *tab = strchr(p, '\t');

		assert_non_null(tab);
		assert_true(strncmp(tab, "\tlocalhost\n", 11) == 0);
	}
}

/* Bound from the host's /etc: single names, none holding secrets or accounts. */
static void etc_binds_hold_no_secrets(void **state)
{
	static const char *const secret[] = {"shadow",	   "gshadow", "passwd",
					     "group",	   "sudoers", "ssh",
					     "machine-id", "hosts",   "resolv.conf"};
	const struct sl_rootfs_layout *l = sl_rootfs_layout();

	for (size_t i = 0; i < l->n_etc_binds; i++) {
		const char *b = l->etc_binds[i];

		assert_null(strchr(b, '/'));
		assert_true(b[0] && b[0] != '.');
		if (in(b, secret, ARRAY_SIZE(secret)))
			fail_msg("/etc/%s of the host is bound", b);
	}
}

/* --rootfs DIR: its entries but those the sandbox gets its own of (or none). */
static void user_root_skips_kernel_and_state_dirs(void **state)
{
	static const char *const skip[] = {"proc", "dev", "sys", "tmp",	   "run",
					   "var",  ".",	  "..",	 ".hidden"};
	static const char *const keep[] = {"usr",      "etc",	  "bin",     "lib64",
					   "opt",      "home",	  "srv",     "variable",
					   "tmpfiles", "sysroot", "devices", "p"};

	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (!sl_rootfs_skipped(skip[i]))
			fail_msg("%s of --rootfs would be taken", skip[i]);
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		if (sl_rootfs_skipped(keep[i]))
			fail_msg("%s of --rootfs would be left out", keep[i]);
}

static void tmp_options_for_each_case(void **state)
{
	struct sl_rootfs_child c;

	sl_rootfs_child_init(&c, 7, 64ULL << 20, 0);
	assert_int_equal(c.code_fd, 7);
	assert_int_equal(c.tmp, SL_TMP_MOUNT);
	assert_string_equal(c.tmp_options, "size=67108864,mode=1777");
	sl_rootfs_child_init(&c, -1, 64ULL << 20, 64ULL << 20);
	assert_int_equal(c.code_fd, -1);
	assert_int_equal(c.tmp, SL_TMP_READY);
	/* a remount changes the size only (mode is not a remount option) */
	sl_rootfs_child_init(&c, -1, 128ULL << 20, 64ULL << 20);
	assert_int_equal(c.tmp, SL_TMP_RESIZE);
	assert_int_equal(c.tmp_bytes, 128ULL << 20);
	assert_string_equal(c.tmp_options, "size=134217728");
}

/* The child formats nothing: the largest size still fits the parent's buffer, uncut. */
static void tmp_options_never_cut(void **state)
{
	struct sl_rootfs_child c;
	char want[64];

	snprintf(want, sizeof(want), "size=%" PRIu64 ",mode=1777", UINT64_MAX);
	sl_rootfs_child_init(&c, -1, UINT64_MAX, 0);
	assert_string_equal(c.tmp_options, want);
	sl_rootfs_child_init(&c, -1, UINT64_MAX, 1);
	snprintf(want, sizeof(want), "size=%" PRIu64, UINT64_MAX);
	assert_string_equal(c.tmp_options, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_paths_are_mounted_read_only),
		cmocka_unit_test(host_entries_are_programs_and_libraries),
		cmocka_unit_test(devices_are_the_harmless_five),
		cmocka_unit_test(generated_etc_knows_only_root_and_nobody),
		cmocka_unit_test(etc_binds_hold_no_secrets),
		cmocka_unit_test(user_root_skips_kernel_and_state_dirs),
		cmocka_unit_test(tmp_options_for_each_case),
		cmocka_unit_test(tmp_options_never_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
