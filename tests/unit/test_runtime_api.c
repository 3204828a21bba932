// SPDX-License-Identifier: Apache-2.0
/*
 * The Runtime API server over loopback: driven by libcurl (multi interface, in the same loop as
 * the server) and by the example bootstraps (C, shell, Python) run as real child processes.
 */
#include "testutil.h"

#include <sandlot/util.h>

#include "daemon/lambda-env.h"
#include "daemon/runtime-api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#define BASE "/2018-06-01/runtime"

enum { PUMP_MS = 15000 };

/* One HTTP call made by the test. */
struct call {
	CURL *h;
	struct curl_slist *hdrs;
	char body[8192];
	size_t blen;
	char headers[32768];
	size_t hlen;
	long status;
	bool done;
	CURLcode result;
	char *upload;
};

struct fx {
	int port;
	struct sl_rtapi *srv;
	CURLM *multi;
	struct call *calls[16];
	size_t n_calls;
	pid_t child;
	int n_ready, n_response, n_error, n_init_error;
	char id[80], ctype[128];
	char *rbody;
	size_t rlen;
	char etype[128], eerrtype[128], emsg[256];
	bool ejson;
};

/* ---- callbacks ---- */

static void on_ready(struct sl_rtapi *srv, void *u)
{
	((struct fx *)u)->n_ready++;
}

static void on_response(struct sl_rtapi *srv, void *u, const char *id, const void *body, size_t len,
			const char *ctype)
{
	struct fx *f = u;

	f->n_response++;
	snprintf(f->id, sizeof(f->id), "%s", id);
	snprintf(f->ctype, sizeof(f->ctype), "%s", ctype ? ctype : "");
	free(f->rbody);
	f->rbody = malloc(len + 1);
	assert_non_null(f->rbody);
	memcpy(f->rbody, body, len);
	f->rbody[len] = '\0';
	f->rlen = len;
}

static void record_error(struct fx *f, const struct sl_rtapi_error *e)
{
	snprintf(f->etype, sizeof(f->etype), "%s", e->type);
	snprintf(f->eerrtype, sizeof(f->eerrtype), "%s", e->error_type ? e->error_type : "");
	snprintf(f->emsg, sizeof(f->emsg), "%s", e->error_message ? e->error_message : "");
	f->ejson = e->body_json;
}

static void on_error(struct sl_rtapi *srv, void *u, const char *id, const struct sl_rtapi_error *e)
{
	struct fx *f = u;

	f->n_error++;
	snprintf(f->id, sizeof(f->id), "%s", id);
	record_error(f, e);
}

static void on_init_error(struct sl_rtapi *srv, void *u, const struct sl_rtapi_error *e)
{
	struct fx *f = u;

	f->n_init_error++;
	record_error(f, e);
}

static const struct sl_rtapi_ops ops = {
	.ready = on_ready,
	.response = on_response,
	.error = on_error,
	.init_error = on_init_error,
};

/* ---- fixture ---- */

static int listen_loopback(int *ret_port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*ret_port = ntohs(a.sin_port);
	return fd;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	fd = listen_loopback(&f->port);
	assert_int_equal(sl_rtapi_new(&f->srv, fd, NULL, &ops, f), 0);
	f->multi = curl_multi_init();
	assert_non_null(f->multi);
	f->child = -1;
	*state = f;
	return 0;
}

static void call_free(struct fx *f, struct call *c)
{
	curl_multi_remove_handle(f->multi, c->h);
	curl_easy_cleanup(c->h);
	curl_slist_free_all(c->hdrs);
	free(c->upload);
	free(c);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->child > 0) {
		kill(f->child, SIGKILL);
		waitpid(f->child, NULL, 0);
	}
	for (size_t i = 0; i < f->n_calls; i++)
		call_free(f, f->calls[i]);
	curl_multi_cleanup(f->multi);
	sl_rtapi_free(&f->srv);
	assert_null(f->srv);
	free(f->rbody);
	free(f);
	return 0;
}

