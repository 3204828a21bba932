// SPDX-License-Identifier: Apache-2.0
/*
 * Ways out of the egress policy (issue 12, items 2-4 and 8), tried from inside `sandlot-agent
 * run --net egress` as an attacker would, on the real kernel. The run's "host" is a test
 * network namespace "h" (the veth host ends appear there): its own address H_ADDR on a veth
 * of its own, and services bound to 0.0.0.0 (TCP: accepts; UDP: counts datagrams and answers
 * each). The sandbox's sl-netprobe (bound at /var/task) tries them. The policy comes from a
 * private load, from a real agent daemon running in "h" (agentpeer.h, its pins in
 * SANDLOT_BPF_PINS), or from pins with no agent following the host. The real host's network
 * is not touched.
 */
#include "testutil.h"
#include "agentpeer.h"
#include "bpfscaffold.h"
#include "netprobe-run.h"

#include "bpfload/bpf-loader.h"
#include "sandbox/cgroup-host.h"

#include <sandlot/util.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define H_ADDR	   "10.81.0.1"	/* the host's own address (namespace "h") */
#define LATE_ADDR  "10.82.0.1"	/* an address "h" gets while a run is going */
#define POOL_FIRST "10.213.0.1" /* the first lease's gateway (SL_NETPOOL_DEFAULT) */
#define WAIT_S	   15		/* generous: other builds share the machine */

static char ns_h[64], wrapper[128], gate_dir[PATH_MAX];
static int tcp_fd = -1, udp_fd = -1, stop_pipe[2] = {-1, -1};
static uint16_t tcp_port, udp_port;
static unsigned udp_received; /* datagrams the UDP service got (atomic) */
static pthread_t server;
static bool server_started;
/* what a test started, undone by cleanup() also when it failed half-way */
static pid_t started[8];
static size_t n_started;
static struct peer *agent;
static struct sl_bpf *pins;
static char pin_root[96];

static int bound_socket(int type, uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) < 0) ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static int open_services(void *arg)
{
	tcp_fd = bound_socket(SOCK_STREAM, &tcp_port);
	udp_fd = bound_socket(SOCK_DGRAM, &udp_port);
	return tcp_fd < 0 || udp_fd < 0 ? -1 : 0;
}

/* "h"'s services on 0.0.0.0: TCP accepts and closes, UDP counts and answers. */
static void *serve(void *arg)
{
	for (;;) {
		struct pollfd p[3] = {{.fd = tcp_fd, .events = POLLIN},
				      {.fd = udp_fd, .events = POLLIN},
				      {.fd = stop_pipe[0], .events = POLLIN}};
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		char buf[512];

		if (poll(p, 3, -1) < 0)
			continue;
		if (p[2].revents)
			return NULL;
		if (p[0].revents & POLLIN) {
			int c = accept(tcp_fd, NULL, NULL);
			if (c >= 0)
				close(c);
		}
		if ((p[1].revents & POLLIN) &&
		    recvfrom(udp_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) >= 0) {
			__atomic_add_fetch(&udp_received, 1, __ATOMIC_SEQ_CST);
			sendto(udp_fd, "y", 1, 0, (struct sockaddr *)&from, len);
		}
	}
}

static int setup(void **state)
{
	FILE *f;

	if (geteuid() != 0)
		return 0;
	np_remove_stale_netns("sl-escnet-");
	snprintf(ns_h, sizeof(ns_h), "sl-escnet-%d-h", (int)getpid());
	if (sc_sh("ip netns add %s && ip -n %s link set lo up", ns_h, ns_h) < 0 ||
	    sc_sh("ip -n %s link add d0 type veth peer name d1 && ip -n %s addr add %s/24 dev d0 "
		  "&& ip -n %s link set d0 up && ip -n %s link set d1 up",
		  ns_h, ns_h, H_ADDR, ns_h, ns_h) < 0 ||
	    np_in_ns(ns_h, open_services, NULL) < 0 || pipe2(stop_pipe, O_CLOEXEC) < 0 ||
	    pthread_create(&server, NULL, serve, NULL) != 0)
		return -1;
	server_started = true;
	/* the agent daemon, when a test starts one, runs in "h" too */
	snprintf(wrapper, sizeof(wrapper), "/tmp/sl-escnet-%d-agent", (int)getpid());
	f = fopen(wrapper, "w");
	if (!f)
		return -1;
	fprintf(f, "#!/bin/sh\nexec nsenter --net=/run/netns/%s %s \"$@\"\n", ns_h,
		sl_test_agent());
	fclose(f);
	chmod(wrapper, 0755);
	/* files the gated probes wait for: in their /var/task */
	snprintf(gate_dir, sizeof(gate_dir), "%s", np_probe_dir());
	setenv("SANDLOT_BPF_PINS", "/sys/fs/bpf/sl-escnet-none", 1); /* a private load */
	return 0;
}

