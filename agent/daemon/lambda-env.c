// SPDX-License-Identifier: Apache-2.0
#include "daemon/lambda-env.h"

#include <sandlot/util.h>

#include <stdio.h>
#include <string.h>

/* Keys the function may not set (Lambda's "reserved environment variables"). */
static const char *const reserved[] = {
	"_HANDLER",
	"_X_AMZN_TRACE_ID",
	"AWS_DEFAULT_REGION",
	"AWS_REGION",
	"AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
	"AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE",
	"AWS_LAMBDA_LOG_GROUP_NAME",
	"AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY",
	"AWS_ACCESS_KEY_ID",
	"AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API",
	"LAMBDA_TASK_ROOT",
	"LAMBDA_RUNTIME_DIR",
};

/* Fixed entries plus room for every user entry. */
enum { N_FIXED = 16, N_MAX = N_FIXED + SL_LAMBDA_ENV_USER_MAX_COUNT };

struct kv {
	const char *key;
	size_t klen;
	const char *val;
	size_t vlen;
};

bool sl_lambda_env_is_reserved(const char *key, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (strlen(reserved[i]) == len && memcmp(reserved[i], key, len) == 0)
			return true;
	return false;
}

/* Lambda's key pattern: [a-zA-Z][a-zA-Z0-9_]+ */
static bool key_valid(const char *k, size_t n)
{
	if (n < 2 || !((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* A field: 1..max bytes of printable ASCII without spaces (names, versions, regions). */
static bool field_valid(const char *s, size_t max, bool allow_empty)
{
	size_t n;

	if (!s)
		return allow_empty;
	n = strnlen(s, max + 1);
	if (n > max || (n == 0 && !allow_empty))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

static bool name_valid(const char *s)
{
	if (!field_valid(s, SL_LAMBDA_NAME_MAX, false))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

static int fn_check(const struct sl_lambda_fn *fn)
{
	if (!fn || !name_valid(fn->name) ||
	    !field_valid(fn->version, SL_LAMBDA_VERSION_MAX, true) ||
	    !field_valid(fn->handler, SL_LAMBDA_HANDLER_MAX, true) ||
	    !field_valid(fn->region, SL_LAMBDA_REGION_MAX, false) ||
	    !field_valid(fn->log_stream, SL_LAMBDA_LOG_STREAM_MAX, true) ||
	    !field_valid(fn->runtime_api, 64, true))
		return -EINVAL;
	if (fn->memory_mb < SL_LAMBDA_MEMORY_MIN_MB || fn->memory_mb > SL_LAMBDA_MEMORY_MAX_MB)
		return -EINVAL;
	return 0;
}

static void kv_set(struct kv *e, const char *key, const char *val)
{
	e->key = key;
	e->klen = strlen(key);
	e->val = val ? val : "";
	e->vlen = strlen(e->val);
}

/* Lambda's own entries, in a stable order. mem and group are caller-owned scratch buffers. */
static size_t fixed_entries(const struct sl_lambda_fn *fn, struct kv *e, char *mem, char *group)
{
	size_t n = 0;

	snprintf(mem, 16, "%u", fn->memory_mb);
	snprintf(group, 16 + SL_LAMBDA_NAME_MAX, "/aws/lambda/%s", fn->name);
	kv_set(&e[n++], "AWS_LAMBDA_FUNCTION_NAME", fn->name);
	kv_set(&e[n++], "AWS_LAMBDA_FUNCTION_VERSION", fn->version ? fn->version : "$LATEST");
	kv_set(&e[n++], "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", mem);
	kv_set(&e[n++], "AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
	kv_set(&e[n++], "AWS_LAMBDA_LOG_GROUP_NAME", group);
	if (fn->log_stream)
		kv_set(&e[n++], "AWS_LAMBDA_LOG_STREAM_NAME", fn->log_stream);
	kv_set(&e[n++], "AWS_LAMBDA_RUNTIME_API",
	       fn->runtime_api ? fn->runtime_api : SL_LAMBDA_RUNTIME_API_ADDR);
	kv_set(&e[n++], "AWS_REGION", fn->region);
	kv_set(&e[n++], "AWS_DEFAULT_REGION", fn->region);
	kv_set(&e[n++], "_HANDLER", fn->handler);
	kv_set(&e[n++], "LAMBDA_TASK_ROOT", SL_LAMBDA_TASK_ROOT);
	kv_set(&e[n++], "LAMBDA_RUNTIME_DIR", SL_LAMBDA_RUNTIME_DIR);
	/* Unreserved: the function may override these. */
	kv_set(&e[n++], "PATH", SL_LAMBDA_PATH);
	kv_set(&e[n++], "LD_LIBRARY_PATH", SL_LAMBDA_LD_LIBRARY_PATH);
	kv_set(&e[n++], "LANG", "en_US.UTF-8");
	kv_set(&e[n++], "TZ", ":UTC");
	return n;
}

static struct kv *find(struct kv *e, size_t n, const char *key, size_t klen)
{
	for (size_t i = 0; i < n; i++)
		if (e[i].klen == klen && memcmp(e[i].key, key, klen) == 0)
			return &e[i];
	return NULL;
}

/* Merges the user's entries into e[0..*n). Returns 0 or -errno with *bad set. */
static int merge_user(const char *const *user, struct kv *e, size_t *n, size_t n_fixed, size_t *bad)
{
	size_t total = 0;
	uint32_t overridden = 0; /* bit i: fixed entry i was set by the user */

	for (size_t i = 0; user && user[i]; i++) {
		const char *eq = strchr(user[i], '=');
		size_t klen = eq ? (size_t)(eq - user[i]) : 0;
		struct kv *dup;

		*bad = i;
		if (i >= SL_LAMBDA_ENV_USER_MAX_COUNT)
			return -E2BIG;
		if (!eq || !key_valid(user[i], klen))
			return -EINVAL;
		if (sl_lambda_env_is_reserved(user[i], klen))
			return -EPERM;
		total += strnlen(user[i], SL_LAMBDA_ENV_USER_MAX_BYTES + 2) - 1;
		if (total > SL_LAMBDA_ENV_USER_MAX_BYTES)
			return -E2BIG;
		dup = find(e, *n, user[i], klen);
		if (dup && (dup >= e + n_fixed || (overridden & (1u << (dup - e)))))
			return -EINVAL; /* the same key twice */
		if (dup)
			overridden |= 1u << (dup - e);
		else
			dup = &e[(*n)++];
		*dup = (struct kv){user[i], klen, eq + 1, strlen(eq + 1)};
	}
	return 0;
}

int sl_lambda_env_build(const struct sl_lambda_fn *fn, char ***ret_envp, size_t *ret_bad_index)
{
	struct kv e[N_MAX];
	char mem[16], group[16 + SL_LAMBDA_NAME_MAX];
	size_t n, n_fixed, bad = 0, bytes;
	char **envp, *p;
	int r;

	r = fn_check(fn);
	if (r < 0)
		return r;
	n = n_fixed = fixed_entries(fn, e, mem, group);
	r = merge_user(fn->user_env, e, &n, n_fixed, &bad);
	if (r < 0) {
		if (ret_bad_index)
			*ret_bad_index = bad;
		return r;
	}
	bytes = (n + 1) * sizeof(char *);
	for (size_t i = 0; i < n; i++)
		bytes += e[i].klen + 1 + e[i].vlen + 1;
	envp = malloc(bytes);
	if (!envp)
		return -ENOMEM;
	p = (char *)(envp + n + 1);
	for (size_t i = 0; i < n; i++) {
		envp[i] = p;
		memcpy(p, e[i].key, e[i].klen);
		p += e[i].klen;
		*p++ = '=';
		memcpy(p, e[i].val, e[i].vlen);
		p += e[i].vlen;
		*p++ = '\0';
	}
	envp[n] = NULL;
	*ret_envp = envp;
	return 0;
}

int sl_lambda_env_log_stream(char *buf, size_t len, const char *version, time_t now,
			     const uint8_t rnd[16])
{
	struct tm tm;
	char hex[33];
	int n;

	if (!gmtime_r(&now, &tm))
		return -EINVAL;
	for (size_t i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	n = snprintf(buf, len, "%04d/%02d/%02d/[%s]%s", tm.tm_year + 1900, tm.tm_mon + 1,
		     tm.tm_mday, version ? version : "$LATEST", hex);
	if (n < 0 || (size_t)n >= len)
		return -ENOBUFS;
	return n;
}

const char *sl_lambda_env_get(char *const *envp, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], key, n) == 0 && envp[i][n] == '=')
			return envp[i] + n + 1;
	return NULL;
}

uint32_t sl_lambda_cpu_millis(unsigned memory_mb)
{
	uint64_t m = (uint64_t)memory_mb * 1000 / SL_LAMBDA_MB_PER_VCPU;

	return (uint32_t)MAX(m, (uint64_t)SL_LAMBDA_CPU_MILLIS_MIN);
}

uint32_t sl_lambda_init_cpu_millis(unsigned memory_mb, uint32_t init_budget_millis)
{
	return MAX(sl_lambda_cpu_millis(memory_mb), init_budget_millis);
}
