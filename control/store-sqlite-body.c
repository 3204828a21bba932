// SPDX-License-Identifier: Apache-2.0
/*
 * The SQLite store's queue of asynchronous invocations, their outcomes and dead letters, and
 * the event invoke configs (see store.h). Every change is one transaction, synced before it
 * returns (synchronous=FULL): an event acknowledged with 202 survives a crash. ev_commit
 * carries a loop turn's accepts and successful outcomes in one such transaction, so that
 * they share one sync.
 */
#include "store-sqlite-internal.h"

#include <string.h>

#define OUTCOMES_KEPT "100000" /* the outcome log is trimmed to the newest rows */

static int tx_begin(struct sl_store *s)
{
	return exec_kept(s, "BEGIN IMMEDIATE");
}

static int tx_end(struct sl_store *s, int r)
{
	if (r < 0) {
		exec_kept(s, "ROLLBACK");
		return r;
	}
	r = exec_kept(s, "COMMIT");
	if (r < 0)
		exec_kept(s, "ROLLBACK");
	return r;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE ? 0 : (err_of(rc) ? err_of(rc) : -EIO);
}

static int insert_event(struct sl_store *s, struct sl_event *ev)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s,
			"INSERT INTO events (account, name, request_id, attempts, retries,"
			" enqueued, due, lease_owner, lease_until, error, payload) VALUES"
			" (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0, ?8, ?9)",
			&st);

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, ev->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ev->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ev->request_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, ev->attempts);
	sqlite3_bind_int64(st, 5, ev->retries);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)ev->enqueued_ns);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)ev->due_ns);
	sqlite3_bind_text(st, 8, ev->error, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 9, ev->payload ? ev->payload : "", ev->len, SQLITE_STATIC);
	r = step_done(st);
	if (r == 0)
		ev->id = sqlite3_last_insert_rowid(DB(s));
	return r;
}

int sq_ev_put(struct sl_store *s, struct sl_event *ev)
{
	return insert_event(s, ev);
}

int sq_ev_put_many(struct sl_store *s, struct sl_event *evs, size_t n)
{
	int r = tx_begin(s);

	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = insert_event(s, &evs[i]);
	return tx_end(s, r);
}

/* The function after account/name in the queue (by account, name) into account and name: 1,
 * 0 when there is none. Two index seeks. */
static int next_fn(sqlite3_stmt *same, sqlite3_stmt *after, char *account, size_t alen, char *name,
		   size_t nlen)
{
	sqlite3_stmt *sts[2] = {same, after};

	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *st = sts[i];
		int rc;

		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
		if (st == same)
			sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			/* longer than the buffers: cannot be stored, and would loop */
			if ((size_t)sqlite3_column_bytes(st, 0) >= alen ||
			    (size_t)sqlite3_column_bytes(st, 1) >= nlen)
				return -EIO;
			text_col(st, 0, account, alen);
			text_col(st, 1, name, nlen);
			return 1;
		}
		if (rc != SQLITE_DONE)
			return err_of(rc) ? err_of(rc) : -EIO;
	}
	return 0;
}

/*
 * Walks from one function to the next along the (account, name, id) index and probes each for
 * a due, unleased event: index seeks per function, where a DISTINCT over the rows would read
 * the whole queue on every turn of the dispatcher.
 */
