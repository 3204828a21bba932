// SPDX-License-Identifier: Apache-2.0
/*
 * `sandlot-agent run` as its caller sees it: a root file system anywhere (/tmp included),
 * the exit statuses (124 timeout, 125 set-up, 126/127 as a shell), --json on a set-up failure,
 * the timeout's SIGTERM before SIGKILL, and one line on stderr for a timeout or an OOM kill.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "testutil.h"

#define OUT_MAX 65536

struct result {
	int status; /* exit status, -1 when not exited */
	char out[OUT_MAX], err[OUT_MAX];
};

/* Runs `sandlot-agent run ARGS...` (NULL-terminated). */
static struct result *run(const char *arg, ...)
{
	const char *argv[64] = {sl_test_agent(), "run"};
	struct result *r = calloc(1, sizeof(*r));
	size_t n = 2;
	va_list ap;
	int st;

	assert_non_null(r);
	va_start(ap, arg);
	for (; arg && n < 63; arg = va_arg(ap, const char *))
		argv[n++] = arg;
	va_end(ap);
	argv[n] = NULL;
	st = sl_test_run((char *const *)argv, r->out, sizeof(r->out), r->err, sizeof(r->err));
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return r;
}

static void assert_one_line_with(const char *err, const char *needle)
{
	if (!strstr(err, needle))
		fail_msg("stderr does not say '%s': %s", needle, err);
	const char *line = strstr(err, needle);
	while (line > err && line[-1] != '\n')
		line--;
	if (!strchr(line, '\n'))
		fail_msg("no end of line after '%s'", needle);
}

static json_t *json_of(const struct result *r)
{
	json_error_t e;
	json_t *j = json_loads(r->out, 0, &e);

	if (!j)
		fail_msg("stdout is not one JSON object (%s): %s", e.text, r->out);
	return j;
}

static char rootfs[64];
static const char *const links[][2] = {
	{"bin", "usr/bin"}, {"lib", "usr/lib"}, {"lib64", "usr/lib64"}};

/* Entry by entry: never a recursive removal next to a bind of the host's /usr. */
static int remove_rootfs(void **state)
{
	char path[128];

	if (!rootfs[0])
		return 0;
	snprintf(path, sizeof(path), "%s/usr", rootfs);
	(void)umount2(path, MNT_DETACH);
	(void)rmdir(path);
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", rootfs, links[i][0]);
		(void)unlink(path);
	}
	return rmdir(rootfs) < 0 ? -1 : 0;
}

/*
 * A root under /tmp, which the sandbox's own /tmp used to hide from the template's builder: the
 * host's /usr bound read-only into it, in a mount namespace of this test's own (nothing of it
 * outlives the test process).
 */
