// SPDX-License-Identifier: Apache-2.0
/*
 * Code packages come from the control node over the link, one bounded chunk at a time, into a
 * temporary file of the state directory; once whole, the code cache verifies the SHA-256 and
 * unpacks it. Waiters of the same package wait on one fetch.
 */
#include "daemon/codefetch.h"

#include <sandlot/log.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FETCH_TIMEOUT_NS (10 * SL_NSEC_PER_SEC) /* per chunk */

struct waiter {
	struct waiter *next;
	void *cookie;
};

struct fetch {
	struct fetch *next;
	struct codefetch *cf;
	uint8_t sha[32];
	char hex[65];
	uint64_t size, received;
	uint32_t asked; /* length of the outstanding request */
	uint64_t corr;	/* its correlation id */
	bool finished;	/* its waiters are being told: no chunk or new waiter matches it */
	int fd;
	char path[600];
	struct waiter *waiters;
	struct sl_timer *timer;
};

struct codefetch {
	struct sl_loop *loop;
	struct sl_codecache *cache;
	char state_dir[512];
	struct codefetch_ops ops;
	struct fetch *fetches;
};

static void to_hex(const uint8_t sha[32], char hex[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha[i]);
}

static void fetch_free(struct fetch *f)
{
	struct codefetch *cf = f->cf;

	for (struct fetch **p = &cf->fetches; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	sl_loop_cancel_timer(cf->loop, &f->timer);
	if (f->fd >= 0) {
		close(f->fd);
		unlink(f->path);
	}
	while (f->waiters) {
		struct waiter *w = f->waiters;

		f->waiters = w->next;
		free(w);
	}
	free(f);
}

/*
 * Hands the outcome to every waiter, then frees the fetch. The waiters stay on the fetch
 * until their turn, so that a waiter cancelled from inside another's callback is not called.
 */
static void fetch_finish(struct fetch *f, int r, const char *why)
{
	struct codefetch *cf = f->cf;
	struct sl_codecache_entry *entry = NULL;
	char reason[SL_CODECACHE_MAX_ERR + 64];

	f->finished = true;
	sl_loop_cancel_timer(cf->loop, &f->timer);
	if (r == 0) {
		r = sl_codecache_add_file(cf->cache, f->hex, f->path, &entry);
		if (r < 0) {
			snprintf(reason, sizeof(reason), "code %.12s: %s", f->hex,
				 sl_codecache_error(cf->cache));
			why = reason;
		}
	}
	close(f->fd);
	f->fd = -1;
	unlink(f->path);
	while (f->waiters) {
		struct waiter *w = f->waiters;
		void *cookie = w->cookie;

		f->waiters = w->next;
		free(w);
		if (r == 0 && !entry)
			r = sl_codecache_get(cf->cache, f->hex, &entry) < 0 ? -ENOENT : 0;
		cf->ops.done(cf->ops.data, cookie, r, why, &entry);
	}
	sl_codecache_release(cf->cache, &entry);
	fetch_free(f);
}

static void on_timeout(struct sl_loop *loop, void *data)
{
	struct fetch *f = data;

	f->timer = NULL;
	fetch_finish(f, -ETIMEDOUT, "code fetch from the control node timed out");
}

static void request_next(struct fetch *f)
{
	struct codefetch *cf = f->cf;
	struct sl_msg m = {.type = SL_MSG_CODE_FETCH};

	f->asked = (uint32_t)MIN((uint64_t)SL_MSG_CHUNK_MAX, f->size - f->received);
	memcpy(m.fetch.sha256, f->sha, 32);
	m.fetch.offset = f->received;
	m.fetch.length = f->asked;
	cf->ops.send(cf->ops.data, &m);
	f->corr = m.corr_id;
	sl_loop_cancel_timer(cf->loop, &f->timer);
	sl_loop_add_timer(cf->loop, sl_now_ns() + FETCH_TIMEOUT_NS, on_timeout, f, &f->timer);
}

/* A new fetch of sha, its first chunk asked for; NULL with *ret_r and *ret_why on failure. */
static struct fetch *fetch_new(struct codefetch *cf, const uint8_t sha[32], const char *hex,
			       uint64_t size, int *ret_r, const char **ret_why)
{
	struct fetch *f;

	if (size == 0 || size > SL_CODECACHE_MAX_ARCHIVE) {
		*ret_r = -EFBIG;
		*ret_why = "code package larger than allowed";
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		*ret_r = -ENOMEM;
		*ret_why = "out of memory";
		return NULL;
	}
	f->cf = cf;
	memcpy(f->sha, sha, 32);
	memcpy(f->hex, hex, sizeof(f->hex));
	f->size = size;
	snprintf(f->path, sizeof(f->path), "%s/fetch-%s.zip", cf->state_dir, hex);
	f->fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		*ret_r = sl_negerrno();
		*ret_why = "cannot store the code package";
		free(f);
		return NULL;
	}
	f->next = cf->fetches;
	cf->fetches = f;
	request_next(f);
	return f;
}

