// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"
#include "proto-samples.h"

#include <sandlot/auth.h>
#include <sandlot/link.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <errno.h>
#include <glob.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#define AGENT_ID   0xa9e7ull
#define CONTROL_ID 0xc0ull
#define WAIT_MS	   5000 /* a guard against hanging, not a timing assertion */

static const unsigned char key_a[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char key_b[32] = "fedcba9876543210fedcba9876543210";

struct fixture {
	struct sl_key *key, *other_key;
	char agent_url[128], control_url[128];
	struct sl_link *agent, *control;
	int agent_to_control, control_to_agent; /* peer handles */
};

/* Removes ipc files left by earlier runs of this test whose process is gone. */
static void remove_stale_ipc(void)
{
	glob_t g;

	if (glob("/tmp/sl-wire-*.ipc", 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		int pid = atoi(g.gl_pathv[i] + strlen("/tmp/sl-wire-"));

		if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)
			unlink(g.gl_pathv[i]);
	}
	globfree(&g);
}

static struct sl_link *new_link(struct sl_key *key, uint64_t id)
{
	struct sl_link_config cfg = {
		.self_id = id, .key = key, .reconnect_ms = 10, .reconnect_max_ms = 100};
	struct sl_link *l = NULL;

	assert_int_equal(sl_link_new(&l, &cfg), 0);
	return l;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	remove_stale_ipc();
	assert_int_equal(sl_key_new(&f->key, key_a, sizeof(key_a)), 0);
	assert_int_equal(sl_key_new(&f->other_key, key_b, sizeof(key_b)), 0);
	snprintf(f->agent_url, sizeof(f->agent_url), "ipc:///tmp/sl-wire-%d-agent.ipc", getpid());
	snprintf(f->control_url, sizeof(f->control_url), "ipc:///tmp/sl-wire-%d-control.ipc",
		 getpid());
	f->agent = new_link(f->key, AGENT_ID);
	f->control = new_link(f->key, CONTROL_ID);
	assert_int_equal(sl_link_listen(f->agent, f->agent_url), 0);
	assert_int_equal(sl_link_listen(f->control, f->control_url), 0);
	f->agent_to_control = sl_link_connect(f->agent, f->control_url);
	f->control_to_agent = sl_link_connect(f->control, f->agent_url);
	assert_true(f->agent_to_control >= 0 && f->control_to_agent >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sl_link_free(&f->agent);
	sl_link_free(&f->control);
	sl_key_free(&f->key);
	sl_key_free(&f->other_key);
	unlink(f->agent_url + strlen("ipc://"));
	unlink(f->control_url + strlen("ipc://"));
	free(f);
	return 0;
}

static int wait_fd(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms);
}

/* Receives the next frame, waiting up to ms; returns sl_link_recv()'s result. */
static int recv_wait(struct sl_link *l, struct sl_link_rx *rx, int ms)
{
	uint64_t end = sl_now_ns() + (uint64_t)ms * SL_NSEC_PER_MSEC;

	for (;;) {
		int r = sl_link_recv(l, rx);
		uint64_t now = sl_now_ns();

		if (r != -EAGAIN || now >= end)
			return r;
		wait_fd(sl_link_recv_fd(l), (int)((end - now) / SL_NSEC_PER_MSEC) + 1);
	}
}

/* Sends, waiting for the peer connection (nanomsg connects in the background). */
static int send_wait(struct sl_link *l, int peer, struct sl_msg *m)
{
	uint64_t end = sl_now_ns() + WAIT_MS * SL_NSEC_PER_MSEC;

	for (;;) {
		int r = sl_link_send(l, peer, m);

		if (r != -EAGAIN || sl_now_ns() >= end)
			return r;
		wait_fd(sl_link_send_fd(l, peer), 10);
	}
}

static int send_raw_wait(struct sl_link *l, int peer, const void *frame, size_t len)
{
	uint64_t end = sl_now_ns() + WAIT_MS * SL_NSEC_PER_MSEC;

	for (;;) {
		int r = sl_link_send_raw(l, peer, frame, len);

		if (r != -EAGAIN || sl_now_ns() >= end)
			return r;
		wait_fd(sl_link_send_fd(l, peer), 10);
	}
}

static void heartbeat_to_control(struct fixture *f)
{
	struct sl_msg m;

	sample_msg(SL_MSG_HEARTBEAT, &m);
	m.dst_id = CONTROL_ID;
	assert_int_equal(send_wait(f->agent, f->agent_to_control, &m), 0);
}

static void authenticated_messages_flow_both_ways(void **state)
{
	struct fixture *f = *state;
	struct sl_link_rx rx;
	struct sl_link_stats st;
	struct sl_msg m;
	uint64_t reg_corr;

	sample_msg(SL_MSG_REGISTER, &m);
	assert_int_equal(send_wait(f->agent, f->agent_to_control, &m), 0);
	reg_corr = m.corr_id;
	assert_int_equal(recv_wait(f->control, &rx, WAIT_MS), 0);
	assert_int_equal(rx.msg.type, SL_MSG_REGISTER);
	assert_true(rx.new_session);
	assert_true(rx.msg.src_id == AGENT_ID && rx.msg.nonce == sl_link_nonce(f->agent));
	assert_string_equal(rx.msg.reg.name, "host-a");
	assert_string_equal(rx.msg.reg.endpoint, "tcp://10.0.0.5:7401");
	sl_link_rx_done(&rx);
	sl_link_rx_done(&rx); /* idempotent */

	sample_msg(SL_MSG_REGISTER_ACK, &m);
	m.dst_id = AGENT_ID;
	m.corr_id = reg_corr;
	assert_int_equal(send_wait(f->control, f->control_to_agent, &m), 0);
	assert_int_equal(recv_wait(f->agent, &rx, WAIT_MS), 0);
	assert_int_equal(rx.msg.type, SL_MSG_REGISTER_ACK);
	assert_true(rx.msg.corr_id == reg_corr && (rx.msg.flags & SL_MSG_F_REPLY));
	assert_true(rx.new_session);
	sl_link_rx_done(&rx);

	heartbeat_to_control(f);
	assert_int_equal(recv_wait(f->control, &rx, WAIT_MS), 0);
	assert_int_equal(rx.msg.type, SL_MSG_HEARTBEAT);
	assert_false(rx.new_session);
	assert_int_equal(rx.msg.heartbeat.idle, 4);
	sl_link_rx_done(&rx);

	sl_link_stats(f->control, &st);
	assert_int_equal(st.received, 2);
	assert_int_equal(st.new_sessions, 1);
	for (unsigned i = 0; i < _SL_LINK_DROP_MAX; i++)
		assert_int_equal(st.dropped[i], 0);
	sl_link_stats(f->agent, &st);
	assert_int_equal(st.sent, 2);
}

static void six_mib_payload_crosses_the_link(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ unsigned char *payload = malloc(SL_MSG_PAYLOAD_MAX);
	struct sl_link_rx rx;
	struct sl_msg m;

	for (size_t i = 0; i < SL_MSG_PAYLOAD_MAX; i++)
		payload[i] = (unsigned char)(i * 31 + 7);
	sample_msg(SL_MSG_INVOKE, &m);
	m.dst_id = AGENT_ID;
	m.invoke.payload = payload;
	m.invoke.payload_len = SL_MSG_PAYLOAD_MAX;
	assert_int_equal(send_wait(f->control, f->control_to_agent, &m), 0);
	assert_int_equal(recv_wait(f->agent, &rx, WAIT_MS), 0);
	assert_int_equal(rx.msg.type, SL_MSG_INVOKE);
	assert_int_equal(rx.msg.invoke.payload_len, SL_MSG_PAYLOAD_MAX);
	assert_memory_equal(rx.msg.invoke.payload, payload, SL_MSG_PAYLOAD_MAX);
	sl_link_rx_done(&rx);
}

/* Expects the next frame at control to be dropped with err, counted under reason. */
static void expect_drop(struct fixture *f, int err, enum sl_link_drop reason)
{
	struct sl_link_stats before, after;
	struct sl_link_rx rx;

	sl_link_stats(f->control, &before);
	assert_int_equal(recv_wait(f->control, &rx, WAIT_MS), err);
	assert_non_null(rx.why);
	sl_link_stats(f->control, &after);
	assert_int_equal(after.dropped[reason], before.dropped[reason] + 1);
	assert_int_equal(after.received, before.received);
}

/* Encodes a heartbeat with the given header fields and seals it under key. */
static size_t forge(struct sl_key *key, unsigned char *buf, size_t len, uint64_t src, uint64_t dst,
		    uint64_t seq, uint64_t ts)
{
	struct sl_msg m;
	long n;

	sample_msg(SL_MSG_HEARTBEAT, &m);
	m.src_id = src;
	m.dst_id = dst;
	m.seq = seq;
	m.ts_ns = ts;
	n = sl_proto_encode(&m, buf, len, NULL);
	assert_true(n > 0);
	assert_int_equal(sl_auth_seal(key, buf, (size_t)n), 0);
	return (size_t)n;
}

static void forged_and_replayed_frames_are_dropped(void **state)
{
	struct fixture *f = *state;
	unsigned char frame[1024], copy[1024];
	struct sl_link_rx rx;
	struct sl_msg m;
	long n;

	/* A genuine frame, then the same bytes again. */
	sample_msg(SL_MSG_HEARTBEAT, &m);
	m.dst_id = CONTROL_ID;
	n = sl_link_seal(f->agent, &m, frame, sizeof(frame), NULL);
	assert_true(n > 0);
	assert_int_equal(send_raw_wait(f->agent, f->agent_to_control, frame, (size_t)n), 0);
	assert_int_equal(recv_wait(f->control, &rx, WAIT_MS), 0);
	sl_link_rx_done(&rx);
	assert_int_equal(send_raw_wait(f->agent, f->agent_to_control, frame, (size_t)n), 0);
	expect_drop(f, -EALREADY, SL_LINK_DROP_REPLAY);

	/* Tampered: one byte of the body changed after sealing. */
	memcpy(copy, frame, (size_t)n);
	copy[SL_PROTO_HDR_SIZE + 5] ^= 0x20;
	assert_int_equal(send_raw_wait(f->agent, f->agent_to_control, copy, (size_t)n), 0);
	expect_drop(f, -EKEYREJECTED, SL_LINK_DROP_MAC);

	/* Sealed under another key, by a sender that otherwise looks fine. */
	size_t len =
		forge(f->other_key, copy, sizeof(copy), AGENT_ID, CONTROL_ID, 1000, sl_wall_ns());
	assert_int_equal(send_raw_wait(f->agent, f->agent_to_control, copy, len), 0);
	expect_drop(f, -EKEYREJECTED, SL_LINK_DROP_MAC);

	/* Right key, but an hour old; then one addressed to another receiver. */
	len = forge(f->key, copy, sizeof(copy), AGENT_ID, CONTROL_ID, 1001,
		    sl_wall_ns() - 3600 * SL_NSEC_PER_SEC);
	assert_int_equal(send_raw_wait(f->agent, f->agent_to_control, copy, len), 0);
	expect_drop(f, -ETIME, SL_LINK_DROP_STALE);
	len = forge(f->key, copy, sizeof(copy), AGENT_ID, 0x5eed, 1002, sl_wall_ns());
	assert_int_equal(send_raw_wait(f->agent, f->agent_to_control, copy, len), 0);
	expect_drop(f, -EADDRNOTAVAIL, SL_LINK_DROP_DST);

	/* Garbage and a future protocol version. */
	memset(copy, 0x41, 200);
	assert_int_equal(send_raw_wait(f->agent, f->agent_to_control, copy, 200), 0);
	expect_drop(f, -EBADMSG, SL_LINK_DROP_MALFORMED);
	memcpy(copy, frame, (size_t)n);
	copy[4] = 9;
	assert_int_equal(send_raw_wait(f->agent, f->agent_to_control, copy, (size_t)n), 0);
	expect_drop(f, -EPROTONOSUPPORT, SL_LINK_DROP_VERSION);

	/* Genuine traffic still flows after all that. */
	heartbeat_to_control(f);
	assert_int_equal(recv_wait(f->control, &rx, WAIT_MS), 0);
	assert_int_equal(rx.msg.type, SL_MSG_HEARTBEAT);
	sl_link_rx_done(&rx);
}

static void drops_are_logged_at_a_limited_rate(void **state)
{
	struct fixture *f = *state;
	unsigned char frame[1024];
	struct sl_link_rx rx;
	unsigned logged = 0;

	memset(frame, 0, sizeof(frame));
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(send_raw_wait(f->agent, f->agent_to_control, frame, 100), 0);
		assert_int_equal(recv_wait(f->control, &rx, WAIT_MS), -EBADMSG);
		logged += rx.log;
	}
	/* The first drop is logged; the next ones within the interval are only counted. */
	assert_int_equal(logged, 1);
}

