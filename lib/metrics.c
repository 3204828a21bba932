// SPDX-License-Identifier: Apache-2.0
/*
 * Metrics registry and Prometheus text format 0.0.4 writer (see include/sandlot/metrics.h).
 * Series of a family sit in a list (output order) and a chained hash table on their label
 * values (find, duplicate check and removal stay O(1) with thousands of sandboxes).
 */
#include <sandlot/metrics.h>
#include <sandlot/util.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sl_metric_series {
	struct sl_metric_series *prev, *next; /* output order */
	struct sl_metric_series *hnext;	      /* hash chain */
	struct sl_metric_family *f;
	uint64_t hash;
	double value; /* counter, gauge; histogram: sum */
	uint64_t count;
	uint64_t *buckets; /* histogram: observations per bucket (not cumulative) */
	size_t keylen;
	char key[]; /* the label values, each followed by '\0' */
};

struct sl_metric_family {
	struct sl_metric_family *next;
	char *name, *help;
	enum sl_metric_type type;
	char *labels[SL_METRICS_LABELS_MAX];
	size_t n_labels;
	double buckets[SL_METRICS_BUCKETS_MAX];
	size_t n_buckets;
	struct sl_metric_series *head, *tail;
	struct sl_metric_series **table;
	size_t table_size, count; /* table_size: a power of two */
};

struct sl_metrics {
	struct sl_metric_family *head, *tail;
};

int sl_metrics_new(struct sl_metrics **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

static void family_free(struct sl_metric_family *f)
{
	sl_metric_clear(f);
	free(f->table);
	for (size_t i = 0; i < f->n_labels; i++)
		free(f->labels[i]);
	free(f->name);
	free(f->help);
	free(f);
}

void sl_metrics_free(struct sl_metrics **mp)
{
	struct sl_metrics *m = *mp;

	if (!m)
		return;
	while (m->head) {
		struct sl_metric_family *f = m->head;

		m->head = f->next;
		family_free(f);
	}
	free(m);
	*mp = NULL;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metrics, without ':' for labels. */
static bool valid_name(const char *s, bool colon)
{
	size_t n = strnlen(s, SL_METRICS_NAME_MAX + 1);

	if (n == 0 || n > SL_METRICS_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || (colon && c == ':')))
			return false;
	}
	return true;
}

static bool valid_labels(enum sl_metric_type type, const char *const *labels, size_t n)
{
	if (n > SL_METRICS_LABELS_MAX || (n && !labels))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!valid_name(labels[i], false) || strncmp(labels[i], "__", 2) == 0 ||
		    (type == SL_METRIC_HISTOGRAM && strcmp(labels[i], "le") == 0))
			return false;
		for (size_t j = 0; j < i; j++)
			if (strcmp(labels[i], labels[j]) == 0)
				return false;
	}
	return true;
}

static bool valid_buckets(enum sl_metric_type type, const double *b, size_t n)
{
	if (type != SL_METRIC_HISTOGRAM)
		return n == 0;
	if (n == 0 || n > SL_METRICS_BUCKETS_MAX || !b)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(b[i]) || (i && b[i] <= b[i - 1]))
			return false;
	return true;
}

static struct sl_metric_family *find_family(const struct sl_metrics *m, const char *name)
{
	for (struct sl_metric_family *f = m->head; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

int sl_metrics_family(struct sl_metrics *m, const char *name, const char *help,
		      enum sl_metric_type type, const char *const *labels, size_t n_labels,
		      const double *buckets, size_t n_buckets, struct sl_metric_family **ret)
{
	struct sl_metric_family *f;

	if (!valid_name(name, true) || !help || strnlen(help, SL_METRICS_HELP_MAX + 1) == 0 ||
	    strnlen(help, SL_METRICS_HELP_MAX + 1) > SL_METRICS_HELP_MAX ||
	    type > SL_METRIC_HISTOGRAM || !valid_labels(type, labels, n_labels) ||
	    !valid_buckets(type, buckets, n_buckets))
		return -EINVAL;
	if (find_family(m, name))
		return -EEXIST;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->type = type;
	f->name = strdup(name);
	f->help = strdup(help);
	for (size_t i = 0; i < n_labels; i++)
		if ((f->labels[f->n_labels++] = strdup(labels[i])) == NULL)
			goto oom;
	if (!f->name || !f->help)
		goto oom;
	if (n_buckets)
		memcpy(f->buckets, buckets, n_buckets * sizeof(*buckets));
	f->n_buckets = n_buckets;
	if (m->tail)
		m->tail->next = f;
	else
		m->head = f;
	m->tail = f;
	if (ret)
		*ret = f;
	return 0;
oom:
	family_free(f);
	return -ENOMEM;
}

/* ---- series ---- */

static bool valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t len = c < 0x80	      ? 1
			     : (c >> 5) == 6  ? 2
			     : (c >> 4) == 14 ? 3
			     : (c >> 3) == 30 ? 4
					      : 0;
		uint32_t cp;

		if (len == 0 || i + len > n)
			return false;
		cp = len == 1 ? c : c & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp < 0xe000))
			return false;
		i += len;
	}
	return true;
}

