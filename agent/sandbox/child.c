// SPDX-License-Identifier: Apache-2.0
/*
 * The sandbox child, step by step: sl_child_main() is the list, in the order that matters, with
 * the reason for each place beside it. The child shares the agent's memory (CLONE_VM,
 * sandbox.c) until the init's exec, on a stack of its own, while the spawner thread waits
 * (CLONE_VFORK): every step only makes syscalls on what the plan holds, writes no memory but
 * its own stack, allocates nothing and ends with _exit or the exec. Every signal is blocked
 * (the spawner's mask); the init keeps it so.
 */
#include "sandbox/child.h"

#include "sandbox/net.h"
#include "sandbox/report.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SETUP_FAILED_STATUS 125
#define REPORT_FD	    SL_REPORT_FD    /* the report socket, once stdio is arranged */
#define INIT_FD		    (REPORT_FD + 1) /* the init program, until it is exec'd */

_noreturn_ static void fail(int fd, const char *step, int r)
{
	struct sl_report rep = sl_report_make(SL_REPORT_SETUP_FAILED, -r, 0, step);

	(void)!send(fd, &rep, sizeof(rep), MSG_NOSIGNAL);
	_exit(SETUP_FAILED_STATUS);
}

/* Makes p->stdio 0, 1, 2, the report socket 3 and the init program 4 (close-on-exec), and
 * closes every other fd. */
static int arrange_fds(const struct sl_child_plan *p, const char **step)
{
	int fds[5], null_fd = -1;

	*step = "open /dev/null";
	for (int i = 0; i < 3; i++) {
		int src = p->stdio[i];

		if (src < 0) {
			if (null_fd < 0)
				null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (null_fd < 0)
				return sl_negerrno();
			src = null_fd;
		}
		/* copies above 2 first, so that no target overwrites a source still needed */
		fds[i] = fcntl(src, F_DUPFD_CLOEXEC, 3);
		if (fds[i] < 0)
			return sl_negerrno();
	}
	*step = "arrange stdio";
	fds[3] = fcntl(p->sock, F_DUPFD_CLOEXEC, INIT_FD + 1);
	fds[4] = fcntl(p->init_fd, F_DUPFD_CLOEXEC, INIT_FD + 1);
	if (fds[3] < 0 || fds[4] < 0)
		return sl_negerrno();
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			return sl_negerrno();
	/* the report socket stays open over the init's exec (the init makes it close-on-exec) */
	if (dup2(fds[3], REPORT_FD) < 0 || dup3(fds[4], INIT_FD, O_CLOEXEC) < 0)
		return sl_negerrno();
	*step = "close fds";
	if (syscall(SYS_close_range, INIT_FD + 1, ~0U, 0) < 0)
		return sl_negerrno();
	return 0;
}

/* A new fd of our own mount namespace, or -1 (before Linux 6.11). */
static int own_mntns(void)
{
	int self = (int)syscall(SYS_pidfd_open, getpid(), 0), fd;

	if (self < 0)
		return -1;
	fd = ioctl(self, PIDFD_GET_MNT_NAMESPACE, 0);
	close(self);
	return fd;
}

/*
 * Tells the parent we are there (with a hook, or when clone3 copied the template for us):
 * "r", or our mount namespace (SCM_RIGHTS) when it is such a copy, so that the parent holds it
 * before anything of CMD runs (sandbox.c: open_mntns); with a hook, waits for its go.
 */
static void wait_release(const struct sl_child_plan *p)
{
	int mnt = p->new_mntns ? own_mntns() : -1;
	bool told = mnt >= 0 ? sl_net_send_fd(p->sock, mnt) == 0 : write(p->sock, "r", 1) == 1;
	char go;

	if (mnt >= 0)
		close(mnt);
	if (!told || (p->hooked && read(p->sock, &go, 1) != 1))
		_exit(SETUP_FAILED_STATUS); /* parent gone or gave up: nothing to report to */
}

/* One-shot: the network namespace the parent made while we started. */
static void enter_late_netns(const struct sl_child_plan *p)
{
	int fd = sl_net_recv_fd(p->sock);

	if (fd == -EPIPE)
		_exit(SETUP_FAILED_STATUS); /* the parent could not make it: it reports why */
	if (fd < 0)
		fail(p->sock, "receive netns", fd);
	if (setns(fd, CLONE_NEWNET) < 0)
		fail(p->sock, "setns net", sl_negerrno());
	close(fd);
	if (p->hooked)
		wait_release(p);
}

/*
 * The caller's scheduling and personality, which CMD must not get: a real-time policy (it
 * would escape the CPU quota, which binds only normal tasks) or I/O class, a raised priority
 * (negative nice; a lowered one is the caller's choice and stays), personality flags such as
 * ADDR_NO_RANDOMIZE or READ_IMPLIES_EXEC.
 */
