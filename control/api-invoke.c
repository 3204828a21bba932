// SPDX-License-Identifier: Apache-2.0
/*
 * Invoke (RequestResponse, Event and DryRun): validates the request, admits it (429 with Lambda's
 * Reason when over a limit), suspends the connection until invoke.c reports the end, then
 * answers with the function's payload and X-Amz-Function-Error / X-Amz-Log-Result /
 * X-Amz-Executed-Version, or Lambda's error shape.
 */
#include "api.h"

#include <sandlot/http.h>
#include <sandlot/log.h>

#include <ctype.h>
#include <string.h>

static void on_done(struct inv *inv, const struct inv_result *res, void *data)
{
	struct api_req *q = data;

	q->res = *res;
	q->res.payload = NULL;
	q->res.log_b64 = res->log_b64 ? strdup(res->log_b64) : NULL;
	if (res->payload_len) {
		q->res.payload = malloc(res->payload_len);
		if (q->res.payload)
			memcpy(q->res.payload, res->payload, res->payload_len);
		else
			q->res.payload_len = 0;
	}
	q->inv_done = true;
	/* A result goes out at the end of this loop turn (sl_http_resume()); a failure comes
	 * from a loop over many invocations, after which the api resumes them together. */
	if (res->http_status == 200)
		api_resume_now(q);
	else
		api_resume_later(q);
}

enum MHD_Result api_invoke_reply(struct api_req *q)
{
	const struct inv_result *res = &q->res;
	struct MHD_Response *r;

	q->suspended = false;
	q->inv_done = false;
	if (res->http_status == 202) { /* an Event stored */
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, "x-amzn-RequestId", q->request_id);
		return sl_http_queue(q->conn, 202, r);
	}
	if (res->http_status != 200)
		return api_reply_error(q, res->http_status, res->error_type, "%s", res->message);
	r = MHD_create_response_from_buffer(res->payload_len, res->payload, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "x-amzn-RequestId", q->request_id);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, "X-Amz-Executed-Version", "$LATEST");
	if (res->function_error[0])
		MHD_add_response_header(r, "X-Amz-Function-Error", res->function_error);
	if (res->log_b64)
		MHD_add_response_header(r, "X-Amz-Log-Result", res->log_b64);
	return sl_http_queue(q->conn, 200, r);
}

/* X-Amz-Client-Context: base64 of a JSON object, decoded for the runtime (printable). */
static int client_context(struct api_req *q, char *out, size_t size, struct sl_api_err *e)
{
	const char *h = api_header(q, "X-Amz-Client-Context");
	_cleanup_free_ void *dec = NULL;
	size_t len = 0;
	json_t *j;

	out[0] = '\0';
	if (!h || !*h)
		return 0;
	if (strlen(h) > SL_MSG_CLIENT_CTX_MAX || sl_b64_decode(h, strlen(h), &dec, &len) < 0 ||
	    len >= size)
		return sl_api_fail(e, 400, "InvalidParameterValueException",
				   "Client context must be a valid Base64-encoded JSON object.");
	j = json_loadb(dec, len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return sl_api_fail(e, 400, "InvalidParameterValueException",
				   "Client context must be a valid Base64-encoded JSON object.");
	}
	json_decref(j);
	memcpy(out, dec, len);
	out[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (!isprint((unsigned char)out[i]))
			out[i] = ' '; /* a header value for the runtime: no control characters */
	return 0;
}

/* 429 TooManyRequestsException with Lambda's Reason; retry_after_s > 0 adds Retry-After. */
static enum MHD_Result too_many(struct api_req *q, const char *reason, const char *type,
				const char *message, unsigned retry_after_s)
{
	json_t *body =
		json_pack("{s:s, s:s, s:s}", "Reason", reason, "Type", type, "Message", message);
	struct MHD_Response *r = api_error_response(q, "TooManyRequestsException", body);
	char after[16];

	if (r && retry_after_s) {
		snprintf(after, sizeof(after), "%u", retry_after_s);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, after);
	}
	return sl_http_queue(q->conn, 429, r);
}

static enum MHD_Result throttled(struct api_req *q, enum sl_count_reason reason)
{
	return too_many(q,
			reason == SL_COUNT_FUNCTION
				? "ReservedFunctionConcurrentInvocationLimitExceeded"
				: "ConcurrentInvocationLimitExceeded",
			"User", "Rate Exceeded.", 0);
}

