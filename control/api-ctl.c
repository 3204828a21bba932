// SPDX-License-Identifier: Apache-2.0
/*
 * The operators' JSON API under /v1/ on the Lambda API's listener (what sandlotctl's function
 * and worker objects read). It spans every account, so it answers only a peer on a loopback
 * address that sends X-Sandlot-Token: the token written at start to <data>/ctlapi.token (mode
 * 0600, root's sandlotctl only), compared in constant time. docs/control.md lists the paths.
 */
#include "api.h"

#include <sandlot/log.h>
#include <sandlot/parse.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define CTLAPI_TOKEN_FILE "ctlapi.token"
#define CTLAPI_FNS_MAX	  10000	 /* functions in one listing */
#define CTLAPI_SB_MAX	  4096	 /* sandboxes listed for one function or worker */
#define CTLAPI_DLQ_MAX	  1000	 /* dead letters in one listing */
#define CTLAPI_DLQ_SCAN	  100000 /* dead letters read for one listing (a filter skips some) */
#define CTLAPI_DLQ_PAGE	  100

int api_ctl_token_write(struct ctl *c)
{
	unsigned char raw[32];
	char path[sizeof(c->cfg.data) + 32];
	_cleanup_close_ int fd = -1;

	c->ctlapi_token[0] = '\0';
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return -EIO;
	snprintf(path, sizeof(path), "%s/%s", c->cfg.data, CTLAPI_TOKEN_FILE);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(c->ctlapi_token + 2 * i, 3, "%02x", raw[i]);
	if (write(fd, c->ctlapi_token, 64) != 64) {
		c->ctlapi_token[0] = '\0'; /* the API refuses everything then */
		return -EIO;
	}
	return 0;
}

static bool token_ok(const struct ctl *c, const char *got)
{
	unsigned char d = 0;

	if (!got || !c->ctlapi_token[0] || strlen(got) != strlen(c->ctlapi_token))
		return false;
	for (size_t i = 0; c->ctlapi_token[i]; i++)
		d |= (unsigned char)(got[i] ^ c->ctlapi_token[i]);
	return d == 0;
}

static bool peer_is_loopback(struct api_req *q)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (!sa)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

static enum MHD_Result fail(struct api_req *q, unsigned status, const char *msg)
{
	return api_reply_json(q, status, json_pack("{s:s}", "error", msg));
}

/* ---- functions ---- */

struct fn_count {
	uint32_t sandboxes, busy, warm;
	json_t *list; /* the sandboxes themselves, or NULL */
};

static void count_sandbox(const struct sl_rsb *sb, void *data)
{
	struct fn_count *n = data;
	bool busy = sb->inflight || sb->state == SL_SANDBOX_BUSY;

	n->sandboxes++;
	n->busy += busy;
	n->warm += !busy && (sb->state == SL_SANDBOX_IDLE || sb->state == SL_SANDBOX_FROZEN);
	if (n->list && json_array_size(n->list) < CTLAPI_SB_MAX)
		json_array_append_new(
			n->list, json_pack("{s:s, s:s, s:I, s:s, s:b, s:I}", "id", sb->id, "key",
					   sb->key, "host", (json_int_t)sb->host, "state",
					   sl_proto_state_name(sb->state), "inflight", sb->inflight,
					   "memory_mb", (json_int_t)sb->memory_mb));
}

/* A function as JSON; detail: its sandboxes counted and listed (a listing counts them in one
 * pass over the table afterwards, tally()). */
