/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The worker agent daemon's shared state. Internal to the daemon's files:
 *
 *   daemon.c     start-up, signals, drain, shutdown; owns everything below
 *   control.c    the link to the control node: register, heartbeat, commands, events, replay
 *   worker.c     sandboxes of functions: create, cold start, freeze/thaw, reap, destroy
 *   invoke.c     invocations: pick a sandbox, hand the event over, answer with the result
 *   codefetch.c  code packages fetched from the control node in chunks into the code cache
 *   localapi.c   the local HTTP API (/healthz, JSON listings for sandlotctl, /metrics, kill)
 *   metrics-agent.c  the Prometheus metrics /metrics serves
 *   agent-log.c  what the log says about sandboxes and invocations
 *
 * Everything runs on one thread, in one event loop (loop.h): no locks anywhere.
 */
#include <stdbool.h>
#include <stdint.h>

#include <sandlot/link.h>
#include <sandlot/log.h>
#include <sandlot/proto.h>

#include "daemon/agent-config.h"
#include "bpfload/bpf-loader.h"
#include "daemon/codecache.h"
#include "daemon/logtail.h"
#include <sandlot/loop.h>
#include "daemon/pool.h"
#include "daemon/runtime-api.h"
#include "sandbox/sandbox.h"

#define SL_AGENT_INIT_TIMEOUT_NS (10ULL * 1000000000ULL) /* Lambda's init phase limit */
#define SL_AGENT_OUTQ_MAX	 256			 /* frames waiting for the control node */
#define SL_AGENT_OUTQ_BYTES	 (64ULL << 20)

struct agent;
struct agent_metrics;
struct code_fetch;
struct pending_event;

/* One sandbox of one function, from CREATE_SANDBOX to its destruction. */
struct asb {
	struct sl_pool_entry pe; /* key "function:version", memory reservation */
	struct agent *a;
	struct asb *prev, *next; /* all sandboxes of the agent */
	char id[SL_MSG_ID_MAX + 1];
	char function[SL_MSG_ID_MAX + 1];
	char version[SL_MSG_ID_MAX + 1];
	char handler[SL_MSG_HANDLER_MAX + 1];
	char code_hex[65];
	uint32_t memory_mb, timeout_ms;
	char **user_env; /* "K=V" strings until the spawn, then freed */

	struct sl_codecache_entry *code; /* reference held while the sandbox lives */
	struct code_fetch *fetch;	 /* waiting for this code, or NULL */
	struct asb *fetch_next;		 /* other sandboxes waiting for the same code */
	struct sl_sandbox *sb;
	struct sl_rtapi *api;
	int out_fd, pidfd;  /* registered in the loop while >= 0 (out_fd: stdout and stderr) */
	uint64_t cgid;	    /* v2 cgroup id (0 before spawn) */
	bool bpf;	    /* registered with the BPF layer */
	uint32_t bpf_slot1; /* its BPF slot + 1, once looked up (0: not yet) */

	uint8_t state;	   /* enum sl_sandbox_state as last reported */
	uint8_t reason;	   /* of the last transition */
	bool frozen;	   /* cgroup.freeze is 1 */
	bool ready;	   /* the runtime asked for its first event */
	bool dying;	   /* being destroyed: ignore further events */
	bool create_reply; /* the CREATE still waits for its answer */
	uint64_t create_corr;
	uint64_t created_wall, created_mono, ready_mono, last_active_wall;
	uint64_t spawned_mono; /* sl_sandbox_spawn() returned: the child runs its setup */
	uint64_t init_ns;      /* cold start: spawn to first next */
	bool cold;	       /* the next invocation is this sandbox's first */
	uint64_t invocations;
	uint64_t hb_cpu_usec; /* CPU time at the last heartbeat */
	uint64_t memory_peak; /* high-water mark, refreshed by heartbeats and idle transitions */
	uint64_t busy_ns, busy_since_mono; /* time busy before, and since (0: not busy now) */
	uint64_t ws_bytes, ws_read_wall;   /* memory working set, when read (metrics-agent.c) */
	struct sl_timer *init_timer;
	struct sl_timer *destroy_timer; /* destruction deferred out of a callback */
	struct sl_timer *rtapi_timer;	/* the Runtime API server's own time-outs */
	uint8_t destroy_reason;

	struct {
		bool active;
		char request_id[SL_MSG_ID_MAX + 1];
		uint64_t corr;
		uint64_t start_mono;
		uint64_t deadline_wall; /* the invoker's deadline */
		bool log_tail;
		struct sl_timer *deadline;
	} inv;
	struct sl_logtail log;
	struct sl_log_limit log_limit; /* its busy/idle lines (agent-log.c) */
	struct pending_event *pending; /* an invocation waiting for the runtime's first next */
};

/* Outbound frames waiting for the control node's socket to take them. */
struct outq_item {
	struct outq_item *next;
	size_t len;
	unsigned char frame[];
};

struct agent_stats {
	uint64_t invocations[8]; /* by enum sl_invoke_status */
	uint64_t cold_starts;
	uint64_t created, destroyed;
	uint64_t bpf_events;
	uint64_t dropped_frames; /* outbound frames dropped: queue full */
	uint64_t commands;
};

