/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The AWS Lambda Runtime API (version 2018-06-01) served to one sandbox's runtime, with
 * libmicrohttpd driven from the owner's epoll loop: no thread of its own.
 *
 *   GET  /2018-06-01/runtime/invocation/next            long poll; 200 + event + Lambda-Runtime-*
 *   POST /2018-06-01/runtime/invocation/{id}/response   202 {"status":"OK"}; 413 past 6 MB
 *   POST /2018-06-01/runtime/invocation/{id}/error      202; body {errorMessage,errorType,...}
 *   POST /2018-06-01/runtime/init/error                 202, only before the first next
 *
 * Errors answer as Lambda's own server does, with {"errorMessage":...,"errorType":...}: an id
 * other than the current invocation's is 400 InvalidRequestID; a call the runtime's state does
 * not allow (a second response, init/error after next, next after init/error) is 403
 * InvalidStateTransition; unknown paths 404, wrong methods 405.
 *
 * What a sandbox can make the agent hold is bounded: max_connections connections of
 * SL_RTAPI_CONN_MEMORY each, and one response or error body at a time (a second one while the
 * first is being received is 429 TooManyRequests), cut when it receives nothing for
 * upload_timeout_s; body buffers past 64 KiB go back to the kernel when freed.
 *
 * One server per sandbox; one invocation at a time. The owner creates the listening socket
 * (in the sandbox's network namespace at 127.0.0.1:9001), hands it over, watches sl_rtapi_fd()
 * for EPOLLIN in its own epoll set, calls sl_rtapi_run() when it is readable or when
 * sl_rtapi_timeout_ms() expires, and hands events in with sl_rtapi_invoke().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_rtapi;

enum {
	/* Lambda's limit for a response (and an error body): 6 MiB + 100 bytes (6291556). */
	SL_RTAPI_MAX_PAYLOAD = 6 * 1024 * 1024 + 100,
	SL_RTAPI_ID_MAX = 64,	       /* request id: [A-Za-z0-9-]{1,64} */
	SL_RTAPI_HEADER_MAX = 3584,    /* arn, trace id, client context, cognito identity: each */
	SL_RTAPI_ERROR_TYPE_MAX = 128, /* Lambda-Runtime-Function-Error-Type kept up to this */
	SL_RTAPI_DEFAULT_CONNECTIONS = 8,
	SL_RTAPI_DEFAULT_TIMEOUT_S = 905, /* idle keep-alive: longer than Lambda's 900 s maximum */
	SL_RTAPI_DEFAULT_UPLOAD_TIMEOUT_S = 10, /* a response or error body that stops coming */
	SL_RTAPI_CONN_MEMORY = 16 * 1024, /* per connection: request line + headers + read buffer */
};

/* What the runtime reported with .../error or init/error. Valid during the callback only. */
struct sl_rtapi_error {
	const char *type;	   /* Lambda-Runtime-Function-Error-Type, normalised as Lambda does:
				      "Runtime.X"/"Function.X" kept, else "Runtime.Unknown" or
				      "Function.Unknown" */
	const char *error_type;	   /* "errorType" of the JSON body, or NULL */
	const char *error_message; /* "errorMessage" of the JSON body, or NULL */
	const void *body;	   /* the body as sent: what the invoker receives */
	size_t body_len;
	bool body_json; /* body parsed as a JSON object */
};

/*
 * Callbacks to the owner, made from inside sl_rtapi_run(). They may call sl_rtapi_invoke(), but
 * must not free the server. Every field may be NULL.
 */
struct sl_rtapi_ops {
	/* The runtime's first GET next: it is initialised and ready (the end of a cold start). */
	void (*ready)(struct sl_rtapi *srv, void *userdata);
	/* The invocation request_id finished with a response (body valid during the call). */
	void (*response)(struct sl_rtapi *srv, void *userdata, const char *request_id,
			 const void *body, size_t len, const char *content_type);
	/* The invocation finished with a function error. A response over the limit also ends
	 * here, as in Lambda, with type "Function.ResponseSizeTooLarge". */
	void (*error)(struct sl_rtapi *srv, void *userdata, const char *request_id,
		      const struct sl_rtapi_error *err);
	/* The runtime failed to initialise (POST init/error before any next). */
	void (*init_error)(struct sl_rtapi *srv, void *userdata, const struct sl_rtapi_error *err);
};

/* Bounds; zero fields take the defaults above. */
struct sl_rtapi_opts {
	unsigned max_connections;  /* concurrent connections from the sandbox */
	unsigned timeout_s;	   /* idle connection timeout (a parked next never times out) */
	unsigned upload_timeout_s; /* a response/error body receiving nothing this long is cut */
	size_t max_payload;	   /* response / error body limit */
};

/* One invocation event for sl_rtapi_invoke_event(). Strings are copied. */
struct sl_rtapi_event {
	const char *request_id;	      /* required: [A-Za-z0-9-]{1,64} */
	uint64_t deadline_ms;	      /* Unix time in ms when the invocation times out */
	const char *arn;	      /* Lambda-Runtime-Invoked-Function-Arn (required) */
	const char *trace_id;	      /* Lambda-Runtime-Trace-Id, or NULL/"" to leave it out */
	const char *client_context;   /* Lambda-Runtime-Client-Context, or NULL */
	const char *cognito_identity; /* Lambda-Runtime-Cognito-Identity, or NULL */
	const void *payload;	      /* the event (copied) */
	size_t len;
};

/*
 * Starts serving listen_fd, a bound, listening TCP socket. The server takes ownership of
 * listen_fd on success (sl_rtapi_free closes it); on failure it stays the caller's. opts may be
 * NULL. Returns 0, -EINVAL, -ENOMEM, or -EIO when libmicrohttpd refuses to start.
 */
int sl_rtapi_new(struct sl_rtapi **ret, int listen_fd, const struct sl_rtapi_opts *opts,
		 const struct sl_rtapi_ops *ops, void *userdata);

/* Closes every connection and the listening socket, frees srv, sets *srv to NULL. NULL-safe. */
void sl_rtapi_free(struct sl_rtapi **srv);

/* What one sandbox makes the server hold now. */
struct sl_rtapi_stats {
	unsigned connections; /* open connections (at most max_connections) */
	unsigned uploads;     /* response/error bodies being received: at most one */
	size_t body_bytes;    /* body buffers held: at most max_payload + 64 KiB (a kept spare) */
};

/* Fills *ret. */
void sl_rtapi_stats(const struct sl_rtapi *srv, struct sl_rtapi_stats *ret);

/* The fd to watch for EPOLLIN (libmicrohttpd's own epoll fd). Stays the same for srv's life. */
int sl_rtapi_fd(const struct sl_rtapi *srv);

/* Does all pending work without blocking and makes the callbacks. Returns 0 or -EIO. */
int sl_rtapi_run(struct sl_rtapi *srv);

/* Milliseconds until sl_rtapi_run() must be called even without input, or -1 for never. */
int sl_rtapi_timeout_ms(struct sl_rtapi *srv);

/*
 * Hands an event to the runtime: to the GET next waiting now (it is sent before this returns,
 * so callbacks may run from here too), or to the next one to come. The payload and strings are
 * copied. Returns 0, -EINVAL (a malformed id or header value),
 * -EMSGSIZE (payload over the limit), -EBUSY (an invocation is already queued or running),
 * -EPIPE (the runtime reported an init error), -ENOMEM.
 */
int sl_rtapi_invoke_event(struct sl_rtapi *srv, const struct sl_rtapi_event *ev);

/* sl_rtapi_invoke_event() without client context and Cognito identity. */
int sl_rtapi_invoke(struct sl_rtapi *srv, const char *request_id, uint64_t deadline_ms,
		    const char *arn, const char *trace_id, const void *payload, size_t len);

/* The runtime's state, named as Lambda names it ("Started", "Ready", "Running", ...). */
const char *sl_rtapi_state(const struct sl_rtapi *srv);

/* True while a GET next waits for an event. */
bool sl_rtapi_waiting(const struct sl_rtapi *srv);