static int teardown(void **state)
{
	if (server_started) {
		(void)!write(stop_pipe[1], "x", 1);
		pthread_join(server, NULL);
	}
	sl_closep(&stop_pipe[0]);
	sl_closep(&stop_pipe[1]);
	sl_closep(&tcp_fd);
	sl_closep(&udp_fd);
	if (ns_h[0])
		sc_sh("ip netns del %s 2>/dev/null", ns_h);
	if (wrapper[0])
		unlink(wrapper);
	return 0;
}

/* ---- running the command -------------------------------------------------------------------- */

struct result {
	int status; /* exit status, or 128 + signal */
	char out[4096], err[4096];
};

static void argv_build(const char **argv, const char *const *args, const char *const *cmd)
{
	static const char *const fixed[] = {"--net", "egress", NULL};

	np_argv_build(argv, ns_h, fixed, args, cmd);
}

static void run(struct result *r, const char *const *args, const char *const *cmd)
{
	const char *argv[NP_ARGV_MAX];
	int st;

	argv_build(argv, args, cmd);
	st = sl_test_run((char *const *)argv, r->out, sizeof(r->out), r->err, sizeof(r->err));
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static pid_t start_run(const char *const *args, const char *const *cmd)
{
	const char *argv[NP_ARGV_MAX];
	pid_t pid;

	argv_build(argv, args, cmd);
	pid = np_spawn(argv, false);
	if (pid > 0 && n_started < ARRAY_SIZE(started))
		started[n_started++] = pid;
	return pid;
}

/* Exit status of a started run (waits at most WAIT_S, then kills it). */
static int end_run(pid_t pid)
{
	int st;

	for (int i = 0; i < WAIT_S * 20; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Whether "h" has address addr right now (a run's gateway: its veth is up, it is past the hook). */
static bool h_has(const char *addr)
{
	char cmd[160], out[8192];
	const char *argv[] = {"sh", "-c", cmd, NULL};

	snprintf(cmd, sizeof(cmd), "ip -n %s -o addr", ns_h);
	sl_test_run((char *const *)argv, out, sizeof(out), NULL, 0);
	snprintf(cmd, sizeof(cmd), " %s/", addr);
	return strstr(out, cmd) != NULL;
}

static void wait_h_has(const char *addr)
{
	for (int i = 0; i < WAIT_S * 20 && !h_has(addr); i++)
		usleep(50000);
	if (!h_has(addr))
		fail_msg("%s never appeared in %s", addr, ns_h);
}

/* Waits until no run's veth is left in "h" (freed asynchronously): leases start from the first. */
static void wait_h_clean(void)
{
	char cmd[160], out[8192];
	const char *argv[] = {"sh", "-c", cmd, NULL};

	snprintf(cmd, sizeof(cmd), "ip -n %s -o link", ns_h);
	for (int i = 0; i < WAIT_S * 20; i++) {
		sl_test_run((char *const *)argv, out, sizeof(out), NULL, 0);
		if (!strstr(out, "slh"))
			return;
		usleep(50000);
	}
	fail_msg("runs' veths left in %s: %s", ns_h, out);
}

/* A gate: the probe waits for /var/task/<name> (ours to create, then remove). */
static void gate_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s-%d", gate_dir, name, (int)getpid());
}

/* A gate is a file in the code directory that exists, empty, before the runs waiting on it start
 * (/var/task is an overlay of that directory, which need not show entries added later); writing
 * a byte into it opens it. */
static void gate_set(const char *name, bool open_)
{
	char path[PATH_MAX + 64];
	int fd;

	gate_path(path, sizeof(path), name);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	if (open_)
		assert_int_equal(write(fd, "1", 1), 1);
	close(fd);
}

static void gate_close(const char *name)
{
	gate_set(name, false);
}

static void gate_open(const char *name)
{
	gate_set(name, true);
}

static void gate_remove(const char *name)
{
	char path[PATH_MAX + 64];

	gate_path(path, sizeof(path), name);
	unlink(path);
}

static const char *gate_arg(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/var/task/%s-%d", name, (int)getpid());
	return buf;
}

/* ---- the policy maps ------------------------------------------------------------------------ */

static void addr_of(const char *s, struct sl_bpf_addr *ret)
{
	uint8_t raw[16];

	if (inet_pton(AF_INET, s, raw) == 1) {
		sl_bpf_addr_from(AF_INET, raw, ret);
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, s, raw), 1);
	sl_bpf_addr_from(AF_INET6, raw, ret);
}

/* An sl_addrs map fd of process pid (a private load), or -1. */
static int private_addrs_map(pid_t pid)
{
	char dir[64], path[400], line[128];
	struct dirent *e;
	int found = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int)pid);
	d = opendir(dir);
	while (d && found < 0 && (e = readdir(d))) {
		unsigned id = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			sscanf(line, "map_id: %u", &id);
		if (f)
			fclose(f);
		int fd = id ? bpf_map_get_fd_by_id(id) : -1;
		struct bpf_map_info info = {0};
		uint32_t len = sizeof(info);
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    !strcmp(info.name, "sl_addrs"))
			found = fd;
		else if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
	return found;
}

