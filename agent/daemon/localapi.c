// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's local HTTP API (libmicrohttpd inside the daemon's epoll loop), for operators and
 * sandlotctl, on loopback by default:
 *
 *   GET /healthz        {"status":"ok"|"unregistered"|"draining", "registered":..., ...}
 *                       (503 while "unregistered": the control node does not know us yet)
 *   GET /v1/sandboxes   [{"id", "function", "version", "state", "reason", ...}, ...]
 *   GET /v1/functions   [{"function", "version", "sandboxes", "idle", "busy", ...}, ...]
 *   GET /metrics        Prometheus text format 0.0.4 (metrics-agent.c)
 *   POST /v1/sandboxes/ID/kill   destroys a sandbox (reason "command"); the request must carry
 *                       X-Sandlot-Token: the token the agent writes at start to
 *                       <state dir>/localapi.token (mode 0600: root's sandlotctl only)
 *
 * Only GET and HEAD but for the kill (else 405 with Allow); bodies are refused; connections
 * and memory are bounded.
 */
#include "daemon/localapi.h"

#include "daemon/agent.h"
#include "daemon/metrics-agent.h"
#include "daemon/worker.h"

#include <sandlot/http.h>
#include <sandlot/log.h>
#include <sandlot/time.h>

#include <sandlot/metrics.h>
#include <sandlot/util.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#define LOCALAPI_CONNECTIONS 32
#define LOCALAPI_TIMEOUT_S   10
#define LOCALAPI_CONN_MEMORY (32 * 1024)
#define LOCALAPI_TOKEN_FILE  "localapi.token"
#define LOCALAPI_KILL_PREFIX "/v1/sandboxes/"

struct localapi {
	struct agent *a;
	struct MHD_Daemon *mhd;
	int epfd;
	struct sl_timer *tick;
	char token[65]; /* hex; the kill endpoint's password */
};

static void sandbox_json(const struct worker_sandbox *sb, void *data)
{
	const struct sl_msg_sandbox *m = &sb->msg;
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:I, s:s, s:I}", "id", m->sandbox_id,
		"function", m->function, "version", m->version, "state",
		sl_proto_state_name(m->state), "reason", sl_proto_reason_name(m->reason),
		"memory_mb", (json_int_t)sb->memory_mb, "invocations", (json_int_t)sb->invocations,
		"in_flight", sb->in_flight, "init_us", (json_int_t)(sb->init_ns / 1000),
		"code_sha256", sb->code_sha256, "cgroup_id", (json_int_t)sb->cgroup_id);

	if (o && sb->runtime_id)
		json_object_set_new(o, "runtime_id", json_string(sb->runtime_id));
	json_array_append_new(data, o);
}

static json_t *sandboxes_json(struct agent *a)
{
	json_t *arr = json_array();

	worker_each(a, sandbox_json, arr);
	return arr;
}

static void count_in(json_t *f, const char *key)
{
	json_object_set_new(f, key, json_integer(json_integer_value(json_object_get(f, key)) + 1));
}

static void function_json(const struct worker_sandbox *sb, void *byname)
{
	json_t *f = json_object_get(byname, sb->pool_key);

	if (!f) {
		f = json_pack("{s:s, s:s, s:i, s:i, s:i, s:I}", "function", sb->msg.function,
			      "version", sb->msg.version, "sandboxes", 0, "busy", 0, "warm", 0,
			      "memory_mb", (json_int_t)sb->memory_mb);
		json_object_set_new(byname, sb->pool_key, f);
	}
	count_in(f, "sandboxes");
	if (sb->in_flight)
		count_in(f, "busy");
	if (sb->warm)
		count_in(f, "warm");
}

static json_t *functions_json(struct agent *a)
{
	json_t *byname = json_object(), *arr = json_array(), *v;
	const char *k;

	worker_each(a, function_json, byname);
	json_object_foreach (byname, k, v) {
		json_array_append(arr, v);
	}
	json_decref(byname);
	return arr;
}

