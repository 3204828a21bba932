// SPDX-License-Identifier: Apache-2.0
/*
 * The Runtime API server against a hostile runtime: what one sandbox can make the agent hold or
 * wait for. The server is driven as the agent drives it (run only when its fd is readable or
 * its timeout has expired), the runtime is raw loopback sockets, so that each test controls
 * exactly what reaches the server and when.
 */
#include "testutil.h"

#include <sandlot/util.h>

#include "daemon/runtime-api.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#define BASE "/2018-06-01/runtime"

enum { WAIT_MS = 5000 };

struct fx {
	int port;
	struct sl_rtapi *srv;
	int n_response, n_error;
	size_t rlen;
	char etype[128];
};

static void on_response(struct sl_rtapi *srv, void *u, const char *id, const void *body, size_t len,
			const char *ctype)
{
	struct fx *f = u;

	f->n_response++;
	f->rlen = len;
}

static void on_error(struct sl_rtapi *srv, void *u, const char *id, const struct sl_rtapi_error *e)
{
	struct fx *f = u;

	f->n_error++;
	snprintf(f->etype, sizeof(f->etype), "%s", e->type);
}

static const struct sl_rtapi_ops ops = {.response = on_response, .error = on_error};

static struct fx *fx_new(const struct sl_rtapi_opts *opts)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	struct fx *f = calloc(1, sizeof(*f));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_non_null(f);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	f->port = ntohs(a.sin_port);
	assert_int_equal(sl_rtapi_new(&f->srv, fd, opts, &ops, f), 0);
	return f;
}

static int setup(void **state)
{
	*state = fx_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sl_rtapi_free(&f->srv);
	free(f);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One turn of the owner's loop as the agent's: the server runs when its fd is readable or its
 * timeout has expired, never otherwise. */
static void turn(struct fx *f, int max_ms)
{
	struct pollfd p = {.fd = sl_rtapi_fd(f->srv), .events = POLLIN};
	int t = sl_rtapi_timeout_ms(f->srv), wait = t >= 0 && t < max_ms ? t : max_ms;

	if (poll(&p, 1, wait) > 0 || (t >= 0 && t <= wait))
		assert_int_equal(sl_rtapi_run(f->srv), 0);
}

/* Serves until cond holds or ms pass; the value of cond. */
#define SERVE_UNTIL(f, cond, ms)                   \
	({                                         \
		uint64_t _end = now_ms() + (ms);   \
		while (!(cond) && now_ms() < _end) \
			turn(f, 5);                \
		(cond);                            \
	})

static struct sl_rtapi_stats stats(struct fx *f)
{
	struct sl_rtapi_stats st;

	sl_rtapi_stats(f->srv, &st);
	return st;
}

/* ---- a raw runtime ---- */

static int rt_connect(struct fx *f)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)f->port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

/* Sends all of buf, serving while the socket is full. */
static void rt_send(struct fx *f, int fd, const void *buf, size_t len)
{
	uint64_t end = now_ms() + WAIT_MS;
	const char *p = buf;

	while (len && now_ms() < end) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else {
			assert_true(n < 0 && errno == EAGAIN);
			turn(f, 1);
		}
	}
	assert_int_equal(len, 0);
}

static void rt_sends(struct fx *f, int fd, const char *s)
{
	rt_send(f, fd, s, strlen(s));
}

/* Reads what is there into buf (NUL-terminated); false once the peer closed. */
static bool rt_read(int fd, char *buf, size_t cap, size_t *len)
{
	ssize_t n = -1;

	errno = EAGAIN;
	while (*len + 1 < cap && (n = recv(fd, buf + *len, cap - 1 - *len, 0)) > 0)
		*len += (size_t)n;
	buf[*len] = '\0';
	return !(n == 0 || (n < 0 && errno != EAGAIN));
}

