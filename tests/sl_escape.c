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
#include <linux/perf_event.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
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

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "syscall") && argc == 3)
		return refused(argv[2], try_syscall(argv[2]));
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
