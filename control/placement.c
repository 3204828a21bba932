// SPDX-License-Identifier: Apache-2.0
/* Placement of a new sandbox: eligibility, then a lexicographic preference over the hosts. */
#include "placement.h"

#include <errno.h>
#include <string.h>

#define MAX_ZONES 64
#define NONE	  (1ULL << 63) /* above every rank without its zone fields */

struct zone_count {
	const char *name;
	uint64_t fn_sandboxes; /* the function's, over every host of the zone (eligible or not) */
	uint64_t best;	       /* rank of the zone's best eligible host, zone bits left 0 */
	int best_i;	       /* its index, -1 while none */
};

/*
 * The zone fields sit among the rank's others, but within one zone they are the same for every
 * host: the best host of a zone is the best by the other fields, so one pass keeps each zone's
 * best and the counts, and the zones' winners are compared at the end with their counts.
 */
struct zones {
	struct zone_count z[MAX_ZONES];
	size_t n;
	size_t last; /* hosts come grouped by zone: try the previous match first */
};

void sl_placement_default_opts(struct sl_place_opts *ret)
{
	*ret = (struct sl_place_opts){
		.max_platform_error_rate = 0.5,
		.min_sample = 10,
		.min_lease_left_ms = 60000,
		.prefer_lease_left_ms = 600000,
		.max_fn_mem_pct = 25,
	};
}

/* Index of zone name, added if new; -1 when NULL or past MAX_ZONES. */
static int zone_index(struct zones *zs, const char *name)
{
	if (!name)
		return -1;
	if (zs->n && zs->z[zs->last].name == name)
		return (int)zs->last;
	for (size_t i = 0; i < zs->n; i++) /* callers usually share one string per zone */
		if (zs->z[i].name == name)
			return (int)(zs->last = i);
	for (size_t i = 0; i < zs->n; i++)
		if (strcmp(zs->z[i].name, name) == 0)
			return (int)(zs->last = i);
	if (zs->n == MAX_ZONES)
		return -1;
	zs->z[zs->n] = (struct zone_count){.name = name, .best = NONE, .best_i = -1};
	zs->last = zs->n;
	return (int)zs->n++;
}

/*
 * What ranks a host, packed into one integer compared at once; smaller is better. From the most
 * significant bits down, in the order bench/placement's simulation chose:
 *   1 bit   the host's zone holds some of the function's sandboxes (spread over zones first)
 *   1 bit   crowded: the function's sandboxes would hold more than max_fn_mem_pct of the host
 *   1 bit   empty: a host without sandboxes (open a host only when no used one fits)
 *   1 bit   short lease: the lease ends before a new sandbox's keep-alive would
 *   20 bits the function's sandboxes in the host's zone
 *   16 bits the function's sandboxes on the host
 *   24 bits memory left after placing, in MB (best fit packs)
 * The two zone fields are added per zone at the end (zone_part). Counts past their width
 * saturate (a million sandboxes of one function in a zone, 16 TB).
 */
static uint64_t sat(uint64_t v, int bits)
{
	uint64_t max = (1ULL << bits) - 1;

	return v < max ? v : max;
}

static uint64_t zone_part(uint64_t fn_sandboxes)
{
	return (uint64_t)(fn_sandboxes > 0) << 63 | sat(fn_sandboxes, 20) << 40;
}

static bool crowded(const struct sl_place_host *h, uint32_t memory_mb,
		    const struct sl_place_opts *o)
{
	return o->max_fn_mem_pct && ((uint64_t)h->fn_sandboxes + 1) * memory_mb * 100 >
					    h->mem_total_mb * o->max_fn_mem_pct;
}

/* The rank without its zone fields. */
static uint64_t rank(const struct sl_place_host *h, uint32_t memory_mb,
		     const struct sl_place_opts *o)
{
	return (uint64_t)crowded(h, memory_mb, o) << 62 | (uint64_t)(h->sandboxes == 0) << 61 |
	       (uint64_t)(h->lease_left_ms < o->prefer_lease_left_ms) << 60 |
	       sat(h->fn_sandboxes, 16) << 24 |
	       sat(h->mem_total_mb - h->mem_used_mb - memory_mb, 24);
}

/* Keeps (r, i) in *best and *best_i when better; equal ranks go to the lower index. */
static void keep_best(uint64_t r, int i, uint64_t *best, int *best_i)
{
	if (*best_i < 0 || r < *best || (r == *best && i < *best_i)) {
		*best = r;
		*best_i = i;
	}
}

int sl_placement_pick(const struct sl_place_host *hosts, size_t n, uint32_t memory_mb,
		      const struct sl_place_opts *opts)
{
	struct sl_place_opts defaults;
	struct zones zs = {.n = 0};
	uint64_t best = UINT64_MAX;
	int best_i = -ENOSPC;
	const char *last_name = NULL; /* the previous host's zone pointer and its index */
	int last_z = -1;
	int64_t lease_min;
	bool err_check_all; /* a negative rate refuses even hosts without errors */

	if (!opts) {
		sl_placement_default_opts(&defaults);
		opts = &defaults;
	}
	if (!hosts || n > INT32_MAX)
		return -ENOSPC;
	/* eligible()'s tests with the options' parts hoisted out of the loop: same outcome */
	lease_min = opts->min_lease_left_ms > 1 ? opts->min_lease_left_ms : 1;
	err_check_all = !(opts->max_platform_error_rate >= 0);
	for (size_t i = 0; i < n; i++) {
		const struct sl_place_host *h = &hosts[i];
		uint64_t r;
		bool ok;
		int z;

		if (h->zone != last_name) {
			last_z = zone_index(&zs, h->zone);
			last_name = h->zone;
		}
		z = last_z;
		if (z >= 0 && h->fn_sandboxes)
			zs.z[z].fn_sandboxes += h->fn_sandboxes;
		/* refused hosts rank with bit 63 set (no rank has it): no branch to mispredict */
		ok = h->healthy & (h->lease_left_ms >= lease_min) &
		     (h->sandboxes < h->max_sandboxes) & (h->mem_used_mb <= h->mem_total_mb) &
		     (h->mem_total_mb - h->mem_used_mb >= memory_mb);
		if (ok && (h->recent_platform_errors || err_check_all) &&
		    h->recent_invokes >= opts->min_sample && h->recent_invokes > 0 &&
		    (double)h->recent_platform_errors >
			    opts->max_platform_error_rate * h->recent_invokes)
			ok = false;
		r = rank(h, memory_mb, opts) | (uint64_t)!ok << 63;
		if (z >= 0) {
			if (r < zs.z[z].best) { /* ties: the lower index, seen first */
				zs.z[z].best = r;
				zs.z[z].best_i = (int)i;
			}
		} else if (ok) { /* a zone of its own */
			keep_best(r | zone_part(h->fn_sandboxes), (int)i, &best, &best_i);
		}
	}
	for (size_t z = 0; z < zs.n; z++)
		if (zs.z[z].best_i >= 0)
			keep_best(zs.z[z].best | zone_part(zs.z[z].fn_sandboxes), zs.z[z].best_i,
				  &best, &best_i);
	return best_i;
}
