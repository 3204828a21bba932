// SPDX-License-Identifier: Apache-2.0
/*
 * Invocations inside the daemon: INVOKE picks a sandbox (named, or the most recently used warm one
 * of the function), hands the event to its runtime through the Runtime API (or keeps it until a
 * starting sandbox's first `next`), and reports its result to the sink on response, function
 * error, timeout or crash. One invocation at a time per sandbox.
 */
#include "daemon/worker.h"

#include "daemon/agent-log.h"
#include "daemon/metrics-agent.h"
#include "daemon/worker-internal.h"

#include <sandlot/log.h>
#include <sandlot/time.h>

#include <jansson.h>
#include <stdarg.h>
#include <string.h>

/* ---- invocations ---- */

/*
 * Reads what the sandbox wrote up to its response into its log tail: every line it wrote
 * before responding is in its one output pipe by then (stdout and stderr share it, so the
 * order is the order written), possibly not read yet under a flood. Bounded (1 MiB, 16 pipes
 * full) so that a sandbox that keeps writing cannot hold the loop.
 */
static void drain_output(struct asb *s)
{
	char buf[16384];
	ssize_t n;

	if (s->out_fd < 0)
		return;
	for (int i = 0; i < 64 && (n = read(s->out_fd, buf, sizeof(buf))) > 0; i++)
		sl_logtail_write(&s->log, buf, (size_t)n);
}

/* The sandbox's BPF slot, looked up once (it stays its own while registered). */
static int bpf_slot(struct asb *s, uint32_t *ret)
{
	uint32_t slot;

	if (!s->bpf)
		return -ENOENT;
	if (!s->bpf_slot1) {
		int r = sl_bpf_sandbox_slot(s->a->bpf, s->cgid, &slot);

		if (r < 0)
			return r;
		s->bpf_slot1 = slot + 1;
	}
	*ret = s->bpf_slot1 - 1;
	return 0;
}

/* BPF's in-flight count for the sandbox: while > 0 it never reports the sandbox idle. */
static void set_inflight(struct asb *s, uint32_t n)
{
	uint32_t slot;

	if (bpf_slot(s, &slot) == 0)
		(void)sl_bpf_slot_set_inflight(s->a->bpf, slot, n);
}

static int bpf_state(struct asb *s)
{
	uint32_t slot;
	int r = bpf_slot(s, &slot);

	return r < 0 ? r : sl_bpf_slot_state(s->a->bpf, slot);
}

void invoke_finish(struct asb *s, uint8_t status, const char *function_error, const void *payload,
		   size_t len)
{
	struct agent *a = s->a;
	struct sl_msg_invoke_result res;
	struct sl_cgroup_stats st = {0};
	char tail[SL_LOGTAIL_SIZE];
	size_t tail_len = 0;

	if (!s->inv.active)
		return;
	s->inv.active = false;
	sl_loop_cancel_timer(a->loop, &s->inv.deadline);
	if (s->inv.log_tail) {
		drain_output(s);
		tail_len = sl_logtail_read(&s->log, tail);
	}
	/* Reading cgroup stats costs about a tenth of the agent's work per warm invocation
	 * (cpu.stat flushes the kernel's per-CPU counters): a normal end reports the peak known
	 * from the last heartbeat or idle transition (at most a second old); the rest, and an
	 * invocation whose log tail (its REPORT line) was asked for, reads it. */
	if (s->sb &&
	    (s->inv.log_tail || (status != SL_INVOKE_OK && status != SL_INVOKE_FUNCTION_ERROR)) &&
	    sl_sandbox_stats(s->sb, &st) == 0)
		s->memory_peak = MAX(s->memory_peak, st.memory_peak_bytes);
	res = (struct sl_msg_invoke_result){
		.request_id = s->inv.request_id,
		.sandbox_id = s->id,
		.function_error = function_error,
		.status = status,
		.init_ns = s->cold ? s->init_ns : 0,
		.duration_ns = sl_now_ns() - s->inv.start_mono,
		.max_memory_bytes = s->memory_peak,
		.payload = payload,
		.payload_len = (uint32_t)MIN(len, (size_t)SL_MSG_PAYLOAD_MAX),
		.log_tail = tail,
		.log_tail_len = (uint32_t)tail_len,
	};
	agent_metrics_invocation(a, status, res.duration_ns);
	agent_log_invocation(s, status, payload, len, res.duration_ns);
	s->cold = false;
	s->invocations++;
	a->stats.invocations[status < 8 ? status : SL_INVOKE_INTERNAL]++;
	a->sink.invoke_result(a->sink.data, &res, s->inv.corr);
	/* after the result: the BPF map update is two syscalls the invoker need not wait for */
	set_inflight(s, 0);
}