/* ---- the loop: curl and the server, in one thread ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pump_once(struct fx *f)
{
	struct curl_waitfd w = {.fd = sl_rtapi_fd(f->srv), .events = CURL_WAIT_POLLIN};
	int running, left, tmo = sl_rtapi_timeout_ms(f->srv);
	CURLMsg *m;

	curl_multi_perform(f->multi, &running);
	while ((m = curl_multi_info_read(f->multi, &left))) {
		for (size_t i = 0; m->msg == CURLMSG_DONE && i < f->n_calls; i++) {
			struct call *c = f->calls[i];

			if (c->h != m->easy_handle)
				continue;
			c->done = true;
			c->result = m->data.result;
			curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &c->status);
		}
	}
	assert_int_equal(sl_rtapi_run(f->srv), 0);
	curl_multi_poll(f->multi, &w, 1, tmo >= 0 && tmo < 5 ? tmo : 5, NULL);
	assert_int_equal(sl_rtapi_run(f->srv), 0);
}

#define PUMP_UNTIL(f, cond)                         \
	do {                                        \
		uint64_t _end = now_ms() + PUMP_MS; \
		while (!(cond) && now_ms() < _end)  \
			pump_once(f);               \
		assert_true(cond);                  \
	} while (0)

static void pump_for(struct fx *f, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end)
		pump_once(f);
}

static size_t on_body(char *d, size_t sz, size_t n, void *u)
{
	struct call *c = u;
	size_t len = sz * n, room = sizeof(c->body) - 1 - c->blen;

	memcpy(c->body + c->blen, d, MIN(len, room));
	c->blen += MIN(len, room);
	c->body[c->blen] = '\0';
	return len;
}

static size_t on_header(char *d, size_t sz, size_t n, void *u)
{
	struct call *c = u;
	size_t len = sz * n, room = sizeof(c->headers) - 1 - c->hlen;

	memcpy(c->headers + c->hlen, d, MIN(len, room));
	c->hlen += MIN(len, room);
	c->headers[c->hlen] = '\0';
	return len;
}

/* Starts a request; body may be NULL (GET unless method says otherwise). */
static struct call *start(struct fx *f, const char *method, const char *path, const void *body,
			  size_t len, const char *header)
{
	struct call *c = calloc(1, sizeof(*c));
	char url[512];

	assert_non_null(c);
	assert_true(f->n_calls < ARRAY_SIZE(f->calls));
	c->h = curl_easy_init();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->port, path);
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		c->upload = malloc(len + 1);
		memcpy(c->upload, body, len);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->upload);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	if (header)
		c->hdrs = curl_slist_append(NULL, header);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdrs);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
	curl_multi_add_handle(f->multi, c->h);
	f->calls[f->n_calls++] = c;
	return c;
}

static struct call *call(struct fx *f, const char *method, const char *path, const void *body,
			 size_t len, const char *header)
{
	struct call *c = start(f, method, path, body, len, header);

	PUMP_UNTIL(f, c->done);
	assert_int_equal(c->result, CURLE_OK);
	return c;
}

/* Asserts that the response carries "Name: value" (case-insensitive name). */
static void assert_header(const struct call *c, const char *name, const char *value)
{
	char want[1024];

	snprintf(want, sizeof(want), "\r\n%s: %s\r\n", name, value);
	if (!strcasestr(c->headers, want))
		fail_msg("missing header %s: %s in\n%s", name, value, c->headers);
}

/* Asserts that the JSON body has errorType type and a non-empty errorMessage. */
static void assert_error_body(const struct call *c, const char *type)
{
	json_t *o = json_loads(c->body, 0, NULL);

	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "errorType")), type);
	assert_true(strlen(json_string_value(json_object_get(o, "errorMessage"))) > 0);
	assert_header(c, "Content-Type", "application/json");
	json_decref(o);
}

static const char *arn = "arn:aws:lambda:eu-west-1:123456789012:function:hello";
static const char *trace = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;"
			   "Sampled=1";

static void invoke(struct fx *f, const char *id, const char *payload)
{
	assert_int_equal(
		sl_rtapi_invoke(f->srv, id, 1700000000123ULL, arn, trace, payload, strlen(payload)),
		0);
}

/* Cold start: next, then an invocation delivered to it. Returns the next call. */
static struct call *deliver(struct fx *f, const char *id, const char *payload)
{
	struct call *c = start(f, "GET", BASE "/invocation/next", NULL, 0, NULL);

