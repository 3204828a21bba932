// SPDX-License-Identifier: Apache-2.0
/*
 * The control node's /metrics on lib/metrics (the agent's writer): Prometheus text format
 * 0.0.4. Events (invocation results, throttles, placements, the duration histograms) are kept
 * in the registry as they happen, through the metrics_note_*() hooks; state (concurrency per
 * account and function, hosts, the owners' counters) is read from its owners at each scrape
 * into families cleared first. Names: sandlot_control_*, base units, counters end in _total.
 */
#include "control.h"

#include <sandlot/metrics.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "function.h"

#define FN_SERIES_MAX 10000 /* per-function series per scrape, over every account */

/* The families rebuilt from their owners at every scrape. */
enum {
	S_INVOCATIONS,
	S_COLD,
	S_WARM,
	S_ERRORS,
	S_IN_FLIGHT,
	S_UNITS,
	S_ACC_UNITS,
	S_ACC_LIMIT,
	S_ACC_UNRES_LIMIT,
	S_ACC_UNRES_UNITS,
	S_FN_UNITS,
	S_FN_RESERVED,
	S_HOSTS,
	S_HOSTS_DRAINING,
	S_HOSTS_STATE,
	S_HOST_SANDBOXES,
	S_DEAD_HOSTS,
	S_SANDBOXES,
	S_UNKNOWN_EVENTS,
	S_STALE,
	S_FRAMES_IN,
	S_FRAMES_OUT,
	S_FRAMES_DROPPED,
	S_EV_QUEUED,
	S_EV_IN_FLIGHT,
	S_EV_ACCEPTED,
	S_EV_SUCCEEDED,
	S_EV_RETRIED,
	S_EV_DEAD,
	S_N,
};

struct fam_def {
	const char *name, *help;
	enum sl_metric_type type;
	const char *labels[2];
};

static const struct fam_def state_defs[S_N] = {
	[S_INVOCATIONS] = {"sandlot_control_invocations_total",
			   "Invocations admitted and sent.",
			   SL_METRIC_COUNTER,
			   {NULL}},
	[S_COLD] = {"sandlot_control_cold_starts_total",
		    "Invocations that started a sandbox.",
		    SL_METRIC_COUNTER,
		    {NULL}},
	[S_WARM] = {"sandlot_control_warm_starts_total",
		    "Invocations routed to a warm sandbox.",
		    SL_METRIC_COUNTER,
		    {NULL}},
	[S_ERRORS] = {"sandlot_control_invocation_errors_total",
		      "Invocations that ended with a service error.",
		      SL_METRIC_COUNTER,
		      {NULL}},
	[S_IN_FLIGHT] = {"sandlot_control_invocations_in_flight",
			 "Invocations running now.",
			 SL_METRIC_GAUGE,
			 {NULL}},
	[S_UNITS] = {"sandlot_control_units_in_use",
		     "Concurrency units held (every account).",
		     SL_METRIC_GAUGE,
		     {NULL}},
	[S_ACC_UNITS] = {"sandlot_control_account_units_in_use",
			 "Concurrent executions (units held), by account.",
			 SL_METRIC_GAUGE,
			 {"account"}},
	[S_ACC_LIMIT] = {"sandlot_control_account_concurrency_limit",
			 "The account's concurrency limit.",
			 SL_METRIC_GAUGE,
			 {"account"}},
	[S_ACC_UNRES_LIMIT] = {"sandlot_control_account_unreserved_concurrency_limit",
			       "The account's limit less every function's reservation.",
			       SL_METRIC_GAUGE,
			       {"account"}},
	[S_ACC_UNRES_UNITS] = {"sandlot_control_account_unreserved_units_in_use",
			       "Concurrent executions of functions without a reservation.",
			       SL_METRIC_GAUGE,
			       {"account"}},
	[S_FN_UNITS] = {"sandlot_control_function_units_in_use",
			"Concurrent executions (units held), by function.",
			SL_METRIC_GAUGE,
			{"account", "function"}},
	[S_FN_RESERVED] = {"sandlot_control_function_reserved_concurrency",
			   "A function's reserved concurrency (functions with one).",
			   SL_METRIC_GAUGE,
			   {"account", "function"}},
	[S_HOSTS] = {"sandlot_control_hosts", "Registered agent hosts.", SL_METRIC_GAUGE, {NULL}},
	[S_HOSTS_DRAINING] = {"sandlot_control_hosts_draining",
			      "Registered hosts draining.",
			      SL_METRIC_GAUGE,
			      {NULL}},
	[S_HOSTS_STATE] = {"sandlot_control_hosts_by_state",
			   "Known agent hosts by state (ready, draining, unregistered).",
			   SL_METRIC_GAUGE,
			   {"state"}},
	[S_HOST_SANDBOXES] = {"sandlot_control_host_sandboxes",
			      "Sandboxes in the routing table, by registered host.",
			      SL_METRIC_GAUGE,
			      {"host", "zone"}},
	[S_DEAD_HOSTS] = {"sandlot_control_dead_hosts_total",
			  "Hosts declared dead (missed heartbeats).",
			  SL_METRIC_COUNTER,
			  {NULL}},
	[S_SANDBOXES] = {"sandlot_control_sandboxes",
			 "Sandboxes in the routing table.",
			 SL_METRIC_GAUGE,
			 {NULL}},
	[S_UNKNOWN_EVENTS] = {"sandlot_control_unknown_sandbox_events_total",
			      "Sandbox events for sandboxes never asked for (dropped).",
			      SL_METRIC_COUNTER,
			      {NULL}},
	[S_STALE] = {"sandlot_control_stale_results_total",
		     "Invocation results for no pending invocation (dropped).",
		     SL_METRIC_COUNTER,
		     {NULL}},
	[S_FRAMES_IN] = {"sandlot_control_frames_received_total",
			 "Agent frames accepted.",
			 SL_METRIC_COUNTER,
			 {NULL}},
	[S_FRAMES_OUT] = {"sandlot_control_frames_sent_total",
			  "Frames sent to agents.",
			  SL_METRIC_COUNTER,
			  {NULL}},
	[S_FRAMES_DROPPED] = {"sandlot_control_frames_dropped_total",
			      "Agent frames dropped, by reason.",
			      SL_METRIC_COUNTER,
			      {"reason"}},
	[S_EV_QUEUED] = {"sandlot_control_events_queued",
			 "Asynchronous invocations in the queue (due, waiting or running).",
			 SL_METRIC_GAUGE,
			 {NULL}},
	[S_EV_IN_FLIGHT] = {"sandlot_control_events_in_flight",
			    "Events running now.",
			    SL_METRIC_GAUGE,
			    {NULL}},
	[S_EV_ACCEPTED] = {"sandlot_control_events_accepted_total",
			   "Events accepted (202).",
			   SL_METRIC_COUNTER,
			   {NULL}},
	[S_EV_SUCCEEDED] = {"sandlot_control_events_succeeded_total",
			    "Events whose run succeeded (outcome recorded).",
			    SL_METRIC_COUNTER,
			    {NULL}},
	[S_EV_RETRIED] = {"sandlot_control_events_retried_total",
			  "Event attempts retried.",
			  SL_METRIC_COUNTER,
			  {NULL}},
	[S_EV_DEAD] = {"sandlot_control_events_dead_total",
		       "Events moved to the dead-letter queue.",
		       SL_METRIC_COUNTER,
		       {NULL}},
};

