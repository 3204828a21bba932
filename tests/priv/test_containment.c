// SPDX-License-Identifier: Apache-2.0
/*
 * Containment: what code inside a sandbox must not be able to do, tried for real through
 * `sandlot-agent run` with tests/guests/sl_escape.c bound at /var/task. Every run also checks that
 * the sandbox's cgroups are gone afterwards.
 */
#include "testutil.h"

#include "sandbox/cgroup-host.h"

#include <sandlot/util.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <jansson.h>

#define OUT_MAX 65536

struct outcome {
	int status; /* wait status of sandlot-agent */
	char out[OUT_MAX], err[4096];
	json_t *json; /* the --json line, or NULL */
};

static const char *escape_dir(void)
{
	const char *d = getenv("SL_ESCAPE_DIR");

	return d ? d : "escape";
}

/* The sandbox's cgroup must be gone from every hierarchy. */
static void assert_gone(const char *id)
{
	struct sl_cgroup_host h;
	char path[2 * SL_CGROUP_PATH_MAX];

	assert_int_equal(sl_cgroup_host_detect(&h), 0);
	snprintf(path, sizeof(path), "%s/sandlot/%s", h.v2_self_dir, id);
	if (access(path, F_OK) == 0)
		fail_msg("left behind: %s", path);
	for (size_t i = 0; i < h.n_v1; i++) {
		if (!h.v1[i].self_dir[0])
			continue;
		snprintf(path, sizeof(path), "%s/sandlot/%s", h.v1[i].self_dir, id);
		if (access(path, F_OK) == 0)
			fail_msg("left behind: %s", path);
	}
}

/* Runs sandlot-agent run --json --code <escape dir> OPTS -- ARGS (NULL-terminated lists). */
static struct outcome *run(const char *const *opts, const char *const *args)
{
	struct outcome *o = calloc(1, sizeof(*o));
	const char *argv[64];
	size_t n = 0;