	PUMP_UNTIL(f, sl_rtapi_waiting(f->srv));
	invoke(f, id, payload);
	PUMP_UNTIL(f, c->done);
	assert_int_equal(c->status, 200);
	return c;
}

/* ---- tests: the API with libcurl ---- */

static void next_waits_until_an_event_is_queued(void **state)
{
	struct fx *f = *state;
	struct sl_rtapi_event ev = {
		.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
		.deadline_ms = 1542409706888ULL,
		.arn = arn,
		.trace_id = trace,
		.client_context = "eyJjbGllbnQiOnt9fQ==",
		.cognito_identity = "{\"cognitoIdentityId\":\"x\"}",
		.payload = "{\"msg\":\"hello\"}",
		.len = 15,
	};
	struct call *c = start(f, "GET", BASE "/invocation/next", NULL, 0, NULL);

	assert_string_equal(sl_rtapi_state(f->srv), "Started");
	PUMP_UNTIL(f, f->n_ready == 1); /* cold start over */
	pump_for(f, 200);
	assert_false(c->done); /* long poll: nothing to deliver yet */
	assert_true(sl_rtapi_waiting(f->srv));
	assert_string_equal(sl_rtapi_state(f->srv), "Ready");
	assert_int_equal(sl_rtapi_invoke_event(f->srv, &ev), 0);
	PUMP_UNTIL(f, c->done);
	assert_int_equal(c->status, 200);
	assert_string_equal(c->body, "{\"msg\":\"hello\"}");
	assert_header(c, "Lambda-Runtime-Aws-Request-Id", ev.request_id);
	assert_header(c, "Lambda-Runtime-Deadline-Ms", "1542409706888");
	assert_header(c, "Lambda-Runtime-Invoked-Function-Arn", arn);
	assert_header(c, "Lambda-Runtime-Trace-Id", trace);
	assert_header(c, "Lambda-Runtime-Client-Context", ev.client_context);
	assert_header(c, "Lambda-Runtime-Cognito-Identity", ev.cognito_identity);
	assert_header(c, "Content-Type", "application/json");
	assert_string_equal(sl_rtapi_state(f->srv), "Running");
	assert_int_equal(f->n_ready, 1);
}

static void headers_at_their_bound_are_delivered(void **state)
{
	struct fx *f = *state;
	char big[4][SL_RTAPI_HEADER_MAX + 2];
	struct sl_rtapi_event ev = {
		.request_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		.deadline_ms = UINT64_MAX,
		.arn = big[0],
		.trace_id = big[1],
		.client_context = big[2],
		.cognito_identity = big[3],
		.payload = "{}",
		.len = 2,
	};
	struct call *c;

	for (int i = 0; i < 4; i++) {
		memset(big[i], 'a' + i, SL_RTAPI_HEADER_MAX + 1);
		big[i][SL_RTAPI_HEADER_MAX + 1] = '\0';
	}
	assert_int_equal(sl_rtapi_invoke_event(f->srv, &ev), -EINVAL); /* one byte over */
	for (int i = 0; i < 4; i++)
		big[i][SL_RTAPI_HEADER_MAX] = '\0';
	assert_int_equal(sl_rtapi_invoke_event(f->srv, &ev), 0);
	c = call(f, "GET", BASE "/invocation/next", NULL, 0, NULL);
	assert_int_equal(c->status, 200);
	assert_header(c, "Lambda-Runtime-Deadline-Ms", "18446744073709551615");
	assert_non_null(strstr(c->headers, big[2]));
	assert_non_null(strstr(c->headers, big[3]));
}

static void event_queued_before_next_is_delivered_at_once(void **state)
{
	struct fx *f = *state;
	struct call *c;

	invoke(f, "req-1", "{}");
	assert_int_equal(sl_rtapi_invoke(f->srv, "req-2", 1, arn, NULL, "{}", 2), -EBUSY);
	c = call(f, "GET", BASE "/invocation/next", NULL, 0, NULL);
	assert_int_equal(c->status, 200);
	assert_int_equal(f->n_ready, 1);
	assert_header(c, "Lambda-Runtime-Aws-Request-Id", "req-1");
	assert_null(strcasestr(c->headers, "Lambda-Runtime-Client-Context"));
	/* next again while Running gets the same event, as Lambda does */
	c = call(f, "GET", BASE "/invocation/next", NULL, 0, NULL);
	assert_header(c, "Lambda-Runtime-Aws-Request-Id", "req-1");
}

