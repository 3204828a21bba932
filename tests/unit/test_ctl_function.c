// SPDX-License-Identifier: Apache-2.0
/* control/function.c, code.c, accesskeys.c: what the Lambda API takes in (pure). */
#include "testutil.h"

#include <sandlot/util.h>

#include <archive.h>
#include <archive_entry.h>

#include "accesskeys.h"
#include "code.h"
#include "function.h"

#define ACC "111122223333"

static void names_and_refs(void **state)
{
	char name[SL_FN_NAME_MAX + 1];
	struct sl_api_err e;

	assert_true(sl_fn_valid_name("my-Function_1"));
	assert_false(sl_fn_valid_name(""));
	assert_false(sl_fn_valid_name("a.b"));
	assert_false(sl_fn_valid_name("with space"));
	assert_true(sl_fn_valid_name(
		"x234567890123456789012345678901234567890123456789012345678901234"));
	assert_false(sl_fn_valid_name(
		"x2345678901234567890123456789012345678901234567890123456789012345"));
	assert_int_equal(sl_fn_parse_ref("fn", ACC, name, &e), 0);
	assert_string_equal(name, "fn");
	assert_int_equal(sl_fn_parse_ref("fn:$LATEST", ACC, name, &e), 0);
	assert_int_equal(sl_fn_parse_ref(ACC ":function:fn2", ACC, name, &e), 0);
	assert_string_equal(name, "fn2");
	assert_int_equal(
		sl_fn_parse_ref("arn:aws:lambda:us-east-1:" ACC ":function:fn3", ACC, name, &e), 0);
	assert_string_equal(name, "fn3");
	assert_int_equal(
		sl_fn_parse_ref("arn:aws:lambda:us-east-1:999999999999:function:fn", ACC, name, &e),
		-EINVAL);
	assert_int_equal(e.status, 404); /* another account's: as if it did not exist */
	assert_int_equal(sl_fn_parse_ref("fn:7", ACC, name, &e), -EINVAL);
	assert_int_equal(e.status, 404); /* no published versions */
	assert_int_equal(sl_fn_parse_ref("bad name", ACC, name, &e), -EINVAL);
	assert_string_equal(e.type, "ValidationException");
	assert_int_equal(sl_fn_parse_ref("arn:aws:s3:::bucket", ACC, name, &e), -EINVAL);
	assert_int_equal(sl_fn_parse_ref("a:b:c:d:e:f:g:h:i", ACC, name, &e), -EINVAL);
	assert_int_equal(sl_fn_parse_ref("", ACC, name, &e), -EINVAL);
}

