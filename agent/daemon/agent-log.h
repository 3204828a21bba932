/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the daemon tells its operator about sandboxes and invocations, in logfmt (log.h), with
 * the sandbox and its function as fields on every line:
 *
 *   info   a sandbox created, destroyed (with the reason), failing its init; an invocation
 *          ending in an error or a timeout; a runtime exiting
 *   debug  a sandbox ready (its cold start: worker.c), busy, idle, frozen (at most
 *          AGENT_LOG_BURST lines per sandbox per AGENT_LOG_INTERVAL_NS, then one line with the
 *          count held back), and every invocation
 *
 * Hooks called by worker.c and invoke.c where those things happen.
 */
#include "daemon/agent.h"

#define AGENT_LOG_BURST	      10
#define AGENT_LOG_INTERVAL_NS (10ULL * 1000000000ULL)

/* s goes to state for reason (called before s->state changes). */
void agent_log_transition(struct asb *s, uint8_t state, uint8_t reason);
/* s's invocation ended with status; payload is the result's (an error's JSON body). */
void agent_log_invocation(struct asb *s, uint8_t status, const void *payload, size_t len,
			  uint64_t duration_ns);
/*
 * s failed before its runtime asked for work: error_type as Lambda names it
 * ("Runtime.InitTimeout"), detail (or NULL) and err (a -errno, or 0).
 */
void agent_log_init_error(struct asb *s, const char *error_type, const char *detail, int err);
/* s's runtime exited (res from sl_sandbox_reap): an init error if it was not ready yet. */
void agent_log_exit(struct asb *s, const struct sl_sandbox_result *res);
