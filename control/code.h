/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Code packages (zips) as the control node takes them in: checked with libarchive before they
 * are stored (a zip that is not one is refused at CreateFunction, as Lambda does), and for
 * python3.x runtimes repacked with the Python runtime bootstrap sandlot ships, so the agents run
 * every function as a `provided` one. No I/O beyond memory.
 */
#include <stddef.h>
#include <stdint.h>

#define SL_CODE_ENTRIES_MAX  10000
#define SL_CODE_UNZIPPED_MAX (250ull << 20) /* Lambda's limit, the agent's too */

/*
 * Reads every entry header of zip: 0 with the unzipped size in *ret_unzipped, -EINVAL (not a
 * zip, corrupt, an entry with '..' or an absolute path) or -EFBIG (past the bounds above), with
 * a one-line reason in why.
 */
int sl_code_check(const void *zip, size_t len, uint64_t *ret_unzipped, char *why, size_t whylen);

/*
 * Writes a new zip (malloc'ed) with zip's entries but a root "bootstrap", plus bootstrap
 * (mode 0755). 0 or -errno.
 */
int sl_code_with_bootstrap(const void *zip, size_t len, const void *bootstrap, size_t boot_len,
			   void **ret, size_t *ret_len);

/* The Python runtime bootstrap built into sandlot-control (control/runtimes/python/bootstrap). */
extern const unsigned char sl_python_bootstrap[];
extern const size_t sl_python_bootstrap_len;
