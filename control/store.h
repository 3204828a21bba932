/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The control node's durable state behind one interface: functions (their configuration, by
 * account and name), code packages by SHA-256, reserved concurrency (a field of the function),
 * and per-account settings. sl_store_open() picks a backend from the data location; the rest of
 * the control node sees only this header. Single-threaded: the control loop owns the store.
 *
 * Backends implement struct sl_store_ops (store-sqlite.c, SQLite in WAL mode, is the embedded
 * default). Another backend, e.g. etcd for several control nodes, implements the same ops:
 * functions as keys /sandlot/fn/<account>/<name> holding the JSON of struct sl_fn (put with a
 * create-only or must-exist transaction for fn_put's -EEXIST/-ENOENT), code under
 * /sandlot/code/<sha256-hex> split into chunks (etcd values are small), settings under
 * /sandlot/account/<id>; fn_list is a range read starting after the marker. Nothing else changes.
 *
 * Strings in structs are NUL-terminated and bounded by the array sizes; every op returns 0 (or a
 * count) or -errno: -ENOENT (no such record), -EEXIST, -EIO (the backend failed), -ENOSPC (disk
 * full).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_FN_NAME_MAX	  64
#define SL_FN_RUNTIME_MAX 31
#define SL_FN_HANDLER_MAX 128
#define SL_FN_ROLE_MAX	  2048
#define SL_FN_DESC_MAX	  256
#define SL_FN_ENV_MAX	  4096 /* the environment as JSON text */

/* One function ($LATEST), as stored. */
struct sl_fn {
	char account[13];
	char name[SL_FN_NAME_MAX + 1];
	char runtime[SL_FN_RUNTIME_MAX + 1];
	char handler[SL_FN_HANDLER_MAX + 1];
	char role[SL_FN_ROLE_MAX + 1];
	char description[SL_FN_DESC_MAX + 1];
	char env_json[SL_FN_ENV_MAX + 256]; /* {"K":"V",...}; "{}" when none */
	char revision_id[37];		    /* a UUID, new on every change */
	uint32_t memory_mb;		    /* 128 .. 10240 */
	uint32_t timeout_s;		    /* 1 .. 900 */
	int64_t reserved;		    /* reserved concurrency, -1: none */
	uint8_t code_sha[32];		    /* SHA-256 of the zip the user uploaded */
	uint64_t code_size;		    /* its size */
	uint8_t deploy_sha[32];		    /* the package agents run (code + runtime files) */
	uint64_t deploy_size;
	uint64_t modified_ns; /* wall clock of the last change */
};

struct sl_store;

struct sl_store_ops {
	/* Opens or creates the store at location. */
	int (*open)(const char *location, struct sl_store **ret);
	void (*close)(struct sl_store *s);
	/* Writes f. create: -EEXIST if it exists; else: -ENOENT if it does not. */
	int (*fn_put)(struct sl_store *s, const struct sl_fn *f, bool create);
	int (*fn_get)(struct sl_store *s, const char *account, const char *name, struct sl_fn *ret);
	/* Calls fn for up to limit functions of account with name > after ("" = from the start),
	 * by name (account NULL: of every account, by account then name); fn returning < 0 stops
	 * the walk with that value. Returns the count visited. */
	int (*fn_list)(struct sl_store *s, const char *account, const char *after, unsigned limit,
		       int (*fn)(const struct sl_fn *f, void *data), void *data);
	int (*fn_delete)(struct sl_store *s, const char *account, const char *name);
	/* Number of functions and total code size of account. */
	int (*fn_usage)(struct sl_store *s, const char *account, uint64_t *ret_count,
			uint64_t *ret_code_bytes);
	/* Stores a code package under its SHA-256 (no-op if present). */
	int (*code_put)(struct sl_store *s, const uint8_t sha[32], const void *data, size_t len);
	/* Reads up to len bytes at offset; *ret_total = package size. Returns bytes read. */
	int (*code_read)(struct sl_store *s, const uint8_t sha[32], uint64_t offset, void *buf,
			 size_t len, uint64_t *ret_total);
	/* Removes packages no function refers to. Returns the number removed. */
	int (*code_gc)(struct sl_store *s);
};

struct sl_store {
	const struct sl_store_ops *ops;
};

extern const struct sl_store_ops sl_store_sqlite_ops;

/* Opens the default backend (SQLite) in directory dir (created 0700 if missing). */
int sl_store_open(const char *dir, struct sl_store **ret);
/* NULL-safe; sets *s to NULL. */
void sl_store_close(struct sl_store **s);
