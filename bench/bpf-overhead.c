// SPDX-License-Identifier: Apache-2.0
/*
 * bpf-overhead: what sandlot's BPF programs cost.
 *
 *  1. Program cost: run_time_ns / run_cnt of each program (BPF_ENABLE_STATS, held only while
 *     this part runs) under a scheduler-heavy load (two processes ping-ponging over pipes) in
 *     another cgroup and in a registered sandbox, and under a packet load (1 s of iperf3 from the
 *     sandbox across a veth pair). The floor is an empty program of the same kind on the same
 *     hook (probe.bpf.o's tp_btf, raw "return 1" cgroup_skb programs). Each setup is attached
 *     alone and the setups alternate round by round: attached together, whichever program runs
 *     first pays 5-25 ns more here, which inflated sandlot's figures when it was measured beside
 *     the floor. Printed: medians [min-max] per setup, sandlot's net of the floor's median.
 *     SL_BPF_ABLATE=bits,... adds variants of bpf/sandlot-ablate.bpf.c with parts left out
 *     (SL_BPF_ABLATE_* in bpf_abi.h; 0x80000000: that object with nothing left out).
 *  2. Throughput: iperf3 (3 s) without (another cgroup, nothing attached) and with sandlot's
 *     programs, alternating; per-round ratio, median and range. No statistics in this part.
 *
 * Usage: bpf-overhead [ROUNDS [all|costs|throughput]] (default 3 all). Needs root, iperf3, ip(8).
 *
 * Findings (Firecracker VM, AMD EPYC Zen 3, 2 vCPUs shared with other builds, tsc; spread
 * between runs of the same code is 10-20 ns, so read medians of several rounds):
 *  - The floor itself is 70-80 ns (tp_btf) and 80-90 ns (cgroup_skb) per run: the statistics'
 *    two clock reads and the call into the program. The absolute targets (sched_switch
 *    <= 100 ns, cgroup_skb <= 60 ns per run as run_time_ns/run_cnt) leave 20-30 ns for
 *    sched_switch's work and are below what an empty cgroup_skb program costs here.
 *  - A helper call the verifier does not inline costs 20-40 ns with the cache lines it touches
 *    (SRSO "safe RET" makes every return expensive); the inlined work around it is cheap.
 *    bpf_cgrp_storage_get was ~40 ns of sched_switch for every task on the host,
 *    bpf_task_storage_get is ~20-30 ns more for sandbox tasks.
 *  - sched_switch now finds sandboxes in a direct-mapped array (sl_cgslot, inlined): other
 *    tasks 49 -> 27-30 ns net, sandbox tasks 71-98 -> 60 ns (medians of 7 rounds, old and new
 *    code measured by this program one after the other). Measuring the slice per CPU from the
 *    switch-in instead of task storage saved another ~25 ns, but lost up to 90% of a test's
 *    CPU time when a switch event went missing (it happens here), so task storage stayed.
 *  - cgroup_skb: bpf_get_local_storage is 25-45 ns of it; under iperf3 (64 KB skbs copied
 *    between runs) nearly every line a program touches misses the cache, so cost follows lines
 *    touched more than instructions. Ingress runs in softirq where everything is colder, which
 *    is why it cost more than egress although it does less. Slot and counters now sit in one
 *    per-CPU cgroup storage line (sl_net) and the sandbox is read once per tick: egress 68-75 ->
 *    47-55 ns net, ingress 84-88 -> 55-59 ns. The egress parse (IPv4 header in the linear
 *    head) is 5-20 ns; skipping it for TCP full sockets would need bpf_sk_fullsock, a helper.
 *  - iperf3 (13 rounds, two runs): per-round with/without ratio medians 103% and 96%, single
 *    rounds 52-199%; this shared machine cannot resolve a 3% difference.
 *  - A sandbox task's switch-out also marks it busy (once per tick per CPU, as switch-ins
 *    do): sandbox tasks +27.0/+29.0 ns net before, +26.8/+33.9 after, other tasks
 *    +18.9/+22.5 before, +15.2/+24.6 after (3 rounds each, the old and new binary
 *    alternated twice in one session): within the spread between runs.
 */
#include "bpfload/bpf-loader.h"
#include "bpfscaffold.h"

#include <sandlot/time.h>
#include <sandlot/util.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#define PINGPONGS  100000
#define IPERF_SECS "3"
#define IPERF_PORT "5201"
#define MAX_REPS   16

static struct sc sc;

struct prog_stat {
	const char *name;
	uint64_t ns, cnt;
};

/* Empty programs (probe.bpf.o) attached alongside ours: the cost of running any program. */
/* Empty programs (probe.bpf.o) attached alongside ours: the cost of running any program. */
enum { FLOOR_SCHED, FLOOR_EGRESS, FLOOR_INGRESS, FLOOR_N };