static void response_completes_the_invocation(void **state)
{
	struct fx *f = *state;
	struct call *c;
	long connects = -1;

	deliver(f, "req-1", "{\"a\":1}");
	c = call(f, "POST", BASE "/invocation/req-1/response", "\"done\"", 6,
		 "Content-Type: application/json");
	assert_int_equal(c->status, 202);
	assert_string_equal(c->body, "{\"status\":\"OK\"}");
	assert_int_equal(f->n_response, 1);
	assert_string_equal(f->id, "req-1");
	assert_string_equal(f->rbody, "\"done\"");
	assert_string_equal(f->ctype, "application/json");
	assert_string_equal(sl_rtapi_state(f->srv), "RuntimeResponseSentState");
	/* a second response for the same invocation is a state error */
	c = call(f, "POST", BASE "/invocation/req-1/response", "x", 1, NULL);
	assert_int_equal(c->status, 403);
	assert_error_body(c, "InvalidStateTransition");
	assert_int_equal(f->n_response, 1);
	/* warm: the next invocation; the response reuses the connection next came on */
	deliver(f, "req-2", "{}");
	c = call(f, "POST", BASE "/invocation/req-2/response", "", 0, NULL);
	assert_int_equal(c->status, 202);
	assert_int_equal(curl_easy_getinfo(c->h, CURLINFO_NUM_CONNECTS, &connects), CURLE_OK);
	assert_int_equal(connects, 0);
	assert_int_equal(f->n_response, 2);
	assert_int_equal(f->rlen, 0);
	assert_int_equal(f->n_ready, 1);
}

static void unknown_request_id_is_rejected(void **state)
{
	struct fx *f = *state;
	struct call *c;

	c = call(f, "POST", BASE "/invocation/nope/response", "x", 1, NULL);
	assert_int_equal(c->status, 400);
	assert_error_body(c, "InvalidRequestID");
	deliver(f, "req-1", "{}");
	c = call(f, "POST", BASE "/invocation/req-0/response", "x", 1, NULL);
	assert_int_equal(c->status, 400);
	assert_error_body(c, "InvalidRequestID");
	c = call(f, "POST", BASE "/invocation/req-0/error", "{}", 2, NULL);
	assert_int_equal(c->status, 400);
	c = call(f, "POST",
		 BASE "/invocation/" /* 65 characters */
		      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/response",
		 "x", 1, NULL);
	assert_int_equal(c->status, 400);
	assert_int_equal(f->n_response + f->n_error, 0);
	assert_string_equal(sl_rtapi_state(f->srv), "Running");
}

static void function_error_is_reported(void **state)
{
	struct fx *f = *state;
	const char *body = "{\"errorMessage\":\"boom\",\"errorType\":\"ValueError\","
			   "\"stackTrace\":[\"a.py:1\"]}";
	struct call *c;

	deliver(f, "req-1", "{}");
	c = call(f, "POST", BASE "/invocation/req-1/error", body, strlen(body),
		 "Lambda-Runtime-Function-Error-Type: Function.ValueError");
	assert_int_equal(c->status, 202);
	assert_int_equal(f->n_error, 1);
	assert_string_equal(f->id, "req-1");
	assert_string_equal(f->etype, "Function.ValueError");
	assert_string_equal(f->eerrtype, "ValueError");
	assert_string_equal(f->emsg, "boom");
	assert_true(f->ejson);
	/* without the header, or with a malformed one, Lambda says Runtime.Unknown */
	deliver(f, "req-2", "{}");
	c = call(f, "POST", BASE "/invocation/req-2/error", "not json", 8,
		 "Lambda-Runtime-Function-Error-Type: Unhandled");
	assert_int_equal(c->status, 202);
	assert_string_equal(f->etype, "Runtime.Unknown");
	assert_false(f->ejson);
	assert_string_equal(f->eerrtype, "");
	deliver(f, "req-3", "{}");
	c = call(f, "POST", BASE "/invocation/req-3/error", "{}", 2,
		 "Lambda-Runtime-Function-Error-Type: Function.bad type");
	assert_string_equal(f->etype, "Function.Unknown");
	assert_int_equal(f->n_error, 3);
}

