// SPDX-License-Identifier: Apache-2.0
/*
 * The agent daemon end to end, part 2: the life of sandboxes and of the agent. Freezing,
 * keep-alive, eviction, draining, SIGTERM, reconnects, a SIGKILLed agent, forged and replayed
 * messages, bad options and malicious code. A real sandlot-agent runs against the test control
 * node (agentpeer.h) over real nanomsg sockets. Needs root.
 */
#include "testutil.h"

#include "agenttest.h"

#include "daemon/hostlock.h"

#include <sandlot/auth.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

/* ---- warm sandboxes ---- */

static void idle_sandbox_is_frozen_and_thawed_for_invocations(void **state)
{
	struct fx *f = *state;
	char cg[1200];
	struct peer_rx *r;
	int64_t corr;

	fx_start(f, NULL);
	cold_start(f, "fz", "actions", pkg_script(f->p, actions_sh()), "", 128, 10000);
	/* the BPF idle detector sees it go quiet: idle, then frozen */
	expect_event(f, "fz", SL_SANDBOX_FROZEN, SL_REASON_FREEZE);
	assert_int_equal(peer_sandbox_cgroup(f->p, "fz", cg, sizeof(cg)), 0);
	assert_int_equal(peer_read_long(cg, "cgroup.freeze"), 1);
	/* the freezer's own wake-ups are not activity: no busy/idle flapping while frozen */
	peer_pump(f->p, 500);
	for (uint8_t st = SL_SANDBOX_BUSY; st <= SL_SANDBOX_FROZEN; st++)
		assert_int_equal(peer_count(f->p, &(struct peer_match){.type = SL_MSG_SANDBOX_EVENT,
								       .sandbox_id = "fz",
								       .state = st}),
				 0);

	corr = peer_invoke(f->p, "req-nap", "", "actions", "\"nap\"", 5, false);
	assert_true(corr > 0);
	expect_event(f, "fz", SL_SANDBOX_BUSY, SL_REASON_INVOKE);
	assert_int_equal(peer_read_long(cg, "cgroup.freeze"), 0); /* the nap takes 1 s */
	r = peer_wait(f->p, &(struct peer_match){.type = SL_MSG_INVOKE_RESULT, .corr = corr},
		      WAIT_MS);
	assert_non_null(r);
	expect_ok(r, "done");
	peer_rx_free(r);
	expect_event(f, "fz", SL_SANDBOX_FROZEN, SL_REASON_FREEZE);
	assert_int_equal(peer_read_long(cg, "cgroup.freeze"), 1);
}

static void keep_alive_reaps_idle_sandboxes(void **state)
{
	struct fx *f = *state;

	fx_start(f, "--keep-alive", "1s", NULL);
	cold_start(f, "ka", "cfn", pkg_c_example(f->p), "", 128, 10000);
	expect_event(f, "ka", SL_SANDBOX_DESTROYED, SL_REASON_KEEP_ALIVE);
	assert_int_equal(n_sandboxes(f), 0);
}

static void full_host_evicts_the_least_recently_used(void **state)
{
	struct fx *f = *state;
	const struct peer_pkg *pkg = pkg_script(f->p, actions_sh());
	struct peer_rx *r;
	int64_t nap1, nap2, corr;

	fx_start(f, "--memory-capacity", "256M", NULL);
	cold_start(f, "ev-a", "actions", pkg, "", 128, 10000);
	cold_start(f, "ev-b", "actions", pkg, "", 128, 10000);
	/* no room for a third: the least recently used warm one goes */
	cold_start(f, "ev-c", "actions", pkg, "", 128, 10000);
	expect_event(f, "ev-a", SL_SANDBOX_DESTROYED, SL_REASON_EVICTED);
	assert_int_equal(n_sandboxes(f), 2);

	/* sandboxes in use are never victims: with both busy, a fourth is refused */
	nap1 = peer_invoke(f->p, "req-b", "ev-b", "actions", "\"nap\"", 5, false);
	nap2 = peer_invoke(f->p, "req-c", "ev-c", "actions", "\"nap\"", 5, false);
	corr = peer_create(f->p, "ev-d", "actions", pkg, "", 128, 10000);
	r = peer_wait(f->p, &(struct peer_match){.corr = corr}, WAIT_MS);
	assert_non_null(r);
	assert_int_equal(PMSG(r)->type, SL_MSG_ERROR);
	assert_int_equal(PMSG(r)->error.code, SL_ERR_NO_CAPACITY);
	peer_rx_free(r);
	for (int i = 0; i < 2; i++) {
		r = peer_wait(f->p,
			      &(struct peer_match){.type = SL_MSG_INVOKE_RESULT,
						   .corr = (uint64_t)(i ? nap2 : nap1)},
			      WAIT_MS);
		assert_non_null(r);
		expect_ok(r, "done");
		peer_rx_free(r);
	}
	assert_int_equal(n_sandboxes(f), 2);
}

