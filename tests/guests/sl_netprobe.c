// SPDX-License-Identifier: Apache-2.0
/*
 * sl-netprobe: run INSIDE a sandbox by the run network tests (bound at /var/task). Each mode
 * does one network or CPU action and reports it on stdout; the exit status says what happened:
 * 0 it worked, 1 refused with EPERM, 3 another error (printed), 4 no answer, 2 bad usage.
 *
 *   connect ADDR PORT         TCP connect (2 s)
 *   udp ADDR PORT             one UDP datagram (sendto)
 *   send ADDR PORT BYTES      TCP: connect, write BYTES, half-close, read until EOF
 *   recv ADDR PORT            TCP: connect, read until EOF; prints the byte count
 *   lo BYTES                  TCP over 127.0.0.1: BYTES written and read back in-process
 *   ping ADDR                 one ICMP echo over a ping socket (1 s)
 *   burn MS                   burns MS milliseconds of CPU (CLOCK_PROCESS_CPUTIME_ID)
 *   ifaddr                    prints the IPv4 address of eth0 (or "none")
 *   connect6 ADDR6 PORT       TCP connect over IPv6 (2 s), e.g. to ::ffff:a.b.c.d
 *   udpreply ADDR PORT        one UDP datagram (SO_BROADCAST set), then waits 1 s for a reply
 *   waitconnect ADDR PORT S   TCP connect, again every 50 ms for up to S seconds while the
 *                             address is not there (anything but success and EPERM)
 *
 *   gate FILE MODE ARGS...    waits (up to 30 s) until FILE holds a byte, then does MODE
 *
 * ADDR may also be @net or @bcast: the network or broadcast address of eth0's /30.
 */
#include "inet_csum.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int outcome(const char *what, int err)
{
	if (!err) {
		printf("%s: ok\n", what);
		return 0;
	}
	printf("%s: %s\n", what, strerror(err));
	if (err == EPERM)
		return 1;
	return err == ETIMEDOUT ? 4 : 3;
}

/* eth0's IPv4 address in host order (0: none). */
static uint32_t eth0_addr(void)
{
	struct ifaddrs *all, *i;
	uint32_t a = 0;

	if (getifaddrs(&all) < 0)
		return 0;
	for (i = all; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, "eth0"))
			a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
	freeifaddrs(all);
	return a;
}

static struct sockaddr_in addr_of(const char *a, const char *port)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};

	if (!strcmp(a, "@net"))
		s.sin_addr.s_addr = htonl(eth0_addr() & ~3u);
	else if (!strcmp(a, "@bcast"))
		s.sin_addr.s_addr = htonl(eth0_addr() | 3u);
	else
		inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

/* Connected TCP socket, or -errno. */
static int tcp_connect(const char *a, const char *port)
{
	struct sockaddr_in s = addr_of(a, port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 0;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&s, sizeof(s)) < 0 && errno != EINPROGRESS) {
		err = errno;
		close(fd);
		return -err;
	}
	if (poll(&p, 1, 2000) != 1)
		err = ETIMEDOUT;
	else
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		close(fd);
		return -err;
	}
	fcntl(fd, F_SETFL, 0);
	return fd;
}

static int tcp_connect6(const char *a, const char *port)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(port))};
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 0;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t len = sizeof(err);

	if (fd < 0 || inet_pton(AF_INET6, a, &s.sin6_addr) != 1)
		return fd < 0 ? -errno : -EINVAL;
	if (connect(fd, (struct sockaddr *)&s, sizeof(s)) < 0 && errno != EINPROGRESS)
		err = errno;
	else if (poll(&p, 1, 2000) != 1)
		err = ETIMEDOUT;
	else
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	close(fd);
	return -err;
}

static int do_udpreply(const char *a, const char *port)
{
	struct sockaddr_in s = addr_of(a, port);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 1;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[64];

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof(on)) < 0)
		return outcome("socket", errno);
	if (sendto(fd, "x", 1, 0, (struct sockaddr *)&s, sizeof(s)) != 1)
		return outcome("sendto", errno);
	if (poll(&p, 1, 1000) == 1 && recv(fd, buf, sizeof(buf), 0) > 0)
		return outcome("reply", 0);
	return outcome("reply", ETIMEDOUT);
}

static int do_waitconnect(const char *a, const char *port, int secs)
{
	int fd = -ETIMEDOUT;

	for (int i = 0; i < secs * 20; i++) {
		fd = tcp_connect(a, port);
		if (fd >= 0 || fd == -EPERM)
			break;
		usleep(50000);
	}
	return outcome("connect", fd < 0 ? -fd : (close(fd), 0));
}

static int write_all(int fd, long n)
{
	static char buf[65536];

	while (n > 0) {
		ssize_t w = write(fd, buf, n < (long)sizeof(buf) ? (size_t)n : sizeof(buf));

		if (w < 0)
			return errno;
		n -= w;
	}
	return 0;
}

static long read_all(int fd)
{
	static char buf[65536];
	long total = 0;
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		total += r;
	return r < 0 ? -errno : total;
}

