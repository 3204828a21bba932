/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * `--net egress`: each sandbox gets a veth pair into the host's network namespace and a /30 out
 * of a per-host IPv4 pool (host end .1, sandbox end .2, default route via the host end). The
 * host routes its traffic; the BPF policy (bpf-loader.h) decides what it may reach, so the
 * sandbox's address must also be registered there (sl_bpf_sandbox_spec.addrs).
 *
 * The pool is pure bookkeeping (unit-tested); sl_netpool_veth_*() talk rtnetlink (no ip(8)).
 * Forwarding and NAT on the host are the operator's (or the agent's start-up) business.
 */
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define SL_NETPOOL_DEFAULT "10.213.0.0/16"
#define SL_NETPOOL_MAX	   16384 /* leases per pool (a /16 of /30s) */

struct sl_netpool;

struct sl_netlease {
	uint32_t index;		   /* position in the pool */
	struct in_addr host;	   /* host end (gateway of the sandbox) */
	struct in_addr sandbox;	   /* the sandbox's address */
	uint8_t prefix;		   /* 30 */
	char host_if[IF_NAMESIZE]; /* host end's name: "slh<index>" */
};

/*
 * A pool over cidr (IPv4, prefix 8..28, host bits zero). Returns 0, -EINVAL (malformed or too
 * small/large) or -ENOMEM.
 */
int sl_netpool_new(struct sl_netpool **ret, const char *cidr);
void sl_netpool_free(struct sl_netpool **p);

/*
 * The addresses the pool's leases span (its prefix, or the first /16 of a larger one), network
 * order: what the BPF policy treats as the pool (sl_bpf_sandbox_spec.pool_net/pool_mask).
 */
void sl_netpool_span(const struct sl_netpool *p, uint32_t *ret_net, uint32_t *ret_mask);

/* Number of leases the pool can hand out. */
uint32_t sl_netpool_capacity(const struct sl_netpool *p);

/* The lowest free lease. -ENOSPC when the pool is exhausted. */
int sl_netpool_alloc(struct sl_netpool *p, struct sl_netlease *ret);

/* Marks lease index as taken (re-adopting a running sandbox after a restart). -EBUSY, -ERANGE. */
int sl_netpool_take(struct sl_netpool *p, uint32_t index, struct sl_netlease *ret);

/* Returns a lease to the pool. Releasing a free or unknown lease is a no-op. */
void sl_netpool_release(struct sl_netpool *p, const struct sl_netlease *l);

/*
 * Parent side, before the sandbox's child opens sockets: creates the veth pair with its host end
 * (l->host_if, l->host/30, up) in the caller's network namespace and its peer, renamed "eth0",
 * in the namespace netns_fd, where it sets l->sandbox/30, brings eth0 and lo up and adds the
 * default route via l->host. Returns 0 or -errno (nothing is left behind on failure).
 */
int sl_netpool_veth_add(const struct sl_netlease *l, int netns_fd);

/* Deletes the pair (by its host end). -ENODEV when it does not exist. */
int sl_netpool_veth_del(const struct sl_netlease *l);
