// SPDX-License-Identifier: Apache-2.0
/*
 * bench/invoke-agent: the worker agent alone, driven through the test control node
 * (tests/harness/agentpeer.c) over its real protocol, with the C example function. Prints, each
 * beside a baseline measured in the same run:
 *
 *   warm invocation round trip (INVOKE in -> sandbox -> INVOKE_RESULT out), p50/p99, per second
 *       baselines: a plain nanomsg + HMAC round trip through the same link code (an echo
 *       process, no agent), and the agent answering NO_SANDBOX (its protocol path alone);
 *       the floor: the echo process passing each payload through one loopback TCP round trip
 *       to a third process (the architecture's hops with no HTTP, no agent, no runtime)
 *   invocation of a frozen sandbox (thaw on the way) vs a warm one that is not frozen
 *   cost of a freeze + thaw pair written directly to a sandbox's v2 cgroup.freeze
 *   cold start to the runtime's first `next`, from the agent's init_ns and the peer's clock,
 *       for 128 MB and 1769 MB (one vCPU) functions; baseline: the sandbox runtime spawning and
 *       reaping /bin/true in this process
 *   the same with the Python example (phase coldpy): 128 MB beside 1769 MB, its baseline
 *   the agent's own memory per idle warm sandbox (VmRSS and RssAnon, N sandboxes, fresh agent)
 *
 * Usage: invoke-agent [WARM_N [COLD_N [IDLE_N]]]   (defaults 2000 30 50), --help. Needs root.
 * SL_BENCH_ONLY=warm1769,cold (for instance) runs only those phases (an unknown one is an
 * error); SL_PEER_TCP=1 links over loopback TCP (as deployed) instead of ipc://. Each row
 * shows its p50 as a multiple of its baseline's; p99 only from 100 samples up.
 *
 * Figures on the 2-vCPU development VM, same run, main -> perf-warm (docs/agent.md has the
 * breakdown): nanomsg echo 82 -> 79 us; floor 129 us; NO_SANDBOX 130 -> 102 us; warm 1769 MB
 * p50/p99 281/363 -> 257/349 us (target 150/500: the floor alone is ~129 us here); frozen
 * 656 -> 526 us; cold start 128/1769 MB 4.4/4.6 -> 3.6/4.0 ms (spawn of /bin/true 3.8-4.2 ms;
 * target 3 ms); memory per idle warm sandbox +5 -> +1.6 KB. Cold start (agent's init_ns) p50
 * 128/1769 MB, 40ea4a4 -> perf-cold (BPF registration and Runtime API socket made with the
 * pooled shell), three alternated runs: 3.46-3.61/3.54-4.02 -> 2.44-2.54/2.56-2.71 ms.
 * Python example cold start p50, 128 / 1769 MB (coldpy, n=10, two alternated runs): 762 / 55
 * and 868 / 79 ms with the memory's CPU share during init, 78 / 60 and 63 / 60 ms with the
 * init budget (one CPU).
 */
#include "agentpeer.h"

#include <sandlot/time.h>
#include <sandlot/util.h>

#include "sandbox/cgroup.h"
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 15000

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	double p50, p99, mean; /* microseconds */
	size_t n;
};

#define P99_MIN_N 100 /* fewer samples than this have no meaningful p99 */

static struct stats summarize(uint64_t *v, size_t n)
{
	struct stats s = {0};
	double sum = 0;

	s.n = n;
	if (n == 0)
		return s;
	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	s.p50 = (double)v[n / 2] / 1e3;
	s.p99 = (double)v[MIN(n - 1, (n * 99 + 99) / 100 - 1)] / 1e3;
	s.mean = sum / (double)n / 1e3;
	return s;
}

