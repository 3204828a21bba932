// SPDX-License-Identifier: Apache-2.0
/*
 * What a sandbox gets from the process that starts it, tried as an attacker inside
 * `sandlot-agent run` would: the caller's terminal (TIOCSTI into the operator's shell), its
 * session and process group (kill(0, SIGCONT) resuming a stopped host process: any process
 * of the same session may be sent SIGCONT, whatever its uid), its controlling terminal, and
 * the rest of what a child inherits: fds, rlimits, umask, environment.
 */
#include "testutil.h"

#include "escaperun.h"

#include <sandlot/util.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define OUT_MAX 8192

/* The operator's case: `run` in an interactive session whose terminal is stdin. */
static void tiocsti_does_not_reach_the_callers_terminal(void **state)
{
	char out[OUT_MAX];
	int m, s;

	sl_test_require_root();
	sl_escape_pty(&m, &s);
	struct sl_escape_caller c = {.stdin_fd = s, .ctty = true};
	int st = sl_escape_run(&c, (const char *[]){"inject", "id > /tmp/pwned\n", NULL}, out,
			       sizeof(out));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("TIOCSTI from the sandbox (status %#x): %s", st, out);
	assert_non_null(strstr(out, "TIOCSTI: errno 1 "));
	assert_int_equal(sl_escape_tty_pending(s), 0); /* nothing typed into the terminal */
	close(m);
	close(s);
}

/* sid=1 pgid=1: CMD is in the session and process group its init started (pid 1 of its pid
 * namespace), not in the caller's (which it would see as 0: outside its namespace), and has
 * no controlling terminal though the caller has one. */
static void cmd_has_a_session_of_its_own_and_no_terminal(void **state)
{
	char out[OUT_MAX];
	int m, s;

	sl_test_require_root();
	sl_escape_pty(&m, &s);
	struct sl_escape_caller c = {.stdin_fd = s, .ctty = true};
	int st = sl_escape_run(&c, (const char *[]){"session", NULL}, out, sizeof(out));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (!strstr(out, "sid=1 pgid=1 tty_nr=0 tpgid=-1\n"))
		fail_msg("CMD's session: %s", out);
	close(m);
	close(s);
}

/* A process of ours, stopped, in the process group (and session) that `run` starts in. */
static pid_t stopped_victim(void)
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	assert_int_equal(kill(pid, SIGSTOP), 0);
	assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
	assert_true(WIFSTOPPED(st));
	return pid;
}

/* kill(0, SIGCONT), kill(-1, SIGCONT) and kill(-<the caller's pgid>, SIGCONT) from CMD. */
static void sigcont_does_not_reach_the_callers_process_group(void **state)
{
	struct sl_escape_caller c = {.stdin_fd = -1};
	char out[OUT_MAX], pgid[16];
	siginfo_t si = {0};

	sl_test_require_root();
	pid_t victim = stopped_victim();
	snprintf(pgid, sizeof(pgid), "%d", (int)getpgrp()); /* the victim's and run's */
	int st = sl_escape_run(&c, (const char *[]){"sigcont", pgid, NULL}, out, sizeof(out));
	/* SIGCONT takes effect when sent: by run's exit the victim would be running */
	int r = waitid(P_PID, (id_t)victim, &si, WCONTINUED | WNOHANG);
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(r, 0);
	if (si.si_pid == victim)
		fail_msg("the sandbox resumed a stopped process of its caller: %s", out);
}

/* The caller's odd settings, which CMD must not get. */
static void odd_caller(void)
{
	struct rlimit l;
	static const struct {
		int res;
		rlim_t cur;
	} soft[] = {{RLIMIT_CPU, 100000},    {RLIMIT_FSIZE, 1 << 20}, {RLIMIT_STACK, RLIM_INFINITY},
		    {RLIMIT_MEMLOCK, 65536}, {RLIMIT_MSGQUEUE, 1000}, {RLIMIT_SIGPENDING, 60000}};

	umask(0);
	setenv("SL_CALLERS_SECRET", "1", 1);
	if (dup2(0, 9) < 0) /* an fd without close-on-exec */
		_exit(126);
	for (size_t i = 0; i < ARRAY_SIZE(soft); i++) {
		getrlimit(soft[i].res, &l);
		l.rlim_cur = soft[i].cur < l.rlim_max ? soft[i].cur : l.rlim_max;
		setrlimit(soft[i].res, &l);
	}
	/* raised where we may (CAP_SYS_RESOURCE): real-time and nice priority */
	setrlimit(RLIMIT_RTPRIO, &(struct rlimit){50, 50});
	setrlimit(RLIMIT_NICE, &(struct rlimit){30, 30});
}

