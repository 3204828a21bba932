// SPDX-License-Identifier: Apache-2.0
#include "daemon/runtime-api-internal.h"

#include <sandlot/http.h>
#include <sandlot/util.h>

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#define PREFIX "/2018-06-01/runtime/"

static const char *const state_names[] = {
	[RT_STARTED] = "Started",
	[RT_INIT_ERROR] = "InitError",
	[RT_READY] = "Ready",
	[RT_RUNNING] = "Running",
	[RT_RESPONSE_SENT] = "RuntimeResponseSentState",
};

const char *sl_rtapi_state(const struct sl_rtapi *srv)
{
	return state_names[srv->state];
}

bool sl_rtapi_waiting(const struct sl_rtapi *srv)
{
	return srv->parked != NULL;
}

/* ---- responses ---- */

/* A {"errorMessage": msg, "errorType": type} body as Lambda's runtime API sends, or NULL. */
static struct MHD_Response *error_response(const char *type, const char *msg)
{
	return sl_http_json_response(
		json_pack("{s:s, s:s}", "errorMessage", msg, "errorType", type));
}

static enum MHD_Result _printf_(4, 5) reply_error(struct MHD_Connection *c, unsigned status,
						  const char *type, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sl_http_queue(c, status, error_response(type, msg));
}

static enum MHD_Result reply_state(struct req *q, const char *to)
{
	return reply_error(q->conn, MHD_HTTP_FORBIDDEN, "InvalidStateTransition",
			   "State transition from %s to %s failed for runtime. Error: State "
			   "transition is not allowed",
			   state_names[q->srv->state], to);
}

static enum MHD_Result reply_bad_id(struct req *q)
{
	return reply_error(q->conn, MHD_HTTP_BAD_REQUEST, "InvalidRequestID", "Invalid request ID");
}

static enum MHD_Result reply_too_large(struct req *q)
{
	return reply_error(q->conn, MHD_HTTP_CONTENT_TOO_LARGE, "RequestEntityTooLarge",
			   "Exceeded maximum allowed payload size (%zu bytes).",
			   q->srv->max_payload);
}

static enum MHD_Result reply_accepted(struct req *q)
{
	return MHD_queue_response(q->conn, MHD_HTTP_ACCEPTED, q->srv->accepted);
}

/* The event v and its Lambda-Runtime-* headers as a response, or NULL. */
static struct MHD_Response *event_response(const struct inv *v)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(v->len, v->payload, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return NULL;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") !=
		    MHD_YES ||
	    MHD_add_response_header(r, "Lambda-Runtime-Aws-Request-Id", v->id) != MHD_YES ||
	    MHD_add_response_header(r, "Lambda-Runtime-Deadline-Ms", v->deadline) != MHD_YES ||
	    MHD_add_response_header(r, "Lambda-Runtime-Invoked-Function-Arn", v->arn) != MHD_YES ||
	    (v->trace_id &&
	     MHD_add_response_header(r, "Lambda-Runtime-Trace-Id", v->trace_id) != MHD_YES) ||
	    (v->client_context && MHD_add_response_header(r, "Lambda-Runtime-Client-Context",
							  v->client_context) != MHD_YES) ||
	    (v->cognito && MHD_add_response_header(r, "Lambda-Runtime-Cognito-Identity",
						   v->cognito) != MHD_YES)) {
		MHD_destroy_response(r);
		return NULL;
	}
	return r;
}

/*
 * 200 with the event: built once per invocation and shared by every next that gets it (a next
 * during Running gets it again), so that a runtime's connections cannot make the agent hold a
 * copy of the event each.
 */
static enum MHD_Result reply_event(struct req *q)
{
	struct sl_rtapi *srv = q->srv;

	if (!srv->event && !(srv->event = event_response(&srv->inv)))
		return MHD_NO;
	return MHD_queue_response(q->conn, MHD_HTTP_OK, srv->event);
}

/* ---- routing ---- */

/* Splits the URL into a route and, for invocation/{id}/..., the id. */
static enum route route_of(const char *url, char id[SL_RTAPI_ID_MAX + 1], bool *id_ok)
{
	const char *p, *slash;
	size_t n;

