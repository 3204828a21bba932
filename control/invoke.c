// SPDX-License-Identifier: Apache-2.0
/*
 * Invocations from admission to their end. One unit of concurrency is held from
 * invoke_start() to end(), and every way an invocation ends goes through end(): its result,
 * the death or re-registration of its host, the control node's own deadline, shutdown. A warm
 * invocation goes to the sandbox the router picks; with none, placement picks a host and
 * CREATE_SANDBOX + INVOKE go out together (the agent holds the event until the sandbox's
 * runtime asks for it).
 */
#include "control.h"

#include <sandlot/log.h>
#include <sandlot/time.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <string.h>

#include "function.h"

#define INIT_ALLOWANCE_NS (10 * SL_NSEC_PER_SEC) /* an agent's limit for a runtime's init */
#define CONTROL_SLACK_NS  (5 * SL_NSEC_PER_SEC)

struct inv {
	struct inv *next; /* bucket chain */
	struct ctl *c;
	uint64_t corr; /* the INVOKE's corr id: the key of the pending table */
	uint64_t host;
	char key[SL_ROUTER_KEY_MAX + 1];
	char request_id[37];
	char sandbox_id[SL_MSG_ID_MAX + 1];
	char client_context[SL_MSG_CLIENT_CTX_MAX + 1];
	bool cold, retried, log_tail, pending;
	struct sl_timer *timer;
	inv_done_fn done;
	void *data;
	struct sl_fn fn;
	size_t len;
	unsigned char payload[];
};

void invoke_fn_key(const struct sl_fn *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%.8s", f->account, f->name, f->revision_id);
}

static struct inv **bucket(struct ctl *c, uint64_t corr)
{
	return &c->invs[corr % CTL_INV_BUCKETS];
}

static void table_add(struct ctl *c, struct inv *inv)
{
	struct inv **b = bucket(c, inv->corr);

	inv->next = *b;
	*b = inv;
	inv->pending = true;
	c->ninvs++;
}

static void table_del(struct ctl *c, struct inv *inv)
{
	for (struct inv **pp = bucket(c, inv->corr); *pp; pp = &(*pp)->next)
		if (*pp == inv) {
			*pp = inv->next;
			inv->pending = false;
			c->ninvs--;
			return;
		}
}

static struct inv *table_find(struct ctl *c, uint64_t corr)
{
	for (struct inv *i = *bucket(c, corr); i; i = i->next)
		if (i->corr == corr)
			return i;
	return NULL;
}

/*
 * Random bytes for request and trace ids: xoshiro256** seeded from RAND_bytes and reseeded
 * every RESEED draws. RAND_bytes per id cost more than the rest of an id (its DRBG takes a lock
 * and goes through the provider); these ids must be unique, not secret. One thread: the loop.
 */
#define RESEED 4096
static uint64_t rng[4];
static unsigned rng_left;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next64(void)
{
	uint64_t r, t;

	if (!rng_left) {
		if (RAND_bytes((unsigned char *)rng, sizeof(rng)) != 1)
			rng[0] ^= sl_now_ns(); /* keep going: uniqueness still holds in practice */
		rng[0] |= 1;		       /* never the all-zero state */
		rng_left = RESEED;
	}
	rng_left--;
	r = rotl(rng[1] * 5, 7) * 9;
	t = rng[1] << 17;
	rng[2] ^= rng[0];
	rng[3] ^= rng[1];
	rng[1] ^= rng[2];
	rng[0] ^= rng[3];
	rng[2] ^= t;
	rng[3] = rotl(rng[3], 45);
	return r;
}

static void random_bytes(unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = next64();

		memcpy(buf + i, &v, MIN(len - i, 8));
	}
}

static char *hex(char *out, const unsigned char *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*out++ = digits[b[i] >> 4];
		*out++ = digits[b[i] & 15];
	}
	return out;
}