static void heartbeats_report_sandbox_cpu_and_states(void **state)
{
	struct fx *f = *state;
	uint64_t until = sl_now_ns() + WAIT_MS * SL_NSEC_PER_MSEC;
	struct peer_rx *r;
	unsigned beats;
	int64_t corr;

	fx_start(f, NULL);
	cold_start(f, "hb", "actions", pkg_script(f->p, actions_sh()), "", 128, 10000);
	corr = peer_invoke(f->p, "req-spin", "hb", "actions", "\"spin\"", 6, false);
	expect_event(f, "hb", SL_SANDBOX_BUSY, SL_REASON_INVOKE);
	/* the second beat from now covers a whole second of spinning */
	beats = f->p->heartbeats;
	while (f->p->heartbeats < beats + 2 && sl_now_ns() < until)
		peer_pump(f->p, 50);
	assert_int_equal(f->p->last_hb.busy, 1);
	assert_int_equal(f->p->last_hb.inflight, 1);
	assert_int_equal(f->p->last_hb.memory_used, 128ULL << 20);
	/* 128 MB gets 128/1769 of a CPU (72 thousandths): spinning shows, capped by the quota */
	if (f->p->last_hb.cpu_millis == 0 || f->p->last_hb.cpu_millis > 300)
		fail_msg("cpu_millis %u while one 128 MB sandbox spins", f->p->last_hb.cpu_millis);
	r = peer_wait(f->p, &(struct peer_match){.type = SL_MSG_INVOKE_RESULT, .corr = corr},
		      WAIT_MS);
	assert_non_null(r);
	expect_ok(r, "done");
	peer_rx_free(r);
}

/* ---- draining ---- */

static void drain_finishes_in_flight_work_then_destroys(void **state)
{
	struct fx *f = *state;
	const struct peer_pkg *pkg = pkg_script(f->p, actions_sh());
	struct peer_rx *r;
	int64_t nap, corr;
	char *body = NULL;
	int st;

	fx_start(f, NULL);
	cold_start(f, "d-busy", "actions", pkg, "", 128, 10000);
	cold_start(f, "d-idle", "actions", pkg, "", 128, 10000);
	nap = peer_invoke(f->p, "req-nap", "d-busy", "actions", "\"nap\"", 5, false);
	expect_event(f, "d-busy", SL_SANDBOX_BUSY, SL_REASON_INVOKE);
	assert_true(peer_drain(f->p, 60000) > 0);
	expect_event(f, "d-idle", SL_SANDBOX_DESTROYED, SL_REASON_DRAIN);
	/* no new work while draining */
	r = invoke(f, "req-new", "", "actions", "{}", false);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_NO_SANDBOX);
	peer_rx_free(r);
	corr = peer_create(f->p, "d-new", "actions", pkg, "", 128, 10000);
	r = peer_wait(f->p, &(struct peer_match){.corr = corr}, WAIT_MS);
	assert_non_null(r);
	assert_int_equal(PMSG(r)->type, SL_MSG_ERROR);
	assert_int_equal(PMSG(r)->error.code, SL_ERR_DRAINING);
	peer_rx_free(r);
	/* the invocation in flight finishes, then its sandbox goes */
	r = peer_wait(f->p, &(struct peer_match){.type = SL_MSG_INVOKE_RESULT, .corr = nap},
		      WAIT_MS);
	assert_non_null(r);
	expect_ok(r, "done");
	peer_rx_free(r);
	expect_event(f, "d-busy", SL_SANDBOX_DESTROYED, SL_REASON_DRAIN);
	/* a DRAIN does not stop the agent */
	assert_int_equal(waitpid(f->p->pid, &st, WNOHANG), 0);
	assert_int_equal(peer_http_get(f->p, "/healthz", &body), 200);
	assert_non_null(strstr(body, "\"draining\""));
	free(body);
	assert_int_equal(n_sandboxes(f), 0);
}

