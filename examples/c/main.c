// SPDX-License-Identifier: Apache-2.0
/*
 * Example function: answers with the event, ASCII letters upper-cased. An event that contains
 * "fail" makes it report a function error instead. Built as `bootstrap`, the file Lambda's
 * provided runtimes (and sandlot) start from /var/task.
 */
#include "lambda_runtime.h"

#include <string.h>

static int uppercase(const struct lambda_invocation *inv, struct lambda_result *res, void *userdata)
{
	if (memmem(inv->body, inv->len, "\"fail\"", 6))
		return lambda_result_error(res, "Function.AskedToFail", "the event asked to fail");
	if (lambda_result_set(res, inv->body, inv->len) < 0)
		return lambda_result_error(res, "Function.OutOfMemory", "out of memory");
	for (size_t i = 0; i < res->len; i++)
		if (res->body[i] >= 'a' && res->body[i] <= 'z')
			res->body[i] = (char)(res->body[i] - 'a' + 'A');
	return 0;
}

int main(void)
{
	return lambda_runtime_run(uppercase, NULL);
}