static json_t *fn_json(struct ctl *c, const struct sl_fn *f, bool detail)
{
	struct fn_count n = {.list = detail ? json_array() : NULL};
	char prefix[SL_ROUTER_KEY_MAX + 1];
	struct sl_count_usage u = {0};
	json_t *j;

	snprintf(prefix, sizeof(prefix), "%s/%s/", f->account, f->name);
	if (detail)
		sl_router_each(c->router, prefix, count_sandbox, &n);
	sl_counting_account_usage(c->counting, f->account, &u);
	j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I}", "account",
		      f->account, "name", f->name, "runtime", f->runtime, "memory_mb",
		      (json_int_t)f->memory_mb, "timeout_s", (json_int_t)f->timeout_s,
		      "revision_id", f->revision_id, "concurrency",
		      (json_int_t)sl_counting_function_in_use(c->counting, f->account, f->name),
		      "concurrency_limit",
		      (json_int_t)(f->reserved >= 0 ? (uint32_t)f->reserved : u.unreserved_limit),
		      "sandboxes", (json_int_t)n.sandboxes, "warm", (json_int_t)n.warm, "busy",
		      (json_int_t)n.busy);
	if (!j)
		return NULL;
	json_object_set_new(j, "reserved",
			    f->reserved >= 0 ? json_integer(f->reserved) : json_null());
	if (detail)
		json_object_set_new(j, "sandbox_list", n.list);
	return j;
}

struct fn_walk {
	struct ctl *c;
	json_t *list;
	json_t *by_key; /* "account/name" -> the listed function (borrowed) */
	bool truncated;
};

static void add_to(json_t *f, const char *field, uint32_t n)
{
	json_object_set_new(f, field,
			    json_integer(json_integer_value(json_object_get(f, field)) + n));
}

/* One sandbox of the table into its function's counts, when listed. */
static void tally(const struct sl_rsb *sb, void *data)
{
	struct fn_walk *w = data;
	const char *rev = strrchr(sb->key, '/');
	struct fn_count n = {0};
	char fn[SL_ROUTER_KEY_MAX + 1];
	json_t *f;

	if (!rev)
		return;
	snprintf(fn, sizeof(fn), "%.*s", (int)(rev - sb->key), sb->key);
	f = json_object_get(w->by_key, fn);
	if (!f)
		return;
	count_sandbox(sb, &n);
	add_to(f, "sandboxes", n.sandboxes);
	add_to(f, "warm", n.warm);
	add_to(f, "busy", n.busy);
}

static int list_one(const struct sl_fn *f, void *data)
{
	struct fn_walk *w = data;

	if (json_array_size(w->list) >= CTLAPI_FNS_MAX) {
		w->truncated = true;
		return -E2BIG;
	}
	char key[SL_ROUTER_KEY_MAX + 1];
	json_t *j = fn_json(w->c, f, false);

	snprintf(key, sizeof(key), "%s/%s", f->account, f->name);
	json_object_set(w->by_key, key, j);
	json_array_append_new(w->list, j);
	return 0;
}

static bool account_ok(const char *a)
{
	size_t n = strspn(a, "0123456789");

	return n == 12 && !a[n];
}

static enum MHD_Result list_functions(struct api_req *q)
{
	struct sl_store *s = q->c->store;
	const char *account = api_query(q, "account");
	struct fn_walk w = {.c = q->c, .list = json_array(), .by_key = json_object()};
	int r;

	if (account && !account_ok(account)) {
		json_decref(w.list);
		json_decref(w.by_key);
		return fail(q, 400, "account: 12 digits expected");
	}
	r = s->ops->fn_list(s, account, "", CTLAPI_FNS_MAX + 1, list_one, &w);
	if (r >= 0 || r == -E2BIG)
		sl_router_each(q->c->router, "", tally, &w);
	json_decref(w.by_key);
	if (r < 0 && r != -E2BIG) {
		json_decref(w.list);
		return fail(q, 500, "the store failed");
	}
	return api_reply_json(
		q, 200, json_pack("{s:o, s:b}", "functions", w.list, "truncated", w.truncated));
}

