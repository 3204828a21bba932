// SPDX-License-Identifier: Apache-2.0
/*
 * One warm invocation round trip through the Runtime API server with the C example function
 * over loopback (sl_rtapi_invoke -> the parked GET next answers -> the function's POST
 * response reaches the callback), beside a baseline measured in the same run: a 64-byte TCP
 * ping-pong between two processes over loopback, the floor of any such exchange.
 *
 *   bench/rtapi-roundtrip [ITERATIONS] [BOOTSTRAP]
 */
#include "daemon/runtime-api.h"

#include <sandlot/util.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#ifndef EXAMPLE_C_BOOTSTRAP
#define EXAMPLE_C_BOOTSTRAP "examples/c/bootstrap"
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void stats(uint64_t *v, size_t n, double *p50, double *p99)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	*p50 = (double)v[n / 2] / 1000.0;
	*p99 = (double)v[n * 99 / 100] / 1000.0;
}

static int listen_loopback(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("listen");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* ---- baseline: TCP ping-pong ---- */

static void baseline(size_t iters, uint64_t *v)
{
	int port, lfd = listen_loopback(&port), one = 1, c;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				.sin_port = htons((uint16_t)port)};
	char buf[64] = {0};
	pid_t pid = fork();

	if (pid == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			_exit(1);
		while (read(s, buf, sizeof(buf)) == sizeof(buf) && write(s, buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	c = accept(lfd, NULL, NULL);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (size_t i = 0; i < iters; i++) {
		uint64_t t0 = now_ns();

		if (write(c, buf, sizeof(buf)) != sizeof(buf) || read(c, buf, sizeof(buf)) <= 0)
			break;
		v[i] = now_ns() - t0;
	}
	close(c);
	close(lfd);
	waitpid(pid, NULL, 0);
}

/* ---- the Runtime API round trip ---- */

struct state {
	bool ready;
	unsigned responses;
};

static void on_ready(struct sl_rtapi *srv, void *u)
{
	((struct state *)u)->ready = true;
}

static void on_response(struct sl_rtapi *srv, void *u, const char *id, const void *body, size_t len,
			const char *ctype)
{
	((struct state *)u)->responses++;
}

static void pump(struct sl_rtapi *srv, int ep)
{
	struct epoll_event ev;
	int tmo = sl_rtapi_timeout_ms(srv);

	epoll_wait(ep, &ev, 1, tmo < 0 || tmo > 100 ? 100 : tmo);
	sl_rtapi_run(srv);
}

static int rtapi(size_t iters, const char *bootstrap, uint64_t *v, double *cold_ms)
{
	static const struct sl_rtapi_ops ops = {.ready = on_ready, .response = on_response};
	const char *payload = "{\"msg\":\"hello, world\",\"n\":1}";
	struct state st = {0};
	struct sl_rtapi *srv = NULL;
	struct epoll_event ev = {.events = EPOLLIN};
	int port, lfd = listen_loopback(&port), ep = epoll_create1(EPOLL_CLOEXEC);
	char api[64], id[32];
	uint64_t t0;
	pid_t pid;

	if (sl_rtapi_new(&srv, lfd, NULL, &ops, &st) < 0)
		return -1;
	epoll_ctl(ep, EPOLL_CTL_ADD, sl_rtapi_fd(srv), &ev);
	snprintf(api, sizeof(api), "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", port);
	t0 = now_ns();
	pid = fork();
	if (pid == 0) {
		execle(bootstrap, bootstrap, NULL, (char *[]){api, NULL});
		_exit(127);
	}
	while (!st.ready)
		pump(srv, ep);
	*cold_ms = (double)(now_ns() - t0) / 1e6;
	for (size_t i = 0; i < iters; i++) {
		while (!sl_rtapi_waiting(srv)) /* the runtime's next GET */
			pump(srv, ep);
		snprintf(id, sizeof(id), "req-%zu", i);
		t0 = now_ns();
		sl_rtapi_invoke(srv, id, 0, "arn:aws:lambda:eu-west-1:1:function:bench", NULL,
				payload, strlen(payload));
		while (st.responses == i)
			pump(srv, ep);
		v[i] = now_ns() - t0;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	sl_rtapi_free(&srv);
	close(ep);
	return 0;
}

static long rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Memory of idle servers, each with a GET next parked on it (a warm, idle sandbox). */
static double idle_kb_per_server(size_t n)
{
	static const char req[] = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"
				  "Host: 127.0.0.1\r\n\r\n";
	struct sl_rtapi **srv = calloc(n, sizeof(*srv));
	int *cfd = calloc(n, sizeof(int));
	long before;
	double kb;

	if (!srv || !cfd)
		return -1;
	before = rss_kb();
	for (size_t i = 0; i < n; i++) {
		int port, lfd = listen_loopback(&port);
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
					.sin_port = htons((uint16_t)port)};

		if (sl_rtapi_new(&srv[i], lfd, NULL, NULL, NULL) < 0)
			return -1;
		cfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(cfd[i], (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    write(cfd[i], req, sizeof(req) - 1) < 0)
			return -1;
		while (!sl_rtapi_waiting(srv[i]))
			sl_rtapi_run(srv[i]);
	}
	kb = (double)(rss_kb() - before) / (double)n;
	for (size_t i = 0; i < n; i++) {
		sl_rtapi_free(&srv[i]);
		close(cfd[i]);
	}
	free(srv);
	free(cfd);
	return kb;
}

int main(int argc, char **argv)
{
	size_t iters = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000, warm = iters / 10;
	const char *bootstrap = argc > 2 ? argv[2] : EXAMPLE_C_BOOTSTRAP;
	uint64_t *a = calloc(iters, sizeof(*a)), *b = calloc(iters, sizeof(*b));
	double ap50, ap99, bp50, bp99, cold;

	if (!a || !b || iters < 100) {
		fprintf(stderr, "usage: rtapi-roundtrip [ITERATIONS>=100] [BOOTSTRAP]\n");
		return 2;
	}
	baseline(iters, b);
	if (rtapi(iters, bootstrap, a, &cold) < 0) {
		fprintf(stderr, "rtapi-roundtrip: cannot start the server\n");
		return 1;
	}
	stats(b + warm, iters - warm, &bp50, &bp99);
	stats(a + warm, iters - warm, &ap50, &ap99);
	printf("%-44s %10s %10s\n", "round trip (loopback)", "p50 us", "p99 us");
	printf("%-44s %10.1f %10.1f\n", "baseline: TCP ping-pong, 64 B", bp50, bp99);
	printf("%-44s %10.1f %10.1f\n", "Runtime API invoke -> response (C example)", ap50, ap99);
	printf("%-44s %10.1fx %9.1fx\n", "ratio", ap50 / bp50, ap99 / bp99);
	printf("cold start to first next (fork+exec C example): %.2f ms; %zu iterations, first %zu "
	       "dropped\n",
	       cold, iters, warm);
	printf("idle server with a parked next: %.1f KB RSS each (100 servers)\n",
	       idle_kb_per_server(100));
	free(a);
	free(b);
	return 0;
}
