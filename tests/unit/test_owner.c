// SPDX-License-Identifier: Apache-2.0
/*
 * Owner slots and the stale-sandbox sweep (owner.c), without root: slot locks are flocks on
 * files in a scratch directory, and the cgroup listing and removal the sweep drives are
 * replaced (-Wl,--wrap) by a list of names and a record of what it removed.
 */
#include "testutil.h"

#include "sandbox/owner.h"

#include <sandlot/util.h>

#include <fcntl.h>
#include <sys/stat.h>

static void slot_of_round_trips(void **state)
{
	char name[SL_CGROUP_NAME_MAX];
	unsigned slot = 99;

	for (unsigned s = 0; s < SL_OWNER_SLOTS; s++) {
		/* as the runtime names them: "s<slot>-<pid>-<seq>" */
		snprintf(name, sizeof(name), "s%u-%d-%u", s, 4194304, 4294967295U);
		assert_int_equal(sl_owner_slot_of(name, &slot), 0);
		assert_int_equal(slot, s);
	}
}

static void slot_of_rejects_garbage(void **state)
{
	static const char *const bad[] = {
		"",	     "s",     "s-",    "s-1-",	       "s+1-",
		"s 1-",	     "s01-",  "s00-",  "s64-",	       "s99-",
		"s100-",     "s1",    "s1x-",  "S1-",	       "t1-",
		" s1-",	     "1-2-3", "s\n1-", "s4294967297-", "s18446744073709551617-",
		"sandlot-1-"};
	unsigned slot = 77;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (sl_owner_slot_of(bad[i], &slot) != -EINVAL)
			fail_msg("\"%s\" taken for slot %u", bad[i], slot);
	assert_int_equal(slot, 77); /* untouched on failure */
}

static char dir[64];

static int make_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/sl-owner-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void acquire_takes_the_lowest_free_slot(void **state)
{
	struct sl_owner o[SL_OWNER_SLOTS + 1];
	char sub[128], path[192];
	struct stat st;

	/* the state directory is made, private */
	snprintf(sub, sizeof(sub), "%s/state", dir);
	assert_int_equal(sl_owner_acquire(sub, &o[0]), 0);
	assert_int_equal(o[0].slot, 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/slot-0.lock", sub);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	for (unsigned i = 1; i < SL_OWNER_SLOTS; i++) {
		assert_int_equal(sl_owner_acquire(sub, &o[i]), 0);
		assert_int_equal(o[i].slot, i);
	}
	assert_int_equal(sl_owner_acquire(sub, &o[SL_OWNER_SLOTS]), -EBUSY);
	/* a released slot is the next taken */
	sl_owner_release(&o[5]);
	assert_int_equal(o[5].lock_fd, -1);
	assert_int_equal(sl_owner_acquire(sub, &o[5]), 0);
	assert_int_equal(o[5].slot, 5);
	for (unsigned i = 0; i < SL_OWNER_SLOTS; i++)
		sl_owner_release(&o[i]);
}

