// SPDX-License-Identifier: Apache-2.0
/*
 * sl-kmem: run INSIDE a sandbox by test_kmem (bound at /var/task). Each mode makes the kernel
 * hold memory for it in one way (socket buffers, pipes, inotify and epoll watches, POSIX and
 * SysV message queues) as far as it is let, and prints one line of "key=value" figures: what
 * it got held, and why it stopped (the errno, or "cap" at its own cap). The test judges them.
 * Exit 0 when it ran, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static char buf[CHUNK];

/* TCP mem pages in use host-wide ("TCP: ... mem N" of /proc/net/sockstat). */
static long sockstat_tcp_mem(void)
{
	char line[256];
	long mem = -1;
	FILE *f = fopen("/proc/net/sockstat", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, " mem ");
		if (!strncmp(line, "TCP:", 4) && p)
			mem = atol(p + 5);
	}
	if (f)
		fclose(f);
	return mem;
}

/* Writes into fd until it would block; returns the bytes it took. */
static long long fill(int fd, int *err)
{
	long long total = 0;
	ssize_t n;

	while ((n = write(fd, buf, sizeof(buf))) > 0)
		total += n;
	*err = errno;
	return total;
}

static int tcp_pair(int lfd, const struct sockaddr_in *a, int fds[2])
{
	fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fds[0] < 0)
		return -1;
	if (connect(fds[0], (struct sockaddr *)a, sizeof(*a)) < 0 && errno != EINPROGRESS)
		return -1;
	/* under memory pressure a handshake may never complete: give up after a second */
	struct pollfd pfd = {.fd = lfd, .events = POLLIN};
	if (poll(&pfd, 1, 1000) != 1) {
		errno = ETIMEDOUT;
		return -1;
	}
	fds[1] = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	return fds[1] < 0 ? -1 : 0;
}

/* Loopback TCP pairs, both ends written and never read. */
static int tcp(int pairs)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	long before = sockstat_tcp_mem(), peak = 0;
	long long sent = 0;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), err = 0, made = 0;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &len) < 0) {
		printf("setup failed: %s\n", strerror(errno));
		return 1;
	}
	for (; made < pairs; made++) {
		int fds[2];

		if (tcp_pair(lfd, &a, fds) < 0) {
			err = errno;
			break;
		}
		/* both directions: four queues per pair */
		for (int round = 0; round < 4; round++) {
			sent += fill(fds[0], &err);
			sent += fill(fds[1], &err);
			usleep(1000); /* lets the receive side take what it will */
		}
		long now = sockstat_tcp_mem() - before;
		peak = now > peak ? now : peak;
	}
	printf("tcp pairs=%d sent=%lld sockstat_growth_bytes=%ld stop=%s\n", made, sent,
	       peak * 4096, made == pairs ? "cap" : strerror(err));
	return 0;
}

/* Pipes filled to their size, grown to 1 MiB where allowed; both ends kept open. */
static int pipes(int max)
{
	long long held = 0;
	int made = 0, err = 0;

	for (; made < max; made++) {
		int p[2];

		if (pipe2(p, O_NONBLOCK) < 0) {
			err = errno;
			break;
		}
		(void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
		held += fill(p[1], &err);
		if (err != EAGAIN)
			break;
	}
	printf("pipe pipes=%d held=%lld stop=%s\n", made, held,
	       made == max ? "cap" : strerror(err));
	return 0;
}

/* inotify watches on files of /tmp, in as many instances as it takes. */
static int inotify(int max)
{
	int made = 0, err = 0, in = -1, per = 0;
	char path[64];

	for (; made < max; made++) {
		if (in < 0 || per == 8192) {
			in = inotify_init1(IN_CLOEXEC);
			per = 0;
			if (in < 0) {
				err = errno;
				break;
			}
		}
		snprintf(path, sizeof(path), "/tmp/w%d", made);
		int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0) {
			err = errno;
			break;
		}
		close(fd);
		if (inotify_add_watch(in, path, IN_ALL_EVENTS) < 0) {
			err = errno;
			break;
		}
		per++;
	}
	printf("inotify watches=%d stop=%s\n", made, made == max ? "cap" : strerror(err));
	return 0;
}

/* epoll watches: each of n instances watching the same k eventfds (n * k epitems). */
static int epoll(int max)
{
	enum { FDS = 480 };
	int fds[FDS], made = 0, err = 0;

	for (int i = 0; i < FDS; i++)
		if ((fds[i] = eventfd(0, EFD_CLOEXEC)) < 0) {
			printf("setup failed: %s\n", strerror(errno));
			return 1;
		}
	while (made < max) {
		int ep = epoll_create1(EPOLL_CLOEXEC);

		if (ep < 0) {
			err = errno;
			break;
		}
		for (int i = 0; i < FDS && made < max; i++, made++) {
			struct epoll_event ev = {.events = EPOLLIN};

			if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
				err = errno;
				goto out;
			}
		}
	}
out:
	printf("epoll watches=%d stop=%s\n", made, made >= max ? "cap" : strerror(err));
	return 0;
}

/* POSIX message queues, each filled with messages. */
static int mqueue(int max)
{
	struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = 8192};
	long long held = 0;
	int made = 0, err = 0;
	char name[32];

	for (; made < max; made++) {
		snprintf(name, sizeof(name), "/slk%d", made);
		mqd_t q = mq_open(name, O_CREAT | O_WRONLY | O_NONBLOCK, 0600, &attr);
		if (q == (mqd_t)-1) {
			err = errno;
			break;
		}
		while (mq_send(q, buf, attr.mq_msgsize, 0) == 0)
			held += attr.mq_msgsize;
	}
	struct rlimit rl;
	getrlimit(RLIMIT_MSGQUEUE, &rl);
	printf("mqueue queues=%d held=%lld rlimit=%lld stop=%s\n", made, held,
	       (long long)rl.rlim_cur, made == max ? "cap" : strerror(err));
	return 0;
}

/* SysV message queues, each filled up to its msgmnb. */
static int sysvmsg(int max)
{
	struct {
		long type;
		char text[8192];
	} m = {.type = 1};
	long long held = 0;
	int made = 0, err = 0;

	for (; made < max; made++) {
		int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (q < 0) {
			err = errno;
			break;
		}
		while (msgsnd(q, &m, sizeof(m.text), IPC_NOWAIT) == 0)
			held += sizeof(m.text);
		if (errno != EAGAIN) {
			err = errno;
			break;
		}
	}
	printf("sysvmsg queues=%d held=%lld stop=%s\n", made, held,
	       made == max ? "cap" : strerror(err));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	memset(buf, 'k', sizeof(buf));
	if (!strcmp(argv[1], "tcp"))
		return tcp(atoi(argv[2]));
	if (!strcmp(argv[1], "pipe"))
		return pipes(atoi(argv[2]));
	if (!strcmp(argv[1], "inotify"))
		return inotify(atoi(argv[2]));
	if (!strcmp(argv[1], "epoll"))
		return epoll(atoi(argv[2]));
	if (!strcmp(argv[1], "mqueue"))
		return mqueue(atoi(argv[2]));
	if (!strcmp(argv[1], "sysvmsg"))
		return sysvmsg(atoi(argv[2]));
	return 2;
}