static void restarted_peer_is_noticed_and_traffic_resumes(void **state)
{
	struct fixture *f = *state;
	uint64_t old_nonce = sl_link_nonce(f->control);
	struct sl_link_rx rx;
	struct sl_msg m;
	int r = -EAGAIN;

	/* Establish both sessions. */
	heartbeat_to_control(f);
	assert_int_equal(recv_wait(f->control, &rx, WAIT_MS), 0);
	sl_link_rx_done(&rx);
	sample_msg(SL_MSG_DRAIN, &m);
	m.dst_id = AGENT_ID;
	assert_int_equal(send_wait(f->control, f->control_to_agent, &m), 0);
	assert_int_equal(recv_wait(f->agent, &rx, WAIT_MS), 0);
	assert_true(rx.new_session);
	sl_link_rx_done(&rx);

	/* The control node restarts: same id and endpoint, new process state. */
	sl_link_free(&f->control);
	f->control = new_link(f->key, CONTROL_ID);
	assert_true(sl_link_nonce(f->control) != old_nonce);
	assert_int_equal(sl_link_listen(f->control, f->control_url), 0);
	f->control_to_agent = sl_link_connect(f->control, f->agent_url);
	assert_true(f->control_to_agent >= 0);

	sample_msg(SL_MSG_REGISTER_ACK, &m);
	m.dst_id = AGENT_ID;
	assert_int_equal(send_wait(f->control, f->control_to_agent, &m), 0);
	assert_int_equal(recv_wait(f->agent, &rx, WAIT_MS), 0);
	assert_true(rx.new_session); /* the agent learns it must report full state */
	assert_true(rx.msg.nonce != old_nonce);
	sl_link_rx_done(&rx);

	/* The agent's socket reconnected by itself. A frame sent while the old connection was
	 * going away may be lost (as in production), so retry a few times. */
	for (unsigned i = 0; i < 50 && r != 0; i++) {
		heartbeat_to_control(f);
		r = recv_wait(f->control, &rx, 100);
	}
	assert_int_equal(r, 0);
	assert_true(rx.new_session);
	assert_int_equal(rx.msg.src_id, AGENT_ID);
	sl_link_rx_done(&rx);
}

