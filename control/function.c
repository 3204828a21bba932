// SPDX-License-Identifier: Apache-2.0
/* Functions as the Lambda API sees them (see function.h). */
#include "function.h"

#include <sandlot/time.h>
#include <sandlot/util.h>

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <string.h>

#include <sandlot/proto.h>

#define BAD_CONTENT "InvalidRequestContentException"
#define VALIDATION  "ValidationException"
#define BAD_PARAM   "InvalidParameterValueException"

int sl_api_fail(struct sl_api_err *e, unsigned status, const char *type, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->type = type;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

bool sl_fn_valid_name(const char *s)
{
	size_t n = s ? strnlen(s, SL_FN_NAME_MAX + 1) : 0;

	if (n < 1 || n > SL_FN_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

bool sl_fn_is_python(const char *runtime)
{
	static const char *const py[] = {"python3.8",  "python3.9",  "python3.10",
					 "python3.11", "python3.12", "python3.13"};

	for (size_t i = 0; i < ARRAY_SIZE(py); i++)
		if (strcmp(runtime, py[i]) == 0)
			return true;
	return false;
}

bool sl_fn_valid_runtime(const char *s)
{
	return strcmp(s, "provided") == 0 || strcmp(s, "provided.al2") == 0 ||
	       strcmp(s, "provided.al2023") == 0 || sl_fn_is_python(s);
}

static int not_found(struct sl_api_err *e, const char *ref)
{
	return sl_api_fail(e, 404, "ResourceNotFoundException", "Function not found: %.200s", ref);
}

static int bad_name(struct sl_api_err *e, const char *ref)
{
	return sl_api_fail(e, 400, VALIDATION,
			   "1 validation error detected: Value '%.140s' at 'functionName' failed "
			   "to satisfy constraint: Member must satisfy regular expression pattern: "
			   "(arn:aws:lambda:)?([a-z]{2}-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?"
			   "([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
			   ref);
}

int sl_fn_parse_ref(const char *ref, const char *account, char name[SL_FN_NAME_MAX + 1],
		    struct sl_api_err *e)
{
	char buf[256], *parts[8], *save = NULL, *p;
	size_t n = 0, i = 0;

	if (strlen(ref) >= sizeof(buf) || !*ref)
		return bad_name(e, ref);
	snprintf(buf, sizeof(buf), "%s", ref);
	for (p = strtok_r(buf, ":", &save); p && n < ARRAY_SIZE(parts);
	     p = strtok_r(NULL, ":", &save))
		parts[n++] = p;
	if (p || n == 0)
		return bad_name(e, ref);
	if (n >= 3 && strcmp(parts[0], "arn") == 0) { /* arn:aws:lambda:REGION:... */
		if (n < 7 || strncmp(parts[1], "aws", 3) != 0 || strcmp(parts[2], "lambda") != 0)
			return bad_name(e, ref);
		i = 4;
	}
	if (n - i >= 3 && strcmp(parts[i + 1], "function") == 0) { /* ACCOUNT:function:NAME */
		if (strlen(parts[i]) != 12 || strspn(parts[i], "0123456789") != 12)
			return bad_name(e, ref);
		if (strcmp(parts[i], account) != 0)
			return not_found(e, ref);
		i += 2;
	} else if (i) {
		return bad_name(e, ref);
	}
	if (!sl_fn_valid_name(parts[i]) || n - i > 2)
		return bad_name(e, ref);
	if (n - i == 2 && strcmp(parts[i + 1], "$LATEST") != 0)
		return not_found(e, ref); /* no published versions or aliases */
	snprintf(name, SL_FN_NAME_MAX + 1, "%s", parts[i]);
	return 0;
}

/* A string member: absent leaves dst alone; wrong type or too long fails. */
static int get_str(json_t *body, const char *key, char *dst, size_t size, struct sl_api_err *e)
{
	json_t *v = json_object_get(body, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return sl_api_fail(e, 400, BAD_CONTENT,
				   "Could not parse request body into json: %s must be a string",
				   key);
	if (json_string_length(v) >= size)
		return sl_api_fail(e, 400, VALIDATION,
				   "1 validation error detected: Value at '%s' failed to satisfy "
				   "constraint: Member must have length less than or equal to %zu",
				   key, size - 1);
	snprintf(dst, size, "%s", json_string_value(v));
	return 1;
}

static int get_uint(json_t *body, const char *key, uint32_t min, uint32_t max, uint32_t *dst,
		    struct sl_api_err *e)
{
	json_t *v = json_object_get(body, key);
	json_int_t i;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return sl_api_fail(e, 400, BAD_CONTENT,
				   "Could not parse request body into json: %s must be an integer",
				   key);
	i = json_integer_value(v);
	if (i < min || i > max)
		return sl_api_fail(e, 400, VALIDATION,
				   "1 validation error detected: Value '%lld' at '%s' failed to "
				   "satisfy constraint: Member must have value %s %u",
				   (long long)i, key,
				   i < min ? "greater than or equal to" : "less than or equal to",
				   i < min ? min : max);
	*dst = (uint32_t)i;
	return 1;
}

static bool env_key_ok(const char *k)
{
	static const char *const reserved[] = {
		"_HANDLER",	      "_X_AMZN_TRACE_ID",
		"AWS_REGION",	      "AWS_EXECUTION_ENV",
		"AWS_DEFAULT_REGION", "AWS_LAMBDA_RUNTIME_API",
		"LAMBDA_TASK_ROOT",   "LAMBDA_RUNTIME_DIR",
		"AWS_ACCESS_KEY_ID",  "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN",
	};

	if (!isalpha((unsigned char)k[0]) || strlen(k) < 2 || strlen(k) > SL_MSG_ENV_KEY_MAX)
		return false;
	for (const char *p = k; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	if (strncmp(k, "AWS_LAMBDA_", 11) == 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (strcmp(k, reserved[i]) == 0)
			return false;
	return true;
}

/* Environment.Variables: an object of strings within the wire's bounds. */
static int get_env(json_t *body, struct sl_fn *f, struct sl_api_err *e)
{
	json_t *env = json_object_get(body, "Environment"), *vars, *v;
	size_t total = 0;
	const char *k;
	char *txt;

	if (!env || json_is_null(env))
		return 0;
	vars = json_is_object(env) ? json_object_get(env, "Variables") : NULL;
	if (!json_is_object(env) || (vars && !json_is_object(vars)))
		return sl_api_fail(e, 400, BAD_CONTENT,
				   "Could not parse request body into json: Environment must be "
				   "{\"Variables\": {...}}");
	if (json_object_size(vars) > SL_MSG_ENV_MAX)
		return sl_api_fail(e, 400, BAD_PARAM, "At most %d environment variables",
				   SL_MSG_ENV_MAX);
	json_object_foreach (vars, k, v) {
		if (!json_is_string(v))
			return sl_api_fail(e, 400, BAD_CONTENT,
					   "Could not parse request body into json: environment "
					   "variable values must be strings");
		if (!env_key_ok(k))
			return sl_api_fail(
				e, 400, BAD_PARAM,
				"Lambda was unable to configure your environment "
				"variables: '%.128s' is not a valid or not a modifiable key",
				k);
		total += strlen(k) + json_string_length(v);
	}
	if (total > SL_MSG_ENV_TOTAL_MAX)
		return sl_api_fail(e, 400, BAD_PARAM,
				   "Lambda was unable to configure your environment variables "
				   "because the environment variables you have provided exceeded "
				   "the 4KB limit.");
	txt = vars ? json_dumps(vars, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
	if (!txt || strlen(txt) >= sizeof(f->env_json)) {
		free(txt);
		return sl_api_fail(e, 400, BAD_PARAM, "environment too large");
	}
	snprintf(f->env_json, sizeof(f->env_json), "%s", txt);
	free(txt);
	return 1;
}

static int check_runtime(const struct sl_fn *f, struct sl_api_err *e)
{
	if (!sl_fn_valid_runtime(f->runtime))
		return sl_api_fail(e, 400, BAD_PARAM,
				   "The runtime parameter of %.40s is not supported (provided, "
				   "provided.al2, provided.al2023, python3.8-python3.13)",
				   f->runtime);
	if (sl_fn_is_python(f->runtime) && !strchr(f->handler, '.'))
		return sl_api_fail(e, 400, BAD_PARAM,
				   "The handler of a %s function must be module.function",
				   f->runtime);
	for (const char *p = f->handler; *p; p++)
		if (!isgraph((unsigned char)*p))
			return sl_api_fail(e, 400, VALIDATION,
					   "1 validation error detected: Value at 'handler' failed "
					   "to satisfy constraint: Member must satisfy regular "
					   "expression pattern: [^\\s]+");
	return 0;
}

/* The configuration members shared by create and update. */
static int get_config(json_t *body, struct sl_fn *f, struct sl_api_err *e)
{
	if (get_str(body, "Runtime", f->runtime, sizeof(f->runtime), e) < 0 ||
	    get_str(body, "Handler", f->handler, sizeof(f->handler), e) < 0 ||
	    get_str(body, "Role", f->role, sizeof(f->role), e) < 0 ||
	    get_str(body, "Description", f->description, sizeof(f->description), e) < 0 ||
	    get_uint(body, "MemorySize", SL_FN_MEMORY_MIN, SL_FN_MEMORY_MAX, &f->memory_mb, e) <
		    0 ||
	    get_uint(body, "Timeout", 1, SL_FN_TIMEOUT_MAX, &f->timeout_s, e) < 0 ||
	    get_env(body, f, e) < 0)
		return -EINVAL;
	return check_runtime(f, e);
}

static int get_zip(json_t *code, void **ret_zip, size_t *ret_len, struct sl_api_err *e)
{
	json_t *zip = json_is_object(code) ? json_object_get(code, "ZipFile") : NULL;
	int r;

	if (!json_is_object(code))
		return sl_api_fail(
			e, 400, BAD_CONTENT,
			"Could not parse request body into json: Code must be an object");
	if (json_object_get(code, "S3Bucket") || json_object_get(code, "ImageUri"))
		return sl_api_fail(e, 400, BAD_PARAM,
				   "Only Code.ZipFile is supported (no S3 or container images)");
	if (!json_is_string(zip) || json_string_length(zip) == 0)
		return sl_api_fail(e, 400, BAD_PARAM, "Code.ZipFile is required");
	if (json_string_length(zip) > (SL_FN_ZIP_MAX / 3 + 1) * 4)
		return sl_api_fail(e, 413, "RequestEntityTooLargeException",
				   "Zipped size must be smaller than %u bytes", SL_FN_ZIP_MAX);
	r = sl_b64_decode(json_string_value(zip), json_string_length(zip), ret_zip, ret_len);
	if (r == -ENOMEM)
		return sl_api_fail(e, 500, "ServiceException", "out of memory");
	if (r < 0)
		return sl_api_fail(e, 400, BAD_CONTENT,
				   "Could not parse request body into json: Code.ZipFile is not "
				   "valid base64");
	return 0;
}

int sl_fn_from_create(json_t *body, const char *account, struct sl_fn *f, void **ret_zip,
		      size_t *ret_zip_len, struct sl_api_err *e)
{
	json_t *name = json_object_get(body, "FunctionName");
	const char *pt = json_string_value(json_object_get(body, "PackageType"));

	memset(f, 0, sizeof(*f));
	snprintf(f->account, sizeof(f->account), "%s", account);
	snprintf(f->env_json, sizeof(f->env_json), "{}");
	f->memory_mb = 128;
	f->timeout_s = 3;
	f->reserved = -1;
	if (!json_is_string(name))
		return sl_api_fail(e, 400, BAD_PARAM, "FunctionName is required (a string)");
	if (!sl_fn_valid_name(json_string_value(name)))
		return bad_name(e, json_string_value(name));
	snprintf(f->name, sizeof(f->name), "%s", json_string_value(name));
	if (pt && strcmp(pt, "Zip") != 0)
		return sl_api_fail(e, 400, BAD_PARAM, "Only PackageType Zip is supported");
	if (!json_is_string(json_object_get(body, "Runtime")))
		return sl_api_fail(e, 400, BAD_PARAM, "Runtime is required for a Zip package");
	if (get_config(body, f, e) < 0)
		return -EINVAL;
	return get_zip(json_object_get(body, "Code"), ret_zip, ret_zip_len, e);
}

int sl_fn_apply_config(json_t *body, struct sl_fn *f, struct sl_api_err *e)
{
	return get_config(body, f, e);
}

int sl_fn_code_from_update(json_t *body, void **ret_zip, size_t *ret_zip_len, struct sl_api_err *e)
{
	return get_zip(body, ret_zip, ret_zip_len, e);
}

void sl_fn_arn(const struct sl_fn *f, const char *region, char *buf, size_t len)
{
	snprintf(buf, len, "arn:aws:lambda:%s:%s:function:%s", region, f->account, f->name);
}

/* Lambda's LastModified: 2019-08-14T22:26:11.234+0000 */
static void last_modified(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / SL_NSEC_PER_SEC);
	struct tm tm;
	char date[32];

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03u+0000", date, (unsigned)(ns / SL_NSEC_PER_MSEC % 1000));
}

json_t *sl_fn_config_json(const struct sl_fn *f, const char *region)
{
	char arn[256], mod[48];
	_cleanup_free_ char *sha = sl_b64_encode(f->code_sha, 32);
	json_t *env = json_loads(f->env_json, 0, NULL);

	sl_fn_arn(f, region, arn, sizeof(arn));
	last_modified(f->modified_ns, mod, sizeof(mod));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:i, s:i, s:s, s:s, s:s, s:{s:o},"
			 " s:{s:s}, s:s, s:s, s:s, s:s, s:[s], s:{s:i}}",
			 "FunctionName", f->name, "FunctionArn", arn, "Runtime", f->runtime, "Role",
			 f->role, "Handler", f->handler, "CodeSize", (json_int_t)f->code_size,
			 "Description", f->description, "Timeout", (int)f->timeout_s, "MemorySize",
			 (int)f->memory_mb, "LastModified", mod, "CodeSha256", sha ? sha : "",
			 "Version", "$LATEST", "Environment", "Variables",
			 env ? env : json_object(), "TracingConfig", "Mode", "PassThrough",
			 "RevisionId", f->revision_id, "State", "Active", "LastUpdateStatus",
			 "Successful", "PackageType", "Zip", "Architectures", "x86_64",
			 "EphemeralStorage", "Size", 512);
}

char *sl_b64_encode(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int sl_b64_decode(const char *s, size_t slen, void **ret, size_t *ret_len)
{
	unsigned char *out;
	size_t pad = 0;
	int n;

	if (slen == 0 || slen % 4 || slen > INT32_MAX)
		return -EINVAL;
	for (size_t i = 0; i < slen; i++) {
		char c = s[i];

		if (c == '=') {
			if (i < slen - 2)
				return -EINVAL;
			pad++;
		} else if (pad || !(isalnum((unsigned char)c) || c == '+' || c == '/')) {
			return -EINVAL;
		}
	}
	out = malloc(slen / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)slen);
	if (n < 0 || (size_t)n < pad) {
		free(out);
		return -EINVAL;
	}
	*ret = out;
	*ret_len = (size_t)n - pad;
	return 0;
}

void sl_uuid(char buf[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}
