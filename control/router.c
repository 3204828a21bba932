// SPDX-License-Identifier: Apache-2.0
/* The sandbox table and warm routing (see router.h). */
#include "router.h"

#include <sandlot/util.h>

#include <string.h>

#define NBUCKETS 4096 /* sandboxes, function groups and hosts each; chains stay short to ~100k */

struct sb {
	struct sl_rsb pub;
	struct sb *next_id;	      /* bucket chain by id */
	struct sb *prev_fn, *next_fn; /* the function group's list */
	struct group *group;
	struct rhost *rhost;
};

struct group {
	char key[SL_ROUTER_KEY_MAX + 1];
	struct group *next;
	struct sb *head;
	uint32_t n;
};

struct rhost {
	uint64_t id;
	struct rhost *next; /* bucket chain by id */
	uint32_t sandboxes, busy;
	uint64_t memory_mb;
	uint64_t mark;	   /* sl_router_usage_of's pass that counted fn_count */
	uint32_t fn_count; /* the sandboxes of that pass's key */
};

struct sl_router {
	struct sb *ids[NBUCKETS];
	struct group *groups[NBUCKETS];
	struct rhost *hosts[NBUCKETS];
	size_t n, inflight;
	uint64_t mark; /* sl_router_usage_of's passes */
};

static unsigned hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NBUCKETS;
}

static unsigned hash_host(uint64_t id)
{
	return (unsigned)((id * 0x9e3779b97f4a7c15ULL) >> 52); /* Fibonacci hashing, 12 bits */
}

