// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the Lambda API's request parsing (control/function.c, control/code.c),
 * built with clang -fsanitize=fuzzer,address,undefined by tests/CMakeLists.txt. The first byte
 * picks what the rest is fed to:
 *   0: a CreateFunction body (JSON) -> sl_fn_from_create, then the FunctionConfiguration JSON
 *   1: an UpdateFunctionConfiguration / UpdateFunctionCode body on a valid function
 *   2: a function reference from a path -> sl_fn_parse_ref
 *   3: base64 -> sl_b64_decode, and a round trip through sl_b64_encode
 *   4: a code package -> sl_code_check (libarchive's zip reader on hostile bytes)
 * Properties: no crash, leak or undefined behaviour; failures always fill Lambda's error (a
 * status >= 400, a type and a message); accepted configurations stay within Lambda's bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "function.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ACC "111122223333"

static void check_err(int r, const struct sl_api_err *e)
{
	if (r < 0 && (e->status < 400 || !e->type || !e->message[0]))
		abort();
}

static void check_fn(const struct sl_fn *f)
{
	json_t *j;

	if (f->memory_mb < SL_FN_MEMORY_MIN || f->memory_mb > SL_FN_MEMORY_MAX ||
	    f->timeout_s < 1 || f->timeout_s > SL_FN_TIMEOUT_MAX || !sl_fn_valid_name(f->name) ||
	    !sl_fn_valid_runtime(f->runtime))
		abort();
	j = sl_fn_config_json(f, "us-east-1");
	if (!j)
		abort();
	json_decref(j);
}

static void fuzz_create(json_t *body)
{
	struct sl_fn f;
	struct sl_api_err e;
	void *zip = NULL;
	size_t len = 0;
	int r = sl_fn_from_create(body, ACC, &f, &zip, &len, &e);

	check_err(r, &e);
	if (r == 0)
		check_fn(&f);
	free(zip);
}

static void fuzz_update(json_t *body)
{
	struct sl_fn f = {.account = ACC,
			  .name = "fn",
			  .runtime = "provided",
			  .memory_mb = 128,
			  .timeout_s = 3,
			  .env_json = "{}"};
	struct sl_api_err e;
	void *zip = NULL;
	size_t len = 0;
	int r = sl_fn_apply_config(body, &f, &e);

	check_err(r, &e);
	if (r == 0)
		check_fn(&f);
	r = sl_fn_code_from_update(body, &zip, &len, &e);
	check_err(r, &e);
	free(zip);
}

static void fuzz_text(uint8_t mode, const char *s, size_t n)
{
	char name[SL_FN_NAME_MAX + 1];
	struct sl_api_err e;
	void *out = NULL;
	size_t len = 0;
	int r;

	if (mode == 2) {
		r = sl_fn_parse_ref(s, ACC, name, &e);
		check_err(r, &e);
		if (r == 0 && !sl_fn_valid_name(name))
			abort();
		return;
	}
	if (sl_b64_decode(s, n, &out, &len) == 0) {
		char *again = sl_b64_encode(out, len);
		void *back = NULL;
		size_t back_len = 0;

		/* the length is the input's; the bytes survive a round trip */
		if (!again || strlen(again) != n || sl_b64_decode(again, n, &back, &back_len) < 0 ||
		    back_len != len || memcmp(back, out, len) != 0)
			abort();
		free(back);
		free(again);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode;
	char *s;

	if (size < 1)
		return 0;
	mode = data[0] % 5;
	data++;
	size--;
	if (mode <= 1) {
		json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);

		if (body && json_is_object(body)) {
			if (mode == 0)
				fuzz_create(body);
			else
				fuzz_update(body);
		}
		json_decref(body);
		return 0;
	}
	if (mode == 4) {
		char why[200];
		uint64_t unzipped;

		sl_code_check(data, size, &unzipped, why, sizeof(why));
		return 0;
	}
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_text(mode, s, strlen(s));
	free(s);
	return 0;
}
