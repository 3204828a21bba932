/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * sandlot-control's shared state and the interfaces between its files. Everything runs on one
 * thread in one event loop (<sandlot/loop.h>): no locks. Ownership, one writer each:
 *   - api*.c      the Lambda REST front end (libmicrohttpd): requests, auth, validation
 *   - invoke.c    invocations from admission to their end (the pending table, units)
 *   - async.c     the queue of asynchronous invocations: takes due events, records outcomes
 *   - router.c    the sandbox table (pure), written only through invoke.c and agentlink.c
 *   - workers.c   hosts: registration, heartbeats, leases, health, placement snapshots
 *   - agentlink.c the only wire user: decodes what agents send, seals what goes to them
 *   - counting.c, placement.c, sigv4.c, retry.c: pure modules (ctlpure)
 *   - store*.c    durable state
 * The call graph is a DAG: daemon -> api -> async -> invoke -> {workers, router, counting,
 * agentlink};
 * agentlink dispatches received messages to workers and invoke through the functions below.
 */
#include <stdbool.h>
#include <stdint.h>

#include <sandlot/auth.h>
#include <sandlot/link.h>
#include <sandlot/loop.h>
#include <sandlot/proto.h>

#include "accesskeys.h"
#include "config.h"
#include "counting.h"
#include "router.h"
#include "store.h"

#define CTL_INV_BUCKETS 4096
#define CTL_HOSTS_MAX	4096
#define CTL_SENDQ_MAX	1024 /* frames waiting for one agent's socket */

struct api;
struct async;
struct inv;

/* One frame waiting for an agent's socket to take it. */
struct frame {
	struct frame *next;
	size_t len;
	unsigned char data[];
};

/* One agent host (workers.c owns these). */
struct host {
	struct host *next;
	struct ctl *ctl;
	uint64_t id; /* the agent's link id */
	char name[SL_MSG_ID_MAX + 1];
	char zone[SL_MSG_ID_MAX + 1];
	char endpoint[SL_MSG_TEXT_MAX + 1];
	int peer; /* sl_link_connect() handle */
	uint64_t memory_mb;
	uint32_t max_sandboxes, ncpus;
	uint64_t registered_ns, lease_end_ns, last_seen_ns; /* monotonic */
	bool registered; /* REGISTER acknowledged (else only told NOT_REGISTERED) */
	bool draining;
	uint64_t last_nack_ns;			/* when we last answered NOT_REGISTERED */
	uint32_t recent_invokes, recent_errors; /* halved every few seconds */
	uint32_t inflight;			/* invocations on it now */
	struct frame *sendq, **sendq_tail;
	unsigned sendq_len;
	bool send_watched; /* its NN_SNDFD is in the loop */
};

struct ctl_stats {
	uint64_t invocations, throttled, cold_starts, warm_starts, errors;
	uint64_t dead_hosts, unknown_sandbox_events, stale_results, create_errors;
	uint64_t events_accepted, events_done, events_retried, events_dead;
};

struct ctl {
	struct sl_ctl_config cfg;
	struct sl_loop *loop;
	struct sl_store *store;
	struct sl_akeys *akeys;
	struct sl_counting *counting;
	struct sl_router *router;
	struct sl_key *key;
	struct sl_link *link;
	struct api *api;
	struct async *async;
	uint64_t self_id;
	uint64_t next_corr;
	uint64_t sb_seq;
	struct host *hosts;
	unsigned nhosts;
	struct inv *invs[CTL_INV_BUCKETS]; /* pending invocations by INVOKE corr id */
	size_t ninvs;
	uint64_t units_held; /* concurrency units taken and not yet released (all accounts) */
	struct sl_timer *workers_timer, *stop_timer;
	bool stopping;
	unsigned stop_idle_polls; /* shutdown: polls that found no invocation left */
	struct ctl_stats stats;
	struct ctl_metrics *metrics; /* metrics.c */
	uint64_t req_start_ns;	     /* the API request being handled now (0: none) */
	char ctlapi_token[65];	     /* api-ctl.c's; "" refuses every request */
};

/* ---- agentlink.c ---- */
int agentlink_open(struct ctl *c);
void agentlink_close(struct ctl *c);
/* Seals m for host (dst, corr when 0 = a new one) and sends or queues it. Returns the corr id
 * (> 0) or -errno (-ENOBUFS: the host's queue is full). */
int64_t agentlink_send(struct ctl *c, struct host *h, struct sl_msg *m);
/* Connects a sending socket to endpoint for host (again if it changed). */
int agentlink_connect(struct ctl *c, struct host *h, const char *endpoint);
void agentlink_disconnect(struct ctl *c, struct host *h);

