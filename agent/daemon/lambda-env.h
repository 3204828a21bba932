/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The environment of a sandbox's bootstrap, exactly as AWS Lambda sets it for the `provided`
 * (OS-only) runtimes, merged with the function's own variables. Pure: no syscalls, so the
 * daemon builds it in the parent before clone and the child only passes it to execve.
 *
 * Lambda's rules, kept here: reserved keys (AWS_REGION, _HANDLER, AWS_LAMBDA_*, LAMBDA_TASK_ROOT,
 * credentials...) cannot be set by the function; PATH, LD_LIBRARY_PATH, LANG and TZ can be
 * overridden; keys match [a-zA-Z][a-zA-Z0-9_]+; the function's variables total at most 4 KB.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum {
	SL_LAMBDA_ENV_USER_MAX_BYTES = 4096, /* Lambda: all keys and values together */
	SL_LAMBDA_ENV_USER_MAX_COUNT = 256,
	SL_LAMBDA_NAME_MAX = 64, /* function name, as Lambda */
	SL_LAMBDA_VERSION_MAX = 32,
	SL_LAMBDA_HANDLER_MAX = 128,
	SL_LAMBDA_REGION_MAX = 32,
	SL_LAMBDA_LOG_STREAM_MAX = 128,
	SL_LAMBDA_MEMORY_MIN_MB = 128,
	SL_LAMBDA_MEMORY_MAX_MB = 10240,
	SL_LAMBDA_MB_PER_VCPU = 1769,
	SL_LAMBDA_CPU_MILLIS_MIN = 50,
	SL_LAMBDA_INIT_CPU_MILLIS = 1000, /* default init budget: one CPU */
};

#define SL_LAMBDA_RUNTIME_API_ADDR "127.0.0.1:9001"
#define SL_LAMBDA_TASK_ROOT	   "/var/task"
#define SL_LAMBDA_RUNTIME_DIR	   "/var/runtime"
#define SL_LAMBDA_PATH		   "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
#define SL_LAMBDA_LD_LIBRARY_PATH                                                                \
	"/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:" \
	"/opt/lib"

/* What a function's environment is made of. Strings are borrowed for the call only. */
struct sl_lambda_fn {
	const char *name;	 /* AWS_LAMBDA_FUNCTION_NAME: [A-Za-z0-9_-]{1,64} */
	const char *version;	 /* AWS_LAMBDA_FUNCTION_VERSION; NULL means "$LATEST" */
	const char *handler;	 /* _HANDLER; NULL or "" leaves it empty, as Lambda does */
	unsigned memory_mb;	 /* AWS_LAMBDA_FUNCTION_MEMORY_SIZE, 128..10240 */
	const char *region;	 /* AWS_REGION and AWS_DEFAULT_REGION, e.g. "us-east-1" */
	const char *log_stream;	 /* AWS_LAMBDA_LOG_STREAM_NAME; NULL leaves it out */
	const char *runtime_api; /* AWS_LAMBDA_RUNTIME_API; NULL means 127.0.0.1:9001 */
	const char *const
		*user_env; /* the function's "KEY=VALUE" strings, NULL-terminated; or NULL */
};

/*
 * Builds the NULL-terminated envp for execve. *ret_envp is one allocation (pointers and strings
 * together): release it with free(). Returns 0, or -EINVAL (a malformed field, a malformed or
 * duplicate user entry), -EPERM (a user entry sets a reserved key), -E2BIG (the user entries
 * exceed 4 KB or 256 entries), -ENOMEM. When ret_bad_index is not NULL and a user entry is at
 * fault, it receives that entry's index (it is untouched otherwise).
 */
int sl_lambda_env_build(const struct sl_lambda_fn *fn, char ***ret_envp, size_t *ret_bad_index);

/* True when Lambda reserves key (the function may not set it). key is the name without '='. */
bool sl_lambda_env_is_reserved(const char *key, size_t len);

/*
 * Formats a log stream name as Lambda does: "YYYY/MM/DD/[VERSION]<32 hex digits>" from the UTC
 * date of now and 16 random bytes the caller provides. Returns the length, or -ENOBUFS.
 */
int sl_lambda_env_log_stream(char *buf, size_t len, const char *version, time_t now,
			     const uint8_t rnd[16]);

/*
 * The CPU a function of memory_mb gets, as in Lambda (1769 MB = one vCPU), in thousandths of a
 * CPU; at least SL_LAMBDA_CPU_MILLIS_MIN.
 */
uint32_t sl_lambda_cpu_millis(unsigned memory_mb);

/*
 * The CPU quota from spawn to the runtime's first `next`: the init budget (thousandths of a
 * CPU; 0 = none) or the function's own quota, whichever is larger. Lambda, too, is widely
 * observed to give the init phase more CPU than the memory buys.
 */
uint32_t sl_lambda_init_cpu_millis(unsigned memory_mb, uint32_t init_budget_millis);

/* Returns the value of key in envp (a NULL-terminated "K=V" array), or NULL. */
const char *sl_lambda_env_get(char *const *envp, const char *key);