static void init_error_before_next_is_reported(void **state)
{
	struct fx *f = *state;
	const char *body = "{\"errorMessage\":\"no module\",\"errorType\":\"ImportError\"}";
	struct call *c;

	c = call(f, "POST", BASE "/init/error", body, strlen(body),
		 "Lambda-Runtime-Function-Error-Type: Runtime.ImportModuleError");
	assert_int_equal(c->status, 202);
	assert_int_equal(f->n_init_error, 1);
	assert_string_equal(f->etype, "Runtime.ImportModuleError");
	assert_string_equal(f->emsg, "no module");
	assert_string_equal(sl_rtapi_state(f->srv), "InitError");
	c = call(f, "GET", BASE "/invocation/next", NULL, 0, NULL);
	assert_int_equal(c->status, 403);
	assert_error_body(c, "InvalidStateTransition");
	assert_int_equal(f->n_ready, 0);
	assert_int_equal(sl_rtapi_invoke(f->srv, "req-1", 1, arn, NULL, "{}", 2), -EPIPE);
}

static void init_error_after_next_is_refused(void **state)
{
	struct fx *f = *state;
	struct call *c;

	deliver(f, "req-1", "{}");
	c = call(f, "POST", BASE "/init/error", "{}", 2, NULL);
	assert_int_equal(c->status, 403);
	assert_error_body(c, "InvalidStateTransition");
	assert_int_equal(f->n_init_error, 0);
}

static void response_of_6mb_is_accepted_one_byte_more_is_not(void **state)
{
	struct fx *f = *state;
	size_t max = SL_RTAPI_MAX_PAYLOAD;
	char *big = malloc(max + 1);
	struct call *c;
	json_t *o;

	assert_non_null(big);
	memset(big, 'x', max + 1);
	deliver(f, "req-1", "{}");
	c = call(f, "POST", BASE "/invocation/req-1/response", big, max, NULL);
	assert_int_equal(c->status, 202);
	assert_int_equal(f->rlen, max);
	assert_int_equal(f->rbody[max - 1], 'x');
	deliver(f, "req-2", "{}");
	c = call(f, "POST", BASE "/invocation/req-2/response", big, max + 1, NULL);
	assert_int_equal(c->status, 413);
	o = json_loads(c->body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "errorType")),
			    "RequestEntityTooLarge");
	assert_string_equal(json_string_value(json_object_get(o, "errorMessage")),
			    "Exceeded maximum allowed payload size (6291556 bytes).");
	json_decref(o);
	/* as in Lambda, the invocation ends with Function.ResponseSizeTooLarge */
	assert_int_equal(f->n_error, 1);
	assert_string_equal(f->id, "req-2");
	assert_string_equal(f->etype, "Function.ResponseSizeTooLarge");
	/* a chunked body (no Content-Length) is counted as it arrives */
	deliver(f, "req-3", "{}");
	c = call(f, "POST", BASE "/invocation/req-3/response", big, max + 1,
		 "Transfer-Encoding: chunked");
	assert_int_equal(c->status, 413);
	assert_int_equal(f->n_error, 2);
	assert_int_equal(f->n_response, 1);
	free(big);
}