/* Waits until the map has addr as a host address (the watcher saw it). */
static void wait_host_entry(int map, const char *addr)
{
	struct sl_bpf_addr a;
	struct sl_bpf_addr_owner o;

	addr_of(addr, &a);
	for (int i = 0; i < WAIT_S * 20; i++) {
		if (bpf_map_lookup_elem(map, &a, &o) == 0 && o.kind == SL_BPF_ADDR_HOST)
			return;
		usleep(50000);
	}
	fail_msg("%s never became a host address in the policy map", addr);
}

/* Number of sl_addrs entries in 10.213.0.0/16 (the default egress pool). */
static int pool_entries(int map)
{
	struct sl_bpf_addr key, *prev = NULL, pool;
	int n = 0;

	addr_of("10.213.0.0", &pool);
	for (; bpf_map_get_next_key(map, prev, &key) == 0; prev = &key)
		n += !memcmp(key.a, pool.a, 12) && (key.a[3] & htonl(0xffff0000)) == pool.a[3];
	return n;
}

/* ---- the agent ------------------------------------------------------------------------------ */

/* A real agent daemon in "h" (its pins used by the runs from now on, until agent_stop()). */
static struct peer *agent_start(void)
{
	setenv("SANDLOT_AGENT", wrapper, 1);
	assert_int_equal(peer_new(&agent), 0);
	int r = peer_agent_start(agent, WAIT_S * 1000);
	setenv("SANDLOT_AGENT", getenv("SL_ESCNET_AGENT"), 1);
	assert_int_equal(r, 0);
	setenv("SANDLOT_BPF_PINS", agent->pin_root, 1);
	return agent;
}

static void agent_stop(void)
{
	setenv("SANDLOT_BPF_PINS", "/sys/fs/bpf/sl-escnet-none", 1);
	peer_free(&agent);
}

/* After every test, passed or not: nothing it started or changed is left. */
static int cleanup(void **state)
{
	for (size_t i = 0; i < n_started; i++) {
		kill(started[i], SIGKILL);
		waitpid(started[i], NULL, 0);
	}
	n_started = 0;
	agent_stop();
	sl_bpf_free(&pins);
	if (pin_root[0])
		sl_bpf_destroy_pins(pin_root);
	pin_root[0] = '\0';
	gate_remove("late");
	gate_remove("go");
	gate_remove("stop");
	if (geteuid() == 0)
		sc_sh("ip -n %s addr del %s/32 dev d0 2>/dev/null", ns_h, LATE_ADDR);
	return 0;
}

