/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The pure half of sl_creds_rlimits() (creds.h): which rlimits a sandbox gets, and how each is
 * fitted under the hard limit its caller has. For creds.c and its unit test.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>

#include "sandbox/creds.h"

#define SL_CREDS_LIMITS 16 /* entries sl_creds_limits() gives: one per RLIMIT_* */

struct sl_creds_limit {
	int res;	 /* RLIMIT_* */
	rlim_t cur, max; /* wanted; RLIM_INFINITY: as high as the hard limit we have */
	bool exact;	 /* max set as it is, also above the hard limit we have (which fails) */
};

/*
 * Fills ret with the limits sl_creds_rlimits() sets, in its order: RLIMIT_NOFILE and
 * RLIMIT_CORE from c (exact), then the fixed ones. Returns how many (SL_CREDS_LIMITS).
 * Async-signal-safe (no calls).
 */
size_t sl_creds_limits(const struct sl_creds *c, struct sl_creds_limit ret[SL_CREDS_LIMITS]);

/*
 * The rlimit to set for want where have is the current one: max as wanted when exact, else
 * at most have's hard limit (RLIM_INFINITY: that hard limit); cur at most max (RLIM_INFINITY:
 * max). Async-signal-safe.
 */
struct rlimit sl_creds_limit_fit(const struct sl_creds_limit *want, struct rlimit have);
