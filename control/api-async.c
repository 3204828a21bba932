// SPDX-License-Identifier: Apache-2.0
/*
 * Put/Get/DeleteFunctionEventInvokeConfig (2019-09-25 paths; POST is the Update variant, which
 * here replaces the config like Put) and the control node's dead-letter queue API:
 * GET /v1/dlq[?after=ID&limit=N] lists the caller's dead letters, POST /v1/dlq/ID/replay puts
 * one back in the queue. Both are SigV4-authenticated like the Lambda API: an account sees and
 * replays only its own.
 */
#include "api.h"

#include <sandlot/parse.h>
#include <sandlot/util.h>
#include <sandlot/time.h>

#include <errno.h>
#include <string.h>

#include "retry.h"

#define DLQ_PAGE_MAX 100

static json_t *eic_json(struct api_req *q, const struct sl_fn *f, const struct sl_eic *e)
{
	char arn[SL_MSG_TEXT_MAX];
	json_t *dest = json_object(), *j;

	sl_fn_arn(f, q->c->cfg.region, arn, sizeof(arn));
	if (e->on_failure[0])
		json_object_set_new(dest, "OnFailure",
				    json_pack("{s:s}", "Destination", e->on_failure));
	j = json_pack("{s:f, s:s, s:i, s:i, s:o}", "LastModified", (double)e->modified_ns / 1e9,
		      "FunctionArn", arn, "MaximumRetryAttempts", (int)e->max_retry,
		      "MaximumEventAgeInSeconds", (int)e->max_age_s, "DestinationConfig", dest);
	return j;
}

static int int_field(json_t *body, const char *key, int lo, int hi, int32_t *ret,
		     struct sl_api_err *e)
{
	json_t *v = json_object_get(body, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return sl_api_fail(e, 400, "InvalidParameterValueException",
				   "%s must be an integer from %d to %d", key, lo, hi);
	*ret = (int32_t)json_integer_value(v);
	return 0;
}

static int parse_eic(json_t *body, struct sl_eic *ret, struct sl_api_err *e)
{
	json_t *dc = json_object_get(body, "DestinationConfig"), *of, *d;

	*ret = (struct sl_eic){.max_retry = SL_RETRY_MAX, .max_age_s = SL_RETRY_AGE_MAX_S};
	if (int_field(body, "MaximumRetryAttempts", 0, SL_RETRY_MAX, &ret->max_retry, e) < 0 ||
	    int_field(body, "MaximumEventAgeInSeconds", SL_RETRY_AGE_MIN_S, SL_RETRY_AGE_MAX_S,
		      &ret->max_age_s, e) < 0)
		return -EINVAL;
	if (dc && !json_is_object(dc))
		return sl_api_fail(e, 400, "InvalidParameterValueException",
				   "DestinationConfig must be an object");
	of = dc ? json_object_get(dc, "OnFailure") : NULL;
	d = of ? json_object_get(of, "Destination") : NULL;
	if (of && d && !json_is_null(d)) {
		const char *s = json_string_value(d);

		if (!s || strncmp(s, "arn:", 4) != 0 || strlen(s) >= sizeof(ret->on_failure))
			return sl_api_fail(e, 400, "InvalidParameterValueException",
					   "OnFailure.Destination must be an ARN");
		snprintf(ret->on_failure, sizeof(ret->on_failure), "%s", s);
	}
	return 0;
}

enum MHD_Result api_put_event_config(struct api_req *q, const char *name)
{
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	struct sl_store *s = q->c->store;
	struct sl_api_err e;
	struct sl_eic eic;
	json_t *body;
	int r;

	if (!f)
		return MHD_NO;
	if (api_load_fn(q, name, f, &e) < 0)
		return api_reply_err(q, &e);
	body = api_body_json(q, &e);
	if (!body)
		return api_reply_err(q, &e);
	r = parse_eic(body, &eic, &e);
	json_decref(body);
	if (r < 0)
		return api_reply_err(q, &e);
	eic.modified_ns = sl_wall_ns();
	r = s->ops->eic_put(s, f->account, f->name, &eic);
	if (r < 0)
		return api_reply_error(q, 500, "ServiceException", "store: %s", strerror(-r));
	return api_reply_json(q, 200, eic_json(q, f, &eic));
}

enum MHD_Result api_get_event_config(struct api_req *q, const char *name)
{
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	struct sl_store *s = q->c->store;
	struct sl_api_err e;
	struct sl_eic eic;
	int r;

