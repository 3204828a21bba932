/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The last bytes a sandbox wrote to stdout/stderr during one invocation: Lambda's
 * `LogType: Tail` returns the last 4 KB of an invocation's log. A fixed ring per sandbox, so an
 * idle warm sandbox costs exactly this much agent memory and a chatty function cannot grow it.
 */
#include <stddef.h>
#include <stdint.h>

#define SL_LOGTAIL_SIZE 4096

struct sl_logtail {
	char buf[SL_LOGTAIL_SIZE];
	uint64_t total; /* bytes written since the last reset (kept and dropped) */
};

/* Starts a new invocation's log. */
void sl_logtail_reset(struct sl_logtail *t);

/* Appends len bytes; only the last SL_LOGTAIL_SIZE bytes are kept. */
void sl_logtail_write(struct sl_logtail *t, const void *data, size_t len);

/*
 * Copies the kept bytes, oldest first, into out (at least SL_LOGTAIL_SIZE bytes). Returns the
 * number of bytes copied.
 */
size_t sl_logtail_read(const struct sl_logtail *t, char *out);
