/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Parsers for values that operators type: sizes, durations, counts. All are strict: no
 * leading/trailing junk, no negative numbers, overflow rejected. Each returns 0 or -EINVAL
 * (malformed) / -ERANGE (out of range), leaving *ret untouched on failure.
 */
#include <stdint.h>

/*
 * "4096", "512K", "128M", "2G", "1T" (powers of 1024; "KiB"/"MiB"/"GiB" and "KB"/"MB"/"GB"
 * are accepted as the same). Empty strings and unknown suffixes ("12Q") are -EINVAL.
 */
int sl_parse_size(const char *s, uint64_t *ret);

/*
 * "250ms", "30s", "1.5s", "10m", "0.5h", "1500us", "2m30s"; a bare number ("30", "1.5") means
 * seconds. Fractions are exact to the nanosecond (finer digits are dropped). Returns the
 * duration in nanoseconds.
 */
int sl_parse_duration(const char *s, uint64_t *ret_ns);

/* Decimal unsigned integer within [min, max]. */
int sl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* Non-negative decimal with optional fraction ("0.5", "2"), at most max. */
int sl_parse_double(const char *s, double max, double *ret);
