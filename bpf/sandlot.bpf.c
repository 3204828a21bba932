// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * sandlot's kernel half: per-sandbox CPU and network accounting, busy/idle detection and the
 * network policy. Every map is keyed by the sandbox's v2 cgroup id and pinned by name; the
 * layout is include/sandlot/bpf_abi.h. agent/bpfload/bpf-loader.c loads this once per host.
 *
 * Costs (bench/bpf-overhead has the figures and how they were found). On our hosts (VMs, AMD
 * Zen 3 with the SRSO "safe RET" and retpoline mitigations) a call to a helper that the
 * verifier does not inline costs 20-40 ns with the cache lines it touches, about as much as
 * all the inlined work of a program, and under packet load nearly every line a program touches
 * is a cache miss. Hence:
 *  - sched_switch calls no helper for tasks outside sandboxes: one per-CPU array access, three
 *    pointer loads (next->cgroups->dfl_cgrp->kn->id) and one inlined array access (sl_cgslot).
 *    A sandbox task leaving a CPU costs one task storage lookup (its charged sum).
 *  - the cgroup_skb programs make one helper call (bpf_get_local_storage: this CPU's sl_net,
 *    slot and counters in one line); the sandbox itself (a shared line) only for the egress
 *    policy of non-TCP/UDP packets and once per tick per CPU for the busy check.
 *  - connect/sendmsg run once per connection, not per packet.
 * Cgroup programs run only on sandlot's own cgroups.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <sandlot/bpf_abi.h>

char LICENSE[] SEC("license") = "GPL";

#define CLOCK_MONOTONIC 1
#define TASK_RUNNING	0
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define SOCK_STREAM	1
#define SOCK_DGRAM	2
#define IPPROTO_ICMPV6	58

/* Number of possible CPUs (set by the loader), bounding the idle timer's scan. */
const volatile __u32 nr_cpus = 1;
/*
 * SL_BPF_ABLATE_* (bpf_abi.h): only in the benchmark's copy of this object (sandlot-ablate.bpf.c),
 * set by the loader before load; here a constant 0, so the production programs carry no trace.
 */
#ifdef SL_BPF_ABLATION
const volatile __u32 ablate SEC(".rodata.ablate") = 0;
#else
#define ablate 0U
#endif

extern unsigned int CONFIG_HZ __kconfig __weak;

/* kfuncs (6.2+): the idle timer checks whether a task it lost track of is still on a CPU */
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;

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
	__type(value, struct sl_bpf_index);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_index SEC(".maps");

/* sched_switch's first try: cgroup id -> slot, direct-mapped by the id's low bits. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_BPF_CGSLOT_BUCKETS);
	__type(key, __u32);
	__type(value, struct sl_bpf_cgslot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_cgslot SEC(".maps");

/* Optional (kernel >= 6.2): without it sched_switch falls back to sl_index. */
struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sl_bpf_index);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_cgrp SEC(".maps");

/* Per attached cgroup (shared by all attach types): the cgroup programs' slot, no lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, __u64);
	__type(value, struct sl_bpf_attach);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_attach SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sl_bpf_task);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_task SEC(".maps");

/* Per attached cgroup and CPU (both cgroup_skb programs): slot and packet counters. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, __u64);
	__type(value, struct sl_bpf_net);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_net SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_BPF_MAX_SANDBOXES);
	__type(key, __u32);
	__type(value, struct sl_bpf_sandbox);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_sandboxes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_BPF_MAX_SANDBOXES);
	__type(key, __u32);
	__type(value, struct sl_bpf_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_BPF_MAX_SANDBOXES);
	__type(key, __u32);
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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_bpf_host_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_stats SEC(".maps");

/* ---- busy / idle ------------------------------------------------------------------------ */

/* An event that found the ring buffer full: counted, as the only trace it leaves. */
static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	struct sl_bpf_host_stats *st = bpf_map_lookup_elem(&sl_stats, &zero);

	/* atomic: a cgroup_skb program in softirq may interrupt one on this CPU */
	if (st)
		__sync_fetch_and_add(&st->events_lost, 1);
}

