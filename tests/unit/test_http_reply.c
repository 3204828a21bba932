// SPDX-License-Identifier: Apache-2.0
/*
 * The reply helpers of <sandlot/http.h> on a real server: an sl_http in the test's loop answers
 * with them, libcurl (on a thread of its own) reads what went over the wire. Also suspension:
 * requests answered later, after sl_http_resume(), as the control node answers invocations.
 */
#include "testutil.h"

#include <sandlot/http.h>

#include <sandlot/time.h>

#include <pthread.h>
#include <stdatomic.h>

#include <curl/curl.h>
#include <jansson.h>

struct got {
	const char *path;
	CURLcode rc;
	long status;
	char type[64];
	char body[64];
	size_t len;
};

struct client {
	uint16_t port;
	struct got *g;
	size_t n;
	atomic_bool done;
};

/* Suspended "/later" requests, resumed by a timer (or by the test) as results come in. */
struct later {
	struct sl_loop *loop;
	struct sl_http *h;
	struct MHD_Connection *pending[8];
	size_t n_pending;
	struct sl_timer *timer;
};

static void on_later(struct sl_loop *loop, void *data)
{
	struct later *lt = data;

	lt->timer = NULL;
	while (lt->n_pending)
		sl_http_resume(lt->h, lt->pending[--lt->n_pending]);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_len, void **con_cls)
{
	static int headers_seen, suspended;
	struct later *lt = cls;

	if (strcmp(url, "/later") == 0) {
		if (!*con_cls) {
			*con_cls = &headers_seen;
			return MHD_YES;
		}
		if (*con_cls == &suspended) /* resumed */
			return sl_http_queue(c, 200,
					     sl_http_response_take(strdup("later"), 5, NULL));
		assert_true(lt->n_pending < sizeof(lt->pending) / sizeof(lt->pending[0]));
		*con_cls = &suspended;
		lt->pending[lt->n_pending++] = c;
		MHD_suspend_connection(c);
		if (lt->loop && !lt->timer) /* a result 1 ms later */
			sl_loop_add_timer(lt->loop, sl_now_ns() + SL_NSEC_PER_MSEC, on_later, lt,
					  &lt->timer);
		return MHD_YES;
	}
	if (strcmp(url, "/json") == 0)
		return sl_http_queue(c, 201, sl_http_json_response(json_pack("{s:s}", "a", "b")));
	if (strcmp(url, "/text") == 0)
		return sl_http_queue(c, 200,
				     sl_http_response_take(strdup("hello"), 5, "text/plain"));
	if (strcmp(url, "/untyped") == 0)
		return sl_http_queue(c, 202, sl_http_response_take(strdup("xyz"), 3, NULL));
	if (strcmp(url, "/failed") == 0) /* a failed json_pack(): the connection is closed */
		return sl_http_queue(c, 200, sl_http_json_response(NULL));
	return sl_http_queue(c, 404, sl_http_response_take(strdup(""), 0, NULL));
}

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
	struct got *g = data;
	size_t len = size * n;

	if (g->len + len >= sizeof(g->body))
		return 0;
	memcpy(g->body + g->len, p, len);
	g->len += len;
	return len;
}

static void *client_main(void *data)
{
	struct client *cl = data;
	char url[64];

	for (size_t i = 0; i < cl->n; i++) {
		struct got *g = &cl->g[i];
		CURL *h = curl_easy_init();
		char *type = NULL;

		snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", cl->port, g->path);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, g);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
		g->rc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &g->status);
		curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type);
		snprintf(g->type, sizeof(g->type), "%s", type ? type : "");
		curl_easy_cleanup(h);
	}
	atomic_store(&cl->done, true);
	return NULL;
}

