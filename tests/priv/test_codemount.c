// SPDX-License-Identifier: Apache-2.0
/*
 * The function's code at /var/task, and the root given with --rootfs, must not tell the
 * sandbox where they live on the host: a bind mount's root field in /proc/self/mountinfo is
 * the bound directory's path on its file system (<state-dir>/code/<sha>, `run --code DIR`,
 * `run --rootfs DIR`). Run for real through `sandlot-agent run` as root.
 */
#include "testutil.h"

#include <sandlot/util.h>

#include <limits.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define OUT_MAX 65536

static char out[OUT_MAX], err[4096];

/* Field n (1-based) of a mountinfo line, into ret. */
static void field(const char *line, int n, char *ret, size_t len)
{
	const char *p = line;

	for (int i = 1; i < n && p; i++) {
		p = strchr(p, ' ');
		p = p ? p + 1 : NULL;
	}
	snprintf(ret, len, "%.*s", p ? (int)strcspn(p, " \n") : 0, p ? p : "");
}

static void mountinfo_shows_no_host_path_of_the_code(void **state)
{
	char dir[] = "/tmp/sandlot-test-codemount-XXXXXX", code[PATH_MAX], file[PATH_MAX + 16];
	char root[PATH_MAX], mp[PATH_MAX];
	const char *argv[] = {sl_test_agent(),
			      "run",
			      "--code",
			      code,
			      "--",
			      "/bin/sh",
			      "-c",
			      "cat /proc/self/mountinfo; cat /var/task/hello",
			      NULL};
	bool seen = false;
	FILE *f;
	int status;

	sl_test_require_root();
	assert_non_null(mkdtemp(dir));
	snprintf(code, sizeof(code), "%s/function-code", dir);
	assert_int_equal(mkdir(code, 0755), 0);
	snprintf(file, sizeof(file), "%s/hello", code);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("hello from the code\n", f);
	fclose(f);
	status = sl_test_run((char *const *)argv, out, sizeof(out), err, sizeof(err));
	unlink(file);
	rmdir(code);
	rmdir(dir);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("run failed (status %d): %s %s", status, out, err);
	assert_non_null(strstr(out, "hello from the code"));
	for (char *line = out; line && *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (strstr(line, "sandlot-test-codemount") || strstr(line, "function-code"))
			fail_msg("the code's host path shows: %s", line);
		field(line, 5, mp, sizeof(mp));
		if (strcmp(mp, "/var/task") == 0) {
			field(line, 4, root, sizeof(root));
			assert_string_equal(root, "/");
			seen = true;
		}
		line = nl ? nl + 1 : NULL;
	}
	assert_true(seen);
}

/*
 * The same for `run --rootfs DIR`: every directory of DIR was a bind showing DIR/<entry>. DIR
 * gets its usr (a bind of the host's /usr) in a mount namespace of this test's own, so no
 * mount of it is left on the host whatever happens. Below /tmp on purpose: the template's
 * builder assembles the root on a tmpfs it mounts there, which must not hide DIR.
 */
static void mountinfo_shows_no_host_path_of_the_rootfs(void **state)
{
	static const char *const links[] = {"bin", "sbin", "lib", "lib64"};
	char dir[] = "/tmp/sandlot-test-rootfs-XXXXXX", path[PATH_MAX], target[PATH_MAX];
	const char *argv[] = {sl_test_agent(),	      "run", "--rootfs", dir, "--", "/bin/cat",
			      "/proc/self/mountinfo", NULL};
	int status, usr_mounts = 0, data_mounts = 0;

	sl_test_require_root();
	assert_int_equal(unshare(CLONE_NEWNS), 0);
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/usr", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(mount("/usr", path, NULL, MS_BIND | MS_REC, NULL), 0);
	snprintf(path, sizeof(path), "%s/data", dir); /* a directory of DIR's own file system */
	assert_int_equal(mkdir(path, 0755), 0);
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		char src[32];
		ssize_t n;

		snprintf(src, sizeof(src), "/%s", links[i]);
		n = readlink(src, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, links[i]);
		assert_int_equal(symlink(target, path), 0);
	}
	status = sl_test_run((char *const *)argv, out, sizeof(out), err, sizeof(err));
	snprintf(path, sizeof(path), "%s/usr", dir);
	umount2(path, MNT_DETACH);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/data", dir);
	rmdir(path);
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, links[i]);
		unlink(path);
	}
	rmdir(dir);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("run failed (status %d): %s %s", status, out, err);
	for (char *line = out; line && *line;) {
		char *nl = strchr(line, '\n');
		char mp[PATH_MAX];

		if (nl)
			*nl = '\0';
		if (strstr(line, "sandlot-test-rootfs"))
			fail_msg("the root's host path shows: %s", line);
		field(line, 5, mp, sizeof(mp));
		usr_mounts += strcmp(mp, "/usr") == 0;
		data_mounts += strcmp(mp, "/data") == 0;
		line = nl ? nl + 1 : NULL;
	}
	assert_int_equal(usr_mounts, 1);
	assert_int_equal(data_mounts, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mountinfo_shows_no_host_path_of_the_code),
		cmocka_unit_test(mountinfo_shows_no_host_path_of_the_rootfs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
