/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Functions as the Lambda API sees them, pure (no I/O): validation of the JSON bodies of
 * CreateFunction and UpdateFunctionConfiguration into struct sl_fn with Lambda's constraints and
 * error types, the FunctionConfiguration JSON, and function references in paths (name, partial
 * or full ARN). Every input is bounded; errors carry the HTTP status, Lambda's error type and a
 * one-line message in struct sl_api_err.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

#define SL_FN_MEMORY_MIN  128
#define SL_FN_MEMORY_MAX  10240
#define SL_FN_TIMEOUT_MAX 900
#define SL_FN_ZIP_MAX	  (50u << 20) /* Lambda's direct upload limit (zipped) */

/* An API error: status, Lambda's type (x-amzn-ErrorType) and message. */
struct sl_api_err {
	unsigned status;
	const char *type;
	char message[512];
};

/* Fills e and returns -EINVAL (for `return sl_api_fail(...)`). */
int sl_api_fail(struct sl_api_err *e, unsigned status, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Lambda's function name: 1..64 of [A-Za-z0-9_-]. */
bool sl_fn_valid_name(const char *s);

/* provided, provided.al2, provided.al2023, python3.8 .. python3.13. */
bool sl_fn_valid_runtime(const char *s);
/* The runtime needs the Python bootstrap sandlot ships. */
bool sl_fn_is_python(const char *runtime);

/*
 * Resolves a function reference from a path ("name", "ACCOUNT:function:name",
 * "arn:aws:lambda:REGION:ACCOUNT:function:name", each optionally ":QUALIFIER") for the caller's
 * account. Fills name; a qualifier other than $LATEST is refused (versions are not published
 * here). An ARN of another account is ResourceNotFoundException, as if it did not exist.
 */
int sl_fn_parse_ref(const char *ref, const char *account, char name[SL_FN_NAME_MAX + 1],
		    struct sl_api_err *e);

/*
 * Validates a CreateFunction body into f (account and name set from it; code fields, revision
 * and time left to the caller) and returns the decoded zip (malloc'ed) in *ret_zip.
 */
int sl_fn_from_create(json_t *body, const char *account, struct sl_fn *f, void **ret_zip,
		      size_t *ret_zip_len, struct sl_api_err *e);

/* Applies an UpdateFunctionConfiguration body to f (only the fields present). */
int sl_fn_apply_config(json_t *body, struct sl_fn *f, struct sl_api_err *e);

/* Decodes an UpdateFunctionCode body's ZipFile (malloc'ed). */
int sl_fn_code_from_update(json_t *body, void **ret_zip, size_t *ret_zip_len, struct sl_api_err *e);

/* FunctionConfiguration of f (a new reference). */
json_t *sl_fn_config_json(const struct sl_fn *f, const char *region);

/* "arn:aws:lambda:REGION:ACCOUNT:function:NAME" into buf. */
void sl_fn_arn(const struct sl_fn *f, const char *region, char *buf, size_t len);

/* Base64 (standard alphabet, padded) of data into a malloc'ed string; NULL on ENOMEM. */
char *sl_b64_encode(const void *data, size_t len);
/* Decodes strict base64 (whitespace refused) into a malloc'ed buffer. 0, -EINVAL, -ENOMEM. */
int sl_b64_decode(const char *s, size_t slen, void **ret, size_t *ret_len);

/* A random RFC 4122 version 4 UUID into buf[37]. */
void sl_uuid(char buf[37]);