static int reset_scheduling(void)
{
	struct sched_param none = {0};
	int policy = sched_getscheduler(0) & ~SCHED_RESET_ON_FORK;

	if (policy != SCHED_OTHER && policy != SCHED_BATCH && policy != SCHED_IDLE &&
	    sched_setscheduler(0, SCHED_OTHER, &none) < 0)
		return sl_negerrno();
	/* the raw syscall answers 20 - nice: no -1 to tell from an error */
	if (syscall(SYS_getpriority, PRIO_PROCESS, 0) > 20 && setpriority(PRIO_PROCESS, 0, 0) < 0)
		return sl_negerrno();
	if (personality(PER_LINUX) < 0)
		return sl_negerrno();
	/* a real-time I/O class (ionice -c 1) back to the default, which follows the nice value */
	long io = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
	if (io >= 0 && IOPRIO_PRIO_CLASS(io) == IOPRIO_CLASS_RT &&
	    syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
		    IOPRIO_PRIO_VALUE(IOPRIO_CLASS_NONE, 0)) < 0)
		return sl_negerrno();
	return 0;
}

_noreturn_ void sl_child_main(const struct sl_child_plan *p)
{
	const char *step = "wait for release";
	int r;

	/* first: every later wake-up of ours would wait on a CPU we were only lent */
	if (p->cpus && sched_setaffinity(0, sizeof(*p->cpus), p->cpus) < 0)
		fail(p->sock, "cpu affinity", sl_negerrno());
	/* before the v1 cgroups: a real-time task cannot join a cpu cgroup without an RT budget */
	r = reset_scheduling();
	if (r < 0)
		fail(p->sock, "reset scheduling", r);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	r = sl_cgroup_join_self(p->join_fds, p->n_join);
	if (r < 0)
		fail(p->sock, "join v1 cgroups", r);
	/* the shell's namespaces, made ahead by the pool */
	if (p->netns_fd >= 0 && setns(p->netns_fd, CLONE_NEWNET) < 0)
		fail(p->sock, "setns net", sl_negerrno());
	if (p->ipcns_fd >= 0 && setns(p->ipcns_fd, CLONE_NEWIPC) < 0)
		fail(p->sock, "setns ipc", sl_negerrno());
	if (p->utsns_fd >= 0 && setns(p->utsns_fd, CLONE_NEWUTS) < 0)
		fail(p->sock, "setns uts", sl_negerrno());
	if (p->mntns_fd >= 0 && setns(p->mntns_fd, CLONE_NEWNS) < 0)
		fail(p->sock, "setns mnt", sl_negerrno());
	/* the caller's hook runs now (one-shot: once the late netns is in) */
	if (!p->late_netns && (p->hooked || p->new_mntns))
		wait_release(p);
	/* after every cgroup join: the namespace is rooted at the sandbox's cgroups */
	if (unshare(CLONE_NEWCGROUP) < 0)
		fail(p->sock, "unshare cgroup", sl_negerrno());
	/* /tmp, /proc, /var/task: while we still have CAP_SYS_ADMIN */
	r = sl_rootfs_enter(&p->rootfs, &step);
	if (r < 0)
		fail(p->sock, step, r);
	if (sethostname(p->hostname, strlen(p->hostname)) < 0)
		fail(p->sock, "sethostname", sl_negerrno());
	if (p->late_netns)
		enter_late_netns(p);
	r = p->new_netns ? sl_net_lo_up() : 0; /* our own netns only: the pool's is up */
	if (r < 0)
		fail(p->sock, "loopback up", r);
	/* one-shot: the host's mounts leave the template we share before anything of CMD runs */
	r = p->detach_efd >= 0 ? sl_rootfs_wait_detached(p->detach_efd) : 0;
	if (r < 0)
		fail(p->sock, "detach host root", r);
	/* what CMD would otherwise inherit from the caller: fds, session (kill(0, ...), job
	   control), rlimits, umask; its environment is envp alone */
	r = arrange_fds(p, &step);
	if (r < 0)
		fail(p->sock, step, r);
	if (setsid() < 0)
		fail(REPORT_FD, "new session", sl_negerrno());
	r = sl_creds_rlimits(&p->creds);
	if (r < 0)
		fail(REPORT_FD, "rlimits", r);
	umask(022);
	r = sl_creds_drop(&p->creds);
	if (r < 0)
		fail(REPORT_FD, "drop privileges", r);
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* again: setuid cleared it */
	/* last: the steps above use syscalls the allow-list refuses */
	r = sl_seccomp_apply(p->seccomp);
	if (r < 0)
		fail(REPORT_FD, "seccomp", r);
	syscall(SYS_execveat, INIT_FD, "", p->init_argv, p->envp, AT_EMPTY_PATH);
	fail(REPORT_FD, "exec init", sl_negerrno());
}
