// SPDX-License-Identifier: Apache-2.0
#include "sandbox/netpool.h"

#include <sandlot/parse.h>
#include <sandlot/util.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>

#define LEASE_PREFIX 30
#define LEASE_SIZE   4u /* addresses per /30 */

struct sl_netpool {
	uint32_t base; /* network address, host order */
	uint32_t capacity;
	uint8_t *used; /* one byte per lease */
};

int sl_netpool_new(struct sl_netpool **ret, const char *cidr)
{
	char buf[32], *slash;
	struct in_addr a;
	uint64_t len;
	struct sl_netpool *p;

	if (!cidr || strlen(cidr) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, cidr);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1 || sl_parse_u64(slash + 1, 8, 28, &len) < 0)
		return -EINVAL;
	if (ntohl(a.s_addr) & ((1u << (32 - len)) - 1))
		return -EINVAL; /* host bits set */
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->base = ntohl(a.s_addr);
	p->capacity = MIN((1u << (32 - len)) / LEASE_SIZE, (uint32_t)SL_NETPOOL_MAX);
	p->used = calloc(p->capacity, 1);
	if (!p->used) {
		free(p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

void sl_netpool_free(struct sl_netpool **pp)
{
	if (!pp || !*pp)
		return;
	free((*pp)->used);
	free(*pp);
	*pp = NULL;
}

void sl_netpool_span(const struct sl_netpool *p, uint32_t *ret_net, uint32_t *ret_mask)
{
	uint32_t size = p->capacity * LEASE_SIZE; /* a power of two */

	*ret_net = htonl(p->base);
	*ret_mask = htonl(~(size - 1));
}

uint32_t sl_netpool_capacity(const struct sl_netpool *p)
{
	return p->capacity;
}

static void fill_lease(const struct sl_netpool *p, uint32_t index, struct sl_netlease *ret)
{
	uint32_t net = p->base + index * LEASE_SIZE;

	memset(ret, 0, sizeof(*ret));
	ret->index = index;
	ret->host.s_addr = htonl(net + 1);
	ret->sandbox.s_addr = htonl(net + 2);
	ret->prefix = LEASE_PREFIX;
	snprintf(ret->host_if, sizeof(ret->host_if), "slh%u", index);
}

int sl_netpool_take(struct sl_netpool *p, uint32_t index, struct sl_netlease *ret)
{
	if (index >= p->capacity)
		return -ERANGE;
	if (p->used[index])
		return -EBUSY;
	p->used[index] = 1;
	fill_lease(p, index, ret);
	return 0;
}

int sl_netpool_alloc(struct sl_netpool *p, struct sl_netlease *ret)
{
	for (uint32_t i = 0; i < p->capacity; i++)
		if (!p->used[i])
			return sl_netpool_take(p, i, ret);
	return -ENOSPC;
}

void sl_netpool_release(struct sl_netpool *p, const struct sl_netlease *l)
{
	if (l->index < p->capacity)
		p->used[l->index] = 0;
}

/* ---- a minimal rtnetlink request builder ----------------------------------------------- */

struct nlreq {
	struct nlmsghdr *h;
	size_t max;
	char buf[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
};

static void *req_init(struct nlreq *r, uint16_t type, uint16_t flags, size_t hdrlen)
{
	memset(r, 0, sizeof(*r));
	r->h = (struct nlmsghdr *)r->buf;
	r->max = sizeof(r->buf);
	r->h->nlmsg_len = (uint32_t)NLMSG_LENGTH(hdrlen);
	r->h->nlmsg_type = type;
	r->h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	return NLMSG_DATA(r->h);
}

/* Appends one attribute (fits by construction: our requests are far below 1 KiB). */
static struct rtattr *attr(struct nlreq *r, uint16_t type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)(r->buf + NLMSG_ALIGN(r->h->nlmsg_len));

	if (NLMSG_ALIGN(r->h->nlmsg_len) + RTA_SPACE(len) > r->max)
		abort();
	a->rta_type = type;
	a->rta_len = (uint16_t)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h->nlmsg_len = (uint32_t)(NLMSG_ALIGN(r->h->nlmsg_len) + RTA_ALIGN(a->rta_len));
	return a;
}

static void nest_end(struct nlreq *r, struct rtattr *nest)
{
	nest->rta_len = (uint16_t)((char *)r->h + r->h->nlmsg_len - (char *)nest);
}

/* Sends the request and waits for its acknowledgement: 0 or the kernel's -errno. */
static int talk(int fd, struct nlreq *r)
{
	struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
	char ack[512] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *h = (struct nlmsghdr *)ack;
	ssize_t n;

	if (sendto(fd, r->h, r->h->nlmsg_len, 0, (struct sockaddr *)&nl, sizeof(nl)) < 0)
		return sl_negerrno();
	n = recv(fd, ack, sizeof(ack), 0);
	if (n < 0)
		return sl_negerrno();
	if (!NLMSG_OK(h, (size_t)n) || h->nlmsg_type != NLMSG_ERROR)
		return -EPROTO;
	return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
}

static int rtnl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	return fd < 0 ? sl_negerrno() : fd;
}

static int link_up(int fd, int ifindex)
{
	struct nlreq r;
	struct ifinfomsg *ifi = req_init(&r, RTM_NEWLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return talk(fd, &r);
}

static int addr_add(int fd, int ifindex, struct in_addr a, uint8_t prefix)
{
	struct nlreq r;
	struct ifaddrmsg *ifa = req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_index = (uint32_t)ifindex;
	attr(&r, IFA_LOCAL, &a, sizeof(a));
	attr(&r, IFA_ADDRESS, &a, sizeof(a));
	return talk(fd, &r);
}

static int default_route(int fd, int ifindex, struct in_addr gw)
{
	struct nlreq r;
	struct rtmsg *rt = req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(*rt));
	uint32_t oif = (uint32_t)ifindex;

	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	attr(&r, RTA_GATEWAY, &gw, sizeof(gw));
	attr(&r, RTA_OIF, &oif, sizeof(oif));
	return talk(fd, &r);
}

/* The pair: host end in our namespace, the peer ("eth0") created straight in netns_fd. */
static int veth_create(int fd, const char *host_if, int netns_fd)
{
	struct nlreq r;
	struct ifinfomsg *ifi = req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi));
	struct ifinfomsg peer = {.ifi_family = AF_UNSPEC};
	struct rtattr *info, *data, *p;
	uint32_t ns = (uint32_t)netns_fd;

	ifi->ifi_family = AF_UNSPEC;
	attr(&r, IFLA_IFNAME, host_if, strlen(host_if) + 1);
	info = attr(&r, IFLA_LINKINFO, NULL, 0);
	attr(&r, IFLA_INFO_KIND, "veth", 5);
	data = attr(&r, IFLA_INFO_DATA, NULL, 0);
	p = attr(&r, VETH_INFO_PEER, &peer, sizeof(peer));
	attr(&r, IFLA_IFNAME, "eth0", 5);
	attr(&r, IFLA_NET_NS_FD, &ns, sizeof(ns));
	nest_end(&r, p);
	nest_end(&r, data);
	nest_end(&r, info);
	return talk(fd, &r);
}