static void drain_deadline_cuts_in_flight_work(void **state)
{
	struct fx *f = *state;
	struct peer_rx *r;
	int64_t corr;

	fx_start(f, NULL);
	cold_start(f, "dd", "actions", pkg_script(f->p, actions_sh()), "", 128, 60000);
	corr = peer_invoke(f->p, "req-long", "dd", "actions", "\"sleep\"", 7, false);
	expect_event(f, "dd", SL_SANDBOX_BUSY, SL_REASON_INVOKE);
	assert_true(peer_drain(f->p, 200) > 0);
	r = peer_wait(f->p, &(struct peer_match){.type = SL_MSG_INVOKE_RESULT, .corr = corr},
		      WAIT_MS);
	assert_non_null(r);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_INTERNAL);
	char *s = payload_str(r);
	assert_string_equal(s, "{\"errorMessage\":\"sandbox destroyed "
			       "(drain)\",\"errorType\":\"Runtime.Destroyed\"}");
	free(s);
	peer_rx_free(r);
	expect_event(f, "dd", SL_SANDBOX_DESTROYED, SL_REASON_DRAIN);
	assert_int_equal(n_sandboxes(f), 0);
}

static void sigterm_drains_and_exits_zero(void **state)
{
	struct fx *f = *state;
	const struct peer_pkg *pkg = pkg_script(f->p, actions_sh());
	struct peer_rx *r;
	int64_t nap;
	int st;

	fx_start(f, NULL);
	cold_start(f, "t-busy", "actions", pkg, "", 128, 10000);
	cold_start(f, "t-idle", "actions", pkg, "", 128, 10000);
	nap = peer_invoke(f->p, "req-nap", "t-busy", "actions", "\"nap\"", 5, false);
	expect_event(f, "t-busy", SL_SANDBOX_BUSY, SL_REASON_INVOKE);
	assert_int_equal(kill(f->p->pid, SIGTERM), 0);
	st = peer_agent_wait(f->p, WAIT_MS);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* everything was reported before it exited */
	r = peer_wait(f->p, &(struct peer_match){.type = SL_MSG_INVOKE_RESULT, .corr = nap}, 1000);
	assert_non_null(r);
	expect_ok(r, "done");
	peer_rx_free(r);
	expect_event(f, "t-busy", SL_SANDBOX_DESTROYED, SL_REASON_DRAIN);
	expect_event(f, "t-idle", SL_SANDBOX_DESTROYED, SL_REASON_DRAIN);
	assert_int_equal(peer_leftover_cgroups(f->pids[0]), 0);
	/* and its lock files went with it */
	char lock[600];
	struct stat lst;
	sl_hostlock_pin_path(lock, sizeof(lock), f->p->pin_root);
	assert_int_equal(stat(lock, &lst), -1);
	snprintf(lock, sizeof(lock), "%s/agent.lock", f->p->state_dir);
	assert_int_equal(stat(lock, &lst), -1);
}

/* ---- the link ---- */

static void reconnects_after_the_control_node_restarts(void **state)
{
	struct fx *f = *state;
	const struct sl_msg_full_state *fs;
	unsigned registers;
	struct peer_rx *r;

	fx_start(f, NULL);
	cold_start(f, "rc", "cfn", pkg_c_example(f->p), "", 128, 10000);
	peer_clear(f->p);
	registers = f->p->registers;
	/* a new session of the control node: the agent registers again and reports everything */
	assert_int_equal(peer_restart_link(f->p), 0);
	r = peer_wait(f->p, &(struct peer_match){.type = SL_MSG_FULL_STATE}, WAIT_MS);
	assert_non_null(r);
	assert_true(f->p->registers > registers);
	fs = &PMSG(r)->state;
	assert_int_equal(fs->total, 1);
	assert_int_equal(fs->count, 1);
	assert_string_equal(fs->sandboxes[0].sandbox_id, "rc");
	assert_string_equal(fs->sandboxes[0].function, "cfn");
	assert_true(fs->sandboxes[0].state == SL_SANDBOX_IDLE ||
		    fs->sandboxes[0].state == SL_SANDBOX_FROZEN);
	peer_rx_free(r);
	/* and takes commands from the new session */
	r = invoke(f, "req-after", "", "cfn", "\"x\"", false);
	expect_ok(r, "\"X\"");
	peer_rx_free(r);
}

