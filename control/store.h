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
 * Asynchronous invocations (events) are a queue in the same store. An etcd backend keeps each
 * event under /sandlot/ev/<account>/<name>/<id> (id from a cluster-wide revision counter, so a
 * prefix range read is the function's queue in order), its due time and lease in the value;
 * ev_take is a transaction comparing the value's mod_revision (whoever wins holds the lease);
 * ev_finish / ev_fail / ev_retry are one transaction each (delete + put of the outcome or the
 * dead letter under /sandlot/dlq/<account>/<id>); ev_due is a range read of a small index
 * /sandlot/evdue/<account>/<name> kept beside the events; event invoke configs live under
 * /sandlot/eic/<account>/<name>. Leases carry the taker's id so a restarted taker releases
 * its own at once (ev_release) and others' expire.
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

/* One queued asynchronous invocation. */
struct sl_event {
	int64_t id; /* assigned by ev_put, > 0, increasing */
	char account[13];
	char name[SL_FN_NAME_MAX + 1];
	char request_id[37];  /* the same for every attempt */
	uint32_t attempts;    /* runs that ended with a function error or timeout */
	uint32_t retries;     /* platform retries (throttled, no host, agent died) */
	uint64_t enqueued_ns; /* wall clock of the 202 */
	uint64_t due_ns;      /* wall clock: not taken before */
	uint64_t finished_ns; /* wall clock its successful run ended (ev_commit's finishes) */
	char error[256];      /* the last failure, "" */
	void *payload;	      /* malloc'ed by ev_take; the caller frees */
	size_t len;
};

/* Event invoke config of one function (Put/GetFunctionEventInvokeConfig). */
struct sl_eic {
	int32_t max_retry;		     /* 0 .. 2 */
	int32_t max_age_s;		     /* 60 .. 21600 */
	char on_failure[SL_FN_ROLE_MAX + 1]; /* destination ARN, "" */
	uint64_t modified_ns;
};

/* A dead letter: an event that exhausted its retries or its age. */
struct sl_dead {
	int64_t id; /* the event's id */
	char account[13];
	char name[SL_FN_NAME_MAX + 1];
	char request_id[37];
	uint32_t attempts;
	uint64_t enqueued_ns, failed_ns;
	char error[256];
	const void *payload; /* valid during the callback */
	size_t len;
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

	/* Queues ev (id, payload, len, account, name, request_id, enqueued_ns, due_ns) durably
	 * (committed and synced when it returns); sets ev->id. */
	int (*ev_put)(struct sl_store *s, struct sl_event *ev);
	/* Queues n events in one transaction (one sync: group commit); sets their ids. */
	int (*ev_put_many)(struct sl_store *s, struct sl_event *evs, size_t n);
	/* One transaction (one sync) for a loop turn's changes: queues puts[0..nput) as
	 * ev_put_many does (setting their ids) and finishes done[0..ndone) as ev_finish does
	 * (each outcome stamped with its finished_ns); an event of done that is no longer queued
	 * is skipped, not an error. Nothing is written when it fails. */
	int (*ev_commit)(struct sl_store *s, struct sl_event *puts, size_t nput,
			 const struct sl_event *done, size_t ndone);
	/* Calls fn for up to limit functions with an event due at now_ns and not leased, by
	 * account then name. Returns the count. */
	int (*ev_due)(struct sl_store *s, uint64_t now_ns, unsigned limit,
		      int (*fn)(const char *account, const char *name, void *data), void *data);
	/* Takes the oldest due, unleased event of account/name: leases it to owner until
	 * lease_ns and fills *ret (payload malloc'ed). -ENOENT when none. */
	int (*ev_take)(struct sl_store *s, const char *account, const char *name, uint64_t now_ns,
		       uint64_t owner, uint64_t lease_ns, struct sl_event *ret);
	/* As ev_take, but only an event enqueued before enqueued_before_ns (past its maximum
	 * age), due or not: the sweep of a throttled function's expired events. */
	int (*ev_take_expired)(struct sl_store *s, const char *account, const char *name,
			       uint64_t now_ns, uint64_t enqueued_before_ns, uint64_t owner,
			       uint64_t lease_ns, struct sl_event *ret);
	/* Back to the queue, due at ev->due_ns, with ev's attempts, retries, error; lease gone. */
	int (*ev_retry)(struct sl_store *s, const struct sl_event *ev);
	/* Success: deletes the event and records its outcome (one transaction). */
	int (*ev_finish)(struct sl_store *s, const struct sl_event *ev, uint64_t now_ns);
	/* Failure: deletes the event and writes its dead letter (one transaction); when dest
	 * (account/name) is given, queues dest_ev (its destination record) in the same one. */
	int (*ev_fail)(struct sl_store *s, const struct sl_event *ev, uint64_t now_ns,
		       struct sl_event *dest_ev);
	/* Drops every lease held by owner (it restarted). Returns how many. */
	int (*ev_release)(struct sl_store *s, uint64_t owner);
	/* Events queued (all, or of account when not NULL). */
	int (*ev_count)(struct sl_store *s, const char *account, uint64_t *ret);
	/* Dead letters of account (NULL: of every account) with id > after, up to limit, by id.
	 * Returns the count. */
	int (*dlq_list)(struct sl_store *s, const char *account, int64_t after, unsigned limit,
			int (*fn)(const struct sl_dead *d, void *data), void *data);
	/* Moves dead letter id of account (NULL: whichever account has it) back to the queue
	 * (due now, attempts 0). -ENOENT. */
	int (*dlq_replay)(struct sl_store *s, const char *account, int64_t id, uint64_t now_ns);
	int (*eic_put)(struct sl_store *s, const char *account, const char *name,
		       const struct sl_eic *e);
	int (*eic_get)(struct sl_store *s, const char *account, const char *name,
		       struct sl_eic *ret);
	int (*eic_delete)(struct sl_store *s, const char *account, const char *name);
};

struct sl_store {
	const struct sl_store_ops *ops;
};

extern const struct sl_store_ops sl_store_sqlite_ops;

/* Opens the default backend (SQLite) in directory dir (created 0700 if missing). */
int sl_store_open(const char *dir, struct sl_store **ret);
/* NULL-safe; sets *s to NULL. */
void sl_store_close(struct sl_store **s);
