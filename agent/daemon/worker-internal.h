/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The sandbox table, shared by the files of the worker alone: worker.c (sandboxes' lives),
 * invoke.c (invocations) and their hooks agent-log.c and metrics-agent.c. Everyone else goes
 * through worker.h.
 */
#include <stdbool.h>
#include <stdint.h>

#include <sandlot/log.h>
#include <sandlot/loop.h>
#include <sandlot/proto.h>

#include "daemon/agent.h"
#include "daemon/codecache.h"
#include "daemon/logtail.h"
#include "daemon/pool.h"
#include "daemon/runtime-api.h"
#include "daemon/worker.h"
#include "sandbox/sandbox.h"

#define SL_AGENT_INIT_TIMEOUT_NS (10ULL * 1000000000ULL) /* Lambda's init phase limit */

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
	bool fetching;			 /* need_code was asked, worker_code_ready not come yet */
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

/* worker.c */
struct asb *worker_find(struct agent *a, const char *id);
/* Records and reports a transition (corr: the command it answers, or 0). */
void worker_transition(struct asb *s, uint8_t state, uint8_t reason, uint64_t corr);
/* Freezes or thaws s (a failure is logged: s stays as it was). */
void worker_set_frozen(struct asb *s, bool frozen);
/* Idle and frozen: what a warm sandbox is between invocations. */
void worker_go_idle(struct asb *s, uint8_t reason);
/* Destroys s now: an invocation in flight is answered as failed, s is reported destroyed
 * (answering its CREATE or DESTROY if one waits) and freed. */
void worker_destroy(struct asb *s, uint8_t reason);
/* Destroys s from the loop, not from inside a callback of its own Runtime API server. */
void worker_destroy_later(struct asb *s, uint8_t reason);
/* One timer at the pool's next keep-alive expiry. */
void worker_keepalive_rearm(struct agent *a);
/* Runs s's Runtime API server until it has nothing left to do now. */
void worker_rtapi_service(struct asb *s);

/* invoke.c */
/* Answers the invocation in flight on s with its result (no-op when none is). */
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