static void base64_strict(void **state)
{
	void *out = NULL;
	size_t len = 0;
	char *enc = sl_b64_encode("hello!?", 7);

	assert_string_equal(enc, "aGVsbG8hPw==");
	assert_int_equal(sl_b64_decode(enc, strlen(enc), &out, &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(out, "hello!?", 7);
	free(out);
	free(enc);
	assert_int_equal(sl_b64_decode("aGVsbG8", 7, &out, &len), -EINVAL);
	assert_int_equal(sl_b64_decode("aGV sbG8=", 9, &out, &len), -EINVAL);
	assert_int_equal(sl_b64_decode("a=Vs", 4, &out, &len), -EINVAL);
	assert_int_equal(sl_b64_decode("", 0, &out, &len), -EINVAL);
}

static json_t *create_body(const char *extra)
{
	char txt[1024];

	snprintf(txt, sizeof(txt),
		 "{\"FunctionName\": \"fn\", \"Runtime\": \"provided.al2\", \"Role\": \"r\","
		 " \"Handler\": \"h.x\", \"Code\": {\"ZipFile\": \"aGVsbG8=\"}%s}",
		 extra);
	return json_loads(txt, 0, NULL);
}

static int try_create(const char *extra, struct sl_fn *f, struct sl_api_err *e)
{
	json_t *b = create_body(extra);
	void *zip = NULL;
	size_t len = 0;
	int r;

	assert_non_null(b);
	r = sl_fn_from_create(b, ACC, f, &zip, &len, e);
	json_decref(b);
	if (r == 0) {
		assert_int_equal(len, 5);
		assert_memory_equal(zip, "hello", 5);
	}
	free(zip);
	return r;
}

static void create_validates_like_lambda(void **state)
{
	struct sl_fn *f = malloc(sizeof(*f));
	struct sl_api_err e;

	assert_int_equal(try_create("", f, &e), 0);
	assert_string_equal(f->account, ACC);
	assert_int_equal(f->memory_mb, 128);
	assert_int_equal(f->timeout_s, 3);
	assert_int_equal(f->reserved, -1);
	assert_string_equal(f->env_json, "{}");
	assert_int_equal(
		try_create(", \"MemorySize\": 10240, \"Timeout\": 900,"
			   " \"Environment\": {\"Variables\": {\"B2\": \"2\", \"A1\": \"x\"}}",
			   f, &e),
		0);
	assert_string_equal(f->env_json, "{\"A1\":\"x\",\"B2\":\"2\"}");
	assert_int_equal(try_create(", \"MemorySize\": 127", f, &e), -EINVAL);
	assert_string_equal(e.type, "ValidationException");
	assert_int_equal(try_create(", \"MemorySize\": \"1024\"", f, &e), -EINVAL);
	assert_string_equal(e.type, "InvalidRequestContentException");
	assert_int_equal(try_create(", \"Timeout\": 0", f, &e), -EINVAL);
	assert_int_equal(try_create(", \"Runtime\": \"nodejs18.x\"", f, &e), -EINVAL);
	assert_string_equal(e.type, "InvalidParameterValueException");
	assert_int_equal(try_create(", \"Runtime\": \"python3.11\", \"Handler\": \"nodot\"", f, &e),
			 -EINVAL);
	assert_int_equal(
		try_create(", \"Environment\": {\"Variables\": {\"AWS_REGION\": \"x\"}}", f, &e),
		-EINVAL);
	assert_int_equal(try_create(", \"Environment\": {\"Variables\": {\"1A\": \"x\"}}", f, &e),
			 -EINVAL);
	assert_int_equal(try_create(", \"Environment\": {\"Variables\": [1]}", f, &e), -EINVAL);
	assert_int_equal(try_create(", \"PackageType\": \"Image\"", f, &e), -EINVAL);
	assert_int_equal(try_create(", \"Description\": 5", f, &e), -EINVAL);
	assert_int_equal(e.status, 400);
	free(f);
}

static void create_requires_name_and_code(void **state)
{
	struct sl_fn *f = malloc(sizeof(*f));
	const char *bodies[] = {
		"{}",
		"{\"FunctionName\": 3, \"Runtime\": \"provided\"}",
		"{\"FunctionName\": \"f\", \"Runtime\": \"provided\"}",
		"{\"FunctionName\": \"f\", \"Runtime\": \"provided\", \"Code\": {}}",
		"{\"FunctionName\": \"f\", \"Runtime\": \"provided\", \"Code\": {\"ZipFile\": "
		"\"@@\"}}",
		"{\"FunctionName\": \"f\", \"Runtime\": \"provided\", \"Code\": {\"S3Bucket\": "
		"\"b\"}}",
		"{\"FunctionName\": \"f\", \"Code\": {\"ZipFile\": \"aGVsbG8=\"}}",
	};
	struct sl_api_err e;

	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		json_t *b = json_loads(bodies[i], 0, NULL);
		void *zip = NULL;
		size_t len;

		assert_int_equal(sl_fn_from_create(b, ACC, f, &zip, &len, &e), -EINVAL);
		assert_null(zip);
		assert_int_equal(e.status, 400);
		json_decref(b);
	}
	free(f);
}

static void configuration_json_has_lambdas_fields(void **state)
{
	struct sl_fn *f = calloc(1, sizeof(*f));
	json_t *j;

	snprintf(f->account, sizeof(f->account), ACC);
	snprintf(f->name, sizeof(f->name), "fn");
	snprintf(f->runtime, sizeof(f->runtime), "provided");
	snprintf(f->env_json, sizeof(f->env_json), "{\"K\":\"V\"}");
	snprintf(f->revision_id, sizeof(f->revision_id), "r");
	f->memory_mb = 128;
	f->timeout_s = 3;
	f->code_size = 42;
	f->modified_ns = 1565821571234000000ull;
	j = sl_fn_config_json(f, "eu-west-1");
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "FunctionArn")),
			    "arn:aws:lambda:eu-west-1:" ACC ":function:fn");
	assert_string_equal(json_string_value(json_object_get(j, "LastModified")),
			    "2019-08-14T22:26:11.234+0000");
	assert_string_equal(json_string_value(json_object_get(j, "CodeSha256")),
			    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	assert_string_equal(json_string_value(json_object_get(j, "Version")), "$LATEST");
	assert_string_equal(json_string_value(json_object_get(j, "State")), "Active");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(j, "Environment"), "Variables"), "K")),
		"V");
	assert_int_equal(json_integer_value(json_object_get(j, "CodeSize")), 42);
	json_decref(j);
	free(f);
}

static size_t make_zip(const char *name, const char *data, void *buf, size_t cap)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t used = 0;

	archive_write_set_format_zip(a);
	archive_write_open_memory(a, buf, cap, &used);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)strlen(data));
	archive_write_header(a, e);
	archive_write_data(a, data, strlen(data));
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	return used;
}