/* Prints one figure, and its p50 as a multiple of its baseline's (when that one ran). */
static void row(const char *what, struct stats s, const char *extra, const struct stats *base)
{
	char p99[32] = "        -", ratio[48] = "";

	if (s.n >= P99_MIN_N)
		snprintf(p99, sizeof(p99), "%9.1f", s.p99);
	if (base && base->n && base->p50 > 0 && s.n)
		snprintf(ratio, sizeof(ratio), "  %6.2fx baseline", s.p50 / base->p50);
	else if (base)
		snprintf(ratio, sizeof(ratio), "  (baseline not run)");
	printf("  %-52s p50 %9.1f us  p99 %s us  mean %9.1f us%s%s\n", what, s.p50, p99, s.mean,
	       ratio, extra ? extra : "");
}

/* Baselines measured earlier in the run, for the ratios (n == 0: not run). */
static struct stats link_base, spawn_base, hot_base;

static void die(const char *what, int r)
{
	fprintf(stderr, "invoke-agent: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

/* ---- packages ---- */

static const struct peer_pkg *c_example(struct peer *p)
{
	char path[600];
	const char *bin = getenv("SANDLOT_BINARY_DIR");
	struct peer_file f = {.name = "bootstrap", .mode = 0755};
	void *data;
	size_t len;
	const struct peer_pkg *k;

	snprintf(path, sizeof(path), "%s/examples/c/bootstrap", bin);
	if (peer_read_file(path, &data, &len) < 0)
		die(path, -ENOENT);
	f.data = data;
	f.len = len;
	k = peer_pkg_add(p, &f, 1);
	free(data);
	if (!k)
		die("zip", -ENOMEM);
	return k;
}

/* The Python example (examples/python), handler function.handler. */
static const struct peer_pkg *python_example(struct peer *p)
{
	static const char *const names[] = {"bootstrap", "function.py"};
	const char *top = getenv("SANDLOT_SOURCE_DIR");
	struct peer_file f[2];
	const struct peer_pkg *k;
	char path[600];

	for (int i = 0; i < 2; i++) {
		void *data;
		size_t len;

		snprintf(path, sizeof(path), "%s/examples/python/%s", top ? top : SL_SOURCE_DIR,
			 names[i]);
		if (peer_read_file(path, &data, &len) < 0)
			die(path, -ENOENT);
		f[i] = (struct peer_file){.name = names[i], .mode = 0755, .data = data, .len = len};
	}
	k = peer_pkg_add(p, f, 2);
	free((void *)f[0].data);
	free((void *)f[1].data);
	if (!k)
		die("zip", -ENOMEM);
	return k;
}

/* ---- invocations ---- */

/* One invocation; returns its round trip in ns (0 on failure) and the result's init_ns. */
static uint64_t invoke_once(struct peer *p, const char *sandbox, const char *fn, uint8_t want,
			    uint64_t *ret_init)
{
	static unsigned seq;
	char rid[32];
	uint64_t t0 = sl_now_ns(), dt;
	struct peer_rx *r;

	snprintf(rid, sizeof(rid), "bench-%u", ++seq);
	r = peer_invoke_wait(p, rid, sandbox, fn, "{\"bench\":\"x\"}", false, WAIT_MS);
	dt = sl_now_ns() - t0;
	if (!r || PMSG(r)->result.status != want) {
		fprintf(stderr, "invoke %s: %s (status %d)\n", rid, r ? "unexpected" : "no result",
			r ? PMSG(r)->result.status : -1);
		peer_rx_free(r);
		return 0;
	}
	if (ret_init)
		*ret_init = PMSG(r)->result.init_ns;
	peer_rx_free(r);
	peer_clear(p); /* the BUSY events */
	return dt;
}

static void warm(struct peer *p, const struct peer_pkg *pkg, unsigned n, uint32_t mb)
{
	uint64_t *v = calloc(n, sizeof(*v)), t0, total;
	char id[32], what[96], extra[64];
	unsigned got = 0;

	snprintf(id, sizeof(id), "warm-%u", mb);
	if (peer_cold_start(p, id, "warm", pkg, "", mb, 10000, WAIT_MS) < 0)
		die("cold start", -EIO);
	for (unsigned i = 0; i < 200; i++) /* warm-up */
		invoke_once(p, "", "warm", SL_INVOKE_OK, NULL);
	t0 = sl_now_ns();
	for (unsigned i = 0; i < n; i++) {
		uint64_t dt = invoke_once(p, "", "warm", SL_INVOKE_OK, NULL);

		if (dt)
			v[got++] = dt;
	}
	total = sl_now_ns() - t0;
	snprintf(what, sizeof(what), "warm invoke, C example, %u MB (n=%u)", mb, got);
	snprintf(extra, sizeof(extra), "  %8.0f/s", (double)n * 1e9 / (double)total);
	row(what, summarize(v, got), extra, &link_base);
	peer_destroy(p, id);
	peer_wait(p, &(struct peer_match){.sandbox_id = id, .state = SL_SANDBOX_DESTROYED},
		  WAIT_MS);
	peer_clear(p);
	free(v);
}

static void no_sandbox(struct peer *p, unsigned n)
{
	uint64_t *v = calloc(n, sizeof(*v));
	unsigned got = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t dt = invoke_once(p, "", "nobody", SL_INVOKE_NO_SANDBOX, NULL);

		if (dt)
			v[got++] = dt;
	}
	row("baseline: the agent answering NO_SANDBOX", summarize(v, got), NULL, &link_base);
	free(v);
}

/* ---- plain link round trip: an echo process with the same link code ---- */

/*
 * The floor's stand-in for the sandbox: a process at the other end of a loopback TCP
 * connection that sends back whatever it reads. Returns the connected socket, or -1.
 */
static int tcp_mirror(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c, a, one = 1;
	char buf[4096];
	ssize_t n;

	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    (a = accept(l, NULL, NULL)) < 0)
		return -1;
	close(l);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fork() == 0) { /* before any nanomsg socket: its threads do not survive a fork */
		close(c);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		while ((n = read(a, buf, sizeof(buf))) > 0)
			if (write(a, buf, (size_t)n) != n)
				break;
		_exit(0);
	}
	close(a);
	return c;
}

