// SPDX-License-Identifier: Apache-2.0
/*
 * The BPF network policy on the real kernel: processes in test cgroups (in the sandbox network
 * namespace) try to reach a test host in its own namespace across a veth pair.
 */
#include "inet_csum.h"
#include "testutil.h"

#include "bpfload/bpf-loader.h"
#include "bpfscaffold.h"
#include "sandbox/netpool.h"

#include <sandlot/time.h>
#include <sandlot/util.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>

static struct sc sc;
static struct sl_bpf *bpf;
static int listeners[4] = {-1, -1, -1, -1};
static uint16_t port_a, port_b, port_6;
static struct sl_bpf_event deny_ev;
static size_t n_deny;

static int record(const struct sl_bpf_event *ev, void *userdata)
{
	if (ev->type == SL_BPF_EV_DENY) {
		deny_ev = *ev;
		n_deny++;
	}
	return 0;
}

static int listen_all(void *arg)
{
	listeners[0] = sc_listen_tcp(AF_INET, "0.0.0.0", &port_a);
	listeners[1] = sc_listen_tcp(AF_INET, "0.0.0.0", &port_b);
	listeners[2] = sc_listen_tcp(AF_INET6, "::", &port_6);
	return listeners[0] >= 0 && listeners[1] >= 0 && listeners[2] >= 0 ? 0 : -1;
}

static int setup(void **state)
{
	struct sl_bpf_opts o = {.cgroup_parent = NULL, .on_event = record};

	if (geteuid() != 0)
		return 0;
	if (sc_setup(&sc, true) < 0)
		return -1;
	o.pin_root = sc.pin_root;
	o.cgroup_parent = sc.cg_parent;
	if (sl_bpf_open(&o, &bpf, NULL) < 0)
		return -1;
	return sc_in_netns(&sc, sc.ns_h_fd, listen_all, NULL);
}

static int teardown(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(listeners); i++)
		sl_closep(&listeners[i]);
	sl_bpf_free(&bpf);
	sc_teardown(&sc);
	return 0;
}

/* A sandbox with the given --allow rules (NULL-terminated; rules == NULL: no allow-list). */
static uint64_t sandbox(char *cg, const char *const *rules, const char *own_addr)
{
	struct sl_netpolicy p = {0};
	struct sl_bpf_addr a;
	uint8_t raw[4];
	struct sl_bpf_sandbox_spec spec = {.policy = rules ? &p : NULL};
	uint64_t id;

	for (size_t i = 0; rules && rules[i]; i++)
		assert_int_equal(sl_netpolicy_add(&p, rules[i], NULL, 0), 0);
	if (own_addr) {
		inet_pton(AF_INET, own_addr, raw);
		sl_bpf_addr_from(AF_INET, raw, &a);
		spec.addrs = &a;
		spec.n_addrs = 1;
	}
	assert_int_equal(sc_cgroup_new(&sc, cg), 0);
	spec.cgroup_path = cg;
	assert_int_equal(sl_bpf_sandbox_add(bpf, &spec, &id), 0);
	return id;
}

struct
try {
	int family, type;
	const char *addr;
	uint16_t port;
};

static int try_connect(void *arg)
{
	const struct try *t = arg;

	return sc_connect(t->family, t->addr, t->port, t->type);
}

/* connect() from inside cgroup cg: 0 or the errno. */
static int reach(const char *cg, int family, const char *addr, uint16_t port)
{
	struct try t = {family, SOCK_STREAM, addr, port};
	pid_t pid = sc_spawn(cg, sc.ns_s_fd, try_connect, &t);

	assert_true(pid > 0);
	return sc_wait(pid);
}

static int try_udp(void *arg)
{
	const struct try *t = arg;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(t->port)};
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, t->addr, &a.sin_addr);
	return sendto(fd, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)) == 1 ? 0 : errno;
}

static int reach_udp(const char *cg, const char *addr, uint16_t port)
{
	struct try t = {AF_INET, SOCK_DGRAM, addr, port};
	pid_t pid = sc_spawn(cg, sc.ns_s_fd, try_udp, &t);

	assert_true(pid > 0);
	return sc_wait(pid);
}