int sq_ev_due(struct sl_store *s, uint64_t now_ns, unsigned limit,
	      int (*fn)(const char *account, const char *name, void *data), void *data)
{
	_cleanup_stmt_ sqlite3_stmt *same = NULL, *after = NULL, *probe = NULL;
	char account[64] = "", name[256] = "";
	int r = prepare(s,
			"SELECT account, name FROM events WHERE account=?1 AND name>?2"
			" ORDER BY account, name LIMIT 1",
			&same),
	    n = 0;

	if (r == 0)
		r = prepare(s,
			    "SELECT account, name FROM events WHERE account>?1"
			    " ORDER BY account, name LIMIT 1",
			    &after);
	if (r == 0)
		r = prepare(s,
			    "SELECT 1 FROM events WHERE account=?1 AND name=?2 AND due<=?3 AND"
			    " lease_until<=?3 LIMIT 1",
			    &probe);
	if (r < 0)
		return r;
	while ((unsigned)n < limit &&
	       (r = next_fn(same, after, account, sizeof(account), name, sizeof(name))) > 0) {
		sqlite3_reset(probe);
		sqlite3_bind_text(probe, 1, account, -1, SQLITE_STATIC);
		sqlite3_bind_text(probe, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(probe, 3, (sqlite3_int64)now_ns);
		r = sqlite3_step(probe);
		if (r == SQLITE_DONE)
			continue;
		if (r != SQLITE_ROW)
			return err_of(r) ? err_of(r) : -EIO;
		n++;
		r = fn(account, name, data);
		if (r < 0)
			return r;
	}
	return r < 0 ? r : n;
}

static int read_event(sqlite3_stmt *st, struct sl_event *ev)
{
	const void *p;

	memset(ev, 0, sizeof(*ev));
	ev->id = sqlite3_column_int64(st, 0);
	text_col(st, 1, ev->account, sizeof(ev->account));
	text_col(st, 2, ev->name, sizeof(ev->name));
	text_col(st, 3, ev->request_id, sizeof(ev->request_id));
	ev->attempts = (uint32_t)sqlite3_column_int64(st, 4);
	ev->retries = (uint32_t)sqlite3_column_int64(st, 5);
	ev->enqueued_ns = (uint64_t)sqlite3_column_int64(st, 6);
	ev->due_ns = (uint64_t)sqlite3_column_int64(st, 7);
	text_col(st, 8, ev->error, sizeof(ev->error));
	p = sqlite3_column_blob(st, 9);
	ev->len = (size_t)sqlite3_column_bytes(st, 9);
	ev->payload = malloc(ev->len + 1);
	if (!ev->payload)
		return -ENOMEM;
	if (ev->len)
		memcpy(ev->payload, p, ev->len);
	return 0;
}

/* expired_before: 0 for the oldest due event; else the oldest unleased one if it was
 * enqueued before that, due or not (ids grow with the enqueue time: one index seek, where a
 * filter on enqueued would read the function's whole queue when none has expired). */
static int take_locked(struct sl_store *s, const char *account, const char *name, uint64_t now_ns,
		       uint64_t expired_before, uint64_t owner, uint64_t lease_ns,
		       struct sl_event *ret)
{
	_cleanup_stmt_ sqlite3_stmt *sel = NULL, *upd = NULL;
	int r = prepare(
		s,
		expired_before
			? "SELECT * FROM (SELECT id, account, name, request_id, attempts,"
			  " retries, enqueued, due, error, payload FROM events WHERE"
			  " account=?1 AND name=?2 AND lease_until<=?3 ORDER BY id LIMIT 1)"
			  " WHERE enqueued<?4"
			: "SELECT id, account, name, request_id, attempts, retries, enqueued,"
			  " due, error, payload FROM events WHERE account=?1 AND name=?2"
			  " AND due<=?3 AND lease_until<=?3 ORDER BY id LIMIT 1",
		&sel);

	if (r < 0)
		return r;
	sqlite3_bind_text(sel, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(sel, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(sel, 3, (sqlite3_int64)now_ns);
	if (expired_before)
		sqlite3_bind_int64(sel, 4, (sqlite3_int64)expired_before);
	r = sqlite3_step(sel);
	if (r == SQLITE_DONE)
		return -ENOENT;
	if (r != SQLITE_ROW)
		return err_of(r) ? err_of(r) : -EIO;
	r = read_event(sel, ret);
	if (r == 0)
		r = prepare(s, "UPDATE events SET lease_owner=?2, lease_until=?3 WHERE id=?1",
			    &upd);
	if (r < 0)
		return r;
	sqlite3_bind_int64(upd, 1, ret->id);
	sqlite3_bind_int64(upd, 2, (sqlite3_int64)owner);
	sqlite3_bind_int64(upd, 3, (sqlite3_int64)lease_ns);
	return step_done(upd);
}

/*
 * A lease need not be synced: lost in a crash, it only lets the event be taken again, which a
 * restarted node does anyway (ev_release). So the take commits without its own fsync (WAL,
 * synchronous=NORMAL for this one transaction); the next synced commit carries it to disk, as
 * the WAL is written in order.
 */
static int take(struct sl_store *s, const char *account, const char *name, uint64_t now_ns,
		uint64_t expired_before, uint64_t owner, uint64_t lease_ns, struct sl_event *ret)
{
	int r = exec_kept(s, "PRAGMA synchronous=NORMAL");

	if (r == 0)
		r = tx_begin(s);
	if (r < 0) {
		exec_kept(s, "PRAGMA synchronous=FULL");
		return r;
	}
	ret->payload = NULL;
	r = tx_end(s, take_locked(s, account, name, now_ns, expired_before, owner, lease_ns, ret));
	if (exec_kept(s, "PRAGMA synchronous=FULL") < 0 && r == 0)
		r = -EIO; /* never leave the connection unsynced */
	if (r < 0) {
		free(ret->payload);
		ret->payload = NULL;
	}
	return r;
}

int sq_ev_take(struct sl_store *s, const char *account, const char *name, uint64_t now_ns,
	       uint64_t owner, uint64_t lease_ns, struct sl_event *ret)
{
	return take(s, account, name, now_ns, 0, owner, lease_ns, ret);
}

int sq_ev_take_expired(struct sl_store *s, const char *account, const char *name, uint64_t now_ns,
		       uint64_t enqueued_before_ns, uint64_t owner, uint64_t lease_ns,
		       struct sl_event *ret)
{
	if (!enqueued_before_ns)
		return -ENOENT;
	return take(s, account, name, now_ns, enqueued_before_ns, owner, lease_ns, ret);
}

int sq_ev_retry(struct sl_store *s, const struct sl_event *ev)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s,
			"UPDATE events SET attempts=?2, retries=?3, due=?4, error=?5,"
			" lease_owner=0, lease_until=0 WHERE id=?1",
			&st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, ev->id);
	sqlite3_bind_int64(st, 2, ev->attempts);
	sqlite3_bind_int64(st, 3, ev->retries);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)ev->due_ns);
	sqlite3_bind_text(st, 5, ev->error, -1, SQLITE_STATIC);
	r = step_done(st);
	if (r == 0 && sqlite3_changes(DB(s)) == 0)
		return -ENOENT;
	return r;
}