void codefetch_start(struct codefetch *cf, void *waiter, const uint8_t sha[32], uint64_t size)
{
	struct sl_codecache_entry *entry = NULL;
	const char *why = NULL;
	struct waiter *w;
	struct fetch *f;
	char hex[65];
	int r = 0;

	to_hex(sha, hex);
	if (sl_codecache_get(cf->cache, hex, &entry) == 0) {
		cf->ops.done(cf->ops.data, waiter, 0, NULL, &entry);
		sl_codecache_release(cf->cache, &entry);
		return;
	}
	for (f = cf->fetches; f; f = f->next)
		if (!f->finished && memcmp(f->sha, sha, 32) == 0)
			break;
	w = calloc(1, sizeof(*w));
	if (!w) {
		r = -ENOMEM;
		why = "out of memory";
	} else if (!f) {
		f = fetch_new(cf, sha, hex, size, &r, &why);
	}
	if (r < 0) {
		free(w);
		cf->ops.done(cf->ops.data, waiter, r, why, &entry);
		return;
	}
	w->cookie = waiter;
	w->next = f->waiters;
	f->waiters = w;
}

static struct fetch *find_corr(struct codefetch *cf, uint64_t corr)
{
	for (struct fetch *f = cf->fetches; f; f = f->next)
		if (!f->finished && f->corr == corr)
			return f;
	return NULL;
}

void codefetch_chunk(struct codefetch *cf, const struct sl_msg *m)
{
	const struct sl_msg_code_chunk *c = &m->chunk;
	struct fetch *f = find_corr(cf, m->corr_id);

	if (!f) {
		sl_debug("code chunk for no outstanding fetch (corr %llu)",
			 (unsigned long long)m->corr_id);
		return;
	}
	if (memcmp(c->sha256, f->sha, 32) != 0 || c->total_size != f->size ||
	    c->offset != f->received || c->data_len != f->asked) {
		fetch_finish(f, -EBADMSG, "the control node sent a chunk we did not ask for");
		return;
	}
	if (pwrite(f->fd, c->data, c->data_len, (off_t)c->offset) != (ssize_t)c->data_len) {
		fetch_finish(f, sl_negerrno(), "cannot store the code package");
		return;
	}
	f->received += c->data_len;
	if (f->received < f->size) {
		request_next(f);
		return;
	}
	fetch_finish(f, 0, NULL);
}

void codefetch_error(struct codefetch *cf, const struct sl_msg *m)
{
	struct fetch *f = find_corr(cf, m->corr_id);
	char why[SL_MSG_ERRMSG_MAX + 32];

	if (!f)
		return;
	snprintf(why, sizeof(why), "code fetch refused: %s", m->error.message);
	fetch_finish(f, -ENOENT, why);
}

void codefetch_cancel(struct codefetch *cf, void *waiter)
{
	if (!cf)
		return;
	for (struct fetch *f = cf->fetches; f; f = f->next)
		for (struct waiter **p = &f->waiters; *p; p = &(*p)->next)
			if ((*p)->cookie == waiter) {
				struct waiter *w = *p;

				*p = w->next;
				free(w);
				if (!f->waiters && !f->finished)
					fetch_free(f);
				return;
			}
}

int codefetch_new(struct codefetch **ret, struct sl_loop *loop, struct sl_codecache *cache,
		  const char *state_dir, const struct codefetch_ops *ops)
{
	struct codefetch *cf = calloc(1, sizeof(*cf));

	if (!cf)
		return -ENOMEM;
	cf->loop = loop;
	cf->cache = cache;
	cf->ops = *ops;
	snprintf(cf->state_dir, sizeof(cf->state_dir), "%s", state_dir);
	*ret = cf;
	return 0;
}

void codefetch_free(struct codefetch **cfp)
{
	struct codefetch *cf = *cfp;

	if (!cf)
		return;
	while (cf->fetches)
		fetch_free(cf->fetches);
	free(cf);
	*cfp = NULL;
}