static void allowed_reachable_denied_eperm(void **state)
{
	char cg[512], rule[64];
	struct sl_bpf_stats k;

	sl_test_require_root();
	snprintf(rule, sizeof(rule), "%s:%u/tcp", SC_NET_H, port_a);
	const char *rules[] = {rule, NULL};
	uint64_t id = sandbox(cg, rules, NULL);

	size_t deny_before = n_deny;
	assert_int_equal(reach(cg, AF_INET, SC_NET_H, port_a), 0);
	assert_int_equal(reach(cg, AF_INET, SC_NET_H, port_b), EPERM);	/* other port */
	assert_int_equal(reach(cg, AF_INET, SC_NET_H2, port_a), EPERM); /* other address */
	assert_int_equal(reach_udp(cg, SC_NET_H, port_a), EPERM);	/* other protocol */
	assert_int_equal(reach(cg, AF_INET, "127.0.0.1", port_a), ECONNREFUSED); /* own lo */
	assert_int_equal(sl_bpf_sandbox_counters(bpf, id, &k), 0);
	assert_int_equal(k.denied_connects, 3);
	/* refusals are reported, rate-limited: at least the first one, with its destination */
	sl_bpf_events_poll(bpf, 100);
	assert_true(n_deny > deny_before);
	assert_int_equal(deny_ev.cgid, id);
	assert_int_equal(deny_ev.port, port_b);
	assert_int_equal(deny_ev.proto, SL_BPF_PROTO_TCP);
}

static void metadata_and_agent_ports_denied_even_when_allowed(void **state)
{
	char cg[512];
	const char *rules[] = {"0.0.0.0/0", "169.254.0.0/16", "::/0", NULL};

	sl_test_require_root();
	uint64_t id = sandbox(cg, rules, NULL);
	struct sl_bpf_stats k;

	assert_int_equal(reach(cg, AF_INET, SC_NET_H, port_a), 0);
	assert_int_equal(reach(cg, AF_INET, "169.254.169.254", 80), EPERM);
	assert_int_equal(reach_udp(cg, "169.254.169.254", 53), EPERM);
	assert_int_equal(reach(cg, AF_INET6, "fd00:ec2::254", 80), EPERM);
	assert_int_equal(reach(cg, AF_INET6, "::ffff:169.254.169.254", 80), EPERM);
	assert_int_equal(reach(cg, AF_INET, SC_NET_H, 7401), EPERM);
	assert_int_equal(sl_bpf_sandbox_counters(bpf, id, &k), 0);
	assert_int_equal(k.denied_connects, 5);
}

static int try_udp6(void *arg)
{
	const struct try *t = arg;
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(t->port)};
	_cleanup_close_ int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	inet_pton(AF_INET6, t->addr, &a.sin6_addr);
	return sendto(fd, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)) == 1 ? 0 : errno;
}

static int reach_udp6(const char *cg, const char *addr, uint16_t port)
{
	struct try t = {AF_INET6, SOCK_DGRAM, addr, port};
	pid_t pid = sc_spawn(cg, sc.ns_s_fd, try_udp6, &t);

	assert_true(pid > 0);
	return sc_wait(pid);
}

/* Destinations that are not one unicast address, whatever the rules (issue 12, item 4). */
static void multicast_and_broadcast_denied_even_when_allowed(void **state)
{
	char cg[512];
	const char *rules[] = {"0.0.0.0/0", "::/0", NULL};

	sl_test_require_root();
	sandbox(cg, rules, NULL);
	assert_int_equal(reach_udp(cg, SC_NET_H, port_a), 0);
	assert_int_equal(reach_udp(cg, "224.0.0.1", port_a), EPERM);
	assert_int_equal(reach_udp(cg, "239.255.255.250", port_a), EPERM);
	assert_int_equal(reach_udp(cg, "255.255.255.255", port_a), EPERM);
	assert_int_equal(reach_udp6(cg, "ff0e::1", port_a), EPERM);
	assert_int_equal(reach_udp6(cg, "ff02::1", port_a), EPERM);
	assert_int_equal(reach_udp6(cg, "::ffff:224.0.0.1", port_a), EPERM);
	assert_int_equal(reach(cg, AF_INET6, "ff0e::1", port_a), EPERM);
}

static void ipv6_rules_apply(void **state)
{
	char cg[512], rule[64];

	sl_test_require_root();
	snprintf(rule, sizeof(rule), "[%s]:%u/tcp", SC_NET6_H, port_6);
	const char *rules[] = {rule, NULL};
	sandbox(cg, rules, NULL);
	assert_int_equal(reach(cg, AF_INET6, SC_NET6_H, port_6), 0);
	assert_int_equal(reach(cg, AF_INET6, SC_NET6_H, port_a), EPERM);
	assert_int_equal(reach(cg, AF_INET, SC_NET_H, port_6), EPERM);
}

