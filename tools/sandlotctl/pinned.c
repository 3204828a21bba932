// SPDX-License-Identifier: Apache-2.0
/*
 * The pinned BPF state (include/sandlot/bpf_abi.h) read directly: the agent need not run. The
 * arrays are read in batches (one syscall per map, not one per slot); jiffies stamps are
 * converted with the pinned sl_clock program, as the agent's loader does.
 */
#include "main.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int get(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", ctl.pin_root, name);
	return bpf_obj_get(path);
}

void pin_close(struct pin_state *ps)
{
	int *fds[] = {&ps->fd_meta,	&ps->fd_sandboxes, &ps->fd_counters,
		      &ps->fd_inflight, &ps->fd_net,	   &ps->fd_clock};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int read_clock(struct pin_state *ps)
{
	struct sl_bpf_clock_args a = {0};
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &a, .ctx_size_in = sizeof(a));

	if (ps->fd_clock < 0 || bpf_prog_test_run_opts(ps->fd_clock, &run) < 0)
		return -errno;
	ps->now_jiffies = a.jiffies;
	ps->now_ns = a.ns;
	ps->hz = a.hz;
	return 0;
}

int pin_open(struct pin_state *ps)
{
	uint32_t key = 0;
	int n = libbpf_num_possible_cpus();

	*ps = (struct pin_state){.fd_meta = -1,
				 .fd_sandboxes = -1,
				 .fd_counters = -1,
				 .fd_inflight = -1,
				 .fd_net = -1,
				 .fd_clock = -1};
	ps->nr_cpus = n > 0 ? (unsigned)n : 1;
	ps->fd_meta = get("sl_meta");
	if (ps->fd_meta < 0) {
		int e = errno;

		if (e == ENOENT)
			return fail(
				"no sandlot BPF state pinned under %s (agent never ran here, or "
				"another --pin-root)",
				ctl.pin_root);
		return fail("cannot open %s/sl_meta: %s%s", ctl.pin_root, strerror(e),
			    e == EPERM || e == EACCES ? " (run as root)" : "");
	}
	if (bpf_map_lookup_elem(ps->fd_meta, &key, &ps->meta) < 0)
		return fail("cannot read %s/sl_meta: %s", ctl.pin_root, strerror(errno));
	if (ps->meta.abi_version != SL_BPF_ABI_VERSION) {
		pin_close(ps);
		return fail(
			"the state pinned under %s has schema version %u, this sandlotctl reads "
			"version %d",
			ctl.pin_root, ps->meta.abi_version, SL_BPF_ABI_VERSION);
	}
	ps->fd_sandboxes = get("sl_sandboxes");
	ps->fd_counters = get("sl_counters");
	ps->fd_inflight = get("sl_inflight");
	ps->fd_net = get("sl_net");
	ps->fd_clock = get("prog/sl_clock");
	if (ps->fd_sandboxes < 0 || ps->fd_counters < 0 || ps->fd_inflight < 0) {
		pin_close(ps);
		return fail("the state pinned under %s is incomplete (sl_sandboxes, sl_counters, "
			    "sl_inflight)",
			    ctl.pin_root);
	}
	read_clock(ps); /* without it, last-activity times stay unknown */
	return 0;
}

/* A whole array map in one batch call (the per-slot loop when batches are not supported). */
static int read_array(int fd, size_t value_size, void *vals)
{
	__u32 out = 0, count = SL_BPF_MAX_SANDBOXES;
	__u32 *keys = calloc(SL_BPF_MAX_SANDBOXES, sizeof(*keys));
	int r = 0;

	if (!keys)
		return -ENOMEM;
	if (bpf_map_lookup_batch(fd, NULL, &out, keys, vals, &count, NULL) < 0 && errno != ENOENT) {
		for (__u32 i = 0; i < SL_BPF_MAX_SANDBOXES; i++)
			if (bpf_map_lookup_elem(fd, &i, (char *)vals + i * value_size) < 0) {
				r = -errno;
				break;
			}
	}
	free(keys);
	return r;
}

static uint64_t to_ns(const struct pin_state *ps, uint64_t j)
{
	uint64_t ago;

	if (!j || !ps->hz || !ps->now_jiffies)
		return 0;
	if (j > ps->now_jiffies)
		return ps->now_ns;
	ago = (ps->now_jiffies - j) * (1000000000ULL / ps->hz);
	return ago < ps->now_ns ? ps->now_ns - ago : 0;
}