static int delete_event(struct sl_store *s, int64_t id)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s, "DELETE FROM events WHERE id=?1", &st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	r = step_done(st);
	if (r == 0 && sqlite3_changes(DB(s)) == 0)
		return -ENOENT;
	return r;
}

static int record_outcome(struct sl_store *s, const struct sl_event *ev, uint64_t now_ns)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s,
			"INSERT INTO outcomes (event_id, account, name, request_id, attempts,"
			" finished) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			&st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, ev->id);
	sqlite3_bind_text(st, 2, ev->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ev->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ev->request_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, ev->attempts);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)now_ns);
	r = step_done(st);
	if (r == 0 && sqlite3_last_insert_rowid(DB(s)) % 1024 == 0)
		r = err_of(sqlite3_exec(DB(s),
					"DELETE FROM outcomes WHERE seq <= (SELECT max(seq) FROM"
					" outcomes) - " OUTCOMES_KEPT,
					NULL, NULL, NULL));
	return r;
}

int sq_ev_finish(struct sl_store *s, const struct sl_event *ev, uint64_t now_ns)
{
	int r = tx_begin(s);

	if (r < 0)
		return r;
	r = delete_event(s, ev->id);
	if (r == 0)
		r = record_outcome(s, ev, now_ns);
	return tx_end(s, r);
}

int sq_ev_commit(struct sl_store *s, struct sl_event *puts, size_t nput,
		 const struct sl_event *done, size_t ndone)
{
	int r = tx_begin(s);

	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < nput; i++)
		r = insert_event(s, &puts[i]);
	for (size_t i = 0; r == 0 && i < ndone; i++) {
		r = delete_event(s, done[i].id);
		if (r == 0)
			r = record_outcome(s, &done[i], done[i].finished_ns);
		else if (r == -ENOENT)
			r = 0; /* finished before: its outcome is recorded */
	}
	return tx_end(s, r);
}

static int insert_dead(struct sl_store *s, const struct sl_event *ev, uint64_t now_ns)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s,
			"INSERT OR REPLACE INTO dlq (id, account, name, request_id, attempts,"
			" enqueued, failed, error, payload) SELECT id, account, name, request_id,"
			" ?2, enqueued, ?3, ?4, payload FROM events WHERE id=?1",
			&st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, ev->id);
	sqlite3_bind_int64(st, 2, ev->attempts);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ns);
	sqlite3_bind_text(st, 4, ev->error, -1, SQLITE_STATIC);
	r = step_done(st);
	if (r == 0 && sqlite3_changes(DB(s)) == 0)
		return -ENOENT;
	return r;
}

int sq_ev_fail(struct sl_store *s, const struct sl_event *ev, uint64_t now_ns,
	       struct sl_event *dest_ev)
{
	int r = tx_begin(s);

	if (r < 0)
		return r;
	r = insert_dead(s, ev, now_ns);
	if (r == 0)
		r = delete_event(s, ev->id);
	if (r == 0 && dest_ev)
		r = insert_event(s, dest_ev);
	return tx_end(s, r);
}

int sq_ev_release(struct sl_store *s, uint64_t owner)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s, "UPDATE events SET lease_owner=0, lease_until=0 WHERE lease_owner=?1",
			&st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)owner);
	r = step_done(st);
	return r < 0 ? r : sqlite3_changes(DB(s));
}

