// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for control/sigv4 (built with clang -fsanitize=fuzzer,address,undefined by
 * control/core.cmake). The input is NUL-separated fields: method, path, query, body, then header
 * name/value pairs. Properties checked on every input:
 *   - verification of the request as given (its last value used as the Authorization) never
 *     reads out of bounds or hits undefined behaviour, and leaves *ret untouched on failure;
 *   - whatever sl_sigv4_sign() accepts, sl_sigv4_verify() accepts at the same time with the
 *     same key (header names mapped to [a-z0-9-] so that they can be signed): signer and
 *     verifier build the very same canonical request.
 */
#include "sigv4.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 40
#define SECRET	   "fuzz/Secret+Key0123456789abcdefghijklmn"
#define AMZ_DATE   "20150830T123600Z"
#define NOW	   1440938160

static int lookup(void *data, const char *akid, char ret_account[13], char *ret_secret, size_t size)
{
	if (strcmp(akid, "AKIDFUZZ") != 0)
		return -ENOKEY;
	strcpy(ret_account, "123456789012");
	snprintf(ret_secret, size, "%s", SECRET);
	return 0;
}

/* Splits a copy of data at NUL bytes; returns the number of fields. */
static size_t split(char *buf, size_t size, char *field[MAX_FIELDS])
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= size && n < MAX_FIELDS; i++) {
		if (i < size && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		field[n++] = buf + start;
		start = i + 1;
	}
	return n;
}

static void verify_as_given(char **f, size_t n)
{
	struct sl_sigv4_header h[MAX_FIELDS / 2 + 1];
	struct sl_sigv4_identity id, before;
	struct sl_sigv4_request req = {.method = f[0], .path = f[1], .query = f[2], .body = f[3]};
	size_t nh = 0;

	req.body_len = strlen(f[3]);
	for (size_t i = 4; i + 1 < n; i += 2)
		h[nh++] = (struct sl_sigv4_header){f[i], f[i + 1]};
	h[nh++] = (struct sl_sigv4_header){"Authorization", f[n - 1]};
	req.headers = h;
	req.nheaders = nh;
	memset(&id, 0x5a, sizeof(id));
	before = id;
	if (sl_sigv4_verify(&req, NOW, lookup, NULL, &id) < 0 && memcmp(&id, &before, sizeof(id)))
		abort();
}

static void sign_then_verify(char **f, size_t n)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
	struct sl_sigv4_header h[MAX_FIELDS / 2 + 3];
	struct sl_sigv4_request req = {.method = f[0], .path = f[1], .query = f[2], .body = f[3]};
	struct sl_sigv4_identity id;
	char auth[8192];
	size_t nh = 0;
	int r;

	req.body_len = strlen(f[3]);
	for (size_t i = 4; i + 1 < n; i += 2) {
		for (char *c = f[i]; *c; c++)
			*c = alphabet[(unsigned char)*c % (sizeof(alphabet) - 1)];
		if (strcmp(f[i], "authorization") == 0 || strcmp(f[i], "x-amz-date") == 0)
			continue;
		h[nh++] = (struct sl_sigv4_header){f[i], f[i + 1]};
	}
	h[nh++] = (struct sl_sigv4_header){"Host", "example.amazonaws.com"};
	h[nh++] = (struct sl_sigv4_header){"X-Amz-Date", AMZ_DATE};
	req.headers = h;
	req.nheaders = nh;
	if (sl_sigv4_sign(&req, "AKIDFUZZ", SECRET, "us-east-1", "lambda", AMZ_DATE, auth,
			  sizeof(auth)) < 0)
		return;
	h[nh++] = (struct sl_sigv4_header){"Authorization", auth};
	req.nheaders = nh;
	r = sl_sigv4_verify(&req, NOW, lookup, NULL, &id);
	if (r != 0) {
		fprintf(stderr, "signed but not verified (%d): %s\n", r, auth);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *field[MAX_FIELDS], *buf = malloc(size + 1);
	size_t n;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	n = split(buf, size, field);
	if (n >= 4) {
		verify_as_given(field, n);
		sign_then_verify(field, n);
	}
	free(buf);
	return 0;
}
