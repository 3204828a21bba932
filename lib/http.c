// SPDX-License-Identifier: Apache-2.0
/* libmicrohttpd inside an sl_loop (see <sandlot/http.h>). */
#include <sandlot/http.h>

#include <sandlot/time.h>
#include <sandlot/util.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>

struct sl_http {
	struct sl_loop *loop;
	struct MHD_Daemon *mhd;
	int epfd;
	struct sl_timer *tick;
	bool in_run; /* inside MHD_run: a resume must not recurse into it */
	bool kick;   /* a connection was resumed during MHD_run: run again */
	bool due;    /* a connection was resumed since the last run: tick is armed for now */
	uint16_t port;
};

int sl_http_parse_addr(const char *s, struct sockaddr_storage *ret)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	const char *colon = s ? strrchr(s, ':') : NULL;
	char host[64], *end;
	unsigned long port;

	if (!colon || colon == s || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port > 65535 || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	if (s[0] == '[') {
		if (colon[-1] != ']' || colon - s < 3)
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s - 2), s + 1);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -EINVAL;
	} else {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -EINVAL;
	}
	*ret = ss;
	return 0;
}

static void on_tick(struct sl_loop *loop, void *data);

/*
 * Runs MHD, then arms the timer for when MHD wants to run next: connection time-outs, and
 * work that no epoll event will announce (a resumed keep-alive connection whose next request
 * is already buffered: MHD_get_timeout() is then 0). At most a second apart.
 *
 * MHD wanting to run again at once is common: a resumed connection is answered in one run and
 * only put back into MHD's epoll set in the next. Those runs are made here, up to RUN_MAX in
 * all, rather than through the loop (a turn and an epoll wait of its own each).
 */
#define RUN_MAX 3

static void run(struct sl_http *h)
{
	MHD_UNSIGNED_LONG_LONG ms = 1000;
	unsigned runs = 0;

	h->in_run = true;
	h->due = false;
	for (;;) {
		h->kick = false;
		MHD_run(h->mhd);
		if (h->kick)
			continue;
		if (MHD_get_timeout(h->mhd, &ms) != MHD_YES)
			ms = 1000;
		if (ms > 0 || ++runs >= RUN_MAX)
			break;
	}
	h->in_run = false;
	if (ms > 1000)
		ms = 1000;
	sl_loop_cancel_timer(h->loop, &h->tick);
	sl_loop_add_timer(h->loop, sl_now_ns() + ms * SL_NSEC_PER_MSEC, on_tick, h, &h->tick);
}

static void on_ready(struct sl_loop *loop, int fd, uint32_t events, void *data)
{
	run(data);
}

static void on_tick(struct sl_loop *loop, void *data)
{
	struct sl_http *h = data;

	h->tick = NULL;
	run(h);
}

static struct MHD_Daemon *start(const struct sl_http_config *cfg, struct sockaddr_storage *ss)
{
	unsigned flags = MHD_USE_EPOLL | MHD_USE_TURBO;

	if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cfg->suspend_resume)
		flags |= MHD_ALLOW_SUSPEND_RESUME;
	return MHD_start_daemon(
		flags, 0, NULL, NULL, cfg->handler, cfg->handler_data, MHD_OPTION_SOCK_ADDR, ss,
		MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections ? cfg->max_connections : 256u,
		MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s ? cfg->timeout_s : 30u,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		cfg->conn_memory ? cfg->conn_memory : (size_t)(64 << 10),
		MHD_OPTION_NOTIFY_COMPLETED, cfg->completed, cfg->completed_data,
		MHD_OPTION_URI_LOG_CALLBACK, cfg->uri_log, cfg->uri_log_data, MHD_OPTION_END);
}

int sl_http_new(struct sl_http **ret, struct sl_loop *loop, const struct sl_http_config *cfg)
{
	struct sl_http *h;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	int r = sl_http_parse_addr(cfg->addr, &ss);

	if (r < 0)
		return r;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->epfd = -1;
	h->mhd = start(cfg, &ss);
	r = -EADDRINUSE;
	if (!h->mhd)
		goto fail;
	r = -EIO;
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0)
		goto fail;
	h->epfd = info->epoll_fd;
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	r = sl_loop_add_io(loop, h->epfd, EPOLLIN, on_ready, h);
	if (r < 0)
		goto fail;
	sl_loop_add_timer(loop, sl_now_ns() + SL_NSEC_PER_SEC, on_tick, h, &h->tick);
	*ret = h;
	return 0;
fail:
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h);
	return r;
}

void sl_http_free(struct sl_http **hp)
{
	struct sl_http *h = *hp;

	if (!h)
		return;
	if (h->due)
		run(h); /* what was resumed last goes out before MHD closes the connections */
	sl_loop_cancel_timer(h->loop, &h->tick);
	sl_loop_del_io(h->loop, h->epfd);
	MHD_stop_daemon(h->mhd);
	free(h);
	*hp = NULL;
}

void sl_http_resume(struct sl_http *h, struct MHD_Connection *c)
{
	MHD_resume_connection(c);
	if (h->in_run) {
		h->kick = true;
		return;
	}
	if (h->due)
		return;
	/*
	 * One MHD_run at the end of this loop turn (the loop fires due timers after the turn's
	 * I/O) for every connection resumed in it; a run before then (MHD's epoll fd ready)
	 * re-arms the tick and takes them along.
	 */
	sl_loop_cancel_timer(h->loop, &h->tick);
	if (sl_loop_add_timer(h->loop, 0, on_tick, h, &h->tick) == 0)
		h->due = true;
	else
		run(h);
}

void sl_http_quiesce(struct sl_http *h)
{
	MHD_socket fd = MHD_quiesce_daemon(h->mhd);

	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

uint16_t sl_http_port(const struct sl_http *h)
{
	return h->port;
}
