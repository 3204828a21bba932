/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#pragma once
/*
 * The data layout shared by sandlot's BPF programs (bpf/sandlot.bpf.c) and user space
 * (agent/bpfload/bpf-loader.c, sandlotctl). Only fixed-width fields, explicit padding, no pointers.
 *
 * Any change to a struct below, to a map's type, key or value, or to the meaning of a field
 * must bump SL_BPF_ABI_VERSION: the loader compares it with the version stored in the pinned
 * meta map and refuses to mix an old pinned state with new programs.
 *
 * Maps (all pinned by name under the pin root, default /sys/fs/bpf/sandlot/). A sandbox gets a
 * slot (0..SL_BPF_MAX_SANDBOXES-1) at registration; per-sandbox data sits in arrays indexed by
 * slot, so that once the slot is known every access is an inlined array access:
 *   sl_meta      array[1]            -> struct sl_bpf_meta      schema version, written once
 *   sl_config    array[1]            -> struct sl_bpf_config    host-wide policy settings
 *   sl_index     hash cgid           -> struct sl_bpf_index     cgroup id -> slot
 *   sl_cgslot    array[cgid & (SL_BPF_CGSLOT_BUCKETS-1)] -> struct sl_bpf_cgslot
 *                                                               the same, direct-mapped
 *                                                               (sched_switch: no helper call)
 *   sl_cgrp      cgroup storage      -> struct sl_bpf_index     the same, hung on the cgroup
 *                                                               (sched_switch, shared buckets)
 *   sl_attach    cgroup attach storage -> struct sl_bpf_attach  the same for connect/sendmsg
 *                                                               (bpf_get_local_storage, no lookup)
 *   sl_net       per-CPU cgroup attach storage -> struct sl_bpf_net  slot + packet counters of
 *                                                               the cgroup_skb programs (one
 *                                                               helper call, one line)
 *   sl_sandboxes array[slot]         -> struct sl_bpf_sandbox   policy + idle state (cgid 0: free)
 *   sl_counters  percpu array[slot]  -> struct sl_bpf_counters  CPU accounting, denials
 *   sl_inflight  array[slot]         -> __u32                   invocations in flight (agent)
 *   sl_addrs     hash addr           -> struct sl_bpf_addr_owner addresses of sandboxes and host
 *   sl_cpu       percpu array[1]     -> struct sl_bpf_cpu       what runs on each CPU right now
 *   sl_task      task storage        -> struct sl_bpf_task      run time charged per task
 *   sl_events    ringbuf                                        struct sl_bpf_event
 *   sl_stats     percpu array[1]     -> struct sl_bpf_host_stats the programs' own counters
 *
 * Times: events carry CLOCK_MONOTONIC ns; activity stamps in the hot paths are jiffies
 * (bpf_ktime_get_ns costs ~80 ns on our hosts, more than the whole budget), converted by the
 * loader.
 */
#ifdef __bpf__
/* BPF side: types come from vmlinux.h, included before this header. */
#else
#include <linux/bpf.h>
#include <linux/types.h>
#endif

#define SL_BPF_ABI_VERSION 5

#define SL_BPF_MAX_SANDBOXES   4096  /* registered sandboxes per host */
#define SL_BPF_MAX_RULES       16    /* allow-list rules per sandbox */
#define SL_BPF_MAX_ADDRS       8192  /* sandbox + host addresses known to the policy */
#define SL_BPF_MAX_DENY_PORTS  8     /* agent/control ports denied to every sandbox */
#define SL_BPF_MAX_CPUS	       256   /* CPUs scanned by the idle timer */
#define SL_BPF_CGSLOT_BUCKETS  16384 /* sl_cgslot entries (a power of two) */
#define SL_BPF_RINGBUF_BYTES   (256 * 1024)
#define SL_BPF_DEFAULT_IDLE_NS (50ULL * 1000 * 1000)
#define SL_BPF_DENY_EVENT_NS   (100ULL * 1000 * 1000) /* at most one deny event per 100 ms */

/*
 * Benchmarks only (sl_bpf_opts.obj_path + ablate, bench/bpf-overhead): leave parts of the
 * programs out to see what each part costs. Only the benchmark's copy of the object
 * (bpf/sandlot-ablate.bpf.c) has the switches; in the production object they are a constant 0.
 */
