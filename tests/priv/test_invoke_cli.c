// SPDX-License-Identifier: Apache-2.0
/*
 * `sandlot-agent invoke`: each example function (C, shell, Python; a directory and a zip)
 * invoked locally through the real binary, each failure kind with its exit status (function
 * error 1, timeout 3, init failure 4, bad usage 2 with one line), and the CPU quota of the
 * init phase lowered to the function's at the runtime's first next.
 */
#include "testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>

#include "sandbox/cgroup-host.h"

#define OUT_MAX 65536

static char out[OUT_MAX], err[OUT_MAX];

static const char *src(const char *rel)
{
	static char buf[4][512];
	static int i;
	const char *top = getenv("SANDLOT_SOURCE_DIR");

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", top ? top : ".", rel);
	return buf[i];
}

/* Runs `sandlot-agent invoke ARGS...`; returns its exit status (-1 when it did not exit). */
static int invoke(const char *const *args)
{
	const char *argv[40] = {sl_test_agent(), "invoke"};
	size_t n = 2;
	int st;

	for (; *args && n < 38; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	st = sl_test_run((char *const *)argv, out, sizeof(out), err, sizeof(err));
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect_status(const char *const *args, int want)
{
	int got = invoke(args);

	if (got != want)
		fail_msg("exit %d, expected %d\nstdout: %s\nstderr: %s", got, want, out, err);
}

static void expect_in(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' not in:\n%s\n(stderr: %s)", needle, hay, err);
}

/* A function directory made of one bootstrap script (removed by rm_dir). */
static const char *script_fn(const char *body)
{
	static char dir[64];
	char path[128];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/sl-invoke-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/bootstrap", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/bash\napi=http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime\n%s\n",
		body);
	fclose(f);
	chmod(path, 0755);
	return dir;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_dir(const char *dir)
{
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- the examples ---- */

static void example(const char *dir, const char *memory)
{
	sl_test_require_root();
	expect_status((const char *[]){"--code", dir, "--memory", memory, NULL}, 0);
}

static void python_example(void **state)
{
	FILE *f = fopen("/tmp/sl-invoke-event.json", "w");

	assert_non_null(f);
	fputs("{\"msg\": \"hello\"}", f);
	fclose(f);
	sl_test_require_root();
	expect_status((const char *[]){"--code", src("examples/python"), "--event",
				       "/tmp/sl-invoke-event.json", NULL},
		      0);
	unlink("/tmp/sl-invoke-event.json");
	expect_in(out, "{\"MSG\":\"HELLO\"}");
	expect_in(err, "REPORT RequestId: ");
	expect_in(err, "Init Duration: ");
	expect_in(err, "Memory Size: 128 MB");
}

static void shell_example(void **state)
{
	sl_test_require_root();
	expect_status((const char *[]){"--code", src("examples/shell"), "--memory", "256", "--env",
				       "GREETING=hi", NULL},
		      0);
	expect_in(out, "{}");
	expect_in(err, "Memory Size: 256 MB");
}

/* --event - reads the event from stdin. */
static void event_from_stdin(void **state)
{
	char *argv[] = {"/bin/sh",
			"-c",
			"echo '{\"msg\": \"piped\"}' | \"$0\" invoke --code \"$1\" --event -",
			(char *)sl_test_agent(),
			(char *)src("examples/python"),
			NULL};
	int st;

	sl_test_require_root();
	st = sl_test_run(argv, out, sizeof(out), err, sizeof(err));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	expect_in(out, "{\"MSG\":\"PIPED\"}");
}

static void c_example(void **state)
{
	char dir[600];

	snprintf(dir, sizeof(dir), "%s/examples/c", getenv("SANDLOT_BINARY_DIR"));
	example(dir, "1769");
	expect_in(out, "{}");
}

/* --repeat: one cold start, then the warm sandbox; --json: one object per invocation. */
static void c_example_json_repeat(void **state)
{
	char dir[600], *l2, *l3;

	sl_test_require_root();
	snprintf(dir, sizeof(dir), "%s/examples/c", getenv("SANDLOT_BINARY_DIR"));
	expect_status((const char *[]){"--code", dir, "--repeat", "3", "--json", NULL}, 0);
	l2 = strchr(out, '\n');
	assert_non_null(l2);
	l3 = strchr(l2 + 1, '\n');
	assert_non_null(l3);
	assert_string_equal(l3 + 1 + strcspn(l3 + 1, "\n"), "\n");
	*l2 = *l3 = '\0';
	expect_in(out, "\"status\":\"ok\"");
	expect_in(out, "\"init_duration_ms\"");
	expect_in(l2 + 1, "\"status\":\"ok\"");
	assert_null(strstr(l2 + 1, "init_duration_ms")); /* warm */
	assert_null(strstr(l3 + 1, "init_duration_ms"));
}

/* Writes the Python example into a zip, as an operator would package it. */
static void python_zip(const char *path)
{
	static const char *const names[] = {"bootstrap", "function.py"};
	struct archive *a = archive_write_new();
	char buf[65536];

	archive_write_set_format_zip(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (int i = 0; i < 2; i++) {
		struct archive_entry *e = archive_entry_new();
		int fd = open(src(i ? "examples/python/function.py" : "examples/python/bootstrap"),
			      O_RDONLY);
		ssize_t n;

		assert_true(fd >= 0);
		n = read(fd, buf, sizeof(buf));
		close(fd);
		assert_true(n > 0);
		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, i ? 0644 : 0755);
		archive_entry_set_size(e, n);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, buf, (size_t)n), n);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
}

static void python_zip_example(void **state)
{
	sl_test_require_root();
	python_zip("/tmp/sl-invoke-test.zip");
	expect_status((const char *[]){"--code", "/tmp/sl-invoke-test.zip", "--memory", "512",
				       "--json", NULL},
		      0);
	unlink("/tmp/sl-invoke-test.zip");
	expect_in(out, "\"status\":\"ok\"");
	expect_in(out, "\"memory_size_mb\":512");
}

/* ---- failures ---- */

static void function_error(void **state)
{
	FILE *f = fopen("/tmp/sl-invoke-fail.json", "w");

	assert_non_null(f);
	fputs("{\"fail\": true}", f);
	fclose(f);
	sl_test_require_root();
	expect_status((const char *[]){"--code", src("examples/python"), "--event",
				       "/tmp/sl-invoke-fail.json", NULL},
		      1);
	unlink("/tmp/sl-invoke-fail.json");
	expect_in(out, "\"errorType\": \"ValueError\"");
	expect_in(err, "FunctionError: Unhandled (ValueError)");
}

/* The runtime dies during an invocation: a function error, Runtime.ExitError. */
static void runtime_exit_during_invoke(void **state)
{
	const char *dir;

	sl_test_require_root();
	dir = script_fn("curl -sS \"$api/invocation/next\" >/dev/null\nexit 7");
	expect_status((const char *[]){"--code", dir, "--json", NULL}, 1);
	rm_dir(dir);
	expect_in(out, "\"status\":\"function_error\"");
	expect_in(out, "\"error_type\":\"Runtime.ExitError\"");
	expect_in(out, "exit status 7");
}

/* Past --timeout: exit 3; the next invocation cold-starts a new sandbox, as in Lambda. */
static void timeout(void **state)
{
	const char *dir;
	char *l2;

	sl_test_require_root();
	dir = script_fn("while true; do curl -sS \"$api/invocation/next\" >/dev/null; sleep 60; "
			"done");
	expect_status(
		(const char *[]){"--code", dir, "--timeout", "1", "--repeat", "2", "--json", NULL},
		3);
	rm_dir(dir);
	l2 = strchr(out, '\n');
	assert_non_null(l2);
	expect_in(out, "\"status\":\"timeout\"");
	expect_in(out, "Task timed out after 1.00 seconds");
	expect_in(l2 + 1, "\"status\":\"timeout\"");
	expect_in(l2 + 1, "\"init_duration_ms\""); /* a new sandbox */
}

static void init_error_reported(void **state)
{
	sl_test_require_root();
	expect_status((const char *[]){"--code", src("examples/python"), "--handler",
				       "no_such_module.handler", NULL},
		      4);
	expect_in(out, "No module named 'no_such_module'");
	expect_in(err, "init_error");
	/* reported once (not again when the runtime then exits), and nothing more is tried */
	expect_status((const char *[]){"--code", src("examples/python"), "--handler",
				       "no_such_module.handler", "--json", "--repeat", "3", NULL},
		      4);
	expect_in(out, "\"status\":\"init_error\"");
	expect_in(out, "\"error_type\":\"ModuleNotFoundError\"");
	assert_string_equal(strchr(out, '\n'), "\n");
}

static void init_exit(void **state)
{
	const char *dir;

	sl_test_require_root();
	dir = script_fn("exit 3");
	expect_status((const char *[]){"--code", dir, "--json", "--repeat", "5", NULL}, 4);
	rm_dir(dir);
	expect_in(out, "\"status\":\"init_error\"");
	expect_in(out, "Runtime.ExitError");
	/* one record: nothing more is tried after an init failure */
	assert_string_equal(strchr(out, '\n'), "\n");
}

static void missing_bootstrap(void **state)
{
	char dir[] = "/tmp/sl-invoke-empty-XXXXXX";

	sl_test_require_root();
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0755);
	expect_status((const char *[]){"--code", dir, NULL}, 4);
	rmdir(dir);
	expect_in(out, "Runtime.ExitError");
}

/* ---- usage ---- */

static void expect_usage(const char *const *args, const char *needle)
{
	char *nl;

	expect_status(args, 2);
	expect_in(err, needle);
	nl = strchr(err, '\n');
	assert_non_null(nl);
	assert_string_equal(nl, "\n"); /* one line */
	assert_string_equal(out, "");
}

static void bad_usage(void **state)
{
	const char *py = src("examples/python");

	expect_usage((const char *[]){NULL}, "--code");
	expect_usage((const char *[]){"--code", py, "--frobnicate", NULL}, "--frobnicate");
	expect_usage((const char *[]){"--code", "/nonexistent/fn", NULL}, "/nonexistent/fn");
	expect_usage((const char *[]){"--code", py, "--memory", "64", NULL}, "--memory");
	expect_usage((const char *[]){"--code", py, "--timeout", "20m", NULL}, "--timeout");
	expect_usage((const char *[]){"--code", py, "--repeat", "0", NULL}, "--repeat");
	expect_usage((const char *[]){"--code", py, "--env", "AWS_REGION=x", NULL}, "AWS_REGION");
	expect_usage((const char *[]){"--code", py, "--env", "novalue", NULL}, "novalue");
	expect_usage((const char *[]){"--code", py, "--event", "/etc/hostname", NULL}, "not JSON");
	expect_usage((const char *[]){"--code", "/etc/hostname", NULL}, "/etc/hostname");
	expect_usage((const char *[]){"--code", py, "--timeout", NULL}, "--timeout");
	expect_usage((const char *[]){"--code", py, "extra", NULL}, "extra");
}

static void help(void **state)
{
	expect_status((const char *[]){"--help", NULL}, 0);
	expect_in(out, "Exit status");
}

/* ---- CPU at init ---- */

/* The CPU quota of the one sandbox of agent pid, in us per 100 ms period (-1: unlimited). */
static long sandbox_quota(pid_t pid)
{
	static struct sl_cgroup_host h;
	const struct sl_cgroup_v1 *cpu;
	char dir[1100], path[1400], want[32], buf[64] = "";
	struct dirent *d;
	bool v1;
	DIR *dd;
	int fd;

	assert_int_equal(sl_cgroup_host_detect(&h), 0);
	cpu = sl_cgroup_host_v1(&h, "cpu");
	v1 = cpu && !sl_cgroup_host_v2_has(&h, "cpu");
	snprintf(dir, sizeof(dir), "%s/sandlot", v1 ? cpu->self_dir : h.v2_self_dir);
	snprintf(want, sizeof(want), "-%d-", (int)pid);
	dd = opendir(dir);
	assert_non_null(dd);
	while ((d = readdir(dd)) && !strstr(d->d_name, want))
		;
	assert_non_null(d);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, d->d_name,
		 v1 ? "cpu.cfs_quota_us" : "cpu.max");
	closedir(dd);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	return strncmp(buf, "max", 3) == 0 ? -1 : strtol(buf, NULL, 10);
}

