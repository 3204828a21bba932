// SPDX-License-Identifier: Apache-2.0
/*
 * --version of every binary names the version and, built from a git checkout, the commit; an
 * installed sandlot-agent finds sandlot-agentd in ../libexec/sandlot.
 */
#include "testutil.h"

#include <sandlot/version.h>

#include <limits.h>
#include <sys/stat.h>

/* sandlot-agentd is built next to sandlot-agent. */
static void agentd_path(char *buf, size_t len)
{
	const char *agent = sl_test_agent();
	const char *slash = strrchr(agent, '/');

	snprintf(buf, len, "%.*s/sandlot-agentd", slash ? (int)(slash - agent) : 1,
		 slash ? agent : ".");
}

static void assert_prints(const char *bin, const char *arg, const char *want)
{
	char *argv[] = {(char *)bin, (char *)arg, NULL};
	char out[4096], err[4096];
	int st = sl_test_run(argv, out, sizeof(out), err, sizeof(err));

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_string_equal(out, want);
}

static void agent_prints_version_and_commit(void **state)
{
	const char *want = "sandlot-agent " SANDLOT_VERSION_FULL "\n";

	assert_prints(sl_test_agent(), "--version", want);
	assert_prints(sl_test_agent(), "-V", want);
}

static void agentd_prints_version_and_commit(void **state)
{
	char agentd[PATH_MAX];

	agentd_path(agentd, sizeof(agentd));
	assert_prints(agentd, "--version", "sandlot-agentd " SANDLOT_VERSION_FULL "\n");
	assert_prints(agentd, "-V", "sandlot-agentd " SANDLOT_VERSION_FULL "\n");
}

/* "v0.1.0-3-gabc1234-dirty" or "abc1234-dirty" -> "abc1234" */
static void commit_hash(const char *describe, char *buf, size_t len)
{
	const char *g = strstr(describe, "-g");
	char *dirty;

	while (g && strstr(g + 1, "-g"))
		g = strstr(g + 1, "-g");
	snprintf(buf, len, "%s", g ? g + 2 : describe);
	dirty = strstr(buf, "-dirty");
	if (dirty)
		*dirty = '\0';
}

/* Built from a checkout, the commit is one of the checkout's; else there is none. */
static void commit_is_the_checkouts(void **state)
{
	const char *src = getenv("SANDLOT_SOURCE_DIR");
	char *top_argv[] = {"git", "-C", (char *)src, "rev-parse", "--show-toplevel", NULL};
	char out[PATH_MAX + 16], hash[64], obj[80];
	int st;

	assert_non_null(src);
	st = sl_test_run(top_argv, out, sizeof(out), NULL, 0);
	out[strcspn(out, "\n")] = '\0';
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || strcmp(out, src) != 0) {
		assert_string_equal(SANDLOT_COMMIT, "");
		return;
	}
	assert_true(strlen(SANDLOT_COMMIT) >= 7);
	commit_hash(SANDLOT_COMMIT, hash, sizeof(hash));
	snprintf(obj, sizeof(obj), "%s^{commit}", hash);
	char *cat_argv[] = {"git", "-C", (char *)src, "cat-file", "-e", obj, NULL};
	st = sl_test_run(cat_argv, NULL, 0, NULL, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static int copy(const char *from, const char *to)
{
	char *argv[] = {"cp", (char *)from, (char *)to, NULL};

	return sl_test_run(argv, NULL, 0, NULL, 0);
}

/* The installed layout: bin/sandlot-agent, libexec/sandlot/sandlot-agentd. */
static void installed_agent_finds_agentd_in_libexec(void **state)
{
	char root[] = "/tmp/sandlot-test-install-XXXXXX", p[5][sizeof(root) + 32];
	static const char *const rel[5] = {"bin", "libexec", "libexec/sandlot", "bin/sandlot-agent",
					   "libexec/sandlot/sandlot-agentd"};
	char built_agentd[PATH_MAX], out[8192], err[4096];
	int st;

	assert_non_null(mkdtemp(root));
	for (int i = 0; i < 5; i++)
		snprintf(p[i], sizeof(p[i]), "%s/%s", root, rel[i]);
	for (int i = 0; i < 3; i++)
		assert_int_equal(mkdir(p[i], 0755), 0);
	agentd_path(built_agentd, sizeof(built_agentd));
	assert_int_equal(copy(sl_test_agent(), p[3]), 0);
	assert_int_equal(copy(built_agentd, p[4]), 0);

	char *argv[] = {p[3], "--daemon-help", NULL};
	st = sl_test_run(argv, out, sizeof(out), err, sizeof(err));
	for (int i = 4; i >= 0; i--)
		(void)remove(p[i]);
	(void)rmdir(root);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(out, "run the worker agent daemon"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(agent_prints_version_and_commit),
		cmocka_unit_test(agentd_prints_version_and_commit),
		cmocka_unit_test(commit_is_the_checkouts),
		cmocka_unit_test(installed_agent_finds_agentd_in_libexec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
