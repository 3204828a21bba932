/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* Shared between cgroup.c and its limit backends (cgroup-v2.c, cgroup-hybrid.c). */
#include "sandbox/cgroup.h"

enum {
	SL_CG_MEMORY = 0,
	SL_CG_CPU,
	SL_CG_PIDS,
	SL_CG_N,
};

struct sl_cgroup_ops {
	const char *name;
	/* opens the backend's own directories; called once by sl_cgroup_root_open */
	int (*open)(struct sl_cgroup_root *root, const struct sl_cgroup_host *host);
	/* creates the limit cgroups of cg (the v2 dir exists already), opens join_fd[] */
	int (*create)(struct sl_cgroup *cg);
	/* writes the limits in new that differ from old */
	int (*set_limits)(struct sl_cgroup *cg, const struct sl_cgroup_limits *old,
			  const struct sl_cgroup_limits *new);
	/* fills memory_peak_bytes and oom_kills */
	int (*stats)(struct sl_cgroup *cg, struct sl_cgroup_stats *st);
	/* removes the limit cgroups called name; missing ones are fine */
	int (*remove)(struct sl_cgroup_root *root, const char *name);
};

struct sl_cgroup_root {
	const struct sl_cgroup_ops *ops;
	int v2_dirfd;	       /* <v2 self dir>/sandlot */
	int v1_dirfd[SL_CG_N]; /* <v1 self dir>/sandlot per controller (-1: none / same as other) */
};

struct sl_cgroup {
	struct sl_cgroup_root *root;
	char name[SL_CGROUP_NAME_MAX];
	int v2_fd;		     /* the sandbox's v2 directory */
	int v1_fd[SL_CG_N];	     /* its v1 directories (hybrid), -1 otherwise */
	int join_fd[SL_CG_N];	     /* their "tasks" files, open for writing */
	struct sl_cgroup_limits lim; /* as written */
	bool destroyed;
};

extern const struct sl_cgroup_ops sl_cgroup_ops_v2;
extern const struct sl_cgroup_ops sl_cgroup_ops_hybrid;

/*
 * Opens <dir>/sandlot (O_DIRECTORY), where a hierarchy's sandbox cgroups go, creating it when
 * missing. Returns the fd or -errno (-ENOENT for dir "": not reachable).
 */
int sl_cgroup_open_root_dir(const char *dir);

/* Reads "key value" from a flat-keyed file below dirfd (cpu.stat, memory.events). */
int sl_cgroup_read_key(int dirfd, const char *file, const char *key, uint64_t *ret);

/* The number a one-value file (memory.peak, ...) holds; 0 when it is missing or unreadable. */
uint64_t sl_cgroup_read_u64(int dirfd, const char *file);

/* Writes a decimal number to file below dirfd. */
int sl_cgroup_write_u64(int dirfd, const char *file, uint64_t v);

/* rmdir name below dirfd, retrying briefly on EBUSY (tasks still leaving). ENOENT is fine. */
int sl_cgroup_rmdirat(int dirfd, const char *name);
