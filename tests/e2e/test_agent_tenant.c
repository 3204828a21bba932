// SPDX-License-Identifier: Apache-2.0
/*
 * The agent daemon against one hostile or merely busy tenant: what a function can make the
 * shared agent hold, wait for or misjudge. A real sandlot-agent runs against the test control
 * node (agentpeer.h) over real nanomsg sockets. Needs root.
 */
#include "testutil.h"

#include "agenttest.h"

#include <dirent.h>

/* ---- the Runtime API listener ---- */

/*
 * A runtime that, given an event, fills its Runtime API's connection limit and frees it at
 * once, ten times (a child opens the 8 connections it may, and exits: the kernel closes them
 * together), then posts its response.
 */
static const char *flood_py(void)
{
	return "#!/usr/bin/env python3\n"
	       "import os, socket, time, urllib.request\n"
	       "ep = os.environ['AWS_LAMBDA_RUNTIME_API']\n"
	       "api = 'http://' + ep + '/2018-06-01/runtime'\n"
	       "host, port = ep.split(':')\n"
	       "while True:\n"
	       "    with urllib.request.urlopen(api + '/invocation/next') as r:\n"
	       "        rid = r.headers['Lambda-Runtime-Aws-Request-Id']\n"
	       "        r.read()\n"
	       "    for _ in range(10):\n"
	       "        pid = os.fork()\n"
	       "        if pid == 0:\n"
	       "            socks = [socket.create_connection((host, int(port))) for _ in "
	       "range(8)]\n"
	       "            time.sleep(0.2)\n"
	       "            os._exit(0)\n"
	       "        os.waitpid(pid, 0)\n"
	       "        time.sleep(0.1)\n"
	       "    req = urllib.request.Request(api + '/invocation/' + rid + '/response',\n"
	       "                                 data=b'landed', method='POST')\n"
	       "    urllib.request.urlopen(req).read()\n";
}

/*
 * The function fills its Runtime API's connection limit and frees it: its response still lands,
 * and a SIGTERM'd agent then exits at once, with nothing left waiting.
 */
static void response_lands_after_the_connection_limit(void **state)
{
	struct fx *f = *state;
	struct peer_rx *r;
	int st;

	fx_start(f, NULL);
	cold_start(f, "flood", "flood", pkg_script(f->p, flood_py()), "", 256, 60000);
	for (int i = 0; i < 2; i++) {
		char rid[16];

		snprintf(rid, sizeof(rid), "req-flood-%d", i);
		r = invoke(f, rid, "flood", "flood", "{}", false);
		expect_ok(r, "landed");
		peer_rx_free(r);
	}
	assert_int_equal(kill(f->p->pid, SIGTERM), 0);
	st = peer_agent_wait(f->p, WAIT_MS);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	expect_event(f, "flood", SL_SANDBOX_DESTROYED, SL_REASON_DRAIN);
}

/* ---- uploads ---- */

/*
 * A runtime that, given an event, declares a 6 MiB response on 8 connections at once and sends
 * all but one byte of each, holds them for 3 s, closes them, then posts a small response.
 */
static const char *hold_py(void)
{
	return "#!/usr/bin/env python3\n"
	       "import os, socket, time, urllib.request\n"
	       "ep = os.environ['AWS_LAMBDA_RUNTIME_API']\n"
	       "api = 'http://' + ep + '/2018-06-01/runtime'\n"
	       "host, port = ep.split(':')\n"
	       "body = b'x' * (6291456 - 1)\n"
	       "while True:\n"
	       "    with urllib.request.urlopen(api + '/invocation/next') as r:\n"
	       "        rid = r.headers['Lambda-Runtime-Aws-Request-Id']\n"
	       "        r.read()\n"
	       "    head = ('POST /2018-06-01/runtime/invocation/' + rid + '/response "
	       "HTTP/1.1\\r\\n'\n"
	       "            'Host: rt\\r\\nContent-Length: 6291456\\r\\n\\r\\n').encode()\n"
	       "    socks = []\n"
	       "    for _ in range(8):\n"
	       "        s = socket.create_connection((host, int(port)))\n"
	       "        s.settimeout(1)\n"
	       "        try:\n"
	       "            s.sendall(head)\n"
	       "            s.sendall(body)\n"
	       "        except OSError:\n"
	       "            pass\n"
	       "        socks.append(s)\n"
	       "    time.sleep(3)\n"
	       "    for s in socks:\n"
	       "        s.close()\n"
	       "    req = urllib.request.Request(api + '/invocation/' + rid + '/response',\n"
	       "                                 data=b'held', method='POST')\n"
	       "    urllib.request.urlopen(req).read()\n";
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *s;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	s = fopen(path, "r");
	assert_non_null(s);
	while (fgets(line, sizeof(line), s))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(s);
	return kb;
}

/*
 * Unfinished uploads of one sandbox hold at most one response body in the agent (8 of them held
 * 48 MiB before): sampled while they stay open, the agent's RSS grows by less than 16 MiB.
 */
