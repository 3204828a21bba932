/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A small metrics registry and its Prometheus text format 0.0.4 writer, shared by the agent and
 * the control node (Debian has no maintained C client: only prometheus-cpp, a C++ library).
 *
 * A registry holds families in registration order; a family has a name, help text, a type and
 * a fixed list of label names; its series are its label values (one series per distinct value
 * list). Histograms have fixed bucket bounds given at registration. Names are validated when a
 * family is registered, label values when a series is made (bounded length, any UTF-8 text;
 * the writer escapes them). Families are never built from run-time names; series come and go
 * (a sandbox's series are removed when it is destroyed).
 *
 * Nothing here locks: one thread owns a registry (the daemons' event loops).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_METRICS_NAME_MAX    128 /* metric and label names */
#define SL_METRICS_HELP_MAX    512
#define SL_METRICS_LABELS_MAX  8   /* label names per family */
#define SL_METRICS_VALUE_MAX   256 /* bytes of one label value */
#define SL_METRICS_BUCKETS_MAX 32

/* The Content-Type of what sl_metrics_write() produces. */
#define SL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum sl_metric_type {
	SL_METRIC_COUNTER,
	SL_METRIC_GAUGE,
	SL_METRIC_HISTOGRAM,
};

struct sl_metrics;
struct sl_metric_family;
struct sl_metric_series;

/* A new empty registry. 0 or -ENOMEM. */
int sl_metrics_new(struct sl_metrics **ret);

/* Frees the registry, its families and series. NULL-safe; sets *m to NULL. */
void sl_metrics_free(struct sl_metrics **m);

/*
 * Registers a family. labels: n_labels label names (none may be "le" for a histogram, none may
 * start with "__"); buckets: n_buckets strictly increasing finite upper bounds, histograms only
 * (+Inf is implicit). The family belongs to m. Returns 0, -EINVAL on a bad name, label, help or
 * bucket list, -EEXIST when m already has a family of that name, -ENOMEM.
 */
int sl_metrics_family(struct sl_metrics *m, const char *name, const char *help,
		      enum sl_metric_type type, const char *const *labels, size_t n_labels,
		      const double *buckets, size_t n_buckets, struct sl_metric_family **ret);

/*
 * The series of f with these label values (as many as f has label names), made when missing
 * (counters and gauges start at 0). The series belongs to f and stays valid until it is
 * removed or f cleared. Returns 0, -EINVAL on a bad value (too long, invalid UTF-8), -ENOMEM.
 */
int sl_metric_series(struct sl_metric_family *f, const char *const *values,
		     struct sl_metric_series **ret);

/* The same, but -EEXIST when the series exists already (for callers that must not repeat one). */
int sl_metric_series_new(struct sl_metric_family *f, const char *const *values,
			 struct sl_metric_series **ret);

/* Removes one series. 0, or -ENOENT when f has no series with these values. */
int sl_metric_remove(struct sl_metric_family *f, const char *const *values);

/* Removes every series whose label `label` has value `value` (a sandbox's). The number removed
 * or -EINVAL when f has no such label. */
int sl_metric_remove_matching(struct sl_metric_family *f, const char *label, const char *value);

/* Removes every series of f (for families rebuilt from a snapshot at every scrape). */
void sl_metric_clear(struct sl_metric_family *f);

/* Number of series in f. */
size_t sl_metric_count(const struct sl_metric_family *f);

/* Counter and gauge values. add: a counter takes only v >= 0 (-EINVAL otherwise); set: gauges,
 * and counters mirroring a counter kept elsewhere. -EINVAL on a histogram series. */
int sl_metric_set(struct sl_metric_series *s, double v);
int sl_metric_add(struct sl_metric_series *s, double v);

/* One observation into a histogram series (-EINVAL on others). */
int sl_metric_observe(struct sl_metric_series *s, double v);

/*
 * Shorthands for label-less families: the family's only series (made on first use). On a family
 * with labels they return -EINVAL.
 */
int sl_metric_family_set(struct sl_metric_family *f, double v);
int sl_metric_family_add(struct sl_metric_family *f, double v);
int sl_metric_family_observe(struct sl_metric_family *f, double v);

/*
 * Writes every family with at least one series in the text format 0.0.4 (HELP and TYPE once per
 * family, then its series in the order they were made). *ret is malloc'd, NUL-terminated,
 * the caller frees it. 0 or -ENOMEM.
 */
int sl_metrics_write(const struct sl_metrics *m, char **ret, size_t *ret_len);

/*
 * Process metrics as the Prometheus client libraries name them (process_cpu_seconds_total,
 * process_start_time_seconds, process_virtual_memory_bytes, process_resident_memory_bytes,
 * process_open_fds, process_max_fds), read from /proc/self at each call, and
 * sandlot_build_info{component, version} 1. st: the caller's, zeroed before the first call,
 * which registers the families in m. Listing /proc/self/fd costs ~1.5 us per fd: past
 * SL_METRICS_FDS_CHEAP fds the count is refreshed at most every SL_METRICS_FDS_TTL_S seconds.
 * 0 or -errno.
 */
#define SL_METRICS_PROCESS_FAMILIES 6
#define SL_METRICS_FDS_CHEAP	    1000
#define SL_METRICS_FDS_TTL_S	    60
struct sl_metrics_proc {
	struct sl_metric_family *fams[SL_METRICS_PROCESS_FAMILIES];
	double fds;	   /* the last count */
	uint64_t fds_at_s; /* when it was taken (CLOCK_MONOTONIC seconds) */
};
int sl_metrics_process(struct sl_metrics *m, const char *component, const char *version,
		       struct sl_metrics_proc *st);
