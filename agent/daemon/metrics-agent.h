/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The agent's Prometheus metrics (served as /metrics by localapi.c). Counters the agent already
 * keeps (struct agent_stats) and its sandboxes are read at each scrape; what only exists as an
 * event (durations, destructions by reason, busy time) is recorded by the hooks below, which
 * worker.c and invoke.c call. localapi.c owns a->metrics; every hook is a no-op while it is
 * NULL (no HTTP listener, or after shutdown freed it).
 */
#include <stddef.h>
#include <stdint.h>

struct agent;
struct asb;
struct agent_metrics;

/* pin_root: the agent's pinned BPF state (its counter maps are read in batches). */
int agent_metrics_new(struct agent_metrics **ret, const char *pin_root);
void agent_metrics_free(struct agent_metrics **m);

/* An invocation answered (any status), after duration_ns from its start. */
void agent_metrics_invocation(struct agent *a, uint8_t status, uint64_t duration_ns);
/*
 * s goes to state for reason (called before s->state changes): accounts its busy time (also
 * without a->metrics), its cold start (the first transition once ready) and its destruction.
 */
void agent_metrics_transition(struct asb *s, uint8_t state, uint8_t reason);

/* The worker's counts (worker_counts()), read by the caller: this module never calls the worker,
 * which calls it. */
struct agent_metrics_counts {
	uint32_t created, busy, idle, frozen; /* live sandboxes by state */
	uint32_t inflight;		      /* invocations in flight */
	uint64_t mem;			      /* memory reserved by live sandboxes, bytes */
};

/* The whole exposition, text format 0.0.4, malloc'd for the caller. 0 or -errno. */
int agent_metrics_render(struct agent *a, const struct agent_metrics_counts *c, char **ret,
			 size_t *ret_len);
