/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The BPF loader: loads bpf/sandlot.bpf.c once per host, pins its maps and links under a pin
 * root, and is the only way the agent talks to those programs. The only file that includes the
 * skeleton (besides the probe).
 *
 * Lifetime. Pinned state outlives the agent: counters keep counting while it restarts, and the
 * next sl_bpf_open() re-adopts the pinned maps and links. sl_bpf_free() closes fds only;
 * sl_bpf_destroy_pins() removes everything (programs detach, counters are gone).
 *
 * Three ways to open:
 *   sl_bpf_open()          the agent: load (or re-adopt) and pin maps, programs (<pin root>/prog/)
 *                          and links under the pin root;
 *   sl_bpf_open() with .ephemeral: load, pin nothing; maps, programs and links live exactly as
 *                          long as this process's fds (a one-shot `run` without an agent: a
 *                          SIGKILL leaves nothing behind);
 *   sl_bpf_open_pinned()   a one-shot `run` next to an agent: use the agent's pinned maps and
 *                          programs without loading anything (no verifier, no BTF parsing).
 * Processes sharing a pin root serialise registrations with a flock on the pin root directory.
 *
 * Sandbox life cycle, as the sandbox runtime drives it ("parent hook"): create the v2 cgroup
 * below opts.cgroup_parent -> sl_bpf_sandbox_add() (registers the cgroup id, its policy and
 * addresses, attaches the cgroup programs) -> clone3(CLONE_INTO_CGROUP) -> the child opens
 * sockets only after this -> ... -> sl_bpf_sandbox_remove() -> rmdir the cgroup.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include <sandlot/bpf_abi.h>

#include "bpfload/netpolicy.h"

#define SL_BPF_PIN_ROOT "/sys/fs/bpf/sandlot"

struct sl_bpf;

/* Called for each ring buffer record from sl_bpf_events_consume(); return < 0 to stop. */
typedef int (*sl_bpf_event_fn)(const struct sl_bpf_event *ev, void *userdata);

struct sl_bpf_opts {
	const char *pin_root;	     /* NULL: SL_BPF_PIN_ROOT */
	const char *cgroup_parent;   /* required: programs attach only strictly below this v2 dir */
	bool reset_on_schema_change; /* drop pinned state of another ABI version (else -EPROTO) */
	bool mount_bpffs;	     /* mount bpffs at /sys/fs/bpf when missing */
	bool no_cgroup_storage;	     /* find sandboxes in sched_switch by hash even if the kernel
					has cgroup storage (for comparisons) */
	const uint16_t *deny_ports; /* ports no sandbox may connect to; NULL: 7400 7401 7480 7481 */
	size_t n_deny_ports;	    /* at most SL_BPF_MAX_DENY_PORTS */
	const char *btf_path;	    /* NULL: /sys/kernel/btf/vmlinux (tests point it elsewhere) */
	sl_bpf_event_fn on_event;   /* may be NULL: events are then drained and dropped */
	void *userdata;
	bool ephemeral; /* pin nothing (pin_root and mount_bpffs are ignored): see above */
	/* Benchmarks only: load this object file (bpf/sandlot-ablate.bpf.c: the same maps and
	   programs) instead of the built-in one, with its SL_BPF_ABLATE_* switches set to ablate.
	 */
	const char *obj_path;
	uint32_t ablate;
};

/* What the loader found and did (filled by sl_bpf_open). */
struct sl_bpf_info {
	bool adopted;	     /* pinned maps of a previous run were re-used */
	bool reset;	     /* pinned state of another schema was dropped */
	bool cgroup_storage; /* sched_switch finds sandboxes via cgroup storage (else a hash) */
	bool connect6;	 /* optional programs that loaded (a missing one is logged by the caller) */
	bool sendmsg;	 /* sendmsg4/6 */
	unsigned pruned; /* stale sandboxes removed at open */
	unsigned nr_cpus;   /* possible CPUs */
	unsigned hz;	    /* kernel tick rate (activity stamps are jiffies) */
	uint32_t found_abi; /* ABI version found pinned (0: none) */
};

/*
 * Loads (or re-adopts) the programs and maps. Returns 0, or
 *   -ENOPKG  the kernel has no BTF (/sys/kernel/btf/vmlinux),
 *   -EPROTO  the pinned state has another SL_BPF_ABI_VERSION (see ret_info->found_abi) and
 *            opts->reset_on_schema_change is false,
 *   -EINVAL  bad options, or another -errno from the kernel.
 * ret_info may be NULL.
 */
int sl_bpf_open(const struct sl_bpf_opts *opts, struct sl_bpf **ret, struct sl_bpf_info *ret_info);

/*
 * Uses the maps and programs pinned under opts->pin_root (by an agent's sl_bpf_open()) without
 * loading anything: for registering sandboxes and reading their counters only (no events, no
 * statistics, the pinned configuration and the sched_switch link are left as they are). Only
 * pin_root and cgroup_parent of opts are used. Returns 0, -ENOENT when nothing or no programs
 * are pinned there, -EPROTO when the pinned state has another SL_BPF_ABI_VERSION, or -errno.
 */