int sl_router_new(struct sl_router **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void sl_router_free(struct sl_router **rp)
{
	struct sl_router *r = *rp;

	if (!r)
		return;
	for (unsigned i = 0; i < NBUCKETS; i++) {
		for (struct sb *s = r->ids[i], *n; s; s = n) {
			n = s->next_id;
			free(s);
		}
		for (struct group *g = r->groups[i], *n; g; g = n) {
			n = g->next;
			free(g);
		}
	}
	for (unsigned i = 0; i < NBUCKETS; i++)
		for (struct rhost *h = r->hosts[i], *n; h; h = n) {
			n = h->next;
			free(h);
		}
	free(r);
	*rp = NULL;
}

static struct sb *find(const struct sl_router *r, const char *id)
{
	for (struct sb *s = r->ids[hash(id)]; s; s = s->next_id)
		if (strcmp(s->pub.id, id) == 0)
			return s;
	return NULL;
}

static struct group *group_of(struct sl_router *r, const char *key, bool create)
{
	unsigned b = hash(key);
	struct group *g;

	for (g = r->groups[b]; g; g = g->next)
		if (strcmp(g->key, key) == 0)
			return g;
	if (!create || !(g = calloc(1, sizeof(*g))))
		return NULL;
	snprintf(g->key, sizeof(g->key), "%s", key);
	g->next = r->groups[b];
	r->groups[b] = g;
	return g;
}

static void group_drop(struct sl_router *r, struct group *g)
{
	struct group **pp = &r->groups[hash(g->key)];

	while (*pp && *pp != g)
		pp = &(*pp)->next;
	if (*pp)
		*pp = g->next;
	free(g);
}

static struct rhost *host_of(struct sl_router *r, uint64_t id, bool create)
{
	unsigned b = hash_host(id);
	struct rhost *h;

	for (h = r->hosts[b]; h; h = h->next)
		if (h->id == id)
			return h;
	if (!create || !(h = calloc(1, sizeof(*h))))
		return NULL;
	h->id = id;
	h->next = r->hosts[b];
	r->hosts[b] = h;
	return h;
}

static bool is_busy(const struct sl_rsb *s)
{
	return s->inflight || s->state == SL_SANDBOX_BUSY || s->state == SL_SANDBOX_CREATED;
}

/* Keeps the host's busy count right around a change of s. */
#define BUSY_CHANGE(s, stmt)                                   \
	do {                                                   \
		bool was_ = is_busy(&(s)->pub);                \
		stmt;                                          \
		(s)->rhost->busy += is_busy(&(s)->pub) - was_; \
	} while (0)

int sl_router_add(struct sl_router *r, uint64_t host, const char *id, const char *key,
		  uint32_t memory_mb)
{
	struct sb *s;
	unsigned b;

	if (!sl_proto_valid_id(id) || !key || !*key || strlen(key) > SL_ROUTER_KEY_MAX)
		return -EINVAL;
	if (find(r, id))
		return -EEXIST;
	if (r->n >= SL_ROUTER_MAX)
		return -ENOSPC;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->group = group_of(r, key, true);
	s->rhost = host_of(r, host, true);
	if (!s->group || !s->rhost) {
		free(s);
		return -ENOMEM;
	}
	snprintf(s->pub.id, sizeof(s->pub.id), "%s", id);
	snprintf(s->pub.key, sizeof(s->pub.key), "%s", key);
	s->pub.host = host;
	s->pub.memory_mb = memory_mb;
	s->pub.state = SL_SANDBOX_CREATED;
	b = hash(id);
	s->next_id = r->ids[b];
	r->ids[b] = s;
	s->next_fn = s->group->head;
	if (s->next_fn)
		s->next_fn->prev_fn = s;
	s->group->head = s;
	s->group->n++;
	s->rhost->sandboxes++;
	s->rhost->busy++; /* CREATED */
	s->rhost->memory_mb += memory_mb;
	r->n++;
	return 0;
}

const struct sl_rsb *sl_router_get(const struct sl_router *r, const char *id)
{
	struct sb *s = find(r, id);

	return s ? &s->pub : NULL;
}

int sl_router_remove(struct sl_router *r, const char *id)
{
	struct sb **pp = &r->ids[hash(id)], *s;

	while (*pp && strcmp((*pp)->pub.id, id) != 0)
		pp = &(*pp)->next_id;
	s = *pp;
	if (!s)
		return -ENOENT;
	*pp = s->next_id;
	if (s->prev_fn)
		s->prev_fn->next_fn = s->next_fn;
	else
		s->group->head = s->next_fn;
	if (s->next_fn)
		s->next_fn->prev_fn = s->prev_fn;
	if (--s->group->n == 0)
		group_drop(r, s->group);
	s->rhost->sandboxes--;
	s->rhost->busy -= is_busy(&s->pub);
	s->rhost->memory_mb -= s->pub.memory_mb;
	r->inflight -= s->pub.inflight;
	r->n--;
	free(s);
	return 0;
}

int sl_router_report(struct sl_router *r, uint64_t host, const char *id, uint8_t state,
		     uint8_t reason)
{
	struct sb *s = find(r, id);

	if (!s)
		return -ENOENT;
	if (s->pub.host != host)
		return -EPERM;
	if (state == SL_SANDBOX_DESTROYED)
		return sl_router_remove(r, id);
	BUSY_CHANGE(s, (s->pub.state = state, s->pub.reason = reason));
	return 0;
}

/* 0: not routable; 1: busy only with the invocation that ended; 2: frozen; 3: idle. */
static int rank(const struct sl_rsb *s)
{
	if (s->inflight)
		return 0;
	switch (s->state) {
	case SL_SANDBOX_IDLE:
		return 3;
	case SL_SANDBOX_FROZEN:
		return 2;
	case SL_SANDBOX_BUSY:
		return s->reason == SL_REASON_INVOKE ? 1 : 0;
	default:
		return 0;
	}
}

static void set_inflight(struct sl_router *r, struct sb *s, bool on)
{
	BUSY_CHANGE(s, s->pub.inflight = on);
	if (on)
		r->inflight++;
	else
		r->inflight--;
}

const struct sl_rsb *sl_router_pick(struct sl_router *r, const char *key, sl_router_host_ok_fn ok,
				    void *data)
{
	struct group *g = group_of(r, key, false);
	struct sb *best = NULL;
	int best_rank = 0;
	uint32_t best_load = 0;

	for (struct sb *s = g ? g->head : NULL; s; s = s->next_fn) {
		int rk = rank(&s->pub);
		uint32_t load = s->rhost->busy;

		if (!rk || (ok && !ok(data, s->pub.host)))
			continue;
		if (best && (load < best_load || (load == best_load && rk <= best_rank)))
			continue;
		best = s;
		best_rank = rk;
		best_load = load;
	}
	if (!best)
		return NULL;
	set_inflight(r, best, true);
	return &best->pub;
}

int sl_router_claim(struct sl_router *r, const char *id)
{
	struct sb *s = find(r, id);

	if (!s)
		return -ENOENT;
	if (s->pub.inflight)
		return -EBUSY;
	set_inflight(r, s, true);
	return 0;
}

int sl_router_release(struct sl_router *r, const char *id)
{
	struct sb *s = find(r, id);

	if (!s)
		return -ENOENT;
	if (s->pub.inflight)
		set_inflight(r, s, false);
	return 0;
}

unsigned sl_router_drop_host(struct sl_router *r, uint64_t host)
{
	unsigned n = 0;

	for (unsigned i = 0; i < NBUCKETS; i++)
		for (struct sb *s = r->ids[i], *next; s; s = next) {
			next = s->next_id;
			if (s->pub.host == host && sl_router_remove(r, s->pub.id) == 0)
				n++;
		}
	return n;
}

void sl_router_each(const struct sl_router *r, const char *prefix,
		    void (*fn)(const struct sl_rsb *sb, void *data), void *data)
{
	size_t plen = strlen(prefix);

	for (unsigned i = 0; i < NBUCKETS; i++)
		for (struct sb *s = r->ids[i]; s; s = s->next_id)
			if (strncmp(s->pub.key, prefix, plen) == 0)
				fn(&s->pub, data);
}

bool sl_router_host_usage(const struct sl_router *r, uint64_t host, uint32_t *ret_sandboxes,
			  uint32_t *ret_busy, uint64_t *ret_memory_mb)
{
	struct rhost *h = host_of((struct sl_router *)r, host, false);

	*ret_sandboxes = h ? h->sandboxes : 0;
	*ret_busy = h ? h->busy : 0;
	*ret_memory_mb = h ? h->memory_mb : 0;
	return h != NULL;
}

uint32_t sl_router_count(const struct sl_router *r, const char *key, uint64_t host)
{
	struct group *g = group_of((struct sl_router *)r, key, false);
	uint32_t n = 0;

	for (struct sb *s = g ? g->head : NULL; s; s = s->next_fn)
		n += s->pub.host == host;
	return n;
}

void sl_router_usage_of(struct sl_router *r, const char *key, const uint64_t *hosts, size_t n,
			struct sl_router_usage *ret)
{
	struct group *g = group_of(r, key, false);
	uint64_t mark = ++r->mark;

	for (struct sb *s = g ? g->head : NULL; s; s = s->next_fn) {
		if (s->rhost->mark != mark) {
			s->rhost->mark = mark;
			s->rhost->fn_count = 0;
		}
		s->rhost->fn_count++;
	}
	for (size_t i = 0; i < n; i++) {
		const struct rhost *h = host_of(r, hosts[i], false);

		ret[i] = h ? (struct sl_router_usage){.sandboxes = h->sandboxes,
						      .busy = h->busy,
						      .memory_mb = h->memory_mb,
						      .fn_sandboxes =
							      h->mark == mark ? h->fn_count : 0}
			   : (struct sl_router_usage){.sandboxes = 0};
	}
}

size_t sl_router_size(const struct sl_router *r)
{
	return r->n;
}

size_t sl_router_inflight(const struct sl_router *r)
{
	return r->inflight;
}