static void results_of_a_link_outage_reach_the_control_node_later(void **state)
{
	static const char *const ids[] = {"out-1", "out-2", "out-3"};
	struct fx *f = *state;
	const struct peer_pkg *pkg = pkg_script(f->p, actions_sh());
	uint64_t until = sl_now_ns() + WAIT_MS * SL_NSEC_PER_MSEC;
	const struct sl_msg_full_state *fs;
	int64_t corr[ARRAY_SIZE(ids)];
	struct peer_rx *r;

	fx_start(f, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		cold_start(f, ids[i], "actions", pkg, "", 128, 5000);
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		corr[i] = peer_invoke(f->p, ids[i], ids[i], "actions", "\"sleep\"", 7, false);
		assert_true(corr[i] > 0);
		expect_event(f, ids[i], SL_SANDBOX_BUSY, SL_REASON_INVOKE);
	}
	/* the control node goes away; the three invocations time out meanwhile (their sandboxes
	 * go): the results and events wait in the agent's queue, more than one frame of it */
	sl_link_free(&f->p->link);
	while (n_sandboxes(f) > 0 && sl_now_ns() < until)
		usleep(50 * 1000);
	assert_int_equal(n_sandboxes(f), 0);
	/* it comes back: everything of the meantime arrives */
	assert_int_equal(peer_restart_link(f->p), 0);
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		r = peer_wait(f->p,
			      &(struct peer_match){.type = SL_MSG_INVOKE_RESULT,
						   .corr = (uint64_t)corr[i]},
			      WAIT_MS);
		if (!r)
			fail_msg("no result for the invocation in %s", ids[i]);
		assert_int_equal(PMSG(r)->result.status, SL_INVOKE_TIMEOUT);
		peer_rx_free(r);
		expect_event(f, ids[i], SL_SANDBOX_DESTROYED, SL_REASON_TIMEOUT);
	}
	/* then the agent registers again (the new session does not know it) and reports none */
	r = peer_wait(f->p, &(struct peer_match){.type = SL_MSG_FULL_STATE}, WAIT_MS);
	assert_non_null(r);
	fs = &PMSG(r)->state;
	assert_int_equal(fs->total, 0);
	peer_rx_free(r);
}

static bool pid_gone(pid_t pid)
{
	char path[64], buf[2048];

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (sl_read_file(path, buf, sizeof(buf)) < 0)
		return true;
	return strstr(buf, ") Z ") != NULL; /* a zombie runs nothing */
}

/* The cgroup ids with pinned links under the agent's pin root (sandboxes and pooled shells). */
static int pinned_link_dirs(struct fx *f, uint64_t *ids, int max)
{
	char dir[160];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/cg", f->p->pin_root);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max)
		if (e->d_name[0] != '.')
			ids[n++] = strtoull(e->d_name, NULL, 10);
	closedir(d);
	return n;
}

