#include "lambda_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

enum { FIELD_MAX = 8192, URL_MAX = 512 };

/* The runtime client: one curl handle (one kept-alive connection) and reused buffers. */
struct client {
	CURL *curl;
	const char *api; /* host:port */
	char url[URL_MAX];
	struct lambda_result event; /* the GET next body, grown as needed */
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

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct lambda_result *b = userdata;
	size_t len = size * n;

	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *p;

		while (cap < b->len + len + 1)
			cap *= 2;
		p = realloc(b->body, cap);
		if (!p)
			return 0; /* aborts the transfer */
		b->body = p;
		b->cap = cap;
	}
	memcpy(b->body + b->len, data, len);
	b->len += len;
	b->body[b->len] = '\0';
	return len;
}

/* Copies the value of "Name: value\r\n" into out when name matches. */
static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t k = strlen(name);

	if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return;
	line += k + 1;
	n -= k + 1;
	while (n && (*line == ' ' || *line == '\t'))
		line++, n--;
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, line, n);
	out[n] = '\0';
}

static size_t on_header(char *line, size_t size, size_t n, void *userdata)
{
	struct client *c = userdata;
	size_t len = size * n;

	header_value(line, len, "Lambda-Runtime-Aws-Request-Id", c->id, sizeof(c->id));
	header_value(line, len, "Lambda-Runtime-Invoked-Function-Arn", c->arn, sizeof(c->arn));
	header_value(line, len, "Lambda-Runtime-Trace-Id", c->trace, sizeof(c->trace));
	header_value(line, len, "Lambda-Runtime-Client-Context", c->ctx, sizeof(c->ctx));
	header_value(line, len, "Lambda-Runtime-Cognito-Identity", c->cognito, sizeof(c->cognito));
	header_value(line, len, "Lambda-Runtime-Deadline-Ms", c->deadline, sizeof(c->deadline));
	return len;
}

static size_t discard(char *data, size_t size, size_t n, void *userdata)
{
	return size * n;
}

/* GET next: blocks until an event arrives. Returns 0 or -1. */
static int get_next(struct client *c)
{
	long status = 0;

	c->event.len = 0;
	c->id[0] = c->arn[0] = c->trace[0] = c->ctx[0] = c->cognito[0] = c->deadline[0] = '\0';
	snprintf(c->url, sizeof(c->url), "http://%s/2018-06-01/runtime/invocation/next", c->api);
	curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->event);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
	if (curl_easy_perform(c->curl) != CURLE_OK)
		return -1;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 || !c->id[0])
		return -1;
	if (!c->event.body && lambda_result_set(&c->event, "", 0) < 0)
		return -1;
	return 0;
}

/* POSTs body to path (relative to /2018-06-01/runtime/). Returns the HTTP status or -1. */
static long post(struct client *c, const char *path, const char *error_type, const void *body,
		 size_t len)
{
	struct curl_slist *h = NULL, *h2;
	char type_header[192];
	long status = -1;

	snprintf(c->url, sizeof(c->url), "http://%s/2018-06-01/runtime/%s", c->api, path);
	h = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
	if (h && error_type) {
		snprintf(type_header, sizeof(type_header), "Lambda-Runtime-Function-Error-Type: %s",
			 error_type);
		h2 = curl_slist_append(h, type_header);
		h = h2 ? h2 : h;
	}
	curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
	curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, discard);
	if (curl_easy_perform(c->curl) == CURLE_OK)
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	return status;
}

static int client_init(struct client *c)
{
	memset(c, 0, sizeof(*c));
	c->api = getenv("AWS_LAMBDA_RUNTIME_API");
	if (!c->api || !*c->api || strlen(c->api) > 256) {
		fprintf(stderr, "lambda_runtime: AWS_LAMBDA_RUNTIME_API is not set\n");
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK)
		return -1;
	c->curl = curl_easy_init();
	if (!c->curl)
		return -1;
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 0L); /* next blocks for as long as it takes */
	return 0;
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
	long status;

	res->len = 0;
	res->error_type[0] = '\0';
	if (handler(&inv, res, userdata) == 0) {
		snprintf(path, sizeof(path), "invocation/%s/response", c->id);
		status = post(c, path, NULL, res->body, res->len);
	} else {
		if (!res->error_type[0])
			lambda_result_error(res, "Error", "handler failed");
		snprintf(path, sizeof(path), "invocation/%s/error", c->id);
		status = post(c, path, res->error_type, res->body, res->len);
	}
	/* 413 (response too large) ends the invocation too; anything else is fatal */
	return status == 202 || status == 413 ? 0 : -1;
}

int lambda_runtime_run(lambda_handler_fn handler, void *userdata)
{
	struct lambda_result res = {0};
	struct client c;

	if (client_init(&c) < 0)
		return 1;
	for (;;) {
		if (get_next(&c) < 0 || handle_one(&c, handler, userdata, &res) < 0)
			break;
	}
	fprintf(stderr, "lambda_runtime: the Runtime API failed; exiting\n");
	curl_easy_cleanup(c.curl);
	free(res.body);
	free(c.event.body);
	return 1;
}

int lambda_runtime_init_error(const char *type, const char *message)
{
	struct lambda_result res = {0};
	struct client c;
	long status;

	if (client_init(&c) < 0)
		return -1;
	lambda_result_error(&res, type, message);
	status = post(&c, "init/error", res.error_type, res.body, res.len);
	curl_easy_cleanup(c.curl);
	free(res.body);
	return status == 202 ? 0 : -1;
}
