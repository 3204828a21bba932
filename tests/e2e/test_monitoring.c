// SPDX-License-Identifier: Apache-2.0
/*
 * docs/grafana/ and docs/metrics.md against a real agent: every agent metric family the
 * dashboard and the alert rules use is in its /metrics, and docs/metrics.md lists exactly the
 * families it exports (tools/check-monitoring names), so neither can drift from the code; and a
 * real Prometheus scraping it gets data for every agent panel and fires no alert
 * (tools/check-monitoring live).
 */
#include "testutil.h"

#include "agenttest.h"

#include <sys/prctl.h>

/* Runs argv to its end while the test control node keeps answering the agent; its exit
 * status (-1 when it could not run). It dies with the test. */
static int run_pumping(struct peer *p, char *const argv[])
{
	pid_t pid = fork(), r;
	int st;

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		return -1;
	while ((r = waitpid(pid, &st, WNOHANG)) == 0)
		peer_pump(p, 200);
	return r == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Every family shows up: a sandbox that answered, one destroyed, BPF loaded. */
static void dashboard_rules_and_doc_match_a_real_agent(void **state)
{
	struct fx *f = *state;
	const struct peer_pkg *pkg = pkg_script(f->p, actions_sh());
	const char *bin = getenv("SANDLOT_BINARY_DIR"), *src = getenv("SANDLOT_SOURCE_DIR");
	char path[512], tool[512], err[8192], *body = NULL;
	char *argv[] = {"python3", tool, "names", path, NULL};
	struct peer_rx *rx;
	FILE *fp;
	int st;

	fx_start(f, NULL);
	cold_start(f, "mon-a", "actions", pkg, "", 128, 10000);
	cold_start(f, "mon-b", "actions", pkg, "", 128, 10000);
	rx = invoke(f, "r-mon", "mon-a", "actions", "{}", false);
	expect_ok(rx, "done");
	peer_rx_free(rx);
	assert_true(peer_destroy(f->p, "mon-b") > 0);
	expect_event(f, "mon-b", SL_SANDBOX_DESTROYED, SL_REASON_COMMAND);
	assert_int_equal(peer_http_get(f->p, "/metrics", &body), 200);

	/* kept in the build tree: tools/check-monitoring doc FILE regenerates docs/metrics.md */
	snprintf(path, sizeof(path), "%s/tests/agent-metrics.prom", bin ? bin : "build");
	snprintf(tool, sizeof(tool), "%s/tools/check-monitoring", src ? src : ".");
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(body, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	free(body);
	st = sl_test_run(argv, NULL, 0, err, sizeof(err));
	if (st != 0) {
		fputs(err, stderr); /* longer than cmocka's messages */
		fail_msg("tools/check-monitoring names %s failed (wait status %d)", path, st);
	}

	/* a real Prometheus scrapes the agent: every agent panel shows data, no alert fires */
	argv[2] = "live";
	argv[3] = f->p->http;
	assert_int_equal(run_pumping(f->p, argv), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(dashboard_rules_and_doc_match_a_real_agent,
						fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
