// SPDX-License-Identifier: Apache-2.0
/*
 * sl-escape: run INSIDE a sandbox by the containment tests (bound at /var/task). Each mode
 * tries one thing a sandbox must not be able to do, or measures one limit, and prints what
 * happened. Exit 0 means "contained as expected", 1 means "it worked: not contained",
 * 2 means bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef KEYCTL_GET_KEYRING_ID
#define KEYCTL_GET_KEYRING_ID 0
#endif
#define KEY_SPEC_SESSION_KEYRING -3

/* Reports the result of an attempt: -1 with errno = refused (good). */
static int refused(const char *what, long r)
{
	if (r < 0) {
		printf("%s: refused (%s)\n", what, strerror(errno));
		return 0;
	}
	printf("%s: ALLOWED (%ld)\n", what, r);
	return 1;
}

/*
 * In a child of a session of its own: ioctl(cmd) on stdin, a terminal nobody controls, which
 * it first makes its controlling terminal: by opening it again (a session leader without one
 * acquires the terminal it opens), so that TIOCSCTTY itself can be refused. Returns the
 * ioctl's result (errno set).
 */
static long tty_ioctl(unsigned long cmd, char arg)
{
	char buf[8] = {arg};
	int status, fds[2];
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int err = 0, fd = 0;
		if (setsid() < 0)
			err = errno;
		else if ((unsigned)cmd != TIOCSCTTY && (fd = open("/proc/self/fd/0", O_RDWR)) < 0)
			printf("reopening stdin: %s\n", strerror(errno));
		if (!err && syscall(SYS_ioctl, fd < 0 ? 0 : fd, cmd, buf) < 0)
			err = errno;
		fflush(stdout);
		_exit(write(fds[1], &err, sizeof(err)) == sizeof(err) ? 0 : 1);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &status, sizeof(status)) != sizeof(status))
		status = EIO;
	close(fds[0]);
	waitpid(pid, NULL, 0);
	errno = status;
	return status ? -1 : 0;
}

static long try_syscall(const char *name)
{
	struct file_handle fh = {.handle_bytes = 8};
	union bpf_attr battr = {
		.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1};
	struct perf_event_attr pattr = {.type = PERF_TYPE_SOFTWARE,
					.size = sizeof(pattr),
					.config = PERF_COUNT_SW_CPU_CLOCK};

	if (!strcmp(name, "mount"))
		return mount("none", "/tmp", "tmpfs", 0, NULL);
	if (!strcmp(name, "umount"))
		return umount2("/proc", MNT_DETACH);
	if (!strcmp(name, "pivot_root"))
		return syscall(SYS_pivot_root, "/tmp", "/tmp");
	if (!strcmp(name, "unshare"))
		return unshare(CLONE_NEWUSER);
	if (!strcmp(name, "setns")) {
		int fd = open("/proc/self/ns/uts", O_RDONLY);
		return fd < 0 ? fd : setns(fd, CLONE_NEWUTS);
	}
	if (!strcmp(name, "ptrace"))
		return ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	if (!strcmp(name, "bpf"))
		return syscall(SYS_bpf, BPF_MAP_CREATE, &battr, sizeof(battr));
	if (!strcmp(name, "perf_event_open"))
		return syscall(SYS_perf_event_open, &pattr, 0, -1, -1, 0);
	if (!strcmp(name, "keyctl"))
		return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1);
	if (!strcmp(name, "add_key"))
		return syscall(SYS_add_key, "user", "sl", "x", 1, KEY_SPEC_SESSION_KEYRING);
	if (!strcmp(name, "kexec_load"))
		return syscall(SYS_kexec_load, 0, 0, NULL, 0);
	if (!strcmp(name, "init_module"))
		return syscall(SYS_init_module, NULL, 0, "");
	if (!strcmp(name, "reboot")) /* CAD off: harmless even if it were allowed */
		return syscall(SYS_reboot, 0xfee1dead, 672274793, 0, NULL);
	if (!strcmp(name, "swapon"))
		return swapon("/tmp/swap", 0);
	if (!strcmp(name, "acct"))
		return acct(NULL);
	if (!strcmp(name, "userfaultfd"))
		return syscall(SYS_userfaultfd, 0);
	if (!strcmp(name, "open_by_handle_at"))
		return syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY);
	if (!strcmp(name, "raw_socket"))
		return socket(AF_INET, SOCK_RAW, 1 /* ICMP */);
	if (!strcmp(name, "packet_socket"))
		return socket(AF_PACKET, SOCK_RAW, 0);
	fprintf(stderr, "unknown syscall %s\n", name);
	exit(2);
}