struct agent {
	struct sl_agent_config cfg;
	struct sl_loop *loop;
	struct sl_runtime *rt;
	struct sl_bpf *bpf; /* NULL when BPF is unavailable (degraded: no idle detection) */
	struct sl_hostaddrs *hostaddrs; /* keeps the host's addresses in a->bpf's policy map */
	struct sl_codecache *cache;
	struct sl_key *key;
	struct sl_link *link;
	struct sl_pool pool;
	int self_netns;	 /* our own network namespace, to return to after setns() */
	int lock_fds[2]; /* host locks on the state dir and the pin root (hostlock.h), or -1 */
	char cg_dir[SL_CGROUP_PATH_MAX + 16]; /* <v2 self dir>/sandlot: parent of sandbox cgroups */
	struct asb *sandboxes;
	unsigned n_sandboxes;
	struct code_fetch *fetches;

	/* control link */
	int peer; /* sl_link_connect() handle of the control node */
	uint64_t self_id, control_id;
	bool registered;
	unsigned register_tries; /* REGISTERs sent since the last ack (for the warnings) */
	uint32_t heartbeat_ms;
	struct sl_timer *register_timer, *heartbeat_timer;
	struct outq_item *outq, *outq_tail;
	unsigned outq_len;
	uint64_t outq_bytes;
	bool send_watched;
	uint64_t next_corr;

	/* keep-alive: one timer at the pool's next expiry */
	struct sl_timer *keepalive_timer;
	uint64_t keepalive_at;

	bool draining;		      /* no new sandboxes or invocations */
	struct sl_timer *drain_timer; /* DRAIN's deadline for in-flight work */
	uint64_t drain_at;
	bool exit_when_empty; /* SIGTERM: exit once everything is destroyed */
	struct agent_stats stats;
	uint64_t last_cpu_mono; /* the last heartbeat, for its CPU rate */
	struct localapi *http;
	struct agent_metrics *metrics; /* owned by localapi.c; NULL without it */
};

/* daemon.c */
int sl_agent_main(int argc, char **argv);
void agent_check_drained(struct agent *a);

/* control.c */
/* Loads and checks the cluster key (first thing at start: nothing is made before). */
int control_load_key(struct agent *a);
int control_open(struct agent *a);
void control_close(struct agent *a);
/* Sends m to the control node (queued while it cannot take it). Returns 0 or -errno. */
int control_send(struct agent *a, struct sl_msg *m);
void control_sandbox_event(struct agent *a, struct asb *s, uint64_t corr);
void control_error(struct agent *a, uint64_t corr, uint16_t ref_type, uint32_t code,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* worker.c */
void worker_create(struct agent *a, const struct sl_msg *m);
void worker_invoke(struct agent *a, const struct sl_msg *m);
void worker_destroy_cmd(struct agent *a, const struct sl_msg *m);
/* Code for s is in the cache now (r == 0) or could not be had (r < 0, why says so). */
void worker_code_ready(struct asb *s, int r, const char *why);
void worker_destroy(struct asb *s, uint8_t reason);
void worker_bpf_event(struct agent *a, const struct sl_bpf_event *ev);
/* From now on pooled shells get their BPF registration and Runtime API socket while they
 * wait (a->bpf, if any, must stay open until the runtime is freed). */
void worker_prepare_shells(struct agent *a);
/* No new work; in-flight invocations finish (by deadline_ms, if not 0), the rest goes. */
void worker_drain(struct agent *a, uint32_t deadline_ms);
struct asb *worker_find(struct agent *a, const char *id);
void worker_counts(struct agent *a, uint32_t *created, uint32_t *busy, uint32_t *idle,
		   uint32_t *frozen, uint64_t *memory, uint32_t *inflight);
void worker_fill_msg(struct asb *s, struct sl_msg_sandbox *ret);

/* Shared by worker.c and invoke.c. */
/* Records and reports a transition (corr: the command it answers, or 0). */
void worker_transition(struct asb *s, uint8_t state, uint8_t reason, uint64_t corr);
void worker_set_frozen(struct asb *s, bool frozen);
/* Idle and frozen: what a warm sandbox is between invocations. */
void worker_go_idle(struct asb *s, uint8_t reason);
/* Destroys s from the loop, not from inside a callback of its own Runtime API server. */
void worker_destroy_later(struct asb *s, uint8_t reason);
void worker_keepalive_rearm(struct agent *a);
/* Runs s's Runtime API server until it has nothing left to do now. */
void worker_rtapi_service(struct asb *s);

/* invoke.c */
/* Answers the invocation in flight on s with INVOKE_RESULT (no-op when none is). */
void invoke_finish(struct asb *s, uint8_t status, const char *function_error, const void *payload,
		   size_t len);
/* A JSON error body as Lambda writes it ({"errorMessage", "errorType"}) into buf. */
size_t invoke_error_json(char *buf, size_t len, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Hands the event that waited for the cold start to the runtime; false when it could not go. */
bool invoke_start_pending(struct asb *s);
/* Runtime API callbacks of an invocation's end. */
void invoke_on_response(struct sl_rtapi *srv, void *data, const char *request_id, const void *body,
			size_t len, const char *content_type);
void invoke_on_error(struct sl_rtapi *srv, void *data, const char *request_id,
		     const struct sl_rtapi_error *err);

/* codefetch.c */
/* Gets s's code: from the cache, or by fetching it (worker_code_ready() is called either way). */
void codefetch_start(struct agent *a, struct asb *s, const uint8_t sha[32], uint64_t size);
void codefetch_chunk(struct agent *a, const struct sl_msg *m);
void codefetch_error(struct agent *a, const struct sl_msg *m);
void codefetch_cancel(struct asb *s);
void codefetch_free_all(struct agent *a);

/* localapi.c */
struct localapi;
int localapi_open(struct agent *a, struct localapi **ret);
void localapi_free(struct localapi **h);
