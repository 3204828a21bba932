/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The Lambda REST front end's internals, shared by api.c (the HTTP side: bodies, SigV4, routing,
 * replies), api-functions.c (function CRUD, concurrency, account settings) and api-invoke.c.
 */
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "control.h"
#include "function.h"
#include "sigv4.h"

#define API_BODY_MAX		(70u << 20) /* CreateFunction: a 50 MB zip in base64 and the rest */
#define API_INVOKE_MAX		6291456u    /* Lambda's synchronous payload limit */
#define API_EVENT_MAX		1048576u    /* Lambda's asynchronous payload limit */
#define API_NO_CAPACITY_RETRY_S 1u	    /* Retry-After when no host can take a sandbox */
#define API_URI_MAX		4096
#define API_PAGE_MAX		50 /* ListFunctions: MaxItems 1..50 */

struct api_req {
	struct ctl *c;
	struct api_req *next_resume; /* on the list of requests to resume */
	struct MHD_Connection *conn;
	char *uri; /* raw request target as sent (for SigV4) */
	char *body;
	size_t len, cap, limit;
	bool too_large, suspended, started;
	char request_id[37];
	uint64_t start_ns; /* arrival, for the request duration histogram (0: not counted) */
	struct sl_sigv4_identity who;
	/* an invocation's end, kept until the response is queued */
	bool inv_done;
	struct inv_result res;
	struct MHD_Response *reply; /* ready to queue when resumed */
	unsigned reply_status;
};

/* A route handler: answers (api_reply*) and returns MHD's result, or suspends. */
typedef enum MHD_Result (*api_handler_fn)(struct api_req *q, const char *name);

/* Replies with a JSON body (reference stolen; NULL: empty body). */
enum MHD_Result api_reply_json(struct api_req *q, unsigned status, json_t *body);
/* Replies with Lambda's error shape: x-amzn-ErrorType and {"Type", "Message"}. */
enum MHD_Result api_reply_error(struct api_req *q, unsigned status, const char *type,
				const char *fmt, ...) __attribute__((format(printf, 4, 5)));
enum MHD_Result api_reply_err(struct api_req *q, const struct sl_api_err *e);
/*
 * Lambda's error response without its status: body (consumed) as JSON with x-amzn-RequestId
 * and x-amzn-ErrorType: type, for a caller that adds headers of its own before sl_http_queue().
 * NULL if body is NULL or the response cannot be made.
 */
struct MHD_Response *api_error_response(struct api_req *q, const char *type, json_t *body);
/* Parses the body as a JSON object (or fails with InvalidRequestContentException). */
json_t *api_body_json(struct api_req *q, struct sl_api_err *e);
/* A query argument (decoded), or NULL. */
const char *api_query(struct api_req *q, const char *key);
const char *api_header(struct api_req *q, const char *name);
/* Arranges for q to be resumed from the loop (not from inside the caller). */
void api_resume_later(struct api_req *q);
/* Resumes q at once (not from inside a loop over invocations: MHD may start new ones). */
void api_resume_now(struct api_req *q);
/* Drops account/name from the function cache: call after every change in the store. */
void api_fn_forget(struct ctl *c, const char *account, const char *name);
/* Loads the caller's function (cached); fills e (404, ...) and returns -EINVAL on failure. */
int api_load_fn(struct api_req *q, const char *name, struct sl_fn *ret, struct sl_api_err *e);

/* api-functions.c */
enum MHD_Result api_create_function(struct api_req *q, const char *name);
enum MHD_Result api_list_functions(struct api_req *q, const char *name);
enum MHD_Result api_get_function(struct api_req *q, const char *name);
enum MHD_Result api_get_configuration(struct api_req *q, const char *name);
enum MHD_Result api_delete_function(struct api_req *q, const char *name);
enum MHD_Result api_update_code(struct api_req *q, const char *name);
enum MHD_Result api_update_configuration(struct api_req *q, const char *name);
enum MHD_Result api_put_concurrency(struct api_req *q, const char *name);
enum MHD_Result api_get_concurrency(struct api_req *q, const char *name);
enum MHD_Result api_delete_concurrency(struct api_req *q, const char *name);
enum MHD_Result api_account_settings(struct api_req *q, const char *name);

/* api-ctl.c: the operators' JSON API under /v1/ (loopback peers with the token only) */
enum MHD_Result api_ctl(struct api_req *q, const char *url, const char *method);
/* A fresh token in <data>/ctlapi.token (0600) and c->ctlapi_token. 0 or -errno. */
int api_ctl_token_write(struct ctl *c);
/* api-async.c: event invoke configs and the dead-letter queue */
enum MHD_Result api_put_event_config(struct api_req *q, const char *name);
enum MHD_Result api_get_event_config(struct api_req *q, const char *name);
enum MHD_Result api_delete_event_config(struct api_req *q, const char *name);
enum MHD_Result api_dlq_list(struct api_req *q, const char *name);
enum MHD_Result api_dlq_replay(struct api_req *q, const char *name);

/* api-invoke.c */
enum MHD_Result api_invoke(struct api_req *q, const char *name);
/* The response of a resumed invocation. */
enum MHD_Result api_invoke_reply(struct api_req *q);
