// SPDX-License-Identifier: Apache-2.0
/*
 * The control node's /metrics: Prometheus text format 0.0.4, rendered from the owners' counters
 * on each scrape (nothing is kept twice). Names: sandlot_control_*, base units, counters end
 * in _total.
 */
#include "control.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static void metric(FILE *f, const char *name, const char *type, const char *help, double v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static void accounts(FILE *f, struct ctl *c)
{
	fputs("# HELP sandlot_control_account_units_in_use Concurrency units held, by account.\n"
	      "# TYPE sandlot_control_account_units_in_use gauge\n",
	      f);
	for (size_t i = 0; i < sl_akeys_count(c->akeys); i++) {
		const char *a = sl_akeys_account(c->akeys, i);
		struct sl_count_usage u = {0};
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(sl_akeys_account(c->akeys, j), a) == 0;
		if (seen)
			continue;
		sl_counting_account_usage(c->counting, a, &u);
		fprintf(f, "sandlot_control_account_units_in_use{account=\"%s\"} %u\n", a,
			u.in_use);
	}
}

static void link_stats(FILE *f, struct ctl *c)
{
	struct sl_link_stats st;

	sl_link_stats(c->link, &st);
	metric(f, "sandlot_control_frames_received_total", "counter", "Agent frames accepted.",
	       (double)st.received);
	metric(f, "sandlot_control_frames_sent_total", "counter", "Frames sent to agents.",
	       (double)st.sent);
	fputs("# HELP sandlot_control_frames_dropped_total Agent frames dropped, by reason.\n"
	      "# TYPE sandlot_control_frames_dropped_total counter\n",
	      f);
	for (unsigned i = 0; i < _SL_LINK_DROP_MAX; i++)
		fprintf(f, "sandlot_control_frames_dropped_total{reason=\"%s\"} %llu\n",
			sl_link_drop_name(i), (unsigned long long)st.dropped[i]);
}

static void async_stats(FILE *f, struct ctl *c)
{
	uint64_t queued = 0;

	c->store->ops->ev_count(c->store, NULL, &queued);
	metric(f, "sandlot_control_events_queued", "gauge",
	       "Asynchronous invocations in the queue (due, waiting or running).", (double)queued);
	metric(f, "sandlot_control_events_in_flight", "gauge", "Events running now.",
	       async_inflight(c));
	metric(f, "sandlot_control_events_accepted_total", "counter", "Events accepted (202).",
	       (double)c->stats.events_accepted);
	metric(f, "sandlot_control_events_succeeded_total", "counter",
	       "Events whose run succeeded (outcome recorded).", (double)c->stats.events_done);
	metric(f, "sandlot_control_events_retried_total", "counter", "Event attempts retried.",
	       (double)c->stats.events_retried);
	metric(f, "sandlot_control_events_dead_total", "counter",
	       "Events moved to the dead-letter queue.", (double)c->stats.events_dead);
}

char *metrics_render(struct ctl *c, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	unsigned registered = 0, draining = 0;

	if (!f)
		return NULL;
	for (struct host *h = c->hosts; h; h = h->next) {
		registered += h->registered;
		draining += h->registered && h->draining;
	}
	metric(f, "sandlot_control_invocations_total", "counter", "Invocations admitted.",
	       (double)c->stats.invocations);
	metric(f, "sandlot_control_throttles_total", "counter",
	       "Invocations refused over a concurrency limit.", (double)c->stats.throttled);
	metric(f, "sandlot_control_cold_starts_total", "counter",
	       "Invocations that started a sandbox.", (double)c->stats.cold_starts);
	metric(f, "sandlot_control_warm_starts_total", "counter",
	       "Invocations routed to a warm sandbox.", (double)c->stats.warm_starts);
	metric(f, "sandlot_control_invocation_errors_total", "counter",
	       "Invocations that ended with a service error.", (double)c->stats.errors);
	metric(f, "sandlot_control_invocations_in_flight", "gauge", "Invocations running now.",
	       (double)c->ninvs);
	metric(f, "sandlot_control_units_in_use", "gauge",
	       "Concurrency units held (every account).", (double)c->units_held);
	accounts(f, c);
	metric(f, "sandlot_control_hosts", "gauge", "Registered agent hosts.", registered);
	metric(f, "sandlot_control_hosts_draining", "gauge", "Hosts draining.", draining);
	metric(f, "sandlot_control_dead_hosts_total", "counter",
	       "Hosts declared dead (missed heartbeats).", (double)c->stats.dead_hosts);
	metric(f, "sandlot_control_sandboxes", "gauge", "Sandboxes in the routing table.",
	       (double)sl_router_size(c->router));
	metric(f, "sandlot_control_unknown_sandbox_events_total", "counter",
	       "Sandbox events for sandboxes never asked for (dropped).",
	       (double)c->stats.unknown_sandbox_events);
	metric(f, "sandlot_control_stale_results_total", "counter",
	       "Invocation results for no pending invocation (dropped).",
	       (double)c->stats.stale_results);
	async_stats(f, c);
	link_stats(f, c);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*ret_len = len;
	return buf;
}