static bool link_dir_exists(struct fx *f, uint64_t id)
{
	char path[200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/cg/%llu", f->p->pin_root, (unsigned long long)id);
	return stat(path, &st) == 0;
}

static void sigkilled_agent_is_cleaned_up_by_its_successor(void **state)
{
	struct fx *f = *state;
	const struct peer_pkg *pkg = pkg_c_example(f->p);
	pid_t procs[16], old;
	int nprocs = 0, st;
	struct peer_rx *r;

	fx_start(f, NULL);
	cold_start(f, "k1", "cfn", pkg, "", 128, 10000);
	cold_start(f, "k2", "cfn", pkg, "", 128, 10000);
	for (int i = 0; i < 2; i++) {
		char cg[1200], path[1300];
		FILE *fp;
		int pid;

		assert_int_equal(peer_sandbox_cgroup(f->p, i ? "k2" : "k1", cg, sizeof(cg)), 0);
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		fp = fopen(path, "r");
		assert_non_null(fp);
		while (nprocs < 16 && fscanf(fp, "%d", &pid) == 1)
			procs[nprocs++] = pid;
		fclose(fp);
	}
	assert_true(nprocs >= 2);
	/* k1, k2 and the pooled shells prepared meanwhile have pinned links */
	uint64_t pinned[16];
	int npinned = pinned_link_dirs(f, pinned, 16);
	assert_true(npinned >= 2);
	old = f->p->pid;
	st = peer_agent_stop(f->p, 0, 0);
	assert_true(WIFSIGNALED(st));
	assert_true(peer_leftover_cgroups(old) > 0); /* nobody cleaned up yet */
	peer_clear(f->p);

	fx_start(f, NULL);
	r = peer_wait(f->p, &(struct peer_match){.type = SL_MSG_FULL_STATE}, WAIT_MS);
	assert_non_null(r);
	assert_int_equal(PMSG(r)->state.total, 0);
	peer_rx_free(r);
	assert_int_equal(peer_leftover_cgroups(old), 0);
	for (int i = 0; i < npinned; i++)
		if (link_dir_exists(f, pinned[i]))
			fail_msg("links of cgroup %llu of the killed agent still pinned",
				 (unsigned long long)pinned[i]);
	for (int i = 0; i < nprocs; i++)
		if (!pid_gone(procs[i]))
			fail_msg("process %d of the killed agent's sandboxes still runs", procs[i]);
	/* and the new agent works */
	cold_start(f, "k3", "cfn", pkg, "", 128, 10000);
	r = invoke(f, "req-new", "k3", "cfn", "\"ok\"", false);
	expect_ok(r, "\"OK\"");
	peer_rx_free(r);
}

/* Seals a CREATE_SANDBOX for sandbox id with link l into buf; returns the frame length. */
static size_t seal_create(struct fx *f, struct sl_link *l, const char *id, uint64_t corr,
			  const struct peer_pkg *pkg, void *buf, size_t len)
{
	struct sl_msg *m = calloc(1, sizeof(*m));
	long n;

	assert_non_null(m);
	m->type = SL_MSG_CREATE_SANDBOX;
	m->corr_id = corr;
	m->dst_id = f->p->agent_id;
	m->create = (struct sl_msg_create){.sandbox_id = id,
					   .function = "cfn",
					   .version = "$LATEST",
					   .handler = "",
					   .code_size = pkg->len,
					   .memory_mb = 128,
					   .timeout_ms = 10000};
	memcpy(m->create.code_sha256, pkg->sha, 32);
	n = sl_link_seal(l, m, buf, len, NULL);
	free(m);
	assert_true(n > 0);
	return (size_t)n;
}

/* Everything sent before this was handled when its answer comes (one ordered socket). */
static void barrier(struct fx *f)
{
	struct peer_rx *r = invoke(f, "req-barrier", "no-such", "nobody", "{}", false);

	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_NO_SANDBOX);
	peer_rx_free(r);
}

