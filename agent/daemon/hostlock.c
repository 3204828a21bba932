// SPDX-License-Identifier: Apache-2.0
/* One agent per state directory and pin root (see hostlock.h). */
#include "daemon/hostlock.h"

#include <sandlot/util.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static pid_t read_holder(int fd)
{
	char buf[24] = {0};
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long v = n > 0 ? strtol(buf, NULL, 10) : 0;

	return v > 0 && v < (1L << 22) ? (pid_t)v : 0;
}

/* Whether path still names the file fd has open (a holder that exits removes it). */
static bool names_file(const char *path, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int sl_hostlock_take(const char *path, pid_t *ret_holder)
{
	char buf[24];
	int fd, r;

	for (int tries = 0;; tries++) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return sl_negerrno();
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			r = sl_negerrno();
			if (r == -EWOULDBLOCK)
				*ret_holder = read_holder(fd);
			close(fd);
			return r;
		}
		/* its holder removed it as it stopped, after our open: that one excludes nobody */
		if (names_file(path, fd))
			break;
		close(fd);
		if (tries == 8)
			return -EBUSY; /* not -EAGAIN: that is -EWOULDBLOCK, "held" */
	}
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		r = sl_negerrno();
		close(fd);
		return r;
	}
	return fd;
}

void sl_hostlock_release(const char *path, int *fd)
{
	if (*fd < 0)
		return;
	/* still locked while it goes: whoever opened it meanwhile sees it gone, and retries */
	if (names_file(path, *fd))
		(void)unlink(path);
	close(*fd);
	*fd = -1;
}

void sl_hostlock_pin_path(char *buf, size_t len, const char *pin_root)
{
	size_t n = (size_t)snprintf(buf, len, "/run/sandlot/agent-%s.lock", pin_root + 1);

	for (size_t i = strlen("/run/sandlot/agent-"); i < n && i < len; i++)
		if (buf[i] == '/')
			buf[i] = '_';
}

/* "IP:PORT" or "[IPv6]:PORT" (or "*:PORT") into *ss; -EINVAL when it is neither. */
static int parse_endpoint(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	const char *colon = strrchr(s, ':');
	char host[64];
	long port = colon ? strtol(colon + 1, NULL, 10) : 0;

	memset(ss, 0, sizeof(*ss));
	if (!colon || port <= 0 || port > 65535 || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	*len = sizeof(*in);
	if (strcmp(host, "*") == 0)
		return 0; /* INADDR_ANY */
	return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -EINVAL;
}

int sl_hostlock_port_free(const char *endpoint)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd, r = 0;

	if (strncmp(endpoint, "tcp://", 6) == 0)
		endpoint += 6;
	else if (strstr(endpoint, "://"))
		return 0;
	if (parse_endpoint(endpoint, &ss, &len) < 0)
		return 0;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sl_negerrno();
	/* as the servers bind: a port in TIME_WAIT is free for them */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		r = sl_negerrno();
	close(fd);
	return r;
}
