/*
 * Limits on the unified hierarchy (pure v2 hosts): memory.max, memory.swap.max, pids.max and
 * cpu.max on the sandbox's own v2 cgroup. The agent's cgroup must be able to delegate the
 * controllers (no processes of its own in a cgroup that enables them, as systemd's Delegate=
 * arranges): enabling them fails with EBUSY otherwise, and the root open reports it.
 */
#include "cgroup-internal.h"

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

static int v2_create(struct sl_cgroup *cg, const struct sl_cgroup_limits *lim)
{
	int r = 0;

	if (lim->memory_bytes) {
		r = sl_cgroup_write_u64(cg->v2_fd, "memory.max", lim->memory_bytes);
		if (r >= 0)
			r = sl_cgroup_write_u64(cg->v2_fd, "memory.swap.max", 0);
		if (r == -ENOENT) /* no swap controller: nothing to limit */
			r = 0;
	}
	if (r >= 0 && lim->pids_max)
		r = sl_cgroup_write_u64(cg->v2_fd, "pids.max", lim->pids_max);
	if (r >= 0 && lim->cpu_quota_us) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64, lim->cpu_quota_us,
			 lim->cpu_period_us ? lim->cpu_period_us : 100000);
		r = sl_write_fileat(cg->v2_fd, "cpu.max", buf);
	}
	return r;
}

static int v2_attach(struct sl_cgroup *cg, pid_t pid)
{
	return 0; /* clone3(CLONE_INTO_CGROUP) put it there */
}

static int v2_stats(struct sl_cgroup *cg, struct sl_cgroup_stats *st)
{
	char buf[32];
	int r;

	r = sl_cgroup_read_key(cg->v2_fd, "memory.events", "oom_kill", &st->oom_kills);
	if (r < 0 && r != -ENOENT)
		return r;
	_cleanup_close_ int f = openat(cg->v2_fd, "memory.peak", O_RDONLY | O_CLOEXEC);
	ssize_t n = f >= 0 ? read(f, buf, sizeof(buf) - 1) : -1;
	if (n > 0) {
		buf[n] = '\0';
		st->memory_peak_bytes = strtoull(buf, NULL, 10);
	}
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
	.attach = v2_attach,
	.stats = v2_stats,
	.remove = v2_remove,
};
