// SPDX-License-Identifier: Apache-2.0
#include "lambda_runtime.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

/*
 * HTTP comes from libevent's evhttp: it depends on libc alone, so a bootstrap starts in well
 * under a millisecond (libcurl's TLS, LDAP, Kerberos... dependencies cost about 10 ms per
 * exec, most of a cold start).
 */

enum {
	FIELD_MAX = 8192,
	MAX_BODY = 6 * 1024 * 1024 + 100, /* Lambda's payload limit */
};

/* The runtime client: one kept-alive connection, reused buffers. */
struct client {
	struct event_base *base;
	struct evhttp_connection *conn;
	char host[256];
	int status; /* of the last request; 0 when it failed */
	bool timed_out;
	struct lambda_result event; /* the GET next body */
	char id[128], arn[1024], trace[FIELD_MAX], ctx[FIELD_MAX], cognito[FIELD_MAX];
	char deadline[32];
};

int lambda_result_set(struct lambda_result *res, const void *body, size_t len)
{
	if (len + 1 > res->cap) {
		char *b = realloc(res->body, len + 1);

		if (!b)
			return -1;
		res->body = b;
		res->cap = len + 1;
	}
	if (len)
		memcpy(res->body, body, len);
	res->body[len] = '\0';
	res->len = len;
	return 0;
}

int lambda_result_error(struct lambda_result *res, const char *type, const char *message)
{
	json_t *o = json_pack("{s:s, s:s, s:[]}", "errorMessage", message ? message : "",
			      "errorType", type ? type : "Error", "stackTrace");
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	snprintf(res->error_type, sizeof(res->error_type), "%s", type ? type : "Error");
	if (s)
		lambda_result_set(res, s, strlen(s));
	free(s);
	return -1;
}

static void copy_header(struct evkeyvalq *h, const char *name, char *out, size_t len)
{
	const char *v = evhttp_find_header(h, name);

	snprintf(out, len, "%s", v ? v : "");
}

/* Completion of GET next: keep the headers and the body. */
static void on_next(struct evhttp_request *req, void *arg)
{
	struct client *c = arg;
	struct evkeyvalq *h;
	struct evbuffer *b;
	size_t len;

	event_base_loopbreak(c->base);
	c->status = req ? evhttp_request_get_response_code(req) : 0;
	if (c->status != 200)
		return;
	h = evhttp_request_get_input_headers(req);
	copy_header(h, "Lambda-Runtime-Aws-Request-Id", c->id, sizeof(c->id));
	copy_header(h, "Lambda-Runtime-Invoked-Function-Arn", c->arn, sizeof(c->arn));
	copy_header(h, "Lambda-Runtime-Trace-Id", c->trace, sizeof(c->trace));
	copy_header(h, "Lambda-Runtime-Client-Context", c->ctx, sizeof(c->ctx));
	copy_header(h, "Lambda-Runtime-Cognito-Identity", c->cognito, sizeof(c->cognito));
	copy_header(h, "Lambda-Runtime-Deadline-Ms", c->deadline, sizeof(c->deadline));
	b = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(b);
	if (len + 1 > c->event.cap) {
		char *p = realloc(c->event.body, len + 1);

		if (!p) {
			c->status = 0;
			return;
		}
		c->event.body = p;
		c->event.cap = len + 1;
	}
	evbuffer_remove(b, c->event.body, len);
	c->event.body[len] = '\0';
	c->event.len = len;
}

/* Completion of a POST: only the status matters. */
static void on_post(struct evhttp_request *req, void *arg)
{
	struct client *c = arg;

	event_base_loopbreak(c->base);
	c->status = req ? evhttp_request_get_response_code(req) : 0;
}

static void on_error(enum evhttp_request_error err, void *arg)
{
	((struct client *)arg)->timed_out = err == EVREQ_HTTP_TIMEOUT;
}

/* Sends one request and runs the loop until it completes. Returns the HTTP status or 0. */
static int request(struct client *c, enum evhttp_cmd_type type, const char *path,
		   const char *error_type, const void *body, size_t len)
{
	struct evhttp_request *req =
		evhttp_request_new(type == EVHTTP_REQ_GET ? on_next : on_post, c);
	struct evkeyvalq *h;

	if (!req)
		return 0;
	evhttp_request_set_error_cb(req, on_error);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", c->host);
	if (error_type)
		evhttp_add_header(h, "Lambda-Runtime-Function-Error-Type", error_type);
	if (len && evbuffer_add(evhttp_request_get_output_buffer(req), body, len) < 0) {
		evhttp_request_free(req);
		return 0;
	}
	c->status = 0;
	c->timed_out = false;
	if (evhttp_make_request(c->conn, req, type, path) < 0) /* frees req on failure */
		return 0;
	event_base_dispatch(c->base);
	return c->status;
}

