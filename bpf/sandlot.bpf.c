// SPDX-License-Identifier: GPL-2.0
/*
 * sandlot's kernel half: per-sandbox CPU and network accounting, busy/idle detection and the
 * network policy. Every map is keyed by the sandbox's v2 cgroup id and pinned by name; the
 * layout is include/sandlot/bpf_abi.h. agent/bpf-loader.c loads this once per host.
 *
 * Costs: sched_switch does one per-CPU array access and one hash lookup for a task that is not
 * in a sandbox; cgroup programs run only on sandlot's own cgroups.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <sandlot/bpf_abi.h>

char LICENSE[] SEC("license") = "GPL";

#define CLOCK_MONOTONIC 1
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define SOCK_STREAM	1
#define SOCK_DGRAM	2
#define IPPROTO_ICMPV6	58

/* Number of possible CPUs (set by the loader), bounding the idle timer's scan. */
const volatile __u32 nr_cpus = 1;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_bpf_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_bpf_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_BPF_MAX_SANDBOXES);
	__type(key, __u64);
	__type(value, struct sl_bpf_sandbox);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_sandboxes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SL_BPF_MAX_SANDBOXES);
	__type(key, __u64);
	__type(value, struct sl_bpf_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_BPF_MAX_SANDBOXES);
	__type(key, __u64);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_BPF_MAX_ADDRS);
	__type(key, struct sl_bpf_addr);
	__type(value, struct sl_bpf_addr_owner);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_bpf_cpu);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SL_BPF_RINGBUF_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_events SEC(".maps");

/* ---- busy / idle ------------------------------------------------------------------------ */

static __always_inline void emit_state(struct sl_bpf_sandbox *s, __u32 type, __u64 now)
{
	struct sl_bpf_event *ev = bpf_ringbuf_reserve(&sl_events, sizeof(*ev), 0);

	if (!ev)
		return;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->cgid = s->cgid;
	ev->ts_ns = now;
	ev->seq = __sync_fetch_and_add(&s->seq, 1) + 1;
	bpf_ringbuf_submit(ev, 0);
}

/* Activity seen while the sandbox was idle: it is busy now; the idle timer starts watching. */
static __always_inline void mark_busy(struct sl_bpf_sandbox *s, __u64 now)
{
	if (s->state == SL_BPF_BUSY)
		return;
	if (__sync_val_compare_and_swap(&s->state, SL_BPF_IDLE, SL_BPF_BUSY) != SL_BPF_IDLE)
		return;
	emit_state(s, SL_BPF_EV_BUSY, now);
	bpf_timer_start(&s->timer, s->idle_ns, 0);
}

/*
 * The idle timer: fires idle_ns after the sandbox became busy and then idle_ns after its last
 * activity. Busy while an invocation is in flight or one of its tasks is on a CPU; idle once
 * nothing happened for idle_ns. No polling: a busy sandbox costs one timer per idle_ns.
 */
static int idle_timer(void *map, __u64 *key, struct sl_bpf_sandbox *s)
{
	__u64 now = bpf_ktime_get_ns(), last = 0, cgid = s->cgid;
	__u32 zero = 0, *inflight = bpf_map_lookup_elem(&sl_inflight, &cgid);

	if (inflight && *inflight)
		goto rearm;
	for (__u32 i = 0; i < SL_BPF_MAX_CPUS && i < nr_cpus; i++) {
		struct sl_bpf_cpu *c = bpf_map_lookup_percpu_elem(&sl_cpu, &zero, i);
		struct sl_bpf_counters *k = bpf_map_lookup_percpu_elem(&sl_counters, &cgid, i);

		if (c && c->cgid == cgid)
			goto rearm; /* on a CPU right now */
		if (k && k->last_cpu_ns > last)
			last = k->last_cpu_ns;
		if (k && k->last_net_ns > last)
			last = k->last_net_ns;
	}
	if (last >= now)
		goto rearm;
	if (now - last < s->idle_ns) {
		bpf_timer_start(&s->timer, s->idle_ns - (now - last), 0);
		return 0;
	}
	if (__sync_val_compare_and_swap(&s->state, SL_BPF_BUSY, SL_BPF_IDLE) == SL_BPF_BUSY)
		emit_state(s, SL_BPF_EV_IDLE, now);
	return 0;
rearm:
	bpf_timer_start(&s->timer, s->idle_ns, 0);
	return 0;
}

/* Run by the loader (BPF_PROG_TEST_RUN) right after it registers a sandbox. */
SEC("syscall")
int sl_sandbox_init(struct sl_bpf_init_args *args)
{
	__u64 cgid = args->cgid;
	struct sl_bpf_sandbox *s = bpf_map_lookup_elem(&sl_sandboxes, &cgid);
	long r;

	if (!s)
		return -2; /* -ENOENT */
	r = bpf_timer_init(&s->timer, &sl_sandboxes, CLOCK_MONOTONIC);
	if (r && r != -16) /* -EBUSY: initialised before */
		return r;
	return bpf_timer_set_callback(&s->timer, idle_timer);
}