static json_t *health_json(struct agent *a)
{
	uint32_t created, busy, idle, frozen, inflight;
	uint64_t mem;

	worker_counts(a, &created, &busy, &idle, &frozen, &mem, &inflight);
	return json_pack(
		"{s:s, s:s, s:s, s:b, s:b, s:i, s:i, s:I, s:I, s:{s:i, s:i, s:i, s:i}}", "status",
		worker_draining(a) ? "draining"
		: a->registered	   ? "ok"
				   : "unregistered",
		"name", a->cfg.name, "version", SANDLOT_VERSION, "registered", a->registered, "bpf",
		a->bpf != NULL, "sandboxes", (int)worker_count(a), "in_flight", (int)inflight,
		"memory_reserved_bytes", (json_int_t)mem, "memory_capacity_bytes",
		(json_int_t)a->cfg.memory_capacity, "by_state", "created", (int)created, "busy",
		(int)busy, "idle", (int)idle, "frozen", (int)frozen);
}

static enum MHD_Result reply_allow(struct MHD_Connection *c, unsigned status, json_t *body,
				   const char *allow)
{
	struct MHD_Response *r = sl_http_json_response(body);

	if (r && allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	return sl_http_queue(c, status, r);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, json_t *body)
{
	return reply_allow(c, status, body, NULL);
}

static enum MHD_Result reply_metrics(struct MHD_Connection *c, struct agent *a)
{
	struct agent_metrics_counts counts;
	char *txt = NULL;
	size_t len = 0;

	worker_counts(a, &counts.created, &counts.busy, &counts.idle, &counts.frozen, &counts.mem,
		      &counts.inflight);
	if (agent_metrics_render(a, &counts, &txt, &len) < 0)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			     json_pack("{s:s}", "error", "cannot render the metrics"));
	return sl_http_queue(c, MHD_HTTP_OK,
			     sl_http_response_take(txt, len, SL_METRICS_CONTENT_TYPE));
}

/* Constant-time comparison of the request's token with ours. */
static bool token_ok(const struct localapi *h, const char *got)
{
	unsigned char d = 0;

	if (!got || strlen(got) != strlen(h->token) || !h->token[0])
		return false;
	for (size_t i = 0; h->token[i]; i++)
		d |= (unsigned char)(got[i] ^ h->token[i]);
	return d == 0;
}

/* POST /v1/sandboxes/ID/kill */
static enum MHD_Result kill_sandbox(struct localapi *h, struct MHD_Connection *c, const char *url)
{
	const char *id = url + strlen(LOCALAPI_KILL_PREFIX), *end = strchr(id, '/');
	char buf[SL_MSG_ID_MAX + 1];

