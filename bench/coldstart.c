/*
 * bench/coldstart: how long a sandbox takes from nothing to CMD exited and everything removed,
 * side by side with its peers, in one run.
 *
 *   coldstart [-n ITERATIONS] [--agent PATH]
 *
 * Rows (each: p50, p99, mean, sequential sandboxes/s):
 *   fork+exec /bin/true              the process floor
 *   clone3+ns floor                  clone3 with new pid/net/uts/ipc ns + exec /bin/true + wait
 *   in-process sandbox               sl_sandbox_spawn -> /bin/true exits -> reap -> destroy,
 *                                    "destroyed" meaning every cgroup directory is rmdir'ed
 *                                    (v2 and v1) before the clock stops; runtime made once
 *   sandlot-agent run -- /bin/true   the whole one-shot command (runtime set-up included)
 *   bwrap --unshare-all ...          same binds: ro /usr (+ /bin, /lib* links), /proc, /dev,
 *                                    tmpfs /tmp
 *
 * What the measurements showed (perf/strace -T while building this; 2-core host, noisy):
 *   - The netns is the largest piece of clone3 (~0.27 ms), and its teardown runs on a kernel
 *     worker afterwards, competing for the same 2 cores.
 *   - Building the root per sandbox (tmpfs + ~6 binds + pivot_root + detaching the old root)
 *     costs more than entering a prepared one: we build a template mount namespace once and
 *     each child does setns() + unshare(CLONE_NEWNS) (copies ~8 mounts) + 2 mounts.
 *   - seccomp: compiling with libseccomp takes ~1 ms; loading the exported BPF is one syscall.
 *   - The v1 cgroups (hybrid hosts) are most of the cgroup cost: 3 mkdir + 3 limit writes +
 *     3 cgroup.procs writes + 3 rmdir, on top of the v2 mkdir/rmdir.
 *   - The pid-1 init starts CMD with posix_spawn (CLONE_VM|CLONE_VFORK): no page-table copy.
 */
#include "sandbox.h"

#include <sandlot/time.h>
#include <sandlot/util.h>

#include <fcntl.h>
#include <getopt.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef SANDLOT_AGENT_PATH
#define SANDLOT_AGENT_PATH "sandlot-agent"
#endif