/* Sends len bytes through the mirror and reads them back. */
static void mirror_round_trip(int fd, const void *data, size_t len)
{
	char buf[4096];
	size_t got = 0;

	len = MIN(len, sizeof(buf));
	if (write(fd, data, len) != (ssize_t)len)
		_exit(1);
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			_exit(1);
		got += (size_t)n;
	}
}

/* With mirror >= 0, each payload goes through the TCP mirror before the reply (the floor). */
_noreturn_ static void echo_child(const char *in_url, const char *out_url, const char *key_path,
				  bool tcp)
{
	struct sl_key *key = NULL;
	struct sl_link *l = NULL;
	int peer, mirror = tcp ? tcp_mirror() : -1;

	if ((tcp && mirror < 0) || sl_key_load(&key, key_path, NULL) < 0 ||
	    sl_link_new(&l, &(struct sl_link_config){.self_id = 77, .key = key}) < 0 ||
	    sl_link_listen(l, in_url) < 0 || (peer = sl_link_connect(l, out_url)) < 0)
		_exit(1);
	for (;;) {
		struct pollfd pfd = {.fd = sl_link_recv_fd(l), .events = POLLIN};
		struct sl_link_rx rx;

		if (poll(&pfd, 1, 5000) <= 0)
			_exit(0);
		while (sl_link_recv(l, &rx) == 0) {
			if (mirror >= 0)
				mirror_round_trip(mirror, rx.msg.invoke.payload,
						  rx.msg.invoke.payload_len);
			struct sl_msg m = {.type = SL_MSG_INVOKE_RESULT,
					   .flags = SL_MSG_F_REPLY,
					   .corr_id = rx.msg.corr_id,
					   .dst_id = rx.msg.src_id};

			m.result = (struct sl_msg_invoke_result){
				.request_id = rx.msg.invoke.request_id,
				.sandbox_id = "echo",
				.function_error = "",
				.payload = rx.msg.invoke.payload,
				.payload_len = rx.msg.invoke.payload_len,
			};
			while (sl_link_send(l, peer, &m) == -EAGAIN)
				usleep(100);
			sl_link_rx_done(&rx);
		}
	}
}

