/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* The SQLite store backend's shared parts (store-sqlite.c: functions and code;
 * store-sqlite-body.c: the event queue, dead letters, event invoke configs). */
#include "store.h"

#include <sandlot/util.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>

/* Prepared statements are kept for the store's life, keyed by the address of their SQL text
 * (a literal): parsing a statement cost more CPU than running most of them. A statement in
 * use (stepped and not yet reset) is not handed out again: the same text gets another slot. */
#define STMT_CACHE_MAX 128

struct stmt_slot {
	const char *sql;
	sqlite3_stmt *st;
};

struct store_sqlite {
	struct sl_store base;
	sqlite3 *db;
	struct stmt_slot cache[STMT_CACHE_MAX];
};

#define DB(s) (((struct store_sqlite *)(s))->db)

static inline int err_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	default:
		return -EIO;
	}
}

/* Hands a statement from prepare() back: reset, its bindings cleared (they may point at the
 * caller's memory), kept for the next prepare() of the same text. */
static inline void releasep(sqlite3_stmt **st)
{
	if (!*st)
		return;
	sqlite3_reset(*st);
	sqlite3_clear_bindings(*st);
}
#define _cleanup_stmt_ _cleanup_(releasep)

/* The statement for sql (a string literal: its address is the key), unused until released
 * (_cleanup_stmt_). -ENOMEM when every slot is taken. */
static inline int prepare(struct sl_store *s, const char *sql, sqlite3_stmt **ret)
{
	struct store_sqlite *q = (struct store_sqlite *)s;
	struct stmt_slot *free_slot = NULL;
	int r;

	*ret = NULL;
	for (size_t i = 0; i < STMT_CACHE_MAX; i++) {
		struct stmt_slot *c = &q->cache[i];

		if (!c->sql) {
			free_slot = free_slot ? free_slot : c;
			continue;
		}
		if (c->sql == sql && !sqlite3_stmt_busy(c->st)) {
			*ret = c->st;
			return 0;
		}
	}
	if (!free_slot)
		return -ENOMEM;
	r = err_of(sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, ret, NULL));
	if (r < 0) {
		sqlite3_finalize(*ret);
		*ret = NULL;
		return r;
	}
	*free_slot = (struct stmt_slot){.sql = sql, .st = *ret};
	return 0;
}

/* Runs sql (no result rows) with a kept statement. */
static inline int exec_kept(struct sl_store *s, const char *sql)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s, sql, &st);

	if (r < 0)
		return r;
	r = sqlite3_step(st);
	return r == SQLITE_DONE || r == SQLITE_ROW ? 0 : (err_of(r) ? err_of(r) : -EIO);
}

static inline void text_col(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", t ? (const char *)t : "");
}

int sq_ev_put(struct sl_store *s, struct sl_event *ev);
int sq_ev_put_many(struct sl_store *s, struct sl_event *evs, size_t n);
int sq_ev_commit(struct sl_store *s, struct sl_event *puts, size_t nput,
		 const struct sl_event *done, size_t ndone);
int sq_ev_take_expired(struct sl_store *s, const char *account, const char *name, uint64_t now_ns,
		       uint64_t enqueued_before_ns, uint64_t owner, uint64_t lease_ns,
		       struct sl_event *ret);
int sq_ev_due(struct sl_store *s, uint64_t now_ns, unsigned limit,
	      int (*fn)(const char *account, const char *name, void *data), void *data);
int sq_ev_take(struct sl_store *s, const char *account, const char *name, uint64_t now_ns,
	       uint64_t owner, uint64_t lease_ns, struct sl_event *ret);
int sq_ev_retry(struct sl_store *s, const struct sl_event *ev);
int sq_ev_finish(struct sl_store *s, const struct sl_event *ev, uint64_t now_ns);
int sq_ev_fail(struct sl_store *s, const struct sl_event *ev, uint64_t now_ns,
	       struct sl_event *dest_ev);
int sq_ev_release(struct sl_store *s, uint64_t owner);
int sq_ev_count(struct sl_store *s, const char *account, uint64_t *ret);
int sq_dlq_list(struct sl_store *s, const char *account, int64_t after, unsigned limit,
		int (*fn)(const struct sl_dead *d, void *data), void *data);
int sq_dlq_replay(struct sl_store *s, const char *account, int64_t id, uint64_t now_ns);
int sq_eic_put(struct sl_store *s, const char *account, const char *name, const struct sl_eic *e);
int sq_eic_get(struct sl_store *s, const char *account, const char *name, struct sl_eic *ret);
int sq_eic_delete(struct sl_store *s, const char *account, const char *name);
/* Drops the event invoke config of a deleted function. */
void sq_eic_forget(struct sl_store *s, const char *account, const char *name);