/*
 * The filter's own refusals, one call each, for the tests of the seccomp list one refusal at
 * a time: each is a call the kernel itself answers otherwise for this unprivileged process
 * (it succeeds, or fails with an errno other than EPERM: a bad pointer, a missing directory,
 * no such pid, a kernel built without the facility), so EPERM comes from the list alone.
 */
static long filter_probe(const char *name)
{
	struct io_uring_params up = {0};

	if (!strcmp(name, "bpf")) /* EFAULT: the kernel reads the attributes first */
		return syscall(SYS_bpf, BPF_MAP_CREATE, (void *)8, sizeof(union bpf_attr));
	if (!strcmp(name, "perf_event_open")) /* EFAULT likewise */
		return syscall(SYS_perf_event_open, (void *)8, 0, -1, -1, 0);
	if (!strcmp(name, "io_uring_setup")) /* a ring, with io_uring_disabled = 0 */
		return syscall(SYS_io_uring_setup, 1, &up);
	if (!strcmp(name, "userfaultfd")) /* user-mode-only faults need no privilege */
		return syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (!strcmp(name, "keyctl")) /* a process keyring of our own */
		return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1);
	if (!strcmp(name, "add_key"))
		return syscall(SYS_add_key, "user", "sl", "x", 1, KEY_SPEC_PROCESS_KEYRING);
	if (!strcmp(name, "unshare")) /* a user namespace needs no privilege */
		return unshare(CLONE_NEWUSER);
	if (!strcmp(name, "setns")) /* EBADF */
		return setns(-1, 0);
	if (!strcmp(name, "mount")) /* ENOENT: the target is looked up before the privilege */
		return mount("none", "/sl-no-such-dir", "tmpfs", 0, NULL);
	if (!strcmp(name, "ptrace")) /* ESRCH */
		return ptrace(PTRACE_ATTACH, 0x3ffffff0, NULL, NULL);
	if (!strcmp(name, "kexec_load")) /* ENOSYS without CONFIG_KEXEC, else EPERM as well */
		return syscall(SYS_kexec_load, 0, 0, NULL, 0);
	if (!strcmp(name, "init_module")) /* ENOSYS without CONFIG_MODULES, else EPERM as well */
		return syscall(SYS_init_module, NULL, 0, "");
	if (!strcmp(name, "netlink_uevent")) /* every device event of the host */
		return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (!strcmp(name, "netlink_sock_diag"))
		return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (!strcmp(name, "netlink_audit"))
		return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (!strcmp(name, "inotify"))
		return inotify_init1(IN_CLOEXEC);
	if (!strcmp(name, "fanotify")) /* unprivileged with file ids since Linux 5.13 */
		return syscall(SYS_fanotify_init, FAN_CLASS_NOTIF | FAN_REPORT_FID, O_RDONLY);
	/* stdin is a terminal nobody controls, which anyone may open: made ours, the kernel
	 * allows TIOCSTI on it */
	if (!strcmp(name, "tiocsti"))
		return tty_ioctl(TIOCSTI, 'x');
	if (!strcmp(name, "tiocsti_high")) /* the kernel drops the upper bits of cmd */
		return tty_ioctl((1UL << 32) | TIOCSTI, 'x');
	if (!strcmp(name, "tiocsctty")) /* a terminal of the host as ours */
		return tty_ioctl(TIOCSCTTY, 0);
	if (!strcmp(name, "tiocsctty_high"))
		return tty_ioctl((1UL << 32) | TIOCSCTTY, 0);
	if (!strcmp(name, "tioclinux")) /* ENOTTY: a pty is no VT */
		return tty_ioctl(TIOCLINUX, 6 /* TIOCL_GETSHIFTSTATE */);
	if (!strcmp(name, "tioclinux_high"))
		return tty_ioctl((1UL << 32) | TIOCLINUX, 6);
	fprintf(stderr, "unknown probe %s\n", name);
	exit(2);
}