	argv[n++] = sl_test_agent();
	argv[n++] = "run";
	argv[n++] = "--json";
	argv[n++] = "--code";
	argv[n++] = escape_dir();
	for (; opts && *opts; opts++)
		argv[n++] = *opts;
	argv[n++] = "--";
	for (; *args; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	o->status =
		sl_test_run((char *const *)argv, o->out, sizeof(o->out), o->err, sizeof(o->err));
	char *last = strrchr(o->out, '{');
	if (last)
		o->json = json_loads(last, 0, NULL);
	if (!o->json)
		fail_msg("no JSON from run (status %d): %s %s", o->status, o->out, o->err);
	assert_gone(json_string_value(json_object_get(o->json, "sandbox_id")));
	return o;
}

static void outcome_free(struct outcome *o)
{
	json_decref(o->json);
	free(o);
}

static long long jint(const struct outcome *o, const char *k)
{
	return json_integer_value(json_object_get(o->json, k));
}

static bool jbool(const struct outcome *o, const char *k)
{
	return json_is_true(json_object_get(o->json, k));
}

static double jreal(const struct outcome *o, const char *k)
{
	return json_real_value(json_object_get(o->json, k));
}

/* Runs sl-escape with args and expects "contained" (exit 0). */
static void expect_contained(const char *const *opts, const char *const *args)
{
	const char *full[16] = {"/var/task/sl-escape"};
	size_t n = 1;

	sl_test_require_root();
	for (; *args; args++)
		full[n++] = *args;
	full[n] = NULL;
	struct outcome *o = run(opts, full);
	if (jint(o, "exit_code") != 0)
		fail_msg("not contained (exit %lld): %s %s", jint(o, "exit_code"), o->out, o->err);
	outcome_free(o);
}

#define REFUSES(sys)                                                             \
	static void refuses_##sys(void **state)                                  \
	{                                                                        \
		expect_contained(NULL, (const char *[]){"syscall", #sys, NULL}); \
	}
REFUSES(mount)
REFUSES(umount)
REFUSES(pivot_root)
REFUSES(unshare)
REFUSES(setns)
REFUSES(ptrace)
REFUSES(bpf)
REFUSES(perf_event_open)
REFUSES(keyctl)
REFUSES(add_key)
REFUSES(kexec_load)
REFUSES(init_module)
REFUSES(reboot)
REFUSES(swapon)
REFUSES(acct)
REFUSES(userfaultfd)
REFUSES(open_by_handle_at)
REFUSES(raw_socket)
REFUSES(packet_socket)

static void cannot_see_or_signal_host_processes(void **state)
{
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	expect_contained(NULL, (const char *[]){"hostpid", pid, NULL});
}

static void host_files_outside_binds_are_invisible(void **state)
{
	expect_contained(NULL, (const char *[]){"absent", "/work", "/root", "/home", "/run", "/sys",
						"/var/lib", "/etc/shadow", "/boot", NULL});
}

/* Field 5 of a mountinfo line: the mount point ("" if the line is malformed). */
static void mount_point(const char *line, char *ret, size_t len)
{
	const char *p = line;

	for (int i = 0; i < 4 && p; i++) {
		p = strchr(p, ' ');
		p = p ? p + 1 : NULL;
	}
	snprintf(ret, len, "%.*s", p ? (int)strcspn(p, " ") : 0, p ? p : "");
}

/*
 * Only the template's few mounts are in the sandbox's mount table: the host's root, which
 * pivot_root stacked on top of the template, was detached (by a helper thread while the
 * sandbox started; the child waits for it before anything of CMD runs), so no second "/"
 * and none of the host's /sys, /dev, /run, ... mounts.
 */
static void host_mounts_are_not_in_its_mount_table(void **state)
{
	static const char *const host_only[] = {"/sys", "/dev", "/run", "/work", "/boot", "/home"};
	char mp[512];
	int roots = 0;

	sl_test_require_root();
	struct outcome *o = run(NULL, (const char *[]){"/bin/cat", "/proc/self/mountinfo", NULL});
	assert_int_equal(jint(o, "exit_code"), 0);
	for (char *line = o->out; line && *line && *line != '{';) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		mount_point(line, mp, sizeof(mp));
		roots += strcmp(mp, "/") == 0;
		for (size_t i = 0; i < ARRAY_SIZE(host_only); i++)
			if (strncmp(mp, host_only[i], strlen(host_only[i])) == 0)
				fail_msg("host mount in the sandbox: %s", line);
		line = nl ? nl + 1 : NULL;
	}
	assert_int_equal(roots, 1);
	outcome_free(o);
}

static void binds_are_read_only(void **state)
{
	expect_contained(NULL, (const char *[]){"rofs", "/usr/sl-x", "/usr/bin/sl-x", "/etc/sl-x",
						"/var/task/sl-x", "/sl-x", "/lib/sl-x", "/dev/sl-x",
						NULL});
}

static void network_has_only_loopback(void **state)
{
	expect_contained(NULL, (const char *[]){"interfaces", NULL});
}

static void tmp_fill_stops_at_its_size(void **state)
{
	sl_test_require_root();
	struct outcome *o = run((const char *[]){"--tmp-size", "1M", NULL},
				(const char *[]){"/var/task/sl-escape", "fill", "/tmp/f", NULL});
	long long written = -1;
	const char *w = strstr(o->out, "written ");

	assert_non_null(w);
	written = atoll(w + 8);
	assert_int_equal(jint(o, "exit_code"), 0); /* ENOSPC, not another error */
	assert_true(written <= (1 << 20));
	assert_true(written > 0);
	outcome_free(o);
}

/* Removes /tmp/sandlot-test-sandbox-<pid> (a setuid-root binary among it), pass or fail. */
static int remove_code_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf /tmp/sandlot-test-sandbox-%d", (int)getpid());
	return system(cmd) == 0 ? 0 : -1;
}

/* A setuid-root copy of sl-escape in the code dir must not run with euid 0. */
static void setuid_binary_gains_nothing(void **state)
{
	char dir[64], src[1024], dst[128], cmd[4096];

	sl_test_require_root();
	snprintf(dir, sizeof(dir), "/tmp/sandlot-test-sandbox-%d", (int)getpid());
	snprintf(src, sizeof(src), "%s/sl-escape", escape_dir());
	snprintf(dst, sizeof(dst), "%s/sl-escape", dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -m 755 %s && cp %s %s && chmod 4755 %s", dir,
		 dir, src, dst, dst);
	assert_int_equal(system(cmd), 0);
	struct outcome *o = run((const char *[]){"--code", dir, NULL},
				(const char *[]){"/var/task/sl-escape", "euid", NULL});
	if (jint(o, "exit_code") != 0)
		fail_msg("setuid gave root: %s", o->out);
	outcome_free(o);
}

static void fork_bomb_stops_at_pids_limit(void **state)
{
	sl_test_require_root();
	struct outcome *o = run((const char *[]){"--pids", "32", NULL},
				(const char *[]){"/var/task/sl-escape", "forkbomb", NULL});
	const char *n = strstr(o->out, "forks before refusal: ");

	assert_non_null(n);
	assert_int_equal(jint(o, "exit_code"), 0); /* EAGAIN */
	assert_true(atoi(n + 22) < 32);
	outcome_free(o);
	/* the host still starts processes */
	char *const argv[] = {"/bin/true", NULL};
	assert_int_equal(sl_test_run(argv, NULL, 0, NULL, 0), 0);
}

static void memory_bomb_is_oom_killed_inside(void **state)
{
	sl_test_require_root();
	struct outcome *o = run((const char *[]){"--memory", "32M", NULL},
				(const char *[]){"/var/task/sl-escape", "membomb", NULL});

	assert_true(jbool(o, "oom_killed"));
	assert_int_equal(jint(o, "signal"), SIGKILL);
	assert_int_equal(jint(o, "exit_code"), 128 + SIGKILL);
	assert_true(jint(o, "peak_memory_bytes") <= 32LL << 20);
	outcome_free(o);
}

/* CPU time the cgroup itself counted, over the wall time: held to the 0.2 CPU quota. */
static void cpu_hog_is_held_to_quota(void **state)
{
	sl_test_require_root();
	struct outcome *o = run((const char *[]){"--cpus", "0.2", "--timeout", "1500ms", NULL},
				(const char *[]){"/var/task/sl-escape", "spin", NULL});
	double ratio = jreal(o, "cpu_seconds") / jreal(o, "wall_seconds");

	assert_true(jbool(o, "timed_out"));
	if (ratio > 0.4 || ratio < 0.02)
		fail_msg("cpu/wall = %.3f with a 0.2 CPU quota", ratio);
	outcome_free(o);
}

/* True when some host process has needle in its command line. */
static bool process_with_arg(const char *needle)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool found = false;

