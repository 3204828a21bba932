// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's metrics: per sandbox (labels function, version, sandbox), set from the live
 * sandboxes at every scrape and removed when a sandbox is destroyed; per agent,
 * counters mirrored from struct agent_stats, histograms and counters fed by the hooks.
 */
#include "daemon/metrics-agent.h"

#include "daemon/agent.h"
#include "daemon/worker-internal.h"
#include "sandbox/cgroup-host.h"

#include <sandlot/metrics.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Per-sandbox families, in the order of struct sbx_values. */
enum {
	SBX_CPU,
	SBX_RX_BYTES,
	SBX_TX_BYTES,
	SBX_RX_PACKETS,
	SBX_TX_PACKETS,
	SBX_DENIED,
	SBX_DROPPED,
	SBX_MEMORY,
	SBX_BUSY,
	SBX_LAST_ACTIVE,
	SBX_START,
	SBX_INVOCATIONS,
	SBX_N,
};

static const struct {
	const char *name, *help;
	enum sl_metric_type type;
} sbx_defs[SBX_N] = {
	{"sandlot_sandbox_cpu_seconds_total", "CPU time of the sandbox's tasks.",
	 SL_METRIC_COUNTER},
	{"sandlot_sandbox_network_receive_bytes_total",
	 "IP-layer bytes received by the sandbox (headers included).", SL_METRIC_COUNTER},
	{"sandlot_sandbox_network_transmit_bytes_total",
	 "IP-layer bytes sent by the sandbox (headers included).", SL_METRIC_COUNTER},
	{"sandlot_sandbox_network_receive_packets_total", "Packets received by the sandbox.",
	 SL_METRIC_COUNTER},
	{"sandlot_sandbox_network_transmit_packets_total", "Packets sent by the sandbox.",
	 SL_METRIC_COUNTER},
	{"sandlot_sandbox_denied_connects_total",
	 "connect() and sendmsg() calls of the sandbox refused by its network policy.",
	 SL_METRIC_COUNTER},
	{"sandlot_sandbox_dropped_packets_total",
	 "Egress packets of the sandbox dropped by its network policy.", SL_METRIC_COUNTER},
	{"sandlot_sandbox_memory_working_set_bytes",
	 "Memory in use by the sandbox minus inactive file pages (as cAdvisor counts it).",
	 SL_METRIC_GAUGE},
	{"sandlot_sandbox_busy_seconds_total",
	 "Time the sandbox spent busy (an invocation in flight, or computing after it).",
	 SL_METRIC_COUNTER},
	{"sandlot_sandbox_last_active_timestamp_seconds",
	 "When the sandbox last became busy (Unix time; 0: never).", SL_METRIC_GAUGE},
	{"sandlot_sandbox_start_time_seconds", "When the sandbox was created (Unix time).",
	 SL_METRIC_GAUGE},
	{"sandlot_sandbox_invocations_total", "Invocations the sandbox answered.",
	 SL_METRIC_COUNTER},
};

static const char *const invoke_results[] = {
	"ok", "function_error", "timeout", "init_error", "runtime_exit", "no_sandbox", "internal",
};

/* The programs of bpf/sandlot.bpf.c whose statistics are exported. */
static const char *const bpf_progs[] = {
	"sl_sched_switch", "sl_sched_switch_hash", "sl_skb_ingress", "sl_skb_egress",
	"sl_connect4",	   "sl_connect6",	   "sl_sendmsg4",    "sl_sendmsg6",
};

static const double invoke_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
					0.5,	1,     2.5,    5,     10,   30,	   60,	 300, 900};
static const double init_buckets[] = {0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05,
				      0.1,   0.25,  0.5,   1,	  2.5,	  5,	10};

