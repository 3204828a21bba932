// SPDX-License-Identifier: Apache-2.0
/*
 * Function management: CreateFunction, GetFunction(Configuration), ListFunctions,
 * UpdateFunctionCode/Configuration, DeleteFunction, Put/Get/DeleteFunctionConcurrency,
 * GetAccountSettings. Each validates, writes the store, keeps counting and the router in step.
 */
#include "api.h"

#include <sandlot/log.h>
#include <sandlot/time.h>

#include <openssl/sha.h>
#include <string.h>

#include "code.h"

static enum MHD_Result store_failed(struct api_req *q, int r)
{
	return api_reply_error(q, r == -ENOSPC ? 507 : 500, "ServiceException",
			       "the store failed: %s", strerror(-r));
}

/* Checks zip, builds the package agents run, stores both, fills f's code fields. */
static int take_code(struct api_req *q, struct sl_fn *f, void *zip, size_t len,
		     struct sl_api_err *e)
{
	struct sl_store *s = q->c->store;
	_cleanup_free_ void *deploy = NULL;
	size_t deploy_len = len;
	uint64_t unzipped;
	char why[200];
	int r;

	if (len > SL_FN_ZIP_MAX)
		return sl_api_fail(e, 413, "RequestEntityTooLargeException",
				   "Zipped size must be smaller than %u bytes", SL_FN_ZIP_MAX);
	r = sl_code_check(zip, len, &unzipped, why, sizeof(why));
	if (r < 0)
		return sl_api_fail(e, 400, "InvalidParameterValueException", "%s", why);
	SHA256(zip, len, f->code_sha);
	f->code_size = len;
	if (sl_fn_is_python(f->runtime)) {
		r = sl_code_with_bootstrap(zip, len, sl_python_bootstrap, sl_python_bootstrap_len,
					   &deploy, &deploy_len);
		if (r < 0)
			return sl_api_fail(e, 400, "InvalidParameterValueException",
					   "Could not unzip uploaded file. Please check your "
					   "file, then try to upload again.");
	}
	SHA256(deploy ? deploy : zip, deploy_len, f->deploy_sha);
	f->deploy_size = deploy_len;
	r = s->ops->code_put(s, f->code_sha, zip, len);
	if (r == 0 && deploy)
		r = s->ops->code_put(s, f->deploy_sha, deploy, deploy_len);
	if (r < 0)
		return sl_api_fail(e, 500, "ServiceException", "the store failed: %s",
				   strerror(-r));
	return 0;
}

static void new_revision(struct sl_fn *f)
{
	sl_uuid(f->revision_id);
	f->modified_ns = sl_wall_ns();
}

enum MHD_Result api_create_function(struct api_req *q, const char *unused)
{
	struct sl_store *s = q->c->store;
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	_cleanup_free_ void *zip = NULL;
	struct sl_api_err e;
	size_t zip_len = 0;
	json_t *body;
	int r;

	if (!f)
		return MHD_NO;
	body = api_body_json(q, &e);
	if (!body)
		return api_reply_err(q, &e);
	r = sl_fn_from_create(body, q->who.account, f, &zip, &zip_len, &e);
	json_decref(body);
	if (r < 0 || take_code(q, f, zip, zip_len, &e) < 0)
		return api_reply_err(q, &e);
	new_revision(f);
	api_fn_forget(q->c, f->account, f->name);
	r = s->ops->fn_put(s, f, true);
	if (r == -EEXIST)
		return api_reply_error(q, 409, "ResourceConflictException",
				       "Function already exist: %s", f->name);
	if (r < 0)
		return store_failed(q, r);
	sl_info("function %s/%s created (%s, %u MB)", f->account, f->name, f->runtime,
		f->memory_mb);
	return api_reply_json(q, 201, sl_fn_config_json(f, q->c->cfg.region));
}

struct page {
	json_t *arr;
	const char *region;
	char last[SL_FN_NAME_MAX + 1];
};

static int add_one(const struct sl_fn *f, void *data)
{
	struct page *p = data;

	json_array_append_new(p->arr, sl_fn_config_json(f, p->region));
	snprintf(p->last, sizeof(p->last), "%s", f->name);
	return 0;
}

enum MHD_Result api_list_functions(struct api_req *q, const char *unused)
{
	struct sl_store *s = q->c->store;
	const char *marker = api_query(q, "Marker"), *max = api_query(q, "MaxItems");
	struct page p = {.arr = json_array(), .region = q->c->cfg.region};
	unsigned long n = API_PAGE_MAX;
	char *end;
	int r;

