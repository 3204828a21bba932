// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel memory a sandbox can make the host hold: socket buffers, pipes, inotify and epoll
 * watches, POSIX and SysV message queues. Each must be charged to the sandbox's memory
 * cgroup or held under a limit of its own. The cgroup test uses the runtime's cgroups
 * directly; the others run tests/guests/sl_kmem.c in a real `sandlot-agent run --memory ...`
 * (bound at /var/task) and judge the figures it prints. Needs root.
 */
#include "testutil.h"

#include "sandbox/cgroup.h"

#include <sandlot/util.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <jansson.h>

#define MiB	(1ll << 20)
#define OUT_MAX 8192
#define LIMIT	(32 * MiB)
#define PAIRS	100
/*
 * Past the limit the kernel still charges (forcibly) what each socket needs for its minimum
 * send buffer: measured ~64 KiB a socket. Twice that per socket is the slack allowed.
 */
#define TCP_BOUND (LIMIT + 2 * PAIRS * 128 * 1024ll)

/* ---- the cgroup backends, directly ---- */

/* Writes both ends of loopback TCP pairs in the caller's netns until they would block. */
static long long hold_tcp(int pairs)
{
	static char buf[65536];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	long long sent = 0;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 1024) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	for (int i = 0; i < pairs; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), s;
		ssize_t n;

		if (c < 0 ||
		    (connect(c, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS))
			break;
		struct pollfd pfd = {.fd = lfd, .events = POLLIN};
		if (poll(&pfd, 1, 1000) != 1) /* a handshake under pressure may not complete */
			break;
		s = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		if (s < 0)
			break;
		for (int round = 0; round < 4; round++) {
			while ((n = send(c, buf, sizeof(buf), MSG_NOSIGNAL)) > 0)
				sent += n;
			while ((n = send(s, buf, sizeof(buf), MSG_NOSIGNAL)) > 0)
				sent += n;
			usleep(1000);
		}
	}
	return sent;
}

/* A number from a one-value file, or "key value" line, below dir; -1 when absent. */
static long long read_at(int dir, const char *file, const char *key)
{
	char buf[8192], *p = buf;
	int fd = openat(dir, file, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	if (!key)
		return atoll(buf);
	for (; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, strlen(key)) && p[strlen(key)] == ' ')
			return atoll(p + strlen(key) + 1);
	return -1;
}