static long long rlim(rlim_t v)
{
	return v == RLIM_INFINITY ? -1LL : (long long)v;
}

/* min(want, hard), as creds.c caps what it sets; want -1: the hard limit itself. */
static long long capped(long long want, long long hard)
{
	if (want == -1)
		return hard;
	return hard == -1 || want < hard ? want : hard;
}

static void expect_rlimit(const char *out, int res, long long cur, long long max)
{
	struct rlimit l;
	char want[96];

	assert_int_equal(getrlimit(res, &l), 0); /* the caller's hard limit (odd_caller kept it) */
	if (res != RLIMIT_NOFILE && res != RLIMIT_CORE)
		max = capped(max, rlim(l.rlim_max));
	cur = capped(cur, max);
	snprintf(want, sizeof(want), "rlimit %d %lld %lld\n", res, cur, max);
	if (!strstr(out, want))
		fail_msg("expected %s in: %s", want, out);
}

static void nothing_else_inherited_from_the_caller(void **state)
{
	struct sl_escape_caller c = {.stdin_fd = -1, .prepare = odd_caller};
	char out[OUT_MAX];

	sl_test_require_root();
	int st = sl_escape_run(&c, (const char *[]){"inherited", NULL}, out, sizeof(out));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (!strstr(out, "fds: 0 1 2\n") || !strstr(out, "umask: 0022\n"))
		fail_msg("fds or umask from the caller: %s", out);
	if (strstr(out, "SL_CALLERS_SECRET") || !strstr(out, "env: PATH="))
		fail_msg("the caller's environment: %s", out);
	expect_rlimit(out, RLIMIT_CPU, -1, -1);
	expect_rlimit(out, RLIMIT_FSIZE, -1, -1);
	expect_rlimit(out, RLIMIT_DATA, -1, -1);
	expect_rlimit(out, RLIMIT_STACK, 8 << 20, -1);
	expect_rlimit(out, RLIMIT_CORE, 0, 0);
	expect_rlimit(out, RLIMIT_NOFILE, 1024, 1024);
	expect_rlimit(out, RLIMIT_MEMLOCK, 8 << 20, 8 << 20);
	expect_rlimit(out, RLIMIT_SIGPENDING, 4096, 4096);
	expect_rlimit(out, RLIMIT_MSGQUEUE, 819200, 819200);
	expect_rlimit(out, RLIMIT_NICE, 0, 0);
	expect_rlimit(out, RLIMIT_RTPRIO, 0, 0);
}

/* A real-time (CPU and I/O), raised-priority caller with ASLR off and READ_IMPLIES_EXEC. */
static void odd_scheduling_caller(void)
{
	struct sched_param fifo = {.sched_priority = 1};

	if (sched_setscheduler(0, SCHED_FIFO, &fifo) < 0 || setpriority(PRIO_PROCESS, 0, -5) < 0 ||
	    personality(ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC) < 0 ||
	    syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, 1 << 13 | 4 /* RT, 4 */) < 0)
		_exit(126);
}

/* CMD must not run real-time (the CPU quota binds only normal tasks) or with the caller's
 * raised priority, nor with its personality flags. On a hybrid host the old child could not
 * even start from a real-time caller: it could not join the v1 cpu cgroup. */
static void scheduling_and_personality_not_inherited(void **state)
{
	struct sl_escape_caller c = {.stdin_fd = -1, .prepare = odd_scheduling_caller};
	char out[OUT_MAX];

	sl_test_require_root();
	int st = sl_escape_run(&c, (const char *[]){"inherited", NULL}, out, sizeof(out));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("run from a real-time caller (status %#x): %s", st, out);
	if (!strstr(out, "sched: policy=0 nice=0 personality=0 ioclass=0\n"))
		fail_msg("scheduling or personality from the caller: %s", out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tiocsti_does_not_reach_the_callers_terminal),
		cmocka_unit_test(cmd_has_a_session_of_its_own_and_no_terminal),
		cmocka_unit_test(sigcont_does_not_reach_the_callers_process_group),
		cmocka_unit_test(nothing_else_inherited_from_the_caller),
		cmocka_unit_test(scheduling_and_personality_not_inherited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