	if (!end || strcmp(end, "/kill") != 0 || end == id || (size_t)(end - id) > SL_MSG_ID_MAX)
		return reply(c, MHD_HTTP_NOT_FOUND, json_pack("{s:s}", "error", "no such path"));
	if (!token_ok(h, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Sandlot-Token")))
		return reply(c, MHD_HTTP_FORBIDDEN,
			     json_pack("{s:s}", "error", "missing or wrong X-Sandlot-Token"));
	snprintf(buf, sizeof(buf), "%.*s", (int)(end - id), id);
	if (worker_kill(h->a, buf) < 0)
		return reply(c, MHD_HTTP_NOT_FOUND, json_pack("{s:s}", "error", "no such sandbox"));
	sl_info_kv("sandbox killed through the local API", "sandbox=%s", buf);
	return reply(c, MHD_HTTP_ACCEPTED, json_pack("{s:s, s:s}", "id", buf, "status", "killed"));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_len, void **con_cls)
{
	struct localapi *h = cls;

	if (strcmp(method, "POST") == 0 && !*data_len &&
	    strncmp(url, LOCALAPI_KILL_PREFIX, strlen(LOCALAPI_KILL_PREFIX)) == 0)
		return kill_sandbox(h, c, url);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_allow(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				   json_pack("{s:s}", "error", "only GET is served here"),
				   strncmp(url, LOCALAPI_KILL_PREFIX, strlen(LOCALAPI_KILL_PREFIX))
					   ? "GET, HEAD"
					   : "POST");
	if (*data_len) /* a GET with a body: refuse it rather than buffer it */
		return reply(c, MHD_HTTP_BAD_REQUEST,
			     json_pack("{s:s}", "error", "unexpected body"));
	if (strcmp(url, "/healthz") == 0) /* 503 until the control node knows us */
		return reply(c,
			     h->a->registered || worker_draining(h->a)
				     ? MHD_HTTP_OK
				     : MHD_HTTP_SERVICE_UNAVAILABLE,
			     health_json(h->a));
	if (strcmp(url, "/v1/sandboxes") == 0)
		return reply(c, MHD_HTTP_OK, sandboxes_json(h->a));
	if (strcmp(url, "/v1/functions") == 0)
		return reply(c, MHD_HTTP_OK, functions_json(h->a));
	if (strcmp(url, "/metrics") == 0)
		return reply_metrics(c, h->a);
	return reply(c, MHD_HTTP_NOT_FOUND, json_pack("{s:s}", "error", "no such path"));
}

static void run(struct localapi *h)
{
	if (MHD_run(h->mhd) != MHD_YES)
		sl_debug("local API: MHD_run failed");
}

static void on_ready(struct sl_loop *loop, int fd, uint32_t events, void *data)
{
	run(data);
}

/* Connection time-outs need MHD_run() even when nothing arrives. */
static void on_tick(struct sl_loop *loop, void *data)
{
	struct localapi *h = data;

	h->tick = NULL;
	run(h);
	sl_loop_add_timer(loop, sl_now_ns() + SL_NSEC_PER_SEC, on_tick, h, &h->tick);
}

static int parse_addr(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[SL_AGENT_ADDR_MAX + 1];
	const char *colon = strrchr(s, ':');

	memset(ss, 0, sizeof(*ss));
	if (!colon || sl_validate_host_port(s) < 0)
		return -EINVAL;
	if (s[0] == '[') {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s - 2), s + 1);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)atoi(colon + 1));
		return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -EINVAL;
}

/* A fresh random token in <state dir>/localapi.token, readable by root only. */
static int write_token(struct localapi *h)
{
	unsigned char raw[32];
	char path[sizeof(h->a->cfg.state_dir) + 32];
	_cleanup_close_ int fd = -1;

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(h->token + 2 * i, 3, "%02x", raw[i]);
	snprintf(path, sizeof(path), "%s/%s", h->a->cfg.state_dir, LOCALAPI_TOKEN_FILE);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, h->token, 64) != 64) {
		h->token[0] = '\0'; /* no kill through this API then */
		return fd < 0 ? -errno : -EIO;
	}
	return 0;
}

int localapi_open(struct agent *a, struct localapi **ret)
{
	struct localapi *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL;
	int r;

	if (!h)
		return -ENOMEM;
	h->a = a;
	r = parse_addr(a->cfg.http, &ss);
	if (r < 0)
		goto fail;
	r = agent_metrics_new(&a->metrics, a->cfg.bpf_pin_root);
	if (r < 0)
		goto fail;
	if (write_token(h) < 0)
		sl_warn("local API: cannot write %s/%s: sandbox kill disabled", a->cfg.state_dir,
			LOCALAPI_TOKEN_FILE);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &ss,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)LOCALAPI_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)LOCALAPI_TIMEOUT_S,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LOCALAPI_CONN_MEMORY,
				  MHD_OPTION_END);
	r = -EADDRINUSE;
	if (!h->mhd)
		goto fail;
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	r = -EIO;
	if (!info || info->epoll_fd < 0)
		goto fail;
	h->epfd = info->epoll_fd;
	r = sl_loop_add_io(a->loop, h->epfd, EPOLLIN, on_ready, h);
	if (r < 0)
		goto fail;
	sl_loop_add_timer(a->loop, sl_now_ns() + SL_NSEC_PER_SEC, on_tick, h, &h->tick);
	*ret = h;
	return 0;
fail:
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	agent_metrics_free(&a->metrics);
	free(h);
	return r;
}

void localapi_free(struct localapi **hp)
{
	struct localapi *h = *hp;

	if (!h)
		return;
	sl_loop_cancel_timer(h->a->loop, &h->tick);
	sl_loop_del_io(h->a->loop, h->epfd);
	MHD_stop_daemon(h->mhd);
	agent_metrics_free(&h->a->metrics);
	free(h);
	*hp = NULL;
}