struct floor {
	struct bpf_object *obj[FLOOR_N];
	struct bpf_link *link[FLOOR_N];
	int fd[FLOOR_N];
};

/* Opens probe.bpf.o with only the named program, optionally for another attach type. */
static struct bpf_object *open_probe(const char *name, int attach_type)
{
	struct bpf_object *obj = bpf_object__open_file(SANDLOT_PROBE_OBJ, NULL);
	struct bpf_program *p;

	if (!obj)
		return NULL;
	bpf_object__for_each_program (p, obj) {
		bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), name));
		if (attach_type && !strcmp(bpf_program__name(p), name))
			bpf_program__set_expected_attach_type(p, (enum bpf_attach_type)attach_type);
	}
	if (bpf_object__load(obj) < 0) {
		bpf_object__close(obj);
		return NULL;
	}
	return obj;
}

/* An empty cgroup_skb program ("return 1") for one attach type, loaded from raw instructions. */
static int empty_skb_prog(enum bpf_attach_type type)
{
	const struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = type);

	return bpf_prog_load(BPF_PROG_TYPE_CGROUP_SKB, "empty_skb", "GPL", insns, ARRAY_SIZE(insns),
			     &o);
}

static int floor_open(struct floor *f, const char *cg)
{
	struct bpf_program *p;
	int cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	memset(f, 0, sizeof(*f));
	f->obj[FLOOR_SCHED] = open_probe("probe_tp_btf", 0);
	p = f->obj[FLOOR_SCHED]
		    ? bpf_object__find_program_by_name(f->obj[FLOOR_SCHED], "probe_tp_btf")
		    : NULL;
	if (!p || !(f->link[FLOOR_SCHED] = bpf_program__attach(p)))
		r = -EIO;
	else
		f->fd[FLOOR_SCHED] = bpf_program__fd(p);
	f->fd[FLOOR_EGRESS] = empty_skb_prog(BPF_CGROUP_INET_EGRESS);
	f->fd[FLOOR_INGRESS] = empty_skb_prog(BPF_CGROUP_INET_INGRESS);
	if (r == 0 && (f->fd[FLOOR_EGRESS] < 0 || f->fd[FLOOR_INGRESS] < 0 ||
		       bpf_prog_attach(f->fd[FLOOR_EGRESS], cg_fd, BPF_CGROUP_INET_EGRESS,
				       BPF_F_ALLOW_MULTI) < 0 ||
		       bpf_prog_attach(f->fd[FLOOR_INGRESS], cg_fd, BPF_CGROUP_INET_INGRESS,
				       BPF_F_ALLOW_MULTI) < 0))
		r = -errno;
	close(cg_fd);
	return r;
}

