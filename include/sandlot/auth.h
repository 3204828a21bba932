/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Message authentication for the wire protocol: HMAC-SHA256 (OpenSSL libcrypto) under a
 * cluster key shared by the control node and every agent, over all bytes of a frame but its
 * MAC field (see <sandlot/proto.h>). Verification compares in constant time. Replay
 * protection is <sandlot/replay.h>; <sandlot/link.h> applies both to every message.
 *
 * A key keeps a prepared HMAC context, so one struct sl_key serves one thread at a time.
 */
#include <stddef.h>

#define SL_KEY_MIN 32	/* bytes: HMAC-SHA256 wants at least the hash size */
#define SL_KEY_MAX 4096 /* bytes: a key file is small */

struct sl_key;

/*
 * Reads the cluster key from path: all its bytes are the key (a trailing newline included,
 * so both sides must use the same file). Refuses (with a one-line reason in *why, which may
 * be NULL): a file that is not regular (-EINVAL), readable or writable by others (-EPERM:
 * "chmod 600"), shorter than SL_KEY_MIN (-EINVAL) or longer than SL_KEY_MAX (-EFBIG); open
 * and read errors are -errno. On success *ret owns the key.
 */
int sl_key_load(struct sl_key **ret, const char *path, const char **why);

/* A key from memory (len within [SL_KEY_MIN, SL_KEY_MAX], else -EINVAL). For tests and tools. */
int sl_key_new(struct sl_key **ret, const void *bytes, size_t len);

/* Wipes and frees the key; NULL-safe, sets *k to NULL. */
void sl_key_free(struct sl_key **k);

/*
 * Computes the MAC of frame[0, len - SL_PROTO_MAC_SIZE) and writes it into the frame's last
 * SL_PROTO_MAC_SIZE bytes. Returns 0, -EINVAL (len shorter than a frame) or -EIO (libcrypto).
 */
int sl_auth_seal(struct sl_key *k, void *frame, size_t len);

/*
 * Checks the MAC at the end of frame (len bytes) in constant time. Returns 0, -EKEYREJECTED
 * when it does not match, -EINVAL (len shorter than a frame) or -EIO (libcrypto).
 */
int sl_auth_verify(struct sl_key *k, const void *frame, size_t len);