/* ---- workers.c ---- */
int workers_start(struct ctl *c);
void workers_stop(struct ctl *c);
struct host *workers_find(struct ctl *c, uint64_t id);
void workers_on_register(struct ctl *c, const struct sl_msg *m);
void workers_on_heartbeat(struct ctl *c, const struct sl_msg *m);
void workers_on_full_state(struct ctl *c, struct host *h, const struct sl_msg *m);
void workers_on_event(struct ctl *c, struct host *h, const struct sl_msg *m);
/* The router's host predicate: alive and not draining. */
bool workers_host_ok(void *data, uint64_t host);
/* A host for one new sandbox of memory_mb of function key (placement); NULL: none. */
struct host *workers_place(struct ctl *c, const char *key, uint32_t memory_mb);
/* Drains h now (as at the end of its lease): no new sandboxes there. 0, -ENOTCONN when it is
 * not registered. */
int workers_drain(struct ctl *c, struct host *h);
/* An invocation on h ended; platform says whether it failed for a platform reason. */
void workers_note_result(struct host *h, bool platform_error);

/* ---- invoke.c ---- */
struct inv_result {
	unsigned http_status;			     /* 200, or the error's */
	const char *error_type;			     /* Lambda's error type when not 200 */
	char message[256];			     /* its message */
	char function_error[SL_MSG_ERRTYPE_MAX + 1]; /* X-Amz-Function-Error, "" */
	void *payload;				     /* malloc'ed */
	size_t payload_len;
	char *log_b64; /* X-Amz-Log-Result, malloc'ed or NULL */
	bool cold;
};
/* Called when an invocation ended: data is what was given to invoke_start. res (and its
 * payload) and inv are valid only during the call: copy what is kept. */
typedef void (*inv_done_fn)(struct inv *inv, const struct inv_result *res, void *data);
/*
 * Admits and starts one invocation of f: takes a unit (-EAGAIN when throttled, the reason in
 * *ret_reason; async ones may not take the account's async headroom), routes it warm or places
 * a cold sandbox, sends. done runs once, later (never from inside this call), with the result;
 * the unit is released before it runs. Returns 0 or -errno (-ENOSPC: no host can take it).
 */
int invoke_start(struct ctl *c, const struct sl_fn *f, const void *payload, size_t len,
		 bool log_tail, bool async, const char *client_context, const char *request_id,
		 inv_done_fn done, void *data, enum sl_count_reason *ret_reason);
void invoke_on_result(struct ctl *c, struct host *h, const struct sl_msg *m);
/* Ends every invocation on host h with ServiceException (it died or re-registered). */
void invoke_fail_host(struct ctl *c, struct host *h, const char *why);
/* Ends every invocation (shutdown). */
void invoke_fail_all(struct ctl *c, const char *why);
/* The function key of f's current revision ("account/name/rev8"). */
void invoke_fn_key(const struct sl_fn *f, char *buf, size_t len);
/* A fresh request id (a version 4 UUID) for the control node's one thread: from a generator
 * seeded and reseeded by RAND_bytes, not RAND_bytes per id (ids must not collide, they are no
 * secret). */
void invoke_new_request_id(char buf[37]);
/* Destroys every sandbox of account/name that does not run revision keep ("" = all). */
void invoke_retire_sandboxes(struct ctl *c, const char *account, const char *name,
			     const char *keep_key);

/* ---- async.c: the queue of asynchronous invocations (events) ---- */
/* Releases the leases of an earlier run of this control node and starts the dispatcher. */
int async_start(struct ctl *c);
void async_stop(struct ctl *c);
/* Called once an event is stored (r = 0: committed and synced) or could not be (-errno). */
typedef void (*async_stored_fn)(void *data, int r);
/*
 * Queues one event for f: the events queued in one loop turn are committed in one transaction
 * (group commit) on the next turn, and stored runs for each after the sync (never from inside
 * this call). 0, or -errno (-ENOMEM) when stored will not run.
 */
int async_enqueue(struct ctl *c, const struct sl_fn *f, const void *payload, size_t len,
		  const char *request_id, async_stored_fn stored, void *data);
/* Events dispatched and not yet ended. */
unsigned async_inflight(const struct ctl *c);

/* ---- metrics.c ---- */
struct ctl_metrics;
int metrics_open(struct ctl *c);
void metrics_close(struct ctl *c);
/* Event hooks (no-ops before metrics_open): an API request that arrived at start_ns ended; an
 * admission decision (throttled: the limit hit, SL_COUNT_OK when admitted), timed from
 * c->req_start_ns; a placement begun at start_ns ended with result "warm", "cold" or "failed";
 * an invocation ended with result "success", "function_error", "error", "no_capacity". */
void metrics_note_request(struct ctl *c, uint64_t start_ns);
void metrics_note_admission(struct ctl *c, const char *account, enum sl_count_reason throttled);
void metrics_note_placement(struct ctl *c, uint64_t start_ns, const char *result);
void metrics_note_result(struct ctl *c, const char *result);
/* The Prometheus text (format 0.0.4) of the control node's state; malloc'ed, NULL on ENOMEM. */
char *metrics_render(struct ctl *c, size_t *ret_len);

/* ---- api.c ---- */
int api_open(struct ctl *c);
/* Stops taking new connections. */
void api_quiesce(struct ctl *c);
void api_close(struct ctl *c);