int sl_bpf_open_pinned(const struct sl_bpf_opts *opts, struct sl_bpf **ret);

/* A one-line explanation of an sl_bpf_open() error, for the operator (static string). */
const char *sl_bpf_open_strerror(int r);

/* Closes every fd; pinned maps, programs and links stay. NULL-safe, sets *b to NULL. */
void sl_bpf_free(struct sl_bpf **b);

/* Removes every pinned object under pin_root and the directory. Missing is fine. 0 or -errno. */
int sl_bpf_destroy_pins(const char *pin_root);

/* The ABI version pinned under pin_root: 0 with *ret = 0 when nothing is pinned, or -errno. */
int sl_bpf_pinned_abi(const char *pin_root, uint32_t *ret);

/* Mounts bpffs at path unless it is mounted there already. Returns 1 if it mounted, 0, -errno. */
int sl_bpffs_ensure(const char *path, bool mount_it);

struct sl_bpf_sandbox_spec {
	const char *cgroup_path; /* the sandbox's v2 cgroup, strictly below opts.cgroup_parent */
	uint64_t idle_ns;	 /* idle threshold; 0: SL_BPF_DEFAULT_IDLE_NS */
	const struct sl_netpolicy *policy; /* NULL: no allow-list (only the fixed denials apply) */
	const struct sl_bpf_addr *addrs;   /* the sandbox's own addresses (others may not reach) */
	size_t n_addrs;
	/* Host addresses that come and go with this sandbox (its egress gateway; the addresses
	   its caller's namespace had at the start): denied unless a rule allows them, and removed
	   with its registration, also by sl_bpf_prune() after a crash. One that is a host
	   address already stays as it is. */
	const struct sl_bpf_addr *host_addrs;
	size_t n_host_addrs;
	/* The egress pool its address comes from (IPv4, network order; mask 0: none): see
	   SL_BPF_POOL_LEASE_MASK for what the pool's other addresses are to it. */
	uint32_t pool_net, pool_mask;
	uint64_t cgid; /* the cgroup's id if the caller has it at hand (sl_cgroup_id), else 0:
			  lets sl_bpf_sandbox_add() claim a prepared cgroup without a path walk */
};

/*
 * Registers a sandbox and attaches the cgroup programs to its cgroup (links pinned per cgroup
 * id). Counters of a cgroup id registered before are kept. Returns 0 and the v2 cgroup id, or
 * -EPERM when the cgroup is not below cgroup_parent, -ENOSPC when the maps are full, -errno.
 */
int sl_bpf_sandbox_add(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec,
		       uint64_t *ret_cgid);

/* Detaches and forgets a sandbox (counters included). -ENOENT when it is not registered. */
int sl_bpf_sandbox_remove(struct sl_bpf *b, uint64_t cgid);

/*
 * Registers a cgroup ahead of the sandbox that will run in it (a pooled shell), off the cold
 * path: as sl_bpf_sandbox_add() with spec (which may set no policy and no addresses), and
 * remembered as prepared. The sandbox's own sl_bpf_sandbox_add() on that cgroup then claims
 * it and writes only what its spec sets beyond the prepared one (policy, addresses, another
 * idle threshold), before the sandbox runs anything; with the same spec it costs no syscall
 * but the cgroup id's lookup. A claimed cgroup is removed with sl_bpf_sandbox_remove(); one
 * never claimed with sl_bpf_sandbox_discard() (or by sl_bpf_prune() once its cgroup is gone,
 * e.g. after a crash). Returns 0 and the cgroup id, or as sl_bpf_sandbox_add(); -EINVAL when
 * spec has a policy or addresses.
 *
 * Thread-safety: sl_bpf_sandbox_prepare/_discard/_add/_remove and sl_bpf_prune may be called
 * from any thread (they serialise on the loader's lock); everything else from the thread that
 * opened b. sl_bpf_free() only after the last of them returned.
 */
int sl_bpf_sandbox_prepare(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec,
			   uint64_t *ret_cgid);

/*
 * Removes a prepared cgroup's registration (links, pins, map entries) if it was not claimed.
 * Returns 0, or -ENOENT when cgid is not prepared (claimed, removed, or never prepared: then
 * nothing is done).
 */
int sl_bpf_sandbox_discard(struct sl_bpf *b, uint64_t cgid);

/* A sandbox's accounting, summed over CPUs. */
struct sl_bpf_stats {
	uint64_t cpu_ns;      /* on-CPU time of its tasks */
	uint64_t switches;    /* context switches away from its tasks */
	uint64_t last_cpu_ns; /* CLOCK_MONOTONIC when one of its tasks last left a CPU (0: never;
				 tick resolution) */
	uint64_t last_net_ns; /* CLOCK_MONOTONIC of its last packet (0: never; tick resolution) */
	uint64_t rx_bytes, rx_packets; /* IP-layer bytes (headers included) and skbs */
	uint64_t tx_bytes, tx_packets;
	uint64_t dropped_packets; /* egress packets dropped by policy */
	uint64_t denied_connects; /* connect()/sendmsg() refused with EPERM */
};