	if (!f)
		return MHD_NO;
	if (api_load_fn(q, name, f, &e) < 0)
		return api_reply_err(q, &e);
	r = s->ops->eic_get(s, f->account, f->name, &eic);
	if (r == -ENOENT)
		return api_reply_error(q, 404, "ResourceNotFoundException",
				       "The function %s doesn't have an EventInvokeConfig",
				       f->name);
	if (r < 0)
		return api_reply_error(q, 500, "ServiceException", "store: %s", strerror(-r));
	return api_reply_json(q, 200, eic_json(q, f, &eic));
}

enum MHD_Result api_delete_event_config(struct api_req *q, const char *name)
{
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	struct sl_store *s = q->c->store;
	struct sl_api_err e;
	int r;

	if (!f)
		return MHD_NO;
	if (api_load_fn(q, name, f, &e) < 0)
		return api_reply_err(q, &e);
	r = s->ops->eic_delete(s, f->account, f->name);
	if (r == -ENOENT)
		return api_reply_error(q, 404, "ResourceNotFoundException",
				       "The function %s doesn't have an EventInvokeConfig",
				       f->name);
	if (r < 0)
		return api_reply_error(q, 500, "ServiceException", "store: %s", strerror(-r));
	return api_reply_json(q, 204, NULL);
}

static int add_dead(const struct sl_dead *d, void *data)
{
	json_t *arr = data;
	_cleanup_free_ char *b64 = sl_b64_encode(d->payload, d->len);

	if (!b64)
		return -ENOMEM;
	return json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:i, s:f, s:f, s:s, s:s}",
						    "Id", (json_int_t)d->id, "FunctionName",
						    d->name, "RequestId", d->request_id, "Attempts",
						    (int)d->attempts, "Enqueued",
						    (double)d->enqueued_ns / 1e9, "Failed",
						    (double)d->failed_ns / 1e9, "Error", d->error,
						    "Payload", b64)) < 0
		       ? -ENOMEM
		       : 0;
}

enum MHD_Result api_dlq_list(struct api_req *q, const char *name)
{
	const char *after = api_query(q, "after"), *limit = api_query(q, "limit");
	uint64_t a = 0, n = DLQ_PAGE_MAX;
	json_t *arr;
	int r;

	if ((after && sl_parse_u64(after, 0, INT64_MAX, &a) < 0) ||
	    (limit && sl_parse_u64(limit, 1, DLQ_PAGE_MAX, &n) < 0))
		return api_reply_error(q, 400, "InvalidParameterValueException",
				       "after must be an id, limit 1..%d", DLQ_PAGE_MAX);
	arr = json_array();
	if (!arr)
		return MHD_NO;
	r = q->c->store->ops->dlq_list(q->c->store, q->who.account, (int64_t)a, (unsigned)n,
				       add_dead, arr);
	if (r < 0) {
		json_decref(arr);
		return api_reply_error(q, 500, "ServiceException", "store: %s", strerror(-r));
	}
	return api_reply_json(q, 200, json_pack("{s:o}", "DeadLetters", arr));
}

enum MHD_Result api_dlq_replay(struct api_req *q, const char *name)
{
	uint64_t id;
	int r;

	if (sl_parse_u64(name, 1, INT64_MAX, &id) < 0)
		return api_reply_error(q, 400, "InvalidParameterValueException",
				       "a dead letter's id is a positive integer");
	r = q->c->store->ops->dlq_replay(q->c->store, q->who.account, (int64_t)id, sl_wall_ns());
	if (r == -ENOENT)
		return api_reply_error(q, 404, "ResourceNotFoundException", "No dead letter %llu",
				       (unsigned long long)id);
	if (r < 0)
		return api_reply_error(q, 500, "ServiceException", "store: %s", strerror(-r));
	return api_reply_json(q, 202, json_pack("{s:I}", "Id", (json_int_t)id));
}