static void plain_link(struct peer *p, unsigned n, bool tcp)
{
	char in_url[200];
	uint64_t *v = calloc(n + 100, sizeof(*v));
	unsigned got = 0;
	pid_t pid;
	int st;

	if (getenv("SL_PEER_TCP"))
		snprintf(in_url, sizeof(in_url), "tcp://127.0.0.1:%d", peer_free_port());
	else
		snprintf(in_url, sizeof(in_url), "ipc://%s/echo", p->base);
	/* a fresh process: nanomsg's threads do not survive a fork */
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", "invoke-agent", tcp ? "--echo-tcp" : "--echo", in_url,
		      p->url, p->key_path, (char *)NULL);
		_exit(127);
	}
	/* pose as the agent: our sends go to the echo process, its replies come to us */
	int saved = p->agent;
	uint64_t saved_id = p->agent_id;

	p->agent = sl_link_connect(p->link, in_url);
	p->agent_id = 77;
	for (unsigned i = 0; i < n + 100; i++) {
		uint64_t dt = invoke_once(p, "", "echo", SL_INVOKE_OK, NULL);

		if (dt && i >= 100)
			v[got++] = dt;
	}
	sl_link_disconnect(p->link, p->agent);
	p->agent = saved;
	p->agent_id = saved_id;
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	if (tcp) {
		row("floor: the same + a TCP round trip to a mirror process", summarize(v, got),
		    NULL, &link_base);
	} else {
		link_base = summarize(v, got);
		row("baseline: nanomsg + HMAC round trip, echo process", link_base, NULL, NULL);
	}
	free(v);
}

/* ---- freezing ---- */

static int write_str(const char *dir, const char *file, const char *val)
{
	char path[1300];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return sl_write_file(path, val);
}

static bool is_frozen(const char *dir)
{
	char path[1300], buf[256];

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	return sl_read_file(path, buf, sizeof(buf)) >= 0 && strstr(buf, "frozen 1") != NULL;
}

static void freezing(struct peer *p, const struct peer_pkg *pkg, unsigned n)
{
	uint64_t *pair = calloc(n, sizeof(*pair)), *frozen = calloc(n, sizeof(*frozen));
	uint64_t *hot = calloc(n, sizeof(*hot));
	unsigned np = 0, nf = 0, nh = 0;
	char cg[1200];

	if (peer_cold_start(p, "fz", "fz", pkg, "", 1769, 10000, WAIT_MS) < 0 ||
	    peer_sandbox_cgroup(p, "fz", cg, sizeof(cg)) < 0)
		die("freeze sandbox", -EIO);
	for (unsigned i = 0; i < n; i++) {
		/* warm, not frozen: right after the previous invocation */
		uint64_t dt = invoke_once(p, "fz", "fz", SL_INVOKE_OK, NULL);

		dt = invoke_once(p, "fz", "fz", SL_INVOKE_OK, NULL);
		if (dt)
			hot[nh++] = dt;
		/* frozen: wait until the idle detector froze it */
		if (!peer_wait(p,
			       &(struct peer_match){.sandbox_id = "fz", .state = SL_SANDBOX_FROZEN},
			       WAIT_MS))
			die("no freeze", -ETIMEDOUT);
		peer_clear(p);
		/* a freeze + thaw pair, written directly (it stays frozen as the agent thinks) */
		uint64_t t0 = sl_now_ns();
		write_str(cg, "cgroup.freeze", "0");
		write_str(cg, "cgroup.freeze", "1");
		while (!is_frozen(cg))
			;
		pair[np++] = sl_now_ns() - t0;
		dt = invoke_once(p, "fz", "fz", SL_INVOKE_OK, NULL);
		if (dt)
			frozen[nf++] = dt;
	}
	hot_base = summarize(hot, nh);
	row("warm invoke, 1769 MB, not frozen", hot_base, NULL, &link_base);
	row("warm invoke, 1769 MB, frozen (thawed on the way)", summarize(frozen, nf), NULL,
	    &hot_base);
	row("thaw + freeze of cgroup.freeze until 'frozen 1'", summarize(pair, np), NULL,
	    &hot_base);
	peer_destroy(p, "fz");
	peer_wait(p, &(struct peer_match){.sandbox_id = "fz", .state = SL_SANDBOX_DESTROYED},
		  WAIT_MS);
	peer_clear(p);
	free(pair);
	free(frozen);
	free(hot);
}