/* A sandbox's accounting. -ENOENT when it is not registered. */
int sl_bpf_sandbox_counters(struct sl_bpf *b, uint64_t cgid, struct sl_bpf_stats *ret);

/* SL_BPF_BUSY or SL_BPF_IDLE as the kernel sees it, or -ENOENT. */
int sl_bpf_sandbox_state(struct sl_bpf *b, uint64_t cgid);

/* Number of invocations in flight (the agent's knowledge): > 0 keeps the sandbox busy. */
int sl_bpf_sandbox_set_inflight(struct sl_bpf *b, uint64_t cgid, uint32_t n);

/*
 * The same by the sandbox's slot, which stays its own while it is registered: one map call
 * each instead of two (the cgroup id's lookup). For the warm path, which calls them on every
 * invocation. sl_bpf_sandbox_slot() returns 0 and the slot, or -ENOENT.
 */
int sl_bpf_sandbox_slot(struct sl_bpf *b, uint64_t cgid, uint32_t *ret_slot);
int sl_bpf_slot_state(struct sl_bpf *b, uint32_t slot);
int sl_bpf_slot_set_inflight(struct sl_bpf *b, uint32_t slot, uint32_t n);

/* Marks an address as the host's own: denied to sandboxes unless a rule allows it. It takes
 * over an entry that went with a registration (the host's claim outlives the sandbox's). */
int sl_bpf_host_addr_add(struct sl_bpf *b, const struct sl_bpf_addr *a);

/*
 * Marks the network and broadcast addresses of the host's IPv4 subnet addr/prefix (and brd, its
 * configured broadcast address, when not NULL) as always denied. Nothing for a prefix over 30.
 * 0 or -errno.
 */
int sl_bpf_host_subnet_add(struct sl_bpf *b, const struct in_addr *addr, unsigned prefix,
			   const struct in_addr *brd);

/* Forgets a host address (or subnet end) added before. -ENOENT when unknown or not the
 * host's own (a sandbox's, or a gateway that goes with a registration). */
int sl_bpf_host_addr_remove(struct sl_bpf *b, const struct sl_bpf_addr *a);

/*
 * Marks every address of the caller's network namespace (getifaddrs; 127.0.0.0/8 and ::1
 * excluded, which are the sandbox's own) as the host's own, and its IPv4 subnets' network and
 * broadcast addresses as always denied (sl_bpf_host_subnet_add). Returns the number added or
 * -errno. A private load runs it at start-up; an agent keeps the map in step with hostaddrs.h.
 */
int sl_bpf_host_addrs_sync(struct sl_bpf *b);

/*
 * The same, and forgets the host addresses (those not tied to a sandbox's registration) that
 * the namespace no longer has: for a resync after missed address events. Returns the number
 * of addresses the host has, or -errno.
 */
int sl_bpf_host_addrs_reconcile(struct sl_bpf *b);

/*
 * The addresses of the calling thread's network namespace (getifaddrs), loopback excluded, into
 * ret (at most max). Returns the count or -errno.
 */
int sl_bpf_host_addrs_list(struct sl_bpf_addr *ret, size_t max);

/* True for an address that is never a host address to the policy (the sandbox's loopback). */
bool sl_bpf_addr_is_loopback(const struct sl_bpf_addr *a);

/*
 * Removes registrations whose cgroup no longer exists (and their links and addresses). Returns
 * the number removed or -errno. sl_bpf_open() runs it once.
 */
int sl_bpf_prune(struct sl_bpf *b);

/* The ring buffer's epoll fd: readable when events are waiting. Owned by b. -EOPNOTSUPP after
 * sl_bpf_open_pinned() (also for the two functions below). */
int sl_bpf_events_fd(struct sl_bpf *b);

/* Delivers every waiting event to opts.on_event. Returns the number delivered or -errno. */
int sl_bpf_events_consume(struct sl_bpf *b);

/* Waits up to timeout_ms for events and delivers them. Returns the number or -errno. */
int sl_bpf_events_poll(struct sl_bpf *b, int timeout_ms);

/*
 * Busy/idle records the programs could not write because the ring buffer was full, summed over
 * CPUs, since the pinned state was created (it survives agent restarts): 0 and *ret, or -errno.
 * Works after sl_bpf_open_pinned() too.
 */
int sl_bpf_events_lost(struct sl_bpf *b, uint64_t *ret);

/* Program fds by name ("sl_sched_switch", "sl_skb_egress", ...) for statistics; -ENOENT. */
int sl_bpf_prog_fd(struct sl_bpf *b, const char *name);