/*
 * A function whose init takes a while and whose handler takes a while: during the init its
 * sandbox has the init budget (one CPU: 100000 us per 100 ms), after its first next the
 * 128 MB function's 72 thousandths (7200 us).
 */
static void init_cpu_budget(void **state)
{
	const char *dir;
	char *argv[] = {(char *)sl_test_agent(), "invoke", "--code", NULL, NULL};
	int st, fd;
	pid_t pid;

	sl_test_require_root();
	dir = script_fn("sleep 2; ID=$(curl -sS -D - \"$api/invocation/next\" | "
			"tr -d '\\r' | sed -n 's/^Lambda-Runtime-Aws-Request-Id: //Ip')\n"
			"sleep 2; curl -sS -d '{}' "
			"\"$api/invocation/$ID/response\"");
	argv[3] = (char *)dir;
	pid = fork();
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	sleep(1); /* in the init's sleep */
	assert_int_equal(sandbox_quota(pid), 100000);
	sleep(2); /* past the first next, in the handler's sleep */
	assert_int_equal(sandbox_quota(pid), 7200);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	rm_dir(dir);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(help),
		cmocka_unit_test(bad_usage),
		cmocka_unit_test(python_example),
		cmocka_unit_test(shell_example),
		cmocka_unit_test(event_from_stdin),
		cmocka_unit_test(c_example),
		cmocka_unit_test(c_example_json_repeat),
		cmocka_unit_test(python_zip_example),
		cmocka_unit_test(function_error),
		cmocka_unit_test(runtime_exit_during_invoke),
		cmocka_unit_test(timeout),
		cmocka_unit_test(init_error_reported),
		cmocka_unit_test(init_exit),
		cmocka_unit_test(missing_bootstrap),
		cmocka_unit_test(init_cpu_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