static void add_counters(const struct pin_state *ps, struct pin_sandbox *s,
			 const struct sl_bpf_counters *c)
{
	uint64_t cpu_j = 0, net_j = 0;
	struct sl_bpf_net *net = calloc(ps->nr_cpus, sizeof(*net));

	for (unsigned i = 0; i < ps->nr_cpus; i++) {
		s->cpu_ns += c[i].cpu_ns;
		s->switches += c[i].switches;
		s->dropped_packets += c[i].dropped_packets;
		s->denied_connects += c[i].denied_connects;
		cpu_j = c[i].last_cpu_jiffies > cpu_j ? c[i].last_cpu_jiffies : cpu_j;
		net_j = c[i].last_net_jiffies > net_j ? c[i].last_net_jiffies : net_j;
	}
	if (net && ps->fd_net >= 0 && bpf_map_lookup_elem(ps->fd_net, &s->cgid, net) == 0)
		for (unsigned i = 0; i < ps->nr_cpus; i++) {
			s->rx_bytes += net[i].rx_bytes;
			s->rx_packets += net[i].rx_packets;
			s->tx_bytes += net[i].tx_bytes;
			s->tx_packets += net[i].tx_packets;
			net_j = net[i].last_jiffies > net_j ? net[i].last_jiffies : net_j;
		}
	free(net);
	s->last_cpu_ns = to_ns(ps, cpu_j);
	s->last_net_ns = to_ns(ps, net_j);
}

int pin_sandboxes(struct pin_state *ps, struct pin_sandbox **ret, size_t *n)
{
	size_t max = SL_BPF_MAX_SANDBOXES, cnt = 0;
	struct sl_bpf_sandbox *sb = calloc(max, sizeof(*sb));
	struct sl_bpf_counters *c = calloc(max * ps->nr_cpus, sizeof(*c));
	uint32_t *infl = calloc(max, sizeof(*infl));
	struct pin_sandbox *out = NULL;
	int r = -ENOMEM;

	if (!sb || !c || !infl)
		goto done;
	r = read_array(ps->fd_sandboxes, sizeof(*sb), sb);
	if (r == 0)
		r = read_array(ps->fd_counters, sizeof(*c) * ps->nr_cpus, c);
	if (r == 0)
		r = read_array(ps->fd_inflight, sizeof(*infl), infl);
	if (r < 0)
		goto done;
	for (size_t i = 0; i < max; i++)
		cnt += sb[i].cgid != 0;
	out = calloc(cnt ? cnt : 1, sizeof(*out));
	r = -ENOMEM;
	if (!out)
		goto done;
	cnt = 0;
	for (size_t i = 0; i < max; i++) {
		struct pin_sandbox *s = &out[cnt];

		if (!sb[i].cgid)
			continue;
		*s = (struct pin_sandbox){.slot = (uint32_t)i,
					  .cgid = sb[i].cgid,
					  .state = sb[i].state,
					  .flags = sb[i].flags,
					  .n_rules = sb[i].n_rules,
					  .inflight = infl[i],
					  .idle_ns = sb[i].idle_ns,
					  .seq = sb[i].seq};
		memcpy(s->rules, sb[i].rules, sizeof(s->rules));
		add_counters(ps, s, &c[i * ps->nr_cpus]);
		cnt++;
	}
	*ret = out;
	*n = cnt;
	out = NULL;
	r = 0;
done:
	free(sb);
	free(c);
	free(infl);
	free(out);
	return r < 0 ? fail("cannot read the pinned sandbox maps: %s", strerror(-r)) : 0;
}

const char *pin_state_name(uint32_t state)
{
	return state == SL_BPF_BUSY ? "busy" : state == SL_BPF_IDLE ? "idle" : "?";
}

const char *pin_addr_str(const uint32_t a[4], char *buf, size_t len)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (memcmp(a, v4mapped, 12) == 0)
		inet_ntop(AF_INET, &a[3], buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a, buf, (socklen_t)len);
	return buf;
}

/* The prefix length of a mask (v4-mapped rules: minus 96). */
static int prefix_len(const struct sl_bpf_rule *r, bool v4)
{
	int n = 0;

	for (int i = 0; i < 4; i++)
		n += __builtin_popcount(r->mask[i]);
	return v4 ? (n >= 96 ? n - 96 : 0) : n;
}

static bool rule_v4(const struct sl_bpf_rule *r)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(r->net, v4mapped, 12) == 0;
}

static const char *proto_name(uint8_t p)
{
	return p == SL_BPF_PROTO_TCP ? "tcp" : p == SL_BPF_PROTO_UDP ? "udp" : "any";
}

const char *pin_rule_str(const struct sl_bpf_rule *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], ports[32] = "";
	bool v4 = rule_v4(r);

	if (r->port_lo || r->port_hi)
		snprintf(ports, sizeof(ports),
			 r->port_lo == r->port_hi ? " port %u" : " port %u-%u", r->port_lo,
			 r->port_hi);
	snprintf(buf, len, "%s %s/%d%s", proto_name(r->proto), pin_addr_str(r->net, a, sizeof(a)),
		 prefix_len(r, v4), ports);
	return buf;
}

json_t *pin_rule_json(const struct sl_bpf_rule *r)
{
	char a[INET6_ADDRSTRLEN];

	return json_pack("{s:s, s:s, s:i, s:i, s:i}", "proto", proto_name(r->proto), "net",
			 pin_addr_str(r->net, a, sizeof(a)), "prefix_len",
			 prefix_len(r, rule_v4(r)), "port_lo", r->port_lo, "port_hi", r->port_hi);
}
