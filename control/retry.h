/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Asynchronous invocation policy, pure (no I/O, no clock, no logging): what happens to an event
 * after an attempt, and which function's queue is served next.
 *
 * Retry schedule, as Lambda's: a function error or timeout is retried up to max_retry times
 * (0..2), the first retry about 1 minute after the failure and the second 2 minutes after;
 * a throttle or platform error (no capacity, agent died) does not count as an attempt and is
 * retried with exponential backoff (1 s, 2 s, 4 s ... capped at 5 minutes) for as long as the
 * event is younger than its maximum age (60 s .. 6 h). Every delay is multiplied by scale
 * (the control node's --retry-delay-scale; 1 is Lambda's timing). An event whose next try would
 * start past its maximum age goes to the dead-letter queue instead.
 *
 * Fairness: the functions with due events are served round robin. sl_fair_start() gives the
 * index in a sorted list of keys at which a round starts: the first key after the last one
 * served, so a function with a long backlog gets one turn per round like every other.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_RETRY_MAX		2
#define SL_RETRY_AGE_MIN_S	60
#define SL_RETRY_AGE_MAX_S	21600
#define SL_RETRY_BACKOFF_MAX_NS (300ull * 1000000000ull)

enum sl_retry_kind {
	SL_RETRY_FUNCTION, /* the function failed or timed out: counts as an attempt */
	SL_RETRY_PLATFORM, /* throttled, no capacity, the agent died: does not */
};

struct sl_retry_in {
	enum sl_retry_kind kind;
	uint32_t attempts;    /* function attempts so far, including this one if it counted */
	uint32_t retries;     /* platform retries so far, before this one */
	uint32_t max_retry;   /* 0 .. SL_RETRY_MAX */
	uint32_t max_age_s;   /* SL_RETRY_AGE_MIN_S .. SL_RETRY_AGE_MAX_S */
	uint64_t enqueued_ns; /* when the event was accepted */
	uint64_t now_ns;
	double scale; /* > 0 */
};

/* Returns true and the time of the next try in *ret_due_ns, or false: dead letter. */
bool sl_retry_next(const struct sl_retry_in *in, uint64_t *ret_due_ns);

/* The delay before function retry n (1 or 2): 60 s * n, scaled. */
uint64_t sl_retry_function_delay_ns(uint32_t n, double scale);
/* The delay before platform retry n (0, 1, ...): 1 s * 2^n capped at 5 min, scaled. */
uint64_t sl_retry_backoff_ns(uint32_t n, double scale);
/* Whether an event is past its maximum age at now_ns. */
bool sl_retry_expired(uint64_t enqueued_ns, uint32_t max_age_s, uint64_t now_ns);

/* keys[0..n) sorted ascending; last: the key served last ("" at first). The index of the first
 * key > last, or 0 when none is (the round wraps). 0 when n is 0. */
size_t sl_fair_start(const char *const *keys, size_t n, const char *last);
