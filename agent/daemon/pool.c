// SPDX-License-Identifier: Apache-2.0
#include "daemon/pool.h"

#include <errno.h>
#include <string.h>

void sl_pool_init(struct sl_pool *p, uint64_t capacity, unsigned max_entries)
{
	memset(p, 0, sizeof(*p));
	p->capacity = capacity;
	p->max_entries = max_entries;
}

const char *sl_pool_state_name(enum sl_pool_state s)
{
	static const char *const names[] = {"starting", "idle", "in_use"};

	return s < SL_POOL_NSTATES ? names[s] : "unknown";
}

static void unlink_warm(struct sl_pool *p, struct sl_pool_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		p->lru = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		p->mru = e->prev;
	e->prev = e->next = NULL;
}

static void set_state(struct sl_pool *p, struct sl_pool_entry *e, enum sl_pool_state s)
{
	if (e->state == SL_POOL_IDLE)
		unlink_warm(p, e);
	p->n_state[e->state]--;
	p->n_state[s]++;
	e->state = s;
}

int sl_pool_reserve(struct sl_pool *p, struct sl_pool_entry *e)
{
	if (e->reserved)
		return -EINVAL;
	if (e->memory > p->capacity)
		return -E2BIG;
	if (p->reserved + e->memory > p->capacity || p->n_entries >= p->max_entries)
		return -ENOSPC;
	p->reserved += e->memory;
	p->n_entries++;
	e->reserved = true;
	e->state = SL_POOL_STARTING;
	e->prev = e->next = NULL;
	p->n_state[SL_POOL_STARTING]++;
	return 0;
}

void sl_pool_put_idle(struct sl_pool *p, struct sl_pool_entry *e, uint64_t now_ns)
{
	set_state(p, e, SL_POOL_IDLE);
	e->last_used_ns = now_ns;
	e->prev = p->mru;
	e->next = NULL;
	if (p->mru)
		p->mru->next = e;
	else
		p->lru = e;
	p->mru = e;
}

struct sl_pool_entry *sl_pool_take(struct sl_pool *p, const char *key)
{
	for (struct sl_pool_entry *e = p->mru; e; e = e->prev) {
		if (strcmp(e->key, key) == 0) {
			set_state(p, e, SL_POOL_IN_USE);
			return e;
		}
	}
	return NULL;
}

int sl_pool_take_entry(struct sl_pool *p, struct sl_pool_entry *e)
{
	if (!e->reserved || e->state != SL_POOL_IDLE)
		return -EBUSY;
	set_state(p, e, SL_POOL_IN_USE);
	return 0;
}

struct sl_pool_entry *sl_pool_victim(const struct sl_pool *p)
{
	return p->lru;
}

struct sl_pool_entry *sl_pool_expired(const struct sl_pool *p, uint64_t now_ns,
				      uint64_t keep_alive_ns)
{
	struct sl_pool_entry *e = p->lru;

	return e && e->last_used_ns + keep_alive_ns <= now_ns ? e : NULL;
}

uint64_t sl_pool_next_expiry(const struct sl_pool *p, uint64_t keep_alive_ns)
{
	return p->lru ? p->lru->last_used_ns + keep_alive_ns : UINT64_MAX;
}

void sl_pool_remove(struct sl_pool *p, struct sl_pool_entry *e)
{
	if (!e || !e->reserved)
		return;
	if (e->state == SL_POOL_IDLE)
		unlink_warm(p, e);
	p->n_state[e->state]--;
	p->reserved -= e->memory;
	p->n_entries--;
	e->reserved = false;
}