	if (max) {
		n = strtoul(max, &end, 10);
		if (*end || !*max || n < 1 || n > 10000) {
			json_decref(p.arr);
			return api_reply_error(q, 400, "InvalidParameterValueException",
					       "MaxItems must be between 1 and 10000");
		}
		n = MIN(n, API_PAGE_MAX);
	}
	if (marker && !sl_fn_valid_name(marker)) {
		json_decref(p.arr);
		return api_reply_error(q, 400, "InvalidParameterValueException",
				       "Marker is not valid");
	}
	/* one more than asked: whether a next page exists */
	r = s->ops->fn_list(s, q->who.account, marker ? marker : "", (unsigned)n + 1, add_one, &p);
	if (r < 0) {
		json_decref(p.arr);
		return store_failed(q, r);
	}
	json_t *out = json_object();
	if ((unsigned long)r > n) {
		json_array_remove(p.arr, n);
		json_object_set_new(out, "NextMarker",
				    json_string(json_string_value(json_object_get(
					    json_array_get(p.arr, n - 1), "FunctionName"))));
	}
	json_object_set_new(out, "Functions", p.arr);
	return api_reply_json(q, 200, out);
}

enum MHD_Result api_get_function(struct api_req *q, const char *name)
{
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	struct sl_api_err e;
	json_t *out;

	if (!f)
		return MHD_NO;
	if (api_load_fn(q, name, f, &e) < 0)
		return api_reply_err(q, &e);
	out = json_pack("{s:o, s:{s:s, s:s}}", "Configuration",
			sl_fn_config_json(f, q->c->cfg.region), "Code", "RepositoryType", "sandlot",
			"Location", "");
	if (f->reserved >= 0)
		json_object_set_new(out, "Concurrency",
				    json_pack("{s:I}", "ReservedConcurrentExecutions",
					      (json_int_t)f->reserved));
	return api_reply_json(q, 200, out);
}

enum MHD_Result api_get_configuration(struct api_req *q, const char *name)
{
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	struct sl_api_err e;

	if (!f)
		return MHD_NO;
	if (api_load_fn(q, name, f, &e) < 0)
		return api_reply_err(q, &e);
	return api_reply_json(q, 200, sl_fn_config_json(f, q->c->cfg.region));
}

enum MHD_Result api_delete_function(struct api_req *q, const char *name)
{
	struct sl_store *s = q->c->store;
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	struct sl_api_err e;
	int r;

	if (!f)
		return MHD_NO;
	if (api_load_fn(q, name, f, &e) < 0)
		return api_reply_err(q, &e);
	api_fn_forget(q->c, f->account, f->name);
	r = s->ops->fn_delete(s, f->account, f->name);
	if (r < 0 && r != -ENOENT)
		return store_failed(q, r);
	sl_counting_clear_reserved(q->c->counting, f->account, f->name);
	invoke_retire_sandboxes(q->c, f->account, f->name, "");
	s->ops->code_gc(s);
	sl_info("function %s/%s deleted", f->account, f->name);
	return api_reply_json(q, 204, NULL);
}

/* Stores an updated f, retires the sandboxes of its previous revision, answers. */
static enum MHD_Result updated(struct api_req *q, struct sl_fn *f)
{
	struct sl_store *s = q->c->store;
	char key[SL_ROUTER_KEY_MAX + 1];
	int r;

	new_revision(f);
	api_fn_forget(q->c, f->account, f->name);
	r = s->ops->fn_put(s, f, false);
	if (r == -ENOENT)
		return api_reply_error(q, 404, "ResourceNotFoundException",
				       "Function not found: %s", f->name);
	if (r < 0)
		return store_failed(q, r);
	invoke_fn_key(f, key, sizeof(key));
	invoke_retire_sandboxes(q->c, f->account, f->name, key);
	s->ops->code_gc(s);
	return api_reply_json(q, 200, sl_fn_config_json(f, q->c->cfg.region));
}

static int check_revision(json_t *body, const struct sl_fn *f, struct sl_api_err *e)
{
	const char *rev = json_string_value(json_object_get(body, "RevisionId"));

	if (rev && strcmp(rev, f->revision_id) != 0)
		return sl_api_fail(e, 412, "PreconditionFailedException",
				   "The Revision Id provided does not match the latest Revision "
				   "Id. Call the GetFunction/GetAlias API to retrieve the latest "
				   "Revision Id");
	return 0;
}

enum MHD_Result api_update_code(struct api_req *q, const char *name)
{
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	_cleanup_free_ void *zip = NULL;
	struct sl_api_err e;
	size_t len = 0;
	json_t *body;
	int r;

	if (!f)
		return MHD_NO;
	if (api_load_fn(q, name, f, &e) < 0)
		return api_reply_err(q, &e);
	body = api_body_json(q, &e);
	if (!body)
		return api_reply_err(q, &e);
	r = check_revision(body, f, &e);
	if (r == 0)
		r = sl_fn_code_from_update(body, &zip, &len, &e);
	json_decref(body);
	if (r < 0 || take_code(q, f, zip, len, &e) < 0)
		return api_reply_err(q, &e);
	return updated(q, f);
}

enum MHD_Result api_update_configuration(struct api_req *q, const char *name)
{
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	struct sl_api_err e;
	bool python;
	json_t *body;
	int r;