/* A lock file planted as a symlink is not followed (the state dir may be shared). */
static void acquire_follows_no_symlink(void **state)
{
	struct sl_owner o = {.lock_fd = -1};
	char sub[128], path[192];

	snprintf(sub, sizeof(sub), "%s/planted", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/slot-0.lock", sub);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(sl_owner_acquire(sub, &o), -ELOOP);
	assert_int_equal(o.lock_fd, -1);
	/* and a state "dir" that is a file is an error, not a slot */
	snprintf(path, sizeof(path), "%s/file", dir);
	close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	assert_int_equal(sl_owner_acquire(path, &o), -ENOTDIR);
}

/* The cgroups the sweep sees, and what it removed. */
static const char *listed[32];
static size_t n_listed;
static char removed[32][SL_CGROUP_NAME_MAX + 80];
static size_t n_removed;
static int remove_err; /* what removing "s2-999-2" returns */

int __wrap_sl_cgroup_root_list(struct sl_cgroup_root *root,
			       void (*fn)(const char *name, void *data), void *data);
int __wrap_sl_cgroup_root_remove(struct sl_cgroup_root *root, const char *name);
bool __wrap_sl_cgroup_root_ran(struct sl_cgroup_root *root, const char *name);

/* "s2-999-2" is a shell a pool made ahead: nothing ever ran in it */
bool __wrap_sl_cgroup_root_ran(struct sl_cgroup_root *root, const char *name)
{
	return strcmp(name, "s2-999-2") != 0;
}

int __wrap_sl_cgroup_root_list(struct sl_cgroup_root *root,
			       void (*fn)(const char *name, void *data), void *data)
{
	for (size_t i = 0; i < n_listed; i++)
		fn(listed[i], data);
	return 0;
}

int __wrap_sl_cgroup_root_remove(struct sl_cgroup_root *root, const char *name)
{
	assert_true(n_removed < ARRAY_SIZE(removed));
	snprintf(removed[n_removed++], sizeof(removed[0]), "%s", name);
	return strcmp(name, "s2-999-2") == 0 ? remove_err : 0;
}

static bool was_removed(const char *name)
{
	for (size_t i = 0; i < n_removed; i++)
		if (strcmp(removed[i], name) == 0)
			return true;
	return false;
}

static void sweep_removes_only_what_dead_owners_left(void **state)
{
	struct sl_owner me, other, again;
	struct sl_owner_swept swept;
	char sub[128], mine[2][32], former[32], lookalike[32], longname[SL_CGROUP_NAME_MAX + 8];
	int pid = (int)getpid();

	snprintf(sub, sizeof(sub), "%s/sweep", dir);
	assert_int_equal(sl_owner_acquire(sub, &me), 0);    /* slot 0 */
	assert_int_equal(sl_owner_acquire(sub, &other), 0); /* slot 1: alive */
	assert_int_equal(other.slot, 1);
	snprintf(mine[0], sizeof(mine[0]), "s0-%d-1", pid);
	snprintf(mine[1], sizeof(mine[1]), "s0-%d-2", pid);
	snprintf(former, sizeof(former), "s0-%d-1", pid + 1);
	snprintf(lookalike, sizeof(lookalike), "s0-%d0-1", pid); /* our pid is its prefix */
	snprintf(longname, sizeof(longname), "s2-999-%0*d", SL_CGROUP_NAME_MAX, 1);
	const char *names[] = {mine[0],	  "s1-999-1",  former,	   "s2-999-1",
			       "foo",	  mine[1],     "s2-999-1", lookalike,
			       "s64-1-1", "s+2-999-1", longname,   "s2-999-2"};
	memcpy(listed, names, sizeof(names));
	n_listed = ARRAY_SIZE(names);
	n_removed = 0;
	remove_err = 0;

	assert_int_equal(sl_owner_sweep(&me, sub, (struct sl_cgroup_root *)&me, &swept), 4);
	assert_int_equal(n_removed, 4);
	assert_int_equal(swept.sandboxes, 3); /* told apart from the shell */
	assert_int_equal(swept.shells, 1);
	assert_true(was_removed(former));     /* our slot, another pid: a former holder's */
	assert_true(was_removed(lookalike));  /* likewise */
	assert_true(was_removed("s2-999-1")); /* slot 2: nobody holds it; listed twice */
	assert_true(was_removed("s2-999-2"));
	/* slot 2's lock, taken to tell, is let go again */
	assert_int_equal(sl_owner_acquire(sub, &again), 0);
	assert_int_equal(again.slot, 2);
	sl_owner_release(&again);

	/* the first failure is the sweep's result */
	n_removed = 0;
	remove_err = -EBUSY;
	assert_int_equal(sl_owner_sweep(&me, sub, (struct sl_cgroup_root *)&me, &swept), -EBUSY);
	sl_owner_release(&other);
	sl_owner_release(&me);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slot_of_round_trips),
		cmocka_unit_test(slot_of_rejects_garbage),
		cmocka_unit_test_setup_teardown(acquire_takes_the_lowest_free_slot, make_dir,
						remove_dir),
		cmocka_unit_test_setup_teardown(acquire_follows_no_symlink, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(sweep_removes_only_what_dead_owners_left, make_dir,
						remove_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
