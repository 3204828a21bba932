// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>

static size_t drain(int fd, char *buf, size_t len, size_t have)
{
	char scratch[4096];
	ssize_t n;

	if (buf && have + 1 < len)
		n = read(fd, buf + have, len - 1 - have);
	else
		n = read(fd, scratch, sizeof(scratch));
	if (n <= 0)
		return (size_t)-1;
	return buf && have + 1 < len ? have + (size_t)n : have;
}

int sl_test_run(char *const argv[], char *out, size_t outlen, char *err, size_t errlen)
{
	int po[2], pe[2], status = -1;
	size_t no = 0, ne = 0;
	pid_t pid;

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	struct pollfd p[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			size_t r = i == 0 ? drain(p[i].fd, out, outlen, no)
					  : drain(p[i].fd, err, errlen, ne);
			if (r == (size_t)-1) {
				close(p[i].fd);
				p[i].fd = -1;
			} else if (i == 0) {
				no = r;
			} else {
				ne = r;
			}
		}
	}
	if (out && outlen)
		out[no] = '\0';
	if (err && errlen)
		err[ne] = '\0';
	waitpid(pid, &status, 0);
	return status;
}
