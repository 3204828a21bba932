// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's link to the control node: registration (again after either side restarts),
 * heartbeats, full-state reports, commands in, events and results out. Frames the control
 * node's socket cannot take yet (not connected, back-pressure) wait in a bounded queue.
 */
#include "daemon/agent.h"

#include <sandlot/log.h>
#include <sandlot/time.h>

#include <stdarg.h>
#include <string.h>
#include <sys/epoll.h>

#define REGISTER_RETRY_MIN_NS \
	(25 * SL_NSEC_PER_MSEC) /* the first try often finds no connection yet */
#define REGISTER_RETRY_MAX_NS (5 * SL_NSEC_PER_SEC)

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
	long n = sl_proto_size(m);
	struct outq_item *it;

	if (n < 0)
		return (int)n;
	if (a->outq_len >= SL_AGENT_OUTQ_MAX || a->outq_bytes + (uint64_t)n > SL_AGENT_OUTQ_BYTES) {
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

int control_send(struct agent *a, struct sl_msg *m)
{
	int r;

	m->dst_id = a->control_id;
	if (!a->outq) {
		r = sl_link_send(a->link, a->peer, m);
		if (r != -EAGAIN)
			return r;
	}
	r = enqueue(a, m);
	if (r < 0)
		sl_log_warn_err(r, "control: cannot queue a %s message",
				sl_proto_type_name(m->type));
	return r;
}

void control_error(struct agent *a, uint64_t corr, uint16_t ref_type, uint32_t code,
		   const char *fmt, ...)
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

void control_sandbox_event(struct agent *a, struct asb *s, uint64_t corr)
{
	struct sl_msg m = {.type = SL_MSG_SANDBOX_EVENT, .corr_id = corr};

	if (corr)
		m.flags = SL_MSG_F_REPLY;
	worker_fill_msg(s, &m.event);
	control_send(a, &m);
}

/* ---- registration, heartbeats, full state ---- */

static void send_full_state(struct agent *a)
{
	struct sl_msg *m = calloc(1, sizeof(*m));
	struct asb *s = a->sandboxes;
	uint32_t total = a->n_sandboxes, off = 0;

	if (!m)
		return;
	do {
		memset(m, 0, sizeof(*m));
		m->type = SL_MSG_FULL_STATE;
		m->state.total = total;
		m->state.offset = off;
		for (; s && m->state.count < SL_MSG_STATE_CHUNK; s = s->next)
			worker_fill_msg(s, &m->state.sandboxes[m->state.count++]);
		off += m->state.count;
		control_send(a, m);
	} while (s);
	free(m);
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
	static uint64_t backoff = REGISTER_RETRY_MIN_NS;
	struct sl_msg m = {.type = SL_MSG_REGISTER};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int r;

	if (a->registered)
		backoff = REGISTER_RETRY_MIN_NS;
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
	warn_unregistered(a, r, backoff);
	sl_loop_cancel_timer(a->loop, &a->register_timer);
	sl_loop_add_timer(a->loop, sl_now_ns() + backoff, on_register_timer, a, &a->register_timer);
	backoff = MIN(backoff * 2, REGISTER_RETRY_MAX_NS);
}

/*
 * CPU used by sandboxes since the last beat, in thousandths of a CPU. Per sandbox deltas, so
 * that a sandbox destroyed in between does not make the sum go backwards.
 */
static uint32_t cpu_millis(struct agent *a)
{
	uint64_t now = sl_now_ns(), usec = 0, elapsed_us;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct sl_cgroup_stats st;

	for (struct asb *s = a->sandboxes; s; s = s->next) {
		if (!s->sb || sl_sandbox_stats(s->sb, &st) < 0)
			continue;
		usec += st.cpu_usec >= s->hb_cpu_usec ? st.cpu_usec - s->hb_cpu_usec : 0;
		s->hb_cpu_usec = st.cpu_usec;
		s->memory_peak = MAX(s->memory_peak, st.memory_peak_bytes);
	}
	elapsed_us = a->last_cpu_mono && now > a->last_cpu_mono
			     ? (now - a->last_cpu_mono) / SL_NSEC_PER_USEC
			     : 0;
	a->last_cpu_mono = now;
	if (elapsed_us == 0)
		return 0;
	return (uint32_t)MIN(usec * 1000 / elapsed_us, (uint64_t)MAX(ncpu, 1) * 1000);
}

static void on_heartbeat(struct sl_loop *loop, void *data)
{
	struct agent *a = data;
	struct sl_msg m = {.type = SL_MSG_HEARTBEAT};
	uint32_t created, busy, idle, frozen, inflight;
	uint64_t mem;

	a->heartbeat_timer = NULL;
	if (!a->registered)
		return;
	worker_counts(a, &created, &busy, &idle, &frozen, &mem, &inflight);
	m.heartbeat = (struct sl_msg_heartbeat){
		.endpoint = a->cfg.advertise,
		.cpu_millis = cpu_millis(a),
		.inflight = inflight,
		.memory_used = mem,
		.created = created,
		.busy = busy,
		.idle = idle,
		.frozen = frozen,
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
		worker_create(a, m);
		break;
	case SL_MSG_INVOKE:
		worker_invoke(a, m);
		break;
	case SL_MSG_DESTROY:
		worker_destroy_cmd(a, m);
		break;
	case SL_MSG_DRAIN:
		worker_drain(a, m->drain.deadline_ms);
		break;
	case SL_MSG_CODE_CHUNK:
		codefetch_chunk(a, m);
		break;
	case SL_MSG_ERROR:
		if (m->error.code == SL_ERR_NOT_REGISTERED) {
			sl_warn_kv("control node does not know us: registering again", "control=%s",
				   a->cfg.control);
			send_register(a);
		} else if (m->error.ref_type == SL_MSG_CODE_FETCH) {
			codefetch_error(a, m);
		} else {
			sl_warn_kv("control node error", "code=%u on=%s error=%s", m->error.code,
				   sl_proto_type_name(m->error.ref_type), m->error.message);
		}
		break;
	default:
		control_error(a, m->corr_id, m->type, SL_ERR_UNSUPPORTED,
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
	struct sl_link_config lc = {0};
	int r, fd;

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

void control_close(struct agent *a)
{
	int fd;

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