struct agent_metrics {
	struct sl_metrics *reg;
	struct sl_metric_family *sbx[SBX_N], *info;
	struct sl_metric_family *by_state, *in_flight, *invocations, *invoke_hist, *init_hist;
	struct sl_metric_family *cold, *created, *destroyed, *bpf_events, *bpf_lost, *bpf_loaded;
	struct sl_metric_family *prog_ns, *prog_cnt, *mem_reserved, *mem_capacity, *registered;
	struct sl_metric_family *draining;
	struct sl_metrics_proc proc;
	char mem_v1_dir[SL_CGROUP_PATH_MAX + 16];
	/* the pinned counter maps, read in one batch per scrape (-1: use the loader's calls) */
	int fd_counters, fd_net;
	unsigned nr_cpus;
	struct sl_bpf_counters *counters; /* SL_BPF_MAX_SANDBOXES * nr_cpus, this scrape's */
	bool have_counters;
};

static const char *const sbx_labels[] = {"function", "version", "sandbox"};

static int fam(struct agent_metrics *m, const char *name, const char *help,
	       enum sl_metric_type type, const char *label, struct sl_metric_family **ret)
{
	const char *labels[] = {label};

	return sl_metrics_family(m->reg, name, help, type, label ? labels : NULL, label ? 1 : 0,
				 NULL, 0, ret);
}

static int register_sandbox_families(struct agent_metrics *m)
{
	static const char *const info_labels[] = {"function",	"version",   "sandbox",
						  "runtime_id", "cgroup_id", "code_sha256"};
	int r;

	for (size_t i = 0; i < SBX_N; i++) {
		r = sl_metrics_family(m->reg, sbx_defs[i].name, sbx_defs[i].help, sbx_defs[i].type,
				      sbx_labels, 3, NULL, 0, &m->sbx[i]);
		if (r < 0)
			return r;
	}
	return sl_metrics_family(m->reg, "sandlot_sandbox_info",
				 "Always 1: a sandbox and what it runs.", SL_METRIC_GAUGE,
				 info_labels, ARRAY_SIZE(info_labels), NULL, 0, &m->info);
}

static int register_agent_families(struct agent_metrics *m)
{
	int r = 0;

	r = r
		    ?: fam(m, "sandlot_agent_sandboxes", "Sandboxes by state.", SL_METRIC_GAUGE,
			   "state", &m->by_state);
	r = r
		    ?: fam(m, "sandlot_agent_invocations_in_flight", "Invocations running now.",
			   SL_METRIC_GAUGE, NULL, &m->in_flight);
	r = r
		    ?: fam(m, "sandlot_agent_invocations_total", "Invocations answered, by result.",
			   SL_METRIC_COUNTER, "result", &m->invocations);
	r = r
		    ?: sl_metrics_family(m->reg, "sandlot_agent_invocation_duration_seconds",
					 "Time from an invocation's start to its result.",
					 SL_METRIC_HISTOGRAM, NULL, 0, invoke_buckets,
					 ARRAY_SIZE(invoke_buckets), &m->invoke_hist);
	r = r
		    ?: sl_metrics_family(
			       m->reg, "sandlot_agent_init_duration_seconds",
			       "Cold start: from a sandbox's creation to its runtime's first "
			       "request for an event.",
			       SL_METRIC_HISTOGRAM, NULL, 0, init_buckets, ARRAY_SIZE(init_buckets),
			       &m->init_hist);
	r = r
		    ?: fam(m, "sandlot_agent_cold_starts_total",
			   "Sandboxes whose runtime became ready.", SL_METRIC_COUNTER, NULL,
			   &m->cold);
	r = r
		    ?: fam(m, "sandlot_agent_sandboxes_created_total",
			   "Sandboxes created, by reason.", SL_METRIC_COUNTER, "reason",
			   &m->created);
	r = r
		    ?: fam(m, "sandlot_agent_sandboxes_destroyed_total",
			   "Sandboxes destroyed, by reason.", SL_METRIC_COUNTER, "reason",
			   &m->destroyed);
	r = r
		    ?: fam(m, "sandlot_agent_bpf_loaded", "1 when the BPF programs are loaded.",
			   SL_METRIC_GAUGE, NULL, &m->bpf_loaded);
	r = r
		    ?: fam(m, "sandlot_agent_bpf_events_total", "BPF ring buffer events received.",
			   SL_METRIC_COUNTER, NULL, &m->bpf_events);
	r = r
		    ?: fam(m, "sandlot_agent_bpf_events_lost_total",
			   "BPF events (busy/idle, deny) lost (ring buffer full), counted by the "
			   "programs.",
			   SL_METRIC_COUNTER, NULL, &m->bpf_lost);
	r = r
		    ?: fam(m, "sandlot_agent_bpf_program_run_seconds_total",
			   "Run time of each BPF program (counted while kernel.bpf_stats_enabled "
			   "is 1).",
			   SL_METRIC_COUNTER, "program", &m->prog_ns);
	r = r
		    ?: fam(m, "sandlot_agent_bpf_program_runs_total",
			   "Runs of each BPF program (counted while kernel.bpf_stats_enabled is "
			   "1).",
			   SL_METRIC_COUNTER, "program", &m->prog_cnt);
	r = r
		    ?: fam(m, "sandlot_agent_memory_reserved_bytes",
			   "Memory reserved by sandboxes.", SL_METRIC_GAUGE, NULL,
			   &m->mem_reserved);
	r = r
		    ?: fam(m, "sandlot_agent_memory_capacity_bytes", "Memory offered to sandboxes.",
			   SL_METRIC_GAUGE, NULL, &m->mem_capacity);
	r = r
		    ?: fam(m, "sandlot_agent_registered",
			   "1 while registered with the control node.", SL_METRIC_GAUGE, NULL,
			   &m->registered);
	r = r
		    ?: fam(m, "sandlot_agent_draining", "1 while draining.", SL_METRIC_GAUGE, NULL,
			   &m->draining);
	return r;
}

