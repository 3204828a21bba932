/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A small AWS Lambda Runtime API client for functions written in C, for Lambda's `provided`
 * runtimes and for sandlot alike. It reads AWS_LAMBDA_RUNTIME_API and loops:
 * GET next -> handler -> POST response (or POST error), over one kept-alive HTTP connection
 * (libevent's evhttp, which needs nothing but libc, so a bootstrap starts in about a
 * millisecond). Link with lambda_runtime (CMake target) and write only the handler:
 *
 *   static int handler(const struct lambda_invocation *inv, struct lambda_result *res, void *u)
 *   {
 *           return lambda_result_set(res, inv->body, inv->len);
 *   }
 *   int main(void) { return lambda_runtime_run(handler, NULL); }
 */
#include <stddef.h>
#include <stdint.h>

/* One invocation, valid during the handler call only. */
struct lambda_invocation {
	const char *request_id;	      /* Lambda-Runtime-Aws-Request-Id */
	const char *function_arn;     /* Lambda-Runtime-Invoked-Function-Arn */
	const char *trace_id;	      /* Lambda-Runtime-Trace-Id ("" when absent) */
	const char *client_context;   /* Lambda-Runtime-Client-Context ("" when absent) */
	const char *cognito_identity; /* Lambda-Runtime-Cognito-Identity ("" when absent) */
	uint64_t deadline_ms;	      /* Unix time in ms when the invocation times out */
	const char *body;	      /* the event, NUL-terminated for convenience */
	size_t len;
};

/* What the handler produces: a response body (copied by lambda_result_set). */
struct lambda_result {
	char *body; /* response, or the error JSON after lambda_result_error */
	size_t len;
	size_t cap;
	char error_type[128]; /* sent as Lambda-Runtime-Function-Error-Type */
};

/*
 * A handler returns 0 with the response in res, or -1 to report a function error: then
 * error_type and error_message (set with lambda_result_error) are sent to .../error.
 */
typedef int (*lambda_handler_fn)(const struct lambda_invocation *inv, struct lambda_result *res,
				 void *userdata);

/* Sets the response body (copied). Returns 0, or -1 when out of memory. */
int lambda_result_set(struct lambda_result *res, const void *body, size_t len);

/* Sets a function error (type and message are copied into the error JSON). Returns -1. */
int lambda_result_error(struct lambda_result *res, const char *type, const char *message);

/*
 * Runs the loop until the Runtime API fails (then it returns 1; a runtime should exit). Reports
 * setup failures through init/error.
 */
int lambda_runtime_run(lambda_handler_fn handler, void *userdata);

/* Reports an initialisation failure (POST /runtime/init/error). Returns 0 or -1. */
int lambda_runtime_init_error(const char *type, const char *message);
