// SPDX-License-Identifier: Apache-2.0
/* control/sigv4: AWS's test suite, requests boto3 signed, and what verification must refuse. */
#include "testutil.h"

#include <sandlot/util.h>

#include "sigv4.h"

#include "sigv4-vectors.h"

#define AKID	  "AKIDEXAMPLE"
#define SECRET	  "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define ACCOUNT	  "123456789012"
#define SUITE_NOW 1440938160 /* 20150830T123600Z */

/* The key store of these tests: AKIDEXAMPLE and the boto3 key. */
static int lookup(void *data, const char *akid, char ret_account[13], char *ret_secret, size_t size)
{
	const char *secret = NULL;

	if (strcmp(akid, AKID) == 0)
		secret = data ? data : SECRET;
	else if (strcmp(akid, "AKIASANDLOTTEST00001") == 0)
		secret = BOTO_SECRET;
	if (!secret)
		return -ENOKEY;
	strcpy(ret_account, ACCOUNT);
	snprintf(ret_secret, size, "%s", secret);
	return 0;
}

/* A request being tampered with: a copy of a vector plus its Authorization header. */
struct treq {
	struct sl_sigv4_header headers[10];
	struct sl_sigv4_request req;
};

static void treq_init(struct treq *t, const struct sigv4_vector *v, const char *authz)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->headers, v->headers, v->nheaders * sizeof(v->headers[0]));
	t->req = (struct sl_sigv4_request){
		.method = v->method,
		.path = v->path,
		.query = v->query,
		.headers = t->headers,
		.nheaders = v->nheaders,
		.body = v->body,
		.body_len = strlen(v->body),
	};
	if (authz)
		t->headers[t->req.nheaders++] = (struct sl_sigv4_header){"Authorization", authz};
}

static int verify_at(struct treq *t, time_t now, void *secret)
{
	struct sl_sigv4_identity id;

	return sl_sigv4_verify(&t->req, now, lookup, secret, &id);
}

static const struct sigv4_vector *vector(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(sigv4_vectors); i++)
		if (strcmp(sigv4_vectors[i].name, name) == 0)
			return &sigv4_vectors[i];
	fail_msg("no vector %s", name);
	return NULL;
}

static void signs_aws_test_suite(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(sigv4_vectors); i++) {
		const struct sigv4_vector *v = &sigv4_vectors[i];
		struct treq t;
		char auth[512];

		int r;

		treq_init(&t, v, NULL);
		r = sl_sigv4_sign(&t.req, AKID, SECRET, "us-east-1", "service", "20150830T123600Z",
				  auth, sizeof(auth));
		if (r != 0)
			fail_msg("%s: %d", v->name, r);
		if (strcmp(auth, v->authz) != 0)
			fail_msg("%s: got %s", v->name, auth);
	}
}

static void verifies_aws_test_suite(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(sigv4_vectors); i++) {
		const struct sigv4_vector *v = &sigv4_vectors[i];
		struct sl_sigv4_identity id;
		struct treq t;
		int r;

		treq_init(&t, v, v->authz);
		memset(&id, 0, sizeof(id));
		r = sl_sigv4_verify(&t.req, SUITE_NOW, lookup, NULL, &id);
		if (r != 0)
			fail_msg("%s: %d", v->name, r);
		assert_string_equal(id.account, ACCOUNT);
		assert_string_equal(id.access_key_id, AKID);
		assert_string_equal(id.region, "us-east-1");
		assert_string_equal(id.service, "service");
	}
}

