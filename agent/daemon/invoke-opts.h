/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The options of `sandlot-agent invoke` (cmd-invoke.c), parsed and checked before anything on
 * the host is touched: a bad one is one line on stderr naming it (exit 2 for the caller).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/lambda-env.h"

struct sl_invoke_opts {
	const char *code, *handler, *name, *region;
	unsigned memory_mb;
	uint64_t timeout_ns;
	uint32_t init_cpu_millis;
	char *env[SL_LAMBDA_ENV_USER_MAX_COUNT + 1];
	size_t n_env;
	char *event; /* the payload, read and checked as JSON at parse time ("{}" by default) */
	size_t event_len;
	unsigned repeat;
	bool json;
};

/*
 * Fills o with the defaults, then parses argv (argv[0] is the command's name). Returns 0,
 * 1 for --help (nothing printed), or -EINVAL after printing one line on stderr. Free o with
 * sl_invoke_opts_free() in every case.
 */
int sl_invoke_opts_parse(struct sl_invoke_opts *o, int argc, char **argv);

/* Frees what parsing allocated (the event). */
void sl_invoke_opts_free(struct sl_invoke_opts *o);

void sl_invoke_usage(FILE *f);
