// SPDX-License-Identifier: Apache-2.0
/* The reply helpers of <sandlot/http.h>: build, type and queue an MHD response. */
#include <sandlot/http.h>

#include <stdlib.h>
#include <string.h>

struct MHD_Response *sl_http_response_take(char *txt, size_t len, const char *content_type)
{
	struct MHD_Response *r;

	if (!txt)
		return NULL;
	r = MHD_create_response_from_buffer(len, txt, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(txt);
		return NULL;
	}
	if (content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	return r;
}

struct MHD_Response *sl_http_json_response(json_t *body)
{
	char *txt = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	return txt ? sl_http_response_take(txt, strlen(txt), "application/json") : NULL;
}

enum MHD_Result sl_http_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}
