// SPDX-License-Identifier: Apache-2.0
/*
 * The agent daemon as an operator starts it: configuration errors (an unresolvable host name
 * among them) are found before the host is touched (no state dir, BPF pin root or cgroup
 * made), host names work where addresses do, a second agent on the same state dir or
 * pin root refuses to start naming the first's pid, SANDLOT_BPF=off keeps BPF out. A real
 * sandlot-agent against the test control node (agentpeer.h). Needs root.
 */
#include "testutil.h"

#include "agenttest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define ERR_MAX 16384

/*
 * Runs the agent with p's key and control endpoint and the given options (NULL-terminated),
 * expecting it to exit by itself within WAIT_MS (else it is killed and the test fails). Returns
 * the wait status; stderr in err. Every process it starts is gone when it returns.
 */
static int agent_once(struct peer *p, char *err, size_t errlen, pid_t *ret_pid, ...)
{
	const char *argv[32] = {sl_test_agent(), "--key-file", p->key_path, "--control", p->url};
	size_t n = 5, got = 0;
	int pe[2], st = -1;
	const char *a;
	va_list ap;

	va_start(ap, ret_pid);
	while ((a = va_arg(ap, const char *)) && n < 31)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pe[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pe[1]);
	*ret_pid = pid;
	uint64_t until = sl_now_ns() + (uint64_t)WAIT_MS * SL_NSEC_PER_MSEC;
	struct pollfd pf = {.fd = pe[0], .events = POLLIN};
	bool eof = false;
	for (;;) {
		int ms = (int)((until - sl_now_ns()) / SL_NSEC_PER_MSEC);
		if (sl_now_ns() >= until || poll(&pf, 1, ms) <= 0)
			break;
		ssize_t r = read(pe[0], err + got, errlen - 1 - got);
		if (r <= 0) {
			eof = true; /* it exited (or is exiting) */
			break;
		}
		got += (size_t)r;
	}
	err[got] = '\0';
	close(pe[0]);
	if (waitpid(pid, &st, eof ? 0 : WNOHANG) != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fail_msg("the agent did not exit by itself: %s", err);
	}
	return st;
}

static bool exists(const char *path)
{
	struct stat s;

	return stat(path, &s) == 0;
}

static void expect_refused(int st, const char *err, const char *needle)
{
	assert_true(WIFEXITED(st));
	assert_int_not_equal(WEXITSTATUS(st), 0);
	if (!strstr(err, needle))
		fail_msg("stderr does not say '%s': %s", needle, err);
}

/* A missing key file and an impossible state dir: said, and nothing made on the host. */
static void config_errors_leave_host_untouched(void **state)
{
	struct fx *f = *state;
	char err[ERR_MAX], sdir[200], http[32];
	pid_t pid;
	int st;

	snprintf(sdir, sizeof(sdir), "%s/fresh-state", f->p->base);
	snprintf(http, sizeof(http), "127.0.0.1:%d", peer_free_port());
	assert_false(exists(f->p->pin_root));
	st = agent_once(f->p, err, sizeof(err), &pid, "--key-file", "/nonexistent/cluster.key",
			"--state-dir", sdir, "--bpf-pin-root", f->p->pin_root, "--http", http,
			"--listen", f->p->listen_url, NULL);
	expect_refused(st, err, "/nonexistent/cluster.key");
	assert_false(exists(sdir));
	assert_false(exists(f->p->pin_root));
	assert_int_equal(peer_leftover_cgroups(pid), 0);

	st = agent_once(f->p, err, sizeof(err), &pid, "--state-dir", "/proc/sandlot-test/x",
			"--bpf-pin-root", f->p->pin_root, "--http", http, "--listen",
			f->p->listen_url, NULL);
	expect_refused(st, err, "state dir /proc/sandlot-test/x");
	expect_refused(st, err, "err=");
	assert_false(exists(f->p->pin_root));
	assert_int_equal(peer_leftover_cgroups(pid), 0);
}

/* A port another process holds: said before anything is made. */
static void busy_port_is_found_before_touching_the_host(void **state)
{
	struct fx *f = *state;
	char err[ERR_MAX], http[32];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(http, sizeof(http), "127.0.0.1:%d", ntohs(sa.sin_port));
	int st = agent_once(f->p, err, sizeof(err), &pid, "--state-dir", f->p->state_dir,
			    "--bpf-pin-root", f->p->pin_root, "--http", http, "--listen",
			    f->p->listen_url, NULL);
	expect_refused(st, err, http);
	expect_refused(st, err, "Address already in use");
	assert_false(exists(f->p->pin_root));
	assert_int_equal(peer_leftover_cgroups(pid), 0);
	/* the same port behind a name */
	snprintf(http, sizeof(http), "localhost:%d", ntohs(sa.sin_port));
	st = agent_once(f->p, err, sizeof(err), &pid, "--state-dir", f->p->state_dir,
			"--bpf-pin-root", f->p->pin_root, "--http", http, "--listen",
			f->p->listen_url, NULL);
	close(fd);
	expect_refused(st, err, "Address already in use");
	assert_false(exists(f->p->pin_root));
	assert_int_equal(peer_leftover_cgroups(pid), 0);
}