/*
 * No worker host can take a new sandbox: a shortage of the platform's, retryable, answered as
 * Lambda answers when it cannot scale a function fast enough (docs/control.md, "No capacity").
 */
static enum MHD_Result no_capacity(struct api_req *q)
{
	return too_many(q, "FunctionInvocationRateLimitExceeded", "Service",
			"No worker host can take a new sandbox now; retry after a moment.",
			API_NO_CAPACITY_RETRY_S);
}

/* The options of one invocation, validated. */
static int options(struct api_req *q, const char **ret_type, bool *ret_tail, struct sl_api_err *e)
{
	const char *type = api_header(q, "X-Amz-Invocation-Type");
	const char *log = api_header(q, "X-Amz-Log-Type");

	if (!type)
		type = "RequestResponse";
	if (strcmp(type, "RequestResponse") != 0 && strcmp(type, "DryRun") != 0 &&
	    strcmp(type, "Event") != 0)
		return sl_api_fail(
			e, 400, "InvalidParameterValueException",
			"X-Amz-Invocation-Type must be RequestResponse, Event or DryRun");
	if (log && strcmp(log, "None") != 0 && strcmp(log, "Tail") != 0)
		return sl_api_fail(e, 400, "InvalidParameterValueException",
				   "X-Amz-Log-Type must be None or Tail");
	*ret_type = type;
	*ret_tail = log && strcmp(log, "Tail") == 0;
	return 0;
}

static int payload_ok(struct api_req *q, struct sl_api_err *e)
{
	json_error_t jerr;
	json_t *j;

	if (!q->len)
		return 0;
	j = json_loadb(q->body, q->len, JSON_DECODE_ANY, &jerr);
	if (!j)
		return sl_api_fail(e, 400, "InvalidRequestContentException",
				   "Could not parse request body into json: %s", jerr.text);
	json_decref(j);
	return 0;
}

static enum MHD_Result start_failed(struct api_req *q, int r, enum sl_count_reason reason)
{
	if (r == -EAGAIN)
		return throttled(q, reason);
	if (r == -ENOSPC)
		return no_capacity(q);
	return api_reply_error(q, 500, "ServiceException", "The invocation failed to start: %s",
			       strerror(-r));
}

static void on_stored(void *data, int r)
{
	struct api_req *q = data;

	q->res = (struct inv_result){.http_status = r == 0 ? 202 : 500,
				     .error_type = "ServiceException"};
	snprintf(q->res.message, sizeof(q->res.message), "The event could not be stored: %s",
		 strerror(-r));
	q->inv_done = true;
	api_resume_later(q);
}

/* Event: 202 once the event is committed to the store (a group commit, see async.c). */
static enum MHD_Result invoke_event(struct api_req *q, const struct sl_fn *f)
{
	int r;

	if (q->len > API_EVENT_MAX)
		return api_reply_error(q, 413, "RequestTooLargeException",
				       "Request must be smaller than %u bytes for the "
				       "InvokeAsync operation",
				       API_EVENT_MAX);
	r = async_enqueue(q->c, f, q->body ? q->body : "", q->len, q->request_id, on_stored, q);
	if (r < 0)
		return api_reply_error(q, 500, "ServiceException",
				       "The event could not be stored: %s", strerror(-r));
	q->suspended = true;
	MHD_suspend_connection(q->conn);
	return MHD_YES;
}

enum MHD_Result api_invoke(struct api_req *q, const char *name)
{
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	char cc[SL_MSG_CLIENT_CTX_MAX + 1];
	enum sl_count_reason reason = SL_COUNT_OK;
	const char *type = NULL;
	struct sl_api_err e;
	bool tail = false;
	int r;

	if (!f)
		return MHD_NO;
	if (api_load_fn(q, name, f, &e) < 0 || options(q, &type, &tail, &e) < 0 ||
	    client_context(q, cc, sizeof(cc), &e) < 0 || payload_ok(q, &e) < 0)
		return api_reply_err(q, &e);
	if (strcmp(type, "DryRun") == 0)
		return api_reply_json(q, 204, NULL);
	if (q->c->stopping)
		return api_reply_error(q, 503, "ServiceException", "The control node is stopping.");
	if (strcmp(type, "Event") == 0)
		return invoke_event(q, f);
	r = invoke_start(q->c, f, q->body ? q->body : "", q->len, tail, false, cc, q->request_id,
			 on_done, q, &reason);
	if (r < 0)
		return start_failed(q, r, reason);
	q->suspended = true;
	MHD_suspend_connection(q->conn);
	return MHD_YES;
}
