/*
 * bpf-overhead: what sandlot's BPF programs cost.
 *
 *  1. run_time_ns / run_cnt of each program (BPF_ENABLE_STATS, released at exit, so the host's
 *     kernel.bpf_stats_enabled is left as it was) under a scheduler-heavy load (two processes
 *     ping-ponging over pipes) outside and inside a registered sandbox, and under a
 *     packet-heavy load (iperf3 from a sandbox across a veth pair);
 *  2. iperf3 throughput over the veth pair between two network namespaces without and with
 *     the programs loaded and attached, alternating, side by side.
 *
 * Usage: bpf-overhead [ROUNDS] (default 3). Needs root, iperf3 and ip(8).
 * Statistics themselves add about 20 ns per run (two clock reads).
 */
#include "bpf-loader.h"
#include "../tests/bpfscaffold.h"

#include <sandlot/time.h>
#include <sandlot/util.h>

#include <bpf/bpf.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#define PINGPONGS  100000
#define IPERF_SECS "3"
#define IPERF_PORT "5201"

static struct sc sc;

struct prog_stat {
	const char *name;
	uint64_t ns, cnt;
};

static struct prog_stat progs[] = {
	{.name = "sl_sched_switch"},
	{.name = "sl_skb_egress"},
	{.name = "sl_skb_ingress"},
	{.name = "sl_connect4"},
};

static void snap(struct sl_bpf *b, struct prog_stat *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(progs); i++) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		int fd = sl_bpf_prog_fd(b, progs[i].name);

		out[i] = progs[i];
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			out[i].ns = info.run_time_ns;
			out[i].cnt = info.run_cnt;
		}
	}
}

static void print_delta(const char *load, const struct prog_stat *a, const struct prog_stat *b)
{
	for (size_t i = 0; i < ARRAY_SIZE(progs); i++) {
		uint64_t cnt = b[i].cnt - a[i].cnt, ns = b[i].ns - a[i].ns;

		if (cnt)
			printf("  %-28s %-16s %10llu runs %8.1f ns/run\n", load, a[i].name,
			       (unsigned long long)cnt, (double)ns / (double)cnt);
	}
}

static int pingpong(void *arg)
{
	int ab[2], ba[2];
	char c = 0;

	if (pipe(ab) < 0 || pipe(ba) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < PINGPONGS; i++)
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	for (int i = 0; i < PINGPONGS; i++)
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			return 1;
	waitpid(pid, NULL, 0);
	return 0;
}

/* Runs the ping-pong in cgroup cg; returns the round trip in ns. */
static double run_pingpong(const char *cg)
{
	uint64_t t0 = sl_now_ns();
	pid_t pid = sc_spawn(cg, -1, pingpong, NULL);

	if (pid < 0 || sc_wait(pid) != 0)
		return -1;
	return (double)(sl_now_ns() - t0) / PINGPONGS;
}

static int exec_iperf_client(void *arg)
{
	int fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || dup2(fd, 1) < 0)
		return 125;
	execlp("iperf3", "iperf3", "-c", SC_NET_H, "-p", IPERF_PORT, "-t", IPERF_SECS, "-J", NULL);
	return 127;
}

/* One iperf3 run from cgroup cg (sandbox netns) to the test host; Gbit/s or < 0. */
static double run_iperf(const char *cg)
{
	char out[128], cmd[256];
	pid_t server, client;
	json_t *j;
	double bps;

	snprintf(out, sizeof(out), "/tmp/sandlot-bench-bpf-%d.json", (int)getpid());
	snprintf(cmd, sizeof(cmd), "exec ip netns exec %s iperf3 -s -1 -B %s -p %s >/dev/null",
		 sc.ns_h, SC_NET_H, IPERF_PORT);
	server = fork();
	if (server == 0) {
		execl("/bin/sh", "sh", "-c", cmd, NULL);
		_exit(127);
	}
	usleep(300000); /* the server binds; a refused client is retried below */
	for (int i = 0; i < 3; i++) {
		client = sc_spawn(cg, sc.ns_s_fd, exec_iperf_client, out);
		if (client > 0 && sc_wait(client) == 0)
			break;
		usleep(300000);
	}
	sc_wait(server);
	j = json_load_file(out, 0, NULL);
	unlink(out);
	bps = json_real_value(json_object_get(
		json_object_get(json_object_get(j, "end"), "sum_received"), "bits_per_second"));
	json_decref(j);
	return j ? bps / 1e9 : -1;
}