/* Where sandboxes' v1 memory cgroups are on hybrid hosts ("" elsewhere). */
static void find_memory_v1(struct agent_metrics *m)
{
	struct sl_cgroup_host *h = calloc(1, sizeof(*h));

	m->mem_v1_dir[0] = '\0';
	if (h && sl_cgroup_host_detect(h) == 0)
		for (size_t i = 0; i < h->n_v1; i++)
			if (strstr(h->v1[i].controllers, "memory") && h->v1[i].self_dir[0])
				snprintf(m->mem_v1_dir, sizeof(m->mem_v1_dir), "%s/sandlot",
					 h->v1[i].self_dir);
	free(h);
}

/* The pinned sl_counters and sl_net, opened once (the loader's fds are its own). */
static void open_counter_maps(struct agent_metrics *m, const char *pin_root)
{
	char path[sizeof(((struct sl_agent_config *)0)->bpf_pin_root) + 16];
	int n = libbpf_num_possible_cpus();

	m->fd_counters = m->fd_net = -1;
	if (n <= 0)
		return;
	m->nr_cpus = (unsigned)n;
	m->counters = calloc((size_t)SL_BPF_MAX_SANDBOXES * m->nr_cpus, sizeof(*m->counters));
	snprintf(path, sizeof(path), "%s/sl_counters", pin_root);
	m->fd_counters = m->counters ? bpf_obj_get(path) : -1;
	snprintf(path, sizeof(path), "%s/sl_net", pin_root);
	m->fd_net = m->fd_counters >= 0 ? bpf_obj_get(path) : -1;
	if (m->fd_net < 0 && m->fd_counters >= 0) {
		close(m->fd_counters);
		m->fd_counters = -1;
	}
}

/* Every slot's counters in one call (per slot when the kernel has no batch lookups). */
static bool read_counters(struct agent_metrics *m)
{
	__u32 out = 0, count = SL_BPF_MAX_SANDBOXES;
	size_t stride = m->nr_cpus;

	if (m->fd_counters < 0)
		return false;
	if (bpf_map_lookup_batch(m->fd_counters, NULL, &out, NULL, m->counters, &count, NULL) ==
		    0 ||
	    (errno == ENOENT && count == SL_BPF_MAX_SANDBOXES))
		return true;
	for (__u32 i = 0; i < SL_BPF_MAX_SANDBOXES; i++)
		if (bpf_map_lookup_elem(m->fd_counters, &i, m->counters + i * stride) < 0)
			return false;
	return true;
}

/* s's counters from this scrape's batch and its sl_net entry. */
static int batch_counters(struct agent *a, struct agent_metrics *m, struct asb *s,
			  struct sl_bpf_stats *st)
{
	struct sl_bpf_net net[SL_BPF_MAX_CPUS];
	const struct sl_bpf_counters *c;
	uint32_t slot;