/* Lambda signs its paths double-encoded (%3A -> %253A): what boto3 sent must verify. */
static void verifies_requests_boto3_signed(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(boto_vectors); i++) {
		const struct sigv4_vector *v = &boto_vectors[i];
		struct sl_sigv4_identity id;
		const char *date = NULL;
		struct treq t;
		struct tm tm = {0};
		int r;

		for (size_t k = 0; k < v->nheaders; k++)
			if (strcasecmp(v->headers[k].name, "x-amz-date") == 0)
				date = v->headers[k].value;
		assert_non_null(date);
		assert_non_null(strptime(date, "%Y%m%dT%H%M%SZ", &tm));
		treq_init(&t, v, v->authz);
		r = sl_sigv4_verify(&t.req, timegm(&tm) + 10, lookup, NULL, &id);
		if (r != 0)
			fail_msg("%s: %d", v->name, r);
		assert_string_equal(id.service, "lambda");
		assert_string_equal(id.access_key_id, "AKIASANDLOTTEST00001");
	}
}

/*
 * The installed botocore (python3-boto3) signs a Lambda Invoke now, offline, with SigV4Auth: an
 * ARN with %3A in the path, a query with an encoded space and slash and an empty value, a header
 * value with spaces around it. Its output: NUL-separated method, path, query, body, then header
 * name/value pairs (Authorization among them).
 */
static const char botocore_script[] =
	"import sys\n"
	"from botocore.auth import SigV4Auth\n"
	"from botocore.awsrequest import AWSRequest\n"
	"from botocore.credentials import Credentials\n"
	"from urllib.parse import urlsplit\n"
	"url = "
	"'http://127.0.0.1:7480/2015-03-31/functions/"
	"arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/"
	"invocations?Qualifier=%24LATEST&x=a%20b%2Fc&empty='\n"
	"req = AWSRequest(method='POST', url=url, data=b'{\"a\": \"b  c\"}', "
	"headers={'X-Amz-Invocation-Type': 'RequestResponse', 'X-Amz-Log-Type': '  Tail  '})\n"
	"SigV4Auth(Credentials('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'), "
	"'lambda', 'us-east-1').add_auth(req)\n"
	"u = urlsplit(req.url)\n"
	"out = [req.method, u.path, u.query, req.body.decode()]\n"
	"hs = dict(req.headers.items())\n"
	"if not any(k.lower() == 'host' for k in hs): out += ['Host', u.netloc]\n"
	"for k, v in hs.items(): out += [k, v.decode() if isinstance(v, bytes) else v]\n"
	"sys.stdout.write('\\0'.join(out))\n";

/* Runs the script with python3; returns its stdout (malloc'd, *ret_len bytes) or NULL. */
static char *run_botocore(size_t *ret_len)
{
	char path[] = "/tmp/sl-sigv4-XXXXXX", cmd[64];
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);
	FILE *p;
	int fd = mkstemp(path);

	assert_true(fd >= 0 && out);
	assert_int_equal(write(fd, botocore_script, strlen(botocore_script)),
			 (ssize_t)strlen(botocore_script));
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 %s", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	for (size_t n; (n = fread(out + len, 1, cap - 1 - len, p)) > 0;)
		len += n;
	out[len] = '\0';
	unlink(path);
	if (pclose(p) != 0) {
		free(out);
		return NULL;
	}
	*ret_len = len;
	return out;
}

static void verifies_what_installed_botocore_signs(void **state)
{
	struct sl_sigv4_header h[16];
	struct sl_sigv4_identity id;
	struct sl_sigv4_request req;
	char *f[40];
	size_t len = 0, n = 0, nh = 0;
	char *out = run_botocore(&len);
	const char *ci = getenv("CI");

	if (!out) {
		if (ci && strcmp(ci, "true") == 0)
			fail_msg("python3 with botocore is needed (tools/deps: python3-boto3)");
		fprintf(stderr, "SKIP: python3 with botocore not found\n");
		skip();
	}
	for (size_t i = 0, start = 0; i <= len && n < ARRAY_SIZE(f); i++) {
		if (i < len && out[i] != '\0')
			continue;
		out[i] = '\0';
		f[n++] = out + start;
		start = i + 1;
	}
	assert_true(n >= 8 && n % 2 == 0);
	for (size_t i = 4; i + 1 < n; i += 2)
		h[nh++] = (struct sl_sigv4_header){f[i], f[i + 1]};
	req = (struct sl_sigv4_request){.method = f[0],
					.path = f[1],
					.query = f[2],
					.headers = h,
					.nheaders = nh,
					.body = f[3],
					.body_len = strlen(f[3])};
	assert_int_equal(sl_sigv4_verify(&req, time(NULL), lookup, NULL, &id), 0);
	assert_string_equal(id.service, "lambda");
	req.body_len--;
	assert_int_equal(sl_sigv4_verify(&req, time(NULL), lookup, NULL, &id), -EACCES);
	free(out);
}

