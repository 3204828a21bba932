/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What `sandlot-agent run` adds to its sandbox beyond sandbox.h, and only when asked for it:
 * BPF accounting (--json), the egress veth (--net egress) and the BPF network policy (--allow).
 * A plain `run -- CMD` never creates one of these and so never touches BPF.
 *
 * BPF. When an agent's pinned state is present under the pin root with our ABI version, the
 * sandbox is registered in the agent's maps and attached to the agent's pinned programs
 * (sl_bpf_open_pinned: nothing is loaded, ~1 ms); otherwise the programs are loaded privately
 * (sl_bpf_open with .ephemeral: ~0.1 s of BTF parsing and verification, nothing pinned, every
 * program and link goes away with this process's fds, the sched_switch link included; with
 * --net egress a thread keeps the host's addresses in the private maps, hostaddrs.h).
 *
 * Egress. The host end "slh<n>" of a veth pair in the caller's network namespace, the peer
 * ("eth0") in the sandbox's, and /30 number n of the pool (netpool.h). Concurrent runs pick n
 * safely: the kernel refuses a second "slh<n>" (EEXIST) and the run tries n+1. Nothing global is
 * changed (no ip_forward, no NAT): the sandbox reaches its gateway's host, and beyond it only
 * what the operator routes (see README). The veth dies with the sandbox's network namespace, so
 * a SIGKILLed run leaves none behind for long (the kernel frees the namespace asynchronously;
 * the next run skips a name still in use). The sandbox may send ICMP echo through unprivileged
 * ping sockets (ping_group_range of its own namespace), subject to the policy.
 *
 * Order (as sl_sandbox_config.hook, before the child is released and can open a socket): veth
 * and address -> BPF registration with the policy and the sandbox's address -> ping sockets.
 * sl_runnet_finish() after the sandbox is gone: counters, unregistration, veth removed.
 */
#include <stdbool.h>
#include <stdint.h>

#include "bpfload/bpf-loader.h"
#include "bpfload/netpolicy.h"
#include "sandbox/sandbox.h"

struct sl_runnet;

struct sl_runnet_opts {
	bool accounting;		   /* --json: BPF counters (falls back without them) */
	bool egress;			   /* --net egress (requires BPF) */
	const struct sl_netpolicy *policy; /* --allow rules (requires egress); NULL: none */
	bool no_bpf;			   /* never use BPF (SANDLOT_BPF=off) */
	const char *pin_root;		   /* an agent's pins; NULL: SL_BPF_PIN_ROOT */
	const char *pool;		   /* egress pool; NULL: SL_NETPOOL_DEFAULT */
};

enum sl_runnet_bpf {
	SL_RUNNET_BPF_NONE,    /* no BPF (not needed, disabled or unavailable) */
	SL_RUNNET_BPF_AGENT,   /* the agent's pinned programs and maps */
	SL_RUNNET_BPF_PRIVATE, /* loaded by this process, nothing pinned */
};

/* True when opts need a struct sl_runnet at all (else do not create one: no cost). */
bool sl_runnet_needed(const struct sl_runnet_opts *opts);

/*
 * Opens BPF as described above (after sl_runtime_new(), which removed stale sandboxes: stale
 * registrations in the agent's maps are pruned here). Accounting alone degrades to no BPF
 * (sl_runnet_bpf_error() says why); egress without BPF fails. Logs what it refuses. Returns 0,
 * -ENOPKG and the loader's other errors, -EINVAL (bad pool), -ENOMEM.
 */
int sl_runnet_new(struct sl_runnet **ret, const struct sl_runnet_opts *opts);

/* Which BPF it uses; and why there is none (0 when there is, or it was not asked for). */
enum sl_runnet_bpf sl_runnet_bpf_mode(const struct sl_runnet *n);
int sl_runnet_bpf_error(const struct sl_runnet *n);

/* sl_sandbox_hook_fn, data = the struct sl_runnet. Logs a failure; returns >= 0 or -errno. */
int sl_runnet_hook(struct sl_sandbox *sb, void *data);

/*
 * After the sandbox has been destroyed: reads its counters into *ret (1 when it did, 0 when
 * there is no BPF), unregisters it and removes its veth. Returns 1, 0 or -errno (cleanup still
 * done). Idempotent.
 */
int sl_runnet_finish(struct sl_runnet *n, struct sl_bpf_stats *ret);

/* NULL-safe: finishes (best effort) and frees. Sets *n to NULL. */
void sl_runnet_free(struct sl_runnet **n);