#define SL_BPF_ABLATE_ALL      (1U << 0) /* every program returns at once (checks the floor) */
#define SL_BPF_ABLATE_FIND     (1U << 1) /* sched_switch: does not look for next's sandbox */
#define SL_BPF_ABLATE_CHARGE   (1U << 2) /* sched_switch: counts switches, charges no time */
#define SL_BPF_ABLATE_SLOT     (1U << 3) /* skb: stops once it has its slot */
#define SL_BPF_ABLATE_ACTIVITY (1U << 4) /* skb: no activity stamp, no busy check */
#define SL_BPF_ABLATE_POLICY   (1U << 5) /* skb egress: no policy check */

/* Protocols in rules and events (IPPROTO_* values; 0 = any). */
#define SL_BPF_PROTO_ANY 0
#define SL_BPF_PROTO_TCP 6
#define SL_BPF_PROTO_UDP 17

/* struct sl_bpf_sandbox.flags */
#define SL_BPF_SBX_POLICY (1U << 0) /* has an allow-list: everything not allowed is denied */

/* struct sl_bpf_net.flags */
#define SL_BPF_NET_LEASE (1U << 0) /* its address (besides loopback) is a /30 of an egress pool */

/* struct sl_bpf_sandbox.state */
#define SL_BPF_IDLE 0
#define SL_BPF_BUSY 1

/* struct sl_bpf_addr_owner.kind */
#define SL_BPF_ADDR_SANDBOX 1 /* owned by sandbox `cgid`: denied to every other sandbox */
#define SL_BPF_ADDR_HOST    2 /* the host's own address: denied unless a rule allows it */
#define SL_BPF_ADDR_SUBNET  3 /* network or broadcast address of a host subnet: always denied */

/*
 * Denied to every sandbox whatever its rules: destinations that are not one unicast address
 * (IPv4 224.0.0.0/3: multicast, reserved and the limited broadcast; IPv6 ff00::/8) and, inside
 * a sandbox's egress pool (struct sl_bpf_sandbox.pool_*), every /30's network and broadcast
 * address and the sandbox end of every other /30. The host end (.1) of any /30 of the pool
 * counts as a host address (SL_BPF_ADDR_HOST) whether or not sl_addrs knows it.
 */
#define SL_BPF_POOL_LEASE_MASK 3U /* host bits of one pool lease (a /30) */

/*
 * Addresses are always 16 bytes in network order: IPv6 as is, IPv4 as v4-mapped
 * ::ffff:a.b.c.d, so one code path and one rule format covers both families.
 */
struct sl_bpf_addr {
	__u32 a[4];
};

/* One allow-list rule: (dst & mask) == net, port in [port_lo, port_hi], proto (0 = any). */
struct sl_bpf_rule {
	__u32 net[4];  /* network, already masked, network order */
	__u32 mask[4]; /* prefix mask, network order (v4 rules: prefix + 96) */
	__u16 port_lo; /* host order; 0..65535 = any port when port_lo == 0 && port_hi == 0 */
	__u16 port_hi;
	__u8 proto; /* SL_BPF_PROTO_* */
	__u8 pad[3];
};

struct sl_bpf_meta {
	__u32 abi_version; /* SL_BPF_ABI_VERSION of whoever created the pinned maps */
	__u32 pad;
	__u64 created_ns; /* CLOCK_MONOTONIC when the pinned state was created */
};

struct sl_bpf_config {
	__u16 deny_ports[SL_BPF_MAX_DENY_PORTS]; /* host order; 0 = unused slot */
};

struct sl_bpf_index {
	__u32 slot; /* index into the per-sandbox arrays */
	__u32 pad;
};

/*
 * One bucket of sl_cgslot: the registered sandbox whose cgroup id has these low bits. When two
 * registered sandboxes share a bucket, one holds it and `shared` sends sched_switch to the
 * cgroup storage / sl_index for any other id.
 */
struct sl_bpf_cgslot {
	__u64 cgid;  /* 0: empty */
	__u32 slot1; /* slot + 1 */
	__u32 shared;
};

/* Storage of a cgroup the sandbox programs are attached to (written after attaching). */
struct sl_bpf_attach {
	__u32 slot1; /* slot + 1; 0: not configured yet (the programs let everything pass) */
	__u32 pad;
};

/*
 * A registered sandbox. User space writes it once at registration (state fields zero); after
 * that only BPF changes the state fields. Re-writing it resets the idle state and its timer.
 */
