// SPDX-License-Identifier: Apache-2.0
/* Concurrency admission with Lambda's rules: accounts and functions in chained hash tables. */
#include "counting.h"

#include <sandlot/util.h>

#include <ctype.h>
#include <string.h>

#define ACCOUNT_LEN  12
#define FUNCTION_MAX 64
#define KEY_MAX	     (ACCOUNT_LEN + 1 + FUNCTION_MAX + 1) /* "123456789012/name" */

/* The head of every entry of a table; entries are found by their NUL-terminated key. */
struct hnode {
	struct hnode *next;
	uint64_t hash;
	char key[KEY_MAX];
};

struct table {
	struct hnode **buckets;
	size_t nbuckets; /* a power of two */
	size_t n;
};

struct account {
	struct hnode node; /* key: the account id */
	uint32_t limit;
	uint32_t reserved_total;
	uint32_t in_use;
	uint32_t unreserved_in_use;
};

struct function {
	struct hnode node; /* key: "account/function" */
	struct account *account;
	bool has_reservation;
	uint32_t reserved;
	uint32_t in_use;
};

struct sl_counting {
	struct table accounts;
	struct table functions;
	uint32_t default_limit;
	uint32_t async_headroom;
};

/* FNV-1a, 64 bits. */
static uint64_t hash_key(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static struct hnode *table_find(const struct table *t, const char *key, uint64_t hash)
{
	if (!t->nbuckets)
		return NULL;
	for (struct hnode *e = t->buckets[hash & (t->nbuckets - 1)]; e; e = e->next)
		if (e->hash == hash && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static int table_grow(struct table *t)
{
	size_t nb = t->nbuckets ? t->nbuckets * 2 : 64;
	struct hnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->nbuckets; i++) {
		while (t->buckets[i]) {
			struct hnode *e = t->buckets[i];

			t->buckets[i] = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
	return 0;
}

static int table_insert(struct table *t, struct hnode *e)
{
	struct hnode **head;

	if (t->n + 1 > t->nbuckets / 4 * 3) {
		int r = table_grow(t);

		if (r < 0)
			return r;
	}
	head = &t->buckets[e->hash & (t->nbuckets - 1)];
	e->next = *head;
	*head = e;
	t->n++;
	return 0;
}

static void table_remove(struct table *t, struct hnode *e)
{
	struct hnode **p = &t->buckets[e->hash & (t->nbuckets - 1)];

	while (*p != e)
		p = &(*p)->next;
	*p = e->next;
	t->n--;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		while (t->buckets[i]) {
			struct hnode *e = t->buckets[i];

			t->buckets[i] = e->next;
			free(e);
		}
	}
	free(t->buckets);
	*t = (struct table){0};
}

static bool account_ok(const char *a)
{
	if (!a || strlen(a) != ACCOUNT_LEN)
		return false;
	for (int i = 0; i < ACCOUNT_LEN; i++)
		if (!isdigit((unsigned char)a[i]))
			return false;
	return true;
}

static bool function_ok(const char *f)
{
	size_t n = f ? strlen(f) : 0;

	if (n == 0 || n > FUNCTION_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)f[i]) && f[i] != '-' && f[i] != '_')
			return false;
	return true;
}

/* Names already checked. */
static void function_key(char key[KEY_MAX], const char *account, const char *function)
{
	snprintf(key, KEY_MAX, "%s/%s", account, function);
}

static struct account *account_find(const struct sl_counting *c, const char *account)
{
	return (struct account *)table_find(&c->accounts, account, hash_key(account));
}

static struct function *function_find(const struct sl_counting *c, const char *account,
				      const char *function)
{
	char key[KEY_MAX];

	function_key(key, account, function);
	return (struct function *)table_find(&c->functions, key, hash_key(key));
}

static int account_get(struct sl_counting *c, const char *account, struct account **ret)
{
	struct account *a = account_find(c, account);
	int r;

	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a)
			return -ENOMEM;
		snprintf(a->node.key, sizeof(a->node.key), "%s", account);
		a->node.hash = hash_key(account);
		a->limit = c->default_limit;
		r = table_insert(&c->accounts, &a->node);
		if (r < 0) {
			free(a);
			return r;
		}
	}
	*ret = a;
	return 0;
}

/* The function's entry, created (with its account) on first use. */
static int function_get(struct sl_counting *c, const char *account, const char *function,
			struct function **ret)
{
	struct function *f = function_find(c, account, function);
	struct account *a;
	int r;

	if (!f) {
		r = account_get(c, account, &a);
		if (r < 0)
			return r;
		f = calloc(1, sizeof(*f));
		if (!f)
			return -ENOMEM;
		function_key(f->node.key, account, function);
		f->node.hash = hash_key(f->node.key);
		f->account = a;
		r = table_insert(&c->functions, &f->node);
		if (r < 0) {
			free(f);
			return r;
		}
	}
	*ret = f;
	return 0;
}

/* Drops an entry that holds nothing worth keeping. */
static void function_maybe_drop(struct sl_counting *c, struct function *f)
{
	if (f->in_use == 0 && !f->has_reservation) {
		table_remove(&c->functions, &f->node);
		free(f);
	}
}

int sl_counting_new(struct sl_counting **ret, uint32_t default_account_limit)
{
	struct sl_counting *c;

	if (!ret || default_account_limit == 0)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->default_limit = default_account_limit;
	*ret = c;
	return 0;
}

void sl_counting_free(struct sl_counting **c)
{
	if (!c || !*c)
		return;
	table_free(&(*c)->functions);
	table_free(&(*c)->accounts);
	free(*c);
	*c = NULL;
}

