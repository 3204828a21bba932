/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Child side of privilege dropping: rlimits, then the unprivileged uid/gid with no
 * supplementary groups, every capability set emptied (bounding, ambient, inheritable,
 * permitted, effective) and no_new_privs. All async-signal-safe (syscalls only), for a child
 * of clone3 before it execs.
 */
#include <stdint.h>
#include <sys/types.h>

struct sl_creds {
	uid_t uid;	     /* unprivileged, distinct per sandbox */
	gid_t gid;	     /* same number as uid */
	uint64_t nofile;     /* RLIMIT_NOFILE (soft = hard) */
	uint64_t core_bytes; /* RLIMIT_CORE, 0 */
};

#define SL_CREDS_STACK	    (8ULL << 20) /* soft; the usual default */
#define SL_CREDS_MEMLOCK    (8ULL << 20) /* the kernel's default since Linux 5.16 */
#define SL_CREDS_SIGPENDING 4096	 /* signals queued to the sandbox's uid */
#define SL_CREDS_MSGQUEUE   819200	 /* bytes; the kernel's default */

/*
 * Every rlimit, whatever the caller had: RLIMIT_NOFILE and RLIMIT_CORE from c (exactly);
 * locked memory, queued signals and POSIX message queue bytes at SL_CREDS_*; no nice or
 * real-time priority; the stack's soft limit SL_CREDS_STACK; the rest as high as the hard
 * limits we have (cgroups, /tmp's size and the timeout bound them). Never raises a hard limit
 * (that needs CAP_SYS_RESOURCE) but for NOFILE and CORE. Returns 0 or -errno.
 */
int sl_creds_rlimits(const struct sl_creds *c);

/* Empties the calling thread's capability bounding set. Returns 0 or -errno. */
int sl_creds_drop_bounding(void);

/*
 * Switches to uid/gid (groups cleared), clears the ambient and
 * inheritable sets (setresuid already emptied permitted and effective), sets no_new_privs.
 * The bounding set must be empty already: the spawner thread emptied it and clone3 passed it
 * on (checked here). Returns 0, -EPERM when a bounding capability is left, or -errno.
 */
int sl_creds_drop(const struct sl_creds *c);
