/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Concurrency admission with AWS Lambda's rules, pure: no I/O, no logging, not thread-safe (one
 * owner, the control node's loop). One unit is held by each invocation from admission to its end.
 *
 * Each account has a concurrency limit (the default given to sl_counting_new until set). A
 * function may reserve part of it: a function with a reservation runs at most `reserved` at once
 * and those units are its alone (a floor: nobody else can take them; a cap: it cannot take more).
 * Functions without a reservation share the unreserved pool, limit - sum of reservations, which
 * can never be set below SL_COUNT_MIN_UNRESERVED (so an account whose limit is under it can
 * reserve nothing). A reservation of 0 throttles every call of its function.
 *
 * Accounts and functions live in hash tables: acquire and release cost O(1) in the number of
 * accounts and functions. Names are bounded: account exactly 12 digits, function 1..64 chars
 * ([A-Za-z0-9_-], Lambda's name pattern); anything else is -EINVAL. Functions are created on
 * first use and kept while they hold units or a reservation; accounts once seen are kept (they
 * come from the key store, which bounds them).
 */
#include <stdbool.h>
#include <stdint.h>

struct sl_counting;

enum sl_count_reason {
	SL_COUNT_OK = 0,
	SL_COUNT_ACCOUNT,  /* Reason "ConcurrentInvocationLimitExceeded" */
	SL_COUNT_FUNCTION, /* Reason "ReservedFunctionConcurrentInvocationLimitExceeded" */
};

#define SL_COUNT_MIN_UNRESERVED 100

/* 0, -ENOMEM; -EINVAL when default_account_limit is 0. */
int sl_counting_new(struct sl_counting **ret, uint32_t default_account_limit);
/* NULL-safe; sets *c to NULL. */
void sl_counting_free(struct sl_counting **c);

/*
 * Account limit (default for accounts never set). -EINVAL for a bad account or a limit of 0;
 * -ENOSPC when the account has reservations and they would leave fewer than
 * SL_COUNT_MIN_UNRESERVED unreserved (unchanged then). Units already held above a lowered limit
 * stay held; new acquires are refused until usage falls under it.
 */
int sl_counting_set_account_limit(struct sl_counting *c, const char *account, uint32_t limit);

/*
 * Reserved concurrency of one function (0 allowed = throttle every call, as Lambda). -ENOSPC when
 * it would leave fewer than SL_COUNT_MIN_UNRESERVED unreserved in the account (unchanged then).
 * Units the function already holds move with it between the unreserved pool and its reservation.
 */
int sl_counting_set_reserved(struct sl_counting *c, const char *account, const char *function,
			     uint32_t reserved);
/* Removes the reservation: the function shares the unreserved pool again. 0 (also when none). */
int sl_counting_clear_reserved(struct sl_counting *c, const char *account, const char *function);
/* -ENOENT when none is set. */
int sl_counting_get_reserved(const struct sl_counting *c, const char *account, const char *function,
			     uint32_t *ret);

/*
 * Takes one unit for an invocation of function: 0, or -EAGAIN with *ret_reason set. A function
 * with a reservation uses only its reservation; others share the account's unreserved pool. async
 * callers may not take the last `async_headroom` units of the unreserved pool (set with
 * sl_counting_set_async_headroom; default 0) so async never starves sync callers.
 * -EINVAL for bad names, -ENOMEM. ret_reason may be NULL.
 */
int sl_counting_acquire(struct sl_counting *c, const char *account, const char *function,
			bool async, enum sl_count_reason *ret_reason);

/*
 * Returns the unit taken by a successful acquire. Releasing more than was taken is a bug:
 * -EINVAL, counts unchanged.
 */
int sl_counting_release(struct sl_counting *c, const char *account, const char *function);

void sl_counting_set_async_headroom(struct sl_counting *c, uint32_t units);

struct sl_count_usage {
	uint32_t limit;		    /* the account's limit */
	uint32_t reserved_total;    /* sum of reservations */
	uint32_t unreserved_limit;  /* limit - reserved_total */
	uint32_t in_use;	    /* units held in the account */
	uint32_t unreserved_in_use; /* of which by functions without a reservation */
};

/* 0 (an account never seen reports the default limit and zeros), -EINVAL for a bad account. */
int sl_counting_account_usage(const struct sl_counting *c, const char *account,
			      struct sl_count_usage *ret);

/* Units held by one function (0 for unknown ones). */
uint32_t sl_counting_function_in_use(const struct sl_counting *c, const char *account,
				     const char *function);

/* Forgets a deleted function (its reservation; -EBUSY while it holds units). 0 when unknown. */
int sl_counting_forget_function(struct sl_counting *c, const char *account, const char *function);
