// SPDX-License-Identifier: Apache-2.0
/*
 * The agent daemon end to end, part 1: invocations. A real sandlot-agent runs against the test
 * control node (agentpeer.h) over real nanomsg sockets; functions are the examples (C, shell,
 * Python) and small test runtimes, packaged as zips and fetched by the agent over the protocol.
 * Needs root (sandboxes, cgroups, BPF).
 */
#include "testutil.h"

#include "agenttest.h"

#include <sys/stat.h>

/* Echoes what the function sees (headers, environment) and probes the Runtime API's refusals. */
static const char echo_py[] =
	"#!/usr/bin/env python3\n"
	"import json, os, urllib.request, urllib.error\n"
	"api = 'http://%s/2018-06-01/runtime' % os.environ['AWS_LAMBDA_RUNTIME_API']\n"
	"def post(path, body, headers={}):\n"
	"    req = urllib.request.Request(api + path, data=body, method='POST', headers=headers)\n"
	"    try:\n"
	"        with urllib.request.urlopen(req) as r:\n"
	"            return r.status\n"
	"    except urllib.error.HTTPError as e:\n"
	"        return e.code\n"
	"while True:\n"
	"    with urllib.request.urlopen(api + '/invocation/next') as r:\n"
	"        headers = {k.lower(): v for k, v in r.headers.items()}\n"
	"        event = r.read().decode()\n"
	"    rid = headers['lambda-runtime-aws-request-id']\n"
	"    out = {'headers': headers, 'env': dict(os.environ), 'event': event,\n"
	"           'uid': os.getuid(), 'task': sorted(os.listdir('/var/task'))}\n"
	"    if event == '\"probe\"':\n"
	"        out['wrong_id'] = post('/invocation/not-this-one/response', b'{}')\n"
	"        out['late_init_error'] = post('/init/error', b'{}')\n"
	"    if event == '\"error\"':\n"
	"        post('/invocation/%s/error' % rid,\n"
	"             b'{\"errorMessage\":\"boom\",\"errorType\":\"Test.Boom\"}',\n"
	"             {'Lambda-Runtime-Function-Error-Type': 'Function.Test'})\n"
	"        continue\n"
	"    post('/invocation/%s/response' % rid, json.dumps(out).encode())\n";

static const char exits_sh[] = "#!/bin/sh\necho 'no runtime here' >&2\nexit 3\n";

/* ---- the examples, cold and warm ---- */

static void cold_then_warm(struct fx *f, const struct peer_pkg *pkg, const char *handler,
			   const char *event, const char *want)
{
	struct peer_rx *r;

	fx_start(f, NULL);
	cold_start(f, "sb-1", "example", pkg, handler, 128, 10000);
	/* the first invocation is the cold one: it reports the init time */
	r = invoke(f, "req-1", "sb-1", "example", event, false);
	assert_true(expect_ok(r, want) > 0);
	assert_string_equal(PMSG(r)->result.sandbox_id, "sb-1");
	assert_true(PMSG(r)->result.max_memory_bytes > 0);
	peer_rx_free(r);
	/* warm: any sandbox of the function will do; the same one serves, no init time */
	for (int i = 2; i <= 4; i++) {
		char rid[16];

		snprintf(rid, sizeof(rid), "req-%d", i);
		r = invoke(f, rid, "", "example", event, false);
		assert_int_equal(expect_ok(r, want), 0);
		assert_string_equal(PMSG(r)->result.sandbox_id, "sb-1");
		assert_string_equal(PMSG(r)->result.request_id, rid);
		assert_true(PMSG(r)->result.max_memory_bytes > 0);
		assert_true(PMSG(r)->result.duration_ns > 0);
		peer_rx_free(r);
	}
	/* the code came over the protocol, once (in as many chunks as its size needs) */
	assert_int_equal(f->p->fetch_starts, 1);
}

static void c_example_runs_cold_then_warm(void **state)
{
	struct fx *f = *state;

	cold_then_warm(f, pkg_c_example(f->p), "", "{\"say\":\"hello\"}", "{\"SAY\":\"HELLO\"}");
}