static int open_loader(struct sl_bpf **b, const char *cg, uint64_t *id)
{
	struct sl_bpf_opts o = {.pin_root = sc.pin_root, .cgroup_parent = sc.cg_parent};
	struct sl_bpf_sandbox_spec spec = {.cgroup_path = cg};
	int r = sl_bpf_open(&o, b, NULL);

	if (r < 0)
		return r;
	return sl_bpf_sandbox_add(*b, &spec, id);
}

static void close_loader(struct sl_bpf **b)
{
	sl_bpf_free(b);
	sl_bpf_destroy_pins(sc.pin_root); /* detaches everything: the "without" case */
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int program_costs(const char *plain, const char *sbx)
{
	struct prog_stat a[ARRAY_SIZE(progs)], b[ARRAY_SIZE(progs)];
	struct sl_bpf *bpf = NULL;
	uint64_t id;
	int r = open_loader(&bpf, sbx, &id);

	if (r < 0)
		return r;
	printf("program cost (BPF_ENABLE_STATS; includes ~20 ns of stats overhead per run)\n");
	snap(bpf, a);
	double rt = run_pingpong(plain);
	snap(bpf, b);
	print_delta("sched, unregistered cgroup", a, b);
	snap(bpf, a);
	double rt_sbx = run_pingpong(sbx);
	snap(bpf, b);
	print_delta("sched, sandbox cgroup", a, b);
	snap(bpf, a);
	double g = run_iperf(sbx);
	snap(bpf, b);
	print_delta("packets (iperf3, sandbox)", a, b);
	printf("  pipe round trip: %.0f ns unregistered, %.0f ns in a sandbox; iperf3 %.2f "
	       "Gbit/s\n\n",
	       rt, rt_sbx, g);
	close_loader(&bpf);
	return 0;
}

static int throughput(const char *plain, const char *sbx, int rounds)
{
	double without[16], with[16];
	struct sl_bpf *bpf = NULL;
	uint64_t id;
	int r;

	printf("iperf3 over veth (%s s per run, %d rounds, alternating; medians)\n", IPERF_SECS,
	       rounds);
	for (int i = 0; i < rounds; i++) {
		without[i] = run_iperf(plain);
		r = open_loader(&bpf, sbx, &id);
		if (r < 0)
			return r;
		with[i] = run_iperf(sbx);
		close_loader(&bpf);
		printf("  round %d: without %.2f Gbit/s, with %.2f Gbit/s\n", i + 1, without[i],
		       with[i]);
	}
	qsort(without, (size_t)rounds, sizeof(double), cmp_double);
	qsort(with, (size_t)rounds, sizeof(double), cmp_double);
	printf("  %-10s %10s %10s %8s\n", "", "without", "with", "ratio");
	printf("  %-10s %10.2f %10.2f %7.1f%%\n", "median", without[rounds / 2], with[rounds / 2],
	       100.0 * with[rounds / 2] / without[rounds / 2]);
	printf("  %-10s %10.2f %10.2f\n", "min", without[0], with[0]);
	printf("  %-10s %10.2f %10.2f\n", "max", without[rounds - 1], with[rounds - 1]);
	return 0;
}

int main(int argc, char **argv)
{
	char plain[512], sbx[512];
	int rounds = argc > 1 ? atoi(argv[1]) : 3, r, stats_fd;

	if (rounds < 1 || rounds > 16 || geteuid() != 0) {
		fprintf(stderr, "usage: bpf-overhead [ROUNDS 1-16] (as root)\n");
		return 2;
	}
	if (sc_setup(&sc, true) < 0 || sc_cgroup_new(&sc, plain) < 0 ||
	    sc_cgroup_new(&sc, sbx) < 0) {
		fprintf(stderr, "bpf-overhead: test cgroups/netns setup failed\n");
		sc_teardown(&sc);
		return 1;
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0)
		fprintf(stderr, "bpf-overhead: BPF_ENABLE_STATS failed: %s\n", strerror(errno));
	r = program_costs(plain, sbx);
	if (r >= 0)
		r = throughput(plain, sbx, rounds);
	if (r < 0)
		fprintf(stderr, "bpf-overhead: %s\n", strerror(-r));
	if (stats_fd >= 0)
		close(stats_fd);
	sc_teardown(&sc);
	return r < 0;
}