static void zips_checked_and_python_repacked(void **state)
{
	static char buf[65536];
	char why[200];
	uint64_t unzipped = 0;
	void *out = NULL;
	size_t len = make_zip("function.py", "def handler(e, c):\n    return e\n", buf,
			      sizeof(buf)),
	       out_len = 0;
	struct archive *a;
	struct archive_entry *e;
	bool has_boot = false, has_fn = false;

	assert_int_equal(sl_code_check(buf, len, &unzipped, why, sizeof(why)), 0);
	assert_int_equal(unzipped, 32);
	assert_int_equal(sl_code_check("not a zip", 9, &unzipped, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "Could not unzip"));
	assert_int_equal(sl_code_check(buf, len / 2, &unzipped, why, sizeof(why)), -EINVAL);
	assert_int_equal(sl_code_with_bootstrap(buf, len, sl_python_bootstrap,
						sl_python_bootstrap_len, &out, &out_len),
			 0);
	a = archive_read_new();
	archive_read_support_format_zip(a);
	assert_int_equal(archive_read_open_memory(a, out, out_len), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (strcmp(archive_entry_pathname(e), "bootstrap") == 0) {
			has_boot = true;
			assert_int_equal(archive_entry_perm(e) & 0111, 0111);
			assert_int_equal(archive_entry_size(e),
					 (la_int64_t)sl_python_bootstrap_len);
		}
		has_fn |= strcmp(archive_entry_pathname(e), "function.py") == 0;
	}
	archive_read_free(a);
	assert_true(has_boot && has_fn);
	free(out);
	len = make_zip("../escape", "x", buf, sizeof(buf));
	assert_int_equal(sl_code_check(buf, len, &unzipped, why, sizeof(why)), -EINVAL);
	len = make_zip("/abs", "x", buf, sizeof(buf));
	assert_int_equal(sl_code_check(buf, len, &unzipped, why, sizeof(why)), -EINVAL);
}

static void access_keys_parsed_and_looked_up(void **state)
{
	struct sl_akeys *k = NULL;
	char why[200], account[13], secret[129];

	assert_int_equal(sl_akeys_parse(&k,
					"# comment\n\n" ACC " AKIAAAAAAAAAAAAAAAAA s3cr/t+x\n"
					"444455556666 AKIABBBBBBBBBBBBBBBB other\r\n",
					why, sizeof(why)),
			 0);
	assert_int_equal(sl_akeys_count(k), 2);
	assert_int_equal(
		sl_akeys_lookup(k, "AKIAAAAAAAAAAAAAAAAA", account, secret, sizeof(secret)), 0);
	assert_string_equal(account, ACC);
	assert_string_equal(secret, "s3cr/t+x");
	assert_int_equal(
		sl_akeys_lookup(k, "AKIABBBBBBBBBBBBBBBB", account, secret, sizeof(secret)), 0);
	assert_string_equal(secret, "other");
	assert_int_equal(
		sl_akeys_lookup(k, "AKIACCCCCCCCCCCCCCCC", account, secret, sizeof(secret)),
		-ENOKEY);
	assert_int_equal(sl_akeys_lookup(k, "AKIAAAAAAAAAAAAAAAAA", account, secret, 4), -ENOSPC);
	sl_akeys_free(&k);
	assert_null(k);
	assert_int_equal(sl_akeys_parse(&k, "12345 AKIAAAAAAAAAAAAAAAAA s\n", why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "line 1"));
	assert_int_equal(sl_akeys_parse(&k, ACC " short s\n", why, sizeof(why)), -EINVAL);
	assert_int_equal(sl_akeys_parse(&k, ACC " AKIAAAAAAAAAAAAAAAAA\n", why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(
		sl_akeys_parse(&k, ACC " AKIAAAAAAAAAAAAAAAAA s extra\n", why, sizeof(why)),
		-EINVAL);
}

static void access_keys_file_must_be_private(void **state)
{
	char path[] = "/tmp/sl-akeys-XXXXXX", why[200];
	struct sl_akeys *k = NULL;
	int fd = mkstemp(path);
	const char *line = ACC " AKIAAAAAAAAAAAAAAAAA secret\n";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	close(fd);
	chmod(path, 0644);
	assert_int_equal(sl_akeys_load(&k, path, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "chmod 600"));
	chmod(path, 0600);
	assert_int_equal(sl_akeys_load(&k, path, why, sizeof(why)), 0);
	assert_int_equal(sl_akeys_count(k), 1);
	sl_akeys_free(&k);
	unlink(path);
	assert_int_equal(sl_akeys_load(&k, path, why, sizeof(why)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_and_refs),
		cmocka_unit_test(base64_strict),
		cmocka_unit_test(create_validates_like_lambda),
		cmocka_unit_test(create_requires_name_and_code),
		cmocka_unit_test(configuration_json_has_lambdas_fields),
		cmocka_unit_test(zips_checked_and_python_repacked),
		cmocka_unit_test(access_keys_parsed_and_looked_up),
		cmocka_unit_test(access_keys_file_must_be_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
