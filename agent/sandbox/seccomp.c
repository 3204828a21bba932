// SPDX-License-Identifier: Apache-2.0
/*
 * The seccomp allow-list (see seccomp.h), compiled with libseccomp. The only file that
 * includes it; linked into the build-time generator (seccomp-gen.c), not into the agent.
 */
#include "sandbox/seccomp.h"

#include <sandlot/util.h>

#include <errno.h>
#include <linux/sched.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <seccomp.h>

/*
 * What ordinary programs and language runtimes need: files, memory, signals, time, threads,
 * sockets, polling, process control on their own children. Names unknown to this libseccomp or
 * architecture are skipped.
 */
static const char *const allowed[] = {
	"_llseek",
	"accept",
	"accept4",
	"access",
	"alarm",
	"arch_prctl",
	"bind",
	"brk",
	"capget",
	"chdir",
	"chmod",
	"chown",
	"clock_getres",
	"clock_gettime",
	"clock_nanosleep",
	"close",
	"close_range",
	"connect",
	"copy_file_range",
	"creat",
	"dup",
	"dup2",
	"dup3",
	"epoll_create",
	"epoll_create1",
	"epoll_ctl",
	"epoll_pwait",
	"epoll_pwait2",
	"epoll_wait",
	"eventfd",
	"eventfd2",
	"execve",
	"execveat",
	"exit",
	"exit_group",
	"faccessat",
	"faccessat2",
	"fadvise64",
	"fallocate",
	"fchdir",
	"fchmod",
	"fchmodat",
	"fchown",
	"fchownat",
	"fcntl",
	"fdatasync",
	"fgetxattr",
	"flistxattr",
	"flock",
	"fork",
	"fstat",
	"fstatfs",
	"fsync",
	"ftruncate",
	"futex",
	"futex_waitv",
	"futimesat",
	"get_robust_list",
	"getcpu",
	"getcwd",
	"getdents",
	"getdents64",
	"getegid",
	"geteuid",
	"getgid",
	"getgroups",
	"getitimer",
	"getpeername",
	"getpgid",
	"getpgrp",
	"getpid",
	"getppid",
	"getpriority",
	"getrandom",
	"getresgid",
	"getresuid",
	"getrlimit",
	"getrusage",
	"getsid",
	"getsockname",
	"getsockopt",
	"gettid",
	"gettimeofday",
	"getuid",
	"getxattr",
	"io_cancel",
	"io_destroy",
	"io_getevents",
	"io_setup",
	"io_submit",
	"ioprio_get",
	"ioctl",
	"kill",
	"lchown",
	"lgetxattr",
	"link",
	"linkat",
	"listen",
	"listxattr",
	"llistxattr",
	"lseek",
	"lstat",
	"madvise",
	"membarrier",
	"memfd_create",
	"mincore",
	"mkdir",
	"mkdirat",
	"mknod",
	"mknodat",
	"mlock",
	"mlock2",
	"mlockall",
	"mmap",
	"mprotect",
	"mq_getsetattr",
	"mq_notify",
	"mq_open",
	"mq_timedreceive",
	"mq_timedsend",
	"mq_unlink",
	"mremap",
	"msgctl",
	"msgget",
	"msgrcv",
	"msgsnd",
	"msync",
	"munlock",
	"munlockall",
	"munmap",
	"nanosleep",
	"newfstatat",
	"open",
	"openat",
	"openat2",
	"pause",
	"pidfd_open",
	"pidfd_send_signal",
	"pipe",
	"pipe2",
	"poll",
	"ppoll",
	"prctl",
	"pread64",
	"preadv",
	"preadv2",
	"prlimit64",
	"pselect6",
	"pwrite64",
	"pwritev",
	"pwritev2",
	"read",
	"readahead",
	"readlink",
	"readlinkat",
	"readv",
	"recvfrom",
	"recvmmsg",
	"recvmsg",
	"remap_file_pages",
	"rename",
	"renameat",
	"renameat2",
	"restart_syscall",
	"rmdir",
	"rseq",
	"rt_sigaction",
	"rt_sigpending",
	"rt_sigprocmask",
	"rt_sigqueueinfo",
	"rt_sigreturn",
	"rt_sigsuspend",
	"rt_sigtimedwait",
	"rt_tgsigqueueinfo",
	"sched_get_priority_max",
	"sched_get_priority_min",
	"sched_getaffinity",
	"sched_getattr",
	"sched_getparam",
	"sched_getscheduler",
	"sched_rr_get_interval",
	"sched_setaffinity",
	"sched_setattr",
	"sched_setparam",
	"sched_setscheduler",
	"sched_yield",
	"select",
	"semctl",
	"semget",
	"semop",
	"semtimedop",
	"sendfile",
	"sendmmsg",
	"sendmsg",
	"sendto",
	"set_robust_list",
	"set_tid_address",
	"setitimer",
	"setpgid",
	"setpriority",
	"setsid",
	"setsockopt",
	"shmat",
	"shmctl",
	"shmdt",
	"shmget",
	"shutdown",
	"sigaltstack",
	"signalfd",
	"signalfd4",
	"socketpair",
	"splice",
	"stat",
	"statfs",
	"statx",
	"symlink",
	"symlinkat",
	"sync",
	"sync_file_range",
	"syncfs",
	"sysinfo",
	"tee",
	"tgkill",
	"time",
	"timer_create",
	"timer_delete",
	"timer_getoverrun",
	"timer_gettime",
	"timer_settime",
	"timerfd_create",
	"timerfd_gettime",
	"timerfd_settime",
	"times",
	"tkill",
	"truncate",
	"umask",
	"uname",
	"unlink",
	"unlinkat",
	"utime",
	"utimensat",
	"utimes",
	"vfork",
	"vmsplice",
	"wait4",
	"waitid",
	"write",
	"writev",
	/* set*id within the sandbox's own ids: without capabilities they cannot gain any */
	"setgid",
	"setuid",
	"setregid",
	"setreuid",
	"setresgid",
	"setresuid",
	"setfsgid",
	"setfsuid",
	"setgroups",
};