/* ---- cold starts ---- */

/*
 * n cold starts of pkg at mb: rows for the agent's init_ns and the peer's CREATE -> ready, each
 * beside base[0] and base[1]; their stats go to ret[0] and ret[1] when ret is not NULL.
 */
static void cold(struct peer *p, const struct peer_pkg *pkg, const char *name, unsigned n,
		 uint32_t mb, const struct stats base[2], struct stats ret[2])
{
	struct stats s[2];
	uint64_t *agent = calloc(n, sizeof(*agent)), *clock = calloc(n, sizeof(*clock));
	unsigned got = 0;
	char what[96];

	for (unsigned i = 0; i < n; i++) {
		char id[32];
		uint64_t t0 = sl_now_ns(), t1, init = 0;
		int r;

		snprintf(id, sizeof(id), "cold-%u-%u", mb, i);
		r = peer_cold_start(p, id, "cold", pkg, "function.handler", mb, 10000, WAIT_MS);
		t1 = sl_now_ns();
		if (r == 0 && invoke_once(p, id, "cold", SL_INVOKE_OK, &init) && init) {
			agent[got] = init;
			clock[got++] = t1 - t0;
		}
		peer_destroy(p, id);
		peer_wait(p, &(struct peer_match){.sandbox_id = id, .state = SL_SANDBOX_DESTROYED},
			  WAIT_MS);
		peer_clear(p);
	}
	s[0] = summarize(agent, got);
	s[1] = summarize(clock, got);
	snprintf(what, sizeof(what), "cold start, %s, %u MB: agent's init_ns (n=%u)", name, mb,
		 got);
	row(what, s[0], NULL, &base[0]);
	snprintf(what, sizeof(what), "cold start, %s, %u MB: CREATE -> ready, peer", name, mb);
	row(what, s[1], NULL, &base[1]);
	if (ret) {
		ret[0] = s[0];
		ret[1] = s[1];
	}
	free(agent);
	free(clock);
}

static void spawn_baseline(unsigned n)
{
	struct sl_runtime *rt = NULL;
	uint64_t *v = calloc(n, sizeof(*v));
	char *argv[] = {"/bin/true", NULL};
	unsigned got = 0;
	int r = sl_runtime_new(&rt, NULL);

	if (r < 0) {
		fprintf(stderr, "baseline sandbox runtime: %s\n", strerror(-r));
		free(v);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		struct sl_sandbox_config cfg = {
			.argv = argv,
			.memory_bytes = 128ULL << 20,
			.stdio = {SL_STDIO_NULL, SL_STDIO_NULL, SL_STDIO_NULL}};
		struct sl_sandbox *sb = NULL;
		struct sl_sandbox_result res;
		uint64_t t0 = sl_now_ns();

		if (sl_sandbox_spawn(rt, &cfg, &sb) < 0)
			continue;
		struct pollfd pfd = {.fd = sl_sandbox_pidfd(sb), .events = POLLIN};
		poll(&pfd, 1, 5000);
		if (sl_sandbox_reap(sb, &res) == 0)
			v[got++] = sl_now_ns() - t0;
		sl_sandbox_free(&sb);
	}
	spawn_base = summarize(v, got);
	row("baseline: sandbox runtime, spawn /bin/true to exit", spawn_base, NULL, NULL);
	sl_runtime_free(&rt);
	free(v);
}