static void shell_example_runs_cold_then_warm(void **state)
{
	struct fx *f = *state;

	cold_then_warm(f, pkg_example(f->p, "shell", "function.sh"), "function.handler",
		       "{\"say\":\"hello\"}", "{\"SAY\":\"HELLO\"}");
}

static void python_example_runs_cold_then_warm(void **state)
{
	struct fx *f = *state;

	cold_then_warm(f, pkg_example(f->p, "python", "function.py"), "function.handler",
		       "{\"say\":\"hello\"}", "{\"SAY\":\"HELLO\"}");
}

static void invocation_waits_for_a_starting_sandbox(void **state)
{
	struct fx *f = *state;
	struct peer_rx *r;
	int64_t create;

	fx_start(f, NULL);
	/* sent at once: the code is still being fetched, then the runtime starts */
	create = peer_create(f->p, "q-1", "queued", pkg_c_example(f->p), "", 128, 10000);
	assert_true(create > 0);
	r = invoke(f, "req-queued", "q-1", "queued", "\"abc\"", false);
	assert_true(expect_ok(r, "\"ABC\"") > 0); /* a cold start */
	peer_rx_free(r);
	/* the create is answered when the runtime takes the event: busy, not idle */
	r = peer_wait(f->p, &(struct peer_match){.corr = (uint64_t)create}, WAIT_MS);
	assert_non_null(r);
	assert_int_equal(PMSG(r)->type, SL_MSG_SANDBOX_EVENT);
	assert_int_equal(PMSG(r)->event.state, SL_SANDBOX_BUSY);
	peer_rx_free(r);
	/* a second one may not queue behind it */
	assert_true(peer_create(f->p, "q-2", "queued", pkg_c_example(f->p), "", 128, 10000) > 0);
	assert_true(peer_invoke(f->p, "req-a", "q-2", "queued", "1", 1, false) > 0);
	r = invoke(f, "req-b", "q-2", "queued", "2", false);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_NO_SANDBOX);
	peer_rx_free(r);
	r = peer_wait(f->p, &(struct peer_match){.type = SL_MSG_INVOKE_RESULT, .sandbox_id = "q-2"},
		      WAIT_MS);
	assert_non_null(r);
	expect_ok(r, "1");
	peer_rx_free(r);
}

static void examples_report_function_errors(void **state)
{
	struct fx *f = *state;
	struct peer_rx *r;
	char *s;

	fx_start(f, NULL);
	cold_start(f, "c", "cfn", pkg_c_example(f->p), "", 128, 10000);
	cold_start(f, "sh", "shfn", pkg_example(f->p, "shell", "function.sh"), "function.handler",
		   128, 10000);
	cold_start(f, "py", "pyfn", pkg_example(f->p, "python", "function.py"), "function.handler",
		   128, 10000);
	const char *fns[] = {"cfn", "shfn", "pyfn"};
	const char *types[] = {"Function.AskedToFail", "Function.ShellError", "ValueError"};
	for (int i = 0; i < 3; i++) {
		r = invoke(f, "req-fail", "", fns[i], "{\"fail\":1}", false);
		assert_int_equal(PMSG(r)->result.status, SL_INVOKE_FUNCTION_ERROR);
		assert_string_equal(PMSG(r)->result.function_error, "Unhandled");
		s = payload_str(r);
		if (!strstr(s, types[i]))
			fail_msg("%s: error body %s has no %s", fns[i], s, types[i]);
		free(s);
		peer_rx_free(r);
		/* a function error leaves the sandbox warm */
		r = invoke(f, "req-ok", "", fns[i], "{\"a\":\"b\"}", false);
		expect_ok(r, "{\"A\":\"B\"}");
		peer_rx_free(r);
	}
}

/* ---- the Runtime API as the function sees it ---- */

static json_t *echo(struct fx *f, const char *rid, const char *event)
{
	struct peer_rx *r = invoke(f, rid, "", "echo", event, false);
	char *s = payload_str(r);
	json_t *j;

	if (PMSG(r)->result.status != SL_INVOKE_OK)
		fail_msg("status %u: %s", PMSG(r)->result.status, s);
	j = json_loads(s, 0, NULL);
	if (!j)
		fail_msg("not JSON: %s", s);
	free(s);
	peer_rx_free(r);
	return j;
}