/* EPERM, the list's answer: contained (0); any other outcome: 1. */
static int refused_by_filter(const char *name)
{
	long r = filter_probe(name);
	int err = errno;

	if (r >= 0) {
		printf("%s: ALLOWED (%ld)\n", name, r);
		return 1;
	}
	printf("%s: errno %d (%s)\n", name, err, strerror(err));
	return err == EPERM ? 0 : 1;
}

/* Pushes text into stdin's terminal with TIOCSTI, as an attacker would into the caller's. */
static int inject(const char *text)
{
	for (const char *c = text; *c; c++) {
		if (ioctl(0, TIOCSTI, c) < 0) {
			printf("TIOCSTI: errno %d (%s)\n", errno, strerror(errno));
			return 0;
		}
	}
	printf("TIOCSTI: injected %zu bytes\n", strlen(text));
	return 1;
}

/* Session, process group and controlling terminal as CMD sees them (/proc/self/stat). */
static int session(void)
{
	int tty_nr = -1, tpgid = 0;
	FILE *f = fopen("/proc/self/stat", "r");

	if (!f || fscanf(f, "%*d (%*[^)]) %*c %*d %*d %*d %d %d", &tty_nr, &tpgid) != 2)
		return 2;
	fclose(f);
	printf("sid=%d pgid=%d tty_nr=%d tpgid=%d\n", (int)getsid(0), (int)getpgid(0), tty_nr,
	       tpgid);
	return 0;
}

/* Signals every process group and process it can name, and the caller's process group by
 * its host number (pgid); the test checks who got SIGCONT. */
static int sigcont(pid_t pgid)
{
	int r0 = kill(0, SIGCONT), e0 = errno, r1 = kill(-1, SIGCONT), e1 = errno;
	int r2 = kill(-pgid, SIGCONT);

	printf("kill(0)=%d (%s) kill(-1)=%d (%s) kill(-%d)=%d (%s)\n", r0, strerror(r0 ? e0 : 0),
	       r1, strerror(r1 ? e1 : 0), (int)pgid, r2, strerror(r2 ? errno : 0));
	return 0;
}

/* What CMD got from its caller: fds, umask, environment, every rlimit. */
static int inherited(char **envp)
{
	struct rlimit l;
	mode_t m = umask(0);
	char path[64], link[256];

	printf("fds:");
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n >= 0)
			printf(" %d", fd);
	}
	printf("\numask: %04o\n", (unsigned)m);
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	printf("sched: policy=%d nice=%d personality=%#x ioclass=%ld\n", sched_getscheduler(0),
	       errno ? 99 : nice, (unsigned)personality(0xffffffff),
	       syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0) >> 13);
	for (char **e = envp; *e; e++)
		printf("env: %s\n", *e);
	for (int res = 0; res < RLIM_NLIMITS; res++) {
		if (getrlimit(res, &l) < 0)
			return 2;
		printf("rlimit %d %lld %lld\n", res,
		       l.rlim_cur == RLIM_INFINITY ? -1LL : (long long)l.rlim_cur,
		       l.rlim_max == RLIM_INFINITY ? -1LL : (long long)l.rlim_max);
	}
	return 0;
}