/* The function name in account (the query's, else the only account that has one by name). */
static int find_function(struct api_req *q, const char *name, struct sl_fn *ret, char *why,
			 size_t len)
{
	struct sl_store *s = q->c->store;
	const char *account = api_query(q, "account");
	unsigned found = 0;
	struct sl_fn f;

	if (account && !account_ok(account))
		return snprintf(why, len, "account: 12 digits expected"), -EINVAL;
	if (strlen(name) > SL_FN_NAME_MAX)
		return snprintf(why, len, "function name too long"), -EINVAL;
	if (account) {
		int r = s->ops->fn_get(s, account, name, ret);

		if (r < 0)
			snprintf(why, len, "no function %s in account %s", name, account);
		return r;
	}
	for (size_t i = 0; i < sl_akeys_count(q->c->akeys); i++) {
		const char *a = sl_akeys_account(q->c->akeys, i);

		if (found && strcmp(a, ret->account) == 0)
			continue;
		if (s->ops->fn_get(s, a, name, &f) == 0 && found++ == 0)
			*ret = f;
	}
	if (found > 1)
		return snprintf(why, len, "function %s is in several accounts: give account", name),
		       -ENOTUNIQ;
	if (!found)
		return snprintf(why, len, "no function %s", name), -ENOENT;
	return 0;
}

static enum MHD_Result show_function(struct api_req *q, const char *name)
{
	struct sl_fn f;
	char why[160];
	int r = find_function(q, name, &f, why, sizeof(why));

	if (r < 0)
		return fail(q, r == -ENOENT ? 404 : 400, why);
	return api_reply_json(q, 200, fn_json(q->c, &f, true));
}

/* POST /v1/functions/NAME/invocations: the Lambda Invoke of api-invoke.c, as the account. */
static enum MHD_Result invoke_function(struct api_req *q, const char *name)
{
	struct sl_fn f;
	char why[160];
	int r = find_function(q, name, &f, why, sizeof(why));

	if (r < 0)
		return fail(q, r == -ENOENT ? 404 : 400, why);
	snprintf(q->who.account, sizeof(q->who.account), "%s", f.account);
	return api_invoke(q, f.name);
}

/* ---- workers ---- */

static const char *host_state(const struct host *h)
{
	return !h->registered ? "unregistered" : h->draining ? "draining" : "ready";
}

/* ok; late: a heartbeat overdue by half the timeout; errors: platform errors lately. */
static const char *host_health(const struct ctl *c, const struct host *h, uint64_t now)
{
	if (now - MIN(now, h->last_seen_ns) > c->cfg.heartbeat_timeout_ns / 2)
		return "late";
	return h->recent_errors ? "errors" : "ok";
}

static void host_sandbox(const struct sl_rsb *sb, void *data)
{
	json_t *list = data;

	if (json_array_size(list) < CTLAPI_SB_MAX)
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:b, s:I}", "id", sb->id,
						      "function", sb->key, "state",
						      sl_proto_state_name(sb->state), "inflight",
						      sb->inflight, "memory_mb",
						      (json_int_t)sb->memory_mb));
}

struct host_sb {
	uint64_t host;
	json_t *list;
};

static void host_sandbox_of(const struct sl_rsb *sb, void *data)
{
	struct host_sb *hs = data;

	if (sb->host == hs->host)
		host_sandbox(sb, hs->list);
}

static json_t *worker_json(struct ctl *c, const struct host *h, bool detail)
{
	uint64_t now = sl_now_ns(), mem = 0;
	uint32_t sandboxes = 0, busy = 0;
	char id[17];
	json_t *j;

	sl_router_host_usage(c->router, h->id, &sandboxes, &busy, &mem);
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)h->id);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		      "s:f, s:I}",
		      "name", h->name, "id", id, "zone", h->zone, "endpoint", h->endpoint, "state",
		      host_state(h), "health", host_health(c, h, now), "lease_left_s",
		      (json_int_t)((h->lease_end_ns - MIN(now, h->lease_end_ns)) / SL_NSEC_PER_SEC),
		      "last_heartbeat_ms",
		      (json_int_t)((now - MIN(now, h->last_seen_ns)) / SL_NSEC_PER_MSEC), "ncpus",
		      (json_int_t)h->ncpus, "memory_mb", (json_int_t)h->memory_mb, "memory_used_mb",
		      (json_int_t)mem, "max_sandboxes", (json_int_t)h->max_sandboxes, "sandboxes",
		      (json_int_t)sandboxes, "busy", (json_int_t)busy, "utilization",
		      h->memory_mb ? (double)mem / (double)h->memory_mb : 0.0, "inflight",
		      (json_int_t)h->inflight);
	if (j)
		json_object_set_new(j, "recent_platform_errors", json_integer(h->recent_errors));
	if (j && detail) {
		struct host_sb hs = {.host = h->id, .list = json_array()};

		sl_router_each(c->router, "", host_sandbox_of, &hs);
		json_object_set_new(j, "sandbox_list", hs.list);
	}
	return j;
}