static void bad_paths_and_methods_are_rejected(void **state)
{
	struct fx *f = *state;
	struct call *c;

	c = call(f, "GET", "/2018-06-01/runtime/nope", NULL, 0, NULL);
	assert_int_equal(c->status, 404);
	assert_error_body(c, "NotFound");
	c = call(f, "GET", "/", NULL, 0, NULL);
	assert_int_equal(c->status, 404);
	c = call(f, "POST", BASE "/invocation/req-1/bogus", "x", 1, NULL);
	assert_int_equal(c->status, 404);
	c = call(f, "POST", BASE "/invocation//response", "x", 1, NULL);
	assert_int_equal(c->status, 404);
	c = call(f, "POST", BASE "/invocation/next", "x", 1, NULL);
	assert_int_equal(c->status, 405);
	assert_header(c, "Allow", "GET");
	assert_error_body(c, "MethodNotAllowed");
	c = call(f, "GET", BASE "/invocation/req-1/response", NULL, 0, NULL);
	assert_int_equal(c->status, 405);
	assert_header(c, "Allow", "POST");
	c = call(f, "DELETE", BASE "/init/error", NULL, 0, NULL);
	assert_int_equal(c->status, 405);
	assert_int_equal(f->n_ready, 0);
	assert_string_equal(sl_rtapi_state(f->srv), "Started");
}

static void oversized_headers_are_refused_and_the_server_goes_on(void **state)
{
	struct fx *f = *state;
	char *big = malloc(SL_RTAPI_CONN_MEMORY + 64);
	struct call *c;

	assert_non_null(big);
	strcpy(big, "X-Big: ");
	memset(big + 7, 'a', SL_RTAPI_CONN_MEMORY);
	big[SL_RTAPI_CONN_MEMORY + 7] = '\0';
	c = call(f, "GET", BASE "/invocation/next", NULL, 0, big);
	assert_true(c->status == 431 || c->status == 413);
	assert_int_equal(f->n_ready, 0);
	free(big);
	/* a non-UTF-8 path is still answered */
	c = call(f, "GET", BASE "/\xff\xfe", NULL, 0, NULL);
	assert_int_equal(c->status, 404);
	deliver(f, "req-1", "{}");
	assert_int_equal(f->n_ready, 1);
}

static void connections_are_bounded(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				.sin_port = htons((uint16_t)f->port)};
	int fds[SL_RTAPI_DEFAULT_CONNECTIONS];
	struct call *c;

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
	}
	pump_for(f, 100); /* all accepted: the server is at its limit */
	c = start(f, "GET", "/nope", NULL, 0, NULL);
	pump_for(f, 300);
	assert_false(c->done); /* waits in the backlog */
	close(fds[0]);
	PUMP_UNTIL(f, c->done);
	assert_int_equal(c->status, 404);
	for (size_t i = 1; i < ARRAY_SIZE(fds); i++)
		close(fds[i]);
}

static void invoke_validates_its_input(void **state)
{
	struct fx *f = *state;
	char *huge = calloc(1, SL_RTAPI_MAX_PAYLOAD + 1);

	assert_int_equal(sl_rtapi_invoke(f->srv, "", 1, arn, NULL, "{}", 2), -EINVAL);
	assert_int_equal(sl_rtapi_invoke(f->srv, "a/b", 1, arn, NULL, "{}", 2), -EINVAL);
	assert_int_equal(sl_rtapi_invoke(f->srv, "id", 1, NULL, NULL, "{}", 2), -EINVAL);
	assert_int_equal(sl_rtapi_invoke(f->srv, "id", 1, "arn\r\nX: y", NULL, "{}", 2), -EINVAL);
	assert_int_equal(
		sl_rtapi_invoke(f->srv, "id", 1, arn, NULL, huge, SL_RTAPI_MAX_PAYLOAD + 1),
		-EMSGSIZE);
	assert_int_equal(sl_rtapi_invoke(f->srv, "id", 1, arn, NULL, huge, SL_RTAPI_MAX_PAYLOAD),
			 0);
	free(huge);
}

static void a_newer_next_supersedes_a_waiting_one(void **state)
{
	struct fx *f = *state;
	struct call *a = start(f, "GET", BASE "/invocation/next", NULL, 0, NULL), *b;

	PUMP_UNTIL(f, sl_rtapi_waiting(f->srv));
	b = start(f, "GET", BASE "/invocation/next", NULL, 0, NULL);
	PUMP_UNTIL(f, a->done);
	assert_int_equal(a->status, 500);
	assert_true(sl_rtapi_waiting(f->srv));
	invoke(f, "req-1", "{}");
	PUMP_UNTIL(f, b->done);
	assert_int_equal(b->status, 200);
	assert_int_equal(f->n_ready, 1);
}