static void replies_go_out_as_built(void **state)
{
	struct got g[] = {
		{.path = "/json"}, {.path = "/text"}, {.path = "/untyped"}, {.path = "/failed"}};
	struct sl_http_config cfg = {.addr = "127.0.0.1:0", .handler = handler};
	struct client cl = {.g = g, .n = sizeof(g) / sizeof(g[0])};
	struct sl_loop *l = NULL;
	struct sl_http *h = NULL;
	pthread_t t;

	assert_int_equal(sl_loop_new(&l), 0);
	assert_int_equal(sl_http_new(&h, l, &cfg), 0);
	cl.port = sl_http_port(h);
	assert_int_equal(pthread_create(&t, NULL, client_main, &cl), 0);
	while (!atomic_load(&cl.done))
		assert_true(sl_loop_run_once(l, SL_NSEC_PER_SEC / 10) >= 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	sl_http_free(&h);
	sl_loop_free(&l);

	assert_int_equal(g[0].rc, CURLE_OK);
	assert_int_equal(g[0].status, 201);
	assert_string_equal(g[0].type, "application/json");
	assert_string_equal(g[0].body, "{\"a\":\"b\"}");

	assert_int_equal(g[1].rc, CURLE_OK);
	assert_int_equal(g[1].status, 200);
	assert_string_equal(g[1].type, "text/plain");
	assert_string_equal(g[1].body, "hello");

	assert_int_equal(g[2].rc, CURLE_OK);
	assert_int_equal(g[2].status, 202);
	assert_string_equal(g[2].type, ""); /* no Content-Type asked for, none sent */
	assert_string_equal(g[2].body, "xyz");

	assert_int_equal(g[3].rc, CURLE_GOT_NOTHING); /* MHD_NO: closed, no response */
	assert_int_equal(g[3].len, 0);
}

/* Four clients at once, three requests each: every suspended request gets its reply. */
static void resumed_requests_are_answered(void **state)
{
	struct later lt = {0};
	struct sl_http_config cfg = {.addr = "127.0.0.1:0",
				     .suspend_resume = true,
				     .handler = handler,
				     .handler_data = &lt};
	struct got g[4][3];
	struct client cl[4];
	pthread_t t[4];
	bool done = false;

	assert_int_equal(sl_loop_new(&lt.loop), 0);
	assert_int_equal(sl_http_new(&lt.h, lt.loop, &cfg), 0);
	for (size_t i = 0; i < 4; i++) {
		for (size_t j = 0; j < 3; j++)
			g[i][j] = (struct got){.path = "/later"};
		cl[i] = (struct client){.port = sl_http_port(lt.h), .g = g[i], .n = 3};
		assert_int_equal(pthread_create(&t[i], NULL, client_main, &cl[i]), 0);
	}
	while (!done) {
		assert_true(sl_loop_run_once(lt.loop, SL_NSEC_PER_SEC / 10) >= 0);
		done = true;
		for (size_t i = 0; i < 4; i++)
			done = done && atomic_load(&cl[i].done);
	}
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	sl_loop_cancel_timer(lt.loop, &lt.timer);
	sl_http_free(&lt.h);
	sl_loop_free(&lt.loop);
	for (size_t i = 0; i < 4; i++) {
		for (size_t j = 0; j < 3; j++) {
			assert_int_equal(g[i][j].rc, CURLE_OK);
			assert_int_equal(g[i][j].status, 200);
			assert_string_equal(g[i][j].body, "later");
		}
	}
}

/* A request resumed just before the server stops still gets its reply (a shutdown's). */
static void resumed_before_free_is_answered(void **state)
{
	struct later lt = {0}; /* no loop: the test resumes */
	struct sl_http_config cfg = {.addr = "127.0.0.1:0",
				     .suspend_resume = true,
				     .handler = handler,
				     .handler_data = &lt};
	struct got g = {.path = "/later"};
	struct client cl = {.g = &g, .n = 1};
	struct sl_loop *l = NULL;
	pthread_t t;

	assert_int_equal(sl_loop_new(&l), 0);
	assert_int_equal(sl_http_new(&lt.h, l, &cfg), 0);
	cl.port = sl_http_port(lt.h);
	assert_int_equal(pthread_create(&t, NULL, client_main, &cl), 0);
	while (!lt.n_pending)
		assert_true(sl_loop_run_once(l, SL_NSEC_PER_SEC / 10) >= 0);
	sl_http_resume(lt.h, lt.pending[0]);
	sl_http_free(&lt.h);
	assert_int_equal(pthread_join(t, NULL), 0);
	sl_loop_free(&l);
	assert_int_equal(g.rc, CURLE_OK);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.body, "later");
}

static void nothing_to_send_is_null(void **state)
{
	assert_null(sl_http_response_take(NULL, 0, "text/plain"));
	assert_null(sl_http_json_response(NULL));
	/* not an object or array: cannot be dumped; the reference is still consumed (ASan) */
	assert_null(sl_http_json_response(json_integer(1)));
	assert_int_equal(sl_http_queue(NULL, 200, NULL), MHD_NO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replies_go_out_as_built),
		cmocka_unit_test(resumed_requests_are_answered),
		cmocka_unit_test(resumed_before_free_is_answered),
		cmocka_unit_test(nothing_to_send_is_null),
	};
	int r;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
