// SPDX-License-Identifier: Apache-2.0
/*
 * The embedded store backend: one SQLite database (WAL journal, synchronous=FULL so that a
 * change acknowledged to a client survives a power cut) in the data directory. See store.h.
 */
#include "store-sqlite-internal.h"

#include <sandlot/util.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS functions ("
	" account TEXT NOT NULL, name TEXT NOT NULL, runtime TEXT NOT NULL,"
	" handler TEXT NOT NULL, role TEXT NOT NULL, description TEXT NOT NULL,"
	" env TEXT NOT NULL, revision TEXT NOT NULL, memory INTEGER NOT NULL,"
	" timeout INTEGER NOT NULL, reserved INTEGER NOT NULL, code_sha BLOB NOT NULL,"
	" code_size INTEGER NOT NULL, deploy_sha BLOB NOT NULL, deploy_size INTEGER NOT NULL,"
	" modified INTEGER NOT NULL, PRIMARY KEY (account, name)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS code ("
	" id INTEGER PRIMARY KEY, sha BLOB NOT NULL UNIQUE, size INTEGER NOT NULL,"
	" data BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS events ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, name TEXT NOT NULL,"
	" request_id TEXT NOT NULL, attempts INTEGER NOT NULL, retries INTEGER NOT NULL,"
	" enqueued INTEGER NOT NULL, due INTEGER NOT NULL, lease_owner INTEGER NOT NULL,"
	" lease_until INTEGER NOT NULL, error TEXT NOT NULL, payload BLOB NOT NULL);"
	"CREATE INDEX IF NOT EXISTS events_fn ON events (account, name, id);"
	"CREATE TABLE IF NOT EXISTS outcomes ("
	" seq INTEGER PRIMARY KEY, event_id INTEGER NOT NULL, account TEXT NOT NULL,"
	" name TEXT NOT NULL, request_id TEXT NOT NULL, attempts INTEGER NOT NULL,"
	" finished INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS dlq ("
	" id INTEGER PRIMARY KEY, account TEXT NOT NULL, name TEXT NOT NULL,"
	" request_id TEXT NOT NULL, attempts INTEGER NOT NULL, enqueued INTEGER NOT NULL,"
	" failed INTEGER NOT NULL, error TEXT NOT NULL, payload BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS event_config ("
	" account TEXT NOT NULL, name TEXT NOT NULL, max_retry INTEGER NOT NULL,"
	" max_age INTEGER NOT NULL, on_failure TEXT NOT NULL, modified INTEGER NOT NULL,"
	" PRIMARY KEY (account, name)) WITHOUT ROWID;";

static int sq_open(const char *location, struct sl_store **ret)
{
	struct store_sqlite *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->base.ops = &sl_store_sqlite_ops;
	rc = sqlite3_open_v2(location, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(s->db, 5000);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int r = err_of(rc);

		sqlite3_close(s->db);
		free(s);
		return r ? r : -EIO;
	}
	*ret = &s->base;
	return 0;
}

static void sq_close(struct sl_store *s)
{
	struct store_sqlite *q = (struct store_sqlite *)s;

	for (size_t i = 0; i < STMT_CACHE_MAX; i++)
		sqlite3_finalize(q->cache[i].st);
	sqlite3_close(DB(s));
	free(s);
}

static void bind_fn(sqlite3_stmt *st, const struct sl_fn *f)
{
	sqlite3_bind_text(st, 1, f->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, f->runtime, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, f->handler, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, f->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, f->description, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, f->env_json, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, f->revision_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, f->memory_mb);
	sqlite3_bind_int64(st, 10, f->timeout_s);
	sqlite3_bind_int64(st, 11, f->reserved);
	sqlite3_bind_blob(st, 12, f->code_sha, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)f->code_size);
	sqlite3_bind_blob(st, 14, f->deploy_sha, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 15, (sqlite3_int64)f->deploy_size);
	sqlite3_bind_int64(st, 16, (sqlite3_int64)f->modified_ns);
}

