/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The worker agent daemon: what its modules share. Each module has a header of its own; the
 * calls between them form a DAG (tools/check-graph):
 *
 *   daemon.c     start-up, signals, drain, shutdown; owns the struct below and wires the
 *                worker's sink to control.c         -> control, worker, localapi
 *   control.c    the link to the control node: register, heartbeat, commands in, events
 *                and results out, -errno to SL_ERR_* -> worker, codefetch
 *   codefetch.c  code packages fetched from the control node in chunks into the code cache
 *   worker.c     sandboxes of functions: create, cold start, freeze/thaw, reap, destroy
 *   invoke.c     invocations: pick a sandbox, hand the event over, report the result
 *                (worker.c and invoke.c own the sandbox table: worker-internal.h; they report
 *                through the sink of worker.h and call no module above them)
 *   localapi.c   the local HTTP API (/healthz, JSON listings for sandlotctl, /metrics, kill)
 *                                                    -> worker
 *   metrics-agent.c, agent-log.c  the worker's hooks: its Prometheus metrics and its log lines
 *
 * Everything runs on one thread, in one event loop (loop.h): no locks anywhere.
 */
#include <stdbool.h>
#include <stdint.h>

#include <sandlot/link.h>
#include <sandlot/log.h>
#include <sandlot/loop.h>
#include <sandlot/proto.h>

#include "bpfload/bpf-loader.h"
#include "daemon/agent-config.h"
#include "daemon/codecache.h"
#include "daemon/pool.h"
#include "daemon/worker.h"
#include "sandbox/sandbox.h"

struct agent_metrics;
struct codefetch;
struct localapi;
struct outq_item;

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
	int self_netns;	 /* our own network namespace, to return to after setns() */
	int lock_fds[2]; /* host locks on the state dir and the pin root (hostlock.h), or -1 */
	char cg_dir[SL_CGROUP_PATH_MAX + 16]; /* <v2 self dir>/sandlot: parent of sandbox cgroups */

	/* the worker's (worker.c, invoke.c) */
	struct sl_pool pool;
	struct asb *sandboxes;
	unsigned n_sandboxes;
	struct worker_sink sink;
	struct sl_timer *keepalive_timer; /* one timer at the pool's next expiry */
	uint64_t keepalive_at;
	bool draining;		      /* no new sandboxes or invocations */
	struct sl_timer *drain_timer; /* DRAIN's deadline for in-flight work */
	uint64_t drain_at;
	uint64_t last_cpu_mono; /* the last sample, for its CPU rate */

	/* control.c's: the link to the control node */
	struct sl_key *key;
	struct sl_link *link;
	struct codefetch *fetch;
	int peer; /* sl_link_connect() handle of the control node */
	uint64_t self_id, control_id;
	bool registered;
	unsigned register_tries;   /* REGISTERs sent since the last ack (for the warnings) */
	uint64_t register_backoff; /* until the next REGISTER (0: not started) */
	uint32_t heartbeat_ms;
	struct sl_timer *register_timer, *heartbeat_timer;
	struct outq_item *outq, *outq_tail; /* frames waiting for the control node's socket */
	unsigned outq_len;
	uint64_t outq_bytes;
	struct sl_log_limit outq_limit; /* "cannot queue" warnings */
	bool send_watched;
	uint64_t next_corr;

	bool exit_when_empty; /* SIGTERM: exit once everything is destroyed (daemon.c) */
	struct agent_stats stats;
	struct localapi *http;
	struct agent_metrics *metrics; /* owned by localapi.c; NULL without it */
};

/* The daemon's main: options, start-up, the loop until a drain ends or a signal stops it.
 * Returns the process's exit status. */
int sl_agent_main(int argc, char **argv);
