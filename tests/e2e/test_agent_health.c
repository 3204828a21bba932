// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's health tells the truth: /healthz is 503 "unregistered" until the control node
 * acknowledged it, a control node that does not answer is warned about (endpoint, error,
 * attempts), an unresolvable --control host is an error at start, the local API answers 405
 * with Allow, and a forced (second-signal) stop exits non-zero. A real sandlot-agent against the
 * test control node (agentpeer.h). Needs root.
 */
#include "testutil.h"

#include "agenttest.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define ERR_MAX 65536

/* An agent started here (not through peer_agent_start, which waits for registration). */
struct bare {
	pid_t pid;
	int err_fd; /* its stderr, non-blocking */
	char err[ERR_MAX];
	size_t n;
};

static struct bare *cur; /* killed by the teardown whatever happens */

static int bare_teardown(void **state)
{
	if (cur && cur->pid > 0) {
		uint64_t until = sl_now_ns() + (uint64_t)WAIT_MS * SL_NSEC_PER_MSEC;
		pid_t r = 0;

		kill(cur->pid, SIGTERM);
		while ((r = waitpid(cur->pid, NULL, WNOHANG)) == 0 && sl_now_ns() < until)
			usleep(20000);
		if (r == 0) {
			kill(cur->pid, SIGKILL);
			waitpid(cur->pid, NULL, 0);
		} else {
			assert_int_equal(peer_leftover_cgroups(cur->pid), 0);
		}
	}
	if (cur && cur->err_fd >= 0)
		close(cur->err_fd);
	free(cur);
	cur = NULL;
	return fx_teardown(state);
}

/* Starts the agent with p's key, state dir, pin root and listen endpoint, and control. */
static struct bare *bare_start(struct peer *p, const char *control)
{
	const char *argv[] = {
		sl_test_agent(), "--key-file",	p->key_path,   "--control",  control,
		"--listen",	 p->listen_url, "--state-dir", p->state_dir, "--bpf-pin-root",
		p->pin_root,	 "--http",	p->http,       NULL};
	struct bare *b = calloc(1, sizeof(*b));
	int pe[2];

	assert_non_null(b);
	cur = b;
	snprintf(p->http, sizeof(p->http), "127.0.0.1:%d", peer_free_port());
	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	b->pid = fork();
	if (b->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pe[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pe[1]);
	b->err_fd = pe[0];
	fcntl(b->err_fd, F_SETFL, O_NONBLOCK);
	return b;
}

/* Reads its stderr until needle appears (true) or WAIT_MS passed (false). */
static bool bare_wait_log(struct bare *b, const char *needle)
{
	uint64_t until = sl_now_ns() + (uint64_t)WAIT_MS * SL_NSEC_PER_MSEC;

	while (!strstr(b->err, needle) && sl_now_ns() < until) {
		struct pollfd pf = {.fd = b->err_fd, .events = POLLIN};
		if (poll(&pf, 1, 100) <= 0)
			continue;
		ssize_t r = read(b->err_fd, b->err + b->n, sizeof(b->err) - 1 - b->n);
		if (r <= 0)
			break;
		b->n += (size_t)r;
		b->err[b->n] = '\0';
	}
	return strstr(b->err, needle) != NULL;
}

/* GET /healthz until it answers: its HTTP status, body in *ret. */
static int healthz(struct peer *p, char **ret)
{
	uint64_t until = sl_now_ns() + (uint64_t)WAIT_MS * SL_NSEC_PER_MSEC;
	int code;

	while ((code = peer_http_get(p, "/healthz", ret)) < 0 && sl_now_ns() < until)
		usleep(20000);
	return code;
}

/* The control node is there but has not answered yet (we do not pump it): 503. */
static void healthz_is_503_until_registered(void **state)
{
	struct fx *f = *state;
	char *body = NULL;

	bare_start(f->p, f->p->url);
	assert_int_equal(healthz(f->p, &body), 503);
	assert_non_null(strstr(body, "\"status\":\"unregistered\""));
	free(body);
	f->p->pid = cur->pid; /* now the peer answers it */
	while (!f->p->known)
		peer_pump(f->p, 20);
	assert_int_equal(healthz(f->p, &body), 200);
	assert_non_null(strstr(body, "\"status\":\"ok\""));
	free(body);
	f->p->pid = -1; /* ours to stop */
}

/* Nobody at the endpoint: a warning naming it, the error and the attempts, then backoff. */
static void unreachable_control_is_warned_about(void **state)
{
	struct fx *f = *state;
	char url[200], *body = NULL;

	snprintf(url, sizeof(url), "ipc://%s/nobody.ipc", f->p->base);
	struct bare *b = bare_start(f->p, url);
	if (!bare_wait_log(b, "no answer after 4 attempts"))
		fail_msg("no warning: %s", b->err);
	assert_non_null(strstr(b->err, url));
	assert_int_equal(healthz(f->p, &body), 503);
	free(body);
	if (!bare_wait_log(b, "no answer after 8 attempts"))
		fail_msg("no second warning: %s", b->err);
	/* not one per try: attempts 5 to 7 said nothing */
	assert_null(strstr(b->err, "after 5 attempts"));
	assert_int_equal(kill(b->pid, SIGTERM), 0);
	assert_int_equal(waitpid(b->pid, NULL, 0), b->pid);
	b->pid = -1;
}

static void unresolvable_control_is_an_error(void **state)
{
	struct fx *f = *state;
	struct bare *b = bare_start(f->p, "tcp://no-such-host.invalid:7400");
	int st;

	assert_true(bare_wait_log(b, "cannot resolve 'no-such-host.invalid'"));
	assert_int_equal(waitpid(b->pid, &st, 0), b->pid);
	b->pid = -1;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	return s * n;
}

static size_t keep_allow(char *line, size_t s, size_t n, void *u)
{
	if (n * s > 6 && strncasecmp(line, "Allow:", 6) == 0)
		snprintf(u, 64, "%.*s", (int)(n * s), line);
	return s * n;
}

static void method_not_allowed_says_allow(void **state)
{
	struct fx *f = *state;
	char url[128], allow[64] = "";
	long code = 0;
	CURL *c = curl_easy_init();

	fx_start(f, NULL);
	snprintf(url, sizeof(url), "http://%s/healthz", f->p->http);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_allow);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, allow);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	assert_int_equal(code, 405);
	assert_non_null(strstr(allow, "GET"));
}

/* A second SIGTERM while work is in flight stops at once: not a clean exit. */
static void forced_stop_exits_nonzero(void **state)
{
	struct fx *f = *state;
	int st;

	fx_start(f, NULL);
	cold_start(f, "fs", "actions", pkg_script(f->p, actions_sh()), "", 128, 60000);
	peer_invoke(f->p, "req-sleep", "fs", "actions", "\"sleep\"", 7, false);
	expect_event(f, "fs", SL_SANDBOX_BUSY, SL_REASON_INVOKE);
	assert_int_equal(kill(f->p->pid, SIGTERM), 0);
	peer_pump(f->p, 200);
	assert_int_equal(kill(f->p->pid, SIGTERM), 0);
	st = peer_agent_wait(f->p, WAIT_MS);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(healthz_is_503_until_registered, fx_setup,
						bare_teardown),
		cmocka_unit_test_setup_teardown(unreachable_control_is_warned_about, fx_setup,
						bare_teardown),
		cmocka_unit_test_setup_teardown(unresolvable_control_is_an_error, fx_setup,
						bare_teardown),
		cmocka_unit_test_setup_teardown(method_not_allowed_says_allow, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(forced_stop_exits_nonzero, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