static const char *jstr(json_t *j, const char *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(json_object_get(j, obj), key));

	if (!v)
		fail_msg("%s.%s missing", obj, key);
	return v;
}

static void function_sees_lambda_headers_and_environment(void **state)
{
	struct fx *f = *state;
	const char *env[] = {"GREETING=hi there", "TZ=Europe/Paris", NULL};
	uint64_t before = sl_wall_ns() / SL_NSEC_PER_MSEC;
	json_t *j;

	fx_start(f, "--region", "eu-west-3", NULL);
	assert_true(peer_create_env(f->p, "echo-1", "echo", pkg_script(f->p, echo_py), "my.handler",
				    256, 30000, env) > 0);
	expect_event(f, "echo-1", SL_SANDBOX_IDLE, 0);
	j = echo(f, "0c5f2a8e-1d2b-4c3d-9e8f-123456789abc", "{\"k\":1}");
	assert_string_equal(jstr(j, "headers", "lambda-runtime-aws-request-id"),
			    "0c5f2a8e-1d2b-4c3d-9e8f-123456789abc");
	assert_string_equal(jstr(j, "headers", "lambda-runtime-invoked-function-arn"),
			    "arn:aws:lambda:us-east-1:123456789012:function:echo");
	assert_string_equal(jstr(j, "headers", "lambda-runtime-trace-id"),
			    "Root=1-5e1b4151-5ac6c58f3375aa3c7c6b73c9;Parent=1;Sampled=0");
	/* the deadline is the function's timeout (30 s), earlier than the invoker's (900 s) */
	uint64_t deadline = strtoull(jstr(j, "headers", "lambda-runtime-deadline-ms"), NULL, 10);
	assert_true(deadline >= before + 29000 && deadline <= before + 31000 + WAIT_MS);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "{\"k\":1}");
	assert_string_equal(jstr(j, "env", "AWS_LAMBDA_RUNTIME_API"), "127.0.0.1:9001");
	assert_string_equal(jstr(j, "env", "_HANDLER"), "my.handler");
	assert_string_equal(jstr(j, "env", "LAMBDA_TASK_ROOT"), "/var/task");
	assert_string_equal(jstr(j, "env", "AWS_LAMBDA_FUNCTION_NAME"), "echo");
	assert_string_equal(jstr(j, "env", "AWS_LAMBDA_FUNCTION_VERSION"), "$LATEST");
	assert_string_equal(jstr(j, "env", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), "256");
	assert_string_equal(jstr(j, "env", "AWS_REGION"), "eu-west-3");
	assert_string_equal(jstr(j, "env", "TZ"), "Europe/Paris"); /* overridable, as in Lambda */
	assert_non_null(strstr(jstr(j, "env", "PATH"), "/usr/bin"));
	assert_non_null(strstr(jstr(j, "env", "LD_LIBRARY_PATH"), "/var/task"));
	assert_string_equal(jstr(j, "env", "GREETING"), "hi there");
	assert_true(json_integer_value(json_object_get(j, "uid")) > 0); /* never root */
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "task"), 0)),
			    "bootstrap");
	json_decref(j);

	/* refusals as Lambda's server makes them, without harm to the invocation */
	j = echo(f, "req-probe", "\"probe\"");
	assert_int_equal(json_integer_value(json_object_get(j, "wrong_id")), 400);
	assert_int_equal(json_integer_value(json_object_get(j, "late_init_error")), 403);
	json_decref(j);

	/* POST .../error: the invoker gets the runtime's error body as it was sent */
	struct peer_rx *r = invoke(f, "req-error", "", "echo", "\"error\"", false);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_FUNCTION_ERROR);
	assert_string_equal(PMSG(r)->result.function_error, "Unhandled");
	char *s = payload_str(r);
	assert_string_equal(s, "{\"errorMessage\":\"boom\",\"errorType\":\"Test.Boom\"}");
	free(s);
	peer_rx_free(r);
	/* and it stays warm */
	j = echo(f, "req-after", "2");
	json_decref(j);
}

/* ---- failures ---- */

