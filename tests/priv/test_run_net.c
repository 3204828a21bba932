// SPDX-License-Identifier: Apache-2.0
/*
 * `sandlot-agent run` with BPF and --net egress on the real kernel. The command runs in a test
 * network namespace "h" (its "host": the veth host ends appear there, and only there), which
 * forwards to a test host in namespace "t" (servers on 10.79.0.2 and 10.79.0.3). Everything the
 * tests need is set up inside those namespaces (forwarding in "h", a route back in "t"): the real
 * host's network is not touched. Inside the sandbox, sl-netprobe (bound at /var/task) does the
 * network and CPU work and reports it.
 */
#include "testutil.h"
#include "bpfscaffold.h"
#include "netprobe-run.h"

#include "bpfload/bpf-loader.h"
#include "sandbox/cgroup-host.h"

#include <sandlot/util.h>

#include <bpf/bpf.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#define T_ADDR	   "10.79.0.2" /* the test host */
#define T_ADDR2	   "10.79.0.3" /* a second address of it, denied unless allowed */
#define H_ADDR	   "10.79.0.1" /* the run's "host" towards the test host */
#define SOURCE_LEN 300000      /* bytes the source server sends */
#define SINK_LEN   500000      /* bytes the sandbox sends to the sink */

static char ns_h[64], ns_t[64], pin_root[128];
static int listeners[3] = {-1, -1, -1}; /* sink, source, open */
static uint16_t ports[3];
static long sink_received = -1;
static pthread_t server;
static bool server_started;
static int stop_pipe[2] = {-1, -1}; /* written to stop the server thread */
static json_t *parsed[256];	    /* every --json result, freed by teardown */
static size_t n_parsed;