static void unfinished_uploads_hold_one_body(void **state)
{
	struct fx *f = *state;
	struct peer_rx *r = NULL;
	long base, peak = 0;
	uint64_t until;
	int64_t corr;

	fx_start(f, NULL);
	cold_start(f, "hold", "hold", pkg_script(f->p, hold_py()), "", 512, 60000);
	base = rss_kb(f->p->pid);
	corr = peer_invoke(f->p, "req-hold", "hold", "hold", "{}", 2, false);
	assert_true(corr > 0);
	until = sl_now_ns() + 2 * WAIT_MS * SL_NSEC_PER_MSEC;
	while (!r && sl_now_ns() < until) {
		peak = MAX(peak, rss_kb(f->p->pid));
		r = peer_wait(
			f->p,
			&(struct peer_match){.type = SL_MSG_INVOKE_RESULT, .corr = (uint64_t)corr},
			20);
	}
	if (!r)
		fail_msg("no result (agent RSS %ld -> peak %ld KiB)", base, peak);
	expect_ok(r, "held");
	peer_rx_free(r);
	if (peak - base > 16 * 1024)
		fail_msg("agent RSS %ld -> %ld KiB while 8 uploads were held", base, peak);
}

/* ---- busy after the response ---- */

/* A runtime that answers, then burns CPU for 4 s (a process named sl-burner) before its next. */
static const char *burn_sh(void)
{
	return "#!/bin/sh\n"
	       "api=\"http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime\"\n"
	       "h=$(mktemp)\n"
	       "while true; do\n"
	       "  curl -sS -o /dev/null -D \"$h\" \"$api/invocation/next\" || exit 1\n"
	       "  id=$(grep -i lambda-runtime-aws-request-id \"$h\" | tr -d '[:space:]' | cut -d: "
	       "-f2)\n"
	       "  curl -sS -o /dev/null --data-binary done \"$api/invocation/$id/response\"\n"
	       "  timeout 4 sh -c 'while :; do :; done' sl-burner\n"
	       "done\n";
}

/* Processes of the cgroup cg whose command line names sl-burner. */
static int burners(const char *cg)
{
	char path[1300], cmd[512];
	int n = 0, pid;
	FILE *procs;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	procs = fopen(path, "r");
	if (!procs)
		return 0;
	while (fscanf(procs, "%d", &pid) == 1) {
		FILE *c;
		size_t len;

		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		c = fopen(path, "r");
		if (!c)
			continue;
		len = fread(cmd, 1, sizeof(cmd), c);
		fclose(c);
		if (memmem(cmd, len, "sl-burner", 9))
			n++;
	}
	fclose(procs);
	return n;
}

static unsigned idle_events(struct fx *f, const char *id)
{
	unsigned n = 0;

	for (uint8_t st = SL_SANDBOX_IDLE; st <= SL_SANDBOX_FROZEN; st++)
		n += peer_count(f->p, &(struct peer_match){.type = SL_MSG_SANDBOX_EVENT,
							   .sandbox_id = id,
							   .state = st});
	return n;
}

/*
 * A function that responds and then computes is busy until it stops: a task held back by its
 * CPU quota (or waiting for a CPU) is runnable, not idle, however long the wait.
 */
static void burn_after_response(struct fx *f, uint32_t mb)
{
	uint64_t until;
	struct peer_rx *r;
	char cg[1200];
	int seen = 0;

	fx_start(f, NULL);
	cold_start(f, "burn", "burn", pkg_script(f->p, burn_sh()), "", mb, 30000);
	expect_event(f, "burn", SL_SANDBOX_FROZEN, SL_REASON_FREEZE);
	assert_int_equal(peer_sandbox_cgroup(f->p, "burn", cg, sizeof(cg)), 0);
	r = invoke(f, "req-burn", "burn", "burn", "{}", false);
	expect_ok(r, "done");
	peer_rx_free(r);
	until = sl_now_ns() + WAIT_MS * SL_NSEC_PER_MSEC;
	while (burners(cg) == 0 && sl_now_ns() < until)
		peer_pump(f->p, 10);
	if (burners(cg) == 0)
		fail_msg("the function did not go on computing (frozen: %ld, idle events %u)",
			 peer_read_long(cg, "cgroup.freeze"), idle_events(f, "burn"));
	while (burners(cg) > 0 && sl_now_ns() < until) {
		assert_int_equal(peer_read_long(cg, "cgroup.freeze"), 0);
		assert_int_equal(idle_events(f, "burn"), 0);
		seen++;
		peer_pump(f->p, 100);
	}
	assert_int_equal(burners(cg), 0);
	assert_true(seen > 0);
	/* once it stops it is idle, and frozen */
	expect_event(f, "burn", SL_SANDBOX_FROZEN, SL_REASON_FREEZE);
	assert_int_equal(peer_read_long(cg, "cgroup.freeze"), 1);
}

static void burning_after_the_response_stays_busy_128(void **state)
{
	burn_after_response(*state, 128);
}

static void burning_after_the_response_stays_busy_1769(void **state)
{
	burn_after_response(*state, 1769);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(unfinished_uploads_hold_one_body, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(response_lands_after_the_connection_limit, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(burning_after_the_response_stays_busy_128, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(burning_after_the_response_stays_busy_1769,
						fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
