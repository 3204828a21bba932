/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The worker manager's sandbox table, pure (no loop, no I/O, no logging): every live sandbox by
 * id, grouped by function key (account, name, revision: a sandbox runs one revision of a
 * function's code and configuration), with the state its agent last reported (SANDBOX_EVENT,
 * FULL_STATE) and whether an invocation the control node routed to it is still in flight.
 *
 * Warm routing (sl_router_pick) concentrates load: among the function's routable sandboxes it
 * takes one on the most loaded host (hosts' load = their sandboxes busy or in flight), so other
 * hosts can go cold. Routable: no invocation in flight, host eligible (the caller's predicate:
 * alive, not draining), and the agent reports it idle or frozen, or busy only with the
 * invocation that just ended (reason "invoke"). A sandbox the agent reports busy for its own
 * activity after its response (reason "active": eBPF saw CPU or packets) is not routed to.
 * The host's load decides first; on one host idle before frozen (no thaw) before just finished.
 *
 * One owner (the control loop); bounded by the caller (SL_ROUTER_MAX sandboxes).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sandlot/proto.h>

#define SL_ROUTER_KEY_MAX 127
#define SL_ROUTER_MAX	  (1u << 20)

struct sl_rsb {
	char id[SL_MSG_ID_MAX + 1];
	char key[SL_ROUTER_KEY_MAX + 1]; /* function key */
	uint64_t host;			 /* agent id */
	uint32_t memory_mb;
	uint8_t state;	/* enum sl_sandbox_state last reported (CREATED until then) */
	uint8_t reason; /* enum sl_sandbox_reason of that report */
	bool inflight;	/* an invocation routed here has not ended */
};

struct sl_router;

/* Whether a host may take invocations (alive, not draining). */
typedef bool (*sl_router_host_ok_fn)(void *data, uint64_t host);

int sl_router_new(struct sl_router **ret);
void sl_router_free(struct sl_router **r);

/* Adds a sandbox (state CREATED). -EEXIST, -EINVAL (bad id or key), -ENOSPC, -ENOMEM. */
int sl_router_add(struct sl_router *r, uint64_t host, const char *id, const char *key,
		  uint32_t memory_mb);
/* The sandbox id, or NULL. The pointer stays valid until it is removed. */
const struct sl_rsb *sl_router_get(const struct sl_router *r, const char *id);

/*
 * Records a state reported by host for sandbox id: -ENOENT (unknown), -EPERM (another host's).
 * DESTROYED removes it (its in-flight flag goes with it: the caller ends that invocation).
 */
int sl_router_report(struct sl_router *r, uint64_t host, const char *id, uint8_t state,
		     uint8_t reason);

/* Picks a routable sandbox of key (see above) and marks it in flight; NULL when none. */
const struct sl_rsb *sl_router_pick(struct sl_router *r, const char *key, sl_router_host_ok_fn ok,
				    void *data);
/* Marks a sandbox in flight (a cold start routed to it). -ENOENT, -EBUSY. */
int sl_router_claim(struct sl_router *r, const char *id);
/* The invocation on sandbox id ended. -ENOENT when it is gone. */
int sl_router_release(struct sl_router *r, const char *id);
/* Removes one sandbox. -ENOENT. */
int sl_router_remove(struct sl_router *r, const char *id);
/* Removes every sandbox of host (it died); returns how many. */
unsigned sl_router_drop_host(struct sl_router *r, uint64_t host);

/* Calls fn for every sandbox whose key starts with prefix (fn must not change the table). */
void sl_router_each(const struct sl_router *r, const char *prefix,
		    void (*fn)(const struct sl_rsb *sb, void *data), void *data);

/* Per host: sandboxes, busy ones (reported busy or in flight), memory; false if none. */
bool sl_router_host_usage(const struct sl_router *r, uint64_t host, uint32_t *ret_sandboxes,
			  uint32_t *ret_busy, uint64_t *ret_memory_mb);
/* Sandboxes of key on host. */
uint32_t sl_router_count(const struct sl_router *r, const char *key, uint64_t host);
struct sl_router_usage {
	uint32_t sandboxes, busy; /* as sl_router_host_usage */
	uint64_t memory_mb;
	uint32_t fn_sandboxes; /* as sl_router_count */
};

/*
 * For each of n hosts, ret[i]: what sl_router_host_usage and sl_router_count(key) give (zeros
 * for a host the table does not know). O(n + sandboxes of key), where those calls per host cost
 * O(n * sandboxes of key): a placement snapshot's numbers.
 */
void sl_router_usage_of(struct sl_router *r, const char *key, const uint64_t *hosts, size_t n,
			struct sl_router_usage *ret);
/* All sandboxes, and those in flight. */
size_t sl_router_size(const struct sl_router *r);
size_t sl_router_inflight(const struct sl_router *r);