static __always_inline void emit_state(struct sl_bpf_sandbox *s, __u32 type, __u64 now)
{
	struct sl_bpf_event *ev = bpf_ringbuf_reserve(&sl_events, sizeof(*ev), 0);

	if (!ev) {
		count_lost();
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->cgid = s->cgid;
	ev->ts_ns = now;
	ev->seq = __sync_fetch_and_add(&s->seq, 1) + 1;
	bpf_ringbuf_submit(ev, 0);
}

/* Activity seen while the sandbox was idle: it is busy now; the idle timer starts watching. */
static __always_inline void mark_busy(struct sl_bpf_sandbox *s)
{
	if (s->state == SL_BPF_BUSY)
		return;
	if (__sync_val_compare_and_swap(&s->state, SL_BPF_IDLE, SL_BPF_BUSY) != SL_BPF_IDLE)
		return;
	emit_state(s, SL_BPF_EV_BUSY, bpf_ktime_get_ns());
	bpf_timer_start(&s->timer, s->idle_ns, 0);
}

/* Whether task pid is executing on some CPU right now (false without the kfuncs). */
static __always_inline bool last_task_running(__u32 pid)
{
	struct task_struct *t;
	bool on;

	if (!pid || !bpf_task_from_pid)
		return false;
	t = bpf_task_from_pid((s32)pid);
	if (!t)
		return false;
	on = t->on_cpu;
	bpf_task_release(t);
	return on;
}

/*
 * Whether task pid of sandbox s is runnable: on a CPU or waiting for one (preempted, or held
 * back by its CPU quota), not asleep, frozen or gone. The cgroup check covers a reused pid.
 */
static __always_inline bool sandbox_task_runnable(struct sl_bpf_sandbox *s, __u32 pid)
{
	struct task_struct *t;
	bool on;

	if (!pid || !bpf_task_from_pid)
		return false;
	t = bpf_task_from_pid((s32)pid);
	if (!t)
		return false;
	on = t->__state == TASK_RUNNING && t->cgroups->dfl_cgrp->kn->id == s->cgid;
	bpf_task_release(t);
	return on;
}

/*
 * The idle timer: fires idle_ns after the sandbox became busy and then idle_ns after its last
 * activity. Busy while an invocation is in flight, one of its tasks is on a CPU, or the last
 * one switched out runnable still is (a task throttled by its quota waits up to a whole CFS
 * period, longer than idle_ns, without a switch we see); idle once nothing happened for more
 * than idle_jiffies. No polling: a busy sandbox costs one timer per idle_ns.
 */
static int idle_timer(void *map, __u32 *key, struct sl_bpf_sandbox *s)
{
	__u32 zero = 0, slot = s->slot, *inflight = bpf_map_lookup_elem(&sl_inflight, &slot);
	__u64 now = bpf_jiffies64(), last = 0;

	if (inflight && *inflight)
		goto rearm;
	if (sandbox_task_runnable(s, s->runnable_pid))
		goto rearm;
	for (__u32 i = 0; i < SL_BPF_MAX_CPUS && i < nr_cpus; i++) {
		struct sl_bpf_cpu *c = bpf_map_lookup_percpu_elem(&sl_cpu, &zero, i);
		struct sl_bpf_counters *k = bpf_map_lookup_percpu_elem(&sl_counters, &slot, i);

		if (c && c->slot1 == slot + 1)
			goto rearm; /* on a CPU right now */
		if (c && c->last_slot1 == slot + 1 && last_task_running(c->last_pid))
			goto rearm; /* back on a CPU without a switch-in we saw (see charge()) */
		if (k && k->last_cpu_jiffies > last)
			last = k->last_cpu_jiffies;
		if (k && k->last_net_jiffies > last)
			last = k->last_net_jiffies;
	}
	if (last > now)
		goto rearm;
	/* strictly more: an activity stamp is up to one tick older than the activity */
	if (now - last <= s->idle_jiffies) {
		bpf_timer_start(&s->timer, (s->idle_jiffies + 1 - (now - last)) * s->ns_per_jiffy,
				0);
		return 0;
	}
	if (__sync_val_compare_and_swap(&s->state, SL_BPF_BUSY, SL_BPF_IDLE) == SL_BPF_BUSY)
		emit_state(s, SL_BPF_EV_IDLE, bpf_ktime_get_ns());
	return 0;
rearm:
	bpf_timer_start(&s->timer, s->idle_ns, 0);
	return 0;
}

/* Run by the loader (BPF_PROG_TEST_RUN) right after it registers a sandbox. */
SEC("syscall")
int sl_sandbox_init(struct sl_bpf_init_args *args)
{
	__u32 slot = args->slot;
	struct sl_bpf_sandbox *s = bpf_map_lookup_elem(&sl_sandboxes, &slot);
	long r;

	if (!s || !s->cgid)
		return -2; /* -ENOENT */
	r = bpf_timer_init(&s->timer, &sl_sandboxes, CLOCK_MONOTONIC);
	if (r && r != -16) /* -EBUSY: initialised before */
		return r;
	return bpf_timer_set_callback(&s->timer, idle_timer);
}

/* Run by the loader to convert jiffies stamps: a (jiffies, CLOCK_MONOTONIC) pair and HZ. */
SEC("syscall")
int sl_clock(struct sl_bpf_clock_args *args)
{
	args->jiffies = bpf_jiffies64();
	args->ns = bpf_ktime_get_ns();
	args->hz = CONFIG_HZ;
	return 0;
}

/* ---- CPU accounting ---------------------------------------------------------------------- */

/*
 * Activity of sandbox slot on this CPU at jiffy now: makes sure it counts as busy. Reading the
 * sandbox (a shared line) once per tick per CPU and sandbox is enough: the idle timer decides
 * on ticks, and a sandbox stays busy for at least idle_jiffies after the activity it saw.
 */
static __always_inline void activity(__u64 *stamp, __u64 now, __u32 slot)
{
	struct sl_bpf_sandbox *s;

	if (*stamp == now)
		return;
	*stamp = now;
	s = bpf_map_lookup_elem(&sl_sandboxes, &slot);
	if (s && s->cgid)
		mark_busy(s);
}

/*
 * A task of sandbox slot1 - 1 runs (or ran until now) on this CPU, c: activity, stamped per
 * CPU for the last sandbox seen on it.
 */
static __always_inline void seen(struct sl_bpf_cpu *c, __u32 slot1, __u64 now)
{
	if (c->busy_slot1 != slot1) {
		c->busy_slot1 = slot1;
		c->busy_jiffies = 0;
	}
	activity(&c->busy_jiffies, now, slot1 - 1);
}

/*
 * prev of sandbox slot left its CPU still runnable (preempted, or throttled by the CPU quota):
 * the idle timer keeps the sandbox busy while it stays so. Only such switch-outs read the
 * sandbox (a shared line), and write it only when the task differs.
 */
static __always_inline void note_runnable(__u32 slot, __u32 pid)
{
	struct sl_bpf_sandbox *s = bpf_map_lookup_elem(&sl_sandboxes, &slot);

	if (s && s->runnable_pid != pid)
		s->runnable_pid = pid;
}

/*
 * Charges prev, a sandbox task, with the growth of its se.sum_exec_runtime since it was last
 * charged (the scheduler has just updated it; cpu.stat counts the same): its whole slice
 * whatever its state, and no clock read.
 *
 * On our hosts a sched_switch invocation is now and then not delivered (seen for switch-ins,
 * cause unknown; a slice measured per CPU from the switch-in lost up to 90% of a test's CPU
 * time). The per-task charged sum makes the next charge include a slice whose switch-in or
 * switch-out was lost; a switch-out of the task that last left this CPU is recognised
 * without a lookup. The task storage lookup is the one helper call left on this path.
 */
static __always_inline void charge(struct sl_bpf_cpu *c, __u32 slot1, struct task_struct *prev)
{
	__u32 slot = slot1 - 1;
	struct sl_bpf_counters *k = bpf_map_lookup_elem(&sl_counters, &slot);
	struct sl_bpf_task *t;
	__u64 sum = prev->se.sum_exec_runtime;

	c->slot1 = 0;
	c->last_slot1 = slot1;
	c->last_pid = prev->pid;
	if (prev->__state == TASK_RUNNING)
		note_runnable(slot, prev->pid);
	if (!k)
		return;
	k->switches++;
	if (ablate & SL_BPF_ABLATE_CHARGE)
		return;
	t = bpf_task_storage_get(&sl_task, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t)
		return; /* storage busy: caught up at the next switch */
	if (sum > t->charged)
		k->cpu_ns += sum - t->charged;
	t->charged = sum;
	k->last_cpu_jiffies = bpf_jiffies64();
	/* the task ran: busy, also when its switch-in was one of those lost */
	seen(c, slot1, k->last_cpu_jiffies);
}

/*
 * The sandbox of task p (slot + 1, 0 if none): the direct-mapped sl_cgslot by its v2 cgroup id
 * (CO-RE: task->cgroups->dfl_cgrp->kn->id), an array access the verifier inlines; only for a
 * bucket that two registered sandboxes share, the cgroup storage (or sl_index without it).
 */
static __always_inline __u32 task_slot1(struct task_struct *p, bool storage)
{
	struct cgroup *cg;
	struct sl_bpf_cgslot *e;
	struct sl_bpf_index *idx;
	__u32 bucket;
	__u64 id;

	if (ablate & SL_BPF_ABLATE_FIND)
		return 0;
	cg = p->cgroups->dfl_cgrp;
	id = cg->kn->id;
	bucket = (__u32)id & (SL_BPF_CGSLOT_BUCKETS - 1);
	e = bpf_map_lookup_elem(&sl_cgslot, &bucket);
	if (!e)
		return 0;
	if (e->cgid == id)
		return e->slot1;
	if (!e->shared)
		return 0;
	if (storage)
		idx = bpf_cgrp_storage_get(&sl_cgrp, cg, 0, 0);
	else
		idx = bpf_map_lookup_elem(&sl_index, &id);
	return idx ? idx->slot + 1 : 0;
}

/* Charges prev if it is a sandbox task, then notes whether next belongs to a sandbox. */
static __always_inline void sched_switch(struct task_struct *prev, struct task_struct *next,
					 bool storage)
{
	__u32 zero = 0, slot1;
	struct sl_bpf_cpu *c = bpf_map_lookup_elem(&sl_cpu, &zero);

	if (!c)
		return;
	if (c->slot1 && c->pid == prev->pid)
		charge(c, c->slot1, prev);
	else if (c->last_slot1 && c->last_pid == prev->pid)
		charge(c, c->last_slot1, prev); /* its switch-in did not reach us */
	else if (c->slot1)
		c->slot1 = 0;
	slot1 = task_slot1(next, storage);
	if (!slot1)
		return;
	c->slot1 = slot1;
	c->pid = next->pid;
	seen(c, slot1, bpf_jiffies64());
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sl_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (!(ablate & SL_BPF_ABLATE_ALL))
		sched_switch(prev, next, true);
	return 0;
}

/* The same for kernels without cgroup storage: shared buckets fall back to sl_index. */
SEC("tp_btf/sched_switch")
int BPF_PROG(sl_sched_switch_hash, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (!(ablate & SL_BPF_ABLATE_ALL))
		sched_switch(prev, next, false);
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

/* IPv4 224.0.0.0/3 (multicast, reserved, 255.255.255.255), daddr in network order. */
static __always_inline bool v4_not_unicast(__u32 daddr)
{
	return (daddr & bpf_htonl(0xe0000000)) == bpf_htonl(0xe0000000);
}

/* Not one unicast address: 224.0.0.0/3 (v4-mapped) or ff00::/8. */
static __always_inline bool not_unicast(const struct sl_bpf_addr *a)
{
	if (a->a[0] == 0 && a->a[1] == 0 && a->a[2] == bpf_htonl(0xffff))
		return v4_not_unicast(a->a[3]);
	return (a->a[0] & bpf_htonl(0xff000000)) == bpf_htonl(0xff000000);
}

/* Where a destination sits in sandbox s's egress pool (one /30 per sandbox). */
enum pool_place { POOL_OUTSIDE, POOL_HOST_END, POOL_OTHER };

static __always_inline enum pool_place pool_place(const struct sl_bpf_sandbox *s,
						  const struct sl_bpf_addr *a)
{
	__u32 low;

	if (!s->pool_mask || a->a[0] || a->a[1] || a->a[2] != bpf_htonl(0xffff) ||
	    (a->a[3] & s->pool_mask) != s->pool_net)
		return POOL_OUTSIDE;
	low = bpf_ntohl(a->a[3]) & SL_BPF_POOL_LEASE_MASK;
	return low == 1 ? POOL_HOST_END : POOL_OTHER;
}

/* The whole policy for one destination: true when sandbox s may reach it. */
static __always_inline bool allowed(const struct sl_bpf_sandbox *s, const struct sl_bpf_addr *a,
				    __u16 port, __u8 proto)
{
	struct sl_bpf_addr_owner *o;
	enum pool_place place;
	bool host = false;

	if (is_loopback(a))
		return true; /* the sandbox's own network namespace */
	if (is_metadata(a) || not_unicast(a) || port_denied(port))
		return false;
	o = bpf_map_lookup_elem(&sl_addrs, a);
	if (o && ((o->kind == SL_BPF_ADDR_SANDBOX && o->cgid != s->cgid) ||
		  o->kind == SL_BPF_ADDR_SUBNET))
		return false;
	place = pool_place(s, a);
	/* a /30's network or broadcast address, or another sandbox (own address: in sl_addrs) */
	if (place == POOL_OTHER && !(o && o->kind == SL_BPF_ADDR_SANDBOX))
		return false;
	host = place == POOL_HOST_END || (o && o->kind == SL_BPF_ADDR_HOST);
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
	if (!ev) {
		count_lost();
		return;
	}
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

/* The slot + 1 of the sandbox whose cgroup this program is attached to (0: not configured). */
static __always_inline __u32 attached_slot1(void)
{
	struct sl_bpf_attach *at = bpf_get_local_storage(&sl_attach, 0);

	return at->slot1;
}

/* The sandbox whose cgroup this program is attached to (and its slot), or NULL. */
static __always_inline struct sl_bpf_sandbox *attached_sandbox(__u32 *ret_slot)
{
	__u32 slot1 = attached_slot1(), slot = slot1 - 1;
	struct sl_bpf_sandbox *s;

	if (!slot1)
		return NULL; /* attached, not configured yet */
	s = bpf_map_lookup_elem(&sl_sandboxes, &slot);
	if (!s || !s->cgid)
		return NULL;
	*ret_slot = slot;
	return s;
}

static __always_inline int sock_addr_policy(struct bpf_sock_addr *ctx, bool v6)
{
	struct sl_bpf_counters *k;
	struct sl_bpf_sandbox *s;
	struct sl_bpf_addr a = {};
	__u32 slot = 0;
	__u16 port;
	__u8 proto;

	s = attached_sandbox(&slot);
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
	proto = ctx->type == SOCK_STREAM ? SL_BPF_PROTO_TCP : (__u8)ctx->protocol;
	if (allowed(s, &a, port, proto))
		return 1;
	k = bpf_map_lookup_elem(&sl_counters, &slot);
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

/* The IPv4 protocol byte, source and destination (direct read of the linear head, else a copy). */
static __always_inline int ip4_head(struct __sk_buff *skb, __u8 *proto, __u32 *saddr, __u32 *daddr)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data, copy;

	if ((void *)(ip + 1) > end) {
		if (bpf_skb_load_bytes(skb, 0, &copy, sizeof(copy)))
			return -1;
		ip = &copy;
	}
	*proto = ip->protocol;
	*saddr = ip->saddr;
	*daddr = ip->daddr;
	return 0;
}

/*
 * TCP and UDP to a unicast address were checked at connect()/sendmsg(); everything else (ICMP,
 * raw, and TCP/UDP to a broadcast or multicast address or to the network or broadcast address
 * of the sender's own pool /30, whatever its socket said) is checked here per packet: true with *a
 * and *proto filled in when the packet needs the policy. The extra tests for TCP/UDP use only
 * what the header read gave, in registers. Neighbour discovery stays allowed so an IPv6 link
 * works at all.
 */
static __always_inline bool egress_needs_policy(struct __sk_buff *skb, const struct sl_bpf_net *n,
						struct sl_bpf_addr *a, __u8 *proto)
{
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		__u32 saddr, low;

		if (ip4_head(skb, proto, &saddr, &a->a[3]))
			return false;
		a->a[2] = bpf_htonl(0xffff);
		if (*proto != SL_BPF_PROTO_TCP && *proto != SL_BPF_PROTO_UDP)
			return true;
		if (v4_not_unicast(a->a[3]))
			return true;
		if (!(n->flags & SL_BPF_NET_LEASE))
			return false;
		/* the sender's /30 (its lease; not from loopback): its network or broadcast */
		low = bpf_ntohl(a->a[3]) & SL_BPF_POOL_LEASE_MASK;
		return (bpf_ntohl(a->a[3] ^ saddr) & ~SL_BPF_POOL_LEASE_MASK) == 0 &&
		       (low == 0 || low == SL_BPF_POOL_LEASE_MASK) &&
		       (saddr & bpf_htonl(0xff000000)) != bpf_htonl(0x7f000000);
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		__u8 type = 0;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return false;
		*proto = ip6.nexthdr;
		__builtin_memcpy(a, &ip6.daddr, sizeof(*a));
		if (*proto == SL_BPF_PROTO_TCP || *proto == SL_BPF_PROTO_UDP)
			return not_unicast(a);
		return !(*proto == IPPROTO_ICMPV6 &&
			 !bpf_skb_load_bytes(skb, sizeof(ip6), &type, 1) &&
			 ((type >= 133 && type <= 137) || type == 143));
	}
	return false;
}

/* A packet the policy refuses: counted, reported, dropped (0); else 1. */
static __always_inline int egress_verdict(__u32 slot, struct sl_bpf_addr *a, __u8 proto)
{
	struct sl_bpf_sandbox *s = bpf_map_lookup_elem(&sl_sandboxes, &slot);
	struct sl_bpf_counters *k;

	if (!s || !s->cgid || allowed(s, a, 0, proto))
		return 1;
	k = bpf_map_lookup_elem(&sl_counters, &slot);
	if (k)
		k->dropped_packets++;
	report_deny(s, a, 0, proto);
	return 0;
}

/*
 * A packet of sandbox slot on this CPU: once per tick the stamp goes to sl_counters (where the
 * idle timer reads it) and the sandbox is made busy.
 */
static __always_inline void net_activity(struct sl_bpf_net *n, __u32 slot)
{
	__u64 now = bpf_jiffies64();
	struct sl_bpf_counters *k;

	if (n->last_jiffies == now)
		return;
	k = bpf_map_lookup_elem(&sl_counters, &slot);
	if (k)
		k->last_net_jiffies = now;
	activity(&n->last_jiffies, now, slot);
}

/*
 * The common path of both directions: one helper call (this CPU's sl_net of the attached
 * cgroup: the slot and the counters in one line), nothing else per packet; the sandbox only for
 * the egress policy of packets other than TCP/UDP, and once per tick.
 */
SEC("cgroup_skb/egress")
int sl_skb_egress(struct __sk_buff *skb)
{
	struct sl_bpf_net *n;
	struct sl_bpf_addr a = {};
	__u8 proto = 0;

	if (ablate & SL_BPF_ABLATE_ALL)
		return 1;
	n = bpf_get_local_storage(&sl_net, 0);
	if (!n->slot1 || (ablate & SL_BPF_ABLATE_SLOT))
		return 1; /* attached, not configured yet */
	if (!(ablate & SL_BPF_ABLATE_POLICY) && egress_needs_policy(skb, n, &a, &proto) &&
	    !egress_verdict(n->slot1 - 1, &a, proto))
		return 0;
	n->tx_bytes += skb->len;
	n->tx_packets++;
	if (!(ablate & SL_BPF_ABLATE_ACTIVITY))
		net_activity(n, n->slot1 - 1);
	return 1;
}

SEC("cgroup_skb/ingress")
int sl_skb_ingress(struct __sk_buff *skb)
{
	struct sl_bpf_net *n;

	if (ablate & SL_BPF_ABLATE_ALL)
		return 1;
	n = bpf_get_local_storage(&sl_net, 0);
	if (!n->slot1 || (ablate & SL_BPF_ABLATE_SLOT))
		return 1;
	n->rx_bytes += skb->len;
	n->rx_packets++;
	if (!(ablate & SL_BPF_ABLATE_ACTIVITY))
		net_activity(n, n->slot1 - 1);
	return 1;
}