int sq_ev_count(struct sl_store *s, const char *account, uint64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s, "SELECT count(*) FROM events WHERE ?1 IS NULL OR account=?1", &st);

	if (r < 0)
		return r;
	if (account)
		sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	*ret = (uint64_t)sqlite3_column_int64(st, 0);
	return 0;
}

int sq_dlq_list(struct sl_store *s, const char *account, int64_t after, unsigned limit,
		int (*fn)(const struct sl_dead *d, void *data), void *data)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct sl_dead d;
	int r = prepare(s,
			"SELECT id, account, name, request_id, attempts, enqueued, failed, error,"
			" payload FROM dlq WHERE (?1 IS NULL OR account=?1) AND id>?2 ORDER BY id"
			" LIMIT ?3",
			&st),
	    n = 0;

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int64(st, 3, limit);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&d, 0, sizeof(d));
		d.id = sqlite3_column_int64(st, 0);
		text_col(st, 1, d.account, sizeof(d.account));
		text_col(st, 2, d.name, sizeof(d.name));
		text_col(st, 3, d.request_id, sizeof(d.request_id));
		d.attempts = (uint32_t)sqlite3_column_int64(st, 4);
		d.enqueued_ns = (uint64_t)sqlite3_column_int64(st, 5);
		d.failed_ns = (uint64_t)sqlite3_column_int64(st, 6);
		text_col(st, 7, d.error, sizeof(d.error));
		d.payload = sqlite3_column_blob(st, 8);
		d.len = (size_t)sqlite3_column_bytes(st, 8);
		n++;
		r = fn(&d, data);
		if (r < 0)
			return r;
	}
	return r == SQLITE_DONE ? n : (err_of(r) ? err_of(r) : -EIO);
}

static int replay_locked(struct sl_store *s, const char *account, int64_t id, uint64_t now_ns)
{
	_cleanup_stmt_ sqlite3_stmt *ins = NULL, *del = NULL;
	int r = prepare(s,
			"INSERT INTO events (account, name, request_id, attempts, retries,"
			" enqueued, due, lease_owner, lease_until, error, payload) SELECT account,"
			" name, request_id, 0, 0, ?3, ?3, 0, 0, '', payload FROM dlq"
			" WHERE id=?1 AND (?2 IS NULL OR account=?2)",
			&ins);

	if (r < 0)
		return r;
	sqlite3_bind_int64(ins, 1, id);
	sqlite3_bind_text(ins, 2, account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 3, (sqlite3_int64)now_ns);
	r = step_done(ins);
	if (r == 0 && sqlite3_changes(DB(s)) == 0)
		return -ENOENT;
	if (r == 0)
		r = prepare(s, "DELETE FROM dlq WHERE id=?1", &del);
	if (r < 0)
		return r;
	sqlite3_bind_int64(del, 1, id);
	return step_done(del);
}

int sq_dlq_replay(struct sl_store *s, const char *account, int64_t id, uint64_t now_ns)
{
	int r = tx_begin(s);

	if (r < 0)
		return r;
	return tx_end(s, replay_locked(s, account, id, now_ns));
}

int sq_eic_put(struct sl_store *s, const char *account, const char *name, const struct sl_eic *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s,
			"INSERT OR REPLACE INTO event_config (account, name, max_retry, max_age,"
			" on_failure, modified) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			&st);

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, e->max_retry);
	sqlite3_bind_int64(st, 4, e->max_age_s);
	sqlite3_bind_text(st, 5, e->on_failure, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)e->modified_ns);
	return step_done(st);
}

int sq_eic_get(struct sl_store *s, const char *account, const char *name, struct sl_eic *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s,
			"SELECT max_retry, max_age, on_failure, modified FROM event_config"
			" WHERE account=?1 AND name=?2",
			&st);

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_DONE)
		return -ENOENT;
	if (r != SQLITE_ROW)
		return err_of(r) ? err_of(r) : -EIO;
	ret->max_retry = (int32_t)sqlite3_column_int64(st, 0);
	ret->max_age_s = (int32_t)sqlite3_column_int64(st, 1);
	text_col(st, 2, ret->on_failure, sizeof(ret->on_failure));
	ret->modified_ns = (uint64_t)sqlite3_column_int64(st, 3);
	return 0;
}

int sq_eic_delete(struct sl_store *s, const char *account, const char *name)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s, "DELETE FROM event_config WHERE account=?1 AND name=?2", &st);

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	r = step_done(st);
	if (r == 0 && sqlite3_changes(DB(s)) == 0)
		return -ENOENT;
	return r;
}

void sq_eic_forget(struct sl_store *s, const char *account, const char *name)
{
	sq_eic_delete(s, account, name);
}
