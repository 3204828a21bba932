/* First fit, used only until control/placement.c (ctlpure's) is in the tree. */
#include "placement.h"

#include <errno.h>

void sl_placement_default_opts(struct sl_place_opts *ret)
{
	*ret = (struct sl_place_opts){
		.max_platform_error_rate = 0.5, .min_sample = 10, .min_lease_left_ms = 60000};
}

int sl_placement_pick(const struct sl_place_host *hosts, size_t n, uint32_t memory_mb,
		      const struct sl_place_opts *opts)
{
	for (size_t i = 0; i < n; i++)
		if (hosts[i].healthy && hosts[i].lease_left_ms > 0 &&
		    hosts[i].sandboxes < hosts[i].max_sandboxes &&
		    hosts[i].mem_total_mb >= hosts[i].mem_used_mb + memory_mb)
			return (int)i;
	return -ENOSPC;
}