static void one_sandbox_cannot_reach_another(void **state)
{
	char a[512], b[512];
	const char *rules[] = {"10.77.0.0/24", NULL};

	sl_test_require_root();
	sandbox(b, NULL, SC_NET_B); /* the owner of 10.77.0.5 */
	sandbox(a, rules, NULL);
	assert_int_equal(reach(a, AF_INET, SC_NET_H, port_a), 0);
	assert_int_equal(reach(a, AF_INET, SC_NET_B, port_a), EPERM);
	/* even a sandbox without an allow-list */
	char c[512];
	sandbox(c, NULL, NULL);
	assert_int_equal(reach(c, AF_INET, SC_NET_B, port_a), EPERM);
	assert_int_equal(reach(c, AF_INET, SC_NET_H, port_a), 0);
	/* the owner itself may use its address */
	assert_int_equal(reach(b, AF_INET, SC_NET_B, port_a), 0);
}

static void host_addresses_need_an_explicit_rule(void **state)
{
	char open_cg[512], ruled[512], rule[64];
	struct sl_bpf_addr h2;
	uint8_t raw[4];

	sl_test_require_root();
	inet_pton(AF_INET, SC_NET_H2, raw);
	sl_bpf_addr_from(AF_INET, raw, &h2);
	assert_int_equal(sl_bpf_host_addr_add(bpf, &h2), 0);
	sandbox(open_cg, NULL, NULL);
	assert_int_equal(reach(open_cg, AF_INET, SC_NET_H, port_a), 0);
	assert_int_equal(reach(open_cg, AF_INET, SC_NET_H2, port_a), EPERM);
	snprintf(rule, sizeof(rule), "%s:%u", SC_NET_H2, port_a);
	const char *rules[] = {rule, NULL};
	sandbox(ruled, rules, NULL);
	assert_int_equal(reach(ruled, AF_INET, SC_NET_H2, port_a), 0);
}

/* The real host's own addresses (this process's namespace): denied at connect() already. */
static void host_addresses_synced_from_interfaces(void **state)
{
	struct ifaddrs *all, *i;
	char cg[512], addr[INET_ADDRSTRLEN] = "";

	sl_test_require_root();
	assert_true(sl_bpf_host_addrs_sync(bpf) >= 0);
	assert_int_equal(getifaddrs(&all), 0);
	for (i = all; i && !addr[0]; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !(i->ifa_flags & IFF_LOOPBACK))
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, addr,
				  sizeof(addr));
	freeifaddrs(all);
	if (!addr[0])
		skip(); /* no non-loopback IPv4 address on this host */
	sandbox(cg, NULL, NULL);
	assert_int_equal(reach(cg, AF_INET, addr, 80), EPERM);
}

/* ---- ICMP (no connect() to check): dropped per packet at cgroup_skb egress ---- */

/* One ICMP echo over a raw socket: 0 when a reply came within 500 ms, else an errno. */
static int ping(void *arg)
{
	const char *addr = arg;
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct icmphdr h = {.type = ICMP_ECHO, .un.echo.id = htons(77), .un.echo.sequence = 1};
	_cleanup_close_ int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[256];

	inet_pton(AF_INET, addr, &a.sin_addr);
	h.checksum = inet_csum(&h, sizeof(h));
	if (fd < 0)
		return errno;
	if (sendto(fd, &h, sizeof(h), 0, (struct sockaddr *)&a, sizeof(a)) < 0)
		return errno;
	uint64_t end = sl_now_ns() + 500 * SL_NSEC_PER_MSEC;
	while (sl_now_ns() < end) {
		if (poll(&p, 1, 100) == 1 && read(fd, buf, sizeof(buf)) > 20 &&
		    buf[20] == ICMP_ECHOREPLY)
			return 0;
	}
	return ETIMEDOUT;
}

