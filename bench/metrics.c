// SPDX-License-Identifier: Apache-2.0
/*
 * bench/metrics [N...]: what observing an agent costs, as the number of sandboxes grows.
 *
 * A real agent (tests/harness/agentpeer.c) gets warm sandboxes of the C example, up to each N in
 * turn (default 0 250 500 1000). At each step:
 *   - one /metrics scrape: the agent's CPU time (utime+stime from /proc/<pid>/stat) over 20
 *     scrapes, per scrape, beside a GET /healthz through the same HTTP path (baseline), and the
 *     share of one CPU at a 15 s scrape interval;
 *   - `sandlotctl -j sandbox list` beside `bpftool -j map dump pinned <pin root>/sl_sandboxes`:
 *     CPU (user+sys of the child) and wall time, median of 5 runs each, and the ratio.
 * Needs root. SANDLOTCTL and BPFTOOL override the programs' paths; SL_BENCH_PERF=FILE records
 * the agent with perf during the scrapes of 1,000 sandboxes.
 *
 * On the 2-vCPU development VM (hybrid cgroups, other builds running), warm idle sandboxes of
 * the C example; agent CPU per scrape from /proc/<pid>/stat ticks (10 ms) over 20 scrapes:
 *
 *       N   scrape CPU   size    % CPU@15s   sandlotctl   bpftool   ratio (CPU ms)
 *       0       5.0 ms     7 KB     0.033%       16.8      283.9     0.06
 *     250       7.5 ms   346 KB     0.050%       17.8      240.9     0.07
 *     500      10.0 ms   684 KB     0.067%       23.1      330.8     0.07
 *    1000      15.5 ms  1.36 MB     0.103%       32.9      246.4     0.13
 *
 * (GET /healthz, the baseline through the same HTTP path, is below the tick: 0-0.5 ms.) About
 * 10 us per sandbox on top of a fixed ~5 ms: linear. Before three changes the same 1,000 cost
 * 72 ms (0.48%): perf showed a third of it listing /proc/self/fd for process_open_fds (~10
 * fds per sandbox: now recounted at most once a minute past 1,000 fds), then the text writer
 * (stdio and %.15g per value: now a plain buffer, integers printed as integers), the per-
 * sandbox BPF calls (the loader's counters call runs the clock program each time: now one
 * batch read of the pinned sl_counters per scrape) and v1 memory.stat reads (~16 us each: now
 * re-read only for sandboxes that ran since the last read, or once a minute). A busy sandbox
 * still costs its memory.stat read. bpftool dumps all 4096 slots of sl_sandboxes with BTF
 * (each with its 16 rules); sandlotctl reads the arrays in batches and joins the agent's
 * /v1/sandboxes.
 */
#include "agentpeer.h"

#include <sandlot/time.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#define SCRAPES 20
#define RUNS	5
#define WAIT_MS 30000

static size_t sink(char *d, size_t sz, size_t n, void *ud)
{
	*(size_t *)ud += sz * n;
	return sz * n;
}

/* GET url; returns the body's size (0 on failure). */
static size_t get(CURL *c, const char *url)
{
	size_t len = 0;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &len);
	return curl_easy_perform(c) == CURLE_OK ? len : 0;
}