	if (s->bpf_slot1)
		slot = s->bpf_slot1 - 1;
	else if (sl_bpf_sandbox_slot(a->bpf, s->cgid, &slot) < 0)
		return -ENOENT;
	if (slot >= SL_BPF_MAX_SANDBOXES || m->nr_cpus > SL_BPF_MAX_CPUS)
		return -ERANGE;
	c = m->counters + (size_t)slot * m->nr_cpus;
	*st = (struct sl_bpf_stats){0};
	for (unsigned i = 0; i < m->nr_cpus; i++) {
		st->cpu_ns += c[i].cpu_ns;
		st->dropped_packets += c[i].dropped_packets;
		st->denied_connects += c[i].denied_connects;
	}
	if (bpf_map_lookup_elem(m->fd_net, &s->cgid, net) == 0)
		for (unsigned i = 0; i < m->nr_cpus; i++) {
			st->rx_bytes += net[i].rx_bytes;
			st->rx_packets += net[i].rx_packets;
			st->tx_bytes += net[i].tx_bytes;
			st->tx_packets += net[i].tx_packets;
		}
	return 0;
}

int agent_metrics_new(struct agent_metrics **ret, const char *pin_root)
{
	struct agent_metrics *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	m->fd_counters = m->fd_net = -1;
	r = sl_metrics_new(&m->reg);
	if (r == 0)
		r = register_sandbox_families(m);
	if (r == 0)
		r = register_agent_families(m);
	find_memory_v1(m);
	open_counter_maps(m, pin_root);
	if (r < 0) {
		agent_metrics_free(&m);
		return r;
	}
	*ret = m;
	return 0;
}

void agent_metrics_free(struct agent_metrics **mp)
{
	if (!*mp)
		return;
	if ((*mp)->fd_counters >= 0)
		close((*mp)->fd_counters);
	if ((*mp)->fd_net >= 0)
		close((*mp)->fd_net);
	free((*mp)->counters);
	sl_metrics_free(&(*mp)->reg);
	free(*mp);
	*mp = NULL;
}

/* ---- hooks ---- */

void agent_metrics_invocation(struct agent *a, uint8_t status, uint64_t duration_ns)
{
	if (a->metrics)
		sl_metric_family_observe(a->metrics->invoke_hist, (double)duration_ns / 1e9);
}

static void count_by(struct sl_metric_family *f, const char *value, double v, bool set)
{
	struct sl_metric_series *s;

	if (sl_metric_series(f, (const char *[]){value}, &s) == 0) {
		if (set)
			sl_metric_set(s, v);
		else
			sl_metric_add(s, v);
	}
}

void agent_metrics_transition(struct asb *s, uint8_t state, uint8_t reason)
{
	struct agent_metrics *m = s->a->metrics;
	uint64_t now = sl_now_ns();

	if (s->state == SL_SANDBOX_BUSY && s->busy_since_mono)
		s->busy_ns += now - s->busy_since_mono;
	s->busy_since_mono = state == SL_SANDBOX_BUSY ? now : 0;
	if (!m)
		return;
	if (s->state == SL_SANDBOX_CREATED && s->ready && state != SL_SANDBOX_DESTROYED)
		sl_metric_family_observe(m->init_hist, (double)s->init_ns / 1e9);
	if (state == SL_SANDBOX_DESTROYED) {
		const char *labels[] = {s->function, s->version, s->id};

		count_by(m->destroyed, sl_proto_reason_name(reason), 1, false);
		for (size_t i = 0; i < SBX_N; i++) /* its series go with it */
			sl_metric_remove(m->sbx[i], labels);
	}
}

/* ---- scrape ---- */

/* The first number in dirfd/name, or after "\n<key> " in it when key is set. */
static int read_num(int dirfd, const char *name, const char *key, uint64_t *ret)
{
	char buf[8192], *p = buf;
	unsigned long long v;
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf + 1, sizeof(buf) - 2);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[0] = '\n';
	buf[n + 1] = '\0';
	if (key) {
		p = strstr(buf, key);
		if (!p)
			return -ENOENT;
		p += strlen(key);
	}
	if (sscanf(p, "%llu", &v) != 1)
		return -EIO;
	*ret = v;
	return 0;
}