struct row {
	const char *name;
	double p50, p99, mean; /* ms */
	bool ok;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void summarize(struct row *r, uint64_t *ns, int n)
{
	double sum = 0;

	qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
	for (int i = 0; i < n; i++)
		sum += (double)ns[i];
	r->p50 = (double)ns[n / 2] / 1e6;
	r->p99 = (double)ns[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e6;
	r->mean = sum / n / 1e6;
	r->ok = true;
}

/* fork + exec argv with stdout/stderr to /dev/null, wait. Returns the exit status or -1. */
static int run_cmd(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void bench_cmd(struct row *r, char *const argv[], int n)
{
	uint64_t *ns = calloc((size_t)n, sizeof(*ns));

	for (int i = 0; i < 3; i++)
		run_cmd(argv); /* warm up */
	for (int i = 0; i < n; i++) {
		uint64_t t = sl_now_ns();
		if (run_cmd(argv) != 0) {
			fprintf(stderr, "coldstart: %s failed\n", r->name);
			free(ns);
			return;
		}
		ns[i] = sl_now_ns() - t;
	}
	summarize(r, ns, n);
	free(ns);
}

static int floor_once(void)
{
	struct clone_args a = {.flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC,
			       .exit_signal = SIGCHLD};
	char *const argv[] = {"/bin/true", NULL};
	int status;
	pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void bench_floor(struct row *r, int n)
{
	uint64_t *ns = calloc((size_t)n, sizeof(*ns));

	for (int i = 0; i < n; i++) {
		uint64_t t = sl_now_ns();
		if (floor_once() != 0) {
			free(ns);
			return;
		}
		ns[i] = sl_now_ns() - t;
	}
	summarize(r, ns, n);
	free(ns);
}

/* One full in-process sandbox: spawn, wait for exit, reap, destroy. */
static int sandbox_once(struct sl_runtime *rt, const struct sl_sandbox_config *cfg)
{
	struct sl_sandbox_result res;
	struct sl_sandbox *sb;
	int r = sl_sandbox_spawn(rt, cfg, &sb);

	if (r < 0)
		return r;
	struct pollfd p = {.fd = sl_sandbox_pidfd(sb), .events = POLLIN};
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	r = sl_sandbox_reap(sb, &res);
	if (r >= 0 && res.exit_code != 0)
		r = -EPROTO;
	if (r >= 0)
		r = sl_sandbox_destroy(sb);
	sl_sandbox_free(&sb);
	return r;
}

static void bench_inprocess(struct row *r, int n, unsigned pool)
{
	struct sl_runtime_opts ro = {.pool_size = pool};
	static char *const argv[] = {"/bin/true", NULL};
	static char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
	struct sl_sandbox_config cfg = {
		.argv = argv,
		.envp = envp,
		.memory_bytes = 128ULL << 20,
		.cpu_millis = 72, /* 128 MB / 1769 MB per vCPU, as `run` defaults */
		.stdio = {SL_STDIO_NULL, SL_STDIO_NULL, SL_STDIO_NULL},
	};
	uint64_t *ns = calloc((size_t)n, sizeof(*ns));
	struct sl_runtime *rt = NULL;
	int e = sl_runtime_new(&rt, &ro);

	if (e < 0) {
		fprintf(stderr, "coldstart: runtime: %s\n", strerror(-e));
		free(ns);
		return;
	}
	for (int i = 0; i < 5; i++)
		sandbox_once(rt, &cfg);
	for (int i = 0; i < n; i++) {
		uint64_t t = sl_now_ns();
		e = sandbox_once(rt, &cfg);
		if (e < 0) {
			fprintf(stderr, "coldstart: sandbox: %s\n", strerror(-e));
			goto out;
		}
		ns[i] = sl_now_ns() - t;
	}
	summarize(r, ns, n);
out:
	sl_runtime_free(&rt);
	free(ns);
}

static void print_row(const struct row *r)
{
	if (!r->ok) {
		printf("%-34s %9s\n", r->name, "failed");
		return;
	}
	printf("%-34s %9.3f %9.3f %9.3f %10.0f\n", r->name, r->p50, r->p99, r->mean,
	       1000.0 / r->mean);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"agent", required_argument, NULL, 'a'}, {}};
	const char *agent = SANDLOT_AGENT_PATH;
	int n = 300, c;

	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 'a')
			agent = optarg;
		else
			return 2;
	}
	if (n < 10)
		n = 10;
	char *true_argv[] = {"/bin/true", NULL};
	char *run_argv[] = {(char *)agent, "run", "--", "/bin/true", NULL};
	char *bwrap_argv[] = {"/usr/bin/bwrap",
			      "--unshare-all",
			      "--die-with-parent",
			      "--ro-bind",
			      "/usr",
			      "/usr",
			      "--symlink",
			      "usr/bin",
			      "/bin",
			      "--symlink",
			      "usr/sbin",
			      "/sbin",
			      "--symlink",
			      "usr/lib",
			      "/lib",
			      "--symlink",
			      "usr/lib64",
			      "/lib64",
			      "--ro-bind",
			      "/etc/ld.so.cache",
			      "/etc/ld.so.cache",
			      "--proc",
			      "/proc",
			      "--dev",
			      "/dev",
			      "--tmpfs",
			      "/tmp",
			      "--",
			      "/bin/true",
			      NULL};
	struct row rows[6] = {{.name = "fork+exec /bin/true"},
			      {.name = "clone3+ns floor (pid,net,uts,ipc)"},
			      {.name = "in-process sandbox, pool of 4"},
			      {.name = "in-process sandbox, no pool"},
			      {.name = "sandlot-agent run -- /bin/true"},
			      {.name = "bwrap --unshare-all"}};

	bench_cmd(&rows[0], true_argv, n);
	bench_floor(&rows[1], n);
	bench_inprocess(&rows[2], n, 4);
	bench_inprocess(&rows[3], n, 0);
	bench_cmd(&rows[4], run_argv, n / 2 > 10 ? n / 2 : 10);
	bench_cmd(&rows[5], bwrap_argv, n / 2 > 10 ? n / 2 : 10);

	printf("%-34s %9s %9s %9s %10s\n", "ms (n=", "p50", "p99", "mean", "per s");
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		print_row(&rows[i]);
	if (rows[2].ok && rows[1].ok)
		printf("in-process / clone3 floor, p50: %.2fx\n", rows[2].p50 / rows[1].p50);
	if (rows[4].ok && rows[5].ok)
		printf("sandlot-agent run / bwrap, p50: %.2fx (target <= 0.6)\n",
		       rows[4].p50 / rows[5].p50);
	return 0;
}