struct sl_bpf_sandbox {
	struct bpf_timer timer; /* idle timer, owned by the kernel (opaque) */
	__u64 cgid;		/* v2 cgroup id (0: the slot is free) */
	__u64 idle_ns;		/* idle threshold */
	__u64 idle_jiffies;	/* the same in jiffies, rounded up (set by the loader) */
	__u64 ns_per_jiffy;	/* set by the loader */
	__u32 slot;		/* its own slot (the timer callback needs it) */
	/* its task last switched out still runnable (BPF only; padding, always 0, in ABI 3) */
	__u32 runnable_pid;
	__u64 seq; /* transition sequence number, increases with every event */
	__u64 last_deny_event_ns;
	__u32 state; /* SL_BPF_IDLE / SL_BPF_BUSY */
	__u32 flags; /* SL_BPF_SBX_* */
	__u32 denied_unreported;
	__u32 n_rules;
	__u32 pool_net;	 /* egress pool its address comes from (IPv4, network order) ... */
	__u32 pool_mask; /* ... and its mask; 0: none (see SL_BPF_POOL_LEASE_MASK) */
	struct sl_bpf_rule rules[SL_BPF_MAX_RULES];
};

/* Per-CPU accounting of one sandbox; user space sums (max for last_*) over CPUs. */
struct sl_bpf_counters {
	__u64 cpu_ns;		/* on-CPU time (tasks' se.sum_exec_runtime, as cpu.stat counts) */
	__u64 switches;		/* times a task of the sandbox was switched out */
	__u64 last_cpu_jiffies; /* when it last left this CPU */
	__u64 last_net_jiffies; /* its last packet on this CPU (to the tick; from sl_net) */
	__u64 dropped_packets;	/* egress packets dropped by policy */
	__u64 denied_connects;	/* connect()/sendmsg() refused with EPERM */
};

/*
 * Per CPU of an attached sandbox cgroup (sl_net, shared by both cgroup_skb programs; lives as
 * long as they are attached). User space sums over CPUs.
 */
struct sl_bpf_net {
	__u32 slot1;	    /* slot + 1, the same on every CPU; 0: not configured yet (all pass) */
	__u32 flags;	    /* SL_BPF_NET_*, the same on every CPU */
	__u64 last_jiffies; /* last packet on this CPU */
	__u64 rx_bytes;	    /* IP-layer bytes (headers included) */
	__u64 rx_packets;   /* skbs (a GSO skb counts once) */
	__u64 tx_bytes;
	__u64 tx_packets;
};

struct sl_bpf_addr_owner {
	__u64 cgid; /* the registration it goes with (SL_BPF_ADDR_SANDBOX: the owning sandbox;
		       SL_BPF_ADDR_HOST: a sandbox's egress gateway), 0: the host's own */
	__u32 kind; /* SL_BPF_ADDR_* */
	__u32 pad;
};

/* What the task running on one CPU belongs to. */
struct sl_bpf_cpu {
	__u32 slot1;	  /* slot + 1 of its sandbox; 0: not a registered sandbox */
	__u32 pid;	  /* the task switched in (charged only if it is the one switched out) */
	__u32 last_slot1; /* the sandbox task that last left this CPU ... */
	__u32 last_pid;	  /* ... (recognised if it comes back unseen) */
	__u32 busy_slot1; /* the sandbox this CPU last saw busy, ... */
	__u32 pad;
	__u64 busy_jiffies; /* ... and when */
};

/* Per CPU (sl_stats): what the programs count about themselves. User space sums over CPUs. */
struct sl_bpf_host_stats {
	__u64 events_lost; /* busy/idle and deny records not written: ring buffer full */
};

/* Per sandbox task (task storage sl_task): how much of its run time was charged already. */
struct sl_bpf_task {
	__u64 charged; /* se.sum_exec_runtime at its last charge */
};

enum sl_bpf_event_type {
	SL_BPF_EV_BUSY = 1,
	SL_BPF_EV_IDLE = 2,
	SL_BPF_EV_DENY = 3,
};

/* Context of the sl_sandbox_init syscall program (run by the loader after registering). */
struct sl_bpf_init_args {
	__u32 slot;
	__u32 pad;
};

/* Context of the sl_clock syscall program: a (jiffies, CLOCK_MONOTONIC) pair and HZ. */
struct sl_bpf_clock_args {
	__u64 jiffies;
	__u64 ns;
	__u32 hz; /* CONFIG_HZ, 0 when the kernel config is not readable */
	__u32 pad;
};

/* One ring buffer record. */
struct sl_bpf_event {
	__u32 type; /* enum sl_bpf_event_type */
	__u32 pad;
	__u64 cgid;
	__u64 ts_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 seq;   /* BUSY/IDLE: the sandbox's transition number (orders events per sandbox) */
	/* SL_BPF_EV_DENY only: */
	struct sl_bpf_addr addr; /* refused destination */
	__u16 port;		 /* host order */
	__u8 proto;
	__u8 pad2;
	__u32 suppressed; /* denials not reported since the previous deny event */
};
