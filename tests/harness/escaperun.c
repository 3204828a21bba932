// SPDX-License-Identifier: Apache-2.0
/* Running sl-escape from a caller of the test's making (see escaperun.h). */
#include "testutil.h"

#include "escaperun.h"

#include <fcntl.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <termios.h>

static const char *escape_dir(void)
{
	const char *d = getenv("SL_ESCAPE_DIR");

	return d ? d : "escape";
}

_Noreturn static void exec_run(const struct sl_escape_caller *c, const char *const *args, int out)
{
	const char *argv[64] = {sl_test_agent(), "run", "--code",
				escape_dir(),	 "--",	"/var/task/sl-escape"};
	size_t n = 6;

	while (*args && n < 63)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (c->ctty && (setsid() < 0 || ioctl(c->stdin_fd, TIOCSCTTY, 0) < 0))
		_exit(126);
	if (c->stdin_fd >= 0 ? dup2(c->stdin_fd, 0) < 0 : !freopen("/dev/null", "r", stdin))
		_exit(126);
	if (dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	if (c->prepare)
		c->prepare();
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

int sl_escape_run(const struct sl_escape_caller *c, const char *const *args, char *out, size_t len)
{
	int p[2], status = -1;
	size_t have = 0;
	ssize_t n;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		exec_run(c, args, p[1]);
	close(p[1]);
	while (have < len - 1 && (n = read(p[0], out + have, len - 1 - have)) > 0)
		have += (size_t)n;
	out[have] = '\0';
	for (char rest[4096]; read(p[0], rest, sizeof(rest)) > 0;)
		; /* past len: dropped, so that run never blocks on a full pipe */
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

void sl_escape_pty(int *ret_master, int *ret_slave)
{
	struct termios t;
	int m, s;

	assert_int_equal(openpty(&m, &s, NULL, NULL, NULL), 0);
	assert_int_equal(tcgetattr(s, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(s, TCSANOW, &t), 0);
	assert_int_equal(fcntl(m, F_SETFD, FD_CLOEXEC), 0);
	assert_int_equal(fcntl(s, F_SETFD, FD_CLOEXEC), 0);
	*ret_master = m;
	*ret_slave = s;
}

int sl_escape_tty_pending(int fd)
{
	int n = -1;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}
