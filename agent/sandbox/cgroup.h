/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Per-sandbox cgroups behind one interface, on both host layouts:
 *
 *   v2 (always): <v2 self dir>/sandlot/<name> is the sandbox's identity (its id is what BPF
 *      sees), and gives cgroup.freeze, cgroup.kill and cpu.stat even without controllers.
 *   limits: on that same v2 cgroup when the v2 root has memory, pids and cpu (backend "v2",
 *      cgroup-v2.c), else on v1 memory, cpu and pids hierarchies, each at
 *      <v1 self dir>/sandlot/<name> (backend "hybrid", cgroup-hybrid.c).
 *
 * Everything is created below the agent's own cgroup in each hierarchy, never elsewhere, and
 * no process other than the sandbox's is ever moved. Files are reached through directory fds
 * opened once, so the hot path does no path walks from "/sys".
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/cgroup-host.h"

#define SL_CGROUP_NAME_MAX 64 /* longest sandbox cgroup name, NUL included */

struct sl_cgroup_limits {
	uint64_t memory_bytes;	/* hard limit on memory (no swap beyond it); 0 = none. Kernel
				   memory is charged too; on hybrid hosts v1 counts TCP socket
				   buffers apart, under a second limit of the same size */
	uint64_t cpu_quota_us;	/* CPU time allowed per period; 0 = unlimited */
	uint64_t cpu_period_us; /* 0 = 100000 */
	uint64_t pids_max;	/* tasks; 0 = unlimited */
};

struct sl_cgroup_stats {
	uint64_t cpu_usec;	    /* v2 cpu.stat usage_usec */
	uint64_t memory_peak_bytes; /* high-water mark of memory use (0 when not measured) */
	uint64_t oom_kills;	    /* processes the OOM killer killed in this cgroup */
};

/* The "sandlot" directory in every hierarchy the runtime uses. */
struct sl_cgroup_root;
/* One sandbox's cgroups. */
struct sl_cgroup;

/*
 * Opens (creating when missing) the sandlot directory below the agent's own cgroup in the v2
 * hierarchy and, on hybrid hosts, in the v1 memory, cpu and pids hierarchies; on pure v2 hosts
 * enables memory, pids and cpu for the children. Returns 0, -ENOTSUP when there is no cgroup2
 * mount, or -errno.
 */
int sl_cgroup_root_open(struct sl_cgroup_root **ret, const struct sl_cgroup_host *host);

/* NULL-safe; closes the directory fds (removes nothing). Sets *root to NULL. */
void sl_cgroup_root_free(struct sl_cgroup_root **root);

/* "v2" or "hybrid". */
const char *sl_cgroup_root_backend(const struct sl_cgroup_root *root);

/*
 * Calls fn for the name of every sandbox cgroup found below root in any hierarchy (each name
 * once per hierarchy it appears in; fn must tolerate repeats). Returns 0 or -errno.
 */
int sl_cgroup_root_list(struct sl_cgroup_root *root, void (*fn)(const char *name, void *data),
			void *data);

/*
 * Kills every process in the sandbox cgroup called name and removes it from every hierarchy
 * (stale cleanup). Missing directories are fine. Returns 0 or -errno (-EBUSY when processes
 * would not die within about a second).
 */
int sl_cgroup_root_remove(struct sl_cgroup_root *root, const char *name);

/*
 * Whether a task ever ran in the sandbox cgroup called name: its v2 cpu.stat usage_usec is
 * not 0. False for a shell a pool made ahead and nobody took; true when it cannot be read
 * (no v2 directory left), so that a leftover is never called a shell on a guess.
 */
bool sl_cgroup_root_ran(struct sl_cgroup_root *root, const char *name);

/*
 * Removes the "sandlot" directory below the caller's own cgroup in every hierarchy, where it
 * is empty; busy or missing ones are left alone. For a process that knows no runtime of its
 * cgroup still uses them (a benchmark at its end; tools/run-tests does the same in shell):
 * a runtime opened later makes them again. Returns how many were removed, or -errno when the
 * host's layout cannot be read.
 */
int sl_cgroup_root_prune(void);

/*
 * Calls fn with the path of the "sandlot" directory below the caller's own cgroup in every
 * hierarchy of host that has one reachable (v2 first), whether it exists yet or not.
 */
void sl_cgroup_host_each_root(const struct sl_cgroup_host *host,
			      void (*fn)(const char *dir, void *data), void *data);

/*
 * Creates the cgroups of one sandbox called name (a single path component of at most
 * SL_CGROUP_NAME_MAX-1 bytes) and sets its limits. On failure nothing is left behind.
 * root must outlive the cgroup. Returns 0, -EEXIST, -EINVAL or -errno.
 */
int sl_cgroup_new(struct sl_cgroup **ret, struct sl_cgroup_root *root, const char *name,
		  const struct sl_cgroup_limits *lim);

/* The v2 directory fd: for clone3's CLONE_INTO_CGROUP. Owned by cg. */
int sl_cgroup_fd(const struct sl_cgroup *cg);

/* The v2 cgroup id (what bpf_get_current_cgroup_id() returns in the sandbox), or -errno. */
int sl_cgroup_id(const struct sl_cgroup *cg, uint64_t *ret);

/* The v2 cgroup id of a cgroup directory, by path (its kernfs file handle), or -errno. */
int sl_cgroup_path_id(const char *path, uint64_t *ret);

/*
 * Changes the limits, writing only the values that differ from the current ones (a cgroup
 * made ahead for the pool gets the caller's limits at spawn). Returns 0 or -errno.
 */
int sl_cgroup_set_limits(struct sl_cgroup *cg, const struct sl_cgroup_limits *lim);

/*
 * The hierarchies clone3 cannot put a task into (v1 ones on hybrid hosts; none on v2) as
 * pre-opened write fds of their "tasks" files, owned by cg. Stores up to SL_CG_N fds in ret
 * and returns how many.
 */
size_t sl_cgroup_join_fds(const struct sl_cgroup *cg, int ret[]);

/*
 * Child side: moves the calling thread into those cgroups by writing "0" to each fd. Writing
 * our own thread to "tasks" (not a pid to cgroup.procs) skips the global threadgroup rwsem
 * and its RCU grace period. For a single-threaded child before it runs anything untrusted.
 * Async-signal-safe. Returns 0 or -errno.
 */
int sl_cgroup_join_self(const int fds[], size_t n);

/* Writes cgroup.freeze (1 or 0). Freezing is asynchronous: cgroup.events says when. */
int sl_cgroup_freeze(struct sl_cgroup *cg, bool frozen);

/* Writes cgroup.kill: SIGKILL to every process in the cgroup and its descendants. */
int sl_cgroup_kill(struct sl_cgroup *cg);

/* Reads CPU usage, peak memory and OOM kills. Returns 0 or -errno. */
int sl_cgroup_stats(struct sl_cgroup *cg, struct sl_cgroup_stats *ret);

/*
 * Kills what is left, waits (up to about a second) until the cgroup is empty and removes it
 * from every hierarchy. After it returns 0 nothing of the sandbox's cgroups exists any more.
 * Returns 0 or -errno (-EBUSY when it stayed populated); it may be called again.
 */
int sl_cgroup_destroy(struct sl_cgroup *cg);

/* NULL-safe: destroys (best effort) when not done yet, frees, sets *cg to NULL. */
void sl_cgroup_free(struct sl_cgroup **cg);