static int do_send(const char *a, const char *port, long n, bool recv_only)
{
	int fd = tcp_connect(a, port), err;
	long got;

	if (fd < 0)
		return outcome("connect", -fd);
	err = recv_only ? 0 : write_all(fd, n);
	if (!err)
		shutdown(fd, SHUT_WR);
	got = err ? 0 : read_all(fd);
	close(fd);
	if (err || got < 0)
		return outcome("transfer", err ? err : (int)-got);
	printf("received %ld\n", got);
	return 0;
}

static int do_udp(const char *a, const char *port)
{
	struct sockaddr_in s = addr_of(a, port);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return outcome("socket", errno);
	return outcome("sendto",
		       sendto(fd, "x", 1, 0, (struct sockaddr *)&s, sizeof(s)) == 1 ? 0 : errno);
}

/* Server and client in one process over loopback: n bytes each way. */
static int do_lo(long n)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(s);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c, a;
	char port[16];

	if (l < 0 || bind(l, (struct sockaddr *)&s, sizeof(s)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&s, &len) < 0)
		return outcome("listen", errno);
	snprintf(port, sizeof(port), "%u", ntohs(s.sin_port));
	c = tcp_connect("127.0.0.1", port);
	if (c < 0)
		return outcome("connect", -c);
	a = accept(l, NULL, NULL);
	if (a < 0)
		return outcome("accept", errno);
	if (fork() == 0) { /* the server side: reads everything */
		close(c);
		_exit(read_all(a) == n ? 0 : 1);
	}
	close(a);
	int err = write_all(c, n), status = 1;
	close(c);
	wait(&status);
	printf("sent %ld\n", n);
	return outcome("lo", err ? err : (status == 0 ? 0 : EIO));
}

static int do_ping(const char *a)
{
	struct sockaddr_in s = addr_of(a, "0");
	struct icmphdr h = {.type = ICMP_ECHO, .un.echo.sequence = htons(1)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP), on = 1;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[256];

	if (fd < 0)
		return outcome("socket", errno);
	(void)setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof(on));
	h.checksum = inet_csum(&h, sizeof(h));
	if (sendto(fd, &h, sizeof(h), 0, (struct sockaddr *)&s, sizeof(s)) < 0)
		return outcome("ping", errno);
	if (poll(&p, 1, 1000) == 1 && read(fd, buf, sizeof(buf)) >= (ssize_t)sizeof(h) &&
	    ((struct icmphdr *)buf)->type == ICMP_ECHOREPLY)
		return outcome("ping", 0);
	return outcome("ping", ETIMEDOUT);
}

static int do_burn(long ms)
{
	struct timespec t;
	long long end_ns = ms * 1000000LL, now;

	do {
		for (volatile int i = 0; i < 100000; i++)
			;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
		now = t.tv_sec * 1000000000LL + t.tv_nsec;
	} while (now < end_ns);
	printf("burned %lld ns\n", now);
	return 0;
}

static int do_ifaddr(void)
{
	struct ifaddrs *all, *i;
	char buf[INET_ADDRSTRLEN] = "none";

	if (getifaddrs(&all) < 0)
		return outcome("getifaddrs", errno);
	for (i = all; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, "eth0"))
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf,
				  sizeof(buf));
	freeifaddrs(all);
	printf("%s\n", buf);
	return 0;
}

/* Whether FILE holds a byte yet. The file exists before the sandbox starts and only its content
 * changes: /var/task is an overlay, which need not show entries added below it later. */
static bool gate_open(const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	char c;
	bool open_ = fd >= 0 && read(fd, &c, 1) == 1;

	if (fd >= 0)
		close(fd);
	return open_;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(m, "gate") && argc >= 4) {
		for (int i = 0; i < 600 && !gate_open(argv[2]); i++)
			usleep(50000);
		argv += 2;
		argc -= 2;
		m = argv[1];
	}
	if (!strcmp(m, "connect") && argc == 4) {
		int fd = tcp_connect(argv[2], argv[3]);

		return outcome("connect", fd < 0 ? -fd : (close(fd), 0));
	}
	if (!strcmp(m, "udp") && argc == 4)
		return do_udp(argv[2], argv[3]);
	if (!strcmp(m, "send") && argc == 5)
		return do_send(argv[2], argv[3], atol(argv[4]), false);
	if (!strcmp(m, "recv") && argc == 4)
		return do_send(argv[2], argv[3], 0, true);
	if (!strcmp(m, "lo") && argc == 3)
		return do_lo(atol(argv[2]));
	if (!strcmp(m, "ping") && argc == 3)
		return do_ping(argv[2]);
	if (!strcmp(m, "burn") && argc == 3)
		return do_burn(atol(argv[2]));
	if (!strcmp(m, "ifaddr"))
		return do_ifaddr();
	if (!strcmp(m, "connect6") && argc == 4) {
		int r = tcp_connect6(argv[2], argv[3]);

		return outcome("connect6", -r);
	}
	if (!strcmp(m, "udpreply") && argc == 4)
		return do_udpreply(argv[2], argv[3]);
	if (!strcmp(m, "waitconnect") && argc == 5)
		return do_waitconnect(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: sl-netprobe connect|connect6|udp|udpreply|send|recv|lo|ping|burn|"
			"ifaddr|waitconnect ...\n");
	return 2;
}