/* Needed by the sandbox child's set-up only: allowed by the base filter, refused by the seal. */
static const char *const setup_only[] = {"setns",	"unshare", "mount",   "move_mount",
					 "sethostname", "capset",  "seccomp", "ioprio_set"};

/* Namespace flags a clone(2) inside the sandbox may not ask for. */
#define DENIED_CLONE_FLAGS                                                                         \
	((scmp_datum_t)(CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | \
			CLONE_NEWIPC | CLONE_NEWCGROUP | CLONE_NEWTIME))

static int add_names(scmp_filter_ctx ctx, uint32_t action, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]), r;

		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, action, nr, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_base_rules(scmp_filter_ctx ctx)
{
	int r = add_names(ctx, SCMP_ACT_ALLOW, allowed, ARRAY_SIZE(allowed));

	if (r >= 0)
		r = add_names(ctx, SCMP_ACT_ALLOW, setup_only, ARRAY_SIZE(setup_only));
	if (r >= 0) /* the spawner thread clones the sandboxes; the seal turns this into ENOSYS */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone3), 0);
	if (r < 0)
		return r;
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			     SCMP_A0(SCMP_CMP_MASKED_EQ, DENIED_CLONE_FLAGS, 0));
	if (r < 0)
		return r;
	/* socket(): the Internet and local families with stream, datagram or seqpacket types
	 * (no raw, no packet), and netlink of any type but only NETLINK_ROUTE (getifaddrs,
	 * if_nameindex, `ip`): the other protocols read host-wide state, e.g. every device
	 * event of the host (NETLINK_KOBJECT_UEVENT) */
	static const scmp_datum_t families[] = {AF_UNIX, AF_INET, AF_INET6};
	static const scmp_datum_t types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
	for (size_t f = 0; f < ARRAY_SIZE(families); f++) {
		for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
					     SCMP_A0(SCMP_CMP_EQ, families[f], 0),
					     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, types[t]));
			if (r < 0)
				return r;
		}
	}
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
			     SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0),
			     SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE, 0));
	if (r < 0)
		return r;
	/* personality(): only the harmless queries and settings (as Docker allows) */
	static const scmp_datum_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
	for (size_t i = 0; i < ARRAY_SIZE(personas); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
				     SCMP_A0(SCMP_CMP_EQ, personas[i], 0));
		if (r < 0)
			return r;
	}
	return 0;
}