/* Serves until a reply's headers arrived on fd; its status, or -1 (none within WAIT_MS). */
static int rt_status(struct fx *f, int fd)
{
	char buf[4096];
	size_t len = 0;
	int status = -1;

	SERVE_UNTIL(f, (rt_read(fd, buf, sizeof(buf), &len), strstr(buf, "\r\n\r\n")), WAIT_MS);
	if (strstr(buf, "\r\n\r\n"))
		sscanf(buf, "HTTP/1.1 %d", &status);
	return status;
}

/* Serves until the server closed fd. */
static bool rt_closed(struct fx *f, int fd)
{
	char buf[4096];
	size_t len = 0;

	return SERVE_UNTIL(f, (len = 0, !rt_read(fd, buf, sizeof(buf), &len)), WAIT_MS);
}

/* GET next on a fresh connection, then an invocation for it: returns the connection. */
static int deliver(struct fx *f, const char *id)
{
	int fd = rt_connect(f);

	rt_sends(f, fd, "GET " BASE "/invocation/next HTTP/1.1\r\nHost: rt\r\n\r\n");
	assert_true(SERVE_UNTIL(f, sl_rtapi_waiting(f->srv), WAIT_MS));
	assert_int_equal(
		sl_rtapi_invoke(f->srv, id, 1700000000123ULL, "arn:aws:lambda:x", NULL, "{}", 2),
		0);
	assert_int_equal(rt_status(f, fd), 200);
	return fd;
}

/* Headers of a POST of the response of invocation id, of cl bytes (-1: chunked). */
static void post_headers(char *buf, size_t len, const char *id, long long cl)
{
	if (cl < 0)
		snprintf(buf, len,
			 "POST " BASE "/invocation/%s/response HTTP/1.1\r\nHost: rt\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n",
			 id);
	else
		snprintf(buf, len,
			 "POST " BASE "/invocation/%s/response HTTP/1.1\r\nHost: rt\r\n"
			 "Content-Length: %lld\r\n\r\n",
			 id, cl);
}

static void respond(struct fx *f, const char *id, const char *body)
{
	char h[512];
	int fd = rt_connect(f);

	post_headers(h, sizeof(h), id, (long long)strlen(body));
	rt_sends(f, fd, h);
	rt_sends(f, fd, body);
	assert_int_equal(rt_status(f, fd), 202);
	close(fd);
}

/* ---- tests ---- */

/*
 * A runtime opens every connection it may and closes them all at once: MHD had taken its
 * listening socket out of its epoll set at the limit, and the run that closed them was the last
 * one anything asked for. The listener must accept again and the response must land.
 */
static void listener_accepts_again_after_the_limit(void **state)
{
	struct fx *f = *state;
	int fds[SL_RTAPI_DEFAULT_CONNECTIONS], next;

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < SL_RTAPI_DEFAULT_CONNECTIONS; i++)
			fds[i] = rt_connect(f);
		assert_true(SERVE_UNTIL(f, stats(f).connections == SL_RTAPI_DEFAULT_CONNECTIONS,
					WAIT_MS));
		for (int i = 0; i < SL_RTAPI_DEFAULT_CONNECTIONS; i++)
			close(fds[i]);
		assert_true(SERVE_UNTIL(f, stats(f).connections == 0, WAIT_MS));
	}
	next = rt_connect(f);
	rt_sends(f, next, "GET " BASE "/invocation/next HTTP/1.1\r\nHost: rt\r\n\r\n");
	assert_true(SERVE_UNTIL(f, sl_rtapi_waiting(f->srv), WAIT_MS));
	assert_int_equal(
		sl_rtapi_invoke(f->srv, "r1", 1700000000123ULL, "arn:aws:lambda:x", NULL, "{}", 2),
		0);
	assert_int_equal(rt_status(f, next), 200);
	respond(f, "r1", "landed");
	assert_int_equal(f->n_response, 1);
	assert_int_equal(f->rlen, 6);
	close(next);
}

