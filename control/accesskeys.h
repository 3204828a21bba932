/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The callers' credentials: --access-keys FILE, one "ACCOUNT_ID ACCESS_KEY_ID SECRET_ACCESS_KEY"
 * a line ('#' comments and blank lines allowed). The file must be a regular file that neither
 * group nor others may read or write (like ssh keys), at most SL_AKEYS_MAX lines of keys.
 * Pure after loading; the lookup has sl_sigv4_lookup_fn's shape.
 */
#include <stddef.h>

#define SL_AKEYS_MAX	   1024
#define SL_AKEY_ID_MAX	   128
#define SL_AKEY_SECRET_MAX 128

struct sl_akeys;

/*
 * Loads path. On failure returns -errno with a one-line reason in why (static or in whybuf):
 * -EPERM (mode), -EINVAL (a bad line: whybuf says which), -E2BIG (too many), open errors.
 */
int sl_akeys_load(struct sl_akeys **ret, const char *path, char *whybuf, size_t whylen);
/* Parses the file's text (tests). Same errors but -EPERM. */
int sl_akeys_parse(struct sl_akeys **ret, const char *text, char *whybuf, size_t whylen);
/* Wipes and frees; NULL-safe. */
void sl_akeys_free(struct sl_akeys **k);
/* sl_sigv4_lookup_fn: data is the struct sl_akeys. 0 or -ENOKEY (-ENOSPC: secret_size short). */
int sl_akeys_lookup(void *data, const char *access_key_id, char ret_account[13], char *ret_secret,
		    size_t secret_size);
/* Number of keys. */
size_t sl_akeys_count(const struct sl_akeys *k);
/* The account of key i (< count). */
const char *sl_akeys_account(const struct sl_akeys *k, size_t i);