/* The invocation ended well or with a function error: the sandbox stays warm. */
static void invoke_done(struct asb *s)
{
	struct agent *a = s->a;

	if (a->draining) {
		worker_destroy_later(s, SL_REASON_DRAIN);
		return;
	}
	sl_pool_put_idle(&a->pool, &s->pe, sl_now_ns());
	worker_keepalive_rearm(a);
	/* Without BPF nobody will say when it goes quiet: freeze now. */
	if (!s->bpf || bpf_state(s) == SL_BPF_IDLE)
		worker_go_idle(s, SL_REASON_COMPLETE);
}

void invoke_on_response(struct sl_rtapi *srv, void *data, const char *request_id, const void *body,
			size_t len, const char *content_type)
{
	struct asb *s = data;

	if (!s->inv.active || strcmp(request_id, s->inv.request_id) != 0)
		return;
	invoke_finish(s, SL_INVOKE_OK, "", body, len);
	invoke_done(s);
}

void invoke_on_error(struct sl_rtapi *srv, void *data, const char *request_id,
		     const struct sl_rtapi_error *err)
{
	struct asb *s = data;
	char body[768];
	size_t n;

	if (!s->inv.active || strcmp(request_id, s->inv.request_id) != 0)
		return;
	if (err->body_len || !err->error_type) {
		invoke_finish(s, SL_INVOKE_FUNCTION_ERROR, "Unhandled", err->body, err->body_len);
	} else { /* the server's own verdict (a response too large): say it as Lambda does */
		n = invoke_error_json(body, sizeof(body), err->error_type, "%s",
				      err->error_message ? err->error_message : "");
		invoke_finish(s, SL_INVOKE_FUNCTION_ERROR, "Unhandled", body, n);
	}
	invoke_done(s);
}

/* A JSON error body as Lambda writes it, into buf. */
size_t invoke_error_json(char *buf, size_t len, const char *type, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *o;
	char *txt;
	size_t n = 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s, s:s}", "errorMessage", msg, "errorType", type);
	txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (txt) {
		n = (size_t)snprintf(buf, len, "%s", txt);
		n = MIN(n, len - 1);
	}
	free(txt);
	json_decref(o);
	return n;
}

static void on_deadline(struct sl_loop *loop, void *data)
{
	struct asb *s = data;
	char body[768], ts[40];
	size_t n;

	s->inv.deadline = NULL;
	sl_format_rfc3339(sl_wall_ns(), ts, sizeof(ts));
	n = invoke_error_json(body, sizeof(body), "Sandbox.Timedout",
			      "%s %s Task timed out after %.2f seconds", ts, s->inv.request_id,
			      s->timeout_ms / 1000.0);
	invoke_finish(s, SL_INVOKE_TIMEOUT, "Unhandled", body, n);
	worker_destroy(s, SL_REASON_TIMEOUT);
}

/* Takes the sandbox an INVOKE asks for, or a warm one of its function. */
static struct asb *pick(struct agent *a, const struct sl_msg_invoke *iv)
{
	char key[SL_POOL_KEY_MAX];
	struct asb *s;