/* ---- memory ---- */

static long proc_kb(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

/* In a fresh agent, so that memory freed by earlier phases does not hide the growth. */
static void memory(unsigned n)
{
	long anon0, rss0, anon1, rss1;
	const struct peer_pkg *pkg;
	struct peer *p = NULL;
	unsigned made = 0;
	int r = peer_new(&p);

	if (r == 0)
		r = peer_agent_start(p, WAIT_MS);
	if (r < 0)
		die("second agent", r);
	pkg = c_example(p);

	/* one sandbox first, so that one-time allocations are not counted */
	if (peer_cold_start(p, "mem-0", "mem", pkg, "", 128, 10000, WAIT_MS) < 0)
		die("memory sandbox", -EIO);
	usleep(300000);
	peer_clear(p);
	anon0 = proc_kb(p->pid, "status", "RssAnon:");
	rss0 = proc_kb(p->pid, "status", "VmRSS:");
	for (unsigned i = 1; i <= n; i++) {
		char id[32];

		snprintf(id, sizeof(id), "mem-%u", i);
		if (peer_cold_start(p, id, "mem", pkg, "", 128, 10000, WAIT_MS) == 0)
			made++;
		peer_clear(p);
	}
	usleep(300000); /* all idle and frozen */
	peer_pump(p, 0);
	anon1 = proc_kb(p->pid, "status", "RssAnon:");
	rss1 = proc_kb(p->pid, "status", "VmRSS:");
	/* Not Pss: each sandbox's init is a fork of the agent that shares its pages (COW), so
	 * the agent's proportional share shrinks as sandboxes are added. */
	printf("  agent memory per idle warm sandbox (%u sandboxes): VmRSS %+.1f KB, RssAnon "
	       "%+.1f KB (VmRSS %ld -> %ld KB)\n",
	       made, (double)(rss1 - rss0) / MAX(made, 1u), (double)(anon1 - anon0) / MAX(made, 1u),
	       rss0, rss1);
	peer_free(&p);
}

static void find_binaries(void)
{
	char exe[600], dir[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return;
	exe[n] = '\0';
	snprintf(dir, sizeof(dir), "%s", dirname(exe)); /* <build>/bench */
	snprintf(exe, sizeof(exe), "%s/..", dir);
	setenv("SANDLOT_BINARY_DIR", exe, 0);
	snprintf(exe, sizeof(exe), "%s/../agent/sandlot-agent", dir);
	setenv("SANDLOT_AGENT", exe, 0);
	setenv("SL_AGENT_LOG_LEVEL", "warn", 0);
}

static const char *const phases[] = {"link",   "floor", "nosandbox", "warm128", "warm1769",
				     "freeze", "cold",	"coldpy",    "memory"};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: invoke-agent [WARM_N [COLD_N [IDLE_N]]]   (defaults 2000 30 50)\n"
		"Drives a real agent through the test control node and prints each figure\n"
		"beside a baseline from the same run (p99 only with at least %d samples).\n"
		"Needs root. Environment:\n"
		"  SL_BENCH_ONLY=PHASE[,PHASE...]  run only these phases:",
		P99_MIN_N);
	for (size_t i = 0; i < ARRAY_SIZE(phases); i++)
		fprintf(f, "%s%s", i ? "," : " ", phases[i]);
	fprintf(f, "\n  SL_PEER_TCP=1                   link over loopback TCP, not ipc://\n");
}