	*id_ok = false;
	if (strncmp(url, PREFIX, strlen(PREFIX)) != 0)
		return R_NONE;
	p = url + strlen(PREFIX);
	if (strcmp(p, "invocation/next") == 0)
		return R_NEXT;
	if (strcmp(p, "init/error") == 0)
		return R_INIT_ERROR;
	if (strncmp(p, "invocation/", 11) != 0)
		return R_NONE;
	p += 11;
	slash = strchr(p, '/');
	if (!slash || slash == p)
		return R_NONE;
	n = (size_t)(slash - p);
	if (n <= SL_RTAPI_ID_MAX) {
		memcpy(id, p, n);
		id[n] = '\0';
		*id_ok = true;
	}
	if (strcmp(slash, "/response") == 0)
		return R_RESPONSE;
	if (strcmp(slash, "/error") == 0)
		return R_ERROR;
	return R_NONE;
}

static struct req *req_get(struct sl_rtapi *srv)
{
	for (unsigned i = 0; i < srv->n_reqs; i++) {
		struct req *q = &srv->reqs[i];

		if (!q->in_use) {
			*q = (struct req){.srv = srv, .in_use = true};
			return q;
		}
	}
	return NULL;
}

static void req_put(struct req *q)
{
	struct sl_rtapi *srv = q->srv;

	if (srv->parked == q)
		srv->parked = NULL;
	if (srv->upload == q)
		srv->upload = NULL;
	sl_rtapi_body_release(q);
	q->in_use = false;
}

/* ---- running MHD ---- */

/* Keeps count of MHD's connections (it calls this as it adds and removes one). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct sl_rtapi *srv = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		srv->n_conns++;
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && srv->n_conns)
		srv->n_conns--;
}

/*
 * Runs MHD until it has nothing left to do now. A run that starts at the connection limit takes
 * the listening socket out of MHD's epoll set, and only the start of a later run puts it back:
 * when that run closes connections and no other event or timeout follows (every connection
 * gone), nothing would call MHD again and the listener would never accept again. So a run that
 * started at the limit and ended below it asks for another through sl_rtapi_timeout_ms() (0),
 * not by looping here: a runtime that keeps filling and freeing its connections must not hold
 * the owner's loop.
 */
static enum MHD_Result run_mhd(struct sl_rtapi *srv)
{
	enum MHD_Result r;
	bool full;

	srv->in_run = true;
	do {
		srv->kick = false;
		full = srv->n_conns >= srv->max_conns;
		r = MHD_run(srv->mhd);
		if (full)
			srv->relisten = srv->n_conns < srv->max_conns;
		else
			srv->relisten = false; /* this run put the listener back */
	} while (r == MHD_YES && srv->kick);
	srv->in_run = false;
	return r;
}

/* ---- handlers ---- */

/*
 * Resumes a parked request and has MHD process it. In external-epoll mode MHD's epoll fd does
 * not become readable on a resume, so MHD_run must be called: here at once, or, from inside
 * a callback, again before sl_rtapi_run() returns.
 */
static void resume(struct sl_rtapi *srv, struct req *q)
{
	MHD_resume_connection(q->conn);
	if (srv->in_run)
		srv->kick = true;
	else
		run_mhd(srv);
}

static enum MHD_Result do_next(struct req *q)
{
	struct sl_rtapi *srv = q->srv;

	if (srv->stopping)
		return MHD_NO;
	if (q->superseded)
		return reply_error(q->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "InternalServerError",
				   "Internal Server Error");
	if (q->parked) { /* resumed: an event arrived */
		q->parked = false;
		srv->parked = NULL;
	} else {
		if (srv->state == RT_INIT_ERROR)
			return reply_state(q, "Ready");
		if (srv->state == RT_STARTED) {
			srv->state = RT_READY;
			if (srv->ops.ready)
				srv->ops.ready(srv, srv->userdata);
		} else if (srv->state == RT_RESPONSE_SENT) {
			srv->state = RT_READY;
		}
	}
	if (srv->inv.queued || srv->state == RT_RUNNING) {
		/* deliver; a next during Running gets the same event again, as in Lambda */
		srv->inv.queued = false;
		srv->state = RT_RUNNING;
		return reply_event(q);
	}
	if (srv->parked) {
		srv->parked->superseded = true;
		resume(srv, srv->parked);
	}
	q->parked = true;
	srv->parked = q;
	MHD_suspend_connection(q->conn);
	return MHD_YES;
}

