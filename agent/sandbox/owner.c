// SPDX-License-Identifier: Apache-2.0
/* Owner slots and stale-sandbox sweeping (see owner.h). */
#include "sandbox/owner.h"

#include <sandlot/util.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#define MAX_NAMES 8192 /* sandbox cgroups looked at in one sweep */

static int open_lock(const char *state_dir, unsigned slot)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/slot-%u.lock", state_dir, slot);
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

int sl_owner_acquire(const char *state_dir, struct sl_owner *ret)
{
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return sl_negerrno();
	for (unsigned slot = 0; slot < SL_OWNER_SLOTS; slot++) {
		int fd = open_lock(state_dir, slot);

		if (fd < 0)
			return sl_negerrno();
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			ret->lock_fd = fd;
			ret->slot = slot;
			return 0;
		}
		close(fd);
		if (errno != EWOULDBLOCK)
			return sl_negerrno();
	}
	return -EBUSY;
}

void sl_owner_release(struct sl_owner *o)
{
	sl_closep(&o->lock_fd);
}

int sl_owner_slot_of(const char *name, unsigned *ret)
{
	unsigned slot = 0;
	size_t i = 1;

	if (name[0] != 's')
		return -EINVAL;
	/* only as the runtime writes it ("s%u-"): no sign, space or leading zero, two digits */
	for (; i < 3 && name[i] >= '0' && name[i] <= '9'; i++)
		slot = slot * 10 + (unsigned)(name[i] - '0');
	if (i == 1 || name[i] != '-' || (name[1] == '0' && i > 2) || slot >= SL_OWNER_SLOTS)
		return -EINVAL;
	*ret = slot;
	return 0;
}

struct names {
	size_t n;
	char (*v)[SL_CGROUP_NAME_MAX];
};

static void collect(const char *name, void *data)
{
	struct names *ns = data;
	unsigned slot;

	/* a longer name is none of ours, and cut short it could name another */
	if (sl_owner_slot_of(name, &slot) < 0 || strlen(name) >= SL_CGROUP_NAME_MAX ||
	    ns->n >= MAX_NAMES)
		return;
	for (size_t i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], name) == 0)
			return;
	snprintf(ns->v[ns->n++], SL_CGROUP_NAME_MAX, "%s", name);
}

enum slot_state { UNKNOWN = 0, ALIVE, DEAD };

/* DEAD when we could take the slot's lock (kept in locks[] until the sweep ends). */
static enum slot_state check_slot(const char *state_dir, unsigned slot, int *locks)
{
	int fd = open_lock(state_dir, slot);

	if (fd < 0)
		return ALIVE; /* cannot tell: leave it alone */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return ALIVE;
	}
	locks[slot] = fd;
	return DEAD;
}

int sl_owner_sweep(const struct sl_owner *o, const char *state_dir, struct sl_cgroup_root *root,
		   struct sl_owner_swept *ret)
{
	enum slot_state state[SL_OWNER_SLOTS] = {0};
	int locks[SL_OWNER_SLOTS];
	struct names ns = {0};
	char mine[32];
	int r;

	/* this process's own sandboxes (the runtime names them so) are never stale */
	snprintf(mine, sizeof(mine), "s%u-%d-", o->slot, (int)getpid());

	*ret = (struct sl_owner_swept){0};
	ns.v = calloc(MAX_NAMES, sizeof(*ns.v));
	if (!ns.v)
		return -ENOMEM;
	r = sl_cgroup_root_list(root, collect, &ns);
	for (unsigned i = 0; i < SL_OWNER_SLOTS; i++)
		locks[i] = -1;
	state[o->slot] = DEAD; /* ours: what another pid left in it is a former holder's */
	for (size_t i = 0; i < ns.n && r >= 0; i++) {
		unsigned slot = 0;

		(void)sl_owner_slot_of(ns.v[i], &slot); /* collect() kept only parsable names */
		if (state[slot] == UNKNOWN)
			state[slot] = check_slot(state_dir, slot, locks);
		if (state[slot] != DEAD || strncmp(ns.v[i], mine, strlen(mine)) == 0)
			continue;
		bool ran = sl_cgroup_root_ran(root, ns.v[i]); /* asked before it goes */

		r = sl_cgroup_root_remove(root, ns.v[i]);
		if (r >= 0)
			*(ran ? &ret->sandboxes : &ret->shells) += 1;
	}
	for (unsigned i = 0; i < SL_OWNER_SLOTS; i++)
		sl_closep(&locks[i]);
	free(ns.v);
	return r < 0 ? r : (int)(ret->sandboxes + ret->shells);
}
