// SPDX-License-Identifier: Apache-2.0
/*
 * The agent daemon end to end: what it logs, and the log tail. A real sandlot-agent runs
 * against the test control node (agentpeer.h) with its stderr in a file; a sequence of
 * creates, invocations, errors and destructions must come out as strict logfmt lines with the
 * fields an operator needs; a restart after a SIGKILL and a SIGHUP are said as they are.
 * Needs root (sandboxes, cgroups, BPF).
 */
#include "testutil.h"

#include "agenttest.h"
#include "logfmt.h"

#include <dirent.h>

/* A shell runtime whose event says what to do: fail (a function error), sleep, flood the log
 * (stdout and stderr at once, then a marker line on one of them), or answer "done". */
static const char logs_sh[] =
	"#!/bin/sh\n"
	"api=\"http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime\"\n"
	"h=$(mktemp)\n"
	"flood() { yes \"$1 flood line of some length\" | head -c 400000; }\n"
	"while true; do\n"
	"  ev=$(curl -sS -D \"$h\" \"$api/invocation/next\") || exit 1\n"
	"  id=$(grep -i lambda-runtime-aws-request-id \"$h\" | tr -d '[:space:]' | cut -d: -f2)\n"
	"  case \"$ev\" in\n"
	"  *fail*)\n"
	"    curl -sS -o /dev/null -H 'Lambda-Runtime-Function-Error-Type: Function.Test' \\\n"
	"      --data-binary '{\"errorMessage\":\"it broke, "
	"\\\"badly\\\"\",\"errorType\":\"Test.Boom\"}' \\\n"
	"      \"$api/invocation/$id/error\"\n"
	"    continue ;;\n"
	"  *sleep*) sleep 30 ;;\n"
	"  *burst*) sleep 1; flood err | head -c 40000 >&2; echo LAST-LINE-MARKER ;;\n"
	"  *flood-out*) flood out & flood err >&2 & wait; echo LAST-LINE-MARKER ;;\n"
	"  *flood-err*) flood out & flood err >&2 & wait; echo LAST-LINE-MARKER >&2 ;;\n"
	"  esac\n"
	"  curl -sS -o /dev/null --data-binary done \"$api/invocation/$id/response\"\n"
	"done\n";

static const char exits_sh[] = "#!/bin/sh\necho 'no runtime here' >&2\nexit 3\n";

/* ---- what is logged ---- */

struct logfile {
	struct logfmt_line lines[256];
	size_t n;
};

/* The sanitizer runtime's own warnings in a sanitizer build (from the sandbox's child side). */
static bool sanitizer_line(const char *l)
{
	return strncmp(l, "==", 2) == 0 || strncmp(l, "False positive error reports", 28) == 0 ||
	       strncmp(l, "For details see https://github.com/google/sanitizers", 52) == 0;
}

/* Reads the agent's stderr: every line must be strict logfmt with ts, level and msg. */
static void read_log(const char *path, struct logfile *lf)
{
	char *buf = NULL, *save;
	size_t len;

	assert_int_equal(peer_read_file(path, (void **)&buf, &len), 0);
	buf = realloc(buf, len + 1);
	assert_non_null(buf);
	buf[len] = '\0';
	lf->n = 0;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct logfmt_line *p = &lf->lines[lf->n];

		if (sanitizer_line(l))
			continue;
		if (lf->n == ARRAY_SIZE(lf->lines))
			fail_msg("more than %zu lines", ARRAY_SIZE(lf->lines));
		if (logfmt_parse(l, p) < 0)
			fail_msg("not logfmt: %s", l);
		if (p->n < 3 || strcmp(p->pairs[0].key, "ts") || strcmp(p->pairs[1].key, "level") ||
		    strcmp(p->pairs[2].key, "msg"))
			fail_msg("not ts= level= msg= first: %s", l);
		if (strstr(l, "\\n"))
			fail_msg("a literal \\n: %s", l);
		lf->n++;
	}
	free(buf);
}

/*
 * The line with this msg whose fields have these values (pairs of key, value; NULL value: the
 * key must be there), or a failure naming what is missing.
 */