/* Leftovers of earlier runs of this test that died: namespaces and pins of dead pids. */
static void remove_stale(void)
{
	struct dirent *e;
	DIR *d;
	int pid;

	np_remove_stale_netns("sl-runbpf-");
	d = opendir("/sys/fs/bpf");
	while (d && (e = readdir(d))) {
		char path[512];

		if (sscanf(e->d_name, "sandlot-test-runbpf-%d", &pid) != 1 ||
		    (kill(pid, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(path, sizeof(path), "/sys/fs/bpf/%s", e->d_name);
		sl_bpf_destroy_pins(path);
	}
	if (d)
		closedir(d);
}

static int listen_all(void *arg)
{
	for (int i = 0; i < 3; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		socklen_t len = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
			return -1;
		listeners[i] = fd;
		ports[i] = ntohs(a.sin_port);
	}
	return 0;
}

/* The test host: sink (reads to EOF, records), source (sends SOURCE_LEN), open (closes). */
static void *serve(void *arg)
{
	static char buf[65536];

	for (;;) {
		struct pollfd p[4];
		for (int i = 0; i < 3; i++)
			p[i] = (struct pollfd){.fd = listeners[i], .events = POLLIN};
		p[3] = (struct pollfd){.fd = stop_pipe[0], .events = POLLIN};
		if (poll(p, 4, -1) < 0)
			continue;
		if (p[3].revents)
			return NULL;
		for (int i = 0; i < 3; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			int c = accept(listeners[i], NULL, NULL);
			long n = 0;
			ssize_t r;
			if (c < 0)
				continue;
			if (i == 0) {
				while ((r = read(c, buf, sizeof(buf))) > 0)
					n += r;
				__atomic_store_n(&sink_received, n, __ATOMIC_SEQ_CST);
			} else if (i == 1) {
				for (long left = SOURCE_LEN; left > 0; left -= r)
					if ((r = write(c, buf, MIN(left, (long)sizeof(buf)))) <= 0)
						break;
			}
			close(c);
		}
	}
	return NULL;
}

static int setup(void **state)
{
	if (geteuid() != 0)
		return 0;
	remove_stale();
	snprintf(ns_h, sizeof(ns_h), "sl-runbpf-%d-h", (int)getpid());
	snprintf(ns_t, sizeof(ns_t), "sl-runbpf-%d-t", (int)getpid());
	snprintf(pin_root, sizeof(pin_root), "/sys/fs/bpf/sandlot-test-runbpf-%d", (int)getpid());
	if (sc_sh("ip netns add %s && ip netns add %s", ns_h, ns_t) < 0 ||
	    sc_sh("ip -n %s link add vh type veth peer name vt netns %s", ns_h, ns_t) < 0 ||
	    sc_sh("ip -n %s addr add %s/24 dev vh && ip -n %s link set vh up && "
		  "ip -n %s link set lo up",
		  ns_h, H_ADDR, ns_h, ns_h) < 0 ||
	    sc_sh("ip -n %s addr add %s/24 dev vt && ip -n %s addr add %s/24 dev vt && "
		  "ip -n %s link set vt up && ip -n %s link set lo up",
		  ns_t, T_ADDR, ns_t, T_ADDR2, ns_t, ns_t) < 0 ||
	    /* exactly what the tests need: "h" forwards, "t" routes the pool back to "h" */
	    sc_sh("ip netns exec %s sysctl -qw net.ipv4.ip_forward=1", ns_h) < 0 ||
	    sc_sh("ip -n %s route add 10.213.0.0/16 via %s", ns_t, H_ADDR) < 0)
		return -1;
	if (np_in_ns(ns_t, listen_all, NULL) < 0)
		return -1;
	if (pipe2(stop_pipe, O_CLOEXEC) < 0 || pthread_create(&server, NULL, serve, NULL) != 0)
		return -1;
	server_started = true;
	setenv("SANDLOT_BPF_PINS", pin_root, 1); /* no agent there unless a test makes one */
	return 0;
}

static int teardown(void **state)
{
	if (server_started) {
		(void)!write(stop_pipe[1], "x", 1);
		pthread_join(server, NULL);
	}
	for (size_t i = 0; i < n_parsed; i++)
		json_decref(parsed[i]);
	sl_closep(&stop_pipe[0]);
	sl_closep(&stop_pipe[1]);
	for (int i = 0; i < 3; i++)
		sl_closep(&listeners[i]);
	if (ns_h[0])
		sc_sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", ns_h, ns_t);
	if (pin_root[0])
		sl_bpf_destroy_pins(pin_root);
	return 0;
}

/* ---- running the command -------------------------------------------------------------------- */

struct result {
	int status; /* exit status, or 128 + signal */
	char out[8192], err[8192];
	json_t *json; /* last stdout line parsed, when --json */
};

static void argv_build(const char **argv, const char *const *args, const char *const *cmd)
{
	static const char *const fixed[] = {"--cpus", "1", NULL};

	np_argv_build(argv, ns_h, fixed, args, cmd);
}

/* `run ARGS -- sl-netprobe CMD...` in namespace "h". */
static void run(struct result *r, const char *const *args, const char *const *cmd)
{
	const char *argv[NP_ARGV_MAX];
	char *last;
	int st;

	argv_build(argv, args, cmd);
	st = sl_test_run((char *const *)argv, r->out, sizeof(r->out), r->err, sizeof(r->err));
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->json = NULL;
	last = strrchr(r->out, '{');
	if (last)
		r->json = json_loads(last, 0, NULL);
	if (r->json && n_parsed < ARRAY_SIZE(parsed))
		parsed[n_parsed++] = r->json; /* freed by teardown */
}

static long long jint(const struct result *r, const char *key)
{
	json_t *v = json_object_get(r->json, key);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer in: %s (stderr: %s)", key, r->out, r->err);
	return json_integer_value(v);
}

static double jreal(const struct result *r, const char *key)
{
	json_t *v = json_object_get(r->json, key);

	if (!json_is_real(v))
		fail_msg("%s is not a number in: %s", key, r->out);
	return json_real_value(v);
}

/* Nothing of a run is left in namespace "h": only lo and vh, no pool address. */
static void assert_h_clean(void)
{
	char cmd[256], out[4096];
	const char *argv[] = {"sh", "-c", cmd, NULL};

	snprintf(cmd, sizeof(cmd), "ip -n %s -o link; ip -n %s -o addr", ns_h, ns_h);
	for (int i = 0; i < 100; i++) { /* a dead run's namespace is freed asynchronously */
		sl_test_run((char *const *)argv, out, sizeof(out), NULL, 0);
		if (!strstr(out, "slh") && !strstr(out, "10.213."))
			return;
		usleep(50000);
	}
	fail_msg("left behind in %s: %s", ns_h, out);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void json_counts_a_known_transfer_over_egress(void **state)
{
	struct result r;
	char port[8];

	sl_test_require_root();
	snprintf(port, sizeof(port), "%u", ports[0]);
	__atomic_store_n(&sink_received, -1, __ATOMIC_SEQ_CST);
	run(&r, (const char *[]){"--json", "--net", "egress", NULL},
	    (const char *[]){"send", T_ADDR, port, "500000", NULL});
	assert_int_equal(r.status, 0);
	assert_non_null(r.json);
	assert_int_equal(__atomic_load_n(&sink_received, __ATOMIC_SEQ_CST), SINK_LEN);
	/* IP-layer bytes: the payload plus headers (well under 5% with GSO) */
	long long tx = jint(&r, "tx_bytes");
	assert_true(tx >= SINK_LEN && tx < SINK_LEN * 105 / 100);
	assert_true(jint(&r, "tx_packets") > 0 && jint(&r, "rx_packets") > 0);
	assert_int_equal(jint(&r, "denied_connects"), 0);

	snprintf(port, sizeof(port), "%u", ports[1]);
	run(&r, (const char *[]){"--json", "--net", "egress", NULL},
	    (const char *[]){"recv", T_ADDR, port, NULL});
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "received 300000"));
	long long rx = jint(&r, "rx_bytes");
	assert_true(rx >= SOURCE_LEN && rx < SOURCE_LEN * 105 / 100);
	assert_h_clean();
}

static void json_counts_loopback_with_net_none(void **state)
{
	struct result r;

	sl_test_require_root();
	run(&r, (const char *[]){"--json", NULL}, (const char *[]){"lo", "200000", NULL});
	assert_int_equal(r.status, 0);
	/* over lo each packet leaves and enters the sandbox: both directions see the payload */
	long long tx = jint(&r, "tx_bytes"), rx = jint(&r, "rx_bytes");
	assert_true(tx >= 200000 && tx < 200000 * 105 / 100 + 20000);
	assert_true(rx >= 200000 && rx < 200000 * 105 / 100 + 20000);
}

static void allowed_reachable_denied_eperm_and_counted(void **state)
{
	struct result r;
	char allow[64], p_open[8], p_sink[8];

	sl_test_require_root();
	snprintf(allow, sizeof(allow), "%s:%u/tcp", T_ADDR, ports[2]);
	snprintf(p_open, sizeof(p_open), "%u", ports[2]);
	snprintf(p_sink, sizeof(p_sink), "%u", ports[0]);
	run(&r, (const char *[]){"--net", "egress", "--allow", allow, NULL},
	    (const char *[]){"connect", T_ADDR, p_open, NULL});
	if (r.status != 0)
		fail_msg("allowed connect failed: %s %s", r.out, r.err);
	/* another port, another address, another protocol: EPERM at once, counted */
	const char *const denied[][4] = {
		{"connect", T_ADDR, p_sink, NULL},
		{"connect", T_ADDR2, p_open, NULL},
		{"udp", T_ADDR, p_open, NULL},
		{"connect", H_ADDR, p_open, NULL}, /* the host's own address */
	};
	for (size_t i = 0; i < ARRAY_SIZE(denied); i++) {
		run(&r, (const char *[]){"--json", "--net", "egress", "--allow", allow, NULL},
		    denied[i]);
		if (r.status != 1 || !strstr(r.out, "Operation not permitted"))
			fail_msg("%s %s: expected EPERM: %s", denied[i][0], denied[i][1], r.out);
		assert_int_equal(jint(&r, "denied_connects"), 1);
	}
	assert_h_clean();
}

static void metadata_denied_even_when_allowed(void **state)
{
	struct result r;

	sl_test_require_root();
	run(&r,
	    (const char *[]){"--json", "--net", "egress", "--allow", "0.0.0.0/0", "--allow",
			     "169.254.0.0/16", NULL},
	    (const char *[]){"connect", "169.254.169.254", "80", NULL});
	assert_int_equal(r.status, 1);
	assert_int_equal(jint(&r, "denied_connects"), 1);
	/* and an allow-all rule does reach the test host */
	char port[8];
	snprintf(port, sizeof(port), "%u", ports[2]);
	run(&r, (const char *[]){"--net", "egress", "--allow", "0.0.0.0/0", NULL},
	    (const char *[]){"connect", T_ADDR, port, NULL});
	assert_int_equal(r.status, 0);
}

static void icmp_to_denied_address_dropped(void **state)
{
	struct result r;
	char allow[32];

	sl_test_require_root();
	snprintf(allow, sizeof(allow), "%s/32", T_ADDR); /* any protocol: ICMP too */
	run(&r, (const char *[]){"--json", "--net", "egress", "--allow", allow, NULL},
	    (const char *[]){"ping", T_ADDR, NULL});
	if (r.status != 0)
		fail_msg("ping to an allowed address: %s %s", r.out, r.err);
	assert_int_equal(jint(&r, "dropped_packets"), 0);
	run(&r, (const char *[]){"--json", "--net", "egress", "--allow", allow, NULL},
	    (const char *[]){"ping", T_ADDR2, NULL});
	assert_int_not_equal(r.status, 0); /* EPERM from sendto or no answer */
	assert_true(jint(&r, "dropped_packets") + jint(&r, "denied_connects") >= 1);
}

static void cpu_seconds_agree_with_cpu_stat(void **state)
{
	struct result b, c;

	sl_test_require_root();
	run(&b, (const char *[]){"--json", NULL}, (const char *[]){"burn", "300", NULL});
	assert_int_equal(b.status, 0);
	if (strcmp(json_string_value(json_object_get(b.json, "cpu_source")), "bpf") != 0)
		fail_msg("run --json did not use BPF; its stderr: %s", b.err);
	setenv("SANDLOT_BPF", "off", 1);
	run(&c, (const char *[]){"--json", NULL}, (const char *[]){"burn", "300", NULL});
	unsetenv("SANDLOT_BPF");
	assert_int_equal(c.status, 0);
	assert_string_equal(json_string_value(json_object_get(c.json, "cpu_source")), "cgroup");
	assert_true(json_is_null(json_object_get(c.json, "rx_bytes")));
	assert_non_null(strstr(c.err, "cpu.stat"));
	double bpf = jreal(&b, "cpu_seconds"), cg = jreal(&c, "cpu_seconds");
	/* both burned 300 ms in CMD, plus a few ms of start-up */
	assert_true(bpf >= 0.300 && bpf < 0.300 * 1.02 + 0.015);
	assert_true(cg >= 0.300 && cg < 0.300 * 1.02 + 0.015);
}

/* ---- an agent's pinned programs ---------------------------------------------------------- */

static int count_link_dirs(void)
{
	char path[256];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "%s/cg", pin_root);
	d = opendir(path);
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static pid_t start_run(const char *const *args, const char *const *cmd)
{
	const char *argv[NP_ARGV_MAX];

	argv_build(argv, args, cmd);
	return np_spawn(argv, true);
}

/* Waits until the run registered its sandbox in the agent's pins (its links appear). */
static void wait_registered(void)
{
	for (int i = 0; i < 200 && count_link_dirs() == 0; i++)
		usleep(20000);
	assert_int_equal(count_link_dirs(), 1);
}

static void uses_agent_pins_when_present_and_leaves_none(void **state)
{
	struct sl_cgroup_host h;
	struct sl_bpf *agent = NULL;
	struct sl_bpf_opts o = {.pin_root = pin_root};
	struct result r;
	char port[8];
	int status;

	sl_test_require_root();
	assert_int_equal(sl_cgroup_host_detect(&h), 0);
	o.cgroup_parent = h.v2_self_dir;
	assert_int_equal(sl_bpf_open(&o, &agent, NULL), 0);

	/* registered in the agent's maps while it runs, gone after */
	pid_t pid =
		start_run((const char *[]){"--json", NULL}, (const char *[]){"burn", "500", NULL});
	wait_registered();
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	assert_int_equal(count_link_dirs(), 0);

	/* the counters and the policy work through the agent's programs */
	snprintf(port, sizeof(port), "%u", ports[0]);
	run(&r, (const char *[]){"--json", "--net", "egress", "--allow", "10.79.0.2/32", NULL},
	    (const char *[]){"send", T_ADDR, port, "500000", NULL});
	assert_int_equal(r.status, 0);
	assert_true(jint(&r, "tx_bytes") >= SINK_LEN);
	run(&r, (const char *[]){"--json", "--net", "egress", "--allow", "10.79.0.2/32", NULL},
	    (const char *[]){"connect", T_ADDR2, port, NULL});
	assert_int_equal(r.status, 1);
	assert_int_equal(jint(&r, "denied_connects"), 1);

	/* a SIGKILLed run's registration is pruned by the next run */
	pid = start_run((const char *[]){"--json", "--net", "egress", NULL},
			(const char *[]){"burn", "5000", NULL});
	wait_registered();
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	run(&r, (const char *[]){"--json", NULL}, (const char *[]){"burn", "1", NULL});
	assert_int_equal(r.status, 0);
	assert_int_equal(count_link_dirs(), 0);
	assert_h_clean();
	sl_bpf_free(&agent);
	assert_int_equal(sl_bpf_destroy_pins(pin_root), 0);
}

static void sigkilled_private_run_leaves_nothing(void **state)
{
	struct result r;
	int status;

	sl_test_require_root();
	pid_t pid = start_run((const char *[]){"--json", "--net", "egress", NULL},
			      (const char *[]){"burn", "5000", NULL});
	char cmd[128], out[1024];
	const char *argv[] = {"sh", "-c", cmd, NULL};
	snprintf(cmd, sizeof(cmd), "ip -n %s -o link", ns_h);
	for (int i = 0; i < 200; i++) { /* its veth is up: it is past the hook */
		sl_test_run((char *const *)argv, out, sizeof(out), NULL, 0);
		if (strstr(out, "slh"))
			break;
		usleep(20000);
	}
	assert_non_null(strstr(out, "slh"));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	assert_h_clean();
	/* and the next run works (and sweeps the dead run's cgroups) */
	run(&r, (const char *[]){"--json", "--net", "egress", NULL},
	    (const char *[]){"ifaddr", NULL});
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "10.213."));
	assert_h_clean();
}