static void forged_and_replayed_messages_are_not_acted_on(void **state)
{
	struct fx *f = *state;
	const struct peer_pkg *pkg = pkg_c_example(f->p);
	unsigned char frame[4096], other[48];
	struct sl_key *key = NULL;
	struct sl_link *forger = NULL;
	size_t n;
	json_t *j;

	fx_start(f, NULL);
	/* the right sender id, the wrong key */
	memset(other, 0x5a, sizeof(other));
	assert_int_equal(sl_key_new(&key, other, sizeof(other)), 0);
	assert_int_equal(sl_link_new(&forger, &(struct sl_link_config){.self_id = PEER_CONTROL_ID,
								       .key = key}),
			 0);
	n = seal_create(f, forger, "forged", 9001, pkg, frame, sizeof(frame));
	assert_int_equal(sl_link_send_raw(f->p->link, f->p->agent, frame, n), 0);
	/* the right key, tampered with after sealing */
	n = seal_create(f, f->p->link, "tampered", 9002, pkg, frame, sizeof(frame));
	unsigned char *at = memmem(frame, n, "tampered", 8);
	assert_non_null(at);
	at[7] = 'x';
	assert_int_equal(sl_link_send_raw(f->p->link, f->p->agent, frame, n), 0);
	/* a genuine one, sent twice: the copy is a replay */
	n = seal_create(f, f->p->link, "genuine", 9003, pkg, frame, sizeof(frame));
	assert_int_equal(sl_link_send_raw(f->p->link, f->p->agent, frame, n), 0);
	expect_event(f, "genuine", SL_SANDBOX_IDLE, 0);
	assert_int_equal(sl_link_send_raw(f->p->link, f->p->agent, frame, n), 0);
	barrier(f);

	/* only the genuine one was acted on, once: no "exists" error, no other sandbox */
	assert_int_equal(peer_count(f->p, &(struct peer_match){.type = SL_MSG_ERROR}), 0);
	assert_int_equal(peer_count(f->p, &(struct peer_match){.sandbox_id = "forged"}), 0);
	assert_int_equal(peer_count(f->p, &(struct peer_match){.sandbox_id = "tamperex"}), 0);
	j = sandboxes(f);
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "id")),
			    "genuine");
	json_decref(j);
	sl_link_free(&forger);
	sl_key_free(&key);
}

/* ---- bad input ---- */

static void bad_options_exit_2_with_a_message(void **state)
{
	static const char *const cases[][3] = {
		{"--keep-alive", "soon", "--keep-alive"},
		{"--http", "localhost", "--http"},
		{"--bpf-pin-root", "/tmp/pins", "--bpf-pin-root"},
		{"--memory-capacity", "1K", "--memory-capacity"},
		{"--max-sandboxes", "0", "--max-sandboxes"},
		{"--control", "http://x:1", "--control"},
		{"--idle-threshold", "2h", "--idle-threshold"},
		{"--bogus", NULL, "--bogus"},
	};
	char err[4096];

	sl_test_require_root();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *argv[] = {(char *)sl_test_agent(), (char *)cases[i][0], (char *)cases[i][1],
				NULL};
		int st = sl_test_run(argv, NULL, 0, err, sizeof(err));

		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) != 2 || !strstr(err, cases[i][2]))
			fail_msg("%s %s: status %d, stderr %s", cases[i][0],
				 cases[i][1] ? cases[i][1] : "", WEXITSTATUS(st), err);
	}
}

/* A zip whose one entry climbs out of its directory. */
static const struct peer_pkg *evil_zip(struct peer *p)
{
	struct peer_file files[] = {
		{.name = "bootstrap", .data = "#!/bin/sh\nexit 0\n", .mode = 0755},
		{.name = "../../escaped-by-zip", .data = "gotcha"},
	};
	const struct peer_pkg *k = peer_pkg_add(p, files, ARRAY_SIZE(files));

	assert_non_null(k);
	return k;
}

static void malicious_code_is_rejected_and_nothing_left(void **state)
{
	struct fx *f = *state;
	const struct peer_pkg *evil = evil_zip(f->p), *junk;
	struct peer_rx *r;
	char path[512];
	struct stat st;
	int64_t corr;

	fx_start(f, NULL);
	corr = peer_create(f->p, "evil", "evilfn", evil, "", 128, 10000);
	r = peer_wait(f->p, &(struct peer_match){.corr = corr, .type = SL_MSG_ERROR}, WAIT_MS);
	assert_non_null(r);
	assert_int_equal(PMSG(r)->error.code, SL_ERR_CODE_INVALID);
	assert_int_equal(PMSG(r)->error.ref_type, SL_MSG_CREATE_SANDBOX);
	if (!strstr(PMSG(r)->error.message, "..") && !strstr(PMSG(r)->error.message, "unsafe"))
		fail_msg("unclear error: %s", PMSG(r)->error.message);
	peer_rx_free(r);
	/* not a zip at all */
	junk = peer_pkg_add_raw(f->p, "this is not a zip file at all", 29);
	corr = peer_create(f->p, "junk", "junkfn", junk, "", 128, 10000);
	r = peer_wait(f->p, &(struct peer_match){.corr = corr, .type = SL_MSG_ERROR}, WAIT_MS);
	assert_non_null(r);
	assert_int_equal(PMSG(r)->error.code, SL_ERR_CODE_INVALID);
	peer_rx_free(r);

	assert_int_equal(n_sandboxes(f), 0);
	snprintf(path, sizeof(path), "%s/code/%s", f->p->state_dir, evil->hex);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/fetch-%s.zip", f->p->state_dir, evil->hex);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/escaped-by-zip", f->p->state_dir);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/escaped-by-zip", f->p->base);
	assert_int_equal(stat(path, &st), -1);
	/* the agent goes on serving */
	cold_start(f, "fine", "cfn", pkg_c_example(f->p), "", 128, 10000);
}

