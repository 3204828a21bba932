// SPDX-License-Identifier: Apache-2.0
/*
 * The request bodies the Runtime API server holds for one sandbox: buffers, the spare kept for
 * reuse, and the budget they are counted against.
 */
#include "daemon/runtime-api-internal.h"

#include <sandlot/util.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/*
 * Body buffers past SPARE_MAX are mappings of their own, returned to the kernel when freed:
 * once malloc has freed a block that large it raises its mmap threshold and keeps the next
 * ones in its heap, so an oversize response would leave the agent that much larger for good.
 */
static char *buf_resize(char *p, size_t len, size_t old, size_t cap)
{
	char *n;

	if (cap <= SPARE_MAX)
		return realloc(p, cap);
	if (old > SPARE_MAX) {
		n = mremap(p, old, cap, MREMAP_MAYMOVE);
		return n == MAP_FAILED ? NULL : n;
	}
	n = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (n == MAP_FAILED)
		return NULL;
	if (len)
		memcpy(n, p, len);
	free(p);
	return n;
}

static void buf_free(char *p, size_t cap)
{
	if (p && cap > SPARE_MAX)
		munmap(p, cap);
	else
		free(p);
}

void sl_rtapi_body_release(struct req *q)
{
	struct sl_rtapi *srv = q->srv;

	if (q->body && q->cap <= SPARE_MAX && q->cap > srv->spare_cap) {
		free(srv->spare);
		srv->spare = q->body;
		srv->spare_cap = q->cap;
	} else {
		buf_free(q->body, q->cap);
	}
	q->body = NULL;
	q->len = q->cap = 0;
}

size_t sl_rtapi_held_bytes(const struct sl_rtapi *srv)
{
	size_t n = srv->spare_cap;

	for (unsigned i = 0; i < srv->n_reqs; i++)
		if (srv->reqs[i].in_use)
			n += srv->reqs[i].cap;
	return n;
}

bool sl_rtapi_body_reserve(struct req *q, size_t need)
{
	struct sl_rtapi *srv = q->srv;
	size_t cap = MIN(MAX(q->cap * 2, need), srv->max_payload);
	char *b;

	if (need <= q->cap)
		return true;
	if (!q->body && srv->spare && srv->spare_cap >= need) {
		q->body = TAKE_PTR(srv->spare);
		q->cap = srv->spare_cap;
		srv->spare_cap = 0;
		return true;
	}
	if (sl_rtapi_held_bytes(srv) - q->cap + cap > srv->max_payload + SPARE_MAX)
		return false;
	b = buf_resize(q->body, q->len, q->cap, cap);
	if (!b)
		return false;
	q->body = b;
	q->cap = cap;
	return true;
}

void sl_rtapi_body_append(struct req *q, const char *data, size_t n)
{
	if (q->too_large)
		return;
	if (n > q->srv->max_payload - q->len || !sl_rtapi_body_reserve(q, q->len + n)) {
		q->too_large = true; /* out of memory too: answered as 413, bounded either way */
		sl_rtapi_body_release(q);
		return;
	}
	memcpy(q->body + q->len, data, n);
	q->len += n;
}