static const double request_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
					 0.025,	 0.05,	  0.1,	  0.25,	 0.5,	 1,	2.5,
					 5,	 10,	  30,	  60,	 300,	 900};
static const double admission_buckets[] = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025,
					   0.0005,  0.001,    0.0025,  0.005,  0.01,
					   0.025,   0.05,     0.1,     0.25,   1};
static const double placement_buckets[] = {0.000001, 0.0000025, 0.000005, 0.00001, 0.000025,
					   0.00005,  0.0001,	0.00025,  0.0005,  0.001,
					   0.0025,   0.01,	0.1};

struct ctl_metrics {
	struct sl_metrics *reg;
	struct sl_metric_family *state[S_N];
	struct sl_metric_family *results, *throttles, *placements;
	struct sl_metric_family *request_hist, *admission_hist, *placement_hist;
	struct sl_metrics_proc proc;
};

static int register_events(struct ctl_metrics *m)
{
	static const char *const result_labels[] = {"type", "result"};
	static const char *const throttle_labels[] = {"account", "reason"};
	static const char *const placement_labels[] = {"result"};

	return sl_metrics_family(m->reg, "sandlot_control_invocation_results_total",
				 "Invocations ended, by invocation type and result "
				 "(success, function_error, error, throttled, no_capacity).",
				 SL_METRIC_COUNTER, result_labels, 2, NULL, 0, &m->results)
		       ?: sl_metrics_family(m->reg, "sandlot_control_throttles_total",
					    "Invocations refused over a concurrency limit, by "
					    "account and limit (account, function).",
					    SL_METRIC_COUNTER, throttle_labels, 2, NULL, 0,
					    &m->throttles)
		       ?: sl_metrics_family(m->reg, "sandlot_control_placements_total",
					    "Invocations routed (warm), placed on a new sandbox "
					    "(cold) or not placed (failed).",
					    SL_METRIC_COUNTER, placement_labels, 1, NULL, 0,
					    &m->placements)
		       ?: sl_metrics_family(m->reg, "sandlot_control_request_duration_seconds",
					    "Lambda API requests, from arrival to completion.",
					    SL_METRIC_HISTOGRAM, NULL, 0, request_buckets,
					    ARRAY_SIZE(request_buckets), &m->request_hist)
		       ?: sl_metrics_family(m->reg, "sandlot_control_admission_duration_seconds",
					    "Invocations, from the request's arrival to the "
					    "concurrency unit taken or refused.",
					    SL_METRIC_HISTOGRAM, NULL, 0, admission_buckets,
					    ARRAY_SIZE(admission_buckets), &m->admission_hist)
		       ?: sl_metrics_family(m->reg, "sandlot_control_placement_duration_seconds",
					    "Routing to a warm sandbox or placing a new one, to "
					    "the frames sent.",
					    SL_METRIC_HISTOGRAM, NULL, 0, placement_buckets,
					    ARRAY_SIZE(placement_buckets), &m->placement_hist);
}