static void refuses_wrong_secret(void **state)
{
	const struct sigv4_vector *v = vector("post-x-www-form-urlencoded");
	struct treq t;

	treq_init(&t, v, v->authz);
	/* the right secret first: its signing key is then cached for the scope, and must not
	 * serve another secret */
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), 0);
	assert_int_equal(verify_at(&t, SUITE_NOW, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ"),
			 -EACCES);
	assert_int_equal(verify_at(&t, SUITE_NOW, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKE"),
			 -EACCES);
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), 0);
}

static void refuses_tampered_body(void **state)
{
	const struct sigv4_vector *v = vector("post-x-www-form-urlencoded");
	struct treq t;

	treq_init(&t, v, v->authz);
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), 0);
	t.req.body = "Param1=value2";
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), -EACCES);
	t.req.body_len = 0;
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), -EACCES);
}

static void refuses_tampered_signed_header(void **state)
{
	const struct sigv4_vector *v = vector("post-header-key-sort");
	struct treq t;

	treq_init(&t, v, v->authz);
	assert_string_equal(t.headers[1].name, "My-Header1");
	t.headers[1].value = "value2";
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), -EACCES);
	/* a second instance of a signed header changes its canonical value too */
	t.headers[1].value = "value1";
	t.headers[t.req.nheaders++] = (struct sl_sigv4_header){"my-header1", "x"};
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), -EACCES);
}

static void ignores_unsigned_header(void **state)
{
	const struct sigv4_vector *v = vector("get-vanilla");
	struct treq t;

	treq_init(&t, v, v->authz);
	t.headers[t.req.nheaders++] = (struct sl_sigv4_header){"User-Agent", "curl/8"};
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), 0);
}

static void refuses_tampered_path_and_query(void **state)
{
	const struct sigv4_vector *v = vector("get-vanilla-query-order-key-case");
	struct treq t;

	treq_init(&t, v, v->authz);
	t.req.path = "/x";
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), -EACCES);
	t.req.path = v->path;
	t.req.query = "Param2=value2&Param1=value3";
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), -EACCES);
	t.req.query = "Param1=value1&Param2=value2"; /* another order, same canonical query */
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), 0);
	t.req.method = "POST";
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), -EACCES);
}

static void refuses_clock_skew_beyond_five_minutes(void **state)
{
	const struct sigv4_vector *v = vector("get-vanilla");
	struct treq t;

	treq_init(&t, v, v->authz);
	assert_int_equal(verify_at(&t, SUITE_NOW + SL_SIGV4_SKEW_S, NULL), 0);
	assert_int_equal(verify_at(&t, SUITE_NOW - SL_SIGV4_SKEW_S, NULL), 0);
	assert_int_equal(verify_at(&t, SUITE_NOW + SL_SIGV4_SKEW_S + 1, NULL), -ETIME);
	assert_int_equal(verify_at(&t, SUITE_NOW - SL_SIGV4_SKEW_S - 1, NULL), -ETIME);
}

static void refuses_unknown_key(void **state)
{
	const struct sigv4_vector *v = vector("get-vanilla");
	char auth[512];
	struct treq t;

	treq_init(&t, v, NULL);
	assert_int_equal(sl_sigv4_sign(&t.req, "AKIDUNKNOWN", SECRET, "us-east-1", "service",
				       "20150830T123600Z", auth, sizeof(auth)),
			 0);
	treq_init(&t, v, auth);
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), -ENOKEY);
}