/* Lambda's normalisation of Lambda-Runtime-Function-Error-Type. */
static void error_type_of(struct MHD_Connection *c, char *out, size_t len)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    "Lambda-Runtime-Function-Error-Type");
	const char *rest = NULL;
	bool ok;

	if (h && strncmp(h, "Runtime.", 8) == 0)
		rest = h + 8;
	else if (h && strncmp(h, "Function.", 9) == 0)
		rest = h + 9;
	ok = rest && rest[0] >= 'A' && rest[0] <= 'Z' && strlen(h) < len;
	for (const char *p = rest; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
	if (ok)
		snprintf(out, len, "%s", h);
	else
		snprintf(out, len, "%s",
			 h && rest == h + 9 ? "Function.Unknown" : "Runtime.Unknown");
}

/* Parses an error body (bounded by the payload limit) and hands it to cb. */
static void report_error(struct req *q, const char *id)
{
	struct sl_rtapi *srv = q->srv;
	char type[SL_RTAPI_ERROR_TYPE_MAX];
	struct sl_rtapi_error e = {
		.type = type, .body = q->body ? q->body : "", .body_len = q->len};
	json_t *doc = q->len ? json_loadb(q->body, q->len, 0, NULL) : NULL;

	error_type_of(q->conn, type, sizeof(type));
	if (json_is_object(doc)) {
		e.body_json = true;
		e.error_type = json_string_value(json_object_get(doc, "errorType"));
		e.error_message = json_string_value(json_object_get(doc, "errorMessage"));
	}
	if (id && srv->ops.error)
		srv->ops.error(srv, srv->userdata, id, &e);
	else if (!id && srv->ops.init_error)
		srv->ops.init_error(srv, srv->userdata, &e);
	json_decref(doc);
}

/* Checks a response/error POST against the current invocation. MHD_YES+*ok when it may go on. */
static enum MHD_Result check_invocation(struct req *q, bool id_ok, bool *ok)
{
	struct sl_rtapi *srv = q->srv;

	*ok = false;
	if (!id_ok || srv->inv.id[0] == '\0' || strcmp(q->id, srv->inv.id) != 0)
		return reply_bad_id(q);
	if (srv->state != RT_RUNNING)
		return reply_state(q, q->route == R_RESPONSE ? "InvocationResponse"
							     : "InvocationErrorResponse");
	*ok = true;
	return MHD_YES;
}

/* A response over the limit ends the invocation with Function.ResponseSizeTooLarge. */
static enum MHD_Result finish_too_large(struct req *q)
{
	struct sl_rtapi *srv = q->srv;
	char msg[128];
	struct sl_rtapi_error e = {.type = "Function.ResponseSizeTooLarge",
				   .error_type = "Function.ResponseSizeTooLarge",
				   .error_message = msg};

	snprintf(msg, sizeof(msg),
		 "Response payload size exceeded maximum allowed payload size (%zu bytes).",
		 srv->max_payload);
	srv->state = RT_RESPONSE_SENT;
	if (srv->ops.error)
		srv->ops.error(srv, srv->userdata, srv->inv.id, &e);
	return reply_too_large(q);
}

/*
 * Whether q's route may go on in the server's state: init/error only before the first next, the
 * others only for the current invocation. On false, *ret is the error reply already queued.
 */
static bool route_allowed(struct req *q, bool id_ok, enum MHD_Result *ret)
{
	bool ok = true;

	if (q->route == R_INIT_ERROR) {
		if (q->srv->state == RT_STARTED)
			return true;
		*ret = reply_state(q, "InitError");
		return false;
	}
	*ret = check_invocation(q, id_ok, &ok);
	return ok;
}

