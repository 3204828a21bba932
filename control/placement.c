/* Placement of a new sandbox: eligibility, then a lexicographic preference over the hosts. */
#include "placement.h"

#include <errno.h>
#include <string.h>

#define MAX_ZONES 64

struct zone_count {
	const char *name;
	uint64_t fn_sandboxes;
};

/* The function's sandboxes per zone, over every host (eligible or not). */
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
	zs->z[zs->n] = (struct zone_count){.name = name};
	zs->last = zs->n;
	return (int)zs->n++;
}

static bool eligible(const struct sl_place_host *h, uint32_t memory_mb,
		     const struct sl_place_opts *o)
{
	if (!h->healthy || h->lease_left_ms <= 0 || h->lease_left_ms < o->min_lease_left_ms)
		return false;
	if (h->mem_used_mb > h->mem_total_mb || h->mem_total_mb - h->mem_used_mb < memory_mb)
		return false;
	if (h->sandboxes >= h->max_sandboxes)
		return false;
	if (h->recent_invokes >= o->min_sample && h->recent_invokes > 0 &&
	    (double)h->recent_platform_errors > o->max_platform_error_rate * h->recent_invokes)
		return false;
	return true;
}

/*
 * What ranks a host, packed into one integer compared at once; smaller is better. From the most
 * significant bits down, in the order bench/placement's simulation chose:
 *   1 bit   empty: a host without sandboxes (open a host only when no used one fits)
 *   1 bit   short lease: the lease ends before a new sandbox's keep-alive would
 *   20 bits the function's sandboxes in the host's zone
 *   16 bits the function's sandboxes on the host
 *   26 bits memory left after placing, in MB (best fit packs)
 * Counts past their width saturate (a million sandboxes of one function in a zone, 64 TB).
 */
static uint64_t sat(uint64_t v, int bits)
{
	uint64_t max = (1ULL << bits) - 1;

	return v < max ? v : max;
}

static uint64_t rank(const struct sl_place_host *h, uint64_t zone_fn, uint32_t memory_mb,
		     const struct sl_place_opts *o)
{
	return (uint64_t)(h->sandboxes == 0) << 63 |
	       (uint64_t)(h->lease_left_ms < o->prefer_lease_left_ms) << 62 |
	       sat(zone_fn, 20) << 42 | sat(h->fn_sandboxes, 16) << 26 |
	       sat(h->mem_total_mb - h->mem_used_mb - memory_mb, 26);
}

int sl_placement_pick(const struct sl_place_host *hosts, size_t n, uint32_t memory_mb,
		      const struct sl_place_opts *opts)
{
	struct sl_place_opts defaults;
	struct zones zs = {.n = 0};
	uint64_t best = UINT64_MAX;
	int best_i = -ENOSPC;

	if (!opts) {
		sl_placement_default_opts(&defaults);
		opts = &defaults;
	}
	if (!hosts || n > INT32_MAX)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		int z = zone_index(&zs, hosts[i].zone);

		if (z >= 0)
			zs.z[z].fn_sandboxes += hosts[i].fn_sandboxes;
	}
	for (size_t i = 0; i < n; i++) {
		const struct sl_place_host *h = &hosts[i];
		uint64_t r;
		int z;

		if (!eligible(h, memory_mb, opts))
			continue;
		z = zone_index(&zs, h->zone);
		r = rank(h, z >= 0 ? zs.z[z].fn_sandboxes : h->fn_sandboxes, memory_mb, opts);
		if (best_i < 0 || r < best) {
			best = r;
			best_i = (int)i;
		}
	}
	return best_i;
}