static void refuses_malformed_authorization(void **state)
{
	static const char *const bad[] = {
		"",
		"AWS4-HMAC-SHA1 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, "
		"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature=5fa00fa3",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws5_request, "
		"SignedHeaders=host;x-amz-date, "
		"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, "
		"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/aws4_request, "
		"SignedHeaders=host;x-amz-date, "
		"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=x-amz-date;host, "
		"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=x-amz-date, "
		"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, "
		"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, "
		"Signature=5FA00FA31553B73EBF1942676E86291E8372FF2A2260956D9B8AAE1D763FBF31",
	};
	const struct sigv4_vector *v = vector("get-vanilla");
	struct treq t;

	treq_init(&t, v, NULL);
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), -EINVAL); /* no Authorization */
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		treq_init(&t, v, bad[i]);
		if (verify_at(&t, SUITE_NOW, NULL) != -EINVAL)
			fail_msg("accepted or misjudged #%zu: %s", i, bad[i]);
	}
}

static void refuses_missing_signed_header_or_date(void **state)
{
	const struct sigv4_vector *v = vector("post-header-key-sort");
	struct treq t;

	treq_init(&t, v, v->authz);
	t.headers[1].name = "My-Header2"; /* my-header1 is signed but absent */
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), -EINVAL);
	treq_init(&t, v, v->authz);
	assert_string_equal(t.headers[2].name, "X-Amz-Date");
	t.headers[2].name = "Date";
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), -EINVAL);
	t.headers[2] = (struct sl_sigv4_header){"X-Amz-Date", "2015-08-30T12:36:00Z"};
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), -EINVAL);
}

static void content_sha256_must_match_body(void **state)
{
	const struct sigv4_vector *v = vector("post-vanilla");
	char auth[512];
	struct treq t;

	treq_init(&t, v, NULL);
	t.headers[t.req.nheaders++] =
		(struct sl_sigv4_header){"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"};
	t.req.body = "anything";
	t.req.body_len = 8;
	assert_int_equal(sl_sigv4_sign(&t.req, AKID, SECRET, "us-east-1", "service",
				       "20150830T123600Z", auth, sizeof(auth)),
			 0);
	t.headers[t.req.nheaders++] = (struct sl_sigv4_header){"Authorization", auth};
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), 0);
	t.req.body = "other!!!"; /* unsigned payload: the body is not covered */
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), 0);
	/* a claimed hash that is not the body's */
	t.headers[t.req.nheaders - 2].value =
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	assert_int_equal(verify_at(&t, SUITE_NOW, NULL), -EACCES);
}

static void sign_reports_short_buffer(void **state)
{
	const struct sigv4_vector *v = vector("get-vanilla");
	char auth[64];
	struct treq t;

	treq_init(&t, v, NULL);
	assert_int_equal(sl_sigv4_sign(&t.req, AKID, SECRET, "us-east-1", "service",
				       "20150830T123600Z", auth, sizeof(auth)),
			 -ENOSPC);
	assert_int_equal(sl_sigv4_sign(&t.req, AKID, SECRET, "us-east-1", "service", "2015-08-30",
				       auth, sizeof(auth)),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signs_aws_test_suite),
		cmocka_unit_test(verifies_aws_test_suite),
		cmocka_unit_test(verifies_requests_boto3_signed),
		cmocka_unit_test(verifies_what_installed_botocore_signs),
		cmocka_unit_test(refuses_wrong_secret),
		cmocka_unit_test(refuses_tampered_body),
		cmocka_unit_test(refuses_tampered_signed_header),
		cmocka_unit_test(ignores_unsigned_header),
		cmocka_unit_test(refuses_tampered_path_and_query),
		cmocka_unit_test(refuses_clock_skew_beyond_five_minutes),
		cmocka_unit_test(refuses_unknown_key),
		cmocka_unit_test(refuses_malformed_authorization),
		cmocka_unit_test(refuses_missing_signed_header_or_date),
		cmocka_unit_test(content_sha256_must_match_body),
		cmocka_unit_test(sign_reports_short_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