/* Legacy attachments of the empty skb programs end with the test cgroup (sc_teardown). */
static void floor_close(struct floor *f, const char *cg)
{
	int cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	bpf_prog_detach2(f->fd[FLOOR_EGRESS], cg_fd, BPF_CGROUP_INET_EGRESS);
	bpf_prog_detach2(f->fd[FLOOR_INGRESS], cg_fd, BPF_CGROUP_INET_INGRESS);
	close(cg_fd);
	for (int i = 0; i < FLOOR_N; i++) {
		bpf_link__destroy(f->link[i]);
		bpf_object__close(f->obj[i]);
		if (i != FLOOR_SCHED && f->fd[i] > 0)
			close(f->fd[i]);
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

static const char *iperf_secs = IPERF_SECS;

static int exec_iperf_client(void *arg)
{
	int fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || dup2(fd, 1) < 0)
		return 125;
	execlp("iperf3", "iperf3", "-c", SC_NET_H, "-p", IPERF_PORT, "-t", iperf_secs, "-J", NULL);
	return 127;
}

/* One iperf3 run from cgroup cg (sandbox netns) to the test host; Gbit/s or < 0. */
static double run_iperf(const char *cg, const char *secs)
{
	char out[128], cmd[256];
	pid_t server, client;
	bool ok = false;
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
	iperf_secs = secs;
	usleep(300000); /* the server binds; a refused client is retried below */
	for (int i = 0; i < 3 && !ok; i++) {
		client = sc_spawn(cg, sc.ns_s_fd, exec_iperf_client, out);
		ok = client > 0 && sc_wait(client) == 0;
		if (!ok)
			usleep(300000);
	}
	if (!ok)
		kill(server, SIGTERM); /* it may never have got a client */
	sc_wait(server);
	j = json_load_file(out, 0, NULL);
	unlink(out);
	bps = json_real_value(json_object_get(
		json_object_get(json_object_get(j, "end"), "sum_received"), "bits_per_second"));
	json_decref(j);
	return j ? bps / 1e9 : -1;
}

static int open_loader(struct sl_bpf **b, const char *cg, uint32_t ablate, uint64_t *id)
{
	struct sl_bpf_opts o = {.pin_root = sc.pin_root,
				.cgroup_parent = sc.cg_parent,
				.obj_path = ablate ? SANDLOT_ABLATE_OBJ : NULL,
				.ablate = ablate};
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

static struct floor flr;

/* The program costs measured in one setup: ns per run, per load. */
enum { M_SCHED_PLAIN, M_SCHED_SBX, M_EGRESS, M_INGRESS, M_N };
static const char *const metric_names[M_N] = {"sched_switch, other task", "sched_switch, sandbox",
					      "skb egress", "skb ingress"};

struct cost_setup {
	const char *label;
	bool floor;	 /* the empty programs instead of sandlot's */
	uint32_t ablate; /* SL_BPF_ABLATE_* (sandlot's programs with parts left out) */
	double v[M_N][MAX_REPS];
};

static int stat_of(int fd, uint64_t *ns, uint64_t *cnt)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -1;
	*ns = info.run_time_ns;
	*cnt = info.run_cnt;
	return 0;
}

/* ns per run of prog fd while fn(arg) runs (0 when it did not run). */
static double cost_during(int fd, int fd2, double *ret2, void (*fn)(const char *), const char *cg)
{
	uint64_t n0 = 0, c0 = 0, n1 = 0, c1 = 0, m0 = 0, d0 = 0, m1 = 0, d1 = 0;

	stat_of(fd, &n0, &c0);
	stat_of(fd2, &m0, &d0);
	fn(cg);
	stat_of(fd, &n1, &c1);
	stat_of(fd2, &m1, &d1);
	if (ret2)
		*ret2 = d1 > d0 ? (double)(m1 - m0) / (double)(d1 - d0) : 0;
	return c1 > c0 ? (double)(n1 - n0) / (double)(c1 - c0) : 0;
}

static void load_pingpong(const char *cg)
{
	run_pingpong(cg);
}

static void load_iperf(const char *cg)
{
	run_iperf(cg, "1");
}

/* One round of the loads with setup su attached alone to the sandbox cgroup. */
static int cost_round(struct cost_setup *su, int rep, const char *plain, const char *sbx)
{
	struct sl_bpf *bpf = NULL;
	int fd[3], r;
	uint64_t id;

	if (su->floor) {
		r = floor_open(&flr, sbx);
		memcpy(fd, flr.fd, sizeof(fd));
	} else {
		r = open_loader(&bpf, sbx, su->ablate, &id);
		fd[0] = sl_bpf_prog_fd(bpf, "sl_sched_switch");
		if (fd[0] < 0)
			fd[0] = sl_bpf_prog_fd(bpf, "sl_sched_switch_hash");
		fd[1] = sl_bpf_prog_fd(bpf, "sl_skb_egress");
		fd[2] = sl_bpf_prog_fd(bpf, "sl_skb_ingress");
	}
	if (r >= 0) {
		su->v[M_SCHED_PLAIN][rep] = cost_during(fd[0], -1, NULL, load_pingpong, plain);
		su->v[M_SCHED_SBX][rep] = cost_during(fd[0], -1, NULL, load_pingpong, sbx);
		su->v[M_EGRESS][rep] =
			cost_during(fd[1], fd[2], &su->v[M_INGRESS][rep], load_iperf, sbx);
	}
	if (su->floor)
		floor_close(&flr, sbx);
	else
		close_loader(&bpf);
	return r;
}

static double median_of(const double *v, int n, double *lo, double *hi)
{
	double s[MAX_REPS];

	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), cmp_double);
	*lo = s[0];
	*hi = s[n - 1];
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void print_costs(const struct cost_setup *su, size_t n, int reps)
{
	double lo, hi, floor_m[M_N];

	for (int m = 0; m < M_N; m++)
		floor_m[m] = median_of(su[0].v[m], reps, &lo, &hi);
	printf("  %-24s", "ns/run: median [min-max]");
	for (size_t i = 0; i < n; i++)
		printf(" %-22s", su[i].label);
	printf("\n");
	for (int m = 0; m < M_N; m++) {
		printf("  %-24s", metric_names[m]);
		for (size_t i = 0; i < n; i++) {
			double med = median_of(su[i].v[m], reps, &lo, &hi);
			char cell[64];

			if (i == 0)
				snprintf(cell, sizeof(cell), "%.1f [%.0f-%.0f]", med, lo, hi);
			else
				snprintf(cell, sizeof(cell), "%+.1f [%.0f-%.0f]", med - floor_m[m],
					 lo, hi);
			printf(" %-22s", cell);
		}
		printf("\n");
	}
}