/* ---- CPU accounting ---------------------------------------------------------------------- */

SEC("tp_btf/sched_switch")
int BPF_PROG(sl_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 zero = 0;
	struct sl_bpf_cpu *c = bpf_map_lookup_elem(&sl_cpu, &zero);
	struct sl_bpf_sandbox *s;
	__u64 now = 0, cgid;

	if (!c)
		return 0;
	if (c->cgid) {
		/* prev was switched in as a sandbox task: charge its whole slice, whatever its
		 * state */
		struct sl_bpf_counters *k = bpf_map_lookup_elem(&sl_counters, &c->cgid);

		now = bpf_ktime_get_ns();
		if (k) {
			k->cpu_ns += now - c->since_ns;
			k->switches++;
			k->last_cpu_ns = now;
		}
	}
	cgid = BPF_CORE_READ(next, cgroups, dfl_cgrp, kn, id);
	s = bpf_map_lookup_elem(&sl_sandboxes, &cgid);
	if (!s) {
		c->cgid = 0;
		return 0;
	}
	if (!now)
		now = bpf_ktime_get_ns();
	c->cgid = cgid;
	c->since_ns = now;
	mark_busy(s, now);
	return 0;
}

/* ---- network policy ---------------------------------------------------------------------- */

static __always_inline bool is_loopback(const struct sl_bpf_addr *a)
{
	/* 127.0.0.0/8 and 0.0.0.0 (v4-mapped), ::1 and :: */
	if (a->a[0] == 0 && a->a[1] == 0 && a->a[2] == bpf_htonl(0xffff))
		return (a->a[3] & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000) || a->a[3] == 0;
	return a->a[0] == 0 && a->a[1] == 0 && a->a[2] == 0 &&
	       (a->a[3] == bpf_htonl(1) || a->a[3] == 0);
}

static __always_inline bool is_metadata(const struct sl_bpf_addr *a)
{
	/* 169.254.169.254 and fd00:ec2::254 */
	if (a->a[0] == 0 && a->a[1] == 0 && a->a[2] == bpf_htonl(0xffff))
		return a->a[3] == bpf_htonl(0xa9fea9fe);
	return a->a[0] == bpf_htonl(0xfd000ec2) && a->a[1] == 0 && a->a[2] == 0 &&
	       a->a[3] == bpf_htonl(0x254);
}

static __always_inline bool port_denied(__u16 port)
{
	__u32 zero = 0;
	struct sl_bpf_config *cfg = bpf_map_lookup_elem(&sl_config, &zero);

	if (!cfg || !port)
		return false;
	for (int i = 0; i < SL_BPF_MAX_DENY_PORTS; i++)
		if (cfg->deny_ports[i] == port)
			return true;
	return false;
}

static __always_inline bool rule_matches(const struct sl_bpf_rule *r, const struct sl_bpf_addr *a,
					 __u16 port, __u8 proto)
{
	if (r->proto && r->proto != proto)
		return false;
	if ((r->port_lo || r->port_hi) && (port < r->port_lo || port > r->port_hi))
		return false;
	return (a->a[0] & r->mask[0]) == r->net[0] && (a->a[1] & r->mask[1]) == r->net[1] &&
	       (a->a[2] & r->mask[2]) == r->net[2] && (a->a[3] & r->mask[3]) == r->net[3];
}

/* The whole policy for one destination: true when sandbox s may reach it. */
static __always_inline bool allowed(const struct sl_bpf_sandbox *s, const struct sl_bpf_addr *a,
				    __u16 port, __u8 proto)
{
	struct sl_bpf_addr_owner *o;
	bool host = false;

	if (is_loopback(a))
		return true; /* the sandbox's own network namespace */
	if (is_metadata(a) || port_denied(port))
		return false;
	o = bpf_map_lookup_elem(&sl_addrs, a);
	if (o && o->kind == SL_BPF_ADDR_SANDBOX && o->cgid != s->cgid)
		return false;
	host = o && o->kind == SL_BPF_ADDR_HOST;
	if (!(s->flags & SL_BPF_SBX_POLICY) && !host)
		return true;
	for (int i = 0; i < SL_BPF_MAX_RULES; i++) {
		if (i >= s->n_rules)
			break;
		if (rule_matches(&s->rules[i], a, port, proto))
			return true;
	}
	return false;
}

