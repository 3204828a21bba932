// SPDX-License-Identifier: Apache-2.0
/* nanomsg endpoints that seal and verify every frame (see <sandlot/link.h>). */
#include <sandlot/link.h>
#include <sandlot/replay.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <string.h>
#include <sys/random.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/tcp.h>

struct sl_link {
	uint64_t self_id, nonce, seq;
	struct sl_key *key;
	struct sl_replay *replay;
	int pull;  /* receiving socket, -1 until sl_link_listen() */
	int *push; /* sending socket per peer handle, -1 when free */
	uint32_t max_peers;
	int reconnect_ms, reconnect_max_ms;
	uint64_t last_log_ns; /* when a drop was last reported for logging */
	uint64_t suppressed;
	struct sl_link_stats stats;
};

static const char *const drop_names[_SL_LINK_DROP_MAX] = {
	[SL_LINK_DROP_MALFORMED] = "malformed",
	[SL_LINK_DROP_VERSION] = "version",
	[SL_LINK_DROP_TYPE] = "type",
	[SL_LINK_DROP_MAC] = "mac",
	[SL_LINK_DROP_DST] = "dst",
	[SL_LINK_DROP_REPLAY] = "replay",
	[SL_LINK_DROP_STALE] = "stale",
	[SL_LINK_DROP_SENDERS] = "senders",
};

const char *sl_link_drop_name(unsigned reason)
{
	return reason < _SL_LINK_DROP_MAX ? drop_names[reason] : "?";
}

static int random_nonce(uint64_t *ret)
{
	uint64_t v = 0;

	while (v == 0) {
		ssize_t n = getrandom(&v, sizeof(v), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(v))
			return n < 0 ? sl_negerrno() : -EIO;
	}
	*ret = v;
	return 0;
}

int sl_link_new(struct sl_link **ret, const struct sl_link_config *cfg)
{
	struct sl_link *l;
	int r;

	if (!ret || !cfg || cfg->self_id == 0 || !cfg->key)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->pull = -1;
	l->self_id = cfg->self_id;
	l->key = cfg->key;
	l->max_peers = cfg->max_peers ? cfg->max_peers : SL_LINK_PEERS_DEFAULT;
	l->reconnect_ms = (int)MIN(cfg->reconnect_ms ? cfg->reconnect_ms : 100, 3600000u);
	l->reconnect_max_ms =
		(int)MIN(cfg->reconnect_max_ms ? cfg->reconnect_max_ms : 5000, 3600000u);
	l->push = malloc(l->max_peers * sizeof(*l->push));
	r = l->push ? random_nonce(&l->nonce) : -ENOMEM;
	if (r == 0)
		r = sl_replay_new(&l->replay,
				  cfg->max_senders ? cfg->max_senders : SL_LINK_SENDERS_DEFAULT,
				  cfg->window_ns ? cfg->window_ns : SL_LINK_WINDOW_DEFAULT_NS);
	if (r < 0) {
		sl_link_free(&l);
		return r;
	}
	for (uint32_t i = 0; i < l->max_peers; i++)
		l->push[i] = -1;
	*ret = l;
	return 0;
}

void sl_link_free(struct sl_link **lp)
{
	struct sl_link *l = lp ? *lp : NULL;

	if (!l)
		return;
	if (l->pull >= 0)
		nn_close(l->pull);
	for (uint32_t i = 0; l->push && i < l->max_peers; i++)
		if (l->push[i] >= 0)
			nn_close(l->push[i]);
	free(l->push);
	sl_replay_free(&l->replay);
	free(l);
	*lp = NULL;
}

uint64_t sl_link_nonce(const struct sl_link *l)
{
	return l->nonce;
}

static bool valid_url(const char *url)
{
	return url && strlen(url) <= SL_MSG_TEXT_MAX &&
	       (strncmp(url, "tcp://", 6) == 0 || strncmp(url, "ipc://", 6) == 0 ||
		strncmp(url, "inproc://", 9) == 0);
}

static int set_int(int s, int level, int opt, int v)
{
	return nn_setsockopt(s, level, opt, &v, sizeof(v)) < 0 ? -nn_errno() : 0;
}

static int get_fd(int s, int opt)
{
	int fd = -1;
	size_t sz = sizeof(fd);

	if (s < 0)
		return -ENOTCONN;
	if (nn_getsockopt(s, NN_SOL_SOCKET, opt, &fd, &sz) < 0)
		return -nn_errno();
	return fd;
}

