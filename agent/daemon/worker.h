/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The daemon's sandboxes and their invocations (worker.c, invoke.c): the one owner of the
 * sandbox table. Commands are calls that return 0 or -errno and answer nothing on the wire;
 * what happens afterwards (state changes, results, code to fetch, the table going empty) goes
 * out through the sink the daemon installs (worker_set_sink), which control.c turns into
 * frames. The worker calls no other module of the daemon; others see its sandboxes through
 * snapshots (worker_each, worker_counts, worker_sample).
 */
#include <stdbool.h>
#include <stdint.h>

#include <sandlot/proto.h>

struct agent;
struct asb; /* one sandbox: opaque outside worker.c and invoke.c */
struct sl_bpf_event;
struct sl_codecache_entry;

/* Where the worker reports: every op must be set. Called from the loop; data is the sink's. */
struct worker_sink {
	/* A sandbox changed state (ev's strings live until the call returns); corr: the command
	 * this event answers (its CREATE_SANDBOX or DESTROY), or 0. */
	void (*sandbox_event)(void *data, const struct sl_msg_sandbox *ev, uint64_t corr);
	/* An invocation ended or was refused (Lambda's status and body in res); corr: its
	 * INVOKE. Every worker_invoke() ends in exactly one. */
	void (*invoke_result)(void *data, const struct sl_msg_invoke_result *res, uint64_t corr);
	/* A command accepted earlier failed: r (-errno) and why (one line) answer corr, a command
	 * of type ref_type. */
	void (*command_error)(void *data, uint64_t corr, uint16_t ref_type, int r, const char *why);
	/* Sandbox s needs the code package sha of size bytes: answer with worker_code_ready(),
	 * now or later, unless drop_code() comes first. */
	void (*need_code)(void *data, struct asb *s, const uint8_t sha[32], uint64_t size);
	/* s is destroyed while its code was awaited: no worker_code_ready() for it any more. */
	void (*drop_code)(void *data, struct asb *s);
	/* The worker is draining and no sandbox is left. */
	void (*empty)(void *data);
	void *data;
};

/* What one sandbox looks like now (worker_each): valid during the callback only. */
struct worker_sandbox {
	struct sl_msg_sandbox msg; /* as reported to the control node */
	const char *pool_key;	   /* "function:version" */
	const char *code_sha256;   /* hex */
	const char *runtime_id;	   /* the sandbox runtime's id, NULL before the spawn */
	uint32_t memory_mb;
	uint64_t invocations;
	uint64_t init_ns; /* cold start: spawn to the runtime's first next (0: not yet) */
	uint64_t cgroup_id;
	bool in_flight; /* an invocation runs */
	bool warm;	/* idle in the pool: an invocation may take it */
};

/* Live sandboxes by state, what they reserve and what runs (worker_counts). */
struct worker_sample {
	uint32_t created, busy, idle, frozen, inflight;
	uint64_t memory;     /* bytes reserved */
	uint32_t cpu_millis; /* CPU used by sandboxes since the last sample, 1/1000 CPUs */
};

/* Installs where the worker reports from now on (copied). Call before the first command. */
void worker_set_sink(struct agent *a, const struct worker_sink *sink);

/*
 * CREATE_SANDBOX c (command corr): 0 when accepted (the sandbox's first ready or destroyed
 * event answers corr, or command_error does), else nothing was made: -ESHUTDOWN (draining),
 * -EEXIST (the id is taken), -ENOSPC (no capacity, even after evicting warm sandboxes),
 * -ENOMEM.
 */
int worker_create(struct agent *a, const struct sl_msg_create *c, uint64_t corr);
/* INVOKE iv (command corr): answered through invoke_result, now (refused: draining, no such
 * or no warm sandbox, a failure to hand the event over) or when the invocation ends. */
void worker_invoke(struct agent *a, const struct sl_msg_invoke *iv, uint64_t corr);
/* DESTROY of sandbox id (command corr): 0 (its DESTROYED event answers corr) or -ENOENT. */
int worker_destroy_cmd(struct agent *a, const char *id, uint64_t corr);
/* Destroys sandbox id soon (from the loop; reason "command", no command answered): 0 or
 * -ENOENT. */
int worker_kill(struct agent *a, const char *id);
/* No new work; in-flight invocations finish (by deadline_ms, if not 0), the rest goes. */
void worker_drain(struct agent *a, uint32_t deadline_ms);
/* Destroys every sandbox now (reason "drain"), in-flight invocations answered as failed. */
void worker_stop(struct agent *a);
/* True once worker_drain() or worker_stop() was called. */
bool worker_draining(const struct agent *a);

/*
 * The code s asked for through need_code is in the cache (r == 0: *entry, a reference s
 * takes) or could not be had (r < 0, why says so): s is spawned, or fails its CREATE.
 */
void worker_code_ready(struct asb *s, int r, const char *why, struct sl_codecache_entry **entry);
/* A busy/idle event of the BPF idle detector. */
void worker_bpf_event(struct agent *a, const struct sl_bpf_event *ev);
/* From now on pooled shells get their BPF registration and Runtime API socket while they
 * wait (a->bpf, if any, must stay open until the runtime is freed). */
void worker_prepare_shells(struct agent *a);

/* Calls fn once per sandbox of the table, newest first. fn must not call into the worker. */
void worker_each(struct agent *a, void (*fn)(const struct worker_sandbox *sb, void *data),
		 void *data);
/* Number of live sandboxes. */
unsigned worker_count(const struct agent *a);
/* The counts of a sample, without the CPU rate (which worker_sample() alone advances). */
void worker_counts(struct agent *a, uint32_t *created, uint32_t *busy, uint32_t *idle,
		   uint32_t *frozen, uint64_t *memory, uint32_t *inflight);
/* Counts and the sandboxes' CPU rate since the previous call (reads each cgroup's stats: for
 * the heartbeat, not per invocation). */
void worker_sample(struct agent *a, struct worker_sample *ret);
