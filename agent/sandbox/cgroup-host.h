/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the host's cgroup setup looks like and where the agent itself sits in it. Read once at
 * start-up; the sandbox runtime creates its cgroups below the agent's own cgroup in each
 * hierarchy, and the probe reports it.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum sl_cgroup_layout {
	SL_CGROUP_NONE = 0, /* no cgroup file system mounted at all */
	SL_CGROUP_V2,	    /* unified: every controller on cgroup2 */
	SL_CGROUP_HYBRID,   /* cgroup2 mounted, resource controllers on v1 hierarchies */
	SL_CGROUP_V1,	    /* no cgroup2 */
};

#define SL_CGROUP_MAX_V1   16
#define SL_CGROUP_PATH_MAX 1024 /* longer cgroup paths are refused (-ENAMETOOLONG) */

struct sl_cgroup_v1 {
	char controllers[64]; /* comma list from the mount's super options, e.g. "cpu,cpuacct" */
	char mount[SL_CGROUP_PATH_MAX]; /* where the hierarchy is mounted */
	char self[SL_CGROUP_PATH_MAX];	/* the agent's cgroup inside it, from /proc/self/cgroup ("/"
					   = root) */
	char self_dir[SL_CGROUP_PATH_MAX]; /* absolute directory of that cgroup ("" when not
					      reachable) */
};

struct sl_cgroup_host {
	enum sl_cgroup_layout layout;
	char v2_mount[SL_CGROUP_PATH_MAX]; /* "" when cgroup2 is not mounted */
	char v2_self[SL_CGROUP_PATH_MAX]; /* the agent's v2 cgroup ("0::" line of /proc/self/cgroup)
					   */
	char v2_self_dir[SL_CGROUP_PATH_MAX]; /* absolute directory of it */
	char v2_controllers[256]; /* cgroup.controllers of the v2 root, space separated */
	size_t n_v1;
	struct sl_cgroup_v1 v1[SL_CGROUP_MAX_V1];
};

/*
 * Reads /proc/self/cgroup, the v2 root's cgroup.controllers and, when the fast path
 * (sl_cgroup_host_detect_at on /sys/fs/cgroup) is not sure, /proc/self/mountinfo. Returns 0
 * or -errno; on failure *ret is unspecified (the fast path writes it in place: no second
 * copy of the struct to fault in).
 */
int sl_cgroup_host_detect(struct sl_cgroup_host *ret);

/*
 * The same from given file contents (pure; for tests). controllers may be NULL. Lines that are
 * not well formed are skipped. Returns 0.
 */
int sl_cgroup_host_parse(const char *mountinfo, const char *proc_cgroup, const char *controllers,
			 struct sl_cgroup_host *ret);

/*
 * The fast path: the usual layouts at their usual places, checked with a few statfs/stat/
 * access calls instead of /proc/self/mountinfo (the kernel writes its text for every mount).
 * base is cgroup2 (pure v2), or a tmpfs with cgroup2 at
 * base/unified and each v1 hierarchy of proc_cgroup (the text of /proc/self/cgroup) at
 * base/<its controllers> (hybrid), every one the root of its hierarchy, in the initial
 * cgroup namespace. Returns 0 with *ret set as sl_cgroup_host_parse would (v2_controllers
 * left ""), or -EAGAIN (*ret untouched) when anything is otherwise.
 */
int sl_cgroup_host_detect_at(const char *base, const char *proc_cgroup, struct sl_cgroup_host *ret);

/* The v1 hierarchy that carries controller (e.g. "memory"), or NULL. */
const struct sl_cgroup_v1 *sl_cgroup_host_v1(const struct sl_cgroup_host *h,
					     const char *controller);

/* True when controller is enabled on the v2 root. */
bool sl_cgroup_host_v2_has(const struct sl_cgroup_host *h, const char *controller);

const char *sl_cgroup_layout_name(enum sl_cgroup_layout layout);
