// SPDX-License-Identifier: Apache-2.0
/* The sandbox runtime API (agent/sandbox/sandbox.h) as the daemon uses it: non-blocking spawn,
 * hook, pipes, freeze/thaw, kill, stats, reap, destroy. Real kernel, root. */
#include "testutil.h"

#include "sandbox/sandbox.h"

#include <sandlot/util.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct sl_runtime *rt;

static int setup(void **state)
{
	if (geteuid() != 0)
		return 0;
	return sl_runtime_new(&rt, &(struct sl_runtime_opts){.pool_size = 2}) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	sl_runtime_free(&rt);
	return 0;
}

static struct sl_sandbox_config config(char *const *argv)
{
	return (struct sl_sandbox_config){
		.argv = argv,
		.memory_bytes = 64ULL << 20,
		.stdio = {SL_STDIO_NULL, SL_STDIO_PIPE, SL_STDIO_NULL},
	};
}

static void wait_exit(struct sl_sandbox *sb, struct sl_sandbox_result *res)
{
	struct pollfd p = {.fd = sl_sandbox_pidfd(sb), .events = POLLIN};

	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(sl_sandbox_reap(sb, res), 0);
}

static void cgroup_path(struct sl_sandbox *sb, char *buf, size_t len)
{
	char fdpath[64];
	ssize_t n;

	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", sl_sandbox_cgroup_fd(sb));
	n = readlink(fdpath, buf, len - 1);
	assert_true(n > 0);
	buf[n] = '\0';
}

static void spawn_pipe_and_reap(void **state)
{
	char *const argv[] = {"/bin/sh", "-c", "echo hello; exit 3", NULL};
	struct sl_sandbox_config c = config(argv);
	struct sl_sandbox_result res;
	struct sl_sandbox *sb;
	char buf[64] = {0}, path[512];

	sl_test_require_root();
	assert_int_equal(sl_sandbox_spawn(rt, &c, &sb), 0);
	assert_true(read(sl_sandbox_stdio_fd(sb, 1), buf, sizeof(buf) - 1) > 0);
	assert_string_equal(buf, "hello\n");
	wait_exit(sb, &res);
	assert_int_equal(res.exit_code, 3);
	assert_int_equal(res.signal, 0);
	cgroup_path(sb, path, sizeof(path));
	assert_int_equal(sl_sandbox_destroy(sb), 0);
	assert_int_equal(access(path, F_OK), -1);
	sl_sandbox_free(&sb);
}