/* ---- the private load itself ------------------------------------------------------------- */

static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

/* True when some bpf_link in the system runs program id. */
static bool linked(uint32_t id)
{
	uint32_t lid = 0;

	while (bpf_link_get_next_id(lid, &lid) == 0) {
		struct bpf_link_info info = {0};
		uint32_t len = sizeof(info);
		int fd = bpf_link_get_fd_by_id(lid);

		if (fd < 0)
			continue;
		bool hit = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.prog_id == id;
		close(fd);
		if (hit)
			return true;
	}
	return false;
}

static void private_bpf_pins_nothing_and_detaches_at_exit(void **state)
{
	struct sl_cgroup_host h;
	struct sl_bpf *b = NULL;
	struct sl_bpf_opts o = {.ephemeral = true, .pin_root = pin_root};
	char parent[SL_CGROUP_PATH_MAX + 64], cg[SL_CGROUP_PATH_MAX + 128];
	struct sl_bpf_sandbox_spec spec = {.cgroup_path = cg};
	uint32_t count = 0;
	struct stat st;

	sl_test_require_root();
	assert_int_equal(sl_cgroup_host_detect(&h), 0);
	snprintf(parent, sizeof(parent), "%s/sandlot-test-runbpf-%d", h.v2_self_dir, (int)getpid());
	snprintf(cg, sizeof(cg), "%s/a", parent);
	assert_true(mkdir(parent, 0755) == 0 || errno == EEXIST);
	assert_true(mkdir(cg, 0755) == 0 || errno == EEXIST);
	o.cgroup_parent = parent;
	assert_int_equal(sl_bpf_open(&o, &b, NULL), 0);
	assert_int_equal(sl_bpf_sandbox_add(b, &spec, NULL), 0);
	uint32_t sched = prog_id(sl_bpf_prog_fd(b, "sl_sched_switch"));
	assert_true(sched != 0 && linked(sched));
	int cgfd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(bpf_prog_query(cgfd, BPF_CGROUP_INET_EGRESS, 0, NULL, NULL, &count), 0);
	assert_int_equal(count, 1);
	assert_true(stat(pin_root, &st) < 0 && errno == ENOENT); /* pin_root ignored */

	sl_bpf_free(&b); /* what a process exit does to its fds */
	assert_int_equal(bpf_prog_query(cgfd, BPF_CGROUP_INET_EGRESS, 0, NULL, NULL, &count), 0);
	assert_int_equal(count, 0);
	assert_false(linked(sched));
	close(cgfd);
	rmdir(cg);
	rmdir(parent);
}