/* Every name in $SL_BENCH_ONLY must be a phase: a typo would silently run nothing. */
static int check_phases(void)
{
	const char *only = getenv("SL_BENCH_ONLY");
	char list[256], *save = NULL;

	if (!only)
		return 0;
	if (strlen(only) >= sizeof(list)) {
		fprintf(stderr, "invoke-agent: SL_BENCH_ONLY is too long\n");
		return -EINVAL;
	}
	snprintf(list, sizeof(list), "%s", only);
	for (char *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		size_t i = 0;

		while (i < ARRAY_SIZE(phases) && strcmp(w, phases[i]) != 0)
			i++;
		if (i == ARRAY_SIZE(phases)) {
			fprintf(stderr, "invoke-agent: unknown phase '%s' in SL_BENCH_ONLY\n", w);
			return -EINVAL;
		}
	}
	return 0;
}

/* $SL_BENCH_ONLY: a comma list of phases to run (see phases[]); all when unset. */
static bool phase(const char *name)
{
	const char *only = getenv("SL_BENCH_ONLY");
	char list[256];

	if (!only)
		return true;
	snprintf(list, sizeof(list), ",%s,", only);
	for (const char *p = list; (p = strstr(p, name)); p++)
		if (p[-1] == ',' && p[strlen(name)] == ',')
			return true;
	return false;
}

int main(int argc, char **argv)
{
	unsigned warm_n = argc > 1 ? (unsigned)atoi(argv[1]) : 2000;
	unsigned cold_n = argc > 2 ? (unsigned)atoi(argv[2]) : 30;
	unsigned idle_n = argc > 3 ? (unsigned)atoi(argv[3]) : 50;
	const struct peer_pkg *pkg;
	struct peer *p = NULL;
	int r;

	if (argc == 5 && strncmp(argv[1], "--echo", 6) == 0)
		echo_child(argv[2], argv[3], argv[4], strcmp(argv[1], "--echo-tcp") == 0);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		if (argv[i][0] < '0' || argv[i][0] > '9') {
			fprintf(stderr, "invoke-agent: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (check_phases() < 0)
		return 2;
	if (geteuid() != 0) {
		fprintf(stderr, "invoke-agent: needs root\n");
		return 1;
	}
	find_binaries();
	r = peer_new(&p);
	if (r < 0)
		die("peer", r);
	r = peer_agent_start(p, WAIT_MS);
	if (r < 0)
		die("agent start", r);
	pkg = c_example(p);
	printf("invoke-agent: agent pid %d, %u warm, %u cold, %u idle sandboxes\n", (int)p->pid,
	       warm_n, cold_n, idle_n);
	printf("round trips (one invocation in flight):\n");
	if (phase("link"))
		plain_link(p, warm_n, false);
	if (phase("floor"))
		plain_link(p, warm_n, true);
	if (phase("nosandbox"))
		no_sandbox(p, warm_n);
	if (phase("warm128"))
		warm(p, pkg, warm_n, 128);
	if (phase("warm1769"))
		warm(p, pkg, warm_n, 1769);
	if (phase("freeze")) {
		printf("freezing:\n");
		freezing(p, pkg, 30);
	}
	if (phase("cold") || phase("coldpy")) {
		printf("cold starts (CREATE -> first `next`):\n");
		spawn_baseline(cold_n);
	}
	if (phase("cold")) {
		const struct stats base[2] = {spawn_base, spawn_base};

		cold(p, pkg, "C", cold_n, 128, base, NULL);
		cold(p, pkg, "C", cold_n, 1769, base, NULL);
	}
	if (phase("coldpy")) {
		const struct peer_pkg *py = python_example(p);
		const struct stats base[2] = {spawn_base, spawn_base};
		struct stats big[2];

		/* the 1769 MB function (one vCPU) is the 128 MB one's baseline */
		cold(p, py, "Python", cold_n, 1769, base, big);
		cold(p, py, "Python", cold_n, 128, big, NULL);
	}
	peer_free(&p);
	if (phase("memory")) {
		printf("memory:\n");
		memory(idle_n);
	}
	sl_cgroup_root_prune(); /* the runtimes' empty parent cgroups */
	return 0;
}
