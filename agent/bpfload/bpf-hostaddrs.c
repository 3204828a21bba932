// SPDX-License-Identifier: Apache-2.0
/*
 * The BPF loader's host addresses: the addresses of the host's network namespace, which the
 * policy denies to sandboxes unless a rule allows them (SL_BPF_ADDR_HOST entries of sl_addrs).
 * Entries with a cgid go with a sandbox's registration (its egress gateway); entries without
 * one are the host's own, kept in step by whoever watches the namespace (hostaddrs.h).
 */
#include "bpfload/bpf-internal.h"

#include <sandlot/util.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include <bpf/bpf.h>

static int put(struct sl_bpf *b, const struct sl_bpf_addr *a, uint32_t kind)
{
	struct sl_bpf_addr_owner o = {.kind = kind};

	if (bpf_map_update_elem(b->fd_addrs, a, &o, BPF_ANY) < 0)
		return errno == E2BIG ? -ENOSPC : sl_negerrno();
	return 0;
}

int sl_bpf_host_addr_add(struct sl_bpf *b, const struct sl_bpf_addr *a)
{
	return put(b, a, SL_BPF_ADDR_HOST);
}

int sl_bpf_host_subnet_add(struct sl_bpf *b, const struct in_addr *addr, unsigned prefix,
			   const struct in_addr *brd)
{
	struct sl_bpf_addr a;
	uint32_t mask, ends[3];
	int r = 0;

	if (prefix > 30)
		return 0; /* a point-to-point pair or a single address: no such ends */
	mask = prefix ? ~0u << (32 - prefix) : 0;
	ends[0] = htonl(ntohl(addr->s_addr) & mask);
	ends[1] = htonl(ntohl(addr->s_addr) | ~mask);
	/* getifaddrs() gives the address itself when none was configured */
	ends[2] = brd && brd->s_addr != addr->s_addr ? brd->s_addr : ends[1];
	for (int i = 0; i < 3 && r >= 0; i++) {
		sl_bpf_addr_from(AF_INET, &ends[i], &a);
		r = put(b, &a, SL_BPF_ADDR_SUBNET);
	}
	return r;
}

int sl_bpf_host_addr_remove(struct sl_bpf *b, const struct sl_bpf_addr *a)
{
	struct sl_bpf_addr_owner o;

	if (bpf_map_lookup_elem(b->fd_addrs, a, &o) < 0)
		return sl_negerrno();
	if ((o.kind != SL_BPF_ADDR_HOST && o.kind != SL_BPF_ADDR_SUBNET) || o.cgid)
		return -ENOENT; /* a sandbox's, or a gateway that goes with its registration */
	if (bpf_map_delete_elem(b->fd_addrs, a) < 0)
		return sl_negerrno();
	return 0;
}

bool sl_bpf_addr_is_loopback(const struct sl_bpf_addr *a)
{
	if (a->a[0] == 0 && a->a[1] == 0 && a->a[2] == htonl(0xffff))
		return (ntohl(a->a[3]) >> 24) == 127 || a->a[3] == 0;
	return a->a[0] == 0 && a->a[1] == 0 && a->a[2] == 0 && (ntohl(a->a[3]) <= 1);
}

int sl_bpf_host_addrs_list(struct sl_bpf_addr *ret, size_t max)
{
	struct ifaddrs *all, *i;
	size_t n = 0;

	if (getifaddrs(&all) < 0)
		return sl_negerrno();
	for (i = all; i && n < max; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			sl_bpf_addr_from(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
					 &ret[n]);
		else if (i->ifa_addr->sa_family == AF_INET6)
			sl_bpf_addr_from(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
					 &ret[n]);
		else
			continue;
		if (!sl_bpf_addr_is_loopback(&ret[n]))
			n++;
	}
	freeifaddrs(all);
	return (int)n;
}

static bool listed(const struct sl_bpf_addr *all, size_t n, const struct sl_bpf_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(&all[i], a, sizeof(*a)) == 0)
			return true;
	return false;
}

/*
 * Deletes the host's own addresses (cgid 0) that are not in all[0..n). Subnet ends stay: one
 * left over denies an address that no longer means anything to the host.
 */
static int forget_others(struct sl_bpf *b, const struct sl_bpf_addr *all, size_t n)
{
	_cleanup_free_ struct sl_bpf_addr *gone = calloc(SL_BPF_MAX_ADDRS, sizeof(*gone));
	struct sl_bpf_addr key, *prev = NULL;
	struct sl_bpf_addr_owner o;
	size_t n_gone = 0;

	if (!gone)
		return -ENOMEM;
	for (; n_gone < SL_BPF_MAX_ADDRS && bpf_map_get_next_key(b->fd_addrs, prev, &key) == 0;
	     prev = &key)
		if (bpf_map_lookup_elem(b->fd_addrs, &key, &o) == 0 && o.kind == SL_BPF_ADDR_HOST &&
		    !o.cgid && !listed(all, n, &key))
			gone[n_gone++] = key;
	for (size_t i = 0; i < n_gone; i++)
		bpf_map_delete_elem(b->fd_addrs, &gone[i]);
	return 0;
}

/* The network and broadcast addresses of the namespace's IPv4 subnets (as SUBNET entries). */
static int subnets_add(struct sl_bpf *b)
{
	struct ifaddrs *all, *i;
	int r = 0;

	if (getifaddrs(&all) < 0)
		return sl_negerrno();
	for (i = all; i && r >= 0; i = i->ifa_next) {
		const struct sockaddr_in *a = (const void *)i->ifa_addr;
		const struct sockaddr_in *m = (const void *)i->ifa_netmask;
		const struct sockaddr_in *brd = (const void *)i->ifa_broadaddr;

		if (!a || a->sin_family != AF_INET || !m || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		r = sl_bpf_host_subnet_add(
			b, &a->sin_addr, (unsigned)__builtin_popcount(m->sin_addr.s_addr),
			(i->ifa_flags & IFF_BROADCAST) && brd ? &brd->sin_addr : NULL);
	}
	freeifaddrs(all);
	return r;
}

static int sync_addrs(struct sl_bpf *b, bool forget)
{
	_cleanup_free_ struct sl_bpf_addr *all = calloc(SL_BPF_MAX_ADDRS, sizeof(*all));
	int n, r = 0;

	if (!all)
		return -ENOMEM;
	n = sl_bpf_host_addrs_list(all, SL_BPF_MAX_ADDRS);
	if (n < 0)
		return n;
	for (int i = 0; i < n && r >= 0; i++)
		r = sl_bpf_host_addr_add(b, &all[i]);
	if (r >= 0)
		r = subnets_add(b);
	if (r >= 0 && forget)
		r = forget_others(b, all, (size_t)n);
	return r < 0 ? r : n;
}

int sl_bpf_host_addrs_sync(struct sl_bpf *b)
{
	return sync_addrs(b, false);
}

int sl_bpf_host_addrs_reconcile(struct sl_bpf *b)
{
	return sync_addrs(b, true);
}