/* Inside the sandbox's namespace: address, links up, default route. */
static int configure_peer(const struct sl_netlease *l)
{
	_cleanup_close_ int fd = rtnl_open();
	int eth0 = (int)if_nametoindex("eth0"), lo = (int)if_nametoindex("lo"), r;

	if (fd < 0)
		return fd;
	if (!eth0 || !lo)
		return -ENODEV;
	r = addr_add(fd, eth0, l->sandbox, l->prefix);
	if (r >= 0)
		r = link_up(fd, eth0);
	if (r >= 0)
		r = link_up(fd, lo);
	if (r >= 0)
		r = default_route(fd, eth0, l->host);
	return r;
}

/* Runs configure_peer() with this thread in netns_fd, and comes back. */
static int in_netns(int netns_fd, const struct sl_netlease *l)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int r;

	if (self < 0)
		return sl_negerrno();
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return sl_negerrno();
	r = configure_peer(l);
	if (setns(self, CLONE_NEWNET) < 0)
		abort(); /* continuing in the sandbox's namespace would be far worse */
	return r;
}

int sl_netpool_veth_add(const struct sl_netlease *l, int netns_fd)
{
	_cleanup_close_ int fd = rtnl_open();
	int r, host;

	if (fd < 0)
		return fd;
	r = veth_create(fd, l->host_if, netns_fd);
	if (r < 0)
		return r;
	host = (int)if_nametoindex(l->host_if);
	r = host ? addr_add(fd, host, l->host, l->prefix) : -ENODEV;
	if (r >= 0)
		r = link_up(fd, host);
	if (r >= 0)
		r = in_netns(netns_fd, l);
	if (r < 0)
		sl_netpool_veth_del(l);
	return r;
}

int sl_netpool_veth_del(const struct sl_netlease *l)
{
	_cleanup_close_ int fd = rtnl_open();
	struct nlreq r;
	struct ifinfomsg *ifi;

	if (fd < 0)
		return fd;
	ifi = req_init(&r, RTM_DELLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	attr(&r, IFLA_IFNAME, l->host_if, strlen(l->host_if) + 1);
	return talk(fd, &r);
}
