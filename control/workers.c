// SPDX-License-Identifier: Apache-2.0
/*
 * Workers: the registry of agent hosts. REGISTER (re)creates a host and is acknowledged,
 * heartbeats keep it alive, FULL_STATE and SANDBOX_EVENT feed the router; a host silent for
 * --heartbeat-timeout is dead (its invocations end with ServiceException, its sandboxes leave
 * the table), a host past its --lease is drained. Also the placement snapshot.
 */
#include "control.h"

#include <sandlot/log.h>
#include <sandlot/time.h>

#include <string.h>

#include "placement.h"

#define DRAIN_DEADLINE_MS 60000
#define DECAY_NS	  (10 * SL_NSEC_PER_SEC)

struct host *workers_find(struct ctl *c, uint64_t id)
{
	for (struct host *h = c->hosts; h; h = h->next)
		if (h->id == id)
			return h->registered ? h : NULL;
	return NULL;
}

static struct host *find_any(struct ctl *c, uint64_t id)
{
	for (struct host *h = c->hosts; h; h = h->next)
		if (h->id == id)
			return h;
	return NULL;
}

static struct host *host_new(struct ctl *c, uint64_t id)
{
	struct host *h;

	if (c->nhosts >= CTL_HOSTS_MAX || !(h = calloc(1, sizeof(*h))))
		return NULL;
	h->ctl = c;
	h->id = id;
	h->peer = -1;
	h->sendq_tail = &h->sendq;
	snprintf(h->name, sizeof(h->name), "%016llx", (unsigned long long)id);
	h->last_seen_ns = sl_now_ns();
	h->next = c->hosts;
	c->hosts = h;
	c->nhosts++;
	return h;
}