static void icmp_to_denied_address_dropped(void **state)
{
	char cg[512], rule[64];
	struct sl_bpf_stats k;

	sl_test_require_root();
	snprintf(rule, sizeof(rule), "%s/32", SC_NET_H);
	const char *rules[] = {rule, NULL};
	uint64_t id = sandbox(cg, rules, NULL);

	pid_t pid = sc_spawn(cg, sc.ns_s_fd, ping, (void *)SC_NET_H);
	assert_int_equal(sc_wait(pid), 0); /* allowed: answered */
	assert_int_equal(sl_bpf_sandbox_counters(bpf, id, &k), 0);
	assert_int_equal(k.dropped_packets, 0);
	pid = sc_spawn(cg, sc.ns_s_fd, ping, (void *)SC_NET_H2);
	assert_int_not_equal(sc_wait(pid), 0); /* denied: EPERM from sendto or no answer */
	pid = sc_spawn(cg, sc.ns_s_fd, ping, (void *)"169.254.169.254");
	assert_int_not_equal(sc_wait(pid), 0);
	assert_int_equal(sl_bpf_sandbox_counters(bpf, id, &k), 0);
	assert_int_equal(k.dropped_packets, 2);
}

/* ---- --net egress: a veth from the pool into the "host" namespace, the policy on top ---- */

struct veth_args {
	struct sl_netlease *lease;
	int netns_fd;
};

static int veth_add(void *arg)
{
	struct veth_args *v = arg;

	return sl_netpool_veth_add(v->lease, v->netns_fd);
}

static int veth_del(void *arg)
{
	return sl_netpool_veth_del(arg);
}

static int ifindex_in(void *arg)
{
	return (int)if_nametoindex(arg);
}

static void egress_veth_is_routed_and_policed(void **state)
{
	struct sl_netpool *pool = NULL;
	struct sl_netlease lease;
	char ns[64], path[128], cg[512], rule[64], host[INET_ADDRSTRLEN];
	struct sl_bpf_sandbox_spec spec = {0};
	struct sl_netpolicy p = {0};
	struct sl_bpf_addr own;
	int fd;

	sl_test_require_root();
	assert_int_equal(sl_netpool_new(&pool, SL_NETPOOL_DEFAULT), 0);
	assert_int_equal(sl_netpool_alloc(pool, &lease), 0);
	snprintf(ns, sizeof(ns), "sl-bpf-%d-e", (int)getpid());
	assert_int_equal(sc_sh("ip netns add %s", ns), 0);
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct veth_args v = {&lease, fd};
	int r = sc_in_netns(&sc, sc.ns_h_fd, veth_add, &v);
	if (r < 0)
		sc_sh("ip netns del %s", ns);
	assert_int_equal(r, 0);
	assert_true(sc_in_netns(&sc, sc.ns_h_fd, ifindex_in, lease.host_if) > 0);

	/* the sandbox may reach its gateway's port_a only */
	inet_ntop(AF_INET, &lease.host, host, sizeof(host));
	snprintf(rule, sizeof(rule), "%s:%u/tcp", host, port_a);
	assert_int_equal(sl_netpolicy_add(&p, rule, NULL, 0), 0);
	sl_bpf_addr_from(AF_INET, &lease.sandbox, &own);
	spec.policy = &p;
	spec.addrs = &own;
	spec.n_addrs = 1;
	assert_int_equal(sc_cgroup_new(&sc, cg), 0);
	spec.cgroup_path = cg;
	assert_int_equal(sl_bpf_sandbox_add(bpf, &spec, NULL), 0);
	struct try t = {AF_INET, SOCK_STREAM, host, port_a};
	pid_t pid = sc_spawn(cg, fd, try_connect, &t);
	assert_int_equal(sc_wait(pid), 0);
	t.port = port_b;
	pid = sc_spawn(cg, fd, try_connect, &t);
	assert_int_equal(sc_wait(pid), EPERM);

	assert_int_equal(sc_in_netns(&sc, sc.ns_h_fd, veth_del, &lease), 0);
	assert_int_equal(sc_in_netns(&sc, sc.ns_h_fd, ifindex_in, lease.host_if), 0);
	close(fd);
	sc_sh("ip netns del %s", ns);
	sl_netpool_free(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allowed_reachable_denied_eperm),
		cmocka_unit_test(metadata_and_agent_ports_denied_even_when_allowed),
		cmocka_unit_test(multicast_and_broadcast_denied_even_when_allowed),
		cmocka_unit_test(ipv6_rules_apply),
		cmocka_unit_test(one_sandbox_cannot_reach_another),
		cmocka_unit_test(host_addresses_need_an_explicit_rule),
		cmocka_unit_test(host_addresses_synced_from_interfaces),
		cmocka_unit_test(icmp_to_denied_address_dropped),
		cmocka_unit_test(egress_veth_is_routed_and_policed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