/* Joins the values into buf (each followed by '\0'). The key's length or -EINVAL. */
static ssize_t make_key(const struct sl_metric_family *f, const char *const *values, char *buf,
			size_t size)
{
	size_t len = 0;

	if (f->n_labels && !values)
		return -EINVAL;
	for (size_t i = 0; i < f->n_labels; i++) {
		size_t n;

		if (!values[i])
			return -EINVAL;
		n = strnlen(values[i], SL_METRICS_VALUE_MAX + 1);
		if (n > SL_METRICS_VALUE_MAX || !valid_utf8((const unsigned char *)values[i], n) ||
		    len + n + 1 > size)
			return -EINVAL;
		memcpy(buf + len, values[i], n + 1);
		len += n + 1;
	}
	return (ssize_t)len;
}

static uint64_t hash_key(const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 0x100000001b3ULL;
	return h;
}

static struct sl_metric_series *lookup(const struct sl_metric_family *f, const char *key,
				       size_t len, uint64_t h)
{
	if (!f->table)
		return NULL;
	for (struct sl_metric_series *s = f->table[h & (f->table_size - 1)]; s; s = s->hnext)
		if (s->hash == h && s->keylen == len && memcmp(s->key, key, len) == 0)
			return s;
	return NULL;
}

static int grow(struct sl_metric_family *f)
{
	size_t size = f->table_size ? f->table_size * 2 : 16;
	struct sl_metric_series **t = calloc(size, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (struct sl_metric_series *s = f->head; s; s = s->next) {
		s->hnext = t[s->hash & (size - 1)];
		t[s->hash & (size - 1)] = s;
	}
	free(f->table);
	f->table = t;
	f->table_size = size;
	return 0;
}

static int insert(struct sl_metric_family *f, const char *key, size_t len, uint64_t h,
		  struct sl_metric_series **ret)
{
	struct sl_metric_series *s;
	size_t slot;

	if (f->count + 1 > f->table_size && grow(f) < 0)
		return -ENOMEM;
	s = calloc(1, sizeof(*s) + len + 1);
	if (!s)
		return -ENOMEM;
	if (f->type == SL_METRIC_HISTOGRAM) {
		s->buckets = calloc(f->n_buckets, sizeof(*s->buckets));
		if (!s->buckets) {
			free(s);
			return -ENOMEM;
		}
	}
	s->f = f;
	s->hash = h;
	s->keylen = len;
	memcpy(s->key, key, len);
	slot = h & (f->table_size - 1);
	s->hnext = f->table[slot];
	f->table[slot] = s;
	s->prev = f->tail;
	if (f->tail)
		f->tail->next = s;
	else
		f->head = s;
	f->tail = s;
	f->count++;
	*ret = s;
	return 0;
}

static int get_series(struct sl_metric_family *f, const char *const *values, bool must_be_new,
		      struct sl_metric_series **ret)
{
	char key[SL_METRICS_LABELS_MAX * (SL_METRICS_VALUE_MAX + 1)];
	ssize_t len = make_key(f, values, key, sizeof(key));
	struct sl_metric_series *s;
	uint64_t h;

	if (len < 0)
		return (int)len;
	h = hash_key(key, (size_t)len);
	s = lookup(f, key, (size_t)len, h);
	if (s) {
		if (must_be_new)
			return -EEXIST;
		*ret = s;
		return 0;
	}
	return insert(f, key, (size_t)len, h, ret);
}

int sl_metric_series(struct sl_metric_family *f, const char *const *values,
		     struct sl_metric_series **ret)
{
	return get_series(f, values, false, ret);
}

int sl_metric_series_new(struct sl_metric_family *f, const char *const *values,
			 struct sl_metric_series **ret)
{
	return get_series(f, values, true, ret);
}

static void unlink_series(struct sl_metric_family *f, struct sl_metric_series *s)
{
	struct sl_metric_series **pp = &f->table[s->hash & (f->table_size - 1)];

	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	if (s->prev)
		s->prev->next = s->next;
	else
		f->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		f->tail = s->prev;
	f->count--;
	free(s->buckets);
	free(s);
}

int sl_metric_remove(struct sl_metric_family *f, const char *const *values)
{
	char key[SL_METRICS_LABELS_MAX * (SL_METRICS_VALUE_MAX + 1)];
	ssize_t len = make_key(f, values, key, sizeof(key));
	struct sl_metric_series *s;

	if (len < 0)
		return -ENOENT;
	s = lookup(f, key, (size_t)len, hash_key(key, (size_t)len));
	if (!s)
		return -ENOENT;
	unlink_series(f, s);
	return 0;
}

/* The i-th label value of s. */
static const char *value_at(const struct sl_metric_series *s, size_t i)
{
	const char *p = s->key;

	while (i--)
		p += strlen(p) + 1;
	return p;
}

int sl_metric_remove_matching(struct sl_metric_family *f, const char *label, const char *value)
{
	struct sl_metric_series *s, *next;
	size_t idx = f->n_labels;
	int n = 0;

	for (size_t i = 0; i < f->n_labels; i++)
		if (strcmp(f->labels[i], label) == 0)
			idx = i;
	if (idx == f->n_labels)
		return -EINVAL;
	for (s = f->head; s; s = next) {
		next = s->next;
		if (strcmp(value_at(s, idx), value) == 0) {
			unlink_series(f, s);
			n++;
		}
	}
	return n;
}

void sl_metric_clear(struct sl_metric_family *f)
{
	while (f->head)
		unlink_series(f, f->head);
}

size_t sl_metric_count(const struct sl_metric_family *f)
{
	return f->count;
}

/* ---- values ---- */

int sl_metric_set(struct sl_metric_series *s, double v)
{
	if (s->f->type == SL_METRIC_HISTOGRAM)
		return -EINVAL;
	s->value = v;
	return 0;
}

int sl_metric_add(struct sl_metric_series *s, double v)
{
	if (s->f->type == SL_METRIC_HISTOGRAM || (s->f->type == SL_METRIC_COUNTER && !(v >= 0)))
		return -EINVAL;
	s->value += v;
	return 0;
}

int sl_metric_observe(struct sl_metric_series *s, double v)
{
	const struct sl_metric_family *f = s->f;

	if (f->type != SL_METRIC_HISTOGRAM || isnan(v))
		return -EINVAL;
	for (size_t i = 0; i < f->n_buckets; i++)
		if (v <= f->buckets[i]) {
			s->buckets[i]++;
			break;
		}
	s->count++;
	s->value += v;
	return 0;
}

static int only_series(struct sl_metric_family *f, struct sl_metric_series **ret)
{
	if (f->n_labels)
		return -EINVAL;
	return sl_metric_series(f, NULL, ret);
}

int sl_metric_family_set(struct sl_metric_family *f, double v)
{
	struct sl_metric_series *s;
	int r = only_series(f, &s);

	return r < 0 ? r : sl_metric_set(s, v);
}

int sl_metric_family_add(struct sl_metric_family *f, double v)
{
	struct sl_metric_series *s;
	int r = only_series(f, &s);

	return r < 0 ? r : sl_metric_add(s, v);
}

int sl_metric_family_observe(struct sl_metric_family *f, double v)
{
	struct sl_metric_series *s;
	int r = only_series(f, &s);

	return r < 0 ? r : sl_metric_observe(s, v);
}

/* ---- text format 0.0.4 ---- */

/* The output: a growing buffer (a scrape of 1,000 sandboxes is ~1.3 MB, ~13,000 lines). */
struct out {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *p;

		while (cap < o->len + n + 1)
			cap *= 2;
		p = realloc(o->p, cap);
		if (!p) {
			o->oom = true;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/*
 * Integers (most counters) exactly as integers; other values in the shortest of %.15g / %.17g
 * that reads back as v; +Inf, -Inf, NaN as the format spells them.
 */
static const char *fmt_double(char buf[static 40], double v)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	if (v == floor(v) && fabs(v) < 9007199254740992.0) { /* 2^53: every integer exact */
		uint64_t u = (uint64_t)fabs(v);
		char *p = buf + 39;

		*p = '\0';
		do {
			*--p = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (v < 0)
			*--p = '-';
		return p;
	}
	snprintf(buf, 40, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, 40, "%.17g", v);
	return buf;
}

/* HELP escapes \ and newline; label values also ". */
static void put_escaped(struct out *o, const char *s, bool quote)
{
	const char *special = quote ? "\\\n\"" : "\\\n";

	for (size_t n; *s; s += n) {
		n = strcspn(s, special);
		put(o, s, n);
		if (!s[n])
			break;
		puts_(o, s[n] == '\\' ? "\\\\" : s[n] == '\n' ? "\\n" : "\\\"");
		n++;
	}
}

/* name{labels[,le="..."]} value */
static void put_sample(struct out *o, const struct sl_metric_series *s, const char *suffix,
		       const char *le, double v)
{
	const struct sl_metric_family *f = s->f;
	const char *p = s->key;
	char num[40];

	puts_(o, f->name);
	puts_(o, suffix);
	if (f->n_labels || le) {
		put(o, "{", 1);
		for (size_t i = 0; i < f->n_labels; i++, p += strlen(p) + 1) {
			if (i)
				put(o, ",", 1);
			puts_(o, f->labels[i]);
			put(o, "=\"", 2);
			put_escaped(o, p, true);
			put(o, "\"", 1);
		}
		if (le) {
			puts_(o, f->n_labels ? ",le=\"" : "le=\"");
			puts_(o, le);
			put(o, "\"", 1);
		}
		put(o, "}", 1);
	}
	put(o, " ", 1);
	puts_(o, fmt_double(num, v));
	put(o, "\n", 1);
}

static void put_histogram(struct out *o, const struct sl_metric_series *s)
{
	const struct sl_metric_family *f = s->f;
	uint64_t cum = 0;
	char le[40];

	for (size_t i = 0; i < f->n_buckets; i++) {
		cum += s->buckets[i];
		put_sample(o, s, "_bucket", fmt_double(le, f->buckets[i]), (double)cum);
	}
	put_sample(o, s, "_bucket", "+Inf", (double)s->count);
	put_sample(o, s, "_sum", NULL, s->value);
	put_sample(o, s, "_count", NULL, (double)s->count);
}

static const char *type_name(enum sl_metric_type t)
{
	return t == SL_METRIC_COUNTER ? "counter" : t == SL_METRIC_GAUGE ? "gauge" : "histogram";
}

int sl_metrics_write(const struct sl_metrics *m, char **ret, size_t *ret_len)
{
	struct out o = {0};

	put(&o, "", 0); /* an empty exposition is "", not NULL */
	for (const struct sl_metric_family *f = m->head; f; f = f->next) {
		if (!f->head)
			continue;
		puts_(&o, "# HELP ");
		puts_(&o, f->name);
		put(&o, " ", 1);
		put_escaped(&o, f->help, false);
		puts_(&o, "\n# TYPE ");
		puts_(&o, f->name);
		put(&o, " ", 1);
		puts_(&o, type_name(f->type));
		put(&o, "\n", 1);
		for (const struct sl_metric_series *s = f->head; s; s = s->next)
			if (f->type == SL_METRIC_HISTOGRAM)
				put_histogram(&o, s);
			else
				put_sample(&o, s, "", NULL, s->value);
	}
	if (o.oom) {
		free(o.p);
		return -ENOMEM;
	}
	*ret = o.p;
	if (ret_len)
		*ret_len = o.len;
	return 0;
}
