/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What a sandbox tells the runtime on its report socket (SOCK_SEQPACKET, one message each):
 * the child's set-up (child.c) when a step fails, and the sandbox's init (sandbox-init.c)
 * when CMD cannot be started or has ended. Freestanding: the init is built without libc.
 */
#include <stdint.h>

enum sl_report_kind {
	SL_REPORT_SETUP_FAILED = 1, /* a setup step failed: err, step */
	SL_REPORT_EXEC_FAILED,	    /* CMD could not be started: err (ENOENT: not found) */
	SL_REPORT_EXITED,	    /* CMD ended: status (wait status) */
};

struct sl_report {
	int32_t kind;	/* enum sl_report_kind */
	int32_t err;	/* positive errno */
	int32_t status; /* wait status of CMD */
	char step[28];	/* name of the failed setup step, NUL terminated */
};

/* One report, step cut to fit (NULL: none). Freestanding, for the child and the init alike. */
static inline struct sl_report sl_report_make(int32_t kind, int32_t err, int32_t status,
					      const char *step)
{
	struct sl_report r = {.kind = kind, .err = err, .status = status};

	for (unsigned long i = 0; step && step[i] && i < sizeof(r.step) - 1; i++)
		r.step[i] = step[i];
	return r;
}

/* The fd the report socket has in the child from its fd step on, and in the init. */
#define SL_REPORT_FD 3