/* The whole body is in: complete the invocation (or the init error). */
static enum MHD_Result finish_post(struct req *q)
{
	struct sl_rtapi *srv = q->srv;
	enum MHD_Result r;

	if (srv->upload == q) { /* all in: back to the idle keep-alive timeout */
		srv->upload = NULL;
		MHD_set_connection_option(q->conn, MHD_CONNECTION_OPTION_TIMEOUT, srv->timeout_s);
	}
	if (!route_allowed(q, true, &r)) { /* again: another request may have won */
		sl_rtapi_body_release(q);
		return r;
	}
	if (q->too_large && q->route == R_RESPONSE)
		return finish_too_large(q);
	if (q->too_large)
		return reply_too_large(q);
	if (q->route == R_INIT_ERROR) {
		srv->state = RT_INIT_ERROR;
		report_error(q, NULL);
	} else if (q->route == R_ERROR) {
		srv->state = RT_RESPONSE_SENT;
		report_error(q, srv->inv.id);
	} else {
		srv->state = RT_RESPONSE_SENT;
		if (srv->ops.response)
			srv->ops.response(srv, srv->userdata, srv->inv.id, q->body ? q->body : "",
					  q->len,
					  MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
								      "Content-Type"));
	}
	sl_rtapi_body_release(q); /* handed over: not held while the reply goes out */
	return reply_accepted(q);
}

/*
 * First call of a POST: check what can be checked before the body, size the buffer. One body
 * is received at a time (the invocation has one result), and it must keep coming: a stalled
 * upload is closed after upload_timeout_s, so that it can hold the agent's memory no longer.
 */
static enum MHD_Result begin_post(struct req *q, bool id_ok)
{
	struct sl_rtapi *srv = q->srv;
	const char *cl = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Content-Length");
	unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;
	enum MHD_Result r;