/*
 * A slowloris: 40 connections each send one byte of a request, 8 hold every slot, the rest
 * wait in the accept queue; then they all go. The listener must serve the runtime again.
 */
static void listener_serves_again_after_a_slowloris(void **state)
{
	struct fx *f = *state;
	enum { N = 40 };
	int fds[N], next;

	for (int i = 0; i < N; i++) {
		fds[i] = rt_connect(f);
		rt_sends(f, fds[i], "G");
	}
	assert_true(SERVE_UNTIL(f, stats(f).connections == SL_RTAPI_DEFAULT_CONNECTIONS, WAIT_MS));
	for (int i = 0; i < N; i++)
		close(fds[i]);
	assert_true(SERVE_UNTIL(f, stats(f).connections == 0, WAIT_MS));
	next = rt_connect(f);
	rt_sends(f, next, "GET " BASE "/invocation/next HTTP/1.1\r\nHost: rt\r\n\r\n");
	assert_true(SERVE_UNTIL(f, sl_rtapi_waiting(f->srv), WAIT_MS));
	close(next);
}

/*
 * Every connection declares a response at the limit and sends most of it: one body is received,
 * the others are refused at their headers, and what the server holds stays within one body.
 */
static void one_response_body_at_a_time(void **state)
{
	struct fx *f = *state;
	enum { N = SL_RTAPI_DEFAULT_CONNECTIONS - 1, PART = 1 << 20 };
	char *part = malloc(PART), h[512];
	int next = deliver(f, "r1"), fds[N];

	assert_non_null(part);
	memset(part, 'x', PART);
	post_headers(h, sizeof(h), "r1", SL_RTAPI_MAX_PAYLOAD);
	for (int i = 0; i < N; i++) {
		fds[i] = rt_connect(f);
		rt_sends(f, fds[i], h);
		if (i == 0) {
			rt_send(f, fds[0], part, PART);
			assert_true(SERVE_UNTIL(f, stats(f).body_bytes >= PART, WAIT_MS));
		}
	}
	for (int i = 1; i < N; i++)
		assert_int_equal(rt_status(f, fds[i]), 429);
	assert_int_equal(stats(f).uploads, 1);
	assert_true(stats(f).body_bytes <= SL_RTAPI_MAX_PAYLOAD + 64 * 1024);
	for (size_t sent = PART; sent < SL_RTAPI_MAX_PAYLOAD; sent += PART)
		rt_send(f, fds[0], part, MIN((size_t)PART, SL_RTAPI_MAX_PAYLOAD - sent));
	assert_int_equal(rt_status(f, fds[0]), 202);
	assert_int_equal(f->n_response, 1);
	assert_int_equal(f->rlen, SL_RTAPI_MAX_PAYLOAD);
	assert_int_equal(stats(f).uploads, 0);
	assert_true(stats(f).body_bytes <= 64 * 1024);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	close(next);
	free(part);
}

/* An upload that stops coming is cut, and the runtime can answer afterwards. */
static void stalled_upload_is_cut(void **state)
{
	struct sl_rtapi_opts o = {.timeout_s = 600, .upload_timeout_s = 1};
	struct fx *f = fx_new(&o);
	char h[512];
	int next, fd;

	*state = f;
	next = deliver(f, "r1");
	fd = rt_connect(f);
	post_headers(h, sizeof(h), "r1", 1000);
	rt_sends(f, fd, h);
	rt_sends(f, fd, "only ten b");
	assert_true(SERVE_UNTIL(f, stats(f).uploads == 1, WAIT_MS));
	assert_true(rt_closed(f, fd));
	assert_int_equal(stats(f).uploads, 0);
	assert_int_equal(f->n_response, 0);
	respond(f, "r1", "late but whole");
	assert_int_equal(f->n_response, 1);
	close(fd);
	close(next);
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *s = fopen("/proc/self/status", "r");

	assert_non_null(s);
	while (fgets(line, sizeof(line), s))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(s);
	return kb;
}

