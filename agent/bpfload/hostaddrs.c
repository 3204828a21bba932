// SPDX-License-Identifier: Apache-2.0
/* The host's addresses in the BPF policy, following rtnetlink address events (hostaddrs.h). */
#include "bpfload/hostaddrs.h"

#include <sandlot/util.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RCVBUF_BYTES (1 << 20) /* a burst of address events (many sandboxes going at once) */

struct sl_hostaddrs {
	struct sl_bpf *bpf;
	int fd;		  /* NETLINK_ROUTE, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR */
	int stop[2];	  /* written to stop the thread */
	pthread_t thread; /* valid when started */
	bool started;
};

static int nl_open(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
				 .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	int size = RCVBUF_BYTES;

	if (fd < 0)
		return sl_negerrno();
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = sl_negerrno();

		close(fd);
		return r;
	}
	return fd;
}

int sl_hostaddrs_new(struct sl_hostaddrs **ret, struct sl_bpf *b)
{
	struct sl_hostaddrs *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	h->bpf = b;
	h->stop[0] = h->stop[1] = -1;
	h->fd = nl_open();
	r = h->fd < 0 ? h->fd : sl_bpf_host_addrs_reconcile(b); /* after subscribing */
	if (r < 0) {
		sl_hostaddrs_free(&h);
		return r;
	}
	*ret = h;
	return 0;
}

int sl_hostaddrs_fd(const struct sl_hostaddrs *h)
{
	return h->fd;
}

/* One address event, as far as the policy cares. */
struct event {
	struct sl_bpf_addr addr;
	int family;
	uint8_t prefix;
	struct in_addr local4; /* IPv4: the address ... */
	struct in_addr brd;    /* ... and its configured broadcast address (0: none) */
};

/*
 * One RTM_NEWADDR/RTM_DELADDR into *ret: IFA_LOCAL when present (on a point-to-point link
 * IFA_ADDRESS is the peer's), else IFA_ADDRESS. False when malformed or not IPv4/IPv6.
 */
static bool event_parse(const struct nlmsghdr *nh, struct event *ret)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifa));
	size_t want = ifa->ifa_family == AF_INET ? 4 : 16;
	const void *local = NULL, *addr = NULL;

	if (len < 0 || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return false;
	memset(ret, 0, sizeof(*ret));
	for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (RTA_PAYLOAD(a) != want)
			continue;
		if (a->rta_type == IFA_LOCAL)
			local = RTA_DATA(a);
		else if (a->rta_type == IFA_ADDRESS)
			addr = RTA_DATA(a);
		else if (a->rta_type == IFA_BROADCAST && want == 4)
			memcpy(&ret->brd, RTA_DATA(a), 4);
	}
	if (!local && !addr)
		return false;
	ret->family = ifa->ifa_family;
	ret->prefix = ifa->ifa_prefixlen;
	if (ret->family == AF_INET)
		memcpy(&ret->local4, local ? local : addr, 4);
	sl_bpf_addr_from(ifa->ifa_family, local ? local : addr, &ret->addr);
	return true;
}

static int event_add(struct sl_hostaddrs *h, const struct event *e)
{
	int r = sl_bpf_host_addr_add(h->bpf, &e->addr);

	if (r >= 0 && e->family == AF_INET)
		r = sl_bpf_host_subnet_add(h->bpf, &e->local4, e->prefix,
					   e->brd.s_addr ? &e->brd : NULL);
	return r;
}

/* Forgets the address and its subnet's ends (sl_hostaddrs_process re-adds what is left). */
static void event_remove(struct sl_hostaddrs *h, const struct event *e)
{
	uint32_t mask, ends[3];
	struct sl_bpf_addr a;

	(void)sl_bpf_host_addr_remove(h->bpf, &e->addr);
	if (e->family != AF_INET || e->prefix > 30)
		return;
	mask = e->prefix ? ~0u << (32 - e->prefix) : 0;
	ends[0] = htonl(ntohl(e->local4.s_addr) & mask);
	ends[1] = htonl(ntohl(e->local4.s_addr) | ~mask);
	ends[2] = e->brd.s_addr != e->local4.s_addr ? e->brd.s_addr : ends[1];
	for (int i = 0; i < 3; i++) {
		sl_bpf_addr_from(AF_INET, &ends[i], &a);
		(void)sl_bpf_host_addr_remove(h->bpf, &a);
	}
}

/* Applies one datagram's events; *removed tells whether an address went. The count. */
static int apply(struct sl_hostaddrs *h, const void *buf, size_t n, bool *removed)
{
	int applied = 0, r;

	for (const struct nlmsghdr *nh = buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
		struct event e;

		if ((nh->nlmsg_type != RTM_NEWADDR && nh->nlmsg_type != RTM_DELADDR) ||
		    nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)) ||
		    !event_parse(nh, &e) || sl_bpf_addr_is_loopback(&e.addr))
			continue;
		if (nh->nlmsg_type == RTM_NEWADDR) {
			r = event_add(h, &e);
			if (r < 0)
				return r;
		} else {
			event_remove(h, &e);
			*removed = true;
		}
		applied++;
	}
	return applied;
}

int sl_hostaddrs_process(struct sl_hostaddrs *h)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO))); /* NLMSG_GOODSIZE at most */
	bool removed = false;
	int total = 0, r;

	for (;;) {
		ssize_t n = recv(h->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && errno == ENOBUFS) { /* events were lost: read everything again */
			r = sl_bpf_host_addrs_reconcile(h->bpf);
			if (r < 0)
				return r;
			removed = false;
			continue;
		}
		if (n < 0)
			return sl_negerrno();
		r = apply(h, buf, (size_t)n, &removed);
		if (r < 0)
			return r;
		total += r;
	}
	/* an address that left one interface may still be on another */
	if (removed && (r = sl_bpf_host_addrs_sync(h->bpf)) < 0)
		return r;
	return total;
}

static void *watch(void *data)
{
	struct sl_hostaddrs *h = data;
	struct pollfd p[2] = {{.fd = h->fd, .events = POLLIN},
			      {.fd = h->stop[0], .events = POLLIN}};

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents)
			(void)sl_hostaddrs_process(h); /* a failure: the next event tries again */
	}
	return NULL;
}

int sl_hostaddrs_start_thread(struct sl_hostaddrs *h)
{
	int r;

	if (h->started)
		return -EALREADY;
	if (pipe2(h->stop, O_CLOEXEC) < 0)
		return sl_negerrno();
	r = -pthread_create(&h->thread, NULL, watch, h);
	if (r < 0)
		return r;
	h->started = true;
	return 0;
}

void sl_hostaddrs_free(struct sl_hostaddrs **ph)
{
	struct sl_hostaddrs *h = ph ? *ph : NULL;

	if (!h)
		return;
	if (h->started) {
		(void)!write(h->stop[1], "x", 1);
		pthread_join(h->thread, NULL);
	}
	sl_closep(&h->stop[0]);
	sl_closep(&h->stop[1]);
	sl_closep(&h->fd);
	free(h);
	*ph = NULL;
}