/* The v1 memory cgroup of the sandbox called name, as an O_PATH fd. */
static int v1_memory_dir(const char *name)
{
	struct sl_cgroup_host h;
	const struct sl_cgroup_v1 *m;
	char path[2 * SL_CGROUP_PATH_MAX];

	assert_int_equal(sl_cgroup_host_detect(&h), 0);
	m = sl_cgroup_host_v1(&h, "memory");
	assert_non_null(m);
	snprintf(path, sizeof(path), "%s/sandlot/%s", m->self_dir, name);
	return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/*
 * A process in a sandbox's cgroups with a 32 MiB limit holds loopback TCP buffers that are
 * never read: they are charged to the sandbox (v1: memory.kmem.tcp, v2: memory.stat sock)
 * and stay within the limit.
 */
static void tcp_buffers_are_charged_to_the_sandbox(void **state)
{
	struct sl_cgroup_limits lim = {.memory_bytes = LIMIT};
	struct sl_cgroup_root *root = NULL;
	struct sl_cgroup *cg = NULL;
	struct sl_cgroup_host h;
	long long sent = -1, usage, peak;
	char name[64];
	int p[2], fds[8], dir;
	size_t n;
	pid_t pid;
	bool v2;

	sl_test_require_root();
	assert_int_equal(sl_cgroup_host_detect(&h), 0);
	assert_int_equal(sl_cgroup_root_open(&root, &h), 0);
	v2 = strcmp(sl_cgroup_root_backend(root), "v2") == 0;
	fprintf(stderr, "backend %s (the other one cannot run on this host)\n",
		sl_cgroup_root_backend(root));
	snprintf(name, sizeof(name), "test-kmem-%d", (int)getpid());
	assert_int_equal(sl_cgroup_new(&cg, root, name, &lim), 0);
	n = sl_cgroup_join_fds(cg, fds);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int procs = openat(sl_cgroup_fd(cg), "cgroup.procs", O_WRONLY | O_CLOEXEC);

		if (procs < 0 || write(procs, "0", 1) != 1 || sl_cgroup_join_self(fds, n) < 0)
			_exit(1);
		sent = hold_tcp(PAIRS);
		(void)!write(p[1], &sent, sizeof(sent));
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &sent, sizeof(sent)), sizeof(sent));
	dir = v2 ? dup(sl_cgroup_fd(cg)) : v1_memory_dir(name);
	assert_true(dir >= 0);
	usage = v2 ? read_at(dir, "memory.stat", "sock")
		   : read_at(dir, "memory.kmem.tcp.usage_in_bytes", NULL);
	peak = v2 ? read_at(dir, "memory.peak", NULL)
		  : read_at(dir, "memory.kmem.tcp.max_usage_in_bytes", NULL);
	fprintf(stderr, "sent %lld MiB; charged %lld KiB now, peak %lld KiB\n", sent / MiB,
		usage / 1024, peak / 1024);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(dir);
	close(p[0]);
	assert_int_equal(sl_cgroup_destroy(cg), 0);
	sl_cgroup_free(&cg);
	sl_cgroup_root_free(&root);
	assert_true(sent > 0);
	if (usage < 1 * MiB)
		fail_msg("%lld MiB sent, but only %lld KiB charged to the sandbox", sent / MiB,
			 usage / 1024);
	if (peak > TCP_BOUND || sent > TCP_BOUND)
		fail_msg("%lld MiB sent, %lld MiB charged at the peak: more than %lld MiB",
			 sent / MiB, peak / MiB, TCP_BOUND / MiB);
}

/* ---- through sandlot-agent run ---- */

struct outcome {
	char out[OUT_MAX], err[4096];
	json_t *json;
	long long exit_code;
	bool oom;
};

static const char *kmem_dir(void)
{
	const char *d = getenv("SL_KMEM_DIR");

	return d ? d : "kmem";
}

/* run --json --memory MEM --code <sl-kmem dir> -- /var/task/sl-kmem MODE N */
static void run_kmem(const char *mem, const char *mode, const char *count, struct outcome *o)
{
	/* a CPU: at 32M, the default quota (memory / 1769 MB) makes filling buffers slow */
	const char *argv[] = {sl_test_agent(),
			      "run",
			      "--json",
			      "--timeout",
			      "60s",
			      "--cpus",
			      "1",
			      "--memory",
			      mem,
			      "--code",
			      kmem_dir(),
			      "--",
			      "/var/task/sl-kmem",
			      mode,
			      count,
			      NULL};
	char *last;

	sl_test_require_root();
	memset(o, 0, sizeof(*o));
	sl_test_run((char *const *)argv, o->out, sizeof(o->out), o->err, sizeof(o->err));
	last = strrchr(o->out, '{');
	o->json = last ? json_loads(last, 0, NULL) : NULL;
	if (!o->json)
		fail_msg("no JSON from run: %s %s", o->out, o->err);
	o->exit_code = json_integer_value(json_object_get(o->json, "exit_code"));
	o->oom = json_is_true(json_object_get(o->json, "oom_killed"));
	fprintf(stderr, "%s %s in %s: exit %lld%s: %.*s\n", mode, count, mem, o->exit_code,
		o->oom ? " (OOM-killed)" : "", (int)strcspn(o->out, "\n"), o->out);
}

/* key=N from sl-kmem's line, or -1. */
static long long figure(const struct outcome *o, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), " %s=", key);
	p = strstr(o->out, k);
	return p ? atoll(p + strlen(k)) : -1;
}

/* The helper either ran to its end or was OOM-killed; nothing else is an answer. */
static bool killed_by_oom(const struct outcome *o)
{
	if (o->oom)
		return true;
	if (o->exit_code != 0)
		fail_msg("sl-kmem failed (exit %lld): %s %s", o->exit_code, o->out, o->err);
	return false;
}