int metrics_open(struct ctl *c)
{
	struct ctl_metrics *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	r = sl_metrics_new(&m->reg);
	for (size_t i = 0; i < S_N && r == 0; i++) {
		const struct fam_def *d = &state_defs[i];
		size_t n = d->labels[1] ? 2 : d->labels[0] ? 1 : 0;

		r = sl_metrics_family(m->reg, d->name, d->help, d->type, d->labels, n, NULL, 0,
				      &m->state[i]);
	}
	r = r ?: register_events(m);
	c->metrics = m;
	if (r < 0)
		metrics_close(c);
	return r;
}

void metrics_close(struct ctl *c)
{
	if (!c->metrics)
		return;
	sl_metrics_free(&c->metrics->reg);
	free(c->metrics);
	c->metrics = NULL;
}

static double since_s(uint64_t start_ns)
{
	uint64_t now = sl_now_ns();

	return now > start_ns ? (double)(now - start_ns) / 1e9 : 0;
}

static void count2(struct sl_metric_family *f, const char *a, const char *b)
{
	const char *v[] = {a, b};
	struct sl_metric_series *s;

	if (sl_metric_series(f, v, &s) == 0)
		sl_metric_add(s, 1);
}

void metrics_note_request(struct ctl *c, uint64_t start_ns)
{
	if (c->metrics && start_ns)
		sl_metric_family_observe(c->metrics->request_hist, since_s(start_ns));
}

void metrics_note_admission(struct ctl *c, const char *account, enum sl_count_reason throttled)
{
	if (!c->metrics)
		return;
	if (c->req_start_ns)
		sl_metric_family_observe(c->metrics->admission_hist, since_s(c->req_start_ns));
	if (throttled != SL_COUNT_OK) {
		count2(c->metrics->throttles, account,
		       throttled == SL_COUNT_FUNCTION ? "function" : "account");
		metrics_note_result(c, "throttled");
	}
}

void metrics_note_placement(struct ctl *c, uint64_t start_ns, const char *result)
{
	const char *v[] = {result};
	struct sl_metric_series *s;

	if (!c->metrics)
		return;
	sl_metric_family_observe(c->metrics->placement_hist, since_s(start_ns));
	if (sl_metric_series(c->metrics->placements, v, &s) == 0)
		sl_metric_add(s, 1);
}

void metrics_note_result(struct ctl *c, const char *result)
{
	if (c->metrics) /* only synchronous invocations so far */
		count2(c->metrics->results, "RequestResponse", result);
}

/* ---- the scrape ---- */

static void put(struct sl_metric_family *f, const char *a, const char *b, double v)
{
	const char *vals[] = {a, b};
	struct sl_metric_series *s;

	if (!a)
		sl_metric_family_set(f, v);
	else if (sl_metric_series_new(f, vals, &s) == 0) /* a repeated host name: once */
		sl_metric_set(s, v);
}

struct fn_walk {
	struct ctl *c;
	unsigned n;
};

static int put_function(const struct sl_fn *f, void *data)
{
	struct fn_walk *w = data;
	struct ctl_metrics *m = w->c->metrics;

	if (++w->n > FN_SERIES_MAX)
		return -E2BIG;
	put(m->state[S_FN_UNITS], f->account, f->name,
	    sl_counting_function_in_use(w->c->counting, f->account, f->name));
	if (f->reserved >= 0)
		put(m->state[S_FN_RESERVED], f->account, f->name, (double)f->reserved);
	return 0;
}

