// SPDX-License-Identifier: Apache-2.0
/* control/store-sqlite: the event queue, leases, outcomes, dead letters, event invoke configs
 * (a real SQLite store in a temporary directory). */
#include "testutil.h"

#include <sandlot/util.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define S 1000000000ull

struct fx {
	char dir[64];
	struct sl_store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/sl-queue-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(sl_store_open(f->dir, &f->s), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	sl_store_close(&f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int64_t put(struct sl_store *s, const char *name, const char *payload, uint64_t now)
{
	struct sl_event ev = {.payload = (void *)payload, .len = strlen(payload)};

	snprintf(ev.account, sizeof(ev.account), "111122223333");
	snprintf(ev.name, sizeof(ev.name), "%s", name);
	snprintf(ev.request_id, sizeof(ev.request_id), "rid-%s-%s", name, payload);
	ev.enqueued_ns = ev.due_ns = now;
	assert_int_equal(s->ops->ev_put(s, &ev), 0);
	assert_true(ev.id > 0);
	return ev.id;
}

static int take(struct sl_store *s, const char *name, uint64_t now, uint64_t owner,
		struct sl_event *ev)
{
	return s->ops->ev_take(s, "111122223333", name, now, owner, now + 10 * S, ev);
}

static uint64_t count(struct sl_store *s)
{
	uint64_t n = 0;

	assert_int_equal(s->ops->ev_count(s, NULL, &n), 0);
	return n;
}

static int add_name(const char *account, const char *name, void *data)
{
	strcat(data, name);
	strcat(data, ",");
	return 0;
}

static void takes_in_order_and_leases(void **state)
{
	struct sl_store *s = ((struct fx *)*state)->s;
	struct sl_event ev;
	char due[128] = "";

	put(s, "b", "1", 100 * S);
	put(s, "a", "2", 100 * S);
	put(s, "b", "3", 100 * S);
	assert_int_equal(s->ops->ev_due(s, 100 * S, 10, add_name, due), 2);
	assert_string_equal(due, "a,b,");
	assert_int_equal(take(s, "b", 100 * S, 7, &ev), 0);
	assert_memory_equal(ev.payload, "1", 1);
	assert_string_equal(ev.request_id, "rid-b-1");
	free(ev.payload);
	assert_int_equal(take(s, "b", 100 * S, 7, &ev), 0);
	assert_memory_equal(ev.payload, "3", 1);
	free(ev.payload);
	assert_int_equal(take(s, "b", 100 * S, 7, &ev), -ENOENT); /* both leased */
	due[0] = '\0';
	assert_int_equal(s->ops->ev_due(s, 100 * S, 10, add_name, due), 1);
	assert_string_equal(due, "a,");
	/* the lease runs out: taken again, same request id */
	assert_int_equal(take(s, "b", 111 * S, 8, &ev), 0);
	assert_string_equal(ev.request_id, "rid-b-1");
	free(ev.payload);
	assert_int_equal(count(s), 3);
}

static int add_key(const char *account, const char *name, void *data)
{
	strcat(data, account);
	strcat(data, "/");
	strcat(data, name);
	strcat(data, ",");
	return 0;
}

static void due_lists_each_function_once_across_accounts(void **state)
{
	struct sl_store *s = ((struct fx *)*state)->s;
	struct sl_event ev = {.payload = "x", .len = 1};
	char due[256] = "";

	for (int i = 0; i < 3; i++) {
		put(s, "b", "1", 100 * S);
		put(s, "a", "1", 100 * S);
	}
	put(s, "c", "1", 100 * S); /* only a retry far ahead: not due */
	assert_int_equal(take(s, "c", 100 * S, 7, &ev), 0);
	free(ev.payload);
	ev.due_ns = 900 * S;
	assert_int_equal(s->ops->ev_retry(s, &ev), 0);
	memset(&ev, 0, sizeof(ev));
	ev.payload = "x";
	ev.len = 1;
	snprintf(ev.account, sizeof(ev.account), "000000000001");
	snprintf(ev.name, sizeof(ev.name), "z");
	snprintf(ev.request_id, sizeof(ev.request_id), "other");
	ev.enqueued_ns = ev.due_ns = 100 * S;
	assert_int_equal(s->ops->ev_put(s, &ev), 0);
	assert_int_equal(s->ops->ev_due(s, 100 * S, 10, add_key, due), 3);
	assert_string_equal(due, "000000000001/z,111122223333/a,111122223333/b,");
	due[0] = '\0';
	assert_int_equal(s->ops->ev_due(s, 100 * S, 2, add_key, due), 2);
	assert_string_equal(due, "000000000001/z,111122223333/a,");
	due[0] = '\0';
	assert_int_equal(s->ops->ev_due(s, 900 * S, 10, add_key, due), 4);
	assert_string_equal(due, "000000000001/z,111122223333/a,111122223333/b,111122223333/c,");
}

static void release_frees_only_the_owners_leases(void **state)
{
	struct sl_store *s = ((struct fx *)*state)->s;
	struct sl_event ev;

	put(s, "f", "1", 100 * S);
	put(s, "f", "2", 100 * S);
	assert_int_equal(take(s, "f", 100 * S, 7, &ev), 0);
	free(ev.payload);
	assert_int_equal(take(s, "f", 100 * S, 9, &ev), 0);
	free(ev.payload);
	assert_int_equal(s->ops->ev_release(s, 7), 1);
	assert_int_equal(take(s, "f", 100 * S, 7, &ev), 0);
	assert_memory_equal(ev.payload, "1", 1);
	free(ev.payload);
	assert_int_equal(take(s, "f", 100 * S, 7, &ev), -ENOENT);
}

static void retry_waits_until_due_and_finish_deletes(void **state)
{
	struct sl_store *s = ((struct fx *)*state)->s;
	struct sl_event ev;

	put(s, "f", "1", 100 * S);
	assert_int_equal(take(s, "f", 100 * S, 7, &ev), 0);
	ev.attempts = 1;
	ev.due_ns = 160 * S;
	snprintf(ev.error, sizeof(ev.error), "Unhandled");
	assert_int_equal(s->ops->ev_retry(s, &ev), 0);
	free(ev.payload);
	assert_int_equal(take(s, "f", 159 * S, 7, &ev), -ENOENT);
	assert_int_equal(take(s, "f", 160 * S, 7, &ev), 0);
	assert_int_equal(ev.attempts, 1);
	assert_string_equal(ev.error, "Unhandled");
	assert_int_equal(s->ops->ev_finish(s, &ev, 161 * S), 0);
	assert_int_equal(count(s), 0);
	assert_int_equal(s->ops->ev_finish(s, &ev, 161 * S), -ENOENT); /* once */
	free(ev.payload);
}

struct dl {
	int n;
	struct sl_dead d;
	char payload[16];
};

static int add_dead(const struct sl_dead *d, void *data)
{
	struct dl *l = data;

	l->n++;
	l->d = *d;
	snprintf(l->payload, sizeof(l->payload), "%.*s", (int)d->len, (const char *)d->payload);
	return 0;
}

static void fail_moves_to_the_dlq_and_replay_brings_it_back(void **state)
{
	struct sl_store *s = ((struct fx *)*state)->s;
	struct sl_event ev, dst = {.payload = "{\"rec\":1}", .len = 9};
	struct dl l = {0};

	snprintf(dst.account, sizeof(dst.account), "111122223333");
	snprintf(dst.name, sizeof(dst.name), "ondlq");
	snprintf(dst.request_id, sizeof(dst.request_id), "dest");
	put(s, "f", "{\"x\":1}", 100 * S);
	assert_int_equal(take(s, "f", 100 * S, 7, &ev), 0);
	ev.attempts = 3;
	snprintf(ev.error, sizeof(ev.error), "boom");
	assert_int_equal(s->ops->ev_fail(s, &ev, 200 * S, &dst), 0);
	free(ev.payload);
	assert_int_equal(count(s), 1); /* the destination's event */
	assert_int_equal(s->ops->dlq_list(s, "111122223333", 0, 10, add_dead, &l), 1);
	assert_int_equal(l.d.attempts, 3);
	assert_string_equal(l.d.error, "boom");
	assert_string_equal(l.d.request_id, "rid-f-{\"x\":1}");
	assert_string_equal(l.payload, "{\"x\":1}");
	assert_int_equal(l.d.failed_ns, 200 * S);
	assert_int_equal(s->ops->dlq_list(s, "444455556666", 0, 10, add_dead, &l), 0);
	assert_int_equal(s->ops->dlq_list(s, NULL, 0, 10, add_dead, &l), 1); /* every account's */
	assert_string_equal(l.d.account, "111122223333");
	assert_int_equal(s->ops->dlq_replay(s, "444455556666", l.d.id, 300 * S), -ENOENT);
	assert_int_equal(s->ops->dlq_replay(s, "111122223333", l.d.id, 300 * S), 0);
	assert_int_equal(s->ops->dlq_replay(s, "111122223333", l.d.id, 300 * S), -ENOENT);
	assert_int_equal(s->ops->dlq_replay(s, NULL, l.d.id, 300 * S), -ENOENT);
	assert_int_equal(take(s, "f", 300 * S, 7, &ev), 0);
	assert_int_equal(ev.attempts, 0);
	assert_string_equal(ev.request_id, "rid-f-{\"x\":1}");
	free(ev.payload);
	assert_int_equal(take(s, "ondlq", 300 * S, 7, &ev), 0);
	assert_memory_equal(ev.payload, "{\"rec\":1}", 9);
	free(ev.payload);
}

static void events_survive_a_reopen(void **state)
{
	struct fx *f = *state;
	struct sl_event ev;

	put(f->s, "f", "1", 100 * S);
	sl_store_close(&f->s);
	assert_int_equal(sl_store_open(f->dir, &f->s), 0);
	assert_int_equal(count(f->s), 1);
	assert_int_equal(take(f->s, "f", 100 * S, 7, &ev), 0);
	free(ev.payload);
}

static void a_group_commit_stores_every_event_in_order(void **state)
{
	struct sl_store *s = ((struct fx *)*state)->s;
	struct sl_event evs[3] = {0}, ev;

	for (int i = 0; i < 3; i++) {
		snprintf(evs[i].account, sizeof(evs[i].account), "111122223333");
		snprintf(evs[i].name, sizeof(evs[i].name), "g");
		snprintf(evs[i].request_id, sizeof(evs[i].request_id), "r%d", i);
		evs[i].payload = "{}";
		evs[i].len = 2;
		evs[i].enqueued_ns = evs[i].due_ns = 100 * S;
	}
	assert_int_equal(s->ops->ev_put_many(s, evs, 3), 0);
	assert_true(evs[0].id > 0 && evs[1].id > evs[0].id && evs[2].id > evs[1].id);
	assert_int_equal(count(s), 3);
	for (int i = 0; i < 3; i++) {
		char want[8];

		assert_int_equal(take(s, "g", 100 * S, 7, &ev), 0);
		snprintf(want, sizeof(want), "r%d", i);
		assert_string_equal(ev.request_id, want);
		free(ev.payload);
	}
}

/* The outcome rows of the store in dir (read beside the store, as an operator would): how
 * many, and the finished time and request id of the last. */
static int outcomes(const char *dir, uint64_t *ret_finished, char *ret_rid, size_t len)
{
	char path[128];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = 0;

	snprintf(path, sizeof(path), "%s/control.db", dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(db, "SELECT finished, request_id FROM outcomes ORDER BY seq", -1,
				   &st, NULL),
		SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		n++;
		*ret_finished = (uint64_t)sqlite3_column_int64(st, 0);
		snprintf(ret_rid, len, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void a_commit_carries_accepts_and_outcomes_together(void **state)
{
	struct fx *f = *state;
	struct sl_store *s = f->s;
	struct sl_event fresh = {.payload = "{}", .len = 2}, done[2], ev;
	uint64_t finished = 0;
	char rid[40] = "";

	put(s, "c", "1", 100 * S);
	put(s, "c", "2", 100 * S);
	assert_int_equal(take(s, "c", 100 * S, 7, &done[0]), 0);
	free(done[0].payload);
	done[0].payload = NULL;
	done[0].finished_ns = 123 * S;
	done[1] = done[0];
	done[1].id = 999999; /* not queued (finished before): skipped, not an error */
	snprintf(fresh.account, sizeof(fresh.account), "111122223333");
	snprintf(fresh.name, sizeof(fresh.name), "c");
	snprintf(fresh.request_id, sizeof(fresh.request_id), "fresh");
	fresh.enqueued_ns = fresh.due_ns = 120 * S;
	assert_int_equal(s->ops->ev_commit(s, &fresh, 1, done, 2), 0);
	assert_true(fresh.id > done[0].id);
	assert_int_equal(count(s), 2); /* "2" and the fresh one; "1" is done */
	assert_int_equal(outcomes(f->dir, &finished, rid, sizeof(rid)), 1);
	assert_int_equal(finished, 123 * S);
	assert_string_equal(rid, "rid-c-1");
	/* the same success committed again (a retried flush): no second outcome */
	assert_int_equal(s->ops->ev_commit(s, NULL, 0, done, 1), 0);
	assert_int_equal(outcomes(f->dir, &finished, rid, sizeof(rid)), 1);
	assert_int_equal(take(s, "c", 130 * S, 7, &ev), 0);
	assert_string_equal(ev.request_id, "rid-c-2");
	free(ev.payload);
	assert_int_equal(take(s, "c", 130 * S, 7, &ev), 0);
	assert_string_equal(ev.request_id, "fresh");
	free(ev.payload);
}

static void the_age_sweep_takes_only_expired_events_due_or_not(void **state)
{
	struct sl_store *s = ((struct fx *)*state)->s;
	struct sl_event ev;
	int64_t old = put(s, "t", "old", 100 * S);

	put(s, "t", "young", 200 * S);
	/* the old one waits for a retry far ahead: the sweep still takes it */
	assert_int_equal(take(s, "t", 100 * S, 7, &ev), 0);
	ev.due_ns = 10000 * S;
	assert_int_equal(s->ops->ev_retry(s, &ev), 0);
	free(ev.payload);
	assert_int_equal(
		s->ops->ev_take_expired(s, "111122223333", "t", 300 * S, 50 * S, 7, 310 * S, &ev),
		-ENOENT); /* none enqueued before 50 s */
	assert_int_equal(
		s->ops->ev_take_expired(s, "111122223333", "t", 300 * S, 150 * S, 7, 310 * S, &ev),
		0);
	assert_int_equal(ev.id, old);
	assert_memory_equal(ev.payload, "old", 3);
	free(ev.payload);
	/* leased now; the young one is not past the age */
	assert_int_equal(
		s->ops->ev_take_expired(s, "111122223333", "t", 300 * S, 150 * S, 7, 310 * S, &ev),
		-ENOENT);
	assert_int_equal(
		s->ops->ev_take_expired(s, "111122223333", "t", 300 * S, 0, 7, 310 * S, &ev),
		-ENOENT);
	assert_int_equal(count(s), 2);
}

static void event_invoke_config(void **state)
{
	struct sl_store *s = ((struct fx *)*state)->s;
	struct sl_eic e = {.max_retry = 1, .max_age_s = 120, .modified_ns = 5}, g;

	assert_int_equal(s->ops->eic_get(s, "111122223333", "f", &g), -ENOENT);
	snprintf(e.on_failure, sizeof(e.on_failure), "arn:x");
	assert_int_equal(s->ops->eic_put(s, "111122223333", "f", &e), 0);
	assert_int_equal(s->ops->eic_get(s, "111122223333", "f", &g), 0);
	assert_int_equal(g.max_retry, 1);
	assert_int_equal(g.max_age_s, 120);
	assert_string_equal(g.on_failure, "arn:x");
	assert_int_equal(s->ops->eic_delete(s, "111122223333", "f"), 0);
	assert_int_equal(s->ops->eic_delete(s, "111122223333", "f"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(takes_in_order_and_leases, setup, teardown),
		cmocka_unit_test_setup_teardown(due_lists_each_function_once_across_accounts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(release_frees_only_the_owners_leases, setup,
						teardown),
		cmocka_unit_test_setup_teardown(retry_waits_until_due_and_finish_deletes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(fail_moves_to_the_dlq_and_replay_brings_it_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(events_survive_a_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(a_group_commit_stores_every_event_in_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_commit_carries_accepts_and_outcomes_together,
						setup, teardown),
		cmocka_unit_test_setup_teardown(the_age_sweep_takes_only_expired_events_due_or_not,
						setup, teardown),
		cmocka_unit_test_setup_teardown(event_invoke_config, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
