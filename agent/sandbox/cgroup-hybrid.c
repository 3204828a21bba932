// SPDX-License-Identifier: Apache-2.0
/*
 * Limits on v1 hierarchies (hybrid hosts: cgroup2 without controllers + v1 memory, cpu, pids).
 * Each sandbox gets <v1 self dir>/sandlot/<name> in every such hierarchy; clone3 cannot put a
 * task into v1 cgroups, so the parent writes the child's pid to cgroup.procs while the child
 * still waits on its sync socket.
 */
#include "sandbox/cgroup-internal.h"

#include <sandlot/util.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const ctl_names[SL_CG_N] = {"memory", "cpu", "pids"};

static int hybrid_open(struct sl_cgroup_root *root, const struct sl_cgroup_host *host)
{
	const struct sl_cgroup_v1 *seen[SL_CG_N] = {0};

	for (int i = 0; i < SL_CG_N; i++) {
		const struct sl_cgroup_v1 *v = sl_cgroup_host_v1(host, ctl_names[i]);
		bool dup = false;

		seen[i] = v;
		for (int j = 0; j < i; j++)
			dup |= v && seen[j] == v; /* co-mounted controllers share one directory */
		if (!v || dup || !v->self_dir[0])
			continue;
		root->v1_dirfd[i] = sl_cgroup_open_root_dir(v->self_dir);
		if (root->v1_dirfd[i] < 0)
			return root->v1_dirfd[i];
	}
	return 0;
}

/* memory+swap equal to memory: no swap beyond the limit (file absent without swapaccount) */
static int set_memory(int fd, uint64_t old, uint64_t bytes)
{
	/* the kernel keeps memsw >= memory at every step: raise memsw first, lower it last */
	bool raise = old && bytes > old; /* 0: unlimited */
	int r = 0;

	if (raise)
		r = sl_cgroup_write_u64(fd, "memory.memsw.limit_in_bytes", bytes);
	if (r < 0 && r != -ENOENT)
		return r;
	r = sl_cgroup_write_u64(fd, "memory.limit_in_bytes", bytes);
	if (r >= 0 && !raise)
		r = sl_cgroup_write_u64(fd, "memory.memsw.limit_in_bytes", bytes);
	return r == -ENOENT ? 0 : r;
}

/*
 * v1 charges socket buffers to a memory cgroup only once its kmem.tcp limit was written (and
 * then to a counter of their own, outside memory.usage_in_bytes): without it, sockets that
 * are never read hold host memory no limit sees. The same bound as for the rest.
 */
static int set_tcp_memory(int fd, uint64_t bytes)
{
	int r = bytes ? sl_cgroup_write_u64(fd, "memory.kmem.tcp.limit_in_bytes", bytes)
		      : sl_write_fileat(fd, "memory.kmem.tcp.limit_in_bytes", "-1");

	return r == -ENOENT ? 0 : r; /* a kernel without v1 TCP accounting */
}

static int hybrid_set_limits(struct sl_cgroup *cg, const struct sl_cgroup_limits *old,
			     const struct sl_cgroup_limits *lim)
{
	int fd = cg->v1_fd[SL_CG_MEMORY], r = 0;

	if ((lim->memory_bytes && fd < 0) || (lim->cpu_quota_us && cg->v1_fd[SL_CG_CPU] < 0) ||
	    (lim->pids_max && cg->v1_fd[SL_CG_PIDS] < 0))
		return -ENOTSUP; /* a limit asked for that no hierarchy can enforce */
	if (lim->memory_bytes != old->memory_bytes)
		r = lim->memory_bytes ? set_memory(fd, old->memory_bytes, lim->memory_bytes)
				      : sl_write_fileat(fd, "memory.limit_in_bytes", "-1");
	if (r >= 0 && lim->memory_bytes != old->memory_bytes)
		r = set_tcp_memory(fd, lim->memory_bytes);
	fd = cg->v1_fd[SL_CG_CPU];
	if (r >= 0 && lim->cpu_period_us != old->cpu_period_us && lim->cpu_period_us)
		r = sl_cgroup_write_u64(fd, "cpu.cfs_period_us", lim->cpu_period_us);
	if (r >= 0 && lim->cpu_quota_us != old->cpu_quota_us)
		r = lim->cpu_quota_us
			    ? sl_cgroup_write_u64(fd, "cpu.cfs_quota_us", lim->cpu_quota_us)
			    : sl_write_fileat(fd, "cpu.cfs_quota_us", "-1");
	fd = cg->v1_fd[SL_CG_PIDS];
	if (r >= 0 && lim->pids_max != old->pids_max)
		r = lim->pids_max ? sl_cgroup_write_u64(fd, "pids.max", lim->pids_max)
				  : sl_write_fileat(fd, "pids.max", "max");
	return r;
}

static int hybrid_create(struct sl_cgroup *cg)
{
	const struct sl_cgroup_root *root = cg->root;

	for (int i = 0; i < SL_CG_N; i++) {
		if (root->v1_dirfd[i] < 0)
			continue;
		if (mkdirat(root->v1_dirfd[i], cg->name, 0755) < 0)
			return sl_negerrno();
		cg->v1_fd[i] =
			openat(root->v1_dirfd[i], cg->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg->v1_fd[i] < 0)
			return sl_negerrno();
		cg->join_fd[i] = openat(cg->v1_fd[i], "tasks", O_WRONLY | O_CLOEXEC);
		if (cg->join_fd[i] < 0)
			return sl_negerrno();
	}
	/* what a new v1 cgroup starts with, so that set_limits writes what differs */
	cg->lim.cpu_period_us = 100000;
	return 0;
}

static int hybrid_stats(struct sl_cgroup *cg, struct sl_cgroup_stats *st)
{
	int fd = cg->v1_fd[SL_CG_MEMORY], r;

	if (fd < 0)
		return 0;
	r = sl_cgroup_read_key(fd, "memory.oom_control", "oom_kill", &st->oom_kills);
	if (r < 0 && r != -ENOENT)
		return r;
	st->memory_peak_bytes = sl_cgroup_read_u64(fd, "memory.max_usage_in_bytes");
	return 0;
}

static int hybrid_remove(struct sl_cgroup_root *root, const char *name)
{
	int ret = 0;

	for (int i = 0; i < SL_CG_N; i++) {
		if (root->v1_dirfd[i] < 0)
			continue;
		int r = sl_cgroup_rmdirat(root->v1_dirfd[i], name);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

const struct sl_cgroup_ops sl_cgroup_ops_hybrid = {
	.name = "hybrid",
	.open = hybrid_open,
	.create = hybrid_create,
	.set_limits = hybrid_set_limits,
	.stats = hybrid_stats,
	.remove = hybrid_remove,
};