static void bad_create_requests_are_refused_clearly(void **state)
{
	struct fx *f = *state;
	const struct peer_pkg *pkg = pkg_c_example(f->p);
	const char *reserved[] = {"AWS_REGION=mars-1", NULL};
	struct peer_rx *r;
	int64_t corr;

	fx_start(f, NULL);
	/* a memory size the protocol carries but Lambda refuses */
	corr = peer_create(f->p, "small", "cfn", pkg, "", 64, 10000);
	r = peer_wait(f->p, &(struct peer_match){.corr = corr, .type = SL_MSG_ERROR}, WAIT_MS);
	assert_non_null(r);
	assert_int_equal(PMSG(r)->error.code, SL_ERR_CODE_INVALID);
	assert_non_null(strstr(PMSG(r)->error.message, "small"));
	peer_rx_free(r);
	/* a reserved environment variable */
	corr = peer_create_env(f->p, "env", "cfn", pkg, "", 128, 10000, reserved);
	r = peer_wait(f->p, &(struct peer_match){.corr = corr, .type = SL_MSG_ERROR}, WAIT_MS);
	assert_non_null(r);
	assert_int_equal(PMSG(r)->error.code, SL_ERR_CODE_INVALID);
	peer_rx_free(r);
	/* a sandbox id that exists */
	cold_start(f, "twice", "cfn", pkg, "", 128, 10000);
	corr = peer_create(f->p, "twice", "cfn", pkg, "", 128, 10000);
	r = peer_wait(f->p, &(struct peer_match){.corr = corr, .type = SL_MSG_ERROR}, WAIT_MS);
	assert_non_null(r);
	assert_int_equal(PMSG(r)->error.code, SL_ERR_BAD_REQUEST);
	peer_rx_free(r);
	/* code the control node cannot serve */
	f->p->refuse_code = true;
	const struct peer_file other = {.name = "bootstrap", .data = "#!/bin/sh\n", .mode = 0755};
	corr = peer_create(f->p, "nocode", "cfn", peer_pkg_add(f->p, &other, 1), "", 128, 10000);
	r = peer_wait(f->p, &(struct peer_match){.corr = corr, .type = SL_MSG_ERROR}, WAIT_MS);
	assert_non_null(r);
	assert_non_null(strstr(PMSG(r)->error.message, "refused"));
	peer_rx_free(r);
	/* none of it touched the sandbox that works */
	assert_int_equal(n_sandboxes(f), 1);
	r = invoke(f, "req-ok", "twice", "cfn", "\"fine\"", false);
	expect_ok(r, "\"FINE\"");
	peer_rx_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(idle_sandbox_is_frozen_and_thawed_for_invocations,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(keep_alive_reaps_idle_sandboxes, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(full_host_evicts_the_least_recently_used, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(heartbeats_report_sandbox_cpu_and_states, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(drain_finishes_in_flight_work_then_destroys,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(drain_deadline_cuts_in_flight_work, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(sigterm_drains_and_exits_zero, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(reconnects_after_the_control_node_restarts,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			results_of_a_link_outage_reach_the_control_node_later, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(sigkilled_agent_is_cleaned_up_by_its_successor,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(forged_and_replayed_messages_are_not_acted_on,
						fx_setup, fx_teardown),
		cmocka_unit_test(bad_options_exit_2_with_a_message),
		cmocka_unit_test_setup_teardown(bad_create_requests_are_refused_clearly, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(malicious_code_is_rejected_and_nothing_left,
						fx_setup, fx_teardown),
	};

	if (getenv("SL_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SL_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