/* A chunked response far over the limit: 413, a function error, and its memory given back. */
static void oversize_response(struct fx *f, const char *id, const char *chunk, size_t n)
{
	char h[512], size[32];
	int next = deliver(f, id), fd = rt_connect(f);

	post_headers(h, sizeof(h), id, -1);
	rt_sends(f, fd, h);
	snprintf(size, sizeof(size), "%zx\r\n", n);
	for (int i = 0; i < 256; i++) { /* 256 chunks of 64 KiB: 16 MiB */
		rt_sends(f, fd, size);
		rt_send(f, fd, chunk, n);
		rt_sends(f, fd, "\r\n");
	}
	rt_sends(f, fd, "0\r\n\r\n");
	assert_int_equal(rt_status(f, fd), 413);
	assert_string_equal(f->etype, "Function.ResponseSizeTooLarge");
	close(fd);
	close(next);
}

static void oversize_responses_give_memory_back(void **state)
{
	struct fx *f = *state;
	enum { CHUNK = 64 * 1024 };
	char *chunk = malloc(CHUNK);
	void *volatile big;
	long before;

	assert_non_null(chunk);
	memset(chunk, 'y', CHUNK);
	/* as in an agent that has freed any large block (an event of a few MB): malloc raised its
	 * mmap threshold and keeps blocks of that size in its heap from now on */
	big = malloc(8 << 20);
	free(big);
	before = rss_kb();
	for (int i = 1; i <= 3; i++) {
		char id[8];

		snprintf(id, sizeof(id), "r%d", i);
		oversize_response(f, id, chunk, CHUNK);
	}
	assert_int_equal(f->n_error, 3);
	assert_true(stats(f).body_bytes <= 64 * 1024);
	if (rss_kb() - before > 2048)
		fail_msg("RSS grew by %ld KiB over three oversize responses", rss_kb() - before);
	free(chunk);
}

/* Every connection asks for the event again during the invocation: the agent holds it once. */
static void repeated_nexts_share_one_event(void **state)
{
	struct fx *f = *state;
	enum { N = SL_RTAPI_DEFAULT_CONNECTIONS - 1, EV = 6 << 20 };
	char *ev = malloc(EV);
	int first, fds[N];
	long before;

	assert_non_null(ev);
	memset(ev, 'e', EV);
	first = rt_connect(f);
	rt_sends(f, first, "GET " BASE "/invocation/next HTTP/1.1\r\nHost: rt\r\n\r\n");
	assert_true(SERVE_UNTIL(f, sl_rtapi_waiting(f->srv), WAIT_MS));
	before = rss_kb();
	assert_int_equal(
		sl_rtapi_invoke(f->srv, "r1", 1700000000123ULL, "arn:aws:lambda:x", NULL, ev, EV),
		0);
	assert_int_equal(rt_status(f, first), 200);
	for (int i = 0; i < N; i++) { /* each reply is queued, none read past its headers */
		fds[i] = rt_connect(f);
		rt_sends(f, fds[i], "GET " BASE "/invocation/next HTTP/1.1\r\nHost: rt\r\n\r\n");
		assert_int_equal(rt_status(f, fds[i]), 200);
	}
	/* the event copied for the server and its one shared response: 12 MiB, not 8 copies */
	if (rss_kb() - before > 16 * 1024)
		fail_msg("RSS grew by %ld KiB for %d nexts of one 6 MiB event", rss_kb() - before,
			 N + 1);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	close(first);
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: what earlier tests allocated would hide what malloc keeps */
		cmocka_unit_test_setup_teardown(oversize_responses_give_memory_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(listener_accepts_again_after_the_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(listener_serves_again_after_a_slowloris, setup,
						teardown),
		cmocka_unit_test_setup_teardown(one_response_body_at_a_time, setup, teardown),
		cmocka_unit_test_teardown(stalled_upload_is_cut, teardown),
		cmocka_unit_test_setup_teardown(repeated_nexts_share_one_event, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
