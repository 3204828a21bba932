// SPDX-License-Identifier: Apache-2.0
/*
 * The Lambda REST front end on libmicrohttpd (inside the loop, <sandlot/http.h>): collects
 * bounded bodies, authenticates every request with SigV4 against --access-keys, routes the
 * 2015-03-31 paths to their handlers and answers in Lambda's shapes. Invocations suspend their
 * connection until invoke.c reports the end.
 */
#include "api.h"

#include <sandlot/http.h>
#include <sandlot/log.h>
#include <sandlot/metrics.h>
#include <sandlot/time.h>

#include <stdarg.h>
#include <string.h>

#define API_CONNECTIONS 1024
#define API_CONN_MEMORY (32u << 10)
#define API_HEADERS_MAX 64

#define FN_CACHE_BUCKETS 1024
#define FN_CACHE_MAX	 1024 /* entries; the cache is emptied when full */

/* A function as last read from the store; every change goes through api_fn_forget(). */
struct fn_cached {
	struct fn_cached *next;
	struct sl_fn fn;
};

struct api {
	struct ctl *c;
	struct sl_http *http;
	struct api_req *resume; /* requests whose invocation ended, to resume */
	struct sl_timer *resume_timer;
	struct fn_cached *fns[FN_CACHE_BUCKETS];
	unsigned nfns;
};

static unsigned fn_bucket(const char *account, const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const char *p = account; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % FN_CACHE_BUCKETS;
}

static struct fn_cached *fn_find(struct api *a, const char *account, const char *name)
{
	for (struct fn_cached *e = a->fns[fn_bucket(account, name)]; e; e = e->next)
		if (strcmp(e->fn.name, name) == 0 && strcmp(e->fn.account, account) == 0)
			return e;
	return NULL;
}

static void fn_cache_clear(struct api *a)
{
	for (unsigned i = 0; i < FN_CACHE_BUCKETS; i++)
		while (a->fns[i]) {
			struct fn_cached *e = a->fns[i];

			a->fns[i] = e->next;
			free(e);
		}
	a->nfns = 0;
}

static void fn_cache_put(struct api *a, const struct sl_fn *f)
{
	struct fn_cached *e;
	unsigned b;

	if (a->nfns >= FN_CACHE_MAX)
		fn_cache_clear(a);
	e = malloc(sizeof(*e));
	if (!e)
		return;
	e->fn = *f;
	b = fn_bucket(f->account, f->name);
	e->next = a->fns[b];
	a->fns[b] = e;
	a->nfns++;
}

void api_fn_forget(struct ctl *c, const char *account, const char *name)
{
	struct api *a = c->api;

	for (struct fn_cached **pp = &a->fns[fn_bucket(account, name)]; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->fn.name, name) == 0 && strcmp((*pp)->fn.account, account) == 0) {
			struct fn_cached *e = *pp;

			*pp = e->next;
			free(e);
			a->nfns--;
			return;
		}
}

/* r with the request's x-amzn-RequestId, or NULL if r is NULL. */
static struct MHD_Response *with_request_id(struct api_req *q, struct MHD_Response *r)
{
	if (r)
		MHD_add_response_header(r, "x-amzn-RequestId", q->request_id);
	return r;
}

enum MHD_Result api_reply_json(struct api_req *q, unsigned status, json_t *body)
{
	struct MHD_Response *r = body ? sl_http_json_response(body)
				      : sl_http_response_take(strdup(""), 0, "application/json");

	return sl_http_queue(q->conn, status, with_request_id(q, r));
}

struct MHD_Response *api_error_response(struct api_req *q, const char *type, json_t *body)
{
	struct MHD_Response *r = with_request_id(q, sl_http_json_response(body));

	if (r)
		MHD_add_response_header(r, "x-amzn-ErrorType", type);
	return r;
}

static enum MHD_Result reply_typed(struct api_req *q, unsigned status, const char *type,
				   const char *reason, const char *msg)
{
	json_t *body =
		json_pack("{s:s, s:s}", "Type", status >= 500 ? "Service" : "User", "Message", msg);

	if (reason)
		json_object_set_new(body, "Reason", json_string(reason));
	return sl_http_queue(q->conn, status, api_error_response(q, type, body));
}

enum MHD_Result api_reply_error(struct api_req *q, unsigned status, const char *type,
				const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return reply_typed(q, status, type, NULL, msg);
}

enum MHD_Result api_reply_err(struct api_req *q, const struct sl_api_err *e)
{
	return reply_typed(q, e->status, e->type, NULL, e->message);
}

