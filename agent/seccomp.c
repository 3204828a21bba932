/* The seccomp allow-list (see seccomp.h). The only file that includes libseccomp. */
#include "seccomp.h"

#include <sandlot/util.h>

#include <errno.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

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
	"inotify_add_watch",
	"inotify_init",
	"inotify_init1",
	"inotify_rm_watch",
	"io_cancel",
	"io_destroy",
	"io_getevents",
	"io_setup",
	"io_submit",
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

/* Namespace flags a clone(2) inside the sandbox may not ask for. */
#define DENIED_CLONE_FLAGS                                                                         \
	((scmp_datum_t)(CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | \
			CLONE_NEWIPC | CLONE_NEWCGROUP | CLONE_NEWTIME))

static int add_rules(scmp_filter_ctx ctx)
{
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0)
			return r;
	}
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			     SCMP_A0(SCMP_CMP_MASKED_EQ, DENIED_CLONE_FLAGS, 0));
	if (r < 0)
		return r;
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0)
		return r;
	/* socket(): everything but packet sockets and raw sockets (type masked of its flags) */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
			     SCMP_A0(SCMP_CMP_NE, AF_PACKET),
			     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM));
	if (r < 0)
		return r;
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
			     SCMP_A0(SCMP_CMP_NE, AF_PACKET),
			     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM));
	if (r < 0)
		return r;
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
			     SCMP_A0(SCMP_CMP_NE, AF_PACKET),
			     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_SEQPACKET));
	if (r < 0)
		return r;
	/* personality(): only the harmless queries and settings (as Docker allows) */
	static const scmp_datum_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
	for (size_t i = 0; i < ARRAY_SIZE(personas); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
				     SCMP_A0(SCMP_CMP_EQ, personas[i]));
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

int sl_seccomp_new(struct sl_seccomp **ret)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	struct sl_seccomp *s;
	int r;

	if (!ctx)
		return -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (!s) {
		seccomp_release(ctx);
		return -ENOMEM;
	}
	/* we set no_new_privs ourselves, at the step we choose */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r >= 0)
		r = add_rules(ctx);
	if (r >= 0)
		r = export_prog(ctx, &s->prog);
	seccomp_release(ctx);
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void sl_seccomp_free(struct sl_seccomp **s)
{
	if (!*s)
		return;
	free((*s)->prog.filter);
	free(*s);
	*s = NULL;
}

int sl_seccomp_apply(const struct sl_seccomp *s)
{
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &s->prog) < 0)
		return sl_negerrno();
	return 0;
}
