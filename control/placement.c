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
 * What ranks a host; smaller is better, compared field by field in this order (tuned with
 * bench/placement's simulation, whose header has the figures).
 */
struct rank {
	uint64_t empty;	      /* 1 without sandboxes: open a host only when no used one fits */
	uint64_t short_lease; /* 1 when the lease ends before a sandbox's keep-alive would */
	uint64_t zone_fn;     /* the function's sandboxes in the host's zone */
	uint64_t fn;	      /* the function's sandboxes on the host */
	uint64_t left;	      /* memory left after placing: best fit packs */
};

static bool better(const struct rank *a, const struct rank *b)
{
	if (a->empty != b->empty)
		return a->empty < b->empty;
	if (a->short_lease != b->short_lease)
		return a->short_lease < b->short_lease;
	if (a->zone_fn != b->zone_fn)
		return a->zone_fn < b->zone_fn;
	if (a->fn != b->fn)
		return a->fn < b->fn;
	return a->left < b->left;
}

int sl_placement_pick(const struct sl_place_host *hosts, size_t n, uint32_t memory_mb,
		      const struct sl_place_opts *opts)
{
	struct sl_place_opts defaults;
	struct zones zs = {.n = 0};
	struct rank best = {0};
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
		int z;

		if (!eligible(h, memory_mb, opts))
			continue;
		z = zone_index(&zs, h->zone);
		struct rank r = {
			.empty = h->sandboxes == 0,
			.short_lease = h->lease_left_ms < opts->prefer_lease_left_ms,
			.zone_fn = z >= 0 ? zs.z[z].fn_sandboxes : h->fn_sandboxes,
			.fn = h->fn_sandboxes,
			.left = h->mem_total_mb - h->mem_used_mb - memory_mb,
		};

		if (best_i < 0 || better(&r, &best)) {
			best = r;
			best_i = (int)i;
		}
	}
	return best_i;
}
