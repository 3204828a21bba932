// SPDX-License-Identifier: Apache-2.0
/*
 * Asynchronous invocations: the dispatcher that takes events from the store's queue and runs
 * them as invocations within the same counting as synchronous ones (async=true: never the
 * account's last unreserved units), and records each attempt's outcome.
 *
 * At least once: an event is leased to this control node (its link id) for the function's
 * timeout plus a margin when taken; its outcome (success: deleted with its outcome recorded;
 * failure: retried later, or moved to the dead-letter queue) is written when the invocation
 * ends. A control node killed in between leaves the lease, which it drops when it starts again
 * (another would wait for it to expire). Functions with due events are served round robin
 * (retry.h), one event each per turn. Every attempt of an event uses its request id.
 *
 * Accepting is a group commit: the events accepted during one loop turn are inserted in one
 * transaction on the next turn and their 202s go out after its sync, so concurrent clients
 * share one fsync. The successes of that turn (delete + outcome) go in the same transaction,
 * so outcomes do not compete with accepts for syncs. A success whose commit fails (or that a
 * kill interrupts) leaves its event leased: it runs again, which at-least-once allows.
 *
 * A throttled function's events are not taken, but those past their maximum age are: each
 * turn moves them to the dead-letter queue without running them (the age sweep).
 */
#include "control.h"

#include <sandlot/log.h>
#include <sandlot/time.h>

#include <jansson.h>
#include <string.h>

#include "function.h"
#include "retry.h"

#define PUMP_NS		   (50 * SL_NSEC_PER_MSEC)
#define ASYNC_INFLIGHT_MAX 64  /* events dispatched at once by this node */
#define ROUND_MAX	   256 /* functions looked at per turn */
#define LEASE_SLACK_NS	   (60 * SL_NSEC_PER_SEC)
#define PUT_BATCH_MAX	   256 /* events per group commit */
#define DONE_BATCH_MAX	   ASYNC_INFLIGHT_MAX
#define SWEEP_MAX	   64 /* expired events of a throttled function dead-lettered per turn */

struct fkey {
	char account[13];
	char name[SL_FN_NAME_MAX + 1];
	char key[SL_FN_NAME_MAX + 16];
};

/* An accepted event waiting for the next group commit. */
struct put {
	struct put *next;
	struct sl_event ev;
	async_stored_fn stored;
	void *data;
	unsigned char payload[];
};

struct async {
	struct ctl *c;
	struct sl_timer *timer, *flush_timer;
	struct put *puts, **puts_tail; /* waiting for the next commit */
	struct sl_event batch[PUT_BATCH_MAX];
	struct sl_event done[DONE_BATCH_MAX]; /* successes waiting for the next commit */
	size_t ndone;
	unsigned inflight;
	char last[SL_FN_NAME_MAX + 16]; /* the function served last ("account/name") */
	struct fkey due[ROUND_MAX];
	unsigned ndue;
};

/* One event taken from the queue, until its attempt ends. */
struct aev {
	struct ctl *c;
	struct sl_event ev;
	struct sl_eic cfg;
	char arn[SL_MSG_TEXT_MAX];
};

static void schedule(struct async *a, uint64_t delay_ns);
static void on_flush(struct sl_loop *loop, void *data);

static void flush_soon(struct async *a)
{
	if (!a->flush_timer)
		sl_loop_add_timer(a->c->loop, 0, on_flush, a, &a->flush_timer);
}

unsigned async_inflight(const struct ctl *c)
{
	return c->async ? c->async->inflight : 0;
}

static void load_cfg(struct ctl *c, const char *account, const char *name, struct sl_eic *e)
{
	if (c->store->ops->eic_get(c->store, account, name, e) == 0)
		return;
	*e = (struct sl_eic){.max_retry = SL_RETRY_MAX, .max_age_s = SL_RETRY_AGE_MAX_S};
}

/* The destination record (Lambda's shape) for an OnFailure function, queued with the dead
 * letter. NULL when there is no such function in the event's account. */