/* GET next: blocks until an event arrives. Returns 0 or -1. */
static int get_next(struct client *c)
{
	do {
		c->id[0] = '\0';
		request(c, EVHTTP_REQ_GET, "/2018-06-01/runtime/invocation/next", NULL, NULL, 0);
	} while (c->status == 0 && c->timed_out); /* a very long idle: ask again */
	return c->status == 200 && c->id[0] ? 0 : -1;
}

/*
 * One thread, one connection: no locks, and epoll's changelist, which folds the add/delete
 * pairs evhttp makes on each request into one epoll_ctl per loop iteration (12 epoll_ctl per
 * invocation without it, each about 1 us here: a tenth of this client's CPU per invocation).
 */
static struct event_base *new_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (!cfg)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK | EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

static int client_init(struct client *c)
{
	const char *api = getenv("AWS_LAMBDA_RUNTIME_API"), *colon;
	/* a long poll may last as long as the sandbox stays warm: no practical timeout */
	struct timeval day = {.tv_sec = 24 * 3600};
	unsigned long port;

	memset(c, 0, sizeof(*c));
	colon = api ? strrchr(api, ':') : NULL;
	port = colon ? strtoul(colon + 1, NULL, 10) : 0;
	if (!colon || colon == api || (size_t)(colon - api) >= sizeof(c->host) || !port ||
	    port > 65535) {
		fprintf(stderr, "lambda_runtime: AWS_LAMBDA_RUNTIME_API is not host:port\n");
		return -1;
	}
	snprintf(c->host, sizeof(c->host), "%.*s", (int)(colon - api), api);
	c->base = new_base();
	c->conn =
		c->base ? evhttp_connection_base_new(c->base, NULL, c->host, (uint16_t)port) : NULL;
	if (!c->conn)
		return -1;
	evhttp_connection_set_timeout_tv(c->conn, &day);
	evhttp_connection_set_max_body_size(c->conn, MAX_BODY);
	evhttp_connection_set_max_headers_size(c->conn, 64 * 1024);
	return 0;
}

static void client_free(struct client *c)
{
	if (c->conn)
		evhttp_connection_free(c->conn);
	if (c->base)
		event_base_free(c->base);
	free(c->event.body);
}

/* Runs one invocation through the handler and posts its outcome. Returns 0 or -1. */
static int handle_one(struct client *c, lambda_handler_fn handler, void *userdata,
		      struct lambda_result *res)
{
	struct lambda_invocation inv = {
		.request_id = c->id,
		.function_arn = c->arn,
		.trace_id = c->trace,
		.client_context = c->ctx,
		.cognito_identity = c->cognito,
		.deadline_ms = strtoull(c->deadline, NULL, 10),
		.body = c->event.body,
		.len = c->event.len,
	};
	char path[192];
	int status;

	res->len = 0;
	res->error_type[0] = '\0';
	if (handler(&inv, res, userdata) == 0) {
		snprintf(path, sizeof(path), "/2018-06-01/runtime/invocation/%s/response", c->id);
		status = request(c, EVHTTP_REQ_POST, path, NULL, res->body, res->len);
	} else {
		if (!res->error_type[0])
			lambda_result_error(res, "Error", "handler failed");
		snprintf(path, sizeof(path), "/2018-06-01/runtime/invocation/%s/error", c->id);
		status = request(c, EVHTTP_REQ_POST, path, res->error_type, res->body, res->len);
	}
	/* 413 (response too large) ends the invocation too; anything else is fatal */
	return status == 202 || status == 413 ? 0 : -1;
}

int lambda_runtime_run(lambda_handler_fn handler, void *userdata)
{
	struct lambda_result res = {0};
	struct client c;

	if (client_init(&c) < 0) {
		client_free(&c);
		return 1;
	}
	while (get_next(&c) == 0 && handle_one(&c, handler, userdata, &res) == 0)
		;
	fprintf(stderr, "lambda_runtime: the Runtime API failed; exiting\n");
	client_free(&c);
	free(res.body);
	return 1;
}

int lambda_runtime_init_error(const char *type, const char *message)
{
	struct lambda_result res = {0};
	struct client c;
	int status = 0;

	if (client_init(&c) == 0) {
		lambda_result_error(&res, type, message);
		status = request(&c, EVHTTP_REQ_POST, "/2018-06-01/runtime/init/error",
				 res.error_type, res.body, res.len);
	}
	client_free(&c);
	free(res.body);
	return status == 202 ? 0 : -1;
}
