// SPDX-License-Identifier: Apache-2.0
/* `run`'s BPF accounting, egress veth and network policy (see run-net.h). */
#include "run/run-net.h"

#include "sandbox/cgroup-host.h"
#include "bpfload/hostaddrs.h"
#include "sandbox/netpool.h"

#include <sandlot/log.h>
#include <sandlot/util.h>

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

struct sl_runnet {
	struct sl_runnet_opts opts;
	struct sl_bpf *bpf;
	enum sl_runnet_bpf mode;
	int bpf_err; /* why there is no BPF (accounting only) */
	struct sl_netpool *pool;
	struct sl_netlease lease;
	bool have_lease;	    /* the veth exists (ours to delete) */
	uint64_t cgid;		    /* registered sandbox, 0: none */
	struct sl_hostaddrs *watch; /* private load: the host's addresses, followed */
};

bool sl_runnet_needed(const struct sl_runnet_opts *o)
{
	return o->accounting || o->egress || o->policy;
}

/* Our own v2 cgroup: the sandboxes sit strictly below it (<self>/sandlot/<id>). */
static int cgroup_parent(char *buf, size_t len)
{
	_cleanup_free_ struct sl_cgroup_host *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	r = sl_cgroup_host_detect(h);
	if (r < 0)
		return r;
	if (!h->v2_self_dir[0])
		return -ENOTSUP;
	snprintf(buf, len, "%s", h->v2_self_dir);
	return 0;
}

/* The agent's pinned programs, else a private load. */
static int open_bpf(struct sl_runnet *n)
{
	char parent[SL_CGROUP_PATH_MAX];
	struct sl_bpf_opts bo = {.pin_root = n->opts.pin_root, .cgroup_parent = parent};
	int r = cgroup_parent(parent, sizeof(parent));

	if (r < 0)
		return r;
	r = sl_bpf_open_pinned(&bo, &n->bpf);
	if (r == 0) {
		n->mode = SL_RUNNET_BPF_AGENT;
		r = sl_bpf_prune(n->bpf); /* registrations of SIGKILLed runs */
		return r < 0 ? r : 0;
	}
	if (r != -ENOENT)
		sl_log_warn_err(r,
				"cannot use the agent's pinned BPF programs in %s: loading our own",
				bo.pin_root ? bo.pin_root : SL_BPF_PIN_ROOT);
	bo.ephemeral = true;
	r = sl_bpf_open(&bo, &n->bpf, NULL);
	if (r < 0)
		return r;
	n->mode = SL_RUNNET_BPF_PRIVATE;
	/* an agent follows the host's addresses in its maps; a private load does it here */
	if (n->opts.egress) {
		r = sl_hostaddrs_new(&n->watch, n->bpf);
		if (r >= 0)
			r = sl_hostaddrs_start_thread(n->watch);
		return r < 0 ? r : 0;
	}
	return 0;
}

static int runnet_init(struct sl_runnet *n)
{
	int r;

	if (n->opts.policy && !n->opts.egress)
		return -EINVAL; /* refused by the command line already */
	if (n->opts.egress) {
		r = sl_netpool_new(&n->pool, n->opts.pool ? n->opts.pool : SL_NETPOOL_DEFAULT);
		if (r < 0)
			return sl_log_err(r, "egress address pool '%s'",
					  n->opts.pool ? n->opts.pool : SL_NETPOOL_DEFAULT);
	}
	r = n->opts.no_bpf ? -ECANCELED : open_bpf(n);
	if (r >= 0)
		return 0;
	sl_hostaddrs_free(&n->watch);
	sl_bpf_free(&n->bpf);
	n->mode = SL_RUNNET_BPF_NONE;
	n->bpf_err = r;
	if (n->opts.egress)
		return sl_log_err(r, "--net egress needs the BPF network policy: %s",
				  r == -ECANCELED ? "BPF is disabled (SANDLOT_BPF=off)"
						  : sl_bpf_open_strerror(r));
	return 0;
}

int sl_runnet_new(struct sl_runnet **ret, const struct sl_runnet_opts *opts)
{
	struct sl_runnet *n = calloc(1, sizeof(*n));
	int r;

	if (!n)
		return -ENOMEM;
	n->opts = *opts;
	r = runnet_init(n);
	if (r < 0) {
		sl_runnet_free(&n);
		return r;
	}
	*ret = n;
	return 0;
}

enum sl_runnet_bpf sl_runnet_bpf_mode(const struct sl_runnet *n)
{
	return n->mode;
}

int sl_runnet_bpf_error(const struct sl_runnet *n)
{
	return n->bpf_err;
}

/* ---- the hook ----------------------------------------------------------------------------- */

/* The lowest pool entry whose veth name nobody holds (EEXIST: another run has it). */
static int veth_take(struct sl_runnet *n, int netns_fd)
{
	uint32_t cap = sl_netpool_capacity(n->pool);

	for (uint32_t i = 0; i < cap; i++) {
		struct sl_netlease l;
		int r = sl_netpool_take(n->pool, i, &l);

		if (r < 0)
			continue;
		r = sl_netpool_veth_add(&l, netns_fd);
		if (r == -EEXIST)
			continue;
		if (r < 0)
			return r;
		n->lease = l;
		n->have_lease = true;
		return 0;
	}
	return -ENOSPC;
}

static int write_fd(int fd, const char *val)
{
	int r = write(fd, val, strlen(val)) < 0 ? sl_negerrno() : 0;

	close(fd);
	return r;
}

/*
 * Inside the sandbox's namespace (its /proc/sys/net): lets the sandbox's gid open ICMP echo
 * (ping) sockets, and switches IPv6 off on eth0 (the pool is IPv4: this way the host end's
 * link-local address, which no policy map knows, is out of reach).
 */