void invoke_new_request_id(char buf[37])
{
	unsigned char b[16];
	char *p = buf;

	random_bytes(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	p = hex(p, b, 4);
	*p++ = '-';
	p = hex(p, b + 4, 2);
	*p++ = '-';
	p = hex(p, b + 6, 2);
	*p++ = '-';
	p = hex(p, b + 8, 2);
	*p++ = '-';
	p = hex(p, b + 10, 6);
	*p = '\0';
}

/* X-Ray's format: Root=1-{8 hex: epoch seconds}-{24 hex};Parent={16 hex};Sampled=0 */
static void trace_id(char buf[82])
{
	unsigned char r[20];
	uint32_t t = (uint32_t)(sl_wall_ns() / SL_NSEC_PER_SEC);
	unsigned char tb[4] = {t >> 24, t >> 16, t >> 8, t};
	char *p = buf;

	random_bytes(r, sizeof(r));
	memcpy(p, "Root=1-", 7);
	p = hex(p + 7, tb, 4);
	*p++ = '-';
	p = hex(p, r, 12);
	memcpy(p, ";Parent=", 8);
	p = hex(p + 8, r + 12, 8);
	memcpy(p, ";Sampled=0", 11);
}

static int send_invoke(struct ctl *c, struct host *h, struct inv *inv)
{
	char arn[SL_MSG_TEXT_MAX], trace[82];
	struct sl_msg m = {.type = SL_MSG_INVOKE};
	int64_t corr;

	sl_fn_arn(&inv->fn, c->cfg.region, arn, sizeof(arn));
	trace_id(trace);
	m.invoke = (struct sl_msg_invoke){
		.request_id = inv->request_id,
		.sandbox_id = inv->sandbox_id,
		.function = inv->fn.name,
		.version = "$LATEST",
		.function_arn = arn,
		.trace_id = trace,
		.client_context = inv->client_context,
		.deadline_ns =
			sl_wall_ns() + inv->fn.timeout_s * SL_NSEC_PER_SEC + INIT_ALLOWANCE_NS,
		.log_tail = inv->log_tail,
		.payload = inv->payload,
		.payload_len = (uint32_t)inv->len,
	};
	corr = agentlink_send(c, h, &m);
	if (corr < 0)
		return (int)corr;
	inv->corr = (uint64_t)corr;
	return 0;
}

static int send_create(struct ctl *c, struct host *h, struct inv *inv)
{
	_cleanup_free_ struct sl_msg *m = calloc(1, sizeof(*m));
	json_t *env = json_loads(inv->fn.env_json, 0, NULL), *v;
	const char *k;
	int64_t r;

	if (!m) {
		json_decref(env);
		return -ENOMEM;
	}
	m->type = SL_MSG_CREATE_SANDBOX;
	m->create = (struct sl_msg_create){.sandbox_id = inv->sandbox_id,
					   .function = inv->fn.name,
					   .version = "$LATEST",
					   .handler = inv->fn.handler,
					   .code_size = inv->fn.deploy_size,
					   .memory_mb = inv->fn.memory_mb,
					   .timeout_ms = inv->fn.timeout_s * 1000};
	memcpy(m->create.code_sha256, inv->fn.deploy_sha, 32);
	json_object_foreach (env, k, v) {
		if (m->create.env_count == SL_MSG_ENV_MAX)
			break;
		m->create.env[m->create.env_count++] =
			(struct sl_msg_env){.key = k, .value = json_string_value(v)};
	}
	r = agentlink_send(c, h, m);
	json_decref(env);
	return r < 0 ? (int)r : 0;
}

/* Routes inv warm, or places a cold sandbox, and sends. */
static int dispatch(struct ctl *c, struct inv *inv)
{
	uint64_t start = sl_now_ns();
	const struct sl_rsb *sb = sl_router_pick(c->router, inv->key, workers_host_ok, c);
	struct host *h;
	int r;

	if (sb) {
		h = workers_find(c, sb->host);
		snprintf(inv->sandbox_id, sizeof(inv->sandbox_id), "%s", sb->id);
		inv->cold = false;
		r = h ? send_invoke(c, h, inv) : -ENOTCONN;
		if (r < 0) {
			sl_router_release(c->router, inv->sandbox_id);
			metrics_note_placement(c, start, "failed");
			return r;
		}
	} else {
		h = workers_place(c, inv->key, inv->fn.memory_mb);
		if (!h) {
			metrics_note_placement(c, start, "failed");
			return -ENOSPC;
		}
		snprintf(inv->sandbox_id, sizeof(inv->sandbox_id), "%s-%.8s-%016llx",
			 inv->fn.account, inv->fn.revision_id, (unsigned long long)++c->sb_seq);
		inv->cold = true;
		r = sl_router_add(c->router, h->id, inv->sandbox_id, inv->key, inv->fn.memory_mb);
		if (r == 0)
			r = sl_router_claim(c->router, inv->sandbox_id);
		if (r == 0)
			r = send_create(c, h, inv);
		if (r == 0)
			r = send_invoke(c, h, inv);
		if (r < 0) {
			sl_router_remove(c->router, inv->sandbox_id);
			metrics_note_placement(c, start, "failed");
			return r;
		}
	}
	metrics_note_placement(c, start, inv->cold ? "cold" : "warm");
	inv->host = h->id;
	h->inflight++;
	table_add(c, inv);
	return 0;
}

/* Every end of an invocation: the unit goes back, the sandbox is free, done runs. */
static void end(struct ctl *c, struct inv *inv, const struct inv_result *res)
{
	struct host *h = workers_find(c, inv->host);

	table_del(c, inv);
	sl_loop_cancel_timer(c->loop, &inv->timer);
	sl_router_release(c->router, inv->sandbox_id);
	if (h && h->inflight)
		h->inflight--;
	if (sl_counting_release(c->counting, inv->fn.account, inv->fn.name) < 0)
		sl_error("counting: release of %s/%s refused (a bug)", inv->fn.account,
			 inv->fn.name);
	else
		c->units_held--;
	if (res->http_status != 200)
		c->stats.errors++;
	metrics_note_result(c, res->http_status != 200	? "error"
			       : res->function_error[0] ? "function_error"
							: "success");
	inv->done(inv, res, inv->data);
	free(inv);
}

static void end_error(struct ctl *c, struct inv *inv, unsigned status, const char *type,
		      const char *msg)
{
	struct inv_result res = {.http_status = status, .error_type = type, .cold = inv->cold};

	snprintf(res.message, sizeof(res.message), "%s", msg);
	end(c, inv, &res);
}

static void on_deadline(struct sl_loop *loop, void *data)
{
	struct inv *inv = data;
	struct ctl *c = inv->c;
	struct host *h = workers_find(c, inv->host);
	struct sl_msg d = {.type = SL_MSG_DESTROY,
			   .destroy = {.sandbox_id = inv->sandbox_id, .reason = SL_REASON_TIMEOUT}};

	inv->timer = NULL;
	sl_warn("invocation %s: no result from agent %s in time", inv->request_id,
		h ? h->name : "?");
	if (h) {
		workers_note_result(h, true);
		agentlink_send(c, h, &d);
	}
	sl_router_remove(c->router, inv->sandbox_id);
	end_error(c, inv, 500, "ServiceException", "The agent did not answer in time.");
}

int invoke_start(struct ctl *c, const struct sl_fn *f, const void *payload, size_t len,
		 bool log_tail, bool async, const char *client_context, const char *request_id,
		 inv_done_fn done, void *data, enum sl_count_reason *ret_reason)
{
	struct inv *inv;
	int r;

	r = sl_counting_acquire(c->counting, f->account, f->name, async, ret_reason);
	metrics_note_admission(c, f->account, r < 0 ? *ret_reason : SL_COUNT_OK);
	if (r < 0) {
		c->stats.throttled++;
		return r;
	}
	c->units_held++;
	inv = calloc(1, sizeof(*inv) + len);
	if (!inv) {
		sl_counting_release(c->counting, f->account, f->name);
		c->units_held--;
		return -ENOMEM;
	}
	inv->c = c;
	inv->fn = *f;
	inv->done = done;
	inv->data = data;
	inv->log_tail = log_tail;
	inv->len = len;
	memcpy(inv->payload, payload, len);
	snprintf(inv->request_id, sizeof(inv->request_id), "%s", request_id);
	snprintf(inv->client_context, sizeof(inv->client_context), "%s",
		 client_context ? client_context : "");
	invoke_fn_key(f, inv->key, sizeof(inv->key));
	r = dispatch(c, inv);
	if (r < 0) {
		metrics_note_result(c, r == -ENOSPC ? "no_capacity" : "error");
		sl_counting_release(c->counting, f->account, f->name);
		c->units_held--;
		free(inv);
		return r;
	}
	c->stats.invocations++;
	sl_loop_add_timer(c->loop,
			  sl_now_ns() + f->timeout_s * SL_NSEC_PER_SEC + INIT_ALLOWANCE_NS +
				  CONTROL_SLACK_NS,
			  on_deadline, inv, &inv->timer);
	return 0;
}

static bool is_function_error(uint8_t status)
{
	return status == SL_INVOKE_FUNCTION_ERROR || status == SL_INVOKE_TIMEOUT ||
	       status == SL_INVOKE_INIT_ERROR || status == SL_INVOKE_RUNTIME_EXIT;
}

/* NO_SANDBOX: the router was wrong (a keep-alive expiry on its way): forget it, try again. */
static bool retry(struct ctl *c, struct host *h, struct inv *inv)
{
	if (inv->retried)
		return false;
	inv->retried = true;
	table_del(c, inv);
	if (h->inflight)
		h->inflight--;
	sl_router_remove(c->router, inv->sandbox_id);
	if (dispatch(c, inv) == 0)
		return true;
	table_add(c, inv); /* end() takes it out again */
	return false;
}

/* X-Amz-Log-Result: the function's output framed by Lambda's START/END/REPORT lines, the last
 * 4 KB of it, in base64. */
static char *log_result(const struct inv *inv, const struct sl_msg_invoke_result *rs)
{
	char head[128], tail[512], init[64] = "";
	size_t cap = SL_MSG_LOG_TAIL_MAX + sizeof(head) + sizeof(tail), n;
	_cleanup_free_ char *buf = malloc(cap);
	double ms = (double)rs->duration_ns / 1e6;
	const char *p;

	if (!buf)
		return NULL;
	if (rs->init_ns)
		snprintf(init, sizeof(init), "\tInit Duration: %.2f ms", (double)rs->init_ns / 1e6);
	snprintf(head, sizeof(head), "START RequestId: %s Version: $LATEST\n", inv->request_id);
	snprintf(tail, sizeof(tail),
		 "END RequestId: %s\nREPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: "
		 "%llu ms\tMemory Size: %u MB\tMax Memory Used: %llu MB%s\t\n",
		 inv->request_id, inv->request_id, ms, (unsigned long long)ms + 1,
		 inv->fn.memory_mb,
		 /* MB rounded up, as Lambda's (and sandlot-agent invoke's): a small process is 1 */
		 (unsigned long long)((rs->max_memory_bytes + (1 << 20) - 1) >> 20), init);
	n = (size_t)snprintf(buf, cap, "%s", head);
	memcpy(buf + n, rs->log_tail, rs->log_tail_len);
	n += rs->log_tail_len;
	n += (size_t)snprintf(buf + n, cap - n, "%s", tail);
	p = buf + (n > SL_MSG_LOG_TAIL_MAX ? n - SL_MSG_LOG_TAIL_MAX : 0);
	return sl_b64_encode(p, n - (size_t)(p - buf));
}

void invoke_on_result(struct ctl *c, struct host *h, const struct sl_msg *m)
{
	const struct sl_msg_invoke_result *rs = &m->result;
	struct inv *inv = table_find(c, m->corr_id);
	struct inv_result res = {.http_status = 200};

	if (!inv || inv->host != h->id || strcmp(inv->request_id, rs->request_id) != 0) {
		c->stats.stale_results++;
		return;
	}
	if (rs->status == SL_INVOKE_NO_SANDBOX && retry(c, h, inv))
		return;
	res.cold = inv->cold;
	workers_note_result(h,
			    rs->status == SL_INVOKE_NO_SANDBOX || rs->status == SL_INVOKE_INTERNAL);
	if (inv->cold)
		c->stats.cold_starts++;
	else
		c->stats.warm_starts++;
	if (rs->status == SL_INVOKE_OK || is_function_error(rs->status)) {
		res.payload = (void *)rs->payload; /* borrowed: done copies what it keeps */
		res.payload_len = rs->payload_len;
		if (rs->status != SL_INVOKE_OK)
			snprintf(res.function_error, sizeof(res.function_error), "%s",
				 rs->function_error[0] ? rs->function_error : "Unhandled");
		if (inv->log_tail)
			res.log_b64 = log_result(inv, rs);
	} else {
		res.http_status = 500;
		res.error_type = "ServiceException";
		snprintf(res.message, sizeof(res.message),
			 "The sandbox could not run the "
			 "invocation.");
	}
	end(c, inv, &res);
	free(res.log_b64);
}

static void fail_where(struct ctl *c, uint64_t host, bool all, const char *why)
{
	for (unsigned b = 0; b < CTL_INV_BUCKETS; b++)
		for (struct inv *i = c->invs[b], *next; i; i = next) {
			next = i->next;
			if (all || i->host == host)
				end_error(c, i, 500, "ServiceException", why);
		}
}

void invoke_fail_host(struct ctl *c, struct host *h, const char *why)
{
	fail_where(c, h->id, false, why);
}

void invoke_fail_all(struct ctl *c, const char *why)
{
	fail_where(c, 0, true, why);
}

struct retire {
	const char *keep;
	size_t n;
	struct sl_rsb sb[256];
};

static void collect(const struct sl_rsb *sb, void *data)
{
	struct retire *r = data;

	if (strcmp(sb->key, r->keep) != 0 && !sb->inflight && r->n < ARRAY_SIZE(r->sb))
		r->sb[r->n++] = *sb;
}

void invoke_retire_sandboxes(struct ctl *c, const char *account, const char *name,
			     const char *keep_key)
{
	_cleanup_free_ struct retire *r = calloc(1, sizeof(*r));
	char prefix[SL_ROUTER_KEY_MAX + 1];

	if (!r)
		return;
	r->keep = keep_key;
	snprintf(prefix, sizeof(prefix), "%s/%s/", account, name);
	sl_router_each(c->router, prefix, collect, r);
	for (size_t i = 0; i < r->n; i++) {
		struct host *h = workers_find(c, r->sb[i].host);
		struct sl_msg d = {
			.type = SL_MSG_DESTROY,
			.destroy = {.sandbox_id = r->sb[i].id, .reason = SL_REASON_COMMAND}};

		if (h)
			agentlink_send(c, h, &d);
		sl_router_remove(c->router, r->sb[i].id);
	}
}