	if (!route_allowed(q, id_ok, &r))
		return r;
	if (srv->upload)
		return reply_error(q->conn, MHD_HTTP_TOO_MANY_REQUESTS, "TooManyRequests",
				   "Another response or error for this runtime is being received");
	if (n > srv->max_payload) {
		q->too_large = true;
		return finish_post(q); /* answer now: do not read what will not be kept */
	}
	srv->upload = q;
	MHD_set_connection_option(q->conn, MHD_CONNECTION_OPTION_TIMEOUT, srv->upload_timeout_s);
	if (n)
		sl_rtapi_body_reserve(q, n); /* one allocation for the whole body (or the spare) */
	return MHD_YES;
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *c, const char *allow)
{
	struct MHD_Response *r = error_response("MethodNotAllowed", "Method Not Allowed");

	if (r)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	return sl_http_queue(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
}

/* First call for a request: route it, answer at once what needs no body. */
static enum MHD_Result begin(struct sl_rtapi *srv, struct MHD_Connection *c, const char *url,
			     const char *method, void **con_cls)
{
	char id[SL_RTAPI_ID_MAX + 1] = "";
	bool id_ok, get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
	enum route rt = route_of(url, id, &id_ok);
	struct req *q;

	if (rt == R_NONE)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "NotFound", "Not Found");
	if (rt == R_NEXT && !get)
		return method_not_allowed(c, "GET");
	if (rt != R_NEXT && strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return method_not_allowed(c, "POST");
	q = req_get(srv);
	if (!q)
		return MHD_NO; /* more requests than slots: close */
	q->conn = c;
	q->route = rt;
	memcpy(q->id, id, sizeof(id));
	*con_cls = q;
	if (rt == R_NEXT) /* answered at the final call: a reply now would close the connection */
		return MHD_YES;
	return begin_post(q, id_ok);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct sl_rtapi *srv = cls;
	struct req *q = *con_cls;

	if (!q)
		return begin(srv, c, url, method, con_cls);
	if (q->route == R_NEXT)
		return do_next(q);
	if (*upload_size) {
		sl_rtapi_body_append(q, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	return finish_post(q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *q = *con_cls;

	if (q)
		req_put(q);
	*con_cls = NULL;
}

/* ---- life cycle ---- */

static struct MHD_Response *accepted_response(void)
{
	return sl_http_json_response(json_pack("{s:s}", "status", "OK"));
}

static int start_mhd(struct sl_rtapi *srv, int listen_fd, unsigned conns, unsigned timeout_s)
{
	const union MHD_DaemonInfo *info;

	srv->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO, 0, NULL, NULL, on_request,
		srv, MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_LIMIT, conns,
		MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)SL_RTAPI_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_END);
	if (!srv->mhd)
		return -EIO;
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0)
		return -EIO;
	srv->epfd = info->epoll_fd;
	return 0;
}

/* True for a listening stream socket (MHD does not check what it is given). */
static bool listening_stream(int fd)
{
	int type = 0, acc = 0;
	socklen_t len = sizeof(int);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
		return false;
	len = sizeof(int);
	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 && acc;
}

int sl_rtapi_new(struct sl_rtapi **ret, int listen_fd, const struct sl_rtapi_opts *opts,
		 const struct sl_rtapi_ops *ops, void *userdata)
{
	struct sl_rtapi_opts o = opts ? *opts : (struct sl_rtapi_opts){0};
	struct sl_rtapi *srv;
	int r;

	if (!ret || !listening_stream(listen_fd) || o.max_connections > 64)
		return -EINVAL;
	if (!o.max_connections)
		o.max_connections = SL_RTAPI_DEFAULT_CONNECTIONS;
	if (!o.timeout_s)
		o.timeout_s = SL_RTAPI_DEFAULT_TIMEOUT_S;
	if (!o.upload_timeout_s || o.upload_timeout_s > o.timeout_s)
		o.upload_timeout_s = MIN((unsigned)SL_RTAPI_DEFAULT_UPLOAD_TIMEOUT_S, o.timeout_s);
	if (!o.max_payload || o.max_payload > SL_RTAPI_MAX_PAYLOAD)
		o.max_payload = SL_RTAPI_MAX_PAYLOAD;
	srv = calloc(1, sizeof(*srv) + o.max_connections * sizeof(struct req));
	if (!srv)
		return -ENOMEM;
	srv->n_reqs = o.max_connections;
	srv->max_conns = o.max_connections;
	srv->timeout_s = o.timeout_s;
	srv->upload_timeout_s = o.upload_timeout_s;
	srv->max_payload = o.max_payload;
	srv->epfd = -1;
	srv->userdata = userdata;
	if (ops)
		srv->ops = *ops;
	srv->accepted = accepted_response();
	if (!srv->accepted) {
		free(srv);
		return -ENOMEM;
	}
	r = start_mhd(srv, listen_fd, o.max_connections, o.timeout_s);
	if (r < 0) {
		if (srv->mhd) /* it owns listen_fd now: give it back before stopping */
			MHD_quiesce_daemon(srv->mhd);
		sl_rtapi_free(&srv);
		return r;
	}
	*ret = srv;
	return 0;
}

static void inv_clear(struct inv *v)
{
	free(v->arn);
	free(v->trace_id);
	free(v->client_context);
	free(v->cognito);
	free(v->payload);
	*v = (struct inv){0};
}

void sl_rtapi_free(struct sl_rtapi **p)
{
	struct sl_rtapi *srv = p ? *p : NULL;

	if (!srv)
		return;
	if (srv->mhd) {
		srv->stopping = true;
		if (srv->parked) { /* let the handler close it: MHD cannot stop with it suspended */
			MHD_resume_connection(srv->parked->conn);
			MHD_run(srv->mhd);
		}
		MHD_stop_daemon(srv->mhd);
	}
	if (srv->accepted)
		MHD_destroy_response(srv->accepted);
	if (srv->event)
		MHD_destroy_response(srv->event);
	inv_clear(&srv->inv);
	free(srv->spare);
	free(srv);
	*p = NULL;
}

void sl_rtapi_stats(const struct sl_rtapi *srv, struct sl_rtapi_stats *ret)
{
	*ret = (struct sl_rtapi_stats){
		.connections = srv->n_conns,
		.uploads = srv->upload ? 1 : 0,
		.body_bytes = sl_rtapi_held_bytes(srv),
	};
}

int sl_rtapi_fd(const struct sl_rtapi *srv)
{
	return srv->epfd;
}

int sl_rtapi_run(struct sl_rtapi *srv)
{
	return run_mhd(srv) == MHD_YES ? 0 : -EIO;
}

int sl_rtapi_timeout_ms(struct sl_rtapi *srv)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (srv->kick || srv->relisten)
		return 0;
	if (MHD_get_timeout(srv->mhd, &t) != MHD_YES)
		return -1;
	return t > INT32_MAX ? INT32_MAX : (int)t;
}