static void rootfs_under_tmp(void **state)
{
	char usr[128], path[128];

	sl_test_require_root();
	assert_int_equal(unshare(CLONE_NEWNS), 0);
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	snprintf(rootfs, sizeof(rootfs), "/tmp/sl-rootfs-XXXXXX");
	assert_non_null(mkdtemp(rootfs));
	snprintf(usr, sizeof(usr), "%s/usr", rootfs);
	assert_int_equal(mkdir(usr, 0755), 0);
	assert_int_equal(mount("/usr", usr, NULL, MS_BIND | MS_REC, NULL), 0);
	assert_int_equal(mount(NULL, usr, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", rootfs, links[i][0]);
		assert_int_equal(symlink(links[i][1], path), 0);
	}
	struct result *r =
		run("--rootfs", rootfs, "--", "/bin/sh", "-c", "echo from-the-rootfs", NULL);
	if (r->status != 0 || strcmp(r->out, "from-the-rootfs\n") != 0)
		fail_msg("status %d, stdout '%s', stderr '%s'", r->status, r->out, r->err);
	free(r);
}

static void not_executable_is_126_not_found_127(void **state)
{
	sl_test_require_root();
	struct result *r = run("--", "/etc/passwd", NULL);
	assert_int_equal(r->status, 126);
	assert_one_line_with(r->err, "/etc/passwd: cannot execute");
	free(r);
	r = run("--", "/no/such/cmd", NULL);
	assert_int_equal(r->status, 127);
	assert_one_line_with(r->err, "/no/such/cmd: command not found");
	free(r);
}

/* The TERM trap runs (its output is there), the status says timeout, stderr says so once. */
static void timeout_sends_term_first(void **state)
{
	sl_test_require_root();
	struct result *r = run("--timeout", "0.3s", "--", "/bin/sh", "-c",
			       "trap 'echo trapped; exit 3' TERM; sleep 30 & wait", NULL);
	assert_int_equal(r->status, 124);
	assert_string_equal(r->out, "trapped\n");
	assert_one_line_with(r->err, "timed out after 0.3s: sent SIGTERM\n");
	free(r);
}

static void timeout_kills_after_grace(void **state)
{
	sl_test_require_root();
	struct result *r =
		run("--json", "--timeout", "250ms", "--kill-after", "0.2s", "--", "/bin/sh", "-c",
		    "trap 'echo ignored' TERM; while :; do sleep 0.05; done", NULL);
	char *nl = strchr(r->out, '\n');
	assert_non_null(nl);
	assert_true(strncmp(r->out, "ignored\n", 8) == 0);
	/* the JSON object is the last line */
	memmove(r->out, strrchr(r->out, '{'), strlen(strrchr(r->out, '{')) + 1);
	json_t *j = json_of(r);
	assert_int_equal(r->status, 124);
	assert_true(json_is_true(json_object_get(j, "timed_out")));
	assert_int_equal(json_integer_value(json_object_get(j, "signal")), SIGKILL);
	json_decref(j);
	free(r);
	r = run("--timeout", "250ms", "--kill-after", "200ms", "--", "/bin/sh", "-c",
		"trap '' TERM; while :; do sleep 0.05; done", NULL);
	assert_int_equal(r->status, 124);
	assert_one_line_with(r->err, "sent SIGTERM, then SIGKILL 0.2s later\n");
	free(r);
}

static void oom_kill_is_said(void **state)
{
	sl_test_require_root();
	struct result *r = run("--memory", "16M", "--", "/bin/sh", "-c",
			       "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo ${#x}", NULL);
	assert_one_line_with(r->err, "out of memory: ");
	assert_one_line_with(r->err, "at the 16 MiB limit\n");
	free(r);
}

/* A failure before any sandbox exists: 125, and --json still prints an object. */
static void setup_failure_before_spawn_is_125_with_json(void **state)
{
	sl_test_require_root();
	setenv("SANDLOT_NET_POOL", "10.213.0.0/31", 1); /* too small for one /30 */
	struct result *r = run("--json", "--net", "egress", "--", "/bin/true", NULL);
	unsetenv("SANDLOT_NET_POOL");
	assert_int_equal(r->status, 125);
	json_t *j = json_of(r);
	assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 125);
	assert_true(json_is_string(json_object_get(j, "error")));
	assert_true(json_is_string(json_object_get(j, "setup_step")));
	json_decref(j);
	assert_one_line_with(r->err, "sandbox set-up failed at '");
	free(r);
}

/* Makes sethostname(2) fail with EPERM in this process and all it starts from now on. */
static void deny_sethostname(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sethostname, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	assert_int_equal(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
}

/*
 * A set-up step failing in the child (sethostname, denied by the caller's own seccomp filter)
 * reaches the user as that step, exit 125, and not as "sandbox spawn: Broken pipe". Last: the
 * filter stays on this process.
 */
static void child_setup_failure_names_its_step(void **state)
{
	sl_test_require_root();
	deny_sethostname();
	for (int json = 0; json < 2; json++) {
		struct result *r = json ? run("--json", "--", "/bin/true", NULL)
					: run("--", "/bin/true", NULL);
		if (r->status != 125 || !strstr(r->err, "set-up failed at 'sethostname'"))
			fail_msg("status %d, stderr: %s", r->status, r->err);
		assert_one_line_with(r->err, "Operation not permitted");
		if (json) {
			json_t *j = json_of(r);
			assert_string_equal(json_string_value(json_object_get(j, "setup_step")),
					    "sethostname");
			assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 125);
			json_decref(j);
		}
		free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(rootfs_under_tmp, remove_rootfs),
		cmocka_unit_test(not_executable_is_126_not_found_127),
		cmocka_unit_test(timeout_sends_term_first),
		cmocka_unit_test(timeout_kills_after_grace),
		cmocka_unit_test(oom_kill_is_said),
		cmocka_unit_test(setup_failure_before_spawn_is_125_with_json),
		cmocka_unit_test(child_setup_failure_names_its_step),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
