#pragma once
/*
 * The child side of a sandbox, as one ordered list of steps (sl_child_main). Everything it
 * uses was prepared by the parent (sandbox.c) before clone3; the child only makes syscalls on
 * it. clone3 already put it in the sandbox's v2 cgroup and new pid, net, uts and ipc
 * namespaces.
 */
#include <stdbool.h>

#include <sandlot/util.h>

#include "creds.h"
#include "rootfs.h"
#include "seccomp.h"

struct sl_child_plan {
	int sock;		       /* child end of the sync/report socket */
	int stdio[3];		       /* fds to become 0, 1, 2; -1 = /dev/null inside */
	struct sl_rootfs_child rootfs; /* template namespace, code mount, /tmp options */
	struct sl_creds creds;	       /* uid/gid and rlimits */
	const struct sl_seccomp *seccomp;
	const char *hostname;
	char *const *argv; /* CMD */
	char *const *envp;
};

/*
 * Runs the steps and becomes the sandbox's init; never returns. A failing step is reported on
 * sock (SL_REPORT_SETUP_FAILED with the step's name) and ends the child with status 125.
 */
_noreturn_ void sl_child_main(const struct sl_child_plan *p);
