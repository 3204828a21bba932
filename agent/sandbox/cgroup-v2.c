// SPDX-License-Identifier: Apache-2.0
/*
 * Limits on the unified hierarchy (pure v2 hosts): memory.max, memory.swap.max, pids.max and
 * cpu.max on the sandbox's own v2 cgroup. The agent's cgroup must be able to delegate the
 * controllers (no processes of its own in a cgroup that enables them, as systemd's Delegate=
 * arranges): enabling them fails with EBUSY otherwise, and the root open reports it.
 */
#include "sandbox/cgroup-internal.h"

#include <sandlot/util.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define CONTROLLERS "+memory +pids +cpu"

static int v2_open(struct sl_cgroup_root *root, const struct sl_cgroup_host *host)
{
	_cleanup_close_ int self = open(host->v2_self_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (self < 0)
		return sl_negerrno();
	r = sl_write_fileat(self, "cgroup.subtree_control", CONTROLLERS);
	if (r < 0)
		return r;
	return sl_write_fileat(root->v2_dirfd, "cgroup.subtree_control", CONTROLLERS);
}

static int v2_create(struct sl_cgroup *cg)
{
	cg->lim.cpu_period_us = 100000; /* cpu.max starts as "max 100000" */
	return 0;
}

static int v2_set_limits(struct sl_cgroup *cg, const struct sl_cgroup_limits *old,
			 const struct sl_cgroup_limits *lim)
{
	char buf[64];
	int r = 0;

	if (lim->memory_bytes != old->memory_bytes) {
		if (lim->memory_bytes)
			r = sl_cgroup_write_u64(cg->v2_fd, "memory.max", lim->memory_bytes);
		else
			r = sl_write_fileat(cg->v2_fd, "memory.max", "max");
		if (r >= 0 && !old->memory_bytes)
			r = sl_cgroup_write_u64(cg->v2_fd, "memory.swap.max", 0);
		if (r == -ENOENT) /* no swap controller: nothing to limit */
			r = 0;
	}
	if (r >= 0 && lim->pids_max != old->pids_max) {
		if (lim->pids_max)
			r = sl_cgroup_write_u64(cg->v2_fd, "pids.max", lim->pids_max);
		else
			r = sl_write_fileat(cg->v2_fd, "pids.max", "max");
	}
	if (r >= 0 &&
	    (lim->cpu_quota_us != old->cpu_quota_us || lim->cpu_period_us != old->cpu_period_us)) {
		if (lim->cpu_quota_us)
			snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64, lim->cpu_quota_us,
				 lim->cpu_period_us ? lim->cpu_period_us : 100000);
		else
			snprintf(buf, sizeof(buf), "max");
		r = sl_write_fileat(cg->v2_fd, "cpu.max", buf);
	}
	return r;
}

static int v2_stats(struct sl_cgroup *cg, struct sl_cgroup_stats *st)
{
	int r;

	r = sl_cgroup_read_key(cg->v2_fd, "memory.events", "oom_kill", &st->oom_kills);
	if (r < 0 && r != -ENOENT)
		return r;
	st->memory_peak_bytes = sl_cgroup_read_u64(cg->v2_fd, "memory.peak");
	return 0;
}

static int v2_remove(struct sl_cgroup_root *root, const char *name)
{
	return 0; /* the v2 directory is the only one */
}

const struct sl_cgroup_ops sl_cgroup_ops_v2 = {
	.name = "v2",
	.open = v2_open,
	.create = v2_create,
	.set_limits = v2_set_limits,
	.stats = v2_stats,
	.remove = v2_remove,
};
