/*
 * bench/coldstart: how long a sandbox takes from nothing to CMD exited and everything removed,
 * side by side with its peers, in one run.
 *
 *   coldstart [-n ITERATIONS] [--agent PATH] [--only true,floor,pool,nopool,run]
 *
 * Rows (each: p50, p99, mean, sequential sandboxes/s):
 *   fork+exec /bin/true              the process floor
 *   clone3+ns floor                  clone3 with new pid/net/uts/ipc ns + exec /bin/true + wait
 *   in-process sandbox               sl_sandbox_spawn -> /bin/true exits -> reap -> destroy,
 *                                    "destroyed" meaning every cgroup directory is rmdir'ed
 *                                    (v2 and v1) before the clock stops; runtime made once
 *   sandlot-agent run -- /bin/true   the whole one-shot command (runtime set-up included)
 *   bwrap --unshare-all ...          same binds: ro /usr (+ /bin, /lib* links), /proc, /dev,
 *                                    tmpfs /tmp; run alternately with the row above
 *
 * What "in-process sandbox" counts: sl_sandbox_spawn (every isolation step: cgroups with
 * limits, pid/mnt/net/uts/ipc/cgroup namespaces, template root + tmpfs /tmp + /proc, hostname,
 * lo, uid/gid, no capabilities, no_new_privs, seccomp, rlimits, pid-1 init) -> /bin/true
 * exec'd by the init -> exit seen on the pidfd -> reap -> sl_sandbox_destroy + free, which
 * rmdir()s the v2 and every v1 cgroup before the clock stops. "pool of 4": the network
 * namespace (with lo up) and the cgroup directories of each sandbox were made ahead by the
 * runtime's filler thread on the other core (fresh, never reused); their cost is in the CPU
 * the host spends, not in the latency. "no pool": made on the spawn path.
 *
 * What the measurements showed (perf record -e sched:sched_switch, perf trace -s, timestamps
 * from inside the child; 2-core Firecracker VM, other builds running, so every figure is noisy):
 *   - clone3 with CLONE_NEWNET: 0.85 ms (unshare(CLONE_NEWNET) alone 0.6 ms: setup_net runs
 *     every pernet init, and waits on the nexthop notifier mutex). Hence the pool.
 *   - Loading the ~315-instruction seccomp allow-list: 0.33-0.6 ms per load, all in the x86
 *     BPF JIT (do_jit, text_poke); a 1-instruction filter costs 18 us. Hence one base filter
 *     loaded once on the spawner thread and inherited by every clone3 child, plus a
 *     17-instruction per-sandbox seal (~50 us).
 *   - libseccomp compiling the two filters: 1.7 ms per process start -> moved to build time.
 *   - v1 cgroup.procs writes take the global cgroup_threadgroup_rwsem for writing, which now
 *     and then waits for an RCU grace period (ms); the child instead writes "0" to each v1
 *     "tasks" file (its own thread: no global lock).
 *   - 41 PR_CAPBSET_DROP calls per sandbox: the spawner thread empties its bounding set once
 *     and children inherit it.
 *   - Per-sandbox root: setns() into the template namespace + unshare(CLONE_NEWNS) (~10 mounts
 *     copied) + tmpfs /tmp + proc: ~0.1 ms, against ~20 mount calls and pivot_root.
 *   - Remaining critical path, p50 under load (us): parent spawn incl. clone3 380, child join
 *     + setns net 157, rootfs 105, creds/fds/seal ~110, posix_spawn+exec 383, /bin/true itself
 *     616, pid/mnt/ipc namespace teardown after exit 331, reap 12, destroy (4 rmdir) 201.
 *     The exec and run of a dynamically linked /bin/true (~1 ms here) is most of it.
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

/* Two commands measured alternately, so that both see the same background load. */
static void bench_cmd_pair(struct row *a, char *const argv_a[], struct row *b, char *const argv_b[],
			   int n)
{
	uint64_t *na = calloc((size_t)n, sizeof(*na)), *nb = calloc((size_t)n, sizeof(*nb));
	bool ok = true;

	for (int i = 0; i < 3; i++)
		run_cmd(argv_a), run_cmd(argv_b); /* warm up */
	for (int i = 0; i < n && ok; i++) {
		uint64_t t = sl_now_ns();
		ok &= run_cmd(argv_a) == 0;
		na[i] = sl_now_ns() - t;
		t = sl_now_ns();
		ok &= run_cmd(argv_b) == 0;
		nb[i] = sl_now_ns() - t;
	}
	if (ok) {
		summarize(a, na, n);
		summarize(b, nb, n);
	} else {
		fprintf(stderr, "coldstart: %s or %s failed\n", a->name, b->name);
	}
	free(na);
	free(nb);
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
		printf("%-34s %9s\n", r->name, "-");
		return;
	}
	printf("%-34s %9.3f %9.3f %9.3f %10.0f\n", r->name, r->p50, r->p99, r->mean,
	       1000.0 / r->mean);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"agent", required_argument, NULL, 'a'},
					     {"only", required_argument, NULL, 'o'},
					     {}};
	const char *agent = SANDLOT_AGENT_PATH, *only = NULL;
	int n = 300, c;

	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 'a')
			agent = optarg;
		else if (c == 'o')
			only = optarg;
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

	/* --only LIST: the groups to measure, of "true", "floor", "pool", "nopool", "run" */
	if (!only || strstr(only, "true"))
		bench_cmd(&rows[0], true_argv, n);
	if (!only || strstr(only, "floor"))
		bench_floor(&rows[1], n);
	if (!only || strstr(only, "pool,") || (strstr(only, "pool") && !strstr(only, "nopool")))
		bench_inprocess(&rows[2], n, 4);
	if (!only || strstr(only, "nopool"))
		bench_inprocess(&rows[3], n, 0);
	if (!only || strstr(only, "run"))
		bench_cmd_pair(&rows[4], run_argv, &rows[5], bwrap_argv, n / 2 > 10 ? n / 2 : 10);

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
