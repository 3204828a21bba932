/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The child side of a sandbox: sl_child_main() runs the isolation steps, in order, on what the
 * parent prepared (sandbox.c) in a plan; the child only makes syscalls on it.
 */
#include <sched.h>
#include <sys/ioctl.h>
#include <stdbool.h>

#include <sandlot/util.h>

#include "sandbox/cgroup-internal.h"
#include "sandbox/creds.h"
#include "sandbox/rootfs.h"
#include "sandbox/seccomp.h"

#ifndef PIDFD_GET_MNT_NAMESPACE
#define PIDFD_GET_MNT_NAMESPACE _IO(0xFF, 3) /* linux/pidfd.h, Linux 6.11 */
#endif

struct sl_child_plan {
	int sock;	       /* child end of the sync/report socket */
	int stdio[3];	       /* fds to become 0, 1, 2; -1 = /dev/null inside */
	int join_fds[SL_CG_N]; /* v1 "tasks" files to write "0" to (sl_cgroup_join_fds) */
	size_t n_join;
	int netns_fd;	 /* network namespace to enter (lo up already), or -1 */
	bool new_netns;	 /* clone3 made a network namespace (lo is down) */
	int ipcns_fd;	 /* IPC namespace to enter (made ahead, fresh), or -1: clone3 made one */
	int utsns_fd;	 /* UTS namespace to enter (made ahead, fresh), or -1: clone3 made one */
	bool late_netns; /* the parent sends the network namespace (lo up) over sock while we
			    set up the rest (one-shot: made in parallel with our start) */
	int mntns_fd;	 /* a copy of the template made ahead to enter, or -1 */
	bool new_mntns;	 /* clone3 copied the template (no mntns_fd); neither: we share the
			    spawner's (one-shot) */
	bool hooked;	 /* the parent runs a hook: wait for its go after telling it we joined */
	int detach_efd;	 /* one-shot: wait on it for the template's host root to be gone, or -1 */
	struct sl_rootfs_child rootfs; /* code mount, /tmp options */
	struct sl_creds creds;	       /* uid/gid and rlimits */
	const struct sl_seccomp *seccomp;
	const char *hostname;
	const cpu_set_t *cpus;	/* CPUs to take back before init (see cmd_cpus), or NULL */
	int init_fd;		/* the init program (init-exe.h) */
	char *const *init_argv; /* "sandlot-init" CMD [ARGS...] */
	char *const *envp;	/* CMD's */
};

/*
 * Runs the steps and execs the sandbox's init; never returns. A failing step is reported on
 * sock (SL_REPORT_SETUP_FAILED with the step's name, report.h) and ends the child with status
 * 125.
 */
_noreturn_ void sl_child_main(const struct sl_child_plan *p);
