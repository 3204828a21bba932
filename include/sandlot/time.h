/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* Time helpers: monotonic and wall clocks in nanoseconds, and conversions. */
#include <stdint.h>
#include <time.h>

#define SL_NSEC_PER_SEC	 1000000000ULL
#define SL_NSEC_PER_MSEC 1000000ULL
#define SL_NSEC_PER_USEC 1000ULL

/* CLOCK_MONOTONIC in ns. */
uint64_t sl_now_ns(void);
/* CLOCK_REALTIME in ns since the epoch. */
uint64_t sl_wall_ns(void);
/* CLOCK_BOOTTIME in ns (what bpf_ktime_get_boot_ns returns). */
uint64_t sl_boot_ns(void);

static inline double sl_ns_to_sec(uint64_t ns)
{
	return (double)ns / (double)SL_NSEC_PER_SEC;
}

static inline struct timespec sl_ns_to_timespec(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / SL_NSEC_PER_SEC),
			      .tv_nsec = (long)(ns % SL_NSEC_PER_SEC)};
	return ts;
}

/* Formats wall time ns as RFC 3339 UTC with milliseconds into buf (at least 32 bytes). */
char *sl_format_rfc3339(uint64_t wall_ns, char *buf, size_t len);