static void new_refuses_what_is_not_a_listening_socket(void **state)
{
	struct sl_rtapi *srv = NULL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), p[2];

	assert_int_equal(sl_rtapi_new(&srv, fd, NULL, &ops, NULL), -EINVAL);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sl_rtapi_new(&srv, p[0], NULL, &ops, NULL), -EINVAL);
	assert_int_equal(sl_rtapi_new(&srv, -1, NULL, &ops, NULL), -EINVAL);
	assert_null(srv);
	close(fd); /* still ours after a failure */
	close(p[0]);
	close(p[1]);
}

/* ---- tests: the example bootstraps as real processes ---- */

static void spawn(struct fx *f, const char *bootstrap, const char *task_root, const char *handler)
{
	char api[32], root[512];
	struct sl_lambda_fn fn = {
		.name = "example",
		.handler = handler,
		.memory_mb = 128,
		.region = "eu-west-1",
		.runtime_api = api,
	};
	char **envp = NULL, *env[64];
	size_t n = 0;

	snprintf(api, sizeof(api), "127.0.0.1:%d", f->port);
	snprintf(root, sizeof(root), "LAMBDA_TASK_ROOT=%s", task_root);
	assert_int_equal(sl_lambda_env_build(&fn, &envp, NULL), 0);
	for (size_t i = 0; envp[i] && n < ARRAY_SIZE(env) - 1; i++)
		env[n++] = strncmp(envp[i], "LAMBDA_TASK_ROOT=", 17) ? envp[i] : root;
	env[n] = NULL;
	f->child = fork();
	assert_true(f->child >= 0);
	if (f->child == 0) {
		execve(bootstrap, (char *[]){(char *)bootstrap, NULL}, env);
		_exit(127);
	}
	free(envp);
}

static void run_example(struct fx *f, const char *bootstrap, const char *task_root)
{
	char path[512];

	snprintf(path, sizeof(path), "%s", bootstrap);
	spawn(f, path, task_root, "function.handler");
	PUMP_UNTIL(f, f->n_ready == 1); /* cold start: the runtime's first next */
	PUMP_UNTIL(f, sl_rtapi_waiting(f->srv));
	invoke(f, "req-1", "{\"msg\":\"hello\"}");
	PUMP_UNTIL(f, f->n_response == 1);
	assert_string_equal(f->id, "req-1");
	assert_string_equal(f->rbody, "{\"MSG\":\"HELLO\"}");
	PUMP_UNTIL(f, sl_rtapi_waiting(f->srv));
	invoke(f, "req-2", "{\"fail\":true}");
	PUMP_UNTIL(f, f->n_error == 1);
	assert_string_equal(f->id, "req-2");
	PUMP_UNTIL(f, sl_rtapi_waiting(f->srv)); /* a function error does not end the runtime */
	invoke(f, "req-3", "{\"warm\":\"again\"}");
	PUMP_UNTIL(f, f->n_response == 2);
	assert_string_equal(f->rbody, "{\"WARM\":\"AGAIN\"}");
	assert_int_equal(f->n_ready, 1);
}

static const char *src(const char *rel, char *buf, size_t len)
{
	const char *top = getenv("SANDLOT_SOURCE_DIR");

	snprintf(buf, len, "%s/%s", top ? top : "..", rel);
	return buf;
}

static void c_example_runs_against_the_server(void **state)
{
	const char *bin = getenv("SANDLOT_BINARY_DIR");
	char path[512];

	snprintf(path, sizeof(path), "%s/examples/c/bootstrap", bin ? bin : ".");
	run_example(*state, path, "/nonexistent");
	assert_string_equal(((struct fx *)*state)->etype, "Function.AskedToFail");
	assert_string_equal(((struct fx *)*state)->emsg, "the event asked to fail");
}

