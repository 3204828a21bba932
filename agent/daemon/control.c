// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's link to the control node: registration (again after either side restarts),
 * heartbeats, full-state reports, commands in, events and results out. Frames the control
 * node's socket cannot take yet (not connected, back-pressure) wait in a bounded queue.
 */
#include "daemon/control.h"

#include "daemon/agent.h"
#include "daemon/codefetch.h"
#include "daemon/worker.h"

#include <sandlot/log.h>
#include <sandlot/time.h>

#include <stdarg.h>
#include <string.h>
#include <sys/epoll.h>

#define REGISTER_RETRY_MIN_NS \
	(25 * SL_NSEC_PER_MSEC) /* the first try often finds no connection yet */
#define REGISTER_RETRY_MAX_NS (5 * SL_NSEC_PER_SEC)
#define OUTQ_MAX	      256 /* frames waiting for the control node */
#define OUTQ_BYTES	      (64ULL << 20)
#define OUTQ_WARN_INTERVAL_NS (10 * SL_NSEC_PER_SEC) /* at most one "cannot queue" line */
#define FLUSH_TIMEOUT_NS      (2 * SL_NSEC_PER_SEC)
#define LINGER_NS	      (100 * SL_NSEC_PER_MSEC)

/* Outbound frames waiting for the control node's socket to take them. */
struct outq_item {
	struct outq_item *next;
	size_t len;
	unsigned char frame[];
};

static void send_register(struct agent *a);

static uint64_t name_id(const char *name)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a: a stable id for a stable name */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return h ? h : 1;
}

/* ---- sending ---- */

static void flush_queue(struct agent *a);

static void on_send_ready(struct sl_loop *loop, int fd, uint32_t events, void *data)
{
	flush_queue(data);
}

static void watch_send(struct agent *a, bool on)
{
	int fd = sl_link_send_fd(a->link, a->peer);

	if (fd < 0 || on == a->send_watched)
		return;
	if (on)
		sl_loop_add_io(a->loop, fd, EPOLLIN, on_send_ready, a);
	else
		sl_loop_del_io(a->loop, fd);
	a->send_watched = on;
}

static void flush_queue(struct agent *a)
{
	while (a->outq) {
		struct outq_item *it = a->outq;
		int r = sl_link_send_raw(a->link, a->peer, it->frame, it->len);

		if (r == -EAGAIN)
			break;
		if (r < 0)
			sl_log_warn_err(r, "control: dropping a queued %zu-byte frame", it->len);
		a->outq = it->next;
		if (!a->outq)
			a->outq_tail = NULL;
		a->outq_len--;
		a->outq_bytes -= it->len;
		free(it);
	}
	watch_send(a, a->outq != NULL);
}

static int enqueue(struct agent *a, struct sl_msg *m)
{
	struct outq_item *it;
	long n;

	/* stamped as sl_link_seal() will (seq and time are placeholders of the same size): a
	 * message that never went through sl_link_send() has no sender yet, which the protocol
	 * refuses (-EINVAL) */
	m->src_id = a->self_id;
	m->nonce = sl_link_nonce(a->link);
	m->seq = 1;
	m->ts_ns = 1;
	n = sl_proto_size(m);
	if (n < 0)
		return (int)n;
	if (a->outq_len >= OUTQ_MAX || a->outq_bytes + (uint64_t)n > OUTQ_BYTES) {
		a->stats.dropped_frames++;
		return -ENOBUFS;
	}
	it = malloc(sizeof(*it) + (size_t)n);
	if (!it)
		return -ENOMEM;
	n = sl_link_seal(a->link, m, it->frame, (size_t)n, NULL);
	if (n < 0) {
		free(it);
		return (int)n;
	}
	it->len = (size_t)n;
	it->next = NULL;
	if (a->outq_tail)
		a->outq_tail->next = it;
	else
		a->outq = it;
	a->outq_tail = it;
	a->outq_len++;
	a->outq_bytes += it->len;
	watch_send(a, true);
	return 0;
}

/*
 * Sends m to the control node (queued while it cannot take it). Returns 0 or -errno. Before
 * the first registration there is no control node to address: nothing it would need is lost,
 * as the FULL_STATE sent after registering reports every sandbox.
 */