static enum MHD_Result list_workers(struct api_req *q)
{
	json_t *list = json_array();

	for (struct host *h = q->c->hosts; h; h = h->next)
		json_array_append_new(list, worker_json(q->c, h, false));
	return api_reply_json(q, 200, json_pack("{s:o}", "workers", list));
}

static struct host *find_worker(struct ctl *c, const char *name)
{
	for (struct host *h = c->hosts; h; h = h->next)
		if (strcmp(h->name, name) == 0)
			return h;
	return NULL;
}

static enum MHD_Result worker(struct api_req *q, const char *name, bool drain)
{
	struct host *h = find_worker(q->c, name);

	if (!h)
		return fail(q, 404, "no such worker");
	if (drain) {
		int r = workers_drain(q->c, h);

		if (r < 0)
			return fail(q, 409, "the worker is not registered");
		sl_info("agent %s: drained through the control API", h->name);
	}
	return api_reply_json(q, 200, worker_json(q->c, h, !drain));
}

/* ---- dead letters (every account's: the SigV4 /v1/dlq shows an account its own) ---- */

struct dlq_walk {
	const char *function; /* only this function's, or NULL */
	json_t *list;
	unsigned max;	/* entries listed at most */
	int64_t last;	/* the last id read */
	unsigned read;	/* rows read */
	bool truncated; /* more matched than max, or more were left unread than CTLAPI_DLQ_SCAN */
};

static json_t *dead_json(const struct sl_dead *d)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:I}", "id", (json_int_t)d->id,
			 "account", d->account, "function", d->name, "request_id", d->request_id,
			 "attempts", (json_int_t)d->attempts, "enqueued_ns",
			 (json_int_t)d->enqueued_ns, "failed_ns", (json_int_t)d->failed_ns, "error",
			 d->error, "payload_bytes", (json_int_t)d->len);
}

static int add_dead(const struct sl_dead *d, void *data)
{
	struct dlq_walk *w = data;

	w->last = d->id;
	w->read++;
	if (w->function && strcmp(d->name, w->function) != 0)
		return 0;
	if (json_array_size(w->list) >= w->max) {
		w->truncated = true;
		return -E2BIG;
	}
	return json_array_append_new(w->list, dead_json(d)) < 0 ? -ENOMEM : 0;
}

/* GET /v1/dead-letters[?account=A][&function=NAME][&after=ID][&limit=N], by id. */
static enum MHD_Result list_dead(struct api_req *q)
{
	struct sl_store *s = q->c->store;
	const char *account = api_query(q, "account"), *after = api_query(q, "after"),
		   *limit = api_query(q, "limit");
	struct dlq_walk w = {.function = api_query(q, "function"), .max = CTLAPI_DLQ_MAX};
	uint64_t a = 0, n = CTLAPI_DLQ_MAX;
	int r;

	if (account && !account_ok(account))
		return fail(q, 400, "account: 12 digits expected");
	if (w.function && strlen(w.function) > SL_FN_NAME_MAX)
		return fail(q, 400, "function name too long");
	if ((after && sl_parse_u64(after, 0, INT64_MAX, &a) < 0) ||
	    (limit && sl_parse_u64(limit, 1, CTLAPI_DLQ_MAX, &n) < 0))
		return fail(q, 400, "after: a dead letter's id; limit: 1 to 1000");
	w.last = (int64_t)a;
	w.max = (unsigned)n;
	w.list = json_array();
	if (!w.list)
		return MHD_NO;
	do {
		unsigned before = w.read;

		r = s->ops->dlq_list(s, account, w.last, CTLAPI_DLQ_PAGE, add_dead, &w);
		if (r >= 0 && w.read - before == CTLAPI_DLQ_PAGE && w.read >= CTLAPI_DLQ_SCAN)
			w.truncated = true;
	} while (r == CTLAPI_DLQ_PAGE && !w.truncated);
	if (r < 0 && r != -E2BIG) {
		json_decref(w.list);
		return fail(q, 500, "the store failed");
	}
	return api_reply_json(
		q, 200, json_pack("{s:o, s:b}", "dead_letters", w.list, "truncated", w.truncated));
}