/* A header value: printable ASCII (no CR/LF), at most SL_RTAPI_HEADER_MAX bytes. */
static int header_dup(const char *s, bool required, char **ret)
{
	size_t n;

	if (!s || !*s) {
		*ret = NULL;
		return required ? -EINVAL : 0;
	}
	n = strnlen(s, SL_RTAPI_HEADER_MAX + 1);
	if (n > SL_RTAPI_HEADER_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] > '~')
			return -EINVAL;
	*ret = strndup(s, n);
	return *ret ? 0 : -ENOMEM;
}

static bool id_valid(const char *id)
{
	size_t n = id ? strnlen(id, SL_RTAPI_ID_MAX + 1) : 0;

	if (n == 0 || n > SL_RTAPI_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
			return false;
	return true;
}

/* Fills v from ev, reusing v's payload buffer. v is cleared on failure. */
static int inv_fill(struct inv *v, const struct sl_rtapi_event *ev)
{
	char *payload = v->payload;
	size_t cap = v->cap;
	int r;

	free(v->arn);
	free(v->trace_id);
	free(v->client_context);
	free(v->cognito);
	*v = (struct inv){.payload = payload, .cap = cap};
	if ((r = header_dup(ev->arn, true, &v->arn)) < 0 ||
	    (r = header_dup(ev->trace_id, false, &v->trace_id)) < 0 ||
	    (r = header_dup(ev->client_context, false, &v->client_context)) < 0 ||
	    (r = header_dup(ev->cognito_identity, false, &v->cognito)) < 0)
		goto fail;
	if (ev->len > v->cap || (v->cap > SPARE_MAX && ev->len <= SPARE_MAX)) {
		free(v->payload);
		v->cap = MAX(ev->len, (size_t)1);
		v->payload = malloc(v->cap);
		if (!v->payload) {
			r = -ENOMEM;
			goto fail;
		}
	}
	if (ev->len)
		memcpy(v->payload, ev->payload, ev->len);
	v->len = ev->len;
	snprintf(v->id, sizeof(v->id), "%s", ev->request_id);
	snprintf(v->deadline, sizeof(v->deadline), "%" PRIu64, ev->deadline_ms);
	v->queued = true;
	return 0;
fail:
	inv_clear(v);
	return r;
}

int sl_rtapi_invoke_event(struct sl_rtapi *srv, const struct sl_rtapi_event *ev)
{
	int r;

	if (!srv || !ev || !id_valid(ev->request_id) || (ev->len && !ev->payload))
		return -EINVAL;
	if (ev->len > SL_RTAPI_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (srv->state == RT_INIT_ERROR)
		return -EPIPE;
	if (srv->inv.queued || srv->state == RT_RUNNING)
		return -EBUSY;
	if (srv->event) { /* connections still sending it keep their reference */
		MHD_destroy_response(srv->event);
		srv->event = NULL;
	}
	r = inv_fill(&srv->inv, ev);
	if (r < 0)
		return r;
	if (srv->parked)
		resume(srv, srv->parked); /* the event goes out now, not at the next poll */
	return 0;
}

int sl_rtapi_invoke(struct sl_rtapi *srv, const char *request_id, uint64_t deadline_ms,
		    const char *arn, const char *trace_id, const void *payload, size_t len)
{
	struct sl_rtapi_event ev = {
		.request_id = request_id,
		.deadline_ms = deadline_ms,
		.arn = arn,
		.trace_id = trace_id,
		.payload = payload,
		.len = len,
	};

	return sl_rtapi_invoke_event(srv, &ev);
}