/*
 * The case: with --memory 32M, loopback TCP pairs that are never read held ~400 MiB
 * of host memory (/proc/net/sockstat TCP mem). Now sends stop near the limit.
 */
static void tcp_buffers_stay_within_memory(void **state)
{
	struct outcome o;

	run_kmem("32M", "tcp", "100", &o);
	if (!killed_by_oom(&o)) {
		long long sent = figure(&o, "sent"), grew = figure(&o, "sockstat_growth_bytes");

		assert_true(sent > 0);
		if (sent > TCP_BOUND || grew > TCP_BOUND)
			fail_msg("%lld MiB sent, TCP memory grew %lld MiB: more than %lld MiB",
				 sent / MiB, grew / MiB, TCP_BOUND / MiB);
	}
	json_decref(o.json);
}

/* Pipe buffers are kernel memory charged to the cgroup (and 64 MiB per uid at most). */
static void pipes_stay_within_memory(void **state)
{
	struct outcome o;

	run_kmem("16M", "pipe", "500", &o);
	if (!killed_by_oom(&o) && figure(&o, "held") > 16 * MiB + 2 * MiB)
		fail_msg("pipes hold %lld MiB with a 16 MiB limit", figure(&o, "held") / MiB);
	json_decref(o.json);
}

/* epoll watches are charged: 480 eventfds in ~500 instances (~240k items) do not fit. */
static void epoll_watches_stay_within_memory(void **state)
{
	struct outcome o;

	run_kmem("16M", "epoll", "240000", &o);
	if (!killed_by_oom(&o) && figure(&o, "watches") >= 240000)
		fail_msg("240000 epoll watches fitted in 16 MiB: %s", o.out);
	json_decref(o.json);
}

/* inotify watches: charged, and at most max_user_watches per uid (each sandbox has its own). */
static void inotify_watches_are_bounded(void **state)
{
	struct outcome o;
	long long max = 0;
	FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lld", &max), 1);
	fclose(f);
	run_kmem("16M", "inotify", "1000000", &o);
	if (!killed_by_oom(&o) && figure(&o, "watches") > max)
		fail_msg("%lld inotify watches, max_user_watches is %lld", figure(&o, "watches"),
			 max);
	json_decref(o.json);
}

/* POSIX queues: RLIMIT_MSGQUEUE of the sandbox's own uid, 256 queues per IPC namespace. */
static void mqueues_are_bounded(void **state)
{
	struct outcome o;

	run_kmem("16M", "mqueue", "1000", &o);
	if (!killed_by_oom(&o)) {
		long long held = figure(&o, "held"), rlim = figure(&o, "rlimit");

		/* RLIM_INFINITY prints as -1: then 256 queues x 10 x 8 KiB and the memory limit */
		if ((rlim > 0 && held > rlim) || held > 16 * MiB + 2 * MiB)
			fail_msg("message queues hold %lld bytes (RLIMIT_MSGQUEUE %lld)", held,
				 rlim);
	}
	json_decref(o.json);
}

/* SysV queues (32000 x 16 KiB a namespace) are charged: they stop at the memory limit. */
static void sysv_queues_stay_within_memory(void **state)
{
	struct outcome o;

	run_kmem("16M", "sysvmsg", "32000", &o);
	if (!killed_by_oom(&o) && figure(&o, "held") > 16 * MiB + 2 * MiB)
		fail_msg("SysV queues hold %lld MiB with a 16 MiB limit", figure(&o, "held") / MiB);
	json_decref(o.json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tcp_buffers_are_charged_to_the_sandbox),
		cmocka_unit_test(tcp_buffers_stay_within_memory),
		cmocka_unit_test(pipes_stay_within_memory),
		cmocka_unit_test(epoll_watches_stay_within_memory),
		cmocka_unit_test(inotify_watches_are_bounded),
		cmocka_unit_test(mqueues_are_bounded),
		cmocka_unit_test(sysv_queues_stay_within_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