static void timeout_destroys_the_sandbox(void **state)
{
	struct fx *f = *state;
	struct peer_rx *r;
	char *s;

	fx_start(f, NULL);
	cold_start(f, "slow", "actions", pkg_script(f->p, actions_sh()), "", 128, 1000);
	r = invoke(f, "req-sleep", "slow", "actions", "\"sleep\"", false);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_TIMEOUT);
	assert_string_equal(PMSG(r)->result.function_error, "Unhandled");
	s = payload_str(r);
	if (!strstr(s, "Task timed out after 1.00 seconds"))
		fail_msg("timeout error: %s", s);
	assert_non_null(strstr(s, "req-sleep"));
	free(s);
	peer_rx_free(r);
	expect_event(f, "slow", SL_SANDBOX_DESTROYED, SL_REASON_TIMEOUT);
	assert_int_equal(n_sandboxes(f), 0);
	/* nothing warm is left for the function */
	r = invoke(f, "req-next", "", "actions", "\"x\"", false);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_NO_SANDBOX);
	peer_rx_free(r);
}

static void init_error_is_reported_and_the_sandbox_destroyed(void **state)
{
	struct fx *f = *state;
	const struct peer_pkg *py = pkg_example(f->p, "python", "function.py");
	struct peer_rx *r;
	int64_t corr;
	char *s;

	fx_start(f, NULL);
	/* POST init/error with no invocation waiting: the create is answered by the destruction */
	corr = peer_create(f->p, "bad-1", "badfn", py, "nosuchmodule.handler", 128, 10000);
	assert_true(corr > 0);
	r = wait_event(f, "bad-1", SL_SANDBOX_DESTROYED, SL_REASON_INIT_ERROR);
	assert_int_equal(PMSG(r)->corr_id, (uint64_t)corr);
	peer_rx_free(r);

	/* an invocation queued on the starting sandbox gets the runtime's init error */
	assert_true(peer_create(f->p, "bad-2", "badfn", py, "nosuchmodule.handler", 128, 10000) >
		    0);
	r = invoke(f, "req-cold", "bad-2", "badfn", "{}", false);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_INIT_ERROR);
	s = payload_str(r);
	if (!strstr(s, "nosuchmodule"))
		fail_msg("init error body: %s", s);
	free(s);
	peer_rx_free(r);
	expect_event(f, "bad-2", SL_SANDBOX_DESTROYED, SL_REASON_INIT_ERROR);
	assert_int_equal(n_sandboxes(f), 0);
}

static void bootstrap_exiting_before_next_is_an_init_error(void **state)
{
	struct fx *f = *state;
	const struct peer_pkg *pkg = pkg_script(f->p, exits_sh);
	struct peer_rx *r;
	char *s;

	fx_start(f, NULL);
	assert_true(peer_create(f->p, "ex-1", "exits", pkg, "", 128, 10000) > 0);
	r = invoke(f, "req-cold", "ex-1", "exits", "{}", true);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_INIT_ERROR);
	s = payload_str(r);
	if (!strstr(s, "exit status 3"))
		fail_msg("init error body: %s", s);
	free(s);
	peer_rx_free(r);
	expect_event(f, "ex-1", SL_SANDBOX_DESTROYED, SL_REASON_INIT_ERROR);
}

static void runtime_crash_mid_invocation_is_reported(void **state)
{
	struct fx *f = *state;
	struct peer_rx *r;
	char *s;

	fx_start(f, NULL);
	cold_start(f, "cr", "actions", pkg_script(f->p, actions_sh()), "", 128, 10000);
	r = invoke(f, "req-crash", "", "actions", "\"crash\"", true);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_RUNTIME_EXIT);
	assert_string_equal(PMSG(r)->result.function_error, "Unhandled");
	s = payload_str(r);
	if (!strstr(s, "Runtime exited with error: exit status 7"))
		fail_msg("crash body: %s", s);
	free(s);
	peer_rx_free(r);
	expect_event(f, "cr", SL_SANDBOX_DESTROYED, SL_REASON_CRASH);
	assert_int_equal(n_sandboxes(f), 0);
}

