// SPDX-License-Identifier: Apache-2.0
/*
 * sandlot-control's agent link against a fake agent speaking the real protocol (lib/link with
 * the cluster key): registration, NOT_REGISTERED for strangers, and what an agent must not be
 * able to do: frames under another key, replays, events for sandboxes it was never given, a
 * full state naming sandboxes that are not the control node's. Each is dropped and counted
 * (read from /metrics), never acted on. No root needed: the control node runs as a child.
 */
#include "testutil.h"

#include <sandlot/link.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define AGENT_ID 0xa9e47000000000a1ULL

struct fx {
	char dir[64], key_path[96], akeys[96], data[96], ctl_url[128], agent_url[128];
	char http[32];
	pid_t pid;
	struct sl_key *key;
	struct sl_link *link;
	int peer;
	uint64_t ctl_id;
};

static int free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
	char *buf = data;
	size_t have = strlen(buf), k = MIN(size * n, 65535 - have);

	memcpy(buf + have, p, k);
	buf[have + k] = '\0';
	return size * n;
}

/* One value from the control node's /metrics, or -1. */
static double metric(struct fx *f, const char *name)
{
	static char buf[65536];
	char url[96], *p;
	CURL *c = curl_easy_init();

	buf[0] = '\0';
	snprintf(url, sizeof(url), "http://%s/metrics", f->http);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, buf);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	for (p = buf; (p = strstr(p, name)); p++)
		if ((p == buf || p[-1] == '\n') && p[strlen(name)] == ' ')
			return strtod(p + strlen(name) + 1, NULL);
	return -1;
}