static int destination(struct aev *e, const char *condition, struct sl_event *dst, char **ret_json)
{
	char prefix[128], ts[64];
	const char *arn = e->cfg.on_failure, *name;
	json_t *req, *rec;
	time_t t = (time_t)(sl_wall_ns() / SL_NSEC_PER_SEC);

	snprintf(prefix, sizeof(prefix), "arn:aws:lambda:%s:%s:function:", e->c->cfg.region,
		 e->ev.account);
	if (strncmp(arn, prefix, strlen(prefix)) != 0)
		return -ENOENT;
	name = arn + strlen(prefix);
	if (!*name || strlen(name) > SL_FN_NAME_MAX || strchr(name, ':'))
		return -ENOENT;
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	req = e->ev.len ? json_loadb(e->ev.payload, e->ev.len, JSON_DECODE_ANY, NULL) : NULL;
	rec = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:i}, s:o, s:{s:s, s:s}}", "version", "1.0",
			"timestamp", ts, "requestContext", "requestId", e->ev.request_id,
			"functionArn", e->arn, "condition", condition, "approximateInvokeCount",
			(int)e->ev.attempts, "requestPayload", req ? req : json_null(),
			"responseContext", "executedVersion", "$LATEST", "functionError",
			e->ev.error);
	*ret_json = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	json_decref(rec);
	if (!*ret_json)
		return -ENOMEM;
	memset(dst, 0, sizeof(*dst));
	snprintf(dst->account, sizeof(dst->account), "%s", e->ev.account);
	snprintf(dst->name, sizeof(dst->name), "%s", name);
	sl_uuid(dst->request_id);
	dst->enqueued_ns = dst->due_ns = sl_wall_ns();
	dst->payload = *ret_json;
	dst->len = strlen(*ret_json);
	return 0;
}

/* The event failed for good: dead letter (and the OnFailure destination's event). */
static void dead(struct aev *e, const char *condition)
{
	struct ctl *c = e->c;
	struct sl_event dst;
	_cleanup_free_ char *json = NULL;
	bool has_dst = e->cfg.on_failure[0] && destination(e, condition, &dst, &json) == 0;
	int r = c->store->ops->ev_fail(c->store, &e->ev, sl_wall_ns(), has_dst ? &dst : NULL);

	if (r < 0) {
		sl_warn("event %s: writing its dead letter failed (%s): it runs again after its "
			"lease",
			e->ev.request_id, strerror(-r));
		return;
	}
	c->stats.events_dead++;
	sl_info("event %s of %s/%s: dead letter after %u attempts (%s): %s", e->ev.request_id,
		e->ev.account, e->ev.name, e->ev.attempts, condition, e->ev.error);
}

/* Back to the queue per the retry schedule, or dead. */
static void retry_or_dead(struct aev *e, enum sl_retry_kind kind)
{
	struct ctl *c = e->c;
	uint64_t now = sl_wall_ns(), due;
	struct sl_retry_in in = {.kind = kind,
				 .attempts = e->ev.attempts,
				 .retries = e->ev.retries,
				 .max_retry = (uint32_t)e->cfg.max_retry,
				 .max_age_s = (uint32_t)e->cfg.max_age_s,
				 .enqueued_ns = e->ev.enqueued_ns,
				 .now_ns = now,
				 .scale = c->cfg.retry_delay_scale};
	int r;

	if (!sl_retry_next(&in, &due)) {
		dead(e, kind == SL_RETRY_FUNCTION ? "RetriesExhausted" : "EventAgeExceeded");
		return;
	}
	if (kind == SL_RETRY_PLATFORM)
		e->ev.retries++;
	e->ev.due_ns = due;
	r = c->store->ops->ev_retry(c->store, &e->ev);
	if (r < 0)
		sl_warn("event %s: requeue failed (%s): it runs again after its lease",
			e->ev.request_id, strerror(-r));
	else
		c->stats.events_retried++;
}

static void aev_free(struct aev *e)
{
	free(e->ev.payload);
	free(e);
}

static void on_done(struct inv *inv, const struct inv_result *res, void *data)
{
	struct aev *e = data;
	struct ctl *c = e->c;
	int r;

	if (c->async && c->async->inflight)
		c->async->inflight--;
	if (res->http_status == 200 && !res->function_error[0] && c->async &&
	    c->async->ndone < DONE_BATCH_MAX) {
		struct sl_event *d = &c->async->done[c->async->ndone++];

		*d = e->ev; /* committed with the next group commit */
		d->payload = NULL;
		d->len = 0;
		d->finished_ns = sl_wall_ns();
		flush_soon(c->async);
	} else if (res->http_status == 200 && !res->function_error[0]) {
		e->ev.finished_ns = sl_wall_ns();
		r = c->store->ops->ev_commit(c->store, NULL, 0, &e->ev, 1);
		if (r < 0)
			sl_warn("event %s: recording its outcome failed (%s): it runs again",
				e->ev.request_id, strerror(-r));
		else
			c->stats.events_done++;
	} else if (res->http_status == 200) {
		e->ev.attempts++;
		snprintf(e->ev.error, sizeof(e->ev.error), "%s: %.*s", res->function_error,
			 (int)MIN(res->payload_len, 200), (const char *)res->payload);
		retry_or_dead(e, SL_RETRY_FUNCTION);
	} else {
		snprintf(e->ev.error, sizeof(e->ev.error), "%s: %.200s", res->error_type,
			 res->message);
		retry_or_dead(e, SL_RETRY_PLATFORM);
	}
	aev_free(e);
	if (c->async)
		schedule(c->async, 0);
}