static int control_send(struct agent *a, struct sl_msg *m)
{
	uint32_t held;
	int r;

	if (!a->control_id) {
		sl_debug("control: not registered yet, not sending a %s message",
			 sl_proto_type_name(m->type));
		return -ENOTCONN;
	}
	m->dst_id = a->control_id;
	if (!a->outq) {
		r = sl_link_send(a->link, a->peer, m);
		if (r != -EAGAIN)
			return r;
	}
	r = enqueue(a, m);
	if (r < 0 &&
	    sl_log_limit_pass(&a->outq_limit, sl_now_ns(), OUTQ_WARN_INTERVAL_NS, 1, &held))
		sl_log_warn_err(r,
				"control: cannot queue a %s message (%u frames, %llu bytes "
				"waiting; %u earlier ones not logged)",
				sl_proto_type_name(m->type), a->outq_len,
				(unsigned long long)a->outq_bytes, held);
	return r;
}

static void _printf_(5, 6) send_error(struct agent *a, uint64_t corr, uint16_t ref_type,
				      uint32_t code, const char *fmt, ...)
{
	struct sl_msg m = {.type = SL_MSG_ERROR, .flags = SL_MSG_F_REPLY, .corr_id = corr};
	char text[SL_MSG_ERRMSG_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* keep it printable: the protocol refuses control characters */
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	m.error = (struct sl_msg_error){.code = code, .ref_type = ref_type, .message = text};
	control_send(a, &m);
}

/*
 * The wire's code for a command's -errno: the one place the daemon makes that choice. Code
 * packages and environments the agent cannot use are the function's fault (CODE_INVALID).
 */
static uint32_t error_code(uint16_t type, int r)
{
	switch (r) {
	case -ESHUTDOWN:
		return SL_ERR_DRAINING;
	case -EEXIST:
		return SL_ERR_BAD_REQUEST;
	case -ENOSPC:
		return SL_ERR_NO_CAPACITY;
	case -ENOENT:
		return type == SL_MSG_DESTROY ? SL_ERR_NOT_FOUND : SL_ERR_INTERNAL;
	case -EBADMSG:
	case -EPERM:
	case -EFBIG:
	case -E2BIG:
	case -EINVAL:
		return SL_ERR_CODE_INVALID;
	default:
		return SL_ERR_INTERNAL;
	}
}

/* ---- what the worker reports (its sink) ---- */

static void on_sandbox_event(void *data, const struct sl_msg_sandbox *ev, uint64_t corr)
{
	struct sl_msg m = {.type = SL_MSG_SANDBOX_EVENT, .corr_id = corr};

	if (corr)
		m.flags = SL_MSG_F_REPLY;
	m.event = *ev;
	control_send(data, &m);
}

static void on_invoke_result(void *data, const struct sl_msg_invoke_result *res, uint64_t corr)
{
	struct sl_msg m = {.type = SL_MSG_INVOKE_RESULT, .flags = SL_MSG_F_REPLY, .corr_id = corr};

	m.result = *res;
	control_send(data, &m);
}

static void on_command_error(void *data, uint64_t corr, uint16_t ref_type, int r, const char *why)
{
	send_error(data, corr, ref_type, error_code(ref_type, r), "%s", why);
}

static void on_need_code(void *data, struct asb *s, const uint8_t sha[32], uint64_t size)
{
	struct agent *a = data;

	codefetch_start(a->fetch, s, sha, size);
}

static void on_drop_code(void *data, struct asb *s)
{
	struct agent *a = data;

	codefetch_cancel(a->fetch, s);
}

void control_worker_sink(struct agent *a, struct worker_sink *ret)
{
	*ret = (struct worker_sink){
		.sandbox_event = on_sandbox_event,
		.invoke_result = on_invoke_result,
		.command_error = on_command_error,
		.need_code = on_need_code,
		.drop_code = on_drop_code,
		.data = a,
	};
}

/* ---- code packages: the fetcher's ops ---- */

static int fetch_send(void *data, struct sl_msg *m)
{
	struct agent *a = data;

	m->corr_id = ++a->next_corr;
	return control_send(a, m);
}

static void fetch_done(void *data, void *waiter, int r, const char *why,
		       struct sl_codecache_entry **entry)
{
	worker_code_ready(waiter, r, why, entry);
}

/* ---- registration, heartbeats, full state ---- */

struct full_state {
	struct agent *a;
	struct sl_msg *m;
	uint32_t total, sent;
};

static void full_state_send(struct full_state *fs)
{
	fs->m->type = SL_MSG_FULL_STATE;
	fs->m->state.total = fs->total;
	fs->m->state.offset = fs->sent;
	fs->sent += fs->m->state.count;
	control_send(fs->a, fs->m);
	memset(fs->m, 0, sizeof(*fs->m));
}

static void full_state_add(const struct worker_sandbox *sb, void *data)
{
	struct full_state *fs = data;

	fs->m->state.sandboxes[fs->m->state.count++] = sb->msg;
	if (fs->m->state.count == SL_MSG_STATE_CHUNK)
		full_state_send(fs);
}

/* Every sandbox, in chunks; one empty report when there is none. */
static void send_full_state(struct agent *a)
{
	struct full_state fs = {.a = a, .m = calloc(1, sizeof(*fs.m)), .total = worker_count(a)};

	if (!fs.m)
		return;
	worker_each(a, full_state_add, &fs);
	if (fs.m->state.count || !fs.sent)
		full_state_send(&fs);
	free(fs.m);
}

static void on_register_timer(struct sl_loop *loop, void *data)
{
	struct agent *a = data;

	a->register_timer = NULL;
	send_register(a);
}

/*
 * No answer to our REGISTERs: a warning after the 4th try (about 0.4 s: the first tries often
 * find no connection yet), then at the 8th, 16th, 32nd... (backoff, at most one per 5 s try).
 * r: this try's send result.
 */
static void warn_unregistered(struct agent *a, int r, uint64_t next_ns)
{
	unsigned n = a->register_tries++;

	if (n < 4 || (n & (n - 1)))
		return;
	if (r < 0)
		sl_log_warn_err(r,
				"control node %s: no answer after %u attempt%s; retrying in %.3gs",
				a->cfg.control, n, n == 1 ? "" : "s", sl_ns_to_sec(next_ns));
	else
		sl_warn("control node %s: no answer after %u attempt%s; retrying in %.3gs",
			a->cfg.control, n, n == 1 ? "" : "s", sl_ns_to_sec(next_ns));
}

static void send_register(struct agent *a)
{
	struct sl_msg m = {.type = SL_MSG_REGISTER};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int r;

	if (a->registered || !a->register_backoff)
		a->register_backoff = REGISTER_RETRY_MIN_NS;
	/* control_id stays: results and events of the meantime still reach the (same) node */
	a->registered = false;
	m.reg = (struct sl_msg_register){
		.name = a->cfg.name,
		.zone = a->cfg.zone,
		.version = SANDLOT_VERSION,
		.endpoint = a->cfg.advertise,
		.memory_capacity = a->cfg.memory_capacity,
		.max_sandboxes = a->cfg.max_sandboxes,
		.ncpus = ncpu > 0 ? (uint32_t)ncpu : 1,
	};
	m.corr_id = ++a->next_corr;
	/* REGISTER is not queued: if it cannot go now, the next try will */
	m.dst_id = 0;
	r = a->outq ? -EAGAIN : sl_link_send(a->link, a->peer, &m);
	warn_unregistered(a, r, a->register_backoff);
	sl_loop_cancel_timer(a->loop, &a->register_timer);
	sl_loop_add_timer(a->loop, sl_now_ns() + a->register_backoff, on_register_timer, a,
			  &a->register_timer);
	a->register_backoff = MIN(a->register_backoff * 2, REGISTER_RETRY_MAX_NS);
}

static void on_heartbeat(struct sl_loop *loop, void *data)
{
	struct agent *a = data;
	struct sl_msg m = {.type = SL_MSG_HEARTBEAT};
	struct worker_sample ws;

	a->heartbeat_timer = NULL;
	if (!a->registered)
		return;
	worker_sample(a, &ws);
	m.heartbeat = (struct sl_msg_heartbeat){
		.endpoint = a->cfg.advertise,
		.cpu_millis = ws.cpu_millis,
		.inflight = ws.inflight,
		.memory_used = ws.memory,
		.created = ws.created,
		.busy = ws.busy,
		.idle = ws.idle,
		.frozen = ws.frozen,
	};
	control_send(a, &m);
	sl_loop_add_timer(a->loop, sl_now_ns() + a->heartbeat_ms * SL_NSEC_PER_MSEC, on_heartbeat,
			  a, &a->heartbeat_timer);
}

static void on_register_ack(struct agent *a, const struct sl_msg *m)
{
	if (a->registered)
		return; /* a late duplicate */
	a->registered = true;
	a->control_id = m->src_id;
	a->heartbeat_ms = m->reg_ack.heartbeat_ms;
	sl_loop_cancel_timer(a->loop, &a->register_timer);
	sl_info_kv("registered with the control node",
		   "control=%s control_version=%s heartbeat_ms=%u attempts=%u", a->cfg.control,
		   m->reg_ack.version, a->heartbeat_ms, a->register_tries);
	a->register_tries = 0;
	/* whatever the control node knew of us may be stale: tell it everything */
	send_full_state(a);
	sl_loop_cancel_timer(a->loop, &a->heartbeat_timer);
	on_heartbeat(a->loop, a);
}

/* ---- receiving ---- */

static void create_sandbox(struct agent *a, const struct sl_msg *m)
{
	const char *id = m->create.sandbox_id;
	int r = worker_create(a, &m->create, m->corr_id);

	if (r == -ESHUTDOWN)
		send_error(a, m->corr_id, m->type, error_code(m->type, r), "the agent is draining");
	else if (r == -EEXIST)
		send_error(a, m->corr_id, m->type, error_code(m->type, r), "sandbox %s exists", id);
	else if (r < 0)
		send_error(a, m->corr_id, m->type, error_code(m->type, r), "sandbox %s: %s", id,
			   r == -ENOSPC ? "no capacity on this host" : strerror(-r));
}

static void destroy_sandbox(struct agent *a, const struct sl_msg *m)
{
	int r = worker_destroy_cmd(a, m->destroy.sandbox_id, m->corr_id);

	if (r < 0)
		send_error(a, m->corr_id, m->type, error_code(m->type, r), "no sandbox %s",
			   m->destroy.sandbox_id);
}

static void dispatch(struct agent *a, const struct sl_link_rx *rx)
{
	const struct sl_msg *m = &rx->msg;

	if (m->type == SL_MSG_REGISTER_ACK) {
		on_register_ack(a, m);
		return;
	}
	if (!a->registered || m->src_id != a->control_id) {
		sl_debug("control: ignoring %s from %016llx before registration",
			 sl_proto_type_name(m->type), (unsigned long long)m->src_id);
		return;
	}
	if (rx->new_session) {
		sl_warn_kv("control node restarted: registering again", "control=%s",
			   a->cfg.control);
		send_register(a);
		return;
	}
	a->stats.commands++;
	switch (m->type) {
	case SL_MSG_CREATE_SANDBOX:
		create_sandbox(a, m);
		break;
	case SL_MSG_INVOKE:
		worker_invoke(a, &m->invoke, m->corr_id);
		break;
	case SL_MSG_DESTROY:
		destroy_sandbox(a, m);
		break;
	case SL_MSG_DRAIN:
		worker_drain(a, m->drain.deadline_ms);
		break;
	case SL_MSG_CODE_CHUNK:
		codefetch_chunk(a->fetch, m);
		break;
	case SL_MSG_ERROR:
		if (m->error.code == SL_ERR_NOT_REGISTERED) {
			sl_warn_kv("control node does not know us: registering again", "control=%s",
				   a->cfg.control);
			send_register(a);
		} else if (m->error.ref_type == SL_MSG_CODE_FETCH) {
			codefetch_error(a->fetch, m);
		} else {
			sl_warn_kv("control node error", "code=%u on=%s error=%s", m->error.code,
				   sl_proto_type_name(m->error.ref_type), m->error.message);
		}
		break;
	default:
		send_error(a, m->corr_id, m->type, SL_ERR_UNSUPPORTED,
			   "an agent does not take %s messages", sl_proto_type_name(m->type));
	}
}

static void on_recv(struct sl_loop *loop, int fd, uint32_t events, void *data)
{
	struct agent *a = data;

	for (int i = 0; i < 64; i++) { /* bounded, so other fds get their turn */
		struct sl_link_rx rx = {0};
		int r = sl_link_recv(a->link, &rx);

		if (r == -EAGAIN)
			break;
		if (r < 0) {
			if (rx.log)
				sl_warn("control link: dropped a frame (%s; %llu more not logged)",
					rx.why, (unsigned long long)rx.suppressed);
			continue;
		}
		dispatch(a, &rx);
		sl_link_rx_done(&rx);
	}
}

int control_load_key(struct agent *a)
{
	const char *why = NULL;
	int r = sl_key_load(&a->key, a->cfg.key_file, &why);

	if (r < 0)
		return sl_log_err(r, "cluster key %s: %s", a->cfg.key_file,
				  why ? why : "unreadable");
	return 0;
}

int control_open(struct agent *a)
{
	const struct codefetch_ops fo = {.send = fetch_send, .done = fetch_done, .data = a};
	struct sl_link_config lc = {0};
	int r, fd;

	r = codefetch_new(&a->fetch, a->loop, a->cache, a->cfg.state_dir, &fo);
	if (r < 0)
		return sl_log_err(r, "code fetcher");
	a->self_id = name_id(a->cfg.name);
	lc.self_id = a->self_id;
	lc.key = a->key;
	r = sl_link_new(&a->link, &lc);
	if (r < 0)
		return sl_log_err(r, "control link");
	r = sl_link_listen(a->link, a->cfg.listen);
	if (r < 0)
		return sl_log_err(r, "listen on %s", a->cfg.listen);
	a->peer = sl_link_connect(a->link, a->cfg.control);
	if (a->peer < 0)
		return sl_log_err(a->peer, "connect to %s", a->cfg.control);
	fd = sl_link_recv_fd(a->link);
	r = fd < 0 ? fd : sl_loop_add_io(a->loop, fd, EPOLLIN, on_recv, a);
	if (r < 0)
		return sl_log_err(r, "watch the control link");
	a->heartbeat_ms = 1000;
	send_register(a);
	return 0;
}

/*
 * Gives queued frames (final events) a moment to reach the control node. Frames nanomsg took
 * are not on the wire yet either: its I/O thread writes them, and nn_close() drops what is
 * left (NN_LINGER is not implemented in nanomsg 1.x), so linger a little after the queue is
 * empty.
 */
void control_flush(struct agent *a)
{
	uint64_t until = sl_now_ns() + FLUSH_TIMEOUT_NS, linger;

	while (a->outq && sl_now_ns() < until)
		sl_loop_run_once(a->loop, 50 * SL_NSEC_PER_MSEC);
	linger = sl_now_ns() + LINGER_NS;
	while (a->link && sl_now_ns() < linger)
		sl_loop_run_once(a->loop, linger - sl_now_ns());
}

void control_close(struct agent *a)
{
	int fd;

	codefetch_free(&a->fetch);
	if (!a->link) {
		/* the key is loaded before the link opens: a start that stopped early */
		sl_key_free(&a->key);
		return;
	}
	flush_queue(a);
	watch_send(a, false);
	fd = sl_link_recv_fd(a->link);
	if (fd >= 0)
		sl_loop_del_io(a->loop, fd);
	sl_loop_cancel_timer(a->loop, &a->register_timer);
	sl_loop_cancel_timer(a->loop, &a->heartbeat_timer);
	while (a->outq) {
		struct outq_item *it = a->outq;

		a->outq = it->next;
		free(it);
	}
	a->outq_tail = NULL;
	a->outq_len = 0;
	sl_link_free(&a->link);
	sl_key_free(&a->key);
}
