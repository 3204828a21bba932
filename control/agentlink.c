// SPDX-License-Identifier: Apache-2.0
/*
 * The agent link: the control node's only wire user. Receives every agent's frames on one
 * NN_PULL socket (verified by sl_link: MAC, bounds, receiver, replay), dispatches them to the
 * workers (REGISTER, HEARTBEAT, FULL_STATE, SANDBOX_EVENT) and to the invocation path
 * (INVOKE_RESULT), serves CODE_FETCH from the store; seals what goes to agents and queues it
 * per host while that host's socket cannot take it (not connected yet, back-pressure).
 */
#include "control.h"

#include <sandlot/log.h>
#include <sandlot/time.h>

#include <string.h>
#include <sys/epoll.h>

static void flush(struct ctl *c, struct host *h);

static void on_send_ready(struct sl_loop *loop, int fd, uint32_t events, void *data)
{
	struct host *h = data;

	flush(h->ctl, h);
}

static void watch_send(struct ctl *c, struct host *h, bool on)
{
	int fd = sl_link_send_fd(c->link, h->peer);

	if (fd < 0 || on == h->send_watched)
		return;
	if (on)
		h->send_watched = sl_loop_add_io(c->loop, fd, EPOLLIN, on_send_ready, h) == 0;
	else if (sl_loop_del_io(c->loop, fd) == 0)
		h->send_watched = false;
}

static void flush(struct ctl *c, struct host *h)
{
	while (h->sendq) {
		struct frame *f = h->sendq;
		int r = sl_link_send_raw(c->link, h->peer, f->data, f->len);

		if (r == -EAGAIN)
			break;
		if (r < 0)
			sl_log_warn_err(r, "agent %s: send", h->name);
		h->sendq = f->next;
		if (!h->sendq)
			h->sendq_tail = &h->sendq;
		h->sendq_len--;
		free(f);
	}
	watch_send(c, h, h->sendq != NULL);
}

static void drop_queue(struct ctl *c, struct host *h)
{
	watch_send(c, h, false);
	while (h->sendq) {
		struct frame *f = h->sendq;

		h->sendq = f->next;
		free(f);
	}
	h->sendq_tail = &h->sendq;
	h->sendq_len = 0;
}

int64_t agentlink_send(struct ctl *c, struct host *h, struct sl_msg *m)
{
	const char *why = NULL;
	struct frame *f;
	long size;
	int r;

	if (h->peer < 0)
		return -ENOTCONN;
	if (!m->corr_id)
		m->corr_id = ++c->next_corr;
	m->dst_id = h->id;
	/* placeholders so that the size check passes; sl_link_seal() stamps the real ones */
	m->src_id = c->self_id;
	m->nonce = sl_link_nonce(c->link);
	m->seq = 1;
	size = sl_proto_size(m);
	if (size < 0)
		return size;
	f = malloc(sizeof(*f) + (size_t)size);
	if (!f)
		return -ENOMEM;
	size = sl_link_seal(c->link, m, f->data, (size_t)size, &why);
	if (size < 0) {
		free(f);
		return sl_log_warn_err((int)size, "seal %s: %s", sl_proto_type_name(m->type),
				       why ? why : "?");
	}
	f->len = (size_t)size;
	if (!h->sendq) {
		r = sl_link_send_raw(c->link, h->peer, f->data, f->len);
		if (r != -EAGAIN) {
			free(f);
			return r < 0 ? r : (int64_t)m->corr_id;
		}
	}
	if (h->sendq_len >= CTL_SENDQ_MAX) {
		free(f);
		return -ENOBUFS;
	}
	f->next = NULL;
	*h->sendq_tail = f;
	h->sendq_tail = &f->next;
	h->sendq_len++;
	watch_send(c, h, true);
	return (int64_t)m->corr_id;
}

int agentlink_connect(struct ctl *c, struct host *h, const char *endpoint)
{
	if (h->peer >= 0 && strcmp(h->endpoint, endpoint) == 0)
		return 0;
	agentlink_disconnect(c, h);
	snprintf(h->endpoint, sizeof(h->endpoint), "%s", endpoint);
	h->peer = sl_link_connect(c->link, endpoint);
	return h->peer < 0 ? h->peer : 0;
}

void agentlink_disconnect(struct ctl *c, struct host *h)
{
	drop_queue(c, h);
	if (h->peer >= 0)
		sl_link_disconnect(c->link, h->peer);
	h->peer = -1;
}

static void reply_error(struct ctl *c, struct host *h, const struct sl_msg *req, uint32_t code,
			const char *msg)
{
	struct sl_msg e = {.type = SL_MSG_ERROR,
			   .flags = SL_MSG_F_REPLY,
			   .corr_id = req->corr_id ? req->corr_id : 1,
			   .error = {.code = code, .ref_type = req->type, .message = msg}};

	agentlink_send(c, h, &e);
}