/*
 * Usage minus inactive file pages, as cAdvisor counts the working set: v2 memory.current and
 * memory.stat's inactive_file, or (hybrid hosts) v1 memory.usage_in_bytes and total_inactive_file.
 */
static int working_set(struct agent_metrics *m, struct asb *s, uint64_t *ret)
{
	uint64_t cur, inactive = 0;
	char path[sizeof(m->mem_v1_dir) + 80];
	int fd, r;

	/* hybrid hosts (a v1 memory hierarchy) keep memory there */
	if (!m->mem_v1_dir[0] &&
	    read_num(sl_sandbox_cgroup_fd(s->sb), "memory.current", NULL, &cur) == 0) {
		read_num(sl_sandbox_cgroup_fd(s->sb), "memory.stat", "\ninactive_file ", &inactive);
	} else {
		if (!m->mem_v1_dir[0])
			return -ENOENT;
		snprintf(path, sizeof(path), "%s/%s", m->mem_v1_dir, sl_sandbox_id(s->sb));
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		r = read_num(fd, "memory.usage_in_bytes", NULL, &cur);
		if (r == 0)
			read_num(fd, "memory.stat", "\ntotal_inactive_file ", &inactive);
		close(fd);
		if (r < 0)
			return r;
	}
	*ret = cur > inactive ? cur - inactive : 0;
	return 0;
}

static void sbx_set(struct agent_metrics *m, int which, const char *const *labels, double v)
{
	struct sl_metric_series *s;

	if (sl_metric_series(m->sbx[which], labels, &s) == 0)
		sl_metric_set(s, v);
}

static void sandbox_info(struct agent_metrics *m, struct asb *s, const char *const *labels)
{
	char cgid[24];
	const char *v[] = {labels[0], labels[1],  labels[2], s->sb ? sl_sandbox_id(s->sb) : "",
			   cgid,      s->code_hex};
	struct sl_metric_series *ser;

	snprintf(cgid, sizeof(cgid), "%llu", (unsigned long long)s->cgid);
	if (sl_metric_series(m->info, v, &ser) == 0)
		sl_metric_set(ser, 1);
}

static void collect_sandbox(struct agent *a, struct agent_metrics *m, struct asb *s, uint64_t now,
			    uint64_t wall)
{
	const char *labels[] = {s->function, s->version, s->id};
	struct sl_bpf_stats st = {0};
	struct sl_cgroup_stats cg;
	uint64_t busy = s->busy_ns, ws = 0;

	sandbox_info(m, s, labels);
	if (s->state == SL_SANDBOX_BUSY && s->busy_since_mono)
		busy += now - s->busy_since_mono;
	if (s->bpf && a->bpf &&
	    ((m->have_counters && batch_counters(a, m, s, &st) == 0) ||
	     sl_bpf_sandbox_counters(a->bpf, s->cgid, &st) == 0)) {
		sbx_set(m, SBX_CPU, labels, (double)st.cpu_ns / 1e9);
		sbx_set(m, SBX_RX_BYTES, labels, (double)st.rx_bytes);
		sbx_set(m, SBX_TX_BYTES, labels, (double)st.tx_bytes);
		sbx_set(m, SBX_RX_PACKETS, labels, (double)st.rx_packets);
		sbx_set(m, SBX_TX_PACKETS, labels, (double)st.tx_packets);
		sbx_set(m, SBX_DENIED, labels, (double)st.denied_connects);
		sbx_set(m, SBX_DROPPED, labels, (double)st.dropped_packets);
	} else if (s->sb && sl_sandbox_stats(s->sb, &cg) == 0) {
		sbx_set(m, SBX_CPU, labels, (double)cg.cpu_usec / 1e6);
	}
	/* memory moves only while the sandbox runs: re-read it when it was busy since the last
	 * read (or is now), else once a minute (reclaim); idle warm sandboxes cost no syscall */
	if (s->sb &&
	    (s->state == SL_SANDBOX_BUSY || !s->ws_read_wall ||
	     s->last_active_wall >= s->ws_read_wall ||
	     wall - s->ws_read_wall > 60 * SL_NSEC_PER_SEC) &&
	    working_set(m, s, &ws) == 0) {
		s->ws_bytes = ws;
		s->ws_read_wall = wall;
	}
	if (s->ws_read_wall)
		sbx_set(m, SBX_MEMORY, labels, (double)s->ws_bytes);
	sbx_set(m, SBX_BUSY, labels, (double)busy / 1e9);
	sbx_set(m, SBX_LAST_ACTIVE, labels, (double)s->last_active_wall / 1e9);
	sbx_set(m, SBX_START, labels, (double)s->created_wall / 1e9);
	sbx_set(m, SBX_INVOCATIONS, labels, (double)s->invocations);
}