	if (!f)
		return MHD_NO;
	if (api_load_fn(q, name, f, &e) < 0)
		return api_reply_err(q, &e);
	body = api_body_json(q, &e);
	if (!body)
		return api_reply_err(q, &e);
	python = sl_fn_is_python(f->runtime);
	r = check_revision(body, f, &e);
	if (r == 0)
		r = sl_fn_apply_config(body, f, &e);
	json_decref(body);
	if (r < 0)
		return api_reply_err(q, &e);
	if (python != sl_fn_is_python(f->runtime))
		return api_reply_error(q, 400, "InvalidParameterValueException",
				       "Changing between python and provided runtimes needs "
				       "UpdateFunctionCode after it; delete and create instead");
	return updated(q, f);
}

enum MHD_Result api_put_concurrency(struct api_req *q, const char *name)
{
	struct sl_store *s = q->c->store;
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	struct sl_api_err e;
	json_t *body, *v;
	json_int_t n;
	int r;

	if (!f)
		return MHD_NO;
	if (api_load_fn(q, name, f, &e) < 0)
		return api_reply_err(q, &e);
	body = api_body_json(q, &e);
	if (!body)
		return api_reply_err(q, &e);
	v = json_object_get(body, "ReservedConcurrentExecutions");
	n = json_integer_value(v);
	r = json_is_integer(v) ? 0 : -EINVAL;
	json_decref(body);
	if (r < 0)
		return api_reply_error(q, 400, "InvalidRequestContentException",
				       "ReservedConcurrentExecutions must be an integer");
	if (n < 0 || n > 1000000)
		return api_reply_error(
			q, 400, "ValidationException",
			"1 validation error detected: Value '%lld' at "
			"'reservedConcurrentExecutions' failed to satisfy constraint: "
			"Member must have value greater than or equal to 0",
			(long long)n);
	r = sl_counting_set_reserved(q->c->counting, f->account, f->name, (uint32_t)n);
	if (r == -ENOSPC)
		return api_reply_error(
			q, 400, "InvalidParameterValueException",
			"Specified ReservedConcurrentExecutions for function "
			"decreases account's UnreservedConcurrentExecution below its "
			"minimum value of [%d].",
			SL_COUNT_MIN_UNRESERVED);
	if (r < 0)
		return api_reply_error(q, 500, "ServiceException", "counting: %s", strerror(-r));
	f->reserved = n;
	api_fn_forget(q->c, f->account, f->name);
	r = s->ops->fn_put(s, f, false);
	if (r < 0)
		return store_failed(q, r);
	return api_reply_json(q, 200,
			      json_pack("{s:I}", "ReservedConcurrentExecutions", (json_int_t)n));
}

enum MHD_Result api_get_concurrency(struct api_req *q, const char *name)
{
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	struct sl_api_err e;

	if (!f)
		return MHD_NO;
	if (api_load_fn(q, name, f, &e) < 0)
		return api_reply_err(q, &e);
	if (f->reserved < 0)
		return api_reply_json(q, 200, json_object());
	return api_reply_json(
		q, 200,
		json_pack("{s:I}", "ReservedConcurrentExecutions", (json_int_t)f->reserved));
}

enum MHD_Result api_delete_concurrency(struct api_req *q, const char *name)
{
	struct sl_store *s = q->c->store;
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	struct sl_api_err e;
	int r;

	if (!f)
		return MHD_NO;
	if (api_load_fn(q, name, f, &e) < 0)
		return api_reply_err(q, &e);
	sl_counting_clear_reserved(q->c->counting, f->account, f->name);
	f->reserved = -1;
	api_fn_forget(q->c, f->account, f->name);
	r = s->ops->fn_put(s, f, false);
	if (r < 0)
		return store_failed(q, r);
	return api_reply_json(q, 204, NULL);
}

enum MHD_Result api_account_settings(struct api_req *q, const char *unused)
{
	struct sl_store *s = q->c->store;
	struct sl_count_usage u = {0};
	uint64_t count = 0, bytes = 0;
	int r = s->ops->fn_usage(s, q->who.account, &count, &bytes);

	if (r < 0)
		return store_failed(q, r);
	sl_counting_account_usage(q->c->counting, q->who.account, &u);
	if (!u.limit) { /* an account that never invoked */
		u.limit = q->c->cfg.account_concurrency;
		u.unreserved_limit = u.limit;
	}
	return api_reply_json(
		q, 200,
		json_pack("{s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I}}", "AccountLimit",
			  "TotalCodeSize", (json_int_t)80530636800LL, "CodeSizeUnzipped",
			  (json_int_t)SL_CODE_UNZIPPED_MAX, "CodeSizeZipped",
			  (json_int_t)SL_FN_ZIP_MAX, "ConcurrentExecutions", (json_int_t)u.limit,
			  "UnreservedConcurrentExecutions", (json_int_t)u.unreserved_limit,
			  "AccountUsage", "TotalCodeSize", (json_int_t)bytes, "FunctionCount",
			  (json_int_t)count));
}