/* Counts a refusal and reports it, at most one event per SL_BPF_DENY_EVENT_NS per sandbox. */
static __always_inline void report_deny(struct sl_bpf_sandbox *s, const struct sl_bpf_addr *a,
					__u16 port, __u8 proto)
{
	__u64 now = bpf_ktime_get_ns();
	struct sl_bpf_event *ev;

	if (now - s->last_deny_event_ns < SL_BPF_DENY_EVENT_NS) {
		__sync_fetch_and_add(&s->denied_unreported, 1);
		return;
	}
	s->last_deny_event_ns = now;
	ev = bpf_ringbuf_reserve(&sl_events, sizeof(*ev), 0);
	if (!ev)
		return;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->type = SL_BPF_EV_DENY;
	ev->cgid = s->cgid;
	ev->ts_ns = now;
	ev->addr = *a;
	ev->port = port;
	ev->proto = proto;
	ev->suppressed = __sync_lock_test_and_set(&s->denied_unreported, 0);
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline int sock_addr_policy(struct bpf_sock_addr *ctx, bool v6)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	struct sl_bpf_sandbox *s = bpf_map_lookup_elem(&sl_sandboxes, &cgid);
	struct sl_bpf_counters *k;
	struct sl_bpf_addr a = {};
	__u16 port;
	__u8 proto;

	if (!s)
		return 1;
	if (v6) {
		a.a[0] = ctx->user_ip6[0];
		a.a[1] = ctx->user_ip6[1];
		a.a[2] = ctx->user_ip6[2];
		a.a[3] = ctx->user_ip6[3];
	} else {
		a.a[2] = bpf_htonl(0xffff);
		a.a[3] = ctx->user_ip4;
	}
	port = bpf_ntohs((__u16)ctx->user_port);
	proto = ctx->type == SOCK_STREAM  ? SL_BPF_PROTO_TCP
		: ctx->type == SOCK_DGRAM ? (__u8)ctx->protocol
					  : (__u8)ctx->protocol;
	if (allowed(s, &a, port, proto))
		return 1;
	k = bpf_map_lookup_elem(&sl_counters, &cgid);
	if (k)
		k->denied_connects++;
	report_deny(s, &a, port, proto);
	return 0; /* the caller gets EPERM */
}

SEC("cgroup/connect4")
int sl_connect4(struct bpf_sock_addr *ctx)
{
	return sock_addr_policy(ctx, false);
}

SEC("cgroup/connect6")
int sl_connect6(struct bpf_sock_addr *ctx)
{
	return sock_addr_policy(ctx, true);
}

SEC("cgroup/sendmsg4")
int sl_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_addr_policy(ctx, false);
}

SEC("cgroup/sendmsg6")
int sl_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_addr_policy(ctx, true);
}

/* ---- packets ----------------------------------------------------------------------------- */

/*
 * TCP and UDP were checked at connect()/sendmsg(); everything else (ICMP, raw) is checked here
 * per packet. Neighbour discovery stays allowed so an IPv6 link works at all.
 */
static __always_inline bool egress_allowed(struct __sk_buff *skb, struct sl_bpf_sandbox *s,
					   struct sl_bpf_addr *a, __u8 *proto)
{
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return true;
		*proto = ip.protocol;
		a->a[2] = bpf_htonl(0xffff);
		a->a[3] = ip.daddr;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		__u8 type = 0;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return true;
		*proto = ip6.nexthdr;
		__builtin_memcpy(a, &ip6.daddr, sizeof(*a));
		if (*proto == IPPROTO_ICMPV6 && !bpf_skb_load_bytes(skb, sizeof(ip6), &type, 1) &&
		    ((type >= 133 && type <= 137) || type == 143))
			return true;
	} else {
		return true;
	}
	if (*proto == SL_BPF_PROTO_TCP || *proto == SL_BPF_PROTO_UDP)
		return true;
	return allowed(s, a, 0, *proto);
}

SEC("cgroup_skb/egress")
int sl_skb_egress(struct __sk_buff *skb)
{
	__u64 cgid = bpf_skb_cgroup_id(skb);
	struct sl_bpf_counters *k = bpf_map_lookup_elem(&sl_counters, &cgid);
	struct sl_bpf_sandbox *s;
	struct sl_bpf_addr a = {};
	__u64 now;
	__u8 proto = 0;

	if (!k)
		return 1;
	s = bpf_map_lookup_elem(&sl_sandboxes, &cgid);
	if (!s)
		return 1;
	if (!egress_allowed(skb, s, &a, &proto)) {
		k->dropped_packets++;
		report_deny(s, &a, 0, proto);
		return 0;
	}
	now = bpf_ktime_get_ns();
	k->tx_bytes += skb->len;
	k->tx_packets++;
	k->last_net_ns = now;
	mark_busy(s, now);
	return 1;
}

SEC("cgroup_skb/ingress")
int sl_skb_ingress(struct __sk_buff *skb)
{
	__u64 cgid = bpf_skb_cgroup_id(skb), now;
	struct sl_bpf_counters *k = bpf_map_lookup_elem(&sl_counters, &cgid);
	struct sl_bpf_sandbox *s;

	if (!k)
		return 1;
	now = bpf_ktime_get_ns();
	k->rx_bytes += skb->len;
	k->rx_packets++;
	k->last_net_ns = now;
	s = bpf_map_lookup_elem(&sl_sandboxes, &cgid);
	if (s)
		mark_busy(s, now);
	return 1;
}
