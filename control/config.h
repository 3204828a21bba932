/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * sandlot-control's configuration: its command-line options, parsed and validated in one place
 * (pure; unit-tested). Defaults follow DESIGN.md §4.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SL_CTL_PATH_MAX 256
#define SL_CTL_ADDR_MAX 127

struct sl_ctl_config {
	char http[SL_CTL_ADDR_MAX + 1];	   /* "IP:PORT" of the Lambda API */
	char listen[SL_CTL_ADDR_MAX + 1];  /* nanomsg endpoint agents connect to */
	char data[SL_CTL_PATH_MAX];	   /* state directory (the SQLite store) */
	char key_file[SL_CTL_PATH_MAX];	   /* cluster key shared with the agents */
	char access_keys[SL_CTL_PATH_MAX]; /* "ACCOUNT KEY_ID SECRET" lines */
	char region[64];		   /* the region in ARNs */
	uint64_t heartbeat_timeout_ns;	   /* a host silent this long is dead */
	uint64_t lease_ns;		   /* a host is drained after this */
	uint64_t shutdown_grace_ns;	   /* SIGTERM: in-flight invocations get this long */
	uint32_t account_concurrency;	   /* default per-account limit */
	double retry_delay_scale;	   /* async retry delays x this (1: Lambda's) */
};

/* Fills in the defaults. */
void sl_ctl_config_defaults(struct sl_ctl_config *c);

/*
 * Parses argv (argv[0] is the program) into c, which holds the defaults. On bad input writes a
 * one-line error naming the option into err (errlen bytes) and returns -EINVAL. Returns 1 when
 * --help was given, 0 otherwise. --log-level is applied here (it is process-wide).
 */
int sl_ctl_config_parse(struct sl_ctl_config *c, int argc, char **argv, char *err, size_t errlen);

void sl_ctl_config_usage(FILE *f);