	while (d && (de = readdir(d)) && !found) {
		char path[300], buf[4096];
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		int fd = open(path, O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		for (ssize_t i = 0; i < n; i++)
			if (!buf[i])
				buf[i] = ' ';
		if (n > 0 && (buf[n] = '\0', strstr(buf, needle)))
			found = true;
	}
	if (d)
		closedir(d);
	return found;
}

/* "sleep 98765.<our pid, 7 digits>": other test runs on the host never match it */
static void our_sleep(char *buf, size_t len)
{
	snprintf(buf, len, "sleep 98765.%07d", (int)getpid());
}

static void timeout_kills_background_children(void **state)
{
	char sleep_arg[40], cmd[120];

	sl_test_require_root();
	our_sleep(sleep_arg, sizeof(sleep_arg));
	snprintf(cmd, sizeof(cmd), "%s1 & %s2 & wait", sleep_arg, sleep_arg);
	struct outcome *o = run((const char *[]){"--timeout", "300ms", NULL},
				(const char *[]){"/bin/sh", "-c", cmd, NULL});

	assert_true(jbool(o, "timed_out"));
	assert_int_equal(jint(o, "signal"), SIGTERM); /* the timeout's, which sh does not trap */
	assert_false(process_with_arg(sleep_arg));
	outcome_free(o);
}

static void exit_status_and_signal_pass_through(void **state)
{
	sl_test_require_root();
	struct outcome *o = run(NULL, (const char *[]){"/bin/sh", "-c", "exit 7", NULL});
	assert_int_equal(jint(o, "exit_code"), 7);
	assert_true(WIFEXITED(o->status) && WEXITSTATUS(o->status) == 7);
	outcome_free(o);
	o = run(NULL, (const char *[]){"/bin/sh", "-c", "kill -TERM $$", NULL});
	assert_int_equal(jint(o, "signal"), SIGTERM);
	assert_int_equal(jint(o, "exit_code"), 128 + SIGTERM);
	assert_true(WIFEXITED(o->status) && WEXITSTATUS(o->status) == 128 + SIGTERM);
	outcome_free(o);
}

static void cmd_not_found_is_127(void **state)
{
	sl_test_require_root();
	struct outcome *o = run(NULL, (const char *[]){"/no/such/cmd", NULL});

	assert_int_equal(jint(o, "exit_code"), 127);
	assert_true(WIFEXITED(o->status) && WEXITSTATUS(o->status) == 127);
	assert_non_null(strstr(o->err, "/no/such/cmd"));
	outcome_free(o);
}

/* An orphan (its parent, a subshell, exited) is reparented to the init, which reaps it when
 * it exits (1 s later: room for a slow host between the steps). */
static void init_reaps_orphans(void **state)
{
	sl_test_require_root();
	struct outcome *o =
		run(NULL,
		    (const char *[]){"/bin/sh", "-c",
				     "(sleep 1 & echo $! > /tmp/orphan); sleep 0.05; "
				     "set -- $(cat /proc/$(cat /tmp/orphan)/stat); echo ppid=$4; "
				     "sleep 1.5; test -e /proc/$(cat /tmp/orphan) && echo left || "
				     "echo reaped",
				     NULL});
	assert_int_equal(jint(o, "exit_code"), 0);
	assert_non_null(strstr(o->out, "ppid=1\n"));
	assert_non_null(strstr(o->out, "reaped\n"));
	outcome_free(o);
}

/* SIGTERM to `run` reaches CMD through the init, which then reports CMD's exit. */
static void init_forwards_signals(void **state)
{
	char out[256] = "";
	int p[2], status;

	sl_test_require_root();
	assert_int_equal(pipe(p), 0);
	pid_t agent = fork();
	if (agent == 0) {
		dup2(p[1], 1);
		execl(sl_test_agent(), sl_test_agent(), "run", "--", "/bin/sh", "-c",
		      "trap 'echo got TERM; exit 9' TERM; echo ready; while :; do sleep 0.05; done",
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	ssize_t n = read(p[0], out, sizeof(out) - 1);
	assert_true(n > 0);
	assert_non_null(strstr(out, "ready"));
	kill(agent, SIGTERM);
	assert_int_equal(waitpid(agent, &status, 0), agent);
	n = read(p[0], out, sizeof(out) - 1);
	close(p[0]);
	assert_true(n > 0);
	out[n] = '\0';
	assert_non_null(strstr(out, "got TERM"));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 9);
}

/* The init is our small program, not CMD, and CMD (same uid) cannot read its memory. */
static void init_is_ours_and_sealed_from_cmd(void **state)
{
	sl_test_require_root();
	struct outcome *o =
		run(NULL, (const char *[]){"/bin/sh", "-c",
					   "cat /proc/1/comm; (exec 5</proc/1/mem) "
					   "2>/dev/null && echo mem=opened || echo mem=refused; "
					   "ls /proc/self/fd",
					   NULL});
	assert_int_equal(jint(o, "exit_code"), 0);
	assert_non_null(strstr(o->out, "sandlot-init\n"));
	assert_non_null(strstr(o->out, "mem=refused\n"));
	/* CMD holds stdio and the fd ls reads with: neither the report socket nor the init's */
	assert_null(strstr(o->out, "\n4\n"));
	assert_non_null(strstr(o->out, "0\n1\n2\n3\n"));
	outcome_free(o);
}

/*
 * The agent SIGKILLed mid-run: its sandbox dies with it (parent-death signal) and the next
 * run removes the stale cgroups.
 */
static void agent_sigkill_leaves_nothing_after_next_run(void **state)
{
	char out[4096], sleep_arg[40], cmd[80];
	int p[2];

	sl_test_require_root();
	our_sleep(sleep_arg, sizeof(sleep_arg));
	snprintf(cmd, sizeof(cmd), "echo started; exec %s3", sleep_arg);
	assert_int_equal(pipe(p), 0);
	pid_t agent = fork();
	if (agent == 0) {
		dup2(p[1], 1);
		execl(sl_test_agent(), sl_test_agent(), "run", "--", "/bin/sh", "-c", cmd,
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	ssize_t n = read(p[0], out, sizeof(out) - 1); /* the sandbox is running */
	assert_true(n > 0);
	close(p[0]);
	assert_true(process_with_arg(sleep_arg));
	kill(agent, SIGKILL);
	waitpid(agent, NULL, 0);
	for (int i = 0; i < 100 && process_with_arg(sleep_arg); i++)
		usleep(10000);
	assert_false(process_with_arg(sleep_arg));
	/* the next run sweeps what the dead agent left (it checks its own cgroups too) */
	struct outcome *o = run(NULL, (const char *[]){"/bin/true", NULL});
	outcome_free(o);
	struct sl_cgroup_host h;
	char path[2 * SL_CGROUP_PATH_MAX];
	assert_int_equal(sl_cgroup_host_detect(&h), 0);
	snprintf(path, sizeof(path), "%s/sandlot", h.v2_self_dir);
	DIR *d = opendir(path);
	struct dirent *de;
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "-%d-", (int)agent);
	while (d && (de = readdir(d)))
		if (strstr(de->d_name, prefix))
			fail_msg("stale sandbox cgroup left: %s", de->d_name);
	if (d)
		closedir(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cannot_see_or_signal_host_processes),
		cmocka_unit_test(refuses_mount),
		cmocka_unit_test(refuses_umount),
		cmocka_unit_test(refuses_pivot_root),
		cmocka_unit_test(refuses_unshare),
		cmocka_unit_test(refuses_setns),
		cmocka_unit_test(refuses_ptrace),
		cmocka_unit_test(refuses_bpf),
		cmocka_unit_test(refuses_perf_event_open),
		cmocka_unit_test(refuses_keyctl),
		cmocka_unit_test(refuses_add_key),
		cmocka_unit_test(refuses_kexec_load),
		cmocka_unit_test(refuses_init_module),
		cmocka_unit_test(refuses_reboot),
		cmocka_unit_test(refuses_swapon),
		cmocka_unit_test(refuses_acct),
		cmocka_unit_test(refuses_userfaultfd),
		cmocka_unit_test(refuses_open_by_handle_at),
		cmocka_unit_test(refuses_raw_socket),
		cmocka_unit_test(refuses_packet_socket),
		cmocka_unit_test(host_files_outside_binds_are_invisible),
		cmocka_unit_test(binds_are_read_only),
		cmocka_unit_test(host_mounts_are_not_in_its_mount_table),
		cmocka_unit_test_teardown(setuid_binary_gains_nothing, remove_code_dir),
		cmocka_unit_test(fork_bomb_stops_at_pids_limit),
		cmocka_unit_test(memory_bomb_is_oom_killed_inside),
		cmocka_unit_test(cpu_hog_is_held_to_quota),
		cmocka_unit_test(tmp_fill_stops_at_its_size),
		cmocka_unit_test(timeout_kills_background_children),
		cmocka_unit_test(network_has_only_loopback),
		cmocka_unit_test(exit_status_and_signal_pass_through),
		cmocka_unit_test(cmd_not_found_is_127),
		cmocka_unit_test(init_reaps_orphans),
		cmocka_unit_test(init_forwards_signals),
		cmocka_unit_test(init_is_ours_and_sealed_from_cmd),
		cmocka_unit_test(agent_sigkill_leaves_nothing_after_next_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