static void on_code_fetch(struct ctl *c, struct host *h, const struct sl_msg *m)
{
	const struct sl_msg_code_fetch *f = &m->fetch;
	struct sl_msg r = {
		.type = SL_MSG_CODE_CHUNK, .flags = SL_MSG_F_REPLY, .corr_id = m->corr_id};
	_cleanup_free_ void *buf = malloc(f->length);
	uint64_t total = 0;
	int n;

	if (!buf) {
		reply_error(c, h, m, SL_ERR_INTERNAL, "out of memory");
		return;
	}
	n = c->store->ops->code_read(c->store, f->sha256, f->offset, buf, f->length, &total);
	if (n <= 0) {
		reply_error(c, h, m, SL_ERR_NOT_FOUND, "no such code package or offset");
		return;
	}
	memcpy(r.chunk.sha256, f->sha256, 32);
	r.chunk.total_size = total;
	r.chunk.offset = f->offset;
	r.chunk.data = buf;
	r.chunk.data_len = (uint32_t)n;
	agentlink_send(c, h, &r);
}

static void on_error_msg(struct ctl *c, struct host *h, const struct sl_msg *m)
{
	if (m->error.ref_type == SL_MSG_CREATE_SANDBOX)
		c->stats.create_errors++;
	sl_warn("agent %s: error %u answering %s %llu: %s", h->name, m->error.code,
		sl_proto_type_name(m->error.ref_type), (unsigned long long)m->corr_id,
		m->error.message);
}

/* A message from a registered host. */
static void dispatch(struct ctl *c, struct host *h, const struct sl_msg *m)
{
	h->last_seen_ns = sl_now_ns();
	switch (m->type) {
	case SL_MSG_SANDBOX_EVENT:
		workers_on_event(c, h, m);
		break;
	case SL_MSG_FULL_STATE:
		workers_on_full_state(c, h, m);
		break;
	case SL_MSG_INVOKE_RESULT:
		invoke_on_result(c, h, m);
		break;
	case SL_MSG_CODE_FETCH:
		on_code_fetch(c, h, m);
		break;
	case SL_MSG_ERROR:
		on_error_msg(c, h, m);
		break;
	default:
		sl_debug("agent %s: unexpected %s", h->name, sl_proto_type_name(m->type));
		break;
	}
}

static void handle(struct ctl *c, const struct sl_msg *m)
{
	struct host *h;

	if (m->type == SL_MSG_REGISTER) {
		workers_on_register(c, m);
	} else if (m->type == SL_MSG_HEARTBEAT) {
		workers_on_heartbeat(c, m);
	} else if ((h = workers_find(c, m->src_id))) {
		dispatch(c, h, m);
	} else {
		sl_debug("link: %s from unregistered %016llx dropped", sl_proto_type_name(m->type),
			 (unsigned long long)m->src_id);
	}
}

static void on_recv(struct sl_loop *loop, int fd, uint32_t events, void *data)
{
	struct ctl *c = data;
	struct sl_link_rx rx;
	int r;

	for (unsigned n = 0; n < 256; n++) { /* bounded: the loop's other fds get their turn */
		r = sl_link_recv(c->link, &rx);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			if (rx.log)
				sl_warn("link: frame dropped: %s (%llu more not logged)",
					rx.why ? rx.why : "?", (unsigned long long)rx.suppressed);
			continue;
		}
		handle(c, &rx.msg);
		sl_link_rx_done(&rx);
	}
}

int agentlink_open(struct ctl *c)
{
	struct sl_link_config lc = {.self_id = c->self_id, .key = c->key};
	const char *why = NULL;
	int r = sl_key_load(&c->key, c->cfg.key_file, &why);

	if (r < 0)
		return sl_log_err(r, "key file %s: %s", c->cfg.key_file, why ? why : "unreadable");
	lc.key = c->key;
	r = sl_link_new(&c->link, &lc);
	if (r < 0)
		return sl_log_err(r, "link");
	r = sl_link_listen(c->link, c->cfg.listen);
	if (r < 0)
		return sl_log_err(r, "listen on %s", c->cfg.listen);
	r = sl_loop_add_io(c->loop, sl_link_recv_fd(c->link), EPOLLIN, on_recv, c);
	if (r < 0)
		return sl_log_err(r, "link: loop");
	return 0;
}

void agentlink_close(struct ctl *c)
{
	if (c->link) {
		sl_loop_del_io(c->loop, sl_link_recv_fd(c->link));
		for (struct host *h = c->hosts; h; h = h->next)
			agentlink_disconnect(c, h);
	}
	sl_link_free(&c->link);
	sl_key_free(&c->key);
}
