/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * libmicrohttpd inside an sl_loop: one HTTP server driven by the caller's event loop (MHD's
 * external epoll mode), with suspend/resume for requests answered later (a long poll, an
 * invocation waiting for its result). The server calls the handler given in the config as MHD
 * does (MHD_AccessHandlerCallback); this module only owns the daemon's life, its registration
 * in the loop, the periodic run for connection timeouts, and resumption.
 *
 * Why a resume needs care: in external epoll mode MHD's epoll fd does not become readable when
 * a connection is resumed, so MHD_run() must be called after it, but never from inside MHD_run()
 * (a handler resuming another request): sl_http_resume() has MHD run once at the end of the
 * current loop turn, for all the connections resumed in it, or marks the server so that the
 * running MHD_run() is repeated before control returns to the loop.
 *
 * Single-threaded: everything runs on the loop's thread.
 *
 * The reply helpers at the end (http-reply.c) build and queue the responses every front end
 * repeats; what a protocol adds (its headers, its error shape) stays with its caller.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>
#include <microhttpd.h>

#include <sandlot/loop.h>

struct sl_http;

/* MHD_OPTION_URI_LOG_CALLBACK: sees the raw request target first; returns the request's
 * initial *con_cls. */
typedef void *(*sl_http_uri_fn)(void *data, const char *uri, struct MHD_Connection *c);

struct sl_http_config {
	const char *addr;	  /* "IP:PORT" or "[IPv6]:PORT"; port 0 picks a free one */
	unsigned max_connections; /* 0: 256 */
	unsigned timeout_s;	  /* idle connection timeout; 0: 30 s */
	size_t conn_memory;	  /* per-connection buffer memory; 0: 64 KiB */
	bool suspend_resume;	  /* allow MHD_suspend_connection() (sl_http_resume()) */
	MHD_AccessHandlerCallback handler;
	void *handler_data;
	MHD_RequestCompletedCallback completed; /* may be NULL */
	void *completed_data;
	sl_http_uri_fn uri_log; /* may be NULL */
	void *uri_log_data;
};

/*
 * Starts the server and registers it in loop. Returns 0, -EINVAL (bad addr), -EADDRINUSE (MHD
 * could not start: in use or not permitted), -EIO, -ENOMEM.
 */
int sl_http_new(struct sl_http **ret, struct sl_loop *loop, const struct sl_http_config *cfg);

/* Stops the server (resuming nothing: callers resume what they suspended first). NULL-safe. */
void sl_http_free(struct sl_http **h);

/*
 * Resumes a suspended connection and has MHD process it before the loop waits again (see
 * above); sl_http_free() processes what was resumed and not yet run.
 */
void sl_http_resume(struct sl_http *h, struct MHD_Connection *c);

/* Stops accepting new connections (graceful shutdown); connections open now go on. */
void sl_http_quiesce(struct sl_http *h);

/* The port the server listens on. */
uint16_t sl_http_port(const struct sl_http *h);

/* Parses "IP:PORT" / "[IPv6]:PORT" (port 0..65535) into *ret. 0 or -EINVAL. */
int sl_http_parse_addr(const char *s, struct sockaddr_storage *ret);

/* ---- replies ---- */

/*
 * A response holding the len bytes at txt, which it takes over (MHD frees them), with a
 * Content-Type header when content_type is not NULL. Returns NULL if txt is NULL or MHD cannot
 * make the response (txt is freed then).
 */
struct MHD_Response *sl_http_response_take(char *txt, size_t len, const char *content_type);

/*
 * An application/json response holding body's compact text. Consumes body (one reference).
 * Returns NULL if body is NULL (a failed json_pack()) or cannot be dumped or sent.
 */
struct MHD_Response *sl_http_json_response(json_t *body);

/*
 * Queues r on c with status and drops the caller's reference to r. Returns MHD's result;
 * MHD_NO (which closes the connection) when r is NULL, so that a failed build above can be
 * passed straight in.
 */
enum MHD_Result sl_http_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r);