/* ---- bad input ------------------------------------------------------------------------------ */

static void expect_usage(const char *const *args, const char *needle)
{
	const char *argv[64] = {sl_test_agent(), "run"};
	char out[1024], err[1024];
	size_t n = 2;

	for (; *args; args++)
		argv[n++] = *args;
	argv[n++] = "--";
	argv[n++] = "/bin/true";
	argv[n] = NULL;
	int st = sl_test_run((char *const *)argv, out, sizeof(out), err, sizeof(err));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
	if (!strstr(err, needle))
		fail_msg("stderr does not name '%s': %s", needle, err);
	assert_non_null(strchr(err, '\n'));
	assert_int_equal(strchr(err, '\n')[1], '\0');
}

static void bad_allow_values_exit_2(void **state)
{
	static const char *const bad[] = {"10.0.0.1/8",	   "10.0.0.0/33",     "1.2.3.4:0",
					  "1.2.3.4:99999", "1.2.3.4:80/icmp", "nonsense",
					  "[::1:80",	   "1.2.3.4:90-80"};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		expect_usage((const char *[]){"--net", "egress", "--allow", bad[i], NULL}, bad[i]);
	expect_usage((const char *[]){"--allow", "10.0.0.0/8", NULL}, "--net egress");
	expect_usage((const char *[]){"--net", "bridge", NULL}, "bridge");
}