/*
 * Each setup alone on the hooks (so that each runs first, as sandlot's programs do in
 * production), setups alternating round by round; sandlot's figures are net of the floor's
 * median. SL_BPF_ABLATE="bits,bits,..." adds variants with parts of the programs left out.
 */
static int program_costs(const char *plain, const char *sbx, int reps)
{
	static struct cost_setup su[8] = {{.label = "empty (floor)", .floor = true},
					  {.label = "sandlot (net)"}};
	char labels[6][32];
	const char *abl = getenv("SL_BPF_ABLATE");
	size_t n = 2;
	int r;

	for (char *e; abl && *abl && n < ARRAY_SIZE(su); abl = *e ? e + 1 : e) {
		su[n].ablate = (uint32_t)strtoul(abl, &e, 0);
		snprintf(labels[n - 2], sizeof(labels[0]), "ablate 0x%x (net)", su[n].ablate);
		su[n].label = labels[n - 2];
		n++;
	}
	printf("program cost (BPF_ENABLE_STATS run_time_ns/run_cnt, %d rounds; pipe ping-pong in "
	       "another cgroup and in the sandbox, 1 s iperf3 from the sandbox)\n",
	       reps);
	for (int rep = 0; rep < reps; rep++)
		for (size_t i = 0; i < n; i++) {
			r = cost_round(&su[i], rep, plain, sbx);
			if (r < 0)
				return r;
		}
	print_costs(su, n, reps);
	printf("\n");
	return 0;
}

/*
 * iperf3 without (from another cgroup, nothing attached) and with sandlot's programs (from the
 * sandbox), alternating round by round; the ratio is taken per round (with / the same round's
 * without), reported as median and range. Statistics are off here (they cost per run).
 */
static int throughput(const char *plain, const char *sbx, int rounds)
{
	double without[MAX_REPS], with[MAX_REPS], ratio[MAX_REPS], lo, hi, rlo, rhi;
	struct sl_bpf *bpf = NULL;
	uint64_t id;
	int r;

	printf("iperf3 over veth (%s s per run, %d rounds, alternating)\n", IPERF_SECS, rounds);
	for (int i = 0; i < rounds; i++) {
		without[i] = run_iperf(plain, IPERF_SECS);
		r = open_loader(&bpf, sbx, 0, &id);
		if (r < 0)
			return r;
		with[i] = run_iperf(sbx, IPERF_SECS);
		close_loader(&bpf);
		if (without[i] <= 0 || with[i] <= 0)
			return -EIO;
		ratio[i] = 100.0 * with[i] / without[i];
		printf("  round %d: without %.2f Gbit/s, with %.2f Gbit/s (%.1f%%)\n", i + 1,
		       without[i], with[i], ratio[i]);
	}
	double mw = median_of(without, rounds, &lo, &hi), mr = median_of(ratio, rounds, &rlo, &rhi);

	printf("  without: median %.2f Gbit/s [%.2f-%.2f]\n", mw, lo, hi);
	mw = median_of(with, rounds, &lo, &hi);
	printf("  with:    median %.2f Gbit/s [%.2f-%.2f]\n", mw, lo, hi);
	printf("  with/without per round: median %.1f%% [%.1f-%.1f%%]\n", mr, rlo, rhi);
	return 0;
}

int main(int argc, char **argv)
{
	char plain[512], sbx[512];
	int rounds = argc > 1 ? atoi(argv[1]) : 3, r = 0, stats_fd;
	const char *part = argc > 2 ? argv[2] : "all";
	bool costs = !strcmp(part, "all") || !strcmp(part, "costs"),
	     tput = !strcmp(part, "all") || !strcmp(part, "throughput");

	if (rounds < 1 || rounds > MAX_REPS || (!costs && !tput) || geteuid() != 0) {
		fprintf(stderr,
			"usage: bpf-overhead [ROUNDS 1-%d [all|costs|throughput]] (as root)\n",
			MAX_REPS);
		return 2;
	}
	if (sc_setup(&sc, true) < 0 || sc_cgroup_new(&sc, plain) < 0 ||
	    sc_cgroup_new(&sc, sbx) < 0) {
		fprintf(stderr, "bpf-overhead: test cgroups/netns setup failed\n");
		sc_teardown(&sc);
		return 1;
	}
	if (costs) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0)
			fprintf(stderr, "bpf-overhead: BPF_ENABLE_STATS failed: %s\n",
				strerror(errno));
		r = program_costs(plain, sbx, rounds);
		if (stats_fd >= 0)
			close(stats_fd);
	}
	if (r >= 0 && tput)
		r = throughput(plain, sbx, rounds);
	if (r < 0)
		fprintf(stderr, "bpf-overhead: %s\n", strerror(-r));
	sc_teardown(&sc);
	return r < 0;
}