/* Starts one taken event; any failure to start is a platform retry. 1: started or done with,
 * 0: throttled (serve this function no more this turn), -ENOSPC: no host for anything. */
static int run(struct ctl *c, struct aev *e, const struct sl_fn *f)
{
	enum sl_count_reason reason = SL_COUNT_OK;
	int r;

	if (sl_retry_expired(e->ev.enqueued_ns, (uint32_t)e->cfg.max_age_s, sl_wall_ns())) {
		snprintf(e->ev.error, sizeof(e->ev.error), "EventAgeExceeded");
		dead(e, "EventAgeExceeded");
		aev_free(e);
		return 1;
	}
	r = invoke_start(c, f, e->ev.payload, e->ev.len, false, true, "", e->ev.request_id, on_done,
			 e, &reason);
	if (r == 0) {
		c->async->inflight++;
		return 1;
	}
	snprintf(e->ev.error, sizeof(e->ev.error), "%s",
		 r == -EAGAIN	? "TooManyRequestsException: throttled"
		 : r == -ENOSPC ? "ServiceException: no worker host can take it"
				: strerror(-r));
	retry_or_dead(e, SL_RETRY_PLATFORM);
	aev_free(e);
	return r == -EAGAIN ? 0 : r == -ENOSPC ? -ENOSPC : 1;
}

/* Whether the function could take one more async unit now (a probe: taken and given back),
 * so that a throttled function's events stay in the queue rather than being taken and put
 * back. */
static bool has_room(struct ctl *c, const struct fkey *k)
{
	if (sl_counting_acquire(c->counting, k->account, k->name, true, NULL) < 0)
		return false;
	sl_counting_release(c->counting, k->account, k->name);
	return true;
}

/* A throttled function's events wait untouched, except those past their maximum age: up to
 * SWEEP_MAX of them go to the dead-letter queue without running. */
static void sweep(struct ctl *c, const struct sl_fn *f, const struct sl_eic *cfg)
{
	for (unsigned i = 0; i < SWEEP_MAX; i++) {
		uint64_t now = sl_wall_ns(), age = (uint64_t)cfg->max_age_s * SL_NSEC_PER_SEC;
		struct aev *e = calloc(1, sizeof(*e));

		if (!e || now <= age ||
		    c->store->ops->ev_take_expired(c->store, f->account, f->name, now, now - age,
						   c->self_id, now + LEASE_SLACK_NS, &e->ev) < 0) {
			free(e);
			return;
		}
		e->c = c;
		e->cfg = *cfg;
		sl_fn_arn(f, c->cfg.region, e->arn, sizeof(e->arn));
		snprintf(e->ev.error, sizeof(e->ev.error), "EventAgeExceeded");
		dead(e, "EventAgeExceeded");
		aev_free(e);
	}
}

/* Takes and starts the oldest due event of one function: 1, 0 when it has none or is
 * throttled, -errno (-ENOSPC: no host can take anything now). */
static int take_one(struct ctl *c, const struct fkey *k)
{
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	struct aev *e = calloc(1, sizeof(*e));
	uint64_t now = sl_wall_ns(), timeout_s = 900;
	bool have_fn;
	int r = -ENOMEM;

	if (!f || !e)
		goto fail;
	e->c = c;
	load_cfg(c, k->account, k->name, &e->cfg);
	have_fn = c->store->ops->fn_get(c->store, k->account, k->name, f) == 0;
	if (have_fn) {
		timeout_s = f->timeout_s;
		if (!has_room(c, k)) {
			sweep(c, f, &e->cfg);
			r = -ENOENT; /* throttled: its other events wait in the queue, untouched */
			goto fail;
		}
	}
	r = c->store->ops->ev_take(c->store, k->account, k->name, now, c->self_id,
				   now + timeout_s * SL_NSEC_PER_SEC + LEASE_SLACK_NS, &e->ev);
	if (r < 0)
		goto fail;
	if (!have_fn) {
		snprintf(e->ev.error, sizeof(e->ev.error),
			 "ResourceNotFoundException: Function not found");
		dead(e, "RetriesExhausted");
		aev_free(e);
		return 1;
	}
	sl_fn_arn(f, c->cfg.region, e->arn, sizeof(e->arn));
	return run(c, e, f);
fail:
	free(e);
	return r == -ENOENT ? 0 : r;
}

static int collect_due(const char *account, const char *name, void *data)
{
	struct async *a = data;
	struct fkey *k;

	if (a->ndue == ROUND_MAX || strlen(account) >= sizeof(k->account) ||
	    strlen(name) > SL_FN_NAME_MAX)
		return 0;
	k = &a->due[a->ndue++];
	snprintf(k->account, sizeof(k->account), "%s", account);
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->key, sizeof(k->key), "%s/%s", account, name);
	return 0;
}

