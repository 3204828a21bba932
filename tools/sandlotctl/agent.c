// SPDX-License-Identifier: Apache-2.0
/* The agent's local HTTP API (docs/agent.md), through libcurl. */
#include "main.h"

#include <curl/curl.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AGENT_BODY_MAX	 (64U << 20) /* a listing of 4096 sandboxes is well below */
#define AGENT_TOKEN_FILE "localapi.token"

struct body {
	char *p;
	size_t len;
};

static size_t on_data(char *d, size_t sz, size_t n, void *ud)
{
	struct body *b = ud;
	char *p;

	if (b->len + sz * n > AGENT_BODY_MAX)
		return 0;
	p = realloc(b->p, b->len + sz * n + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, d, sz * n);
	b->p = p;
	b->len += sz * n;
	p[b->len] = '\0';
	return sz * n;
}

/* The token a daemon wrote (root only): the 64 hex characters of path. */
static int read_token(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n == 64 ? 0 : -EINVAL;
}

/* Keeps the headers http_call() reports. */
static size_t on_header(char *d, size_t sz, size_t n, void *ud)
{
	struct http_call *hc = ud;
	size_t len = sz * n;
	static const struct {
		const char *name;
		size_t off;
	} keep[] = {
		{"x-amz-function-error:", offsetof(struct http_call, function_error)},
		{"x-amzn-errortype:", offsetof(struct http_call, error_type)},
	};

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		size_t k = strlen(keep[i].name);
		char *out = (char *)hc + keep[i].off;

		if (len > k && strncasecmp(d, keep[i].name, k) == 0) {
			const char *v = d + k + strspn(d + k, " \t");
			int vl = (int)(len - (size_t)(v - d));

			while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
				vl--;
			snprintf(out, HTTP_HEADER_VALUE_MAX, "%.*s", vl, v);
		}
	}
	return len;
}

static int curl_status(CURLcode cr, long status)
{
	return cr == CURLE_OK			? (int)status
	       : cr == CURLE_COULDNT_CONNECT	? -ECONNREFUSED
	       : cr == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
	       : cr == CURLE_URL_MALFORMAT	? -EINVAL
						: -EIO;
}

int http_call(struct http_call *hc, json_t **ret)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = NULL;
	struct body b = {0};
	char url[768], token[128], auth[160];
	long status = 0;
	CURLcode cr;
	int r;

	if (!c)
		return -ENOMEM;
	snprintf(url, sizeof(url), "http://%s%s", hc->base, hc->path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, hc);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, hc->timeout_s ? hc->timeout_s : 10L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 2L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	if (hc->token_file) {
		r = read_token(hc->token_file, token, sizeof(token));
		hc->token_err = r == 0 ? 0 : r == -ENOENT ? -ENOENT : -EACCES;
		if (r < 0 && !hc->token_optional) {
			curl_easy_cleanup(c);
			return hc->token_err;
		}
		snprintf(auth, sizeof(auth), "X-Sandlot-Token: %s", r == 0 ? token : "");
		hdr = curl_slist_append(hdr, auth);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	}
	if (hc->post) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, hc->body ? hc->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)hc->body_len);
	}
	cr = curl_easy_perform(c);
	if (cr == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	r = curl_status(cr, status);
	if (r > 0) {
		*ret = b.p ? json_loads(b.p, JSON_DECODE_ANY, NULL) : NULL;
		if (!*ret)
			r = -EPROTO;
	}
	free(b.p);
	return r;
}

int agent_get(const char *path, json_t **ret)
{
	struct http_call hc = {.base = ctl.agent, .path = path};

	return http_call(&hc, ret);
}

int agent_post(const char *path, json_t **ret)
{
	char token[512];
	struct http_call hc = {.base = ctl.agent, .path = path, .post = true, .token_file = token};

	snprintf(token, sizeof(token), "%s/%s", ctl.state_dir, AGENT_TOKEN_FILE);
	return http_call(&hc, ret);
}