static int find_dead(const struct sl_dead *d, void *data)
{
	json_t **ret = data;

	*ret = dead_json(d);
	return 0;
}

/* POST /v1/dead-letters/ID/replay: back to the queue as the SigV4 route does. */
static enum MHD_Result replay_dead(struct api_req *q, const char *id_s)
{
	struct sl_store *s = q->c->store;
	json_t *d = NULL;
	uint64_t id;
	int r;

	if (sl_parse_u64(id_s, 1, INT64_MAX, &id) < 0)
		return fail(q, 400, "a dead letter's id is a positive integer");
	r = s->ops->dlq_list(s, NULL, (int64_t)id - 1, 1, find_dead, &d);
	if (r >= 0 && d && json_integer_value(json_object_get(d, "id")) != (json_int_t)id)
		r = 0;
	if (r == 1)
		r = s->ops->dlq_replay(s, NULL, (int64_t)id, sl_wall_ns());
	else if (r >= 0)
		r = -ENOENT;
	if (r < 0) {
		char why[64];

		json_decref(d);
		snprintf(why, sizeof(why), "no dead letter %llu", (unsigned long long)id);
		return fail(q, r == -ENOENT ? 404 : 500, r == -ENOENT ? why : "the store failed");
	}
	sl_info("dead letter %llu (%s/%s) queued again through the control API",
		(unsigned long long)id, json_string_value(json_object_get(d, "account")),
		json_string_value(json_object_get(d, "function")));
	return api_reply_json(q, 200, d);
}

/* ---- routing ---- */

/* The NAME of /v1/<collection>/NAME[/tail] into buf, and its tail; false when not so. */
static bool split(const char *url, const char *collection, char *buf, size_t len,
		  const char **ret_tail)
{
	size_t n = strlen(collection);
	const char *name = url + n, *end;

	if (strncmp(url, collection, n) != 0 || *name != '/' || !name[1])
		return false;
	name++;
	end = strchrnul(name, '/');
	if ((size_t)(end - name) >= len)
		return false;
	snprintf(buf, len, "%.*s", (int)(end - name), name);
	*ret_tail = end;
	return true;
}

enum MHD_Result api_ctl(struct api_req *q, const char *url, const char *method)
{
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	const char *tail;
	char name[SL_FN_NAME_MAX + 2];

	if (!peer_is_loopback(q))
		return fail(q, 403, "the control API answers loopback peers only");
	if (!token_ok(q->c, api_header(q, "X-Sandlot-Token")))
		return fail(q, 403, "missing or wrong X-Sandlot-Token (see <data>/ctlapi.token)");
	if (strcmp(url, "/v1/functions") == 0 && get)
		return list_functions(q);
	if (strcmp(url, "/v1/workers") == 0 && get)
		return list_workers(q);
	if (strcmp(url, "/v1/dead-letters") == 0 && get)
		return list_dead(q);
	if (split(url, "/v1/functions", name, sizeof(name), &tail)) {
		if (!*tail && get)
			return show_function(q, name);
		if (strcmp(tail, "/invocations") == 0 && post)
			return invoke_function(q, name);
	}
	if (split(url, "/v1/workers", name, sizeof(name), &tail)) {
		if (!*tail && get)
			return worker(q, name, false);
		if (strcmp(tail, "/drain") == 0 && post)
			return worker(q, name, true);
	}
	if (split(url, "/v1/dead-letters", name, sizeof(name), &tail) &&
	    strcmp(tail, "/replay") == 0 && post)
		return replay_dead(q, name);
	return fail(q, 404, "no such path or method");
}