static const struct logfmt_line *find_line(const struct logfile *lf, const char *msg, ...)
{
	for (size_t i = 0; i < lf->n; i++) {
		const struct logfmt_line *l = &lf->lines[i];
		const char *k, *v;
		bool ok = strcmp(logfmt_get(l, "msg"), msg) == 0;
		va_list ap;

		va_start(ap, msg);
		while (ok && (k = va_arg(ap, const char *))) {
			v = va_arg(ap, const char *);
			ok = logfmt_get(l, k) && (!v || strcmp(logfmt_get(l, k), v) == 0);
		}
		va_end(ap);
		if (ok)
			return l;
	}
	fail_msg("no line msg=\"%s\" with the fields asked for", msg);
	return NULL;
}

static size_t count_msg(const struct logfile *lf, const char *msg)
{
	size_t n = 0;

	for (size_t i = 0; i < lf->n; i++)
		n += strcmp(logfmt_get(&lf->lines[i], "msg"), msg) == 0;
	return n;
}

static void info_lines_tell_a_sandbox_life(void **state)
{
	struct fx *f = *state;
	static struct logfile lf;
	char path[160];
	struct peer_rx *r;

	snprintf(path, sizeof(path), "%s/agent.log", f->p->base);
	f->p->stderr_path = path;
	fx_start(f, NULL);
	/* created, a good and a failed invocation, destroyed by command */
	cold_start(f, "lg-1", "logs", pkg_script(f->p, logs_sh), "", 128, 1000);
	r = invoke(f, "req-ok", "lg-1", "logs", "\"ok\"", false);
	expect_ok(r, "done");
	peer_rx_free(r);
	r = invoke(f, "req-fail", "lg-1", "logs", "\"fail\"", false);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_FUNCTION_ERROR);
	peer_rx_free(r);
	assert_true(peer_destroy(f->p, "lg-1") > 0);
	expect_event(f, "lg-1", SL_SANDBOX_DESTROYED, SL_REASON_COMMAND);
	/* a timeout (1 s) destroys its sandbox */
	cold_start(f, "to-1", "logs", pkg_script(f->p, logs_sh), "", 128, 1000);
	r = invoke(f, "req-slow", "to-1", "logs", "\"sleep\"", false);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_TIMEOUT);
	peer_rx_free(r);
	expect_event(f, "to-1", SL_SANDBOX_DESTROYED, SL_REASON_TIMEOUT);
	/* a runtime that exits at once fails its init */
	assert_true(peer_create(f->p, "bad-1", "broken", pkg_script(f->p, exits_sh), "", 128,
				1000) > 0);
	expect_event(f, "bad-1", SL_SANDBOX_DESTROYED, SL_REASON_INIT_ERROR);
	assert_true(WIFEXITED(peer_agent_stop(f->p, SIGTERM, WAIT_MS)));

	read_log(path, &lf);
	find_line(&lf, "registered with the control node", "level", "info", "control", NULL,
		  "heartbeat_ms", NULL, NULL);
	find_line(&lf, "sandbox created", "level", "info", "sandbox", "lg-1", "function", "logs",
		  "version", "$LATEST", "memory_mb", "128", "spawn_us", NULL, NULL);
	find_line(&lf, "invocation failed", "level", "info", "sandbox", "lg-1", "function", "logs",
		  "request", "req-fail", "status", "function_error", "error_type", "Test.Boom",
		  "error", "it broke, \"badly\"", "duration_ms", NULL, NULL);
	find_line(&lf, "sandbox destroyed", "level", "info", "sandbox", "lg-1", "function", "logs",
		  "reason", "command", "invocations", "2", "age_ms", NULL, NULL);
	find_line(&lf, "invocation failed", "sandbox", "to-1", "request", "req-slow", "status",
		  "timeout", "error_type", "Sandbox.Timedout", NULL);
	find_line(&lf, "sandbox destroyed", "sandbox", "to-1", "reason", "timeout", NULL);
	find_line(&lf, "sandbox init failed", "level", "info", "sandbox", "bad-1", "function",
		  "broken", "error_type", "Runtime.ExitError", "error", "exit status 3", NULL);
	find_line(&lf, "sandbox destroyed", "sandbox", "bad-1", "reason", "init_error",
		  "invocations", "0", NULL);
	find_line(&lf, "draining, then exiting", "signal", "SIGTERM", NULL);
	/* one line each, and nothing per invocation or state change at info */
	assert_int_equal(count_msg(&lf, "sandbox created"), 3);
	assert_int_equal(count_msg(&lf, "sandbox destroyed"), 3);
	assert_int_equal(count_msg(&lf, "invocation failed"), 2);
	for (size_t i = 0; i < lf.n; i++)
		if (strcmp(logfmt_get(&lf.lines[i], "level"), "debug") == 0)
			fail_msg("a debug line at info: %s", logfmt_get(&lf.lines[i], "msg"));
}

