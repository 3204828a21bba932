// SPDX-License-Identifier: Apache-2.0
/* Replay tracker: a sorted array of senders, binary-searched by id. */
#include <sandlot/replay.h>
#include <sandlot/util.h>

#include <stdbool.h>
#include <string.h>

struct sender {
	uint64_t id;
	uint64_t nonce;
	uint64_t max_seq;
	uint64_t seen;	  /* bit i: max_seq - i was accepted */
	uint64_t last_ts; /* newest accepted timestamp */
};

struct sl_replay {
	uint64_t window_ns;
	uint32_t max, count;
	struct sender *s; /* sorted by id */
};

int sl_replay_new(struct sl_replay **ret, uint32_t max_senders, uint64_t window_ns)
{
	struct sl_replay *r;

	if (!ret || max_senders == 0 || window_ns == 0)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->s = calloc(max_senders, sizeof(*r->s));
	if (!r->s) {
		free(r);
		return -ENOMEM;
	}
	r->max = max_senders;
	r->window_ns = window_ns;
	*ret = r;
	return 0;
}

void sl_replay_free(struct sl_replay **r)
{
	if (!r || !*r)
		return;
	free((*r)->s);
	free(*r);
	*r = NULL;
}

uint32_t sl_replay_count(const struct sl_replay *r)
{
	return r ? r->count : 0;
}

/* Index of id, or of where it would be inserted; *found tells which. */
static uint32_t find(const struct sl_replay *r, uint64_t id, bool *found)
{
	uint32_t lo = 0, hi = r->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (r->s[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < r->count && r->s[lo].id == id;
	return lo;
}

/* Forgets the stalest sender whose newest frame is outside the window. Returns false if none. */
static bool evict_stale(struct sl_replay *r, uint64_t now_ns)
{
	uint32_t victim = r->count;

	for (uint32_t i = 0; i < r->count; i++)
		if (r->s[i].last_ts + r->window_ns < now_ns &&
		    (victim == r->count || r->s[i].last_ts < r->s[victim].last_ts))
			victim = i;
	if (victim == r->count)
		return false;
	memmove(&r->s[victim], &r->s[victim + 1], (r->count - victim - 1) * sizeof(*r->s));
	r->count--;
	return true;
}

static int add_sender(struct sl_replay *r, uint64_t src, uint64_t nonce, uint64_t seq,
		      uint64_t ts_ns, uint64_t now_ns)
{
	bool found;
	uint32_t i;

	if (r->count == r->max && !evict_stale(r, now_ns))
		return -ENOSPC;
	i = find(r, src, &found);
	memmove(&r->s[i + 1], &r->s[i], (r->count - i) * sizeof(*r->s));
	r->s[i] = (struct sender){
		.id = src, .nonce = nonce, .max_seq = seq, .seen = 1, .last_ts = ts_ns};
	r->count++;
	return 1;
}

static int accept_seq(struct sender *s, uint64_t seq, uint64_t ts_ns)
{
	if (seq > s->max_seq) {
		uint64_t shift = seq - s->max_seq;

		s->seen = shift >= SL_REPLAY_SEQ_WINDOW ? 1 : (s->seen << shift) | 1;
		s->max_seq = seq;
	} else {
		uint64_t age = s->max_seq - seq;

		if (age >= SL_REPLAY_SEQ_WINDOW || (s->seen & (1ull << age)))
			return -EALREADY;
		s->seen |= 1ull << age;
	}
	s->last_ts = MAX(s->last_ts, ts_ns);
	return 0;
}

int sl_replay_accept(struct sl_replay *r, uint64_t src, uint64_t nonce, uint64_t seq,
		     uint64_t ts_ns, uint64_t now_ns)
{
	struct sender *s;
	bool found;
	uint32_t i;

	if (!r || src == 0 || nonce == 0 || seq == 0)
		return -EINVAL;
	if ((ts_ns > now_ns ? ts_ns - now_ns : now_ns - ts_ns) > r->window_ns)
		return -ETIME;
	i = find(r, src, &found);
	if (!found)
		return add_sender(r, src, nonce, seq, ts_ns, now_ns);
	s = &r->s[i];
	if (s->nonce == nonce)
		return accept_seq(s, seq, ts_ns);
	if (ts_ns <= s->last_ts)
		return -ETIME;
	*s = (struct sender){
		.id = src, .nonce = nonce, .max_seq = seq, .seen = 1, .last_ts = ts_ns};
	return 1;
}
