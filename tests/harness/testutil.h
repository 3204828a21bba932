/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* Helpers shared by the cmocka tests. Include after cmocka's required headers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Privileged tests call this first. Without root they skip when run by hand, but fail loudly
 * under CI=true: a privileged test that silently does not run proves nothing.
 */
static inline void sl_test_require_root(void)
{
	const char *ci = getenv("CI");

	if (geteuid() == 0)
		return;
	if (ci && strcmp(ci, "true") == 0)
		fail_msg("this test needs root and CI=true: refusing to skip");
	fprintf(stderr, "SKIP: needs root\n");
	skip();
}

/* Path of the sandlot-agent binary under test ($SANDLOT_AGENT, set by ctest). */
static inline const char *sl_test_agent(void)
{
	const char *p = getenv("SANDLOT_AGENT");

	return p ? p : "sandlot-agent";
}

/*
 * Runs argv with stdout and stderr captured into out/err (each at most len-1 bytes, NUL
 * terminated; either may be NULL to discard). Returns the wait status.
 */
int sl_test_run(char *const argv[], char *out, size_t outlen, char *err, size_t errlen);