/* Counts what the debug log says of one sandbox's state changes. */
struct state_lines {
	const char *sandbox;
	unsigned lines, held; /* "sandbox state" lines, and the counts of suppressed ones */
};

static void count_state_lines(const char *path, struct state_lines *c)
{
	static struct logfmt_line l;
	char *buf = NULL, *save;
	size_t len;

	assert_int_equal(peer_read_file(path, (void **)&buf, &len), 0);
	buf = realloc(buf, len + 1);
	assert_non_null(buf);
	buf[len] = '\0';
	for (char *s = strtok_r(buf, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
		const char *msg, *sb;

		if (sanitizer_line(s))
			continue;
		if (logfmt_parse(s, &l) < 0)
			fail_msg("not logfmt: %s", s);
		msg = logfmt_get(&l, "msg");
		sb = logfmt_get(&l, "sandbox");
		if (!msg || !sb || strcmp(sb, c->sandbox) != 0)
			continue;
		if (strcmp(msg, "sandbox state") == 0)
			c->lines++;
		else if (strcmp(msg, "sandbox state lines suppressed") == 0)
			c->held += (unsigned)atoi(logfmt_get(&l, "suppressed"));
	}
	free(buf);
}

/*
 * At debug every busy/idle/frozen change of a sandbox is logged, at most 10 per 10 s: the rest
 * are counted, and the count is logged (at the latest when the sandbox goes).
 */
static void debug_state_lines_are_held_back_past_a_burst(void **state)
{
	struct fx *f = *state;
	struct state_lines c = {.sandbox = "dg-1"};
	unsigned events = 1; /* the ready event cold_start takes */
	char path[160];
	uint64_t t0 = sl_now_ns(), secs;

	snprintf(path, sizeof(path), "%s/agent.log", f->p->base);
	f->p->stderr_path = path;
	setenv("SL_AGENT_LOG_LEVEL", "debug", 1);
	fx_start(f, "--idle-threshold", "5ms", NULL);
	unsetenv("SL_AGENT_LOG_LEVEL");
	cold_start(f, "dg-1", "logs", pkg_script(f->p, logs_sh), "", 128, 10000);
	/* each invocation: busy, then idle and frozen once BPF sees it quiet */
	for (int i = 0; i < 6; i++) {
		struct peer_rx *r = invoke(f, "req-dbg", "dg-1", "logs", "\"ok\"", false);

		peer_rx_free(r);
		expect_event(f, "dg-1", SL_SANDBOX_FROZEN, 0);
	}
	assert_true(peer_destroy(f->p, "dg-1") > 0);
	expect_event(f, "dg-1", SL_SANDBOX_DESTROYED, 0);
	secs = (sl_now_ns() - t0) / 1000000000ULL;
	assert_true(WIFEXITED(peer_agent_stop(f->p, SIGTERM, WAIT_MS)));
	/* every busy, idle and frozen event the control node got (the frozen ones taken above) */
	for (uint8_t st = SL_SANDBOX_BUSY; st <= SL_SANDBOX_FROZEN; st++)
		events += peer_count(f->p, &(struct peer_match){.type = SL_MSG_SANDBOX_EVENT,
								.sandbox_id = "dg-1",
								.state = st});
	events += 6;
	count_state_lines(path, &c);
	assert_true(events > 10);
	/* each change is either a line or counted in one; at most 10 lines per 10 s */
	assert_int_equal(c.lines + c.held, events);
	assert_true(c.lines <= 10 * (1 + secs / 10 + 1));
	if (secs < 9)
		assert_true(c.held > 0);
}

/* ---- the log tail ---- */

static void expect_tail_ends_with_marker(struct fx *f, const char *rid, const char *event)
{
	const char *marker = "LAST-LINE-MARKER\n";
	const struct sl_msg_invoke_result *res;
	struct peer_rx *r = invoke(f, rid, "", "flood", event, true);

	res = &PMSG(r)->result;
	expect_ok(r, "done");
	assert_int_equal(res->log_tail_len, 4096);
	if (memcmp((const char *)res->log_tail + res->log_tail_len - strlen(marker), marker,
		   strlen(marker)) != 0)
		fail_msg("%s: the tail does not end with the marker written last: ...%.80s", rid,
			 (const char *)res->log_tail + res->log_tail_len - 80);
	peer_rx_free(r);
}

static void log_tail_ends_with_the_last_line_under_a_flood(void **state)
{
	struct fx *f = *state;

	fx_start(f, NULL);
	cold_start(f, "fl-1", "flood", pkg_script(f->p, logs_sh), "", 128, 30000);
	/* stdout and stderr flooded at once, the marker written last on either */
	for (int i = 0; i < 4; i++) {
		char rid[32];

		snprintf(rid, sizeof(rid), "req-out-%d", i);
		expect_tail_ends_with_marker(f, rid, "\"flood-out\"");
		snprintf(rid, sizeof(rid), "req-err-%d", i);
		expect_tail_ends_with_marker(f, rid, "\"flood-err\"");
	}
}

/*
 * The agent reads each output 16 KB at a time as it becomes readable. Here it is stopped while
 * the function writes 40 KB to stderr, then the marker to stdout, then responds: it wakes with
 * all three to read at once. The tail must still end with the marker (with stdout and stderr
 * in two pipes, the stderr left unread was drained after the marker).
 */
static void log_tail_keeps_the_order_written(void **state)
{
	struct fx *f = *state;
	const struct peer_match busy = {
		.type = SL_MSG_SANDBOX_EVENT, .sandbox_id = "fl-2", .state = SL_SANDBOX_BUSY};
	struct peer_rx *r;
	int64_t corr;

	fx_start(f, NULL);
	cold_start(f, "fl-2", "flood", pkg_script(f->p, logs_sh), "", 128, 30000);
	corr = peer_invoke(f->p, "req-burst", "fl-2", "flood", "\"burst\"", 7, true);
	assert_true(corr > 0);
	/* the event is with the runtime (which sleeps 1 s before writing): stop the agent */
	r = peer_wait(f->p, &busy, WAIT_MS);
	assert_non_null(r);
	peer_rx_free(r);
	assert_int_equal(kill(f->p->pid, SIGSTOP), 0);
	sleep(3);
	assert_int_equal(kill(f->p->pid, SIGCONT), 0);
	r = peer_wait(f->p, &(struct peer_match){.corr = (uint64_t)corr}, WAIT_MS);
	assert_non_null(r);
	expect_ok(r, "done");
	assert_int_equal(PMSG(r)->result.log_tail_len, 4096);
	if (memcmp((const char *)PMSG(r)->result.log_tail + 4096 - 17, "LAST-LINE-MARKER\n", 17))
		fail_msg("the tail does not end with the marker written last: ...%.60s",
			 (const char *)PMSG(r)->result.log_tail + 4096 - 60);
	peer_rx_free(r);
}

/* ---- restarts and signals ---- */

/* Entries of dir named as agent process pid's sandboxes and shells ("s<slot>-<pid>-<seq>"). */
static int cgroups_of(const char *dir, pid_t pid)
{
	char needle[24];
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	snprintf(needle, sizeof(needle), "-%d-", (int)pid);
	while ((e = readdir(d)))
		n += e->d_type == DT_DIR && e->d_name[0] == 's' && strstr(e->d_name, needle);
	closedir(d);
	return n;
}

/* Waits until there are n of them (the pool refills a little after a take). */
static int wait_cgroups_of(const char *dir, pid_t pid, int n)
{
	uint64_t until = sl_now_ns() + (uint64_t)WAIT_MS * SL_NSEC_PER_MSEC;
	int have;

	while ((have = cgroups_of(dir, pid)) != n && sl_now_ns() < until)
		usleep(20 * 1000);
	return have;
}

/* The value of a sample line "name value" (or "name{labels} value") in a scrape. */
static long metric(const char *scrape, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = scrape; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (strncmp(l, name, n) == 0 && l[n] == ' ')
			return strtol(l + n + 1, NULL, 10);
	fail_msg("no sample %s in the scrape", name);
	return -1;
}

/*
 * A SIGKILLed agent leaves its sandboxes and the shells its pool made ahead; its successor
 * removes both and says which were which (the shells ran nothing), and counts neither as its
 * own sandboxes.
 */
static void restart_tells_sandboxes_from_pool_shells(void **state)
{
	struct fx *f = *state;
	static struct logfile lf;
	char path[160], dir[1200], *slash, *body = NULL;
	const char *states[] = {"created", "busy", "idle", "frozen"};
	pid_t old;
	json_t *j;

	snprintf(path, sizeof(path), "%s/agent.log", f->p->base);
	f->p->stderr_path = path;
	fx_start(f, NULL);
	cold_start(f, "rs-1", "logs", pkg_script(f->p, logs_sh), "", 128, 30000);
	cold_start(f, "rs-2", "logs", pkg_script(f->p, logs_sh), "", 128, 30000);
	assert_int_equal(peer_sandbox_cgroup(f->p, "rs-1", dir, sizeof(dir)), 0);
	slash = strrchr(dir, '/');
	assert_non_null(slash);
	*slash = '\0'; /* <agent's v2 cgroup>/sandlot */
	old = f->p->pid;
	/* two sandboxes and the pool's four shells (daemon.c: pool_size 4) */
	assert_int_equal(wait_cgroups_of(dir, old, 6), 6);
	assert_true(WIFSIGNALED(peer_agent_stop(f->p, 0, 0)));
	assert_int_equal(cgroups_of(dir, old), 6); /* nobody cleaned up yet */
	peer_clear(f->p);

	fx_start(f, NULL);
	assert_int_equal(cgroups_of(dir, old), 0);
	assert_int_equal(peer_http_get(f->p, "/healthz", &body), 200);
	j = json_loads(body, 0, NULL);
	free(body);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "sandboxes")), 0);
	json_decref(j);
	assert_int_equal(peer_http_get(f->p, "/metrics", &body), 200);
	for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
		char name[80];

		snprintf(name, sizeof(name), "sandlot_agent_sandboxes{state=\"%s\"}", states[i]);
		assert_int_equal(metric(body, name), 0);
	}
	assert_null(strstr(body, "sandlot_sandbox_info{"));
	free(body);
	assert_true(WIFEXITED(peer_agent_stop(f->p, SIGTERM, WAIT_MS)));

	read_log(path, &lf);
	find_line(&lf, "leftovers of dead runtimes removed", "level", "info", "sandboxes", "2",
		  "pool_shells", "4", NULL);
	assert_int_equal(count_msg(&lf, "leftovers of dead runtimes removed"), 1);
}