static void more_rules_than_the_bound_exit_2(void **state)
{
	const char *args[64] = {"--net", "egress"};
	char rules[SL_BPF_MAX_RULES + 1][32];
	size_t n = 2;

	for (int i = 0; i <= SL_BPF_MAX_RULES; i++) {
		snprintf(rules[i], sizeof(rules[i]), "10.%d.0.0/16", i);
		args[n++] = "--allow";
		args[n++] = rules[i];
	}
	args[n] = NULL;
	expect_usage(args, rules[SL_BPF_MAX_RULES]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_allow_values_exit_2),
		cmocka_unit_test(more_rules_than_the_bound_exit_2),
		cmocka_unit_test(json_counts_a_known_transfer_over_egress),
		cmocka_unit_test(json_counts_loopback_with_net_none),
		cmocka_unit_test(allowed_reachable_denied_eperm_and_counted),
		cmocka_unit_test(metadata_denied_even_when_allowed),
		cmocka_unit_test(icmp_to_denied_address_dropped),
		cmocka_unit_test(cpu_seconds_agree_with_cpu_stat),
		cmocka_unit_test(uses_agent_pins_when_present_and_leaves_none),
		cmocka_unit_test(sigkilled_private_run_leaves_nothing),
		cmocka_unit_test(private_bpf_pins_nothing_and_detaches_at_exit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