static void c_example_survives_a_response_over_the_limit(void **state)
{
	struct fx *f = *state;
	struct sl_rtapi_opts o = {.max_payload = 1000};
	const char *bin = getenv("SANDLOT_BINARY_DIR");
	char path[512], big[2001];
	int fd;

	/* a server with a small limit, so that the example's echo goes over it */
	sl_rtapi_free(&f->srv);
	fd = listen_loopback(&f->port);
	assert_int_equal(sl_rtapi_new(&f->srv, fd, &o, &ops, f), 0);
	snprintf(path, sizeof(path), "%s/examples/c/bootstrap", bin ? bin : ".");
	spawn(f, path, "/nonexistent", "function.handler");
	PUMP_UNTIL(f, sl_rtapi_waiting(f->srv));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	invoke(f, "req-1", big);
	PUMP_UNTIL(f, f->n_error == 1);
	assert_string_equal(f->etype, "Function.ResponseSizeTooLarge");
	PUMP_UNTIL(f, sl_rtapi_waiting(f->srv)); /* the runtime goes on */
	invoke(f, "req-2", "{\"small\":1}");
	PUMP_UNTIL(f, f->n_response == 1);
	assert_string_equal(f->rbody, "{\"SMALL\":1}");
}

static void shell_example_runs_against_the_server(void **state)
{
	char bin[512], root[512];

	run_example(*state, src("examples/shell/bootstrap", bin, sizeof(bin)),
		    src("examples/shell", root, sizeof(root)));
	assert_string_equal(((struct fx *)*state)->etype, "Function.ShellError");
}

static void python_example_runs_against_the_server(void **state)
{
	char bin[512], root[512];

	run_example(*state, src("examples/python/bootstrap", bin, sizeof(bin)),
		    src("examples/python", root, sizeof(root)));
	assert_string_equal(((struct fx *)*state)->eerrtype, "ValueError");
	assert_string_equal(((struct fx *)*state)->emsg, "the event asked to fail");
}

static void example_init_errors_are_reported(void **state)
{
	struct fx *f = *state;
	char bin[512], root[512];
	int status;

	spawn(f, src("examples/python/bootstrap", bin, sizeof(bin)),
	      src("examples/python", root, sizeof(root)), "missing_module.handler");
	PUMP_UNTIL(f, f->n_init_error == 1);
	assert_string_equal(f->etype, "Runtime.ImportModuleError");
	assert_true(f->ejson);
	assert_int_equal(waitpid(f->child, &status, 0), f->child);
	f->child = -1;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	assert_int_equal(f->n_ready, 0);
}

static void shell_example_init_error_is_reported(void **state)
{
	struct fx *f = *state;
	char bin[512], root[512];

	spawn(f, src("examples/shell/bootstrap", bin, sizeof(bin)),
	      src("examples/shell", root, sizeof(root)), "nofile.handler");
	PUMP_UNTIL(f, f->n_init_error == 1);
	assert_string_equal(f->etype, "Runtime.HandlerNotFound");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(next_waits_until_an_event_is_queued, setup,
						teardown),
		cmocka_unit_test_setup_teardown(headers_at_their_bound_are_delivered, setup,
						teardown),
		cmocka_unit_test_setup_teardown(event_queued_before_next_is_delivered_at_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(response_completes_the_invocation, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_request_id_is_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(function_error_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(init_error_before_next_is_reported, setup,
						teardown),
		cmocka_unit_test_setup_teardown(init_error_after_next_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(response_of_6mb_is_accepted_one_byte_more_is_not,
						setup, teardown),
		cmocka_unit_test_setup_teardown(bad_paths_and_methods_are_rejected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			oversized_headers_are_refused_and_the_server_goes_on, setup, teardown),
		cmocka_unit_test_setup_teardown(connections_are_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(invoke_validates_its_input, setup, teardown),
		cmocka_unit_test_setup_teardown(a_newer_next_supersedes_a_waiting_one, setup,
						teardown),
		cmocka_unit_test(new_refuses_what_is_not_a_listening_socket),
		cmocka_unit_test_setup_teardown(c_example_runs_against_the_server, setup, teardown),
		cmocka_unit_test_setup_teardown(c_example_survives_a_response_over_the_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(shell_example_runs_against_the_server, setup,
						teardown),
		cmocka_unit_test_setup_teardown(python_example_runs_against_the_server, setup,
						teardown),
		cmocka_unit_test_setup_teardown(example_init_errors_are_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(shell_example_init_error_is_reported, setup,
						teardown),
	};
	int r;

	curl_global_init(CURL_GLOBAL_NOTHING);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