static int free_tcp_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static void works_over_loopback_tcp(void **state)
{
	struct fixture *f = *state;
	struct sl_link *server = new_link(f->key, CONTROL_ID + 1);
	char url[64];
	struct sl_link_rx rx;
	struct sl_msg m;
	int peer, r = -EADDRINUSE;

	/* The port is free when picked; another process may take it first, so try again. */
	for (unsigned i = 0; i < 10 && r == -EADDRINUSE; i++) {
		snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", free_tcp_port());
		r = sl_link_listen(server, url);
	}
	assert_int_equal(r, 0);
	peer = sl_link_connect(f->agent, url);
	assert_true(peer >= 0);
	sample_msg(SL_MSG_SANDBOX_EVENT, &m);
	m.dst_id = CONTROL_ID + 1;
	assert_int_equal(send_wait(f->agent, peer, &m), 0);
	assert_int_equal(recv_wait(server, &rx, WAIT_MS), 0);
	assert_int_equal(rx.msg.type, SL_MSG_SANDBOX_EVENT);
	assert_string_equal(rx.msg.event.sandbox_id, "sb-00000007");
	sl_link_rx_done(&rx);
	assert_int_equal(sl_link_disconnect(f->agent, peer), 0);
	assert_int_equal(sl_link_disconnect(f->agent, peer), -EBADF);
	sl_link_free(&server);
}

