// SPDX-License-Identifier: Apache-2.0
#include "daemon/logtail.h"

#include <string.h>

void sl_logtail_reset(struct sl_logtail *t)
{
	t->total = 0;
}

void sl_logtail_write(struct sl_logtail *t, const void *data, size_t len)
{
	const char *p = data;

	if (len > SL_LOGTAIL_SIZE) { /* only the end can survive */
		t->total += len - SL_LOGTAIL_SIZE;
		p += len - SL_LOGTAIL_SIZE;
		len = SL_LOGTAIL_SIZE;
	}
	while (len) {
		size_t at = (size_t)(t->total % SL_LOGTAIL_SIZE);
		size_t n = SL_LOGTAIL_SIZE - at < len ? SL_LOGTAIL_SIZE - at : len;

		memcpy(t->buf + at, p, n);
		t->total += n;
		p += n;
		len -= n;
	}
}

size_t sl_logtail_read(const struct sl_logtail *t, char *out)
{
	size_t at, first;

	if (t->total <= SL_LOGTAIL_SIZE) {
		memcpy(out, t->buf, (size_t)t->total);
		return (size_t)t->total;
	}
	at = (size_t)(t->total % SL_LOGTAIL_SIZE);
	first = SL_LOGTAIL_SIZE - at;
	memcpy(out, t->buf + at, first);
	memcpy(out + first, t->buf, at);
	return SL_LOGTAIL_SIZE;
}