json_t *api_body_json(struct api_req *q, struct sl_api_err *e)
{
	json_error_t jerr;
	json_t *j = q->len ? json_loadb(q->body, q->len, JSON_REJECT_DUPLICATES, &jerr) : NULL;

	if (!j || !json_is_object(j)) {
		json_decref(j);
		sl_api_fail(e, 400, "InvalidRequestContentException",
			    "Could not parse request body into json: %s",
			    q->len ? (j ? "not an object" : jerr.text) : "empty body");
		return NULL;
	}
	return j;
}

const char *api_query(struct api_req *q, const char *key)
{
	return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *api_header(struct api_req *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

int api_load_fn(struct api_req *q, const char *name, struct sl_fn *ret, struct sl_api_err *e)
{
	char fname[SL_FN_NAME_MAX + 1];
	struct sl_store *s = q->c->store;
	struct fn_cached *hit;
	int r = sl_fn_parse_ref(name, q->who.account, fname, e);

	if (r < 0)
		return r;
	hit = fn_find(q->c->api, q->who.account, fname);
	if (hit) {
		*ret = hit->fn;
		return 0;
	}
	r = s->ops->fn_get(s, q->who.account, fname, ret);
	if (r == -ENOENT)
		return sl_api_fail(e, 404, "ResourceNotFoundException",
				   "Function not found: arn:aws:lambda:%s:%s:function:%s",
				   q->c->cfg.region, q->who.account, fname);
	if (r < 0)
		return sl_api_fail(e, 500, "ServiceException", "the store failed: %s",
				   strerror(-r));
	fn_cache_put(q->c->api, ret);
	return 0;
}

/* ---- resumption ---- */

static void on_resume(struct sl_loop *loop, void *data)
{
	struct api *a = data;

	a->resume_timer = NULL;
	while (a->resume) {
		struct api_req *q = a->resume;

		a->resume = q->next_resume;
		sl_http_resume(a->http, q->conn);
	}
}

void api_resume_now(struct api_req *q)
{
	sl_http_resume(q->c->api->http, q->conn);
}

void api_resume_later(struct api_req *q)
{
	struct api *a = q->c->api;

	q->next_resume = a->resume;
	a->resume = q;
	if (!a->resume_timer)
		sl_loop_add_timer(q->c->loop, 0, on_resume, a, &a->resume_timer);
}

/* ---- authentication ---- */

struct hdrs {
	struct sl_sigv4_header h[API_HEADERS_MAX];
	size_t n;
	bool overflow;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct hdrs *hs = cls;

	if (hs->n == API_HEADERS_MAX) {
		hs->overflow = true;
		return MHD_NO;
	}
	hs->h[hs->n++] = (struct sl_sigv4_header){.name = key, .value = value ? value : ""};
	return MHD_YES;
}

static enum MHD_Result auth_fail(struct api_req *q, int r)
{
	if (!api_header(q, "Authorization"))
		return api_reply_error(q, 403, "MissingAuthenticationTokenException",
				       "Missing Authentication Token");
	switch (r) {
	case -ENOKEY:
		return api_reply_error(q, 403, "UnrecognizedClientException",
				       "The security token included in the request is invalid.");
	case -ETIME:
		return api_reply_error(q, 403, "InvalidSignatureException",
				       "Signature expired: the request's X-Amz-Date is more than "
				       "5 minutes from the server's time.");
	case -EACCES:
		return api_reply_error(
			q, 403, "InvalidSignatureException",
			"The request signature we calculated does not match the signature you "
			"provided. Check your AWS Secret Access Key and signing method. Consult "
			"the service documentation for details.");
	default:
		return api_reply_error(q, 403, "IncompleteSignatureException",
				       "The Authorization header is malformed or incomplete.");
	}
}

static int authenticate(struct api_req *q, const char *method)
{
	struct hdrs hs = {.n = 0};
	char *qm = strchr(q->uri, '?');
	struct sl_sigv4_request req = {.method = method, .body = q->body, .body_len = q->len};
	int r;

	MHD_get_connection_values(q->conn, MHD_HEADER_KIND, collect_header, &hs);
	if (hs.overflow)
		return -EINVAL;
	if (qm)
		*qm = '\0';
	req.path = q->uri;
	req.query = qm ? qm + 1 : "";
	req.headers = hs.h;
	req.nheaders = hs.n;
	r = sl_sigv4_verify(&req, time(NULL), sl_akeys_lookup, q->c->akeys, &q->who);
	if (qm)
		*qm = '?';
	return r;
}

/* ---- routing ---- */

struct route {
	const char *prefix; /* the path's version and collection */
	const char *method;
	const char *tail; /* after /{name}: "" (none), "/configuration", ...; NULL: no name */
	api_handler_fn fn;
};

static const struct route routes[] = {
	{"/2015-03-31/functions", "POST", NULL, api_create_function},
	{"/2015-03-31/functions", "GET", NULL, api_list_functions},
	{"/2015-03-31/functions", "GET", "", api_get_function},
	{"/2015-03-31/functions", "DELETE", "", api_delete_function},
	{"/2015-03-31/functions", "GET", "/configuration", api_get_configuration},
	{"/2015-03-31/functions", "PUT", "/configuration", api_update_configuration},
	{"/2015-03-31/functions", "PUT", "/code", api_update_code},
	{"/2015-03-31/functions", "POST", "/invocations", api_invoke},
	{"/2017-10-31/functions", "PUT", "/concurrency", api_put_concurrency},
	{"/2017-10-31/functions", "DELETE", "/concurrency", api_delete_concurrency},
	{"/2019-09-30/functions", "GET", "/concurrency", api_get_concurrency},
	{"/2016-08-19/account-settings", "GET", NULL, api_account_settings},
	{"/2019-09-25/functions", "PUT", "/event-invoke-config", api_put_event_config},
	{"/2019-09-25/functions", "POST", "/event-invoke-config", api_put_event_config},
	{"/2019-09-25/functions", "GET", "/event-invoke-config", api_get_event_config},
	{"/2019-09-25/functions", "DELETE", "/event-invoke-config", api_delete_event_config},
	{"/v1/dlq", "GET", NULL, api_dlq_list},
	{"/v1/dlq", "POST", "/replay", api_dlq_replay},
};

/* The operators' token API (api-ctl.c) serves /v1/ but for the dead-letter queue, which is an
 * account's own and goes through SigV4 and the routes above. */
static bool operator_path(const char *url)
{
	return strncmp(url, "/v1/", 4) == 0 && strcmp(url, "/v1/dlq") != 0 &&
	       strncmp(url, "/v1/dlq/", 8) != 0;
}

static enum MHD_Result route(struct api_req *q, const char *url, const char *method)
{
	bool path_known = false;

	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		const struct route *rt = &routes[i];
		size_t plen = strlen(rt->prefix);
		const char *rest = url + plen, *slash;
		char name[256];

		if (strncmp(url, rt->prefix, plen) != 0 || (*rest && *rest != '/'))
			continue;
		if (!rt->tail) { /* the collection itself, with or without a trailing slash */
			if (*rest && strcmp(rest, "/") != 0)
				continue;
			path_known = true;
			if (strcmp(method, rt->method) == 0)
				return rt->fn(q, NULL);
			continue;
		}
		if (*rest != '/' || !rest[1])
			continue;
		slash = strchr(rest + 1, '/');
		if (strcmp(slash ? slash : "", rt->tail) != 0)
			continue;
		path_known = true;
		if (strcmp(method, rt->method) != 0)
			continue;
		if ((size_t)(slash ? slash - rest - 1 : (long)strlen(rest + 1)) >= sizeof(name))
			return api_reply_error(q, 400, "ValidationException",
					       "function name too long");
		snprintf(name, sizeof(name), "%.*s",
			 (int)(slash ? slash - rest - 1 : (long)strlen(rest + 1)), rest + 1);
		return rt->fn(q, name);
	}
	if (path_known)
		return api_reply_error(q, 405, "MethodNotAllowedException",
				       "%s is not allowed on %.200s", method, url);
	return api_reply_error(q, 404, "UnknownOperationException", "Unknown operation %.200s",
			       url);
}

/* ---- MHD callbacks ---- */

/* GET /metrics, unauthenticated as Prometheus scrapes it (the API listens on loopback by
 * default; it tells no account anything another could not count). */
static enum MHD_Result metrics(struct api_req *q)
{
	size_t len = 0;
	char *txt = metrics_render(q->c, &len);

	return sl_http_queue(q->conn, 200,
			     sl_http_response_take(txt, len, SL_METRICS_CONTENT_TYPE));
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct api_req *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->c = cls;
	q->conn = conn;
	q->uri = strndup(uri ? uri : "", API_URI_MAX);
	invoke_new_request_id(q->request_id);
	if (q->uri && strcmp(q->uri, "/metrics") != 0 && !operator_path(q->uri))
		q->start_ns = sl_now_ns();
	return q;
}

static bool body_add(struct api_req *q, const char *data, size_t n)
{
	if (q->too_large || n > q->limit - q->len) {
		q->too_large = true;
		return true;
	}
	if (q->len + n > q->cap) {
		size_t cap = MIN(MAX(q->cap * 2, q->len + n + 4096), q->limit + 1);
		char *b = realloc(q->body, cap);

		if (!b)
			return false;
		q->body = b;
		q->cap = cap;
	}
	memcpy(q->body + q->len, data, n);
	q->len += n;
	return true;
}

static enum MHD_Result too_large(struct api_req *q, const char *url)
{
	if (q->limit == API_INVOKE_MAX)
		return api_reply_error(q, 413, "RequestTooLargeException",
				       "Request must be smaller than %u bytes for the "
				       "InvokeFunction operation",
				       API_INVOKE_MAX);
	return api_reply_error(q, 413, "RequestEntityTooLargeException",
			       "Request must be smaller than %u bytes", API_BODY_MAX);
}

static enum MHD_Result first_call(struct api_req *q, const char *url)
{
	const char *cl = api_header(q, MHD_HTTP_HEADER_CONTENT_LENGTH);

	q->started = true;
	q->limit = strstr(url, "/invocations") ? API_INVOKE_MAX : API_BODY_MAX;
	/* Past the limit the body is read and dropped, so that clients see the answer rather than a
	 * reset; far past it the answer goes at once and the connection closes. */
	if (cl && strtoull(cl, NULL, 10) > 2 * (unsigned long long)q->limit)
		return too_large(q, url);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_len, void **con_cls)
{
	struct api_req *q = *con_cls;
	enum MHD_Result ret;
	int r;

	if (!q || !q->uri)
		return MHD_NO;
	if (!q->started)
		return first_call(q, url);
	if (*data_len) {
		bool ok = body_add(q, data, *data_len);

		*data_len = 0;
		return ok ? MHD_YES : MHD_NO;
	}
	if (q->inv_done)
		return api_invoke_reply(q);
	if (q->suspended)
		return MHD_YES; /* spurious call while suspended */
	if (q->too_large)
		return too_large(q, url);
	if (strcmp(url, "/metrics") == 0 && strcmp(method, "GET") == 0)
		return metrics(q);
	if (operator_path(url))
		return api_ctl(q, url, method);
	r = authenticate(q, method);
	if (r < 0)
		return auth_fail(q, r);
	q->c->req_start_ns = q->start_ns;
	ret = route(q, url, method);
	q->c->req_start_ns = 0;
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_req *q = *con_cls;

	if (!q)
		return;
	metrics_note_request(q->c, q->start_ns);
	free(q->res.payload);
	free(q->res.log_b64);
	free(q->body);
	free(q->uri);
	free(q);
	*con_cls = NULL;
}

int api_open(struct ctl *c)
{
	struct api *a = calloc(1, sizeof(*a));
	struct sl_http_config hc = {.addr = c->cfg.http,
				    .max_connections = API_CONNECTIONS,
				    .timeout_s = 60,
				    /* headers and MHD's read buffer; libmicrohttpd zeroes the
				     * pool at every request of a kept-alive connection, so a
				     * bigger one costs every invocation (bodies are ours) */
				    .conn_memory = API_CONN_MEMORY,
				    .suspend_resume = true,
				    .handler = on_request,
				    .handler_data = c,
				    .completed = on_completed,
				    .uri_log = on_uri,
				    .uri_log_data = c};
	int r;

	if (!a)
		return -ENOMEM;
	a->c = c;
	c->api = a;
	r = metrics_open(c);
	if (r < 0)
		return sl_log_err(r, "metrics");
	if (api_ctl_token_write(c) < 0)
		sl_warn("control API: cannot write %s/ctlapi.token: /v1/ refuses every request",
			c->cfg.data);
	r = sl_http_new(&a->http, c->loop, &hc);
	if (r < 0)
		return sl_log_err(r, "Lambda API on %s", c->cfg.http);
	return 0;
}

void api_quiesce(struct ctl *c)
{
	if (c->api && c->api->http)
		sl_http_quiesce(c->api->http);
}

void api_close(struct ctl *c)
{
	struct api *a = c->api;

	if (!a)
		return;
	sl_loop_cancel_timer(c->loop, &a->resume_timer);
	on_resume(c->loop, a); /* suspended connections must be resumed before MHD stops */
	sl_http_free(&a->http);
	fn_cache_clear(a);
	free(a);
	c->api = NULL;
	metrics_close(c);
}