int sl_counting_set_account_limit(struct sl_counting *c, const char *account, uint32_t limit)
{
	struct account *a;
	int r;

	if (!c || !account_ok(account) || limit == 0)
		return -EINVAL;
	a = account_find(c, account);
	if (a && a->reserved_total > 0 &&
	    (uint64_t)a->reserved_total + SL_COUNT_MIN_UNRESERVED > limit)
		return -ENOSPC;
	r = account_get(c, account, &a);
	if (r < 0)
		return r;
	a->limit = limit;
	return 0;
}

int sl_counting_set_reserved(struct sl_counting *c, const char *account, const char *function,
			     uint32_t reserved)
{
	struct account *a = NULL;
	struct function *f;
	uint64_t total;
	int r;

	if (!c || !account_ok(account) || !function_ok(function))
		return -EINVAL;
	f = function_find(c, account, function);
	a = f ? f->account : account_find(c, account);
	total = (a ? a->reserved_total : 0) + (uint64_t)reserved -
		(f && f->has_reservation ? f->reserved : 0);
	if (total + SL_COUNT_MIN_UNRESERVED > (a ? a->limit : c->default_limit))
		return -ENOSPC;
	r = function_get(c, account, function, &f);
	if (r < 0)
		return r;
	a = f->account;
	if (!f->has_reservation)
		a->unreserved_in_use -= f->in_use; /* its units move to the reservation */
	a->reserved_total = (uint32_t)total;
	f->has_reservation = true;
	f->reserved = reserved;
	return 0;
}

int sl_counting_clear_reserved(struct sl_counting *c, const char *account, const char *function)
{
	struct function *f;

	if (!c || !account_ok(account) || !function_ok(function))
		return -EINVAL;
	f = function_find(c, account, function);
	if (!f || !f->has_reservation)
		return 0;
	f->account->reserved_total -= f->reserved;
	f->account->unreserved_in_use += f->in_use;
	f->has_reservation = false;
	f->reserved = 0;
	function_maybe_drop(c, f);
	return 0;
}

int sl_counting_get_reserved(const struct sl_counting *c, const char *account, const char *function,
			     uint32_t *ret)
{
	const struct function *f;

	if (!c || !account_ok(account) || !function_ok(function) || !ret)
		return -EINVAL;
	f = function_find(c, account, function);
	if (!f || !f->has_reservation)
		return -ENOENT;
	*ret = f->reserved;
	return 0;
}

/* The throttling reason for one more unit of f, or SL_COUNT_OK. */
static enum sl_count_reason admit(const struct sl_counting *c, const struct function *f, bool async)
{
	const struct account *a = f->account;
	uint64_t pool, cap;

	if (f->has_reservation)
		return f->in_use < f->reserved ? SL_COUNT_OK : SL_COUNT_FUNCTION;
	pool = a->limit > a->reserved_total ? a->limit - a->reserved_total : 0;
	cap = async ? (pool > c->async_headroom ? pool - c->async_headroom : 0) : pool;
	if (a->unreserved_in_use >= cap || a->in_use >= a->limit)
		return SL_COUNT_ACCOUNT;
	return SL_COUNT_OK;
}

int sl_counting_acquire(struct sl_counting *c, const char *account, const char *function,
			bool async, enum sl_count_reason *ret_reason)
{
	enum sl_count_reason why;
	struct function *f;
	int r;

	if (!c || !account_ok(account) || !function_ok(function))
		return -EINVAL;
	r = function_get(c, account, function, &f);
	if (r < 0)
		return r;
	why = admit(c, f, async);
	if (why != SL_COUNT_OK) {
		function_maybe_drop(c, f);
		if (ret_reason)
			*ret_reason = why;
		return -EAGAIN;
	}
	f->in_use++;
	f->account->in_use++;
	if (!f->has_reservation)
		f->account->unreserved_in_use++;
	if (ret_reason)
		*ret_reason = SL_COUNT_OK;
	return 0;
}

int sl_counting_release(struct sl_counting *c, const char *account, const char *function)
{
	struct function *f;

	if (!c || !account_ok(account) || !function_ok(function))
		return -EINVAL;
	f = function_find(c, account, function);
	if (!f || f->in_use == 0)
		return -EINVAL;
	f->in_use--;
	f->account->in_use--;
	if (!f->has_reservation)
		f->account->unreserved_in_use--;
	function_maybe_drop(c, f);
	return 0;
}

void sl_counting_set_async_headroom(struct sl_counting *c, uint32_t units)
{
	if (c)
		c->async_headroom = units;
}

int sl_counting_account_usage(const struct sl_counting *c, const char *account,
			      struct sl_count_usage *ret)
{
	const struct account *a;

	if (!c || !account_ok(account) || !ret)
		return -EINVAL;
	a = account_find(c, account);
	*ret = (struct sl_count_usage){.limit = a ? a->limit : c->default_limit};
	if (a) {
		ret->reserved_total = a->reserved_total;
		ret->in_use = a->in_use;
		ret->unreserved_in_use = a->unreserved_in_use;
	}
	ret->unreserved_limit =
		ret->limit > ret->reserved_total ? ret->limit - ret->reserved_total : 0;
	return 0;
}

uint32_t sl_counting_function_in_use(const struct sl_counting *c, const char *account,
				     const char *function)
{
	const struct function *f;

	if (!c || !account_ok(account) || !function_ok(function))
		return 0;
	f = function_find(c, account, function);
	return f ? f->in_use : 0;
}

int sl_counting_forget_function(struct sl_counting *c, const char *account, const char *function)
{
	struct function *f;

	if (!c || !account_ok(account) || !function_ok(function))
		return -EINVAL;
	f = function_find(c, account, function);
	if (!f)
		return 0;
	if (f->in_use > 0)
		return -EBUSY;
	return sl_counting_clear_reserved(c, account, function);
}