static void collect_accounts(struct ctl *c, struct ctl_metrics *m)
{
	struct fn_walk w = {.c = c};

	for (size_t i = 0; i < sl_akeys_count(c->akeys); i++) {
		const char *a = sl_akeys_account(c->akeys, i);
		struct sl_count_usage u = {0};
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(sl_akeys_account(c->akeys, j), a) == 0;
		if (seen)
			continue;
		sl_counting_account_usage(c->counting, a, &u);
		put(m->state[S_ACC_UNITS], a, NULL, u.in_use);
		put(m->state[S_ACC_LIMIT], a, NULL, u.limit);
		put(m->state[S_ACC_UNRES_LIMIT], a, NULL, u.unreserved_limit);
		put(m->state[S_ACC_UNRES_UNITS], a, NULL, u.unreserved_in_use);
		if (w.n <= FN_SERIES_MAX)
			c->store->ops->fn_list(c->store, a, "", FN_SERIES_MAX, put_function, &w);
	}
}

static void collect_hosts(struct ctl *c, struct ctl_metrics *m)
{
	unsigned ready = 0, draining = 0, unregistered = 0;

	for (struct host *h = c->hosts; h; h = h->next) {
		uint32_t sandboxes = 0, busy = 0;
		uint64_t mem = 0;

		if (!h->registered) {
			unregistered++;
			continue;
		}
		draining += h->draining;
		ready += !h->draining;
		sl_router_host_usage(c->router, h->id, &sandboxes, &busy, &mem);
		put(m->state[S_HOST_SANDBOXES], h->name, h->zone, sandboxes);
	}
	put(m->state[S_HOSTS], NULL, NULL, ready + draining);
	put(m->state[S_HOSTS_DRAINING], NULL, NULL, draining);
	put(m->state[S_HOSTS_STATE], "ready", NULL, ready);
	put(m->state[S_HOSTS_STATE], "draining", NULL, draining);
	put(m->state[S_HOSTS_STATE], "unregistered", NULL, unregistered);
}

static void collect_link(struct ctl *c, struct ctl_metrics *m)
{
	struct sl_link_stats st;

	sl_link_stats(c->link, &st);
	put(m->state[S_FRAMES_IN], NULL, NULL, (double)st.received);
	put(m->state[S_FRAMES_OUT], NULL, NULL, (double)st.sent);
	for (unsigned i = 0; i < _SL_LINK_DROP_MAX; i++)
		put(m->state[S_FRAMES_DROPPED], sl_link_drop_name(i), NULL, (double)st.dropped[i]);
}

static void collect_async(struct ctl *c, struct ctl_metrics *m)
{
	uint64_t queued = 0;

	c->store->ops->ev_count(c->store, NULL, &queued);
	put(m->state[S_EV_QUEUED], NULL, NULL, (double)queued);
	put(m->state[S_EV_IN_FLIGHT], NULL, NULL, async_inflight(c));
	put(m->state[S_EV_ACCEPTED], NULL, NULL, (double)c->stats.events_accepted);
	put(m->state[S_EV_SUCCEEDED], NULL, NULL, (double)c->stats.events_done);
	put(m->state[S_EV_RETRIED], NULL, NULL, (double)c->stats.events_retried);
	put(m->state[S_EV_DEAD], NULL, NULL, (double)c->stats.events_dead);
}

static void collect(struct ctl *c, struct ctl_metrics *m)
{
	for (size_t i = 0; i < S_N; i++)
		sl_metric_clear(m->state[i]);
	put(m->state[S_INVOCATIONS], NULL, NULL, (double)c->stats.invocations);
	put(m->state[S_COLD], NULL, NULL, (double)c->stats.cold_starts);
	put(m->state[S_WARM], NULL, NULL, (double)c->stats.warm_starts);
	put(m->state[S_ERRORS], NULL, NULL, (double)c->stats.errors);
	put(m->state[S_IN_FLIGHT], NULL, NULL, (double)c->ninvs);
	put(m->state[S_UNITS], NULL, NULL, (double)c->units_held);
	collect_accounts(c, m);
	collect_hosts(c, m);
	put(m->state[S_DEAD_HOSTS], NULL, NULL, (double)c->stats.dead_hosts);
	put(m->state[S_SANDBOXES], NULL, NULL, (double)sl_router_size(c->router));
	put(m->state[S_UNKNOWN_EVENTS], NULL, NULL, (double)c->stats.unknown_sandbox_events);
	put(m->state[S_STALE], NULL, NULL, (double)c->stats.stale_results);
	if (c->link)
		collect_link(c, m);
	if (c->store)
		collect_async(c, m);
}

char *metrics_render(struct ctl *c, size_t *ret_len)
{
	char *buf = NULL;

	if (!c->metrics)
		return NULL;
	collect(c, c->metrics);
	if (sl_metrics_process(c->metrics->reg, "control", SANDLOT_VERSION, &c->metrics->proc) <
		    0 ||
	    sl_metrics_write(c->metrics->reg, &buf, ret_len) < 0)
		return NULL;
	return buf;
}
