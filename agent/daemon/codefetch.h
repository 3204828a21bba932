/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Code packages fetched from the control node in chunks (CODE_FETCH / CODE_CHUNK) into the
 * code cache. Waiters of the same package share one fetch. The module knows neither the link
 * nor the sandboxes: it sends through ops->send and reports through ops->done, both the
 * caller's (control.c), and it runs on the caller's loop.
 */
#include <stdint.h>

#include <sandlot/loop.h>
#include <sandlot/proto.h>

#include "daemon/codecache.h"

struct codefetch;

struct codefetch_ops {
	/* Sends request m to the control node, setting m->corr_id. 0 or -errno. */
	int (*send)(void *data, struct sl_msg *m);
	/*
	 * The package waiter asked for is in the cache (r == 0: *entry is a reference the callee
	 * may take, else it is released) or could not be had (r < 0, why says so in a line).
	 * Called once per waiter that was not cancelled, from inside codefetch_start() when the
	 * cache has the package.
	 */
	void (*done)(void *data, void *waiter, int r, const char *why,
		     struct sl_codecache_entry **entry);
	void *data;
};

/* A fetcher storing partial packages under state_dir. 0 or -ENOMEM. */
int codefetch_new(struct codefetch **ret, struct sl_loop *loop, struct sl_codecache *cache,
		  const char *state_dir, const struct codefetch_ops *ops);
/* Drops every fetch in progress (their waiters are not called). NULL-safe; sets *cf to NULL. */
void codefetch_free(struct codefetch **cf);
/*
 * Gets the package sha (size bytes, as the control node declared it) for waiter: at once when
 * the cache has it, else by fetching it (or joining the fetch under way). ops->done tells the
 * outcome either way.
 */
void codefetch_start(struct codefetch *cf, void *waiter, const uint8_t sha[32], uint64_t size);
/* A CODE_CHUNK from the control node (one nobody asked for is ignored). */
void codefetch_chunk(struct codefetch *cf, const struct sl_msg *m);
/* An ERROR about one of our CODE_FETCH requests: its waiters fail. */
void codefetch_error(struct codefetch *cf, const struct sl_msg *m);
/* waiter waits no more (ops->done will not be called for it); a fetch nobody waits for stops.
 * NULL-safe. */
void codefetch_cancel(struct codefetch *cf, void *waiter);