static void collect_bpf_progs(struct agent *a, struct agent_metrics *m)
{
	for (size_t i = 0; a->bpf && i < ARRAY_SIZE(bpf_progs); i++) {
		struct bpf_prog_info info = {0};
		uint32_t len = sizeof(info);
		int fd = sl_bpf_prog_fd(a->bpf, bpf_progs[i]);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
			continue;
		count_by(m->prog_ns, bpf_progs[i], (double)info.run_time_ns / 1e9, true);
		count_by(m->prog_cnt, bpf_progs[i], (double)info.run_cnt, true);
	}
}

static void collect_agent(struct agent *a, const struct agent_metrics_counts *c,
			  struct agent_metrics *m)
{
	struct sl_metric_series *s;
	uint64_t lost;

	count_by(m->by_state, "created", c->created, true);
	count_by(m->by_state, "busy", c->busy, true);
	count_by(m->by_state, "idle", c->idle, true);
	count_by(m->by_state, "frozen", c->frozen, true);
	sl_metric_family_set(m->in_flight, c->inflight);
	for (size_t i = 0; i < ARRAY_SIZE(invoke_results); i++)
		count_by(m->invocations, invoke_results[i], (double)a->stats.invocations[i], true);
	sl_metric_family_set(m->cold, (double)a->stats.cold_starts);
	count_by(m->created, sl_proto_reason_name(SL_REASON_COMMAND), (double)a->stats.created,
		 true);
	sl_metric_family_set(m->bpf_loaded, a->bpf != NULL);
	sl_metric_family_set(m->bpf_events, (double)a->stats.bpf_events);
	if (a->bpf && sl_bpf_events_lost(a->bpf, &lost) == 0)
		sl_metric_family_set(m->bpf_lost, (double)lost);
	sl_metric_family_set(m->mem_reserved, (double)c->mem);
	sl_metric_family_set(m->mem_capacity, (double)a->cfg.memory_capacity);
	sl_metric_family_set(m->registered, a->registered);
	sl_metric_family_set(m->draining, a->draining);
	/* the histograms show up from the start, empty */
	sl_metric_series(m->invoke_hist, NULL, &s);
	sl_metric_series(m->init_hist, NULL, &s);
	collect_bpf_progs(a, m);
}

int agent_metrics_render(struct agent *a, const struct agent_metrics_counts *c, char **ret,
			 size_t *ret_len)
{
	struct agent_metrics *m = a->metrics;
	uint64_t now = sl_now_ns(), wall = sl_wall_ns();
	int r;

	if (!m)
		return -ENODATA;
	/* the value series live as long as their sandbox (removed at its destruction); the
	 * _info series, whose labels change once it runs, are made afresh */
	sl_metric_clear(m->info);
	/* one batch of all 4096 slots pays off past a few dozen sandboxes (a lookup each) */
	m->have_counters = a->bpf && a->n_sandboxes > 64 && read_counters(m);
	for (struct asb *s = a->sandboxes; s; s = s->next)
		if (!s->dying)
			collect_sandbox(a, m, s, now, wall);
	collect_agent(a, c, m);
	r = sl_metrics_process(m->reg, "agent", SANDLOT_VERSION, &m->proc);
	if (r < 0)
		return r;
	return sl_metrics_write(m->reg, ret, ret_len);
}
