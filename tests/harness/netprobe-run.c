// SPDX-License-Identifier: Apache-2.0
#include "netprobe-run.h"

#include "bpfscaffold.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *np_probe_dir(void)
{
	const char *d = getenv("SL_NETPROBE_DIR");

	return d ? d : "netprobe";
}

void np_remove_stale_netns(const char *prefix)
{
	DIR *d = opendir("/run/netns");
	size_t n = strlen(prefix);
	struct dirent *e;
	int pid;

	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, prefix, n) == 0 && sscanf(e->d_name + n, "%d-", &pid) == 1 &&
		    kill(pid, 0) < 0 && errno == ESRCH)
			sc_sh("ip netns del %s 2>/dev/null", e->d_name);
	if (d)
		closedir(d);
}

int np_in_ns(const char *name, int (*fn)(void *), void *arg)
{
	char path[128];
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), fd, r;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		if (fd >= 0)
			close(fd);
		if (self >= 0)
			close(self);
		return -1;
	}
	r = fn(arg);
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
	close(fd);
	close(self);
	return r;
}

void np_argv_build(const char **argv, const char *ns, const char *const *fixed,
		   const char *const *args, const char *const *cmd)
{
	static char net[128], code[PATH_MAX + 16];
	size_t n = 0;

	snprintf(net, sizeof(net), "--net=/run/netns/%s", ns);
	snprintf(code, sizeof(code), "%s", np_probe_dir());
	argv[n++] = "nsenter";
	argv[n++] = net;
	argv[n++] = sl_test_agent();
	argv[n++] = "run";
	argv[n++] = "--code";
	argv[n++] = code;
	for (; fixed && *fixed && n < NP_ARGV_MAX - 3; fixed++)
		argv[n++] = *fixed;
	for (; args && *args && n < NP_ARGV_MAX - 3; args++)
		argv[n++] = *args;
	argv[n++] = "--";
	argv[n++] = "/var/task/sl-netprobe";
	for (; *cmd && n < NP_ARGV_MAX - 1; cmd++)
		argv[n++] = *cmd;
	argv[n] = NULL;
}

pid_t np_spawn(const char *const *argv, bool quiet_out)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (quiet_out)
			dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}