/* SL_STDIO_STDOUT: stderr into stdout's pipe, in the order written (the daemon's log tail) */
static void stderr_shares_stdout_pipe(void **state)
{
	char *const argv[] = {"/bin/sh", "-c", "echo one; echo two >&2; echo three", NULL};
	struct sl_sandbox_config c = config(argv);
	struct sl_sandbox_result res;
	struct sl_sandbox *sb;
	char buf[64] = {0};
	size_t n = 0;
	ssize_t r;

	sl_test_require_root();
	c.stdio[2] = SL_STDIO_STDOUT;
	assert_int_equal(sl_sandbox_spawn(rt, &c, &sb), 0);
	assert_int_equal(sl_sandbox_stdio_fd(sb, 2), -1);
	while (n < sizeof(buf) - 1 &&
	       (r = read(sl_sandbox_stdio_fd(sb, 1), buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	assert_string_equal(buf, "one\ntwo\nthree\n");
	wait_exit(sb, &res);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(sl_sandbox_destroy(sb), 0);
	sl_sandbox_free(&sb);
	/* only stderr may follow stdout */
	c.stdio[2] = SL_STDIO_NULL;
	c.stdio[1] = SL_STDIO_STDOUT;
	assert_int_equal(sl_sandbox_spawn(rt, &c, &sb), -EBADF);
}

struct hook_seen {
	uint64_t cgroup_id;
	ino_t netns_ino;
	const char *marker;
};

static int hook(struct sl_sandbox *sb, void *data)
{
	struct hook_seen *h = data;
	struct stat st;
	int fd = sl_sandbox_netns_fd(sb);

	if (fd < 0 || fstat(fd, &st) < 0 || sl_sandbox_cgroup_id(sb, &h->cgroup_id) < 0)
		return -EIO;
	h->netns_ino = st.st_ino;
	fd = open(h->marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Removes the hook test's /tmp/sandlot-test-sandbox-<pid> and its marker, pass or fail. */
static int remove_marker_dir(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "/tmp/sandlot-test-sandbox-%d/marker", (int)getpid());
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	return 0;
}

/*
 * The hook runs before CMD: CMD sees the file the hook made; it gets the cgroup id and netns.
 * CMD waits for a line on stdin before it looks, so that the sandbox is still there when its
 * /proc entry is compared (spawn returns once the init runs, and `test` alone may be over by
 * then).
 */
static void hook_runs_before_cmd(void **state)
{
	char dir[64], marker[128], path[512];
	char *const argv[] = {"/bin/sh", "-c", "read line; test -e /var/task/marker", NULL};
	struct sl_sandbox_config c = config(argv);
	struct hook_seen seen = {.marker = marker};
	struct sl_sandbox_result res;
	struct sl_sandbox *sb;
	struct stat st;

	sl_test_require_root();
	snprintf(dir, sizeof(dir), "/tmp/sandlot-test-sandbox-%d", (int)getpid());
	snprintf(marker, sizeof(marker), "%s/marker", dir);
	mkdir(dir, 0755);
	unlink(marker);
	c.code_dir = dir;
	c.hook = hook;
	c.hook_data = &seen;
	c.stdio[0] = SL_STDIO_PIPE;
	assert_int_equal(sl_sandbox_spawn(rt, &c, &sb), 0);
	cgroup_path(sb, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(seen.cgroup_id, (uint64_t)st.st_ino);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)sl_sandbox_pid(sb));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(seen.netns_ino, st.st_ino);
	assert_int_equal(write(sl_sandbox_stdio_fd(sb, 0), "\n", 1), 1);
	wait_exit(sb, &res);
	assert_int_equal(res.exit_code, 0);
	sl_sandbox_free(&sb);
}

#define N_NS 5
static const char *const ns_names[N_NS] = {"ipc", "uts", "net", "pid", "mnt"};

/* The hook of sandboxes_get_namespaces_of_their_own: the child's namespaces, entered by now. */
static int ns_hook(struct sl_sandbox *sb, void *data)
{
	ino_t *ino = data;

	for (int i = 0; i < N_NS; i++) {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)sl_sandbox_pid(sb),
			 ns_names[i]);
		if (stat(path, &st) < 0)
			return -errno;
		ino[i] = st.st_ino;
	}
	return 0;
}

/* Two live sandboxes (from the pool's shells when ready, made ahead) have ipc, uts, net, pid
 * and mount namespaces of their own: neither the host's nor each other's. */
static void sandboxes_get_namespaces_of_their_own(void **state)
{
	char *const argv[] = {"/bin/sleep", "30", NULL};
	struct sl_sandbox_config c = config(argv);
	struct sl_sandbox_result res;
	struct sl_sandbox *a, *b;
	ino_t ia[N_NS], ib[N_NS];

	sl_test_require_root();
	usleep(50000); /* lets the filler make its shells (not needed for the check) */
	c.hook = ns_hook;
	c.hook_data = ia;
	assert_int_equal(sl_sandbox_spawn(rt, &c, &a), 0);
	c.hook_data = ib;
	assert_int_equal(sl_sandbox_spawn(rt, &c, &b), 0);
	for (int i = 0; i < N_NS; i++) {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_names[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_true(ia[i] != st.st_ino);
		assert_true(ib[i] != st.st_ino);
		assert_true(ia[i] != ib[i]);
	}
	assert_int_equal(sl_sandbox_kill(a), 0);
	assert_int_equal(sl_sandbox_kill(b), 0);
	wait_exit(a, &res);
	wait_exit(b, &res);
	sl_sandbox_free(&a);
	sl_sandbox_free(&b);
}

static int failing_hook(struct sl_sandbox *sb, void *data)
{
	cgroup_path(sb, data, 512);
	return -EIO;
}

static void hook_error_aborts_spawn_and_leaves_nothing(void **state)
{
	char *const argv[] = {"/bin/true", NULL};
	struct sl_sandbox_config c = config(argv);
	struct sl_sandbox *sb = NULL;
	char path[512] = "";

	sl_test_require_root();
	c.hook = failing_hook;
	c.hook_data = path;
	assert_int_equal(sl_sandbox_spawn(rt, &c, &sb), -EIO);
	assert_null(sb);
	assert_true(path[0]);
	assert_int_equal(access(path, F_OK), -1);
}

static bool frozen(struct sl_sandbox *sb, int want)
{
	char path[600], buf[256];

	cgroup_path(sb, buf, sizeof(buf));
	snprintf(path, sizeof(path), "%s/cgroup.events", buf);
	for (int i = 0; i < 500; i++) {
		assert_true(sl_read_file(path, buf, sizeof(buf)) > 0);
		if (strstr(buf, want ? "frozen 1" : "frozen 0"))
			return true;
		usleep(10000);
	}
	return false;
}

static void freeze_thaw_and_kill(void **state)
{
	char *const argv[] = {"/bin/sh", "-c", "sleep 100 & sleep 100", NULL};
	struct sl_sandbox_config c = config(argv);
	struct sl_sandbox_result res;
	struct sl_sandbox *sb;

	sl_test_require_root();
	assert_int_equal(sl_sandbox_spawn(rt, &c, &sb), 0);
	assert_int_equal(sl_sandbox_reap(sb, &res), -EAGAIN);
	assert_int_equal(sl_sandbox_freeze(sb, true), 0);
	assert_true(frozen(sb, 1));
	assert_int_equal(sl_sandbox_freeze(sb, false), 0);
	assert_true(frozen(sb, 0));
	assert_int_equal(sl_sandbox_kill(sb), 0);
	wait_exit(sb, &res);
	assert_int_equal(res.signal, SIGKILL);
	assert_int_equal(sl_sandbox_destroy(sb), 0);
	sl_sandbox_free(&sb);
}

static void stats_count_cpu_time(void **state)
{
	char *const argv[] = {"/bin/sh", "-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done",
			      NULL};
	struct sl_sandbox_config c = config(argv);
	struct sl_sandbox_result res;
	struct sl_cgroup_stats st;
	struct sl_sandbox *sb;

	sl_test_require_root();
	assert_int_equal(sl_sandbox_spawn(rt, &c, &sb), 0);
	wait_exit(sb, &res);
	assert_int_equal(sl_sandbox_stats(sb, &st), 0);
	assert_true(st.cpu_usec > 10000);
	assert_true(st.memory_peak_bytes > 0);
	assert_int_equal(st.oom_kills, 0);
	sl_sandbox_free(&sb);
}

static void concurrent_sandboxes_get_distinct_uids(void **state)
{
	char *const argv[] = {"/bin/sh", "-c", "id -u", NULL};
	struct sl_sandbox_config c = config(argv);
	struct sl_sandbox_result res;
	struct sl_sandbox *a, *b;
	char ua[32] = {0}, ub[32] = {0};

	sl_test_require_root();
	assert_int_equal(sl_sandbox_spawn(rt, &c, &a), 0);
	assert_int_equal(sl_sandbox_spawn(rt, &c, &b), 0);
	assert_true(read(sl_sandbox_stdio_fd(a, 1), ua, sizeof(ua) - 1) > 0);
	assert_true(read(sl_sandbox_stdio_fd(b, 1), ub, sizeof(ub) - 1) > 0);
	assert_string_not_equal(ua, ub);
	assert_int_equal((uid_t)atoi(ua), sl_sandbox_uid(a));
	assert_true(sl_sandbox_uid(a) != 0 && sl_sandbox_uid(b) != 0);
	wait_exit(a, &res);
	wait_exit(b, &res);
	sl_sandbox_free(&a);
	sl_sandbox_free(&b);
}

/* Reads CMD's whole stdout (pipe), waits for it, destroys the sandbox. */
static void run_capture_cfg(const struct sl_sandbox_config *c, char *out, size_t len)
{
	struct sl_sandbox_result res;
	struct sl_sandbox *sb;
	size_t n = 0;
	ssize_t k;

	assert_int_equal(sl_sandbox_spawn(rt, c, &sb), 0);
	while (n < len - 1 && (k = read(sl_sandbox_stdio_fd(sb, 1), out + n, len - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	wait_exit(sb, &res);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(sl_sandbox_destroy(sb), 0);
	sl_sandbox_free(&sb);
}

static void run_capture(char *const *argv, char *out, size_t len)
{
	struct sl_sandbox_config c = config(argv);

	run_capture_cfg(&c, out, len);
}

/* CMD starts with no signal blocked or ignored, whatever the agent ignores. */
static void cmd_gets_default_signal_dispositions(void **state)
{
	char *const argv[] = {"/bin/sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status", NULL};
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	char out[256];

	sl_test_require_root();
	assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
	run_capture(argv, out, sizeof(out));
	sigaction(SIGPIPE, &old, NULL);
	if (!strstr(out, "SigBlk:\t0000000000000000") || !strstr(out, "SigIgn:\t0000000000000000"))
		fail_msg("CMD's signal state is not the default: %s", out);
}

/* /tmp is a tmpfs of the size asked for, mode 1777, whether the pool's shell had one mounted
 * ahead (the runtime's default size, or remounted to another) or the child mounts it. */
static void tmp_has_the_size_asked_for(void **state)
{
	char *const argv[] = {"/bin/sh", "-c", "stat -f -c '%b %S' /tmp; stat -c '%a' /tmp", NULL};
	static const uint64_t sizes[] = {0, 1 << 20, 64ULL << 20, 3 << 20};

	sl_test_require_root();
	for (int i = 0; i < 8; i++) { /* the pool's first shells have no copy made ahead */
		struct sl_sandbox_config c = config(argv);
		unsigned long long blocks = 0, bsize = 0;
		unsigned mode = 0;
		char out[128];

		c.tmp_bytes = sizes[i % 4];
		run_capture_cfg(&c, out, sizeof(out));
		assert_int_equal(sscanf(out, "%llu %llu %o", &blocks, &bsize, &mode), 3);
		assert_int_equal(blocks * bsize, c.tmp_bytes ? c.tmp_bytes : 64ULL << 20);
		assert_int_equal(mode, 01777);
	}
}

/* CPUs of a process, from its status ("Cpus_allowed:" mask line). */
static void read_cpus(const char *status, cpu_set_t *ret)
{
	const char *p = strstr(status, "Cpus_allowed_list:");
	char *end;

	assert_non_null(p);
	CPU_ZERO(ret);
	p += strlen("Cpus_allowed_list:");
	while (*p == '\t' || *p == ' ')
		p++;
	while (*p >= '0' && *p <= '9') { /* "0-1,4" */
		long a = strtol(p, &end, 10), b = a;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		for (long i = a; i <= b && i < CPU_SETSIZE; i++)
			CPU_SET((int)i, ret);
		p = *end == ',' ? end + 1 : end;
	}
}

/*
 * The spawner runs on all CPUs but the pool filler's. A CMD with no CPU limit gets every CPU
 * of the agent; one whose quota fits in the spawner's CPUs stays on those.
 */
static void cmd_cpus_follow_its_cpu_quota(void **state)
{
	char *const argv[] = {"/bin/cat", "/proc/self/status", NULL};
	struct sl_sandbox_config c = config(argv);
	cpu_set_t agent, unlimited, small, fg;
	char out[4096];

	sl_test_require_root();
	assert_int_equal(sched_getaffinity(0, sizeof(agent), &agent), 0);
	run_capture_cfg(&c, out, sizeof(out));
	read_cpus(out, &unlimited);
	assert_true(CPU_EQUAL(&unlimited, &agent));
	c.cpu_millis = 100;
	run_capture_cfg(&c, out, sizeof(out));
	read_cpus(out, &small);
	fg = agent;
	if (CPU_COUNT(&agent) > 1) { /* the highest CPU is the filler's */
		int last = 0;
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &agent))
				last = i;
		CPU_CLR(last, &fg);
	}
	assert_true(CPU_EQUAL(&small, &fg));
}

/* A one-shot runtime serves one sandbox; a second spawn is refused and leaves nothing. */
static void one_shot_runtime_refuses_a_second_sandbox(void **state)
{
	char *const argv[] = {"/bin/true", NULL};
	struct sl_sandbox_config c = config(argv);
	struct sl_runtime *one = NULL;
	struct sl_sandbox_result res;
	struct sl_sandbox *sb, *second = NULL;

	sl_test_require_root();
	assert_int_equal(sl_runtime_new(&one, &(struct sl_runtime_opts){.one_shot = true}), 0);
	assert_true(sl_runtime_sweep(one) >= 0);
	assert_int_equal(sl_sandbox_spawn(one, &c, &sb), 0);
	assert_int_equal(sl_sandbox_spawn(one, &c, &second), -EBUSY);
	assert_null(second);
	wait_exit(sb, &res);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(sl_sandbox_destroy(sb), 0);
	sl_sandbox_free(&sb);
	sl_runtime_free(&one);
}

static void bad_config_is_refused(void **state)
{
	char *const empty[] = {NULL};
	struct sl_sandbox_config c = config(empty);
	struct sl_sandbox *sb = NULL;

	sl_test_require_root();
	assert_int_equal(sl_sandbox_spawn(rt, &c, &sb), -EINVAL);
	assert_null(sb);
}

/*
 * Our owner slot was a dead runtime's before: what it left under our slot (another pid) is
 * stale, and a periodic sweep removes it, not only the one at start-up (which another runtime
 * holding the slot meanwhile may have missed).
 */
static void periodic_sweep_removes_a_former_owners_sandboxes(void **state)
{
	char *const argv[] = {"/bin/true", NULL};
	struct sl_sandbox_config c = config(argv);
	struct sl_sandbox_result res;
	struct sl_sandbox *sb;
	char path[512], stale[600], *base;
	unsigned slot;

	sl_test_require_root();
	assert_int_equal(sl_sandbox_spawn(rt, &c, &sb), 0);
	cgroup_path(sb, path, sizeof(path));
	base = strrchr(path, '/');
	assert_non_null(base);
	assert_int_equal(sscanf(base + 1, "s%u-", &slot), 1);
	*base = '\0';
	/* pid 1 never runs a sandbox runtime: a former owner's name in our slot */
	snprintf(stale, sizeof(stale), "%s/s%u-1-%d", path, slot, (int)getpid());
	assert_int_equal(mkdir(stale, 0755), 0);
	assert_true(sl_runtime_sweep(rt) >= 1);
	assert_int_equal(access(stale, F_OK), -1);
	/* ours is not touched */
	wait_exit(sb, &res);
	assert_int_equal(res.exit_code, 0);
	sl_sandbox_free(&sb);
	rmdir(stale); /* if the sweep missed it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spawn_pipe_and_reap),
		cmocka_unit_test(stderr_shares_stdout_pipe),
		cmocka_unit_test(tmp_has_the_size_asked_for),
		cmocka_unit_test_teardown(hook_runs_before_cmd, remove_marker_dir),
		cmocka_unit_test(hook_error_aborts_spawn_and_leaves_nothing),
		cmocka_unit_test(sandboxes_get_namespaces_of_their_own),
		cmocka_unit_test(freeze_thaw_and_kill),
		cmocka_unit_test(stats_count_cpu_time),
		cmocka_unit_test(concurrent_sandboxes_get_distinct_uids),
		cmocka_unit_test(cmd_gets_default_signal_dispositions),
		cmocka_unit_test(cmd_cpus_follow_its_cpu_quota),
		cmocka_unit_test(one_shot_runtime_refuses_a_second_sandbox),
		cmocka_unit_test(bad_config_is_refused),
		cmocka_unit_test(periodic_sweep_removes_a_former_owners_sandboxes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