	if (iv->sandbox_id[0]) {
		s = worker_find(a, iv->sandbox_id);
		if (!s || s->dying || s->inv.active || strcmp(s->function, iv->function) != 0 ||
		    strcmp(s->version, iv->version) != 0)
			return NULL;
		/* still starting: a cold start, the event waits for the runtime's first next */
		if (s->pe.state == SL_POOL_STARTING)
			return s;
		return sl_pool_take_entry(&a->pool, &s->pe) < 0 ? NULL : s;
	}
	snprintf(key, sizeof(key), "%s:%s", iv->function, iv->version);
	return (struct asb *)sl_pool_take(&a->pool, key);
}

static void refuse_invoke(struct agent *a, const struct sl_msg_invoke *iv, uint64_t corr,
			  uint8_t status, const char *type, const char *why)
{
	char body[768];
	size_t n = invoke_error_json(body, sizeof(body), type, "%s", why);
	struct sl_msg_invoke_result res = {.request_id = iv->request_id,
					   .sandbox_id = "",
					   .function_error = "",
					   .status = status,
					   .payload = body,
					   .payload_len = (uint32_t)n};

	a->stats.invocations[status]++;
	a->sink.invoke_result(a->sink.data, &res, corr);
	sl_debug_kv("invocation refused", "function=%s request=%s error_type=%s", iv->function,
		    iv->request_id, type);
}

/* Hands an event to s's runtime (now, or at its first next) and runs the server. */
static int deliver(struct asb *s, const struct sl_rtapi_event *ev)
{
	int r = sl_rtapi_invoke_event(s->api, ev);

	sl_debug_kv("event handed over", "sandbox=%s request=%s runtime=%s waiting=%s r=%d", s->id,
		    ev->request_id, sl_rtapi_state(s->api), sl_rtapi_waiting(s->api) ? "yes" : "no",
		    r);
	if (r == 0)
		worker_rtapi_service(s);
	return r;
}

/* An event for a sandbox still starting: kept until the runtime's first next. */
struct pending_event {
	struct sl_rtapi_event ev;
	char arn[SL_MSG_TEXT_MAX + 1];
	char trace_id[SL_MSG_TEXT_MAX + 1];
	char client_context[SL_MSG_CLIENT_CTX_MAX + 1];
	unsigned char payload[];
};

static int keep_pending(struct asb *s, const struct sl_rtapi_event *ev)
{
	struct pending_event *p = malloc(sizeof(*p) + ev->len);

	if (!p)
		return -ENOMEM;
	snprintf(p->arn, sizeof(p->arn), "%s", ev->arn);
	snprintf(p->trace_id, sizeof(p->trace_id), "%s", ev->trace_id ? ev->trace_id : "");
	snprintf(p->client_context, sizeof(p->client_context), "%s",
		 ev->client_context ? ev->client_context : "");
	memcpy(p->payload, ev->payload, ev->len);
	p->ev = *ev;
	p->ev.request_id = s->inv.request_id;
	p->ev.arn = p->arn;
	p->ev.trace_id = p->trace_id;
	p->ev.client_context = ev->client_context ? p->client_context : NULL;
	p->ev.payload = p->payload;
	s->pending = p;
	return 0;
}

/* The earlier of the invoker's deadline and the function's timeout, from now (wall). */
static uint64_t invoke_timeout(struct asb *s, uint64_t wall)
{
	return MIN(s->inv.deadline_wall > wall ? s->inv.deadline_wall - wall : 0,
		   (uint64_t)s->timeout_ms * SL_NSEC_PER_MSEC);
}

/*
 * Bookkeeping of an invocation that is running, done while the runtime works on the event
 * rather than before it goes: the BPF in-flight flag (two map syscalls) and, once the runtime
 * is ready, unless back to back invocations find the sandbox still busy (BPF has not seen it go
 * quiet), the BUSY event (a frame the control node would read before the result). The agent ignores
 * BPF idle events while an invocation is active, so setting the flag after the event left changes
 * nothing the agent decides.
 */
