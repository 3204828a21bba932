/* One agent per state directory and pin root (see hostlock.h). */
#include "hostlock.h"

#include <sandlot/util.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static pid_t read_holder(int fd)
{
	char buf[24] = {0};
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long v = n > 0 ? strtol(buf, NULL, 10) : 0;

	return v > 0 && v < (1L << 22) ? (pid_t)v : 0;
}

int sl_hostlock_take(const char *path, pid_t *ret_holder)
{
	char buf[24];
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600), r;

	if (fd < 0)
		return sl_negerrno();
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = sl_negerrno();
		if (r == -EWOULDBLOCK)
			*ret_holder = read_holder(fd);
		close(fd);
		return r;
	}
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		r = sl_negerrno();
		close(fd);
		return r;
	}
	return fd;
}

void sl_hostlock_pin_path(char *buf, size_t len, const char *pin_root)
{
	size_t n = (size_t)snprintf(buf, len, "/run/sandlot/agent-%s.lock", pin_root + 1);

	for (size_t i = strlen("/run/sandlot/agent-"); i < n && i < len; i++)
		if (buf[i] == '/')
			buf[i] = '_';
}
