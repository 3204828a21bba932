// SPDX-License-Identifier: Apache-2.0
/* Asynchronous invocation policy (see retry.h). */
#include "retry.h"

#include <string.h>

#define NS_PER_S 1000000000ull

static uint64_t scaled(uint64_t ns, double scale)
{
	double v = (double)ns * scale;

	return v < 1 ? 1 : (uint64_t)v;
}

uint64_t sl_retry_function_delay_ns(uint32_t n, double scale)
{
	return scaled(60 * NS_PER_S * (n ? n : 1), scale);
}

uint64_t sl_retry_backoff_ns(uint32_t n, double scale)
{
	uint64_t ns = n >= 9 ? SL_RETRY_BACKOFF_MAX_NS : NS_PER_S << n;

	if (ns > SL_RETRY_BACKOFF_MAX_NS)
		ns = SL_RETRY_BACKOFF_MAX_NS;
	return scaled(ns, scale);
}

bool sl_retry_expired(uint64_t enqueued_ns, uint32_t max_age_s, uint64_t now_ns)
{
	return now_ns > enqueued_ns && now_ns - enqueued_ns > (uint64_t)max_age_s * NS_PER_S;
}

bool sl_retry_next(const struct sl_retry_in *in, uint64_t *ret_due_ns)
{
	uint64_t delay;

	if (in->kind == SL_RETRY_FUNCTION) {
		if (in->attempts > in->max_retry)
			return false;
		delay = sl_retry_function_delay_ns(in->attempts, in->scale);
	} else {
		delay = sl_retry_backoff_ns(in->retries, in->scale);
	}
	if (sl_retry_expired(in->enqueued_ns, in->max_age_s, in->now_ns + delay))
		return false;
	*ret_due_ns = in->now_ns + delay;
	return true;
}

size_t sl_fair_start(const char *const *keys, size_t n, const char *last)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i], last) > 0)
			return i;
	return 0;
}
