/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The agent <-> control link over nanomsg: the only module that includes nanomsg. It seals
 * every outgoing message (sender id, session nonce, sequence, timestamp, HMAC) and verifies
 * every incoming one (MAC, then body bounds, then receiver id, then replay) before a caller
 * sees it. A frame that fails is dropped and counted, never returned.
 *
 * Sockets: one NN_PULL socket per link for everything it receives (sl_link_listen), and one
 * NN_PUSH socket per peer it sends to (sl_link_connect). Why PUSH/PULL per direction:
 *   - DESIGN's endpoints are one per direction: agents connect to the control node's :7400
 *     and the control node connects to each agent's :7401. A PULL socket fair-queues frames
 *     from any number of PUSH peers behind one fd, so the control node polls one NN_RCVFD
 *     for all agents; the sender is identified by the authenticated header, not the socket.
 *   - PUSH applies back-pressure (EAGAIN) instead of dropping silently as PUB or BUS do, and
 *     does not impose REQ/REP's lock-step, which pipelined invocations cannot live with.
 *   - PAIR would need one listening port per agent on the control node.
 * The connecting side's socket reconnects by itself (NN_RECONNECT_IVL doubling up to
 * NN_RECONNECT_IVL_MAX). Frames in flight when a connection drops are lost: a sender notices
 * a restarted peer by its new session nonce (sl_link_rx.new_session) and reports full state.
 *
 * For an external epoll loop: sl_link_recv_fd() and sl_link_send_fd() are nanomsg's
 * NN_RCVFD/NN_SNDFD; poll them for EPOLLIN only (they signal readiness by readability), then
 * call sl_link_recv() until -EAGAIN, or retry sl_link_send().
 *
 * Not thread-safe: one thread owns a link (and its key).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sandlot/auth.h>
#include <sandlot/proto.h>

#define SL_LINK_WINDOW_DEFAULT_NS (30ull * 1000000000ull) /* accepted clock skew + delay */
#define SL_LINK_SENDERS_DEFAULT	  4096
#define SL_LINK_PEERS_DEFAULT	  4096
#define SL_LINK_LOG_INTERVAL_NS	  (10ull * 1000000000ull) /* at most one drop log per 10 s */

struct sl_link_config {
	uint64_t self_id;	   /* our id, non-zero: src of what we send, dst we accept */
	struct sl_key *key;	   /* cluster key, borrowed: must outlive the link */
	uint64_t window_ns;	   /* timestamp window; 0: SL_LINK_WINDOW_DEFAULT_NS */
	uint32_t max_senders;	   /* senders tracked for replay; 0: SL_LINK_SENDERS_DEFAULT */
	uint32_t max_peers;	   /* outbound sockets; 0: SL_LINK_PEERS_DEFAULT */
	uint32_t reconnect_ms;	   /* first reconnect delay; 0: 100 ms */
	uint32_t reconnect_max_ms; /* reconnect backoff cap; 0: 5000 ms */
};

/* Why a received frame was dropped; indexes sl_link_stats.dropped. */
enum sl_link_drop {
	SL_LINK_DROP_MALFORMED =
		0,	      /* bad magic, length, truncated, bounds (-EBADMSG, -ERANGE...) */
	SL_LINK_DROP_VERSION, /* unsupported protocol version (-EPROTONOSUPPORT) */
	SL_LINK_DROP_TYPE,    /* unknown message type (-ENOMSG) */
	SL_LINK_DROP_MAC,     /* MAC mismatch: wrong key or tampered (-EKEYREJECTED) */
	SL_LINK_DROP_DST,     /* addressed to another receiver (-EADDRNOTAVAIL) */
	SL_LINK_DROP_REPLAY,  /* sequence already seen or too old (-EALREADY) */
	SL_LINK_DROP_STALE,   /* timestamp outside the window (-ETIME) */
	SL_LINK_DROP_SENDERS, /* sender table full (-ENOSPC) */
	_SL_LINK_DROP_MAX,
};

struct sl_link_stats {
	uint64_t sent;	       /* frames handed to nanomsg */
	uint64_t send_again;   /* sends refused with -EAGAIN (no peer yet, or back-pressure) */
	uint64_t received;     /* frames accepted and returned */
	uint64_t new_sessions; /* senders seen for the first time or with a new nonce */
	uint64_t dropped[_SL_LINK_DROP_MAX];
};

