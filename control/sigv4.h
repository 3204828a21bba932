/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * AWS Signature Version 4, header form (Authorization: AWS4-HMAC-SHA256 ...), pure: no I/O, no
 * logging. HMAC-SHA256 and SHA-256 come from OpenSSL; signatures are compared in constant time.
 * The canonical request follows AWS's spec: the path is normalised (dot segments, repeated
 * slashes) and each segment percent-encoded again as the "lambda" service expects (double
 * encoding, as every service but S3); the query is split on '&', each name and value decoded and
 * re-encoded (RFC 3986 unreserved set) and sorted by name then value; header names lowercased,
 * values trimmed with inner runs of spaces folded to one, repeated headers joined with ','.
 */
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define SL_SIGV4_SKEW_S 300 /* AWS's allowed clock skew */

struct sl_sigv4_header {
	const char *name;  /* as received, any case */
	const char *value; /* as received (trimmed and folded by the canonicaliser) */
};

struct sl_sigv4_request {
	const char *method; /* "GET", "POST", ... */
	/* the request target's path as sent on the wire (percent-encoded), no query */
	const char *path;
	const char *query; /* the raw query string without '?', "" when none */
	const struct sl_sigv4_header *headers;
	size_t nheaders;
	/* the payload, hashed unless x-amz-content-sha256 says UNSIGNED-PAYLOAD */
	const void *body;
	size_t body_len;
};

/* The caller's key store: fills the secret and the 12-digit account of access_key_id; 0 or -ENOKEY.
 */
typedef int (*sl_sigv4_lookup_fn)(void *data, const char *access_key_id, char ret_account[13],
				  char *ret_secret, size_t secret_size);

struct sl_sigv4_identity {
	char account[13]; /* 12 digits */
	char access_key_id[129];
	char region[64];  /* from the credential scope */
	char service[64]; /* from the credential scope ("lambda") */
};

/*
 * Verifies req's Authorization (AWS4-HMAC-SHA256) against the key store at time now.
 * 0: *ret filled. -EINVAL: no/malformed Authorization or X-Amz-Date, a signed header missing
 * (Lambda: IncompleteSignatureException / MissingAuthenticationTokenException); -ENOKEY: unknown
 * access key (UnrecognizedClientException); -EACCES: signature mismatch
 * (InvalidSignatureException); -ETIME: X-Amz-Date more than SL_SIGV4_SKEW_S away from now
 * (InvalidSignatureException, "Signature expired"). *ret untouched on failure. Bounds: at most 64
 * headers in req, 64 signed headers, header values and the query 8 KiB each, the path 4 KiB; beyond
 * them -EINVAL. The credential scope's date must be X-Amz-Date's day and its last element
 * "aws4_request". The body is hashed in full unless x-amz-content-sha256 is "UNSIGNED-PAYLOAD";
 * when x-amz-content-sha256 is present and not that, it must match the body
 * (-EACCES otherwise). The secret is wiped from the stack before returning.
 */
int sl_sigv4_verify(const struct sl_sigv4_request *req, time_t now, sl_sigv4_lookup_fn lookup,
		    void *data, struct sl_sigv4_identity *ret);

/*
 * Signs req as a client would (tests, benches, sandlotctl): writes the Authorization header value
 * for the given key, region, service and amz_date ("20150830T123600Z"), signing every header in
 * req (which must include host and x-amz-date). 0, -ENOSPC if size is too small, -EINVAL.
 */
int sl_sigv4_sign(const struct sl_sigv4_request *req, const char *access_key_id, const char *secret,
		  const char *region, const char *service, const char *amz_date, char *ret_auth,
		  size_t size);