static void mark_busy(struct asb *s)
{
	set_inflight(s, 1);
	if (s->ready && s->state != SL_SANDBOX_BUSY)
		worker_transition(s, SL_SANDBOX_BUSY, SL_REASON_INVOKE, 0);
}

void worker_invoke(struct agent *a, const struct sl_msg_invoke *iv, uint64_t corr)
{
	uint64_t now = sl_now_ns(), wall = sl_wall_ns(), timeout;
	struct sl_rtapi_event ev;
	struct asb *s;
	int r;

	if (a->draining) {
		refuse_invoke(a, iv, corr, SL_INVOKE_NO_SANDBOX, "Agent.Draining",
			      "the agent is draining");
		return;
	}
	s = pick(a, iv);
	if (!s) {
		refuse_invoke(a, iv, corr, SL_INVOKE_NO_SANDBOX, "Agent.NoSandbox",
			      iv->sandbox_id[0] ? "no such sandbox, or it is busy"
						: "no warm sandbox of this function");
		return;
	}
	snprintf(s->inv.request_id, sizeof(s->inv.request_id), "%s", iv->request_id);
	s->inv.deadline_wall = iv->deadline_ns;
	timeout = invoke_timeout(s, wall);
	ev = (struct sl_rtapi_event){
		.request_id = s->inv.request_id,
		.deadline_ms = (wall + timeout) / SL_NSEC_PER_MSEC,
		.arn = iv->function_arn,
		.trace_id = iv->trace_id,
		.client_context = iv->client_context[0] ? iv->client_context : NULL,
		.payload = iv->payload,
		.len = iv->payload_len,
	};
	/* What the result needs is in place before the event goes: a quick function may answer
	 * before deliver() returns. Thawed first, so that the runtime wakes as the event
	 * arrives. */
	worker_set_frozen(s, false);
	s->inv.active = true;
	s->inv.corr = corr;
	s->inv.start_mono = now;
	s->inv.log_tail = iv->log_tail;
	sl_logtail_reset(&s->log);
	/* a cold start's clock starts at the runtime's first next (init has its own limit) */
	if (s->ready)
		sl_loop_add_timer(a->loop, now + timeout, on_deadline, s, &s->inv.deadline);
	s->last_active_wall = sl_wall_ns();
	r = s->ready ? deliver(s, &ev) : keep_pending(s, &ev);
	if (r == 0 && s->inv.active)
		mark_busy(s);
	if (r < 0) {
		char body[256];
		size_t n = invoke_error_json(body, sizeof(body), "Agent.InvokeFailed", "%s",
					     strerror(-r));

		invoke_finish(s, SL_INVOKE_INTERNAL, "Unhandled", body, n);
		if (s->pe.state == SL_POOL_IN_USE)
			invoke_done(s);
	}
}

/*
 * Hands the event that waited for the cold start to the runtime, from inside its first next
 * (the server answers that very request with it), with the deadline counted from now.
 * Returns false when the event could not go (the invocation is answered with an error).
 */
bool invoke_start_pending(struct asb *s)
{
	struct pending_event *p = TAKE_PTR(s->pending);
	uint64_t wall = sl_wall_ns(), now = sl_now_ns(), timeout = invoke_timeout(s, wall);
	char body[256];
	size_t n;
	int r;

	if (!p)
		return true;
	p->ev.deadline_ms = (wall + timeout) / SL_NSEC_PER_MSEC;
	r = sl_rtapi_invoke_event(s->api, &p->ev);
	free(p);
	if (r == 0) {
		s->inv.start_mono = now;
		sl_loop_add_timer(s->a->loop, now + timeout, on_deadline, s, &s->inv.deadline);
		return true;
	}
	n = invoke_error_json(body, sizeof(body), "Agent.InvokeFailed", "%s", strerror(-r));
	invoke_finish(s, SL_INVOKE_INTERNAL, "Unhandled", body, n);
	return false;
}
