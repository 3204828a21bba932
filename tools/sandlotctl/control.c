// SPDX-License-Identifier: Apache-2.0
/*
 * The control node's operator API (docs/control.md, /v1/ on its HTTP listener): requests with
 * the token it writes to <data>/ctlapi.token, for the function, worker and dlq objects.
 */
#include "main.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CONTROL_TOKEN_FILE "ctlapi.token"

const char *control_path(char *buf, size_t len, const char *path, const char *account)
{
	if (account)
		snprintf(buf, len, "%s?account=%s", path, account);
	else
		snprintf(buf, len, "%s", path);
	return buf;
}

static int down(int r)
{
	switch (r) {
	case -ECONNREFUSED:
		return fail("the control node at %s is not answering (connection refused)",
			    ctl.control);
	case -ETIMEDOUT:
		return fail("the control node at %s did not answer in time", ctl.control);
	case -EINVAL:
		return fail("bad control node address '%s'", ctl.control);
	case -EPROTO:
		return fail("the control node at %s answered something that is not JSON",
			    ctl.control);
	default:
		return fail("the control node at %s cannot be reached: %s", ctl.control,
			    strerror(-r));
	}
}

static int refused(const struct http_call *hc, int status, json_t *j)
{
	json_t *e = json_object_get(j, "error");
	const char *msg = json_string_value(e) ?: json_string_value(json_object_get(j, "Message"));

	if (status == 403 && hc->token_err)
		return fail("cannot read the control node's token %s: %s (run as root, or give "
			    "--control-data)",
			    hc->token_file, strerror(-hc->token_err));
	if (hc->error_type[0])
		return fail("%s: %s", hc->error_type, msg ? msg : "(no message)");
	if (json_is_string(e))
		return fail("%s", msg);
	return fail("the control node answered %d%s%s", status, msg ? ": " : "", msg ? msg : "");
}

int control_list(const char *path, const char *key, json_t **ret)
{
	json_t *j, *list;
	int r = control_call(path, false, NULL, 0, &j, NULL);

	if (r)
		return r;
	list = json_incref(json_object_get(j, key));
	if (json_is_true(json_object_get(j, "truncated")))
		warn("the control node listed only the first %zu %s", json_array_size(list), key);
	json_decref(j);
	if (!json_is_array(list)) {
		json_decref(list);
		return fail("the control node's listing has no %s array", key);
	}
	*ret = list;
	return 0;
}

int control_call(const char *path, bool post, const char *body, size_t len, json_t **ret,
		 struct http_call *hc_out)
{
	char token[512];
	struct http_call hc = {.base = ctl.control,
			       .path = path,
			       .post = post,
			       .body = body,
			       .body_len = len,
			       .token_file = token,
			       .token_optional = true,
			       .timeout_s = post ? 960 : 10}; /* an invocation: up to 900 s */
	json_t *j = NULL;
	int r;

	snprintf(token, sizeof(token), "%s/%s", ctl.control_data, CONTROL_TOKEN_FILE);
	r = http_call(&hc, &j);
	if (hc_out)
		*hc_out = hc;
	if (r < 0)
		return down(r);
	if (r < 200 || r > 299) {
		r = refused(&hc, r, j);
		json_decref(j);
		return r;
	}
	*ret = j;
	return 0;
}