static bool wait_metric(struct fx *f, const char *name, double want)
{
	for (int i = 0; i < 200; i++) {
		if (metric(f, name) == want)
			return true;
		usleep(20000);
	}
	fprintf(stderr, "%s: %g, wanted %g\n", name, metric(f, name), want);
	return false;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	unsigned char k[48];
	char line[128];
	const char *bin = getenv("SANDLOT_CONTROL");
	struct sl_link_config lc = {
		.self_id = AGENT_ID, .reconnect_ms = 20, .reconnect_max_ms = 200};

	snprintf(f->dir, sizeof(f->dir), "/tmp/sl-ctl-link-%d", (int)getpid());
	mkdir(f->dir, 0700);
	snprintf(f->key_path, sizeof(f->key_path), "%s/key", f->dir);
	snprintf(f->akeys, sizeof(f->akeys), "%s/akeys", f->dir);
	snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	snprintf(f->ctl_url, sizeof(f->ctl_url), "ipc://%s/ctl", f->dir);
	snprintf(f->agent_url, sizeof(f->agent_url), "ipc://%s/agent", f->dir);
	snprintf(f->http, sizeof(f->http), "127.0.0.1:%d", free_port());
	for (size_t i = 0; i < sizeof(k); i++)
		k[i] = (unsigned char)(i * 7 + 3);
	write_file(f->key_path, k, sizeof(k));
	snprintf(line, sizeof(line), "111122223333 AKIALINKTEST00000001 secret\n");
	write_file(f->akeys, line, strlen(line));
	f->pid = fork();
	if (f->pid == 0) {
		execl(bin ? bin : "sandlot-control", "sandlot-control", "--http", f->http,
		      "--listen", f->ctl_url, "--data", f->data, "--key-file", f->key_path,
		      "--access-keys", f->akeys, "--heartbeat-timeout", "1s", "--log-level",
		      "error", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(sl_key_new(&f->key, k, sizeof(k)), 0);
	lc.key = f->key;
	assert_int_equal(sl_link_new(&f->link, &lc), 0);
	assert_int_equal(sl_link_listen(f->link, f->agent_url), 0);
	f->peer = sl_link_connect(f->link, f->ctl_url);
	assert_true(f->peer >= 0);
	assert_true(wait_metric(f, "sandlot_control_hosts", 0));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	int st;

	kill(f->pid, SIGTERM);
	waitpid(f->pid, &st, 0);
	sl_link_free(&f->link);
	sl_key_free(&f->key);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	free(f);
	return 0;
}

static void send_msg(struct fx *f, struct sl_msg *m)
{
	uint64_t until = sl_now_ns() + 3 * SL_NSEC_PER_SEC;
	int r;

	m->dst_id = m->type == SL_MSG_REGISTER ? 0 : f->ctl_id;
	do {
		r = sl_link_send(f->link, f->peer, m);
		if (r == -EAGAIN)
			usleep(1000);
	} while (r == -EAGAIN && sl_now_ns() < until);
	assert_int_equal(r, 0);
}

/* The next message of type from the control node (others are dropped), within 3 s. */
static bool recv_type(struct fx *f, uint16_t type, struct sl_link_rx *rx)
{
	struct pollfd p = {.fd = sl_link_recv_fd(f->link), .events = POLLIN};
	uint64_t until = sl_now_ns() + 3 * SL_NSEC_PER_SEC;

	while (sl_now_ns() < until) {
		if (sl_link_recv(f->link, rx) == 0) {
			if (rx->msg.type == type)
				return true;
			sl_link_rx_done(rx);
			continue;
		}
		poll(&p, 1, 20);
	}
	return false;
}

static void do_register(struct fx *f)
{
	struct sl_msg m = {.type = SL_MSG_REGISTER,
			   .corr_id = 1,
			   .reg = {.name = "fake",
				   .zone = "z",
				   .version = "0",
				   .endpoint = f->agent_url,
				   .memory_capacity = 1ull << 30,
				   .max_sandboxes = 8,
				   .ncpus = 1}};
	struct sl_link_rx rx;

	send_msg(f, &m);
	assert_true(recv_type(f, SL_MSG_REGISTER_ACK, &rx));
	assert_int_equal(rx.msg.corr_id, 1);
	assert_true(rx.msg.reg_ack.heartbeat_ms <= 1000 / 3 + 1);
	f->ctl_id = rx.msg.src_id;
	sl_link_rx_done(&rx);
	assert_true(wait_metric(f, "sandlot_control_hosts", 1));
}

static void stranger_is_asked_to_register(void **state)
{
	struct fx *f = *state;
	struct sl_msg hb = {.type = SL_MSG_HEARTBEAT, .heartbeat = {.endpoint = f->agent_url}};
	struct sl_link_rx rx;

	/* its heartbeat must name the control node, which it learns from a REGISTER_ACK */
	do_register(f);
	/* no heartbeat from us: past the 1 s timeout we are dead and forgotten */
	assert_true(wait_metric(f, "sandlot_control_hosts", 0));
	assert_int_equal(metric(f, "sandlot_control_dead_hosts_total"), 1);
	send_msg(f, &hb);
	assert_true(recv_type(f, SL_MSG_ERROR, &rx));
	assert_int_equal(rx.msg.error.code, SL_ERR_NOT_REGISTERED);
	sl_link_rx_done(&rx);
	do_register(f);
}

static void forged_and_replayed_frames_are_dropped(void **state)
{
	struct fx *f = *state;
	struct sl_key *other = NULL;
	unsigned char k[48] = "another key, not the cluster's one, 48 bytes!!";
	struct sl_msg hb = {.type = SL_MSG_HEARTBEAT, .heartbeat = {.endpoint = f->agent_url}};
	static unsigned char frame[4096];
	long n;

	do_register(f);
	/* a frame sealed under another key */
	assert_int_equal(sl_key_new(&other, k, sizeof(k)), 0);
	hb.dst_id = f->ctl_id;
	n = sl_link_seal(f->link, &hb, frame, sizeof(frame), NULL);
	assert_true(n > 0);
	assert_int_equal(sl_auth_seal(other, frame, (size_t)n), 0);
	assert_int_equal(sl_link_send_raw(f->link, f->peer, frame, (size_t)n), 0);
	assert_true(wait_metric(f, "sandlot_control_frames_dropped_total{reason=\"mac\"}", 1));
	/* a good frame, then the same bytes again */
	n = sl_link_seal(f->link, &hb, frame, sizeof(frame), NULL);
	assert_int_equal(sl_link_send_raw(f->link, f->peer, frame, (size_t)n), 0);
	assert_int_equal(sl_link_send_raw(f->link, f->peer, frame, (size_t)n), 0);
	assert_true(wait_metric(f, "sandlot_control_frames_dropped_total{reason=\"replay\"}", 1));
	sl_key_free(&other);
}

static void sandboxes_never_asked_for_are_refused(void **state)
{
	struct fx *f = *state;
	struct sl_msg ev = {.type = SL_MSG_SANDBOX_EVENT,
			    .event = {.sandbox_id = "111122223333-deadbeef-0000000000000001",
				      .function = "nope",
				      .version = "$LATEST",
				      .state = SL_SANDBOX_IDLE,
				      .reason = SL_REASON_IDLE,
				      .at_ns = 1,
				      .created_ns = 1}};
	struct sl_msg *st = calloc(1, sizeof(*st));
	struct sl_link_rx rx;

	do_register(f);
	send_msg(f, &ev);
	assert_true(wait_metric(f, "sandlot_control_unknown_sandbox_events_total", 1));
	assert_int_equal(metric(f, "sandlot_control_sandboxes"), 0);
	/* a full state naming a sandbox of a function that does not exist: destroyed */
	st->type = SL_MSG_FULL_STATE;
	st->state.total = 1;
	st->state.count = 1;
	st->state.sandboxes[0] = ev.event;
	send_msg(f, st);
	assert_true(recv_type(f, SL_MSG_DESTROY, &rx));
	assert_string_equal(rx.msg.destroy.sandbox_id, ev.event.sandbox_id);
	sl_link_rx_done(&rx);
	assert_int_equal(metric(f, "sandlot_control_sandboxes"), 0);
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(stranger_is_asked_to_register, setup, teardown),
		cmocka_unit_test_setup_teardown(forged_and_replayed_frames_are_dropped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(sandboxes_never_asked_for_are_refused, setup,
						teardown),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
