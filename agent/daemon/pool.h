/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Warm-sandbox bookkeeping: which warm sandbox serves the next invocation of a function, which
 * one goes when the host needs room, which ones outlived their keep-alive, and how much of the
 * host's capacity is reserved. Pure bookkeeping: it never touches the kernel, so the daemon's
 * policy is unit-tested on its own.
 *
 * Policy: an invocation takes the most recently used warm sandbox of its function (the others
 * age out and free their memory sooner); room is made by destroying the least recently used
 * warm sandbox of any function; a sandbox in use is never a victim.
 */
#include <stdbool.h>
#include <stdint.h>

#define SL_POOL_KEY_MAX 160 /* function key: "name:version" */

enum sl_pool_state {
	SL_POOL_STARTING = 0, /* reserved, cold start under way */
	SL_POOL_IDLE,	      /* warm, may be taken */
	SL_POOL_IN_USE,	      /* serving an invocation */
	SL_POOL_NSTATES,
};

struct sl_pool_entry {
	char key[SL_POOL_KEY_MAX]; /* set by the owner before sl_pool_reserve() */
	uint64_t memory;	   /* bytes this sandbox reserves; set by the owner */
	/* maintained by the pool: */
	enum sl_pool_state state;
	uint64_t last_used_ns;		   /* when it last became idle */
	struct sl_pool_entry *prev, *next; /* warm list, least recently used first */
	bool reserved;
};

struct sl_pool {
	uint64_t capacity; /* bytes of sandbox memory the host offers */
	unsigned max_entries;
	uint64_t reserved; /* bytes held by entries */
	unsigned n_entries;
	unsigned n_state[SL_POOL_NSTATES];
	struct sl_pool_entry *lru, *mru; /* the warm (idle) list */
};

void sl_pool_init(struct sl_pool *p, uint64_t capacity, unsigned max_entries);

/*
 * Reserves e->memory for a new sandbox in state STARTING. -ENOSPC when the memory or the count
 * would exceed the host's limits (the caller may destroy sl_pool_victim() and retry); -E2BIG
 * when e->memory alone exceeds the capacity; -EINVAL when e is already reserved.
 */
int sl_pool_reserve(struct sl_pool *p, struct sl_pool_entry *e);

/* Marks e warm and idle at now (the most recently used end). */
void sl_pool_put_idle(struct sl_pool *p, struct sl_pool_entry *e, uint64_t now_ns);

/* Takes the most recently used idle entry for key, marking it IN_USE; NULL when none. */
struct sl_pool_entry *sl_pool_take(struct sl_pool *p, const char *key);

/* Takes a specific idle entry (IN_USE). -EBUSY if it is not idle. */
int sl_pool_take_entry(struct sl_pool *p, struct sl_pool_entry *e);

/* The least recently used idle entry (left in place), or NULL. */
struct sl_pool_entry *sl_pool_victim(const struct sl_pool *p);

/* The least recently used idle entry whose keep-alive ran out at now, or NULL. */
struct sl_pool_entry *sl_pool_expired(const struct sl_pool *p, uint64_t now_ns,
				      uint64_t keep_alive_ns);

/* When the next idle entry's keep-alive runs out (UINT64_MAX when none is idle). */
uint64_t sl_pool_next_expiry(const struct sl_pool *p, uint64_t keep_alive_ns);

/* Releases e's reservation, whatever its state. NULL-safe; no-op when not reserved. */
void sl_pool_remove(struct sl_pool *p, struct sl_pool_entry *e);

const char *sl_pool_state_name(enum sl_pool_state s);