static int sandbox_sysctls(int netns_fd, gid_t gid)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	char val[32];
	int ping, v6, r;

	if (self < 0)
		return sl_negerrno();
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return sl_negerrno();
	ping = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
	v6 = open("/proc/sys/net/ipv6/conf/eth0/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (setns(self, CLONE_NEWNET) < 0)
		abort(); /* going on in the sandbox's namespace would be far worse */
	snprintf(val, sizeof(val), "%u %u", (unsigned)gid, (unsigned)gid);
	r = ping < 0 ? sl_negerrno() : write_fd(ping, val);
	if (v6 >= 0) /* no IPv6 in this kernel: nothing to switch off */
		r = write_fd(v6, "1") < 0 && r >= 0 ? -EIO : r;
	return r;
}

/*
 * The host addresses that go with the registration: the gateway, and under an agent's pins the
 * addresses our namespace has now (the agent follows its own namespace's; ours may be another,
 * or the agent may be gone). In a private load the watcher has them all already.
 */
static int gateway_and_host(struct sl_runnet *n, struct sl_bpf_addr *ret, size_t max)
{
	int r = 0;

	sl_bpf_addr_from(AF_INET, &n->lease.host, &ret[0]);
	if (n->mode == SL_RUNNET_BPF_AGENT)
		r = sl_bpf_host_addrs_list(ret + 1, max - 1);
	return r < 0 ? r : r + 1;
}

static int bpf_register(struct sl_runnet *n, struct sl_sandbox *sb)
{
	_cleanup_free_ struct sl_bpf_addr *host = NULL;
	char link[64], path[PATH_MAX];
	struct sl_bpf_addr own;
	struct sl_bpf_sandbox_spec spec = {.policy = n->opts.policy, .cgroup_path = path};
	int r;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", sl_sandbox_cgroup_fd(sb));
	if (!realpath(link, path))
		return sl_negerrno();
	if (n->have_lease) {
		host = calloc(SL_BPF_MAX_ADDRS, sizeof(*host));
		r = host ? gateway_and_host(n, host, SL_BPF_MAX_ADDRS) : -ENOMEM;
		if (r < 0)
			return r;
		sl_bpf_addr_from(AF_INET, &n->lease.sandbox, &own);
		spec.addrs = &own;
		spec.n_addrs = 1;
		/* the host: denied unless a rule allows it */
		spec.host_addrs = host;
		spec.n_host_addrs = (size_t)r;
		sl_netpool_span(n->pool, &spec.pool_net, &spec.pool_mask);
	}
	return sl_bpf_sandbox_add(n->bpf, &spec, &n->cgid);
}

int sl_runnet_hook(struct sl_sandbox *sb, void *data)
{
	struct sl_runnet *n = data;
	int r = 0, netns = -1;

	if (n->opts.egress) {
		netns = sl_sandbox_netns_fd(sb);
		if (netns < 0)
			return sl_log_err(netns, "sandbox network namespace");
		r = veth_take(n, netns);
		if (r < 0)
			return sl_log_err(r, "--net egress: veth from pool %s%s",
					  n->opts.pool ? n->opts.pool : SL_NETPOOL_DEFAULT,
					  r == -ENOSPC ? " (exhausted)" : "");
	}
	if (n->bpf) {
		r = bpf_register(n, sb);
		if (r < 0 && n->opts.egress)
			return sl_log_err(r, "registering the sandbox with BPF");
		if (r < 0) { /* accounting only: degrade */
			sl_log_warn_err(r, "registering the sandbox with BPF failed: no counters");
			n->bpf_err = r;
			n->cgid = 0;
		}
	}
	if (n->opts.egress) {
		r = sandbox_sysctls(netns, (gid_t)sl_sandbox_uid(sb));
		if (r < 0)
			return sl_log_err(r, "sysctls in the sandbox's network namespace");
	}
	return 0;
}

/* ---- the end ------------------------------------------------------------------------------ */

int sl_runnet_finish(struct sl_runnet *n, struct sl_bpf_stats *ret)
{
	int r = 0, got = 0;

	if (n->cgid) {
		r = sl_bpf_sandbox_counters(n->bpf, n->cgid, ret);
		got = r >= 0;
		int q = sl_bpf_sandbox_remove(n->bpf, n->cgid);
		r = r < 0 ? r : q;
		n->cgid = 0;
	}
	if (n->have_lease) {
		/*
		 * Not deleted here: the pair goes away with the sandbox's network namespace, which
		 * the kernel frees asynchronously once its processes are gone, while an explicit
		 * RTM_DELLINK waits ~17 ms for the device to unregister. A run that finds the name
		 * still taken uses the next one.
		 */
		sl_netpool_release(n->pool, &n->lease);
		n->have_lease = false;
	}
	/*
	 * Once more at the end: a one-shot runtime sweeps the cgroups of dead runs only after our
	 * spawn, so registrations whose cgroup went in that sweep are pruned here.
	 */
	if (n->mode == SL_RUNNET_BPF_AGENT)
		(void)sl_bpf_prune(n->bpf);
	return r < 0 ? r : got;
}

void sl_runnet_free(struct sl_runnet **pn)
{
	struct sl_runnet *n = pn ? *pn : NULL;
	struct sl_bpf_stats k;

	if (!n)
		return;
	(void)sl_runnet_finish(n, &k);
	sl_hostaddrs_free(&n->watch); /* before the maps it writes to */
	sl_bpf_free(&n->bpf);
	sl_netpool_free(&n->pool);
	free(n);
	*pn = NULL;
}