/*
 * A host name that does not resolve, in any option that takes HOST:PORT, is bad usage: exit 2
 * and one line naming the option and the name, before anything is made on the host.
 */
static void unresolvable_names_are_usage_errors(void **state)
{
	/* RFC 6761: .invalid never resolves */
	static const char *const cases[][2] = {
		{"--control", "tcp://sandlot-test.invalid:7400"},
		{"--listen", "tcp://sandlot-test.invalid:7401"},
		{"--advertise", "tcp://sandlot-test.invalid:7401"},
		{"--http", "sandlot-test.invalid:7481"},
	};
	struct fx *f = *state;
	char err[ERR_MAX], sdir[200], http[32], needle[100];
	pid_t pid;

	snprintf(sdir, sizeof(sdir), "%s/fresh-state", f->p->base);
	snprintf(http, sizeof(http), "127.0.0.1:%d", peer_free_port());
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int st = agent_once(f->p, err, sizeof(err), &pid, "--state-dir", sdir,
				    "--bpf-pin-root", f->p->pin_root, "--http", http, "--listen",
				    f->p->listen_url, cases[i][0], cases[i][1], NULL);

		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) != 2)
			fail_msg("%s %s: exit %d, not 2: %s", cases[i][0], cases[i][1],
				 WEXITSTATUS(st), err);
		snprintf(needle, sizeof(needle), "%s %s: cannot resolve 'sandlot-test.invalid'",
			 cases[i][0], cases[i][1]);
		expect_refused(st, err, needle);
		if (strchr(err, '\n') != err + strlen(err) - 1)
			fail_msg("not one line: %s", err);
		assert_false(exists(sdir));
		assert_false(exists(f->p->pin_root));
		assert_int_equal(peer_leftover_cgroups(pid), 0);
	}
}

/*
 * Names that resolve work where addresses do: --listen and --http are bound at the name's
 * address, and the control node connects back to the name the agent advertises.
 */
static void host_names_are_resolved(void **state)
{
	struct fx *f = *state;
	char listen[64], http[64], *body = NULL;
	uint64_t until = sl_now_ns() + (uint64_t)WAIT_MS * SL_NSEC_PER_MSEC;
	int port = peer_free_port();

	snprintf(listen, sizeof(listen), "tcp://localhost:%d", peer_free_port());
	snprintf(http, sizeof(http), "localhost:%d", port);
	fx_start(f, "--listen", listen, "--http", http, NULL);
	assert_string_equal(f->p->agent_url, listen); /* advertised as named */
	/* the local API is where the name points */
	snprintf(f->p->http, sizeof(f->p->http), "127.0.0.1:%d", port);
	/* our REGISTER_ACK reached it through that name: it says it is registered */
	for (;;) {
		int code = peer_http_get(f->p, "/healthz", &body);
		bool ok = code == 200 && strstr(body, "\"status\":\"ok\"");

		free(body);
		body = NULL;
		if (ok)
			break;
		if (sl_now_ns() > until)
			fail_msg("/healthz never said ok (last %d)", code);
		peer_pump(f->p, 50);
	}
}

/* A second agent on the first's state dir, or on its pin root, refuses and names it. */
static void second_agent_is_refused(void **state)
{
	struct fx *f = *state;
	char err[ERR_MAX], sdir[200], pins[100], http[32], listen[200], who[40];
	pid_t pid;
	int st;

	fx_start(f, NULL);
	snprintf(who, sizeof(who), "pid %d", (int)f->p->pid);
	snprintf(sdir, sizeof(sdir), "%s/other-state", f->p->base);
	snprintf(pins, sizeof(pins), "%s-other", f->p->pin_root);
	snprintf(http, sizeof(http), "127.0.0.1:%d", peer_free_port());
	snprintf(listen, sizeof(listen), "ipc://%s/other.ipc", f->p->base);
	st = agent_once(f->p, err, sizeof(err), &pid, "--state-dir", f->p->state_dir,
			"--bpf-pin-root", pins, "--http", http, "--listen", listen, NULL);
	expect_refused(st, err, who);
	expect_refused(st, err, "state dir");
	assert_false(exists(pins));
	st = agent_once(f->p, err, sizeof(err), &pid, "--state-dir", sdir, "--bpf-pin-root",
			f->p->pin_root, "--http", http, "--listen", listen, NULL);
	expect_refused(st, err, who);
	expect_refused(st, err, "BPF pin root");
	/* the first one is unharmed */
	assert_int_equal(kill(f->p->pid, 0), 0);
}

/* SANDLOT_BPF=off: the daemon runs without loading (or pinning) anything. */
static void bpf_off_is_honoured(void **state)
{
	struct fx *f = *state;

	setenv("SANDLOT_BPF", "off", 1);
	fx_start(f, NULL);
	unsetenv("SANDLOT_BPF");
	assert_false(exists(f->p->pin_root));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(config_errors_leave_host_untouched, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(busy_port_is_found_before_touching_the_host,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(unresolvable_names_are_usage_errors, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(host_names_are_resolved, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(second_agent_is_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(bpf_off_is_honoured, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
