// SPDX-License-Identifier: Apache-2.0
/* The agent's local HTTP API (docs/agent.md), through libcurl. */
#include "main.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The local API token the agent wrote (root only); -EACCES / -ENOENT when unreadable. */
static int read_token(char *buf, size_t len)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", ctl.state_dir, AGENT_TOKEN_FILE);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n == 64 ? 0 : -EINVAL;
}

static int request(const char *path, bool post, json_t **ret)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = NULL;
	struct body b = {0};
	char url[512], token[128], auth[160];
	long status = 0;
	CURLcode cr;
	int r;

	if (!c)
		return -ENOMEM;
	snprintf(url, sizeof(url), "http://%s%s", ctl.agent, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 2L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	if (post) {
		r = read_token(token, sizeof(token));
		if (r < 0) {
			curl_easy_cleanup(c);
			return r == -ENOENT ? -ENOENT : -EACCES;
		}
		snprintf(auth, sizeof(auth), "X-Sandlot-Token: %s", token);
		hdr = curl_slist_append(hdr, auth);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	cr = curl_easy_perform(c);
	if (cr == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	r = cr == CURLE_OK		     ? (int)status
	    : cr == CURLE_COULDNT_CONNECT    ? -ECONNREFUSED
	    : cr == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
	    : cr == CURLE_URL_MALFORMAT	     ? -EINVAL
					     : -EIO;
	if (r > 0) {
		*ret = b.p ? json_loads(b.p, 0, NULL) : NULL;
		if (!*ret)
			r = -EPROTO;
	}
	free(b.p);
	return r;
}

int agent_get(const char *path, json_t **ret)
{
	return request(path, false, ret);
}

int agent_post(const char *path, json_t **ret)
{
	return request(path, true, ret);
}