/* One received message. Its strings and blobs point into a buffer the link owns. */
struct sl_link_rx {
	struct sl_msg msg; /* valid after sl_link_recv() returned 0, until sl_link_rx_done() */
	bool new_session;  /* first frame of this sender's session: it is new or restarted */
	/* After a drop (sl_link_recv() < 0 but not -EAGAIN): */
	const char *why;     /* static one-line reason */
	bool log;	     /* the rate limiter says: log this drop */
	uint64_t suppressed; /* drops not logged since the last logged one */
	void *frame_;	     /* private */
};

struct sl_link;

/* Creates a link with a fresh random session nonce. Returns 0, -EINVAL or -ENOMEM. */
int sl_link_new(struct sl_link **ret, const struct sl_link_config *cfg);

/* Closes every socket and frees; NULL-safe, sets *l to NULL. Unsent frames are lost. */
void sl_link_free(struct sl_link **l);

/* This run's session nonce (non-zero). */
uint64_t sl_link_nonce(const struct sl_link *l);

/*
 * Binds the receiving socket to url ("tcp://ADDR:PORT", "ipc:///path"); may be called again
 * to listen on more endpoints. Returns 0 or -errno (-EADDRINUSE, -EINVAL for a bad url).
 */
int sl_link_listen(struct sl_link *l, const char *url);

/* NN_RCVFD of the receiving socket, or -ENOTCONN before sl_link_listen(). */
int sl_link_recv_fd(const struct sl_link *l);

/*
 * Opens a sending socket to url; nanomsg connects (and reconnects) in the background.
 * Returns a peer handle >= 0 for sl_link_send(), -ENOSPC past max_peers, -EINVAL, -errno.
 */
int sl_link_connect(struct sl_link *l, const char *url);

/* Closes a peer's sending socket; the handle may be reused. Returns 0 or -EBADF. */
int sl_link_disconnect(struct sl_link *l, int peer);

/* NN_SNDFD of a peer's socket, or -EBADF. */
int sl_link_send_fd(const struct sl_link *l, int peer);

/*
 * Stamps m (src_id = self_id, nonce, the next seq, ts_ns = now) and encodes and seals it
 * into buf. Returns the frame length, or sl_proto_encode()'s errors (-ENOBUFS, -ERANGE...).
 * sl_link_send() does this itself; this is for tests, benchmarks and tools.
 */
long sl_link_seal(struct sl_link *l, struct sl_msg *m, void *buf, size_t len, const char **why);

/*
 * Seals m (as sl_link_seal; the caller sets type, flags, corr_id, dst_id and the body) and
 * sends it to peer without blocking. Returns 0, -EAGAIN (not connected yet or back-pressure:
 * wait for sl_link_send_fd() and call again; a new seq is used), -EBADF (bad peer), or
 * encoding errors. A sequence number is used up either way.
 */
int sl_link_send(struct sl_link *l, int peer, struct sl_msg *m);

/* Sends frame bytes as they are (a sealed frame, or a forged one in tests). As sl_link_send. */
int sl_link_send_raw(struct sl_link *l, int peer, const void *frame, size_t len);

/*
 * Receives one frame without blocking and verifies it. Returns 0 with rx->msg filled (call
 * sl_link_rx_done() when finished with it), -EAGAIN when nothing is waiting, -ENOTCONN
 * before sl_link_listen(), or the drop's error (see enum sl_link_drop) with rx->why,
 * rx->log and rx->suppressed set: the frame is already counted and freed; keep receiving.
 */
int sl_link_recv(struct sl_link *l, struct sl_link_rx *rx);

/* Releases a received frame; rx->msg is invalid afterwards. NULL-safe and idempotent. */
void sl_link_rx_done(struct sl_link_rx *rx);

/* Copies the counters. */
void sl_link_stats(const struct sl_link *l, struct sl_link_stats *ret);

/* "malformed", "version", "type", "mac", "dst", "replay", "stale", "senders"; "?" otherwise. */
const char *sl_link_drop_name(unsigned reason);
