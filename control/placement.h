/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Which host gets a new sandbox, pure: no I/O, no allocation, no logging. The caller (the
 * router) passes a snapshot of every host; warm reuse of idle sandboxes is the router's job and
 * happens before placement is asked.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_place_host {
	const char *zone;      /* availability zone name (NULL: one zone of its own) */
	uint64_t mem_total_mb; /* memory the host offers to sandboxes */
	uint64_t mem_used_mb;  /* memory of its live sandboxes */
	uint32_t sandboxes;    /* live sandboxes */
	uint32_t max_sandboxes;
	uint32_t fn_sandboxes;		 /* live sandboxes of the function being placed */
	bool healthy;			 /* heartbeating and not draining */
	int64_t lease_left_ms;		 /* <= 0: lease over, never chosen */
	uint32_t recent_invokes;	 /* invocations over the recent window */
	uint32_t recent_platform_errors; /* of which failed for platform reasons */
};

struct sl_place_opts {
	double max_platform_error_rate; /* skip hosts above this (with >= min_sample invokes); 0.5
					 */
	uint32_t min_sample;		/* 10 */
	int64_t min_lease_left_ms;	/* do not place on a host about to be drained; e.g. 60000 */
	/* prefer hosts whose lease outlasts a new sandbox's keep-alive; 600000 (10 min) */
	int64_t prefer_lease_left_ms;
	/* an empty host is opened before one function's sandboxes hold more than this percentage
	 * of a host's memory; 25 (0: no limit) */
	uint32_t max_fn_mem_pct;
};

/* Fills the defaults: 0.5, 10, 60000, 600000, 25. */
void sl_placement_default_opts(struct sl_place_opts *ret);

/*
 * Picks the host for one new sandbox of memory_mb. Eligible hosts: healthy, lease_left_ms at
 * least min_lease_left_ms (and > 0), memory and sandbox room, and a platform error rate at most
 * max_platform_error_rate once they have min_sample recent invocations. Among them, in order:
 *   1. a zone holding none of this function's sandboxes, on an empty host if it has no used
 *      one that fits (spread over zones: a lost zone takes only part of a function);
 *   2. a host where the function would not hold more than max_fn_mem_pct of the memory (a
 *      burst of one function opens another host rather than filling one: its sandboxes'
 *      loads are correlated, uncorrelated functions are what should share a host);
 *   3. a host already holding sandboxes (open an empty host only when no used one fits: pack);
 *   4. a host whose lease has prefer_lease_left_ms left (a sandbox placed on a host drained
 *      before its keep-alive ends is a cold start thrown away);
 *   5. the zone holding the fewest of this function's sandboxes, then
 *   6. the host holding the fewest of them (spread one function over the hosts in use);
 *   7. the fullest host by memory that fits (best fit: pack);
 *   8. the lowest index, so the choice is deterministic.
 * bench/placement's simulation justifies this order. Returns the index into hosts, or -ENOSPC
 * when none fits. O(n) in the number of hosts, no allocation. opts NULL: the defaults. Zones
 * are compared by name (pointer first); a snapshot may carry at most 64 distinct zones (hosts
 * in further zones count as a zone of their own, as a NULL zone does).
 */
int sl_placement_pick(const struct sl_place_host *hosts, size_t n, uint32_t memory_mb,
		      const struct sl_place_opts *opts);