static void log_tail_is_the_last_4kb(void **state)
{
	struct fx *f = *state;
	const struct sl_msg_invoke_result *res;
	struct peer_rx *r;
	const char *end = "xxxxEND-OF-LOG\n";

	fx_start(f, NULL);
	cold_start(f, "lg", "actions", pkg_script(f->p, actions_sh()), "", 128, 10000);
	r = invoke(f, "req-log", "", "actions", "\"log\"", true);
	res = &PMSG(r)->result;
	expect_ok(r, "done");
	assert_int_equal(res->log_tail_len, 4096);
	assert_memory_equal((const char *)res->log_tail + 4096 - strlen(end), end, strlen(end));
	assert_int_equal(((const char *)res->log_tail)[0], 'x');
	peer_rx_free(r);
	/* without LogType: Tail, no tail */
	r = invoke(f, "req-log2", "", "actions", "\"log\"", false);
	assert_int_equal(PMSG(r)->result.log_tail_len, 0);
	peer_rx_free(r);
	/* each invocation's tail is its own */
	r = invoke(f, "req-quiet", "", "actions", "\"quiet\"", true);
	assert_int_equal(PMSG(r)->result.log_tail_len, 0);
	peer_rx_free(r);
}

/* A runtime that answers with more than Lambda's 6 MB, then behaves. */
static const char big_py[] =
	"#!/usr/bin/env python3\n"
	"import os, urllib.request\n"
	"api = 'http://%s/2018-06-01/runtime' % os.environ['AWS_LAMBDA_RUNTIME_API']\n"
	"while True:\n"
	"    with urllib.request.urlopen(api + '/invocation/next') as r:\n"
	"        rid = r.headers['Lambda-Runtime-Aws-Request-Id']\n"
	"        event = r.read()\n"
	"    body = b'x' * (7 << 20) if event == b'\"big\"' else b'small'\n"
	"    req = urllib.request.Request(api + '/invocation/%s/response' % rid, data=body)\n"
	"    try:\n"
	"        urllib.request.urlopen(req).read()\n"
	"    except Exception:\n"
	"        pass\n";

static void oversized_response_is_a_function_error(void **state)
{
	struct fx *f = *state;
	struct peer_rx *r;
	char *s;

	fx_start(f, NULL);
	cold_start(f, "big", "big", pkg_script(f->p, big_py), "", 256, 20000);
	cold_start(f, "other", "cfn", pkg_c_example(f->p), "", 128, 10000);
	r = invoke(f, "req-big", "big", "big", "\"big\"", false);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_FUNCTION_ERROR);
	s = payload_str(r);
	if (!strstr(s, "ResponseSizeTooLarge"))
		fail_msg("oversized response: %s", s);
	free(s);
	peer_rx_free(r);
	/* the sandbox and its neighbour go on */
	r = invoke(f, "req-small", "big", "big", "\"small\"", false);
	expect_ok(r, "small");
	peer_rx_free(r);
	r = invoke(f, "req-other", "other", "cfn", "\"x\"", false);
	expect_ok(r, "\"X\"");
	peer_rx_free(r);
}

static void invoke_without_a_warm_sandbox_says_so(void **state)
{
	struct fx *f = *state;
	struct peer_rx *r;

	fx_start(f, NULL);
	r = invoke(f, "req-1", "", "nobody", "{}", false);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_NO_SANDBOX);
	peer_rx_free(r);
	r = invoke(f, "req-2", "no-such-sandbox", "nobody", "{}", false);
	assert_int_equal(PMSG(r)->result.status, SL_INVOKE_NO_SANDBOX);
	peer_rx_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(c_example_runs_cold_then_warm, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(shell_example_runs_cold_then_warm, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(python_example_runs_cold_then_warm, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(invocation_waits_for_a_starting_sandbox, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(examples_report_function_errors, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(function_sees_lambda_headers_and_environment,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(timeout_destroys_the_sandbox, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(init_error_is_reported_and_the_sandbox_destroyed,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(bootstrap_exiting_before_next_is_an_init_error,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(runtime_crash_mid_invocation_is_reported, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(log_tail_is_the_last_4kb, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(oversized_response_is_a_function_error, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(invoke_without_a_warm_sandbox_says_so, fx_setup,
						fx_teardown),
	};

	if (getenv("SL_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SL_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
