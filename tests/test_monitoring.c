// SPDX-License-Identifier: Apache-2.0
/*
 * docs/grafana/ and docs/metrics.md against a real agent: every agent metric family the
 * dashboard and the alert rules use is in its /metrics, and docs/metrics.md lists exactly the
 * families it exports (tools/check-monitoring names), so neither can drift from the code.
 */
#include "testutil.h"

#include "agenttest.h"

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
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(dashboard_rules_and_doc_match_a_real_agent,
						fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