/* Host pid given: it must be neither visible nor signalable; /proc shows only our pids. */
static int host_pid(pid_t pid)
{
	int n = 0;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (kill(pid, 0) == 0 || errno != ESRCH || access(path, F_OK) == 0) {
		printf("host pid %d visible\n", (int)pid);
		return 1;
	}
	for (int p = 1; p < 100000; p++) {
		snprintf(path, sizeof(path), "/proc/%d", p);
		n += access(path, F_OK) == 0;
	}
	printf("pids visible: %d\n", n);
	return n > 3; /* init, this, maybe the shell */
}

static int write_fails(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		printf("%s: writable\n", path);
		close(fd);
		return 1;
	}
	printf("%s: %s\n", path, strerror(errno));
	return errno == EROFS || errno == EACCES ? 0 : 1;
}

static int fork_bomb(void)
{
	int n = 0;

	for (;;) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			printf("forks before refusal: %d (%s)\n", n, strerror(errno));
			return errno == EAGAIN ? 0 : 1;
		}
		if (++n > 100000)
			return 1;
	}
}

static int mem_bomb(void)
{
	for (size_t mb = 1;; mb++) {
		char *p = malloc(1 << 20);
		if (!p)
			return 1;
		memset(p, (int)mb, 1 << 20);
		if (mb % 64 == 0)
			printf("%zu MB\n", mb), fflush(stdout);
	}
}

static int fill(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	long long total = 0;

	if (fd < 0)
		return 1;
	memset(buf, 'x', sizeof(buf));
	for (;;) {
		ssize_t n = write(fd, buf, sizeof(buf));
		if (n <= 0) {
			printf("written %lld bytes (%s)\n", total, n < 0 ? strerror(errno) : "eof");
			return n < 0 && errno == ENOSPC ? 0 : 1;
		}
		total += n;
	}
}

static int interfaces(void)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int others = 0;

	if (!ifs)
		return 1;
	for (i = ifs; i->if_index; i++) {
		printf("%s\n", i->if_name);
		others += strcmp(i->if_name, "lo") != 0;
	}
	return others ? 1 : 0;
}

int main(int argc, char **argv, char **envp)
{
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "syscall") && argc == 3)
		return refused(argv[2], try_syscall(argv[2]));
	if (!strcmp(argv[1], "inject") && argc == 3)
		return inject(argv[2]);
	if (!strcmp(argv[1], "session"))
		return session();
	if (!strcmp(argv[1], "sigcont") && argc == 3)
		return sigcont((pid_t)atoi(argv[2]));
	if (!strcmp(argv[1], "inherited"))
		return inherited(envp);
	if (!strcmp(argv[1], "filter") && argc == 3)
		return refused_by_filter(argv[2]);
	if (!strcmp(argv[1], "hostpid") && argc == 3)
		return host_pid((pid_t)atoi(argv[2]));
	if (!strcmp(argv[1], "rofs") && argc >= 3) {
		int bad = 0;
		for (int i = 2; i < argc; i++)
			bad |= write_fails(argv[i]);
		return bad;
	}
	if (!strcmp(argv[1], "absent") && argc >= 3) {
		int bad = 0;
		for (int i = 2; i < argc; i++) {
			struct stat st;
			if (stat(argv[i], &st) == 0) {
				printf("%s: visible\n", argv[i]);
				bad = 1;
			}
		}
		return bad;
	}
	if (!strcmp(argv[1], "euid")) {
		printf("uid=%d euid=%d\n", (int)getuid(), (int)geteuid());
		return geteuid() == 0 ? 1 : 0;
	}
	if (!strcmp(argv[1], "forkbomb"))
		return fork_bomb();
	if (!strcmp(argv[1], "membomb"))
		return mem_bomb();
	if (!strcmp(argv[1], "spin"))
		for (volatile unsigned long i = 0;; i++)
			;
	if (!strcmp(argv[1], "fill") && argc == 3)
		return fill(argv[2]);
	if (!strcmp(argv[1], "interfaces"))
		return interfaces();
	return 2;
}