/* Waits until the log at path has a line containing needle. */
static bool wait_log(const char *path, const char *needle)
{
	uint64_t until = sl_now_ns() + (uint64_t)WAIT_MS * SL_NSEC_PER_MSEC;

	do {
		char *buf = NULL;
		size_t len;
		bool found = false;

		if (peer_read_file(path, (void **)&buf, &len) == 0) {
			buf = realloc(buf, len + 1);
			assert_non_null(buf);
			buf[len] = '\0';
			found = strstr(buf, needle) != NULL;
		}
		free(buf);
		if (found)
			return true;
		usleep(20 * 1000);
	} while (sl_now_ns() < until);
	return false;
}

/* SIGHUP is logged and ignored (docs/agent.md): no drain, the sandboxes keep serving. */
static void sighup_is_logged_and_ignored(void **state)
{
	struct fx *f = *state;
	static struct logfile lf;
	char path[160], *body = NULL;
	struct peer_rx *r;

	snprintf(path, sizeof(path), "%s/agent.log", f->p->base);
	f->p->stderr_path = path;
	fx_start(f, NULL);
	cold_start(f, "hup-1", "logs", pkg_script(f->p, logs_sh), "", 128, 30000);
	assert_int_equal(kill(f->p->pid, SIGHUP), 0);
	assert_true(wait_log(path, "signal=SIGHUP"));
	r = invoke(f, "req-hup", "hup-1", "logs", "\"ok\"", false);
	expect_ok(r, "done");
	peer_rx_free(r);
	assert_int_equal(peer_http_get(f->p, "/healthz", &body), 200);
	assert_non_null(strstr(body, "\"status\":\"ok\""));
	free(body);
	/* a SIGTERM after it is the first stop signal: a drain, exit 0 */
	int st = peer_agent_stop(f->p, SIGTERM, WAIT_MS);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	read_log(path, &lf);
	find_line(&lf, "signal ignored (logs go to stderr: nothing to reopen)", "level", "info",
		  "signal", "SIGHUP", NULL);
	find_line(&lf, "sandbox destroyed", "sandbox", "hup-1", "reason", "drain", NULL);
	assert_int_equal(count_msg(&lf, "draining, then exiting"), 1);
	find_line(&lf, "draining, then exiting", "signal", "SIGTERM", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(info_lines_tell_a_sandbox_life, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(debug_state_lines_are_held_back_past_a_burst,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_tail_ends_with_the_last_line_under_a_flood,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_tail_keeps_the_order_written, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(restart_tells_sandboxes_from_pool_shells, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(sighup_is_logged_and_ignored, fx_setup,
						fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
