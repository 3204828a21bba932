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

/* Sets RLIMIT_CORE and RLIMIT_NOFILE. Returns 0 or -errno. */
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