/* Exports the compiled filter through a memfd into a heap copy. */
static int export_prog(scmp_filter_ctx ctx, struct sock_fprog *ret)
{
	_cleanup_close_ int fd = memfd_create("sandlot-seccomp", MFD_CLOEXEC);
	_cleanup_free_ struct sock_filter *insns = NULL;
	off_t len;
	int r;

	if (fd < 0)
		return sl_negerrno();
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return r;
	len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % (off_t)sizeof(struct sock_filter) ||
	    len / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -EINVAL;
	insns = malloc((size_t)len);
	if (!insns)
		return -ENOMEM;
	if (pread(fd, insns, (size_t)len, 0) != len)
		return -EIO;
	ret->len = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
	ret->filter = TAKE_PTR(insns);
	return 0;
}

/*
 * Terminal ioctls that reach past the sandbox when its stdio is a terminal: TIOCSTI pushes
 * input into the terminal (the caller's shell would run it), TIOCLINUX selects, pastes and
 * reads a VT console, TIOCSCTTY takes a terminal nobody controls as the sandbox's own (it
 * has no pty of its own to use it for). In the seal, whose default is to allow: an
 * allow-list cannot say "ioctl unless cmd is one of these" with a mask.
 */
static const scmp_datum_t refused_ioctls[] = {TIOCSTI, TIOCLINUX, TIOCSCTTY};

static int add_seal_rules(scmp_filter_ctx ctx)
{
	int r = add_names(ctx, SCMP_ACT_ERRNO(EPERM), setup_only, ARRAY_SIZE(setup_only));

	/* the kernel takes ioctl's cmd as an unsigned int: compare its low 32 bits only, or
	 * TIOCSTI | 1 << 32 would pass */
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(refused_ioctls); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, refused_ioctls[i]));
	/* glibc falls back to clone(2), whose flags the base filter checks */
	return r < 0 ? r : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

static int compile(uint32_t def, int (*rules)(scmp_filter_ctx), struct sock_fprog *ret)
{
	scmp_filter_ctx ctx = seccomp_init(def);
	int r;

	if (!ctx)
		return -ENOMEM;
	/* we set no_new_privs ourselves, at the step we choose */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/*
	 * A binary tree of syscall numbers instead of one long chain: cheaper to load (the
	 * kernel runs the filter for every syscall number to build its action cache, then
	 * converts and JITs it), and a syscall that is not in that cache walks ~9 comparisons
	 * instead of up to ~270.
	 */
	if (r >= 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r >= 0)
		r = rules(ctx);
	if (r >= 0)
		r = export_prog(ctx, ret);
	seccomp_release(ctx);
	return r;
}

int sl_seccomp_compile(struct sl_seccomp **ret)
{
	struct sl_seccomp *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	r = compile(SCMP_ACT_ERRNO(EPERM), add_base_rules, &s->base);
	if (r >= 0)
		r = compile(SCMP_ACT_ALLOW, add_seal_rules, &s->seal);
	if (r < 0) {
		sl_seccomp_free(&s);
		return r;
	}
	*ret = s;
	return 0;
}

void sl_seccomp_free(struct sl_seccomp **s)
{
	if (!*s)
		return;
	free((*s)->base.filter);
	free((*s)->seal.filter);
	free(*s);
	*s = NULL;
}