static void bad_arguments_are_refused(void **state)
{
	struct fixture *f = *state;
	struct sl_link_config cfg = {.self_id = 0, .key = f->key};
	struct sl_link *l = NULL;
	struct sl_link_rx rx;
	struct sl_msg m;

	assert_int_equal(sl_link_new(&l, &cfg), -EINVAL);
	cfg = (struct sl_link_config){.self_id = 1, .key = f->key, .max_peers = 1};
	assert_int_equal(sl_link_new(&l, &cfg), 0);
	assert_int_equal(sl_link_recv(l, &rx), -ENOTCONN);
	assert_int_equal(sl_link_recv_fd(l), -ENOTCONN);
	assert_int_equal(sl_link_listen(l, "http://127.0.0.1:1"), -EINVAL);
	assert_int_equal(sl_link_connect(l, f->control_url), 0);
	assert_int_equal(sl_link_connect(l, f->control_url), -ENOSPC);
	assert_int_equal(sl_link_send_fd(l, 1), -EBADF);
	sample_msg(SL_MSG_DRAIN, &m);
	m.drain.deadline_ms = SL_MSG_TIMEOUT_MS_MAX + 1;
	assert_int_equal(sl_link_send(l, 0, &m), -ERANGE);
	assert_int_equal(sl_link_send(l, 7, &m), -EBADF);
	sl_link_free(&l);
	sl_link_free(&l);
	assert_string_equal(sl_link_drop_name(SL_LINK_DROP_REPLAY), "replay");
	assert_string_equal(sl_link_drop_name(_SL_LINK_DROP_MAX), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(authenticated_messages_flow_both_ways, setup,
						teardown),
		cmocka_unit_test_setup_teardown(six_mib_payload_crosses_the_link, setup, teardown),
		cmocka_unit_test_setup_teardown(forged_and_replayed_frames_are_dropped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(drops_are_logged_at_a_limited_rate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(restarted_peer_is_noticed_and_traffic_resumes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(works_over_loopback_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_arguments_are_refused, setup, teardown),
	};
	if (getenv("SL_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SL_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