static double proc_cpu_s(pid_t pid)
{
	char path[64], line[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f || !fgets(line, sizeof(line), f)) {
		if (f)
			fclose(f);
		return 0;
	}
	fclose(f);
	p = strrchr(line, ')');
	sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Agent CPU per request of path, over n requests (ms), and the body size. */
static double cpu_per_get(struct peer *p, CURL *c, const char *path, int n, size_t *size)
{
	char url[128];
	double c0, c1;

	snprintf(url, sizeof(url), "http://%s%s", p->http, path);
	get(c, url); /* warm: connection, first allocations */
	c0 = proc_cpu_s(p->pid);
	for (int i = 0; i < n; i++)
		*size = get(c, url);
	c1 = proc_cpu_s(p->pid);
	return (c1 - c0) * 1e3 / n;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Runs argv RUNS times (stdout to /dev/null): median child CPU and wall, in ms. */
static void run_cmd(char *const argv[], double *cpu_ms, double *wall_ms)
{
	double cpu[RUNS], wall[RUNS];

	for (int i = 0; i < RUNS; i++) {
		struct rusage ru;
		uint64_t t0 = sl_now_ns();
		int st;
		pid_t pid;

		fflush(stdout); /* or the child's freopen writes our buffer again */
		pid = fork();

		if (pid == 0) {
			freopen("/dev/null", "w", stdout);
			freopen("/dev/null", "w", stderr);
			execvp(argv[0], argv);
			_exit(127);
		}
		wait4(pid, &st, 0, &ru);
		wall[i] = (double)(sl_now_ns() - t0) / 1e6;
		cpu[i] = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
			 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fprintf(stderr, "%s exited with %d\n", argv[0], st);
	}
	qsort(cpu, RUNS, sizeof(double), cmp_d);
	qsort(wall, RUNS, sizeof(double), cmp_d);
	*cpu_ms = cpu[RUNS / 2];
	*wall_ms = wall[RUNS / 2];
}

static const struct peer_pkg *c_example(struct peer *p)
{
	const char *bin = getenv("SANDLOT_BINARY_DIR");
	char path[512];
	struct peer_file f = {.name = "bootstrap", .mode = 0755};
	void *data;
	size_t len;
	const struct peer_pkg *k;

	snprintf(path, sizeof(path), "%s/examples/c/bootstrap", bin ? bin : "build");
	if (peer_read_file(path, &data, &len) < 0) {
		fprintf(stderr, "cannot read %s (set SANDLOT_BINARY_DIR)\n", path);
		exit(1);
	}
	f.data = data;
	f.len = len;
	k = peer_pkg_add(p, &f, 1);
	free(data);
	return k;
}

/* perf record of the agent into $SL_BENCH_PERF, until SIGINT. */
static pid_t perf_start(pid_t agent)
{
	char pid[16];
	pid_t p;

	snprintf(pid, sizeof(pid), "%d", agent);
	fflush(stdout);
	p = fork();
	if (p == 0) {
		freopen("/dev/null", "w", stderr);
		execlp("perf", "perf", "record", "-g", "-o", getenv("SL_BENCH_PERF"), "-p", pid,
		       (char *)NULL);
		_exit(127);
	}
	usleep(500000);
	return p;
}

static void step(struct peer *p, CURL *c, unsigned n)
{
	const char *ctl = getenv("SANDLOTCTL") ?: SANDLOTCTL_PATH;
	const char *bpftool = getenv("BPFTOOL") ?: "bpftool";
	char map[128];
	char *ctl_argv[] = {(char *)ctl, "-j",	    "--pin-root", p->pin_root, "--agent",
			    p->http,	 "sandbox", "list",	  NULL};
	char *bt_argv[] = {(char *)bpftool, "-j", "map", "dump", "pinned", map, NULL};
	size_t msize = 0, hsize = 0;
	double m, h, ccpu, cwall, bcpu, bwall;
	pid_t perf = 0;

	snprintf(map, sizeof(map), "%s/sl_sandboxes", p->pin_root);
	h = cpu_per_get(p, c, "/healthz", SCRAPES, &hsize);
	if (getenv("SL_BENCH_PERF") && n >= 1000) /* where a scrape's time goes */
		perf = perf_start(p->pid);
	m = cpu_per_get(p, c, "/metrics", SCRAPES, &msize);
	if (perf > 0) {
		kill(perf, SIGINT);
		waitpid(perf, NULL, 0);
	}
	run_cmd(ctl_argv, &ccpu, &cwall);
	run_cmd(bt_argv, &bcpu, &bwall);
	printf("%5u | %7.2f ms %7zu B | %6.2f ms | %6.3f%% | %7.1f / %7.1f | %7.1f / %7.1f | %5.2f "
	       "(wall %5.2f)\n",
	       n, m, msize, h, (m - h) / 15000 * 100, ccpu, cwall, bcpu, bwall,
	       bcpu > 0 ? ccpu / bcpu : 0, bwall > 0 ? cwall / bwall : 0);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	unsigned steps[16] = {0, 250, 500, 1000}, nsteps = 4, have = 0;
	const struct peer_pkg *pkg;
	struct peer *p;
	CURL *c;
	int r;

	if (argc > 1) {
		nsteps = 0;
		for (int i = 1; i < argc && nsteps < 16; i++)
			steps[nsteps++] = (unsigned)strtoul(argv[i], NULL, 10);
	}
	/* the build's binaries, wherever it is run from (the harness reads the environment) */
	setenv("SANDLOT_AGENT", SANDLOT_AGENT_PATH, 0);
	setenv("SANDLOT_BINARY_DIR", SANDLOT_BINARY_DIR_PATH, 0);
	setenv("SL_AGENT_LOG_LEVEL", "warn", 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	if (peer_new(&p) < 0)
		return 1;
	p->extra[0] = "--max-sandboxes";
	p->extra[1] = "4000";
	p->extra[2] = "--memory-capacity";
	p->extra[3] = "1T";
	p->extra[4] = "--keep-alive";
	p->extra[5] = "1h";
	p->extra[6] = NULL;
	r = peer_agent_start(p, WAIT_MS);
	if (r < 0) {
		fprintf(stderr, "agent start: %s\n", strerror(-r));
		peer_free(&p);
		return 1;
	}
	pkg = c_example(p);
	printf("    N | scrape: agent CPU, size | /healthz CPU | scrape, %% of a CPU @15s | "
	       "sandlotctl -j sandbox list CPU / wall ms | bpftool -j map dump sl_sandboxes CPU / "
	       "wall ms | ratio CPU\n");
	for (unsigned s = 0; s < nsteps; s++) {
		for (; have < steps[s]; have++) {
			char id[32];

			snprintf(id, sizeof(id), "b%u", have);
			r = peer_cold_start(p, id, "bench", pkg, "", 128, 10000, WAIT_MS);
			if (r < 0) {
				fprintf(stderr, "sandbox %u: %s\n", have, strerror(-r));
				goto out;
			}
			peer_clear(p);
		}
		peer_pump(p, 500); /* let them go idle and freeze */
		peer_clear(p);
		step(p, c, have);
	}
out:
	curl_easy_cleanup(c);
	peer_free(&p);
	return 0;
}