#define FN_COLS                                                                      \
	"account, name, runtime, handler, role, description, env, revision, memory," \
	" timeout, reserved, code_sha, code_size, deploy_sha, deploy_size, modified"

static void blob_col(sqlite3_stmt *st, int col, uint8_t dst[32])
{
	const void *b = sqlite3_column_blob(st, col);

	memset(dst, 0, 32);
	if (b && sqlite3_column_bytes(st, col) == 32)
		memcpy(dst, b, 32);
}

static void read_fn(sqlite3_stmt *st, struct sl_fn *f)
{
	memset(f, 0, sizeof(*f));
	text_col(st, 0, f->account, sizeof(f->account));
	text_col(st, 1, f->name, sizeof(f->name));
	text_col(st, 2, f->runtime, sizeof(f->runtime));
	text_col(st, 3, f->handler, sizeof(f->handler));
	text_col(st, 4, f->role, sizeof(f->role));
	text_col(st, 5, f->description, sizeof(f->description));
	text_col(st, 6, f->env_json, sizeof(f->env_json));
	text_col(st, 7, f->revision_id, sizeof(f->revision_id));
	f->memory_mb = (uint32_t)sqlite3_column_int64(st, 8);
	f->timeout_s = (uint32_t)sqlite3_column_int64(st, 9);
	f->reserved = sqlite3_column_int64(st, 10);
	blob_col(st, 11, f->code_sha);
	f->code_size = (uint64_t)sqlite3_column_int64(st, 12);
	blob_col(st, 13, f->deploy_sha);
	f->deploy_size = (uint64_t)sqlite3_column_int64(st, 14);
	f->modified_ns = (uint64_t)sqlite3_column_int64(st, 15);
}

static int sq_fn_put(struct sl_store *s, const struct sl_fn *f, bool create)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s,
			create ? "INSERT INTO functions (" FN_COLS ") VALUES"
				 " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)"
			       : "UPDATE functions SET runtime=?3, handler=?4, role=?5,"
				 " description=?6, env=?7, revision=?8, memory=?9, timeout=?10,"
				 " reserved=?11, code_sha=?12, code_size=?13, deploy_sha=?14,"
				 " deploy_size=?15, modified=?16 WHERE account=?1 AND name=?2",
			&st);

	if (r < 0)
		return r;
	bind_fn(st, f);
	r = err_of(sqlite3_step(st));
	if (r == 0 && !create && sqlite3_changes(DB(s)) == 0)
		return -ENOENT;
	return r;
}

static int sq_fn_get(struct sl_store *s, const char *account, const char *name, struct sl_fn *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s, "SELECT " FN_COLS " FROM functions WHERE account=?1 AND name=?2", &st);

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_DONE)
		return -ENOENT;
	if (r != SQLITE_ROW)
		return err_of(r) ? err_of(r) : -EIO;
	read_fn(st, ret);
	return 0;
}

static int sq_fn_list(struct sl_store *s, const char *account, const char *after, unsigned limit,
		      int (*fn)(const struct sl_fn *f, void *data), void *data)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ struct sl_fn *f = malloc(sizeof(*f));
	int r, n = 0;

	if (!f)
		return -ENOMEM;
	r = prepare(s,
		    "SELECT " FN_COLS " FROM functions WHERE (?1 IS NULL OR account=?1)"
		    " AND name>?2 ORDER BY account, name LIMIT ?3",
		    &st);
	if (r < 0)
		return r;
	if (account)
		sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, after ? after : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		read_fn(st, f);
		n++;
		r = fn(f, data);
		if (r < 0)
			return r;
	}
	return r == SQLITE_DONE ? n : (err_of(r) ? err_of(r) : -EIO);
}

static int sq_fn_delete(struct sl_store *s, const char *account, const char *name)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s, "DELETE FROM functions WHERE account=?1 AND name=?2", &st);

	if (r < 0)
		return r;
	sq_eic_forget(s, account, name);
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	r = err_of(sqlite3_step(st));
	if (r == 0 && sqlite3_changes(DB(s)) == 0)
		return -ENOENT;
	return r;
}