/* Rounds over the functions with due events, one event each per round, from the one after
 * the function served last. */
static void serve(struct async *a)
{
	struct ctl *c = a->c;
	const char *keys[ROUND_MAX];
	bool left[ROUND_MAX];
	size_t start;
	unsigned live;
	int r;

	a->ndue = 0;
	r = c->store->ops->ev_due(c->store, sl_wall_ns(), ROUND_MAX, collect_due, a);
	if (r < 0) {
		sl_warn("async: reading the queue failed: %s", strerror(-r));
		return;
	}
	for (unsigned i = 0; i < a->ndue; i++) {
		keys[i] = a->due[i].key;
		left[i] = true;
	}
	start = sl_fair_start(keys, a->ndue, a->last);
	for (live = a->ndue; live && a->inflight < ASYNC_INFLIGHT_MAX && !c->stopping;) {
		for (unsigned j = 0; j < a->ndue && a->inflight < ASYNC_INFLIGHT_MAX; j++) {
			unsigned i = (unsigned)((start + j) % a->ndue);

			if (!left[i])
				continue;
			r = take_one(c, &a->due[i]);
			snprintf(a->last, sizeof(a->last), "%s", a->due[i].key);
			if (r == -ENOSPC)
				return;
			if (r <= 0) {
				left[i] = false;
				live--;
			}
		}
	}
}

static void on_pump(struct sl_loop *loop, void *data)
{
	struct async *a = data;

	a->timer = NULL;
	if (!a->c->stopping && a->inflight < ASYNC_INFLIGHT_MAX)
		serve(a);
	schedule(a, PUMP_NS);
}

static void schedule(struct async *a, uint64_t delay_ns)
{
	if (a->timer && delay_ns)
		return;
	sl_loop_cancel_timer(a->c->loop, &a->timer);
	sl_loop_add_timer(a->c->loop, sl_now_ns() + delay_ns, on_pump, a, &a->timer);
}

/* Commits the events queued since the last turn, in batches of PUT_BATCH_MAX. */
static void on_flush(struct sl_loop *loop, void *data)
{
	struct async *a = data;
	struct sl_event *evs = a->batch;

	a->flush_timer = NULL;
	while (a->puts || a->ndone) {
		struct put *p = a->puts, *next;
		size_t n = 0, nd = a->ndone;
		int r;

		for (struct put *q = p; q && n < PUT_BATCH_MAX; q = q->next)
			evs[n++] = q->ev;
		a->ndone = 0;
		r = a->c->store->ops->ev_commit(a->c->store, evs, n, a->done, nd);
		if (r == 0) {
			a->c->stats.events_accepted += n;
			a->c->stats.events_done += nd;
		} else if (nd) {
			sl_warn("async: recording %zu outcomes failed (%s): they run again after "
				"their leases",
				nd, strerror(-r));
		}
		for (size_t i = 0; i < n; i++, p = next) {
			next = p->next;
			p->stored(p->data, r);
			free(p);
		}
		a->puts = p;
		if (!p)
			a->puts_tail = &a->puts;
	}
	schedule(a, 0);
}

int async_enqueue(struct ctl *c, const struct sl_fn *f, const void *payload, size_t len,
		  const char *request_id, async_stored_fn stored, void *data)
{
	struct async *a = c->async;
	struct put *p = calloc(1, sizeof(*p) + len + 1);

	if (!p)
		return -ENOMEM;
	memcpy(p->payload, payload, len);
	p->ev.payload = p->payload;
	p->ev.len = len;
	snprintf(p->ev.account, sizeof(p->ev.account), "%s", f->account);
	snprintf(p->ev.name, sizeof(p->ev.name), "%s", f->name);
	snprintf(p->ev.request_id, sizeof(p->ev.request_id), "%s", request_id);
	p->ev.enqueued_ns = p->ev.due_ns = sl_wall_ns();
	p->stored = stored;
	p->data = data;
	*a->puts_tail = p;
	a->puts_tail = &p->next;
	flush_soon(a);
	return 0;
}

int async_start(struct ctl *c)
{
	struct async *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	a->c = c;
	a->puts_tail = &a->puts;
	c->async = a;
	r = c->store->ops->ev_release(c->store, c->self_id);
	if (r < 0)
		return sl_log_err(r, "store: releasing the event leases of the last run");
	if (r > 0)
		sl_info("async: %d events taken by the last run are queued again", r);
	schedule(a, PUMP_NS);
	return 0;
}

void async_stop(struct ctl *c)
{
	if (!c->async)
		return;
	sl_loop_cancel_timer(c->loop, &c->async->flush_timer);
	on_flush(c->loop, c->async); /* what was accepted is stored and answered */
	sl_loop_cancel_timer(c->loop, &c->async->timer);
	free(c->async);
	c->async = NULL;
}