static int pinned_addrs(const struct peer *p)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/sl_addrs", p->pin_root);
	return bpf_obj_get(path);
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* TCP, v4-mapped TCP, UDP (nothing arrives) and ICMP to the host's own address: all refused. */
static void host_unreachable(const char *how)
{
	char port[8], uport[8], mapped[64];
	unsigned before = __atomic_load_n(&udp_received, __ATOMIC_SEQ_CST);
	struct result r;

	snprintf(port, sizeof(port), "%u", tcp_port);
	snprintf(uport, sizeof(uport), "%u", udp_port);
	snprintf(mapped, sizeof(mapped), "::ffff:%s", H_ADDR);
	const char *const tries[][4] = {
		{"connect", H_ADDR, port, NULL},
		{"connect6", mapped, port, NULL},
		{"udpreply", H_ADDR, uport, NULL},
		{"ping", H_ADDR, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(tries); i++) {
		run(&r, NULL, tries[i]);
		if (r.status == 0 || r.status > 4)
			fail_msg("%s: %s %s reached the host: %d %s %s", how, tries[i][0],
				 tries[i][1], r.status, r.out, r.err);
	}
	assert_int_equal(__atomic_load_n(&udp_received, __ATOMIC_SEQ_CST), before);
	/* and an explicit rule still opens it */
	run(&r, (const char *[]){"--allow", H_ADDR "/32", NULL}, tries[0]);
	if (r.status != 0)
		fail_msg("%s: allowed connect failed: %s %s", how, r.out, r.err);
}

static void host_address_refused_privately_and_under_an_agent(void **state)
{
	sl_test_require_root();
	host_unreachable("private load");
	agent_start();
	host_unreachable("agent's pins");
	agent_stop();
}

static void agent_writes_host_addresses_at_start(void **state)
{
	struct sl_bpf_addr a;
	struct sl_bpf_addr_owner o;
	struct peer *p;
	int map;

	sl_test_require_root();
	p = agent_start();
	map = pinned_addrs(p);
	assert_true(map >= 0);
	addr_of(H_ADDR, &a);
	assert_int_equal(bpf_map_lookup_elem(map, &a, &o), 0);
	assert_int_equal(o.kind, SL_BPF_ADDR_HOST);
	assert_int_equal(o.cgid, 0);
	close(map);
	agent_stop();
}

/*
 * A run waits at a gate while "h" gets LATE_ADDR; once the policy map (map_of) has it, the
 * gate opens and the run tries it: refused.
 */
static void late_address(const char *how, struct peer *p)
{
	char port[8], gate[PATH_MAX];
	int map, status;

	snprintf(port, sizeof(port), "%u", tcp_port);
	gate_close("late");
	wait_h_clean();
	pid_t pid = start_run(NULL, (const char *[]){"gate", gate_arg(gate, sizeof(gate), "late"),
						     "connect", LATE_ADDR, port, NULL});
	wait_h_has(POOL_FIRST);
	assert_int_equal(sc_sh("ip -n %s addr add %s/32 dev d0", ns_h, LATE_ADDR), 0);
	map = p ? pinned_addrs(p) : private_addrs_map(pid);
	if (map < 0)
		fail_msg("%s: no policy map to watch", how);
	wait_host_entry(map, LATE_ADDR);
	close(map);
	gate_open("late");
	status = end_run(pid);
	gate_remove("late");
	sc_sh("ip -n %s addr del %s/32 dev d0", ns_h, LATE_ADDR);
	n_started = 0;
	if (status != 1)
		fail_msg("%s: an address added later: expected EPERM, got %d", how, status);
}

static void address_added_later_refused(void **state)
{
	struct peer *p;

	sl_test_require_root();
	late_address("private load", NULL);
	p = agent_start();
	late_address("agent's pins", p);
	agent_stop();
}

/* The case: older runs try a newer run's gateway (made after they started). */
static void newer_runs_gateway_refused_to_older_runs(void **state)
{
	char port[8], uport[8], g1[PATH_MAX], g2[PATH_MAX];
	unsigned before = __atomic_load_n(&udp_received, __ATOMIC_SEQ_CST);
	const char *gw = "10.213.0.9"; /* the third lease's */

	sl_test_require_root();
	snprintf(port, sizeof(port), "%u", tcp_port);
	snprintf(uport, sizeof(uport), "%u", udp_port);
	gate_close("go");
	gate_close("stop");
	wait_h_clean();
	pid_t tcp = start_run(NULL, (const char *[]){"gate", gate_arg(g1, sizeof(g1), "go"),
						     "connect", gw, port, NULL});
	wait_h_has("10.213.0.1");
	pid_t udp = start_run(NULL, (const char *[]){"gate", gate_arg(g1, sizeof(g1), "go"),
						     "udpreply", gw, uport, NULL});
	wait_h_has("10.213.0.5");
	pid_t newer = start_run(
		NULL, (const char *[]){"gate", gate_arg(g2, sizeof(g2), "stop"), "ifaddr", NULL});
	wait_h_has(gw);
	gate_open("go");
	int st_tcp = end_run(tcp), st_udp = end_run(udp);
	gate_open("stop");
	assert_int_equal(end_run(newer), 0);
	n_started = 0;
	gate_remove("go");
	gate_remove("stop");
	if (st_tcp != 1 || st_udp != 1)
		fail_msg("a newer run's gateway: TCP %d, UDP %d (expected EPERM, 1)", st_tcp,
			 st_udp);
	assert_int_equal(__atomic_load_n(&udp_received, __ATOMIC_SEQ_CST), before);
}

/* UDP and ping to each of dests, also with an allow-all rule: refused, nothing arrives. */
static void never_reach_the_host(const char *const *dests, size_t n)
{
	unsigned before = __atomic_load_n(&udp_received, __ATOMIC_SEQ_CST);
	char uport[8];
	struct result r;

	snprintf(uport, sizeof(uport), "%u", udp_port);
	for (int allow = 0; allow < 2; allow++)
		for (size_t i = 0; i < n; i++) {
			const char *const args[] = {allow ? "--allow" : NULL, "0.0.0.0/0", NULL};

			run(&r, args, (const char *[]){"udpreply", dests[i], uport, NULL});
			if (r.status != 1)
				fail_msg("UDP to %s%s: expected EPERM: %d %s %s", dests[i],
					 allow ? " (allowed)" : "", r.status, r.out, r.err);
			run(&r, args, (const char *[]){"ping", dests[i], NULL});
			if (r.status == 0)
				fail_msg("ping %s%s answered", dests[i], allow ? " (allowed)" : "");
		}
	assert_int_equal(__atomic_load_n(&udp_received, __ATOMIC_SEQ_CST), before);
}

/* Limited broadcast, the sandbox's /30's broadcast and network addresses, multicast. */
static void broadcast_and_multicast_never_reach_the_host(void **state)
{
	static const char *const dests[] = {"255.255.255.255", "@bcast", "@net", "224.0.0.1"};

	sl_test_require_root();
	never_reach_the_host(dests, ARRAY_SIZE(dests));
}

/* The broadcast and network addresses of the host's own subnet (H_ADDR/24). */
static void host_subnet_broadcast_never_reaches_the_host(void **state)
{
	static const char *const dests[] = {"10.81.0.255", "10.81.0.0"};

	sl_test_require_root();
	never_reach_the_host(dests, ARRAY_SIZE(dests));
}

/* A SIGKILLed run's gateway in the agent's pins goes with its registration at the next prune. */
static void sigkilled_runs_gateway_pruned(void **state)
{
	struct sl_cgroup_host h;
	char path[160], net[128];
	struct sl_bpf_opts o = {.pin_root = pin_root};
	struct result r;
	int map, status;

	sl_test_require_root();
	/* pins with nobody following the host's addresses (an agent that stopped, say) */
	snprintf(pin_root, sizeof(pin_root), "/sys/fs/bpf/sl-escnet-%d", (int)getpid());
	assert_int_equal(sl_cgroup_host_detect(&h), 0);
	o.cgroup_parent = h.v2_self_dir;
	assert_int_equal(sl_bpf_open(&o, &pins, NULL), 0);
	setenv("SANDLOT_BPF_PINS", pin_root, 1);
	snprintf(path, sizeof(path), "%s/sl_addrs", pin_root);
	map = bpf_obj_get(path);
	assert_true(map >= 0);

	wait_h_clean();
	pid_t pid = start_run(NULL, (const char *[]){"burn", "20000", NULL});
	wait_h_has(POOL_FIRST);
	assert_true(pool_entries(map) >= 2); /* its own address and its gateway */
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	n_started = 0;
	/* the next run (no egress needed) prunes the dead run's registration */
	const char *argv[] = {"nsenter", NULL, sl_test_agent(), "run",
			      "--json",	 "--", "/bin/true",	NULL};
	snprintf(net, sizeof(net), "--net=/run/netns/%s", ns_h);
	argv[1] = net;
	int st = sl_test_run((char *const *)argv, r.out, sizeof(r.out), r.err, sizeof(r.err));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	int left = pool_entries(map);
	close(map);
	assert_int_equal(left, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(host_address_refused_privately_and_under_an_agent,
					  cleanup),
		cmocka_unit_test_teardown(agent_writes_host_addresses_at_start, cleanup),
		cmocka_unit_test_teardown(address_added_later_refused, cleanup),
		cmocka_unit_test_teardown(newer_runs_gateway_refused_to_older_runs, cleanup),
		cmocka_unit_test_teardown(broadcast_and_multicast_never_reach_the_host, cleanup),
		cmocka_unit_test_teardown(host_subnet_broadcast_never_reaches_the_host, cleanup),
		cmocka_unit_test_teardown(sigkilled_runs_gateway_pruned, cleanup),
	};

	setenv("SL_ESCNET_AGENT", sl_test_agent(), 1);
	return cmocka_run_group_tests(tests, setup, teardown);
}