static void host_remove(struct ctl *c, struct host *h)
{
	for (struct host **pp = &c->hosts; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	agentlink_disconnect(c, h);
	c->nhosts--;
	free(h);
}

/* Forgets what h was running: its invocations fail, its sandboxes leave the table. */
static void host_reset(struct ctl *c, struct host *h, const char *why)
{
	invoke_fail_host(c, h, why);
	sl_router_drop_host(c->router, h->id);
}

static uint32_t heartbeat_ms(const struct ctl *c)
{
	uint64_t ms = c->cfg.heartbeat_timeout_ns / SL_NSEC_PER_MSEC / 3;

	return (uint32_t)MAX(MIN(ms, 1000), SL_MSG_HEARTBEAT_MS_MIN);
}

void workers_on_register(struct ctl *c, const struct sl_msg *m)
{
	const struct sl_msg_register *g = &m->reg;
	struct host *h = find_any(c, m->src_id);
	struct sl_msg ack = {
		.type = SL_MSG_REGISTER_ACK,
		.flags = SL_MSG_F_REPLY,
		.corr_id = m->corr_id,
		.reg_ack = {.version = SANDLOT_VERSION, .heartbeat_ms = heartbeat_ms(c)}};
	uint64_t now = sl_now_ns();
	int r;

	if (c->stopping)
		return;
	if (h && h->registered) /* it restarted, or we did and it noticed */
		host_reset(c, h, "the agent registered again");
	if (!h && !(h = host_new(c, m->src_id))) {
		sl_warn("agent %s: refused, %u hosts already", g->name, c->nhosts);
		return;
	}
	snprintf(h->name, sizeof(h->name), "%s", g->name);
	snprintf(h->zone, sizeof(h->zone), "%s", g->zone);
	h->memory_mb = g->memory_capacity >> 20;
	h->max_sandboxes = g->max_sandboxes;
	h->ncpus = g->ncpus;
	h->registered_ns = h->last_seen_ns = now;
	h->lease_end_ns = now + c->cfg.lease_ns;
	h->draining = false;
	h->registered = true;
	r = agentlink_connect(c, h, g->endpoint);
	if (r == 0)
		r = (int)MIN(agentlink_send(c, h, &ack), 0);
	if (r < 0) {
		sl_log_warn_err(r, "agent %s: cannot answer at %s", g->name, g->endpoint);
		host_remove(c, h);
		return;
	}
	sl_info("agent %s registered: zone %s, %llu MB, %u sandboxes, %u CPUs, at %s", h->name,
		h->zone, (unsigned long long)h->memory_mb, h->max_sandboxes, h->ncpus, g->endpoint);
}

void workers_on_heartbeat(struct ctl *c, const struct sl_msg *m)
{
	struct host *h = find_any(c, m->src_id);
	struct sl_msg e = {.type = SL_MSG_ERROR,
			   .flags = SL_MSG_F_REPLY,
			   .corr_id = m->corr_id ? m->corr_id : 1,
			   .error = {.code = SL_ERR_NOT_REGISTERED,
				     .ref_type = SL_MSG_HEARTBEAT,
				     .message = "not registered"}};
	uint64_t now = sl_now_ns();

	if (h && h->registered) {
		h->last_seen_ns = now;
		return;
	}
	if (c->stopping)
		return;
	/* a host we do not know (we restarted, or declared it dead): ask it to register */
	if (!h && !(h = host_new(c, m->src_id)))
		return;
	h->last_seen_ns = now;
	if (now - h->last_nack_ns < SL_NSEC_PER_SEC)
		return;
	h->last_nack_ns = now;
	if (agentlink_connect(c, h, m->heartbeat.endpoint) == 0)
		agentlink_send(c, h, &e);
}

/* A sandbox the router does not know, reported by FULL_STATE: adopt it if it runs the
 * function's current revision (we restarted), else destroy it. Its id is ACCOUNT-REV8-SEQ. */
static void adopt(struct ctl *c, struct host *h, const struct sl_msg_sandbox *sb)
{
	struct sl_msg d = {.type = SL_MSG_DESTROY,
			   .destroy = {.sandbox_id = sb->sandbox_id, .reason = SL_REASON_COMMAND}};
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	char account[13] = "", key[SL_ROUTER_KEY_MAX + 1];
	const char *rev = sb->sandbox_id + 13;

	if (f && strlen(sb->sandbox_id) > 22 && sb->sandbox_id[12] == '-') {
		memcpy(account, sb->sandbox_id, 12);
		if (c->store->ops->fn_get(c->store, account, sb->function, f) == 0 &&
		    strncmp(f->revision_id, rev, 8) == 0) {
			invoke_fn_key(f, key, sizeof(key));
			if (sl_router_add(c->router, h->id, sb->sandbox_id, key, f->memory_mb) ==
			    0) {
				sl_router_report(c->router, h->id, sb->sandbox_id, sb->state,
						 sb->reason);
				return;
			}
		}
	}
	sl_info("agent %s: sandbox %s is not ours (any more): destroying it", h->name,
		sb->sandbox_id);
	agentlink_send(c, h, &d);
}

void workers_on_full_state(struct ctl *c, struct host *h, const struct sl_msg *m)
{
	for (uint32_t i = 0; i < m->state.count; i++) {
		const struct sl_msg_sandbox *sb = &m->state.sandboxes[i];

		if (sl_router_report(c->router, h->id, sb->sandbox_id, sb->state, sb->reason) ==
		    -ENOENT)
			adopt(c, h, sb);
	}
}

void workers_on_event(struct ctl *c, struct host *h, const struct sl_msg *m)
{
	const struct sl_msg_sandbox *ev = &m->event;
	int r = sl_router_report(c->router, h->id, ev->sandbox_id, ev->state, ev->reason);

	if (r < 0 && ev->state != SL_SANDBOX_DESTROYED) {
		c->stats.unknown_sandbox_events++;
		sl_debug("agent %s: event for a sandbox it was not given (%s): dropped", h->name,
			 ev->sandbox_id);
	}
}

bool workers_host_ok(void *data, uint64_t id)
{
	struct host *h = workers_find(data, id);

	return h && !h->draining;
}

void workers_note_result(struct host *h, bool platform_error)
{
	h->recent_invokes++;
	h->recent_errors += platform_error;
}

struct host *workers_place(struct ctl *c, const char *key, uint32_t memory_mb)
{
	_cleanup_free_ struct sl_place_host *snap = malloc((c->nhosts + 1) * sizeof(*snap));
	_cleanup_free_ struct sl_router_usage *use = malloc((c->nhosts + 1) * sizeof(*use));
	_cleanup_free_ struct host **of = malloc((c->nhosts + 1) * sizeof(*of));
	_cleanup_free_ uint64_t *ids = malloc((c->nhosts + 1) * sizeof(*ids));
	uint64_t now = sl_now_ns();
	size_t n = 0;
	int i;

	if (!snap || !use || !of || !ids)
		return NULL;
	for (struct host *h = c->hosts; h; h = h->next)
		if (h->registered) {
			ids[n] = h->id;
			of[n++] = h;
		}
	/* one pass over the function's sandboxes, not one per host */
	sl_router_usage_of(c->router, key, ids, n, use);
	for (size_t k = 0; k < n; k++) {
		const struct host *h = of[k];

		snap[k] = (struct sl_place_host){
			.zone = h->zone,
			.mem_total_mb = h->memory_mb,
			.mem_used_mb = use[k].memory_mb,
			.sandboxes = use[k].sandboxes,
			.max_sandboxes = h->max_sandboxes,
			.fn_sandboxes = use[k].fn_sandboxes,
			.healthy = !h->draining,
			.lease_left_ms = (int64_t)(h->lease_end_ns - MIN(now, h->lease_end_ns)) /
					 (int64_t)SL_NSEC_PER_MSEC,
			.recent_invokes = h->recent_invokes,
			.recent_platform_errors = h->recent_errors,
		};
	}
	i = sl_placement_pick(snap, n, memory_mb, NULL);
	return i >= 0 ? of[i] : NULL;
}

int workers_drain(struct ctl *c, struct host *h)
{
	struct sl_msg d = {.type = SL_MSG_DRAIN, .drain = {.deadline_ms = DRAIN_DEADLINE_MS}};

	if (!h->registered)
		return -ENOTCONN;
	if (!h->draining) {
		h->draining = true;
		agentlink_send(c, h, &d);
	}
	return 0;
}

static void check_host(struct ctl *c, struct host *h, uint64_t now, bool decay)
{
	if (now - h->last_seen_ns > c->cfg.heartbeat_timeout_ns) {
		if (h->registered) {
			sl_warn("agent %s dead: no heartbeat for %llu ms", h->name,
				(unsigned long long)((now - h->last_seen_ns) / SL_NSEC_PER_MSEC));
			c->stats.dead_hosts++;
			host_reset(c, h, "the agent stopped answering");
		}
		host_remove(c, h);
		return;
	}
	if (decay) {
		h->recent_invokes /= 2;
		h->recent_errors /= 2;
	}
	if (h->registered && !h->draining && now >= h->lease_end_ns) {
		sl_info("agent %s: lease over, draining it", h->name);
		workers_drain(c, h);
	}
}

static void on_check(struct sl_loop *loop, void *data)
{
	struct ctl *c = data;
	static uint64_t last_decay;
	uint64_t now = sl_now_ns();
	bool decay = now - last_decay > DECAY_NS;

	c->workers_timer = NULL;
	if (decay)
		last_decay = now;
	for (struct host *h = c->hosts, *next; h; h = next) {
		next = h->next;
		check_host(c, h, now, decay);
	}
	sl_loop_add_timer(loop, now + MAX(c->cfg.heartbeat_timeout_ns / 4, 50 * SL_NSEC_PER_MSEC),
			  on_check, c, &c->workers_timer);
}

int workers_start(struct ctl *c)
{
	return sl_loop_add_timer(c->loop, sl_now_ns() + c->cfg.heartbeat_timeout_ns / 4, on_check,
				 c, &c->workers_timer);
}

void workers_stop(struct ctl *c)
{
	sl_loop_cancel_timer(c->loop, &c->workers_timer);
	while (c->hosts)
		host_remove(c, c->hosts);
}