int sl_link_listen(struct sl_link *l, const char *url)
{
	int r;

	if (!l || !valid_url(url))
		return -EINVAL;
	if (l->pull < 0) {
		int s = nn_socket(AF_SP, NN_PULL);

		if (s < 0)
			return -nn_errno();
		r = set_int(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, (int)SL_PROTO_MAX_FRAME);
		if (r == 0)
			r = set_int(s, NN_SOL_SOCKET, NN_IPV4ONLY, 0);
		if (r == 0)
			r = set_int(s, NN_TCP, NN_TCP_NODELAY, 1);
		if (r < 0) {
			nn_close(s);
			return r;
		}
		l->pull = s;
	}
	if (nn_bind(l->pull, url) < 0)
		return -nn_errno();
	return 0;
}

int sl_link_recv_fd(const struct sl_link *l)
{
	return get_fd(l->pull, NN_RCVFD);
}

static int open_push(const struct sl_link *l, const char *url)
{
	int s = nn_socket(AF_SP, NN_PUSH), r;

	if (s < 0)
		return -nn_errno();
	r = set_int(s, NN_SOL_SOCKET, NN_RECONNECT_IVL, l->reconnect_ms);
	if (r == 0)
		r = set_int(s, NN_SOL_SOCKET, NN_RECONNECT_IVL_MAX, l->reconnect_max_ms);
	if (r == 0)
		r = set_int(s, NN_TCP, NN_TCP_NODELAY, 1);
	/* nanomsg 1.1.5 aborts (usock_posix.inc:195) connecting to an IPv4 address with
	 * NN_IPV4ONLY off, so only IPv6 literals get it. */
	if (r == 0 && strchr(url, '['))
		r = set_int(s, NN_SOL_SOCKET, NN_IPV4ONLY, 0);
	if (r == 0 && nn_connect(s, url) < 0)
		r = -nn_errno();
	if (r < 0) {
		nn_close(s);
		return r;
	}
	return s;
}

int sl_link_connect(struct sl_link *l, const char *url)
{
	uint32_t i;
	int s;

	if (!l || !valid_url(url))
		return -EINVAL;
	for (i = 0; i < l->max_peers && l->push[i] >= 0; i++)
		;
	if (i == l->max_peers)
		return -ENOSPC;
	s = open_push(l, url);
	if (s < 0)
		return s;
	l->push[i] = s;
	return (int)i;
}

static int peer_sock(const struct sl_link *l, int peer)
{
	if (!l || peer < 0 || (uint32_t)peer >= l->max_peers || l->push[peer] < 0)
		return -EBADF;
	return l->push[peer];
}

int sl_link_disconnect(struct sl_link *l, int peer)
{
	int s = peer_sock(l, peer);

	if (s < 0)
		return s;
	nn_close(s);
	l->push[peer] = -1;
	return 0;
}

int sl_link_send_fd(const struct sl_link *l, int peer)
{
	int s = peer_sock(l, peer);

	return s < 0 ? s : get_fd(s, NN_SNDFD);
}

long sl_link_seal(struct sl_link *l, struct sl_msg *m, void *buf, size_t len, const char **why)
{
	long n;
	int r;

	if (!l || !m)
		return -EINVAL;
	m->src_id = l->self_id;
	m->nonce = l->nonce;
	m->seq = ++l->seq;
	m->ts_ns = sl_wall_ns();
	n = sl_proto_encode(m, buf, len, why);
	if (n < 0)
		return n;
	r = sl_auth_seal(l->key, buf, (size_t)n);
	if (r < 0) {
		if (why)
			*why = "HMAC failed";
		return r;
	}
	return n;
}

/* Hands a nanomsg-allocated frame to the socket; frees it unless nanomsg took it. */
static int send_frame(struct sl_link *l, int s, void *frame)
{
	if (nn_send(s, &frame, NN_MSG, NN_DONTWAIT) < 0) {
		int r = -nn_errno();

		nn_freemsg(frame);
		if (r == -EAGAIN)
			l->stats.send_again++;
		return r;
	}
	l->stats.sent++;
	return 0;
}

int sl_link_send(struct sl_link *l, int peer, struct sl_msg *m)
{
	int s = peer_sock(l, peer);
	void *frame;
	long n;

	if (s < 0)
		return s;
	/* Stamp first so that the size is that of the final frame. */
	m->src_id = l->self_id;
	m->nonce = l->nonce;
	m->seq = l->seq + 1;
	m->ts_ns = 1;
	n = sl_proto_size(m);
	if (n < 0)
		return (int)n;
	frame = nn_allocmsg((size_t)n, 0);
	if (!frame)
		return -ENOMEM;
	n = sl_link_seal(l, m, frame, (size_t)n, NULL);
	if (n < 0) {
		nn_freemsg(frame);
		return (int)n;
	}
	return send_frame(l, s, frame);
}

