// SPDX-License-Identifier: Apache-2.0
/*
 * Code packages come from the control node over the link, one bounded chunk at a time, into a
 * temporary file of the state directory; once whole, the code cache verifies the SHA-256 and
 * unpacks it. Sandboxes that need the same package wait on one fetch.
 */
#include "daemon/agent.h"

#include <sandlot/log.h>
#include <sandlot/time.h>

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define FETCH_TIMEOUT_NS (10 * SL_NSEC_PER_SEC) /* per chunk */

struct code_fetch {
	struct code_fetch *next;
	struct agent *a;
	uint8_t sha[32];
	char hex[65];
	uint64_t size, received;
	uint32_t asked; /* length of the outstanding request */
	uint64_t corr;	/* its correlation id */
	int fd;
	char path[600];
	struct asb *waiters;
	struct sl_timer *timer;
};

static void to_hex(const uint8_t sha[32], char hex[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha[i]);
}

static void fetch_free(struct code_fetch *f)
{
	struct agent *a = f->a;

	for (struct code_fetch **p = &a->fetches; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	sl_loop_cancel_timer(a->loop, &f->timer);
	if (f->fd >= 0) {
		close(f->fd);
		unlink(f->path);
	}
	free(f);
}

/* Hands the outcome to every waiter, then frees the fetch. */
static void fetch_finish(struct code_fetch *f, int r, const char *why)
{
	struct agent *a = f->a;
	struct sl_codecache_entry *entry = NULL;
	struct asb *w = f->waiters;
	char reason[SL_CODECACHE_MAX_ERR + 64], hex[65];

	if (r == 0) {
		r = sl_codecache_add_file(a->cache, f->hex, f->path, &entry);
		if (r < 0) {
			snprintf(reason, sizeof(reason), "code %.12s: %s", f->hex,
				 sl_codecache_error(a->cache));
			why = reason;
		}
	}
	memcpy(hex, f->hex, sizeof(hex));
	f->waiters = NULL;
	fetch_free(f);
	while (w) {
		struct asb *next = w->fetch_next;

		w->fetch = NULL;
		w->fetch_next = NULL;
		if (r == 0 && !entry)
			r = sl_codecache_get(a->cache, hex, &entry) < 0 ? -ENOENT : 0;
		if (r == 0)
			w->code = TAKE_PTR(entry);
		worker_code_ready(w, r, why);
		w = next;
	}
	sl_codecache_release(a->cache, &entry);
}

static void on_timeout(struct sl_loop *loop, void *data)
{
	struct code_fetch *f = data;

	f->timer = NULL;
	fetch_finish(f, -ETIMEDOUT, "code fetch from the control node timed out");
}

static void request_next(struct code_fetch *f)
{
	struct agent *a = f->a;
	struct sl_msg m = {.type = SL_MSG_CODE_FETCH};

	f->asked = (uint32_t)MIN((uint64_t)SL_MSG_CHUNK_MAX, f->size - f->received);
	f->corr = ++a->next_corr;
	m.corr_id = f->corr;
	memcpy(m.fetch.sha256, f->sha, 32);
	m.fetch.offset = f->received;
	m.fetch.length = f->asked;
	control_send(a, &m);
	sl_loop_cancel_timer(a->loop, &f->timer);
	sl_loop_add_timer(a->loop, sl_now_ns() + FETCH_TIMEOUT_NS, on_timeout, f, &f->timer);
}

void codefetch_start(struct agent *a, struct asb *s, const uint8_t sha[32], uint64_t size)
{
	struct code_fetch *f;
	char hex[65];

	to_hex(sha, hex);
	snprintf(s->code_hex, sizeof(s->code_hex), "%s", hex);
	if (sl_codecache_get(a->cache, hex, &s->code) == 0) {
		worker_code_ready(s, 0, NULL);
		return;
	}
	for (f = a->fetches; f; f = f->next)
		if (memcmp(f->sha, sha, 32) == 0)
			break;
	if (!f) {
		if (size == 0 || size > SL_CODECACHE_MAX_ARCHIVE) {
			worker_code_ready(s, -EFBIG, "code package larger than allowed");
			return;
		}
		f = calloc(1, sizeof(*f));
		if (!f) {
			worker_code_ready(s, -ENOMEM, "out of memory");
			return;
		}
		f->a = a;
		memcpy(f->sha, sha, 32);
		memcpy(f->hex, hex, sizeof(hex));
		f->size = size;
		snprintf(f->path, sizeof(f->path), "%s/fetch-%s.zip", a->cfg.state_dir, hex);
		f->fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (f->fd < 0) {
			int r = sl_negerrno();

			free(f);
			worker_code_ready(s, r, "cannot store the code package");
			return;
		}
		f->next = a->fetches;
		a->fetches = f;
		request_next(f);
	}
	s->fetch = f;
	s->fetch_next = f->waiters;
	f->waiters = s;
}

static struct code_fetch *find_corr(struct agent *a, uint64_t corr)
{
	for (struct code_fetch *f = a->fetches; f; f = f->next)
		if (f->corr == corr)
			return f;
	return NULL;
}

void codefetch_chunk(struct agent *a, const struct sl_msg *m)
{
	const struct sl_msg_code_chunk *c = &m->chunk;
	struct code_fetch *f = find_corr(a, m->corr_id);

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

void codefetch_error(struct agent *a, const struct sl_msg *m)
{
	struct code_fetch *f = find_corr(a, m->corr_id);
	char why[SL_MSG_ERRMSG_MAX + 32];

	if (!f)
		return;
	snprintf(why, sizeof(why), "code fetch refused: %s", m->error.message);
	fetch_finish(f, -ENOENT, why);
}

void codefetch_cancel(struct asb *s)
{
	struct code_fetch *f = s->fetch;

	if (!f)
		return;
	for (struct asb **p = &f->waiters; *p; p = &(*p)->fetch_next)
		if (*p == s) {
			*p = s->fetch_next;
			break;
		}
	s->fetch = NULL;
	s->fetch_next = NULL;
	if (!f->waiters)
		fetch_free(f);
}

void codefetch_free_all(struct agent *a)
{
	while (a->fetches) {
		for (struct asb *w = a->fetches->waiters; w; w = w->fetch_next)
			w->fetch = NULL;
		fetch_free(a->fetches);
	}
}
