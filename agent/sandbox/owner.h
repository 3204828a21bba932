/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Who owns which sandboxes, so that leftovers of a dead agent can be found and removed.
 *
 * Scheme: a runtime holds an exclusive flock(2) on <state dir>/slot-<n>.lock for as long as it
 * lives (the kernel drops it when the process dies, however it dies) and names its sandboxes
 * "s<n>-...". A sandbox cgroup whose slot lock can be taken by someone else is stale. Lock
 * files are never deleted (deleting would race with a new owner); there are at most
 * SL_OWNER_SLOTS of them.
 */
#include <stdbool.h>

#include "sandbox/cgroup.h"

#define SL_OWNER_SLOTS 64

struct sl_owner {
	int lock_fd;   /* holds the flock */
	unsigned slot; /* n */
};

/* Takes the lowest free slot (creating state_dir). Returns 0, -EBUSY when all are held, -errno. */
int sl_owner_acquire(const char *state_dir, struct sl_owner *ret);

/* Releases the slot (closes the lock fd). */
void sl_owner_release(struct sl_owner *o);

/*
 * Parses the slot out of a sandbox name "s<n>-..." as the runtime writes it (n decimal, no
 * sign or leading zero, below SL_OWNER_SLOTS); -EINVAL when it is not one of ours.
 */
int sl_owner_slot_of(const char *name, unsigned *ret);

/* What a sweep removed, told apart by whether a task ever ran in it (sl_cgroup_root_ran). */
struct sl_owner_swept {
	unsigned sandboxes; /* cgroups that ran a sandbox */
	unsigned shells;    /* shells a dead runtime's pool made ahead, never used */
};

/*
 * Removes every sandbox cgroup below root whose owner is gone: those of slots whose lock
 * nobody holds, and those of our own slot but another pid (a former holder's: the lock is
 * ours, so it is gone; another runtime may have held the slot between its death and our start
 * and left them). This process's own, named "s<slot>-<pid>-...", are kept. Returns the number
 * of cgroups removed (*ret says which were sandboxes and which shells; filled on failure too,
 * with what went before it), or -errno of the first failure.
 */
int sl_owner_sweep(const struct sl_owner *o, const char *state_dir, struct sl_cgroup_root *root,
		   struct sl_owner_swept *ret);