int sl_link_send_raw(struct sl_link *l, int peer, const void *frame, size_t len)
{
	int s = peer_sock(l, peer);
	void *copy;

	if (s < 0)
		return s;
	if (!frame || len == 0 || len > SL_PROTO_MAX_FRAME)
		return -EINVAL;
	copy = nn_allocmsg(len, 0);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, frame, len);
	return send_frame(l, s, copy);
}

static enum sl_link_drop drop_reason(int r)
{
	switch (r) {
	case -EPROTONOSUPPORT:
		return SL_LINK_DROP_VERSION;
	case -ENOMSG:
		return SL_LINK_DROP_TYPE;
	case -EKEYREJECTED:
		return SL_LINK_DROP_MAC;
	case -EADDRNOTAVAIL:
		return SL_LINK_DROP_DST;
	case -EALREADY:
		return SL_LINK_DROP_REPLAY;
	case -ETIME:
		return SL_LINK_DROP_STALE;
	case -ENOSPC:
		return SL_LINK_DROP_SENDERS;
	default:
		return SL_LINK_DROP_MALFORMED;
	}
}

/* Counts a drop and decides, at most once per SL_LINK_LOG_INTERVAL_NS, that it gets logged. */
static int drop(struct sl_link *l, struct sl_link_rx *rx, int r, const char *why)
{
	uint64_t now = sl_now_ns();

	l->stats.dropped[drop_reason(r)]++;
	rx->why = why ? why : "rejected";
	rx->log = l->last_log_ns == 0 || now - l->last_log_ns >= SL_LINK_LOG_INTERVAL_NS;
	rx->suppressed = 0;
	if (rx->log) {
		rx->suppressed = l->suppressed;
		l->suppressed = 0;
		l->last_log_ns = now ? now : 1;
	} else {
		l->suppressed++;
	}
	return r;
}

/* MAC first (nothing of an unauthenticated frame is trusted), then body, receiver, replay. */
static int verify(struct sl_link *l, const void *frame, size_t len, struct sl_link_rx *rx,
		  const char **why)
{
	struct sl_msg_hdr h;
	int r;

	r = sl_proto_peek(frame, len, &h, why);
	if (r < 0)
		return r;
	r = sl_auth_verify(l->key, frame, len);
	if (r < 0) {
		*why = r == -EKEYREJECTED ? "MAC mismatch (wrong key or tampered)" : "HMAC failed";
		return r;
	}
	r = sl_proto_decode(frame, len, &rx->msg, why);
	if (r < 0)
		return r;
	if (rx->msg.dst_id != l->self_id &&
	    !(rx->msg.dst_id == 0 && rx->msg.type == SL_MSG_REGISTER)) {
		*why = "addressed to another receiver";
		return -EADDRNOTAVAIL;
	}
	r = sl_replay_accept(l->replay, h.src_id, h.nonce, h.seq, h.ts_ns, sl_wall_ns());
	if (r < 0)
		*why = r == -EALREADY ? "replayed or too old sequence number"
		       : r == -ETIME  ? "timestamp outside the window"
		       : r == -ENOSPC ? "too many senders"
				      : "bad sender fields";
	return r;
}

int sl_link_recv(struct sl_link *l, struct sl_link_rx *rx)
{
	const char *why = NULL;
	void *frame = NULL;
	int n, r;

	if (!l || !rx)
		return -EINVAL;
	*rx = (struct sl_link_rx){0};
	if (l->pull < 0)
		return -ENOTCONN;
	n = nn_recv(l->pull, &frame, NN_MSG, NN_DONTWAIT);
	if (n < 0)
		return -nn_errno();
	r = verify(l, frame, (size_t)n, rx, &why);
	if (r < 0) {
		nn_freemsg(frame);
		rx->msg = (struct sl_msg){0};
		return drop(l, rx, r, why);
	}
	rx->new_session = r == 1;
	rx->frame_ = frame;
	l->stats.received++;
	l->stats.new_sessions += rx->new_session;
	return 0;
}

void sl_link_rx_done(struct sl_link_rx *rx)
{
	if (!rx || !rx->frame_)
		return;
	nn_freemsg(rx->frame_);
	rx->frame_ = NULL;
}

void sl_link_stats(const struct sl_link *l, struct sl_link_stats *ret)
{
	*ret = l->stats;
}
