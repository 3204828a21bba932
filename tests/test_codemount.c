/*
 * The function's code at /var/task must not tell the sandbox where it lives on the host: a
 * bind mount's root field in /proc/self/mountinfo is the bound directory's path on its file
 * system (<state-dir>/code/<sha>, or `run --code DIR`). Run for real through `sandlot-agent
 * run` as root.
 */
#include "testutil.h"

#include <limits.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mountinfo_shows_no_host_path_of_the_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
