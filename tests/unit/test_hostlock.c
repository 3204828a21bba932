// SPDX-License-Identifier: Apache-2.0
/* The agent's host locks (hostlock.h): one holder, its pid named, the file gone at release. */
#include "testutil.h"

#include "daemon/hostlock.h"

#include <sys/stat.h>

struct fx {
	char dir[64], path[96];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sl-hostlock-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/agent.lock", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	(void)unlink(f->path);
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void one_holder_and_its_pid(void **state)
{
	struct fx *f = *state;
	pid_t holder = 0;
	int fd = sl_hostlock_take(f->path, &holder);

	assert_true(fd >= 0);
	/* flock is per open file: a second take, even from this process, is refused */
	assert_int_equal(sl_hostlock_take(f->path, &holder), -EWOULDBLOCK);
	assert_int_equal(holder, getpid());
	sl_hostlock_release(f->path, &fd);
	assert_int_equal(fd, -1);
	assert_false(exists(f->path));
	sl_hostlock_release(f->path, &fd); /* no-op */
	/* and it can be taken again */
	fd = sl_hostlock_take(f->path, &holder);
	assert_true(fd >= 0);
	sl_hostlock_release(f->path, &fd);
}

static void release_keeps_a_file_that_is_not_ours(void **state)
{
	struct fx *f = *state;
	pid_t holder = 0;
	int fd = sl_hostlock_take(f->path, &holder), other;

	assert_true(fd >= 0);
	/* someone removed ours and another agent made and locked a new one */
	assert_int_equal(unlink(f->path), 0);
	other = sl_hostlock_take(f->path, &holder);
	assert_true(other >= 0);
	sl_hostlock_release(f->path, &fd);
	assert_true(exists(f->path));
	sl_hostlock_release(f->path, &other);
	assert_false(exists(f->path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(one_holder_and_its_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(release_keeps_a_file_that_is_not_ours, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