static int sq_fn_usage(struct sl_store *s, const char *account, uint64_t *ret_count,
		       uint64_t *ret_code_bytes)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s,
			"SELECT count(*), coalesce(sum(code_size), 0) FROM functions"
			" WHERE account=?1",
			&st);

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	*ret_count = (uint64_t)sqlite3_column_int64(st, 0);
	*ret_code_bytes = (uint64_t)sqlite3_column_int64(st, 1);
	return 0;
}

static int sq_code_put(struct sl_store *s, const uint8_t sha[32], const void *data, size_t len)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = prepare(s, "INSERT OR IGNORE INTO code (sha, size, data) VALUES (?1, ?2, ?3)", &st);

	if (r < 0)
		return r;
	sqlite3_bind_blob(st, 1, sha, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)len);
	sqlite3_bind_blob64(st, 3, data, len, SQLITE_STATIC);
	return err_of(sqlite3_step(st));
}

static int sq_code_read(struct sl_store *s, const uint8_t sha[32], uint64_t offset, void *buf,
			size_t len, uint64_t *ret_total)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	sqlite3_blob *b = NULL;
	sqlite3_int64 id, size;
	int r = prepare(s, "SELECT id, size FROM code WHERE sha=?1", &st);

	if (r < 0)
		return r;
	sqlite3_bind_blob(st, 1, sha, 32, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -ENOENT;
	id = sqlite3_column_int64(st, 0);
	size = sqlite3_column_int64(st, 1);
	if (offset >= (uint64_t)size)
		return -ERANGE;
	len = MIN(len, (size_t)((uint64_t)size - offset));
	if (sqlite3_blob_open(DB(s), "main", "code", "data", id, 0, &b) != SQLITE_OK)
		return -EIO;
	r = sqlite3_blob_read(b, buf, (int)len, (int)offset);
	sqlite3_blob_close(b);
	if (r != SQLITE_OK)
		return -EIO;
	*ret_total = (uint64_t)size;
	return (int)len;
}

static int sq_code_gc(struct sl_store *s)
{
	int r = err_of(sqlite3_exec(DB(s),
				    "DELETE FROM code WHERE sha NOT IN (SELECT code_sha FROM"
				    " functions) AND sha NOT IN (SELECT deploy_sha FROM functions)",
				    NULL, NULL, NULL));

	return r < 0 ? r : sqlite3_changes(DB(s));
}

const struct sl_store_ops sl_store_sqlite_ops = {
	.open = sq_open,
	.close = sq_close,
	.fn_put = sq_fn_put,
	.fn_get = sq_fn_get,
	.fn_list = sq_fn_list,
	.fn_delete = sq_fn_delete,
	.fn_usage = sq_fn_usage,
	.code_put = sq_code_put,
	.code_read = sq_code_read,
	.code_gc = sq_code_gc,
	.ev_put = sq_ev_put,
	.ev_put_many = sq_ev_put_many,
	.ev_commit = sq_ev_commit,
	.ev_due = sq_ev_due,
	.ev_take = sq_ev_take,
	.ev_take_expired = sq_ev_take_expired,
	.ev_retry = sq_ev_retry,
	.ev_finish = sq_ev_finish,
	.ev_fail = sq_ev_fail,
	.ev_release = sq_ev_release,
	.ev_count = sq_ev_count,
	.dlq_list = sq_dlq_list,
	.dlq_replay = sq_dlq_replay,
	.eic_put = sq_eic_put,
	.eic_get = sq_eic_get,
	.eic_delete = sq_eic_delete,
};

int sl_store_open(const char *dir, struct sl_store **ret)
{
	char path[512];

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return sl_negerrno();
	if (snprintf(path, sizeof(path), "%s/control.db", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return sl_store_sqlite_ops.open(path, ret);
}

void sl_store_close(struct sl_store **s)
{
	if (!*s)
		return;
	(*s)->ops->close(*s);
	*s = NULL;
}
