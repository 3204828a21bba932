// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"

#include <sandlot/metrics.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const sbx_labels[] = {"function", "version", "sandbox"};

static char *written(struct sl_metrics *m)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(sl_metrics_write(m, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

/* Counts lines of s that start with prefix. */
static int lines_starting(const char *s, const char *prefix)
{
	int n = 0;

	for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

/* HELP and TYPE once per family, before its samples, all samples together. */
static void counter_and_gauge_write_once_per_family(void **state)
{
	struct sl_metrics *m;
	struct sl_metric_family *c, *g;
	struct sl_metric_series *s;
	const char *a[] = {"fn", "1", "sb-a"}, *b[] = {"fn", "1", "sb-b"};

	assert_int_equal(sl_metrics_new(&m), 0);
	assert_int_equal(sl_metrics_family(m, "t_cpu_seconds_total", "CPU.", SL_METRIC_COUNTER,
					   sbx_labels, 3, NULL, 0, &c),
			 0);
	assert_int_equal(sl_metrics_family(m, "t_up", "Up.", SL_METRIC_GAUGE, NULL, 0, NULL, 0, &g),
			 0);
	assert_int_equal(sl_metric_series(c, a, &s), 0);
	assert_int_equal(sl_metric_add(s, 1.5), 0);
	assert_int_equal(sl_metric_add(s, -1), -EINVAL); /* counters only go up */
	assert_int_equal(sl_metric_series(c, b, &s), 0);
	assert_int_equal(sl_metric_set(s, 2), 0);
	assert_int_equal(sl_metric_family_set(g, 1), 0);
	assert_int_equal(sl_metric_family_set(c, 1), -EINVAL); /* c has labels */

	char *out = written(m);
	assert_string_equal(
		out, "# HELP t_cpu_seconds_total CPU.\n"
		     "# TYPE t_cpu_seconds_total counter\n"
		     "t_cpu_seconds_total{function=\"fn\",version=\"1\",sandbox=\"sb-a\"} 1.5\n"
		     "t_cpu_seconds_total{function=\"fn\",version=\"1\",sandbox=\"sb-b\"} 2\n"
		     "# HELP t_up Up.\n"
		     "# TYPE t_up gauge\n"
		     "t_up 1\n");
	free(out);
	sl_metrics_free(&m);
	assert_null(m);
}

/* The same label set twice is one series; asking for a new one reports the duplicate. */
static void duplicate_series_are_detected(void **state)
{
	struct sl_metrics *m;
	struct sl_metric_family *f;
	struct sl_metric_series *s1, *s2;
	const char *a[] = {"fn", "1", "sb"};
	char buf[32];

	assert_int_equal(sl_metrics_new(&m), 0);
	assert_int_equal(sl_metrics_family(m, "t_x_total", "X.", SL_METRIC_COUNTER, sbx_labels, 3,
					   NULL, 0, &f),
			 0);
	assert_int_equal(sl_metrics_family(m, "t_x_total", "X again.", SL_METRIC_GAUGE, NULL, 0,
					   NULL, 0, NULL),
			 -EEXIST);
	assert_int_equal(sl_metric_series_new(f, a, &s1), 0);
	assert_int_equal(sl_metric_series_new(f, a, &s2), -EEXIST);
	assert_int_equal(sl_metric_series(f, a, &s2), 0);
	assert_ptr_equal(s1, s2);
	/* values that join to the same string are still different series */
	const char *x[] = {"a", "bc", ""}, *y[] = {"ab", "c", ""};
	assert_int_equal(sl_metric_series_new(f, x, &s1), 0);
	assert_int_equal(sl_metric_series_new(f, y, &s2), 0);
	assert_ptr_not_equal(s1, s2);
	/* thousands of series: the table grows, every one stays findable and unique */
	for (int i = 0; i < 5000; i++) {
		const char *v[] = {"fn", "1", buf};

		snprintf(buf, sizeof(buf), "sb-%d", i);
		assert_int_equal(sl_metric_series_new(f, v, &s1), 0);
	}
	for (int i = 0; i < 5000; i += 7) {
		const char *v[] = {"fn", "1", buf};

		snprintf(buf, sizeof(buf), "sb-%d", i);
		assert_int_equal(sl_metric_series_new(f, v, &s1), -EEXIST);
	}
	assert_int_equal(sl_metric_count(f), 5003);
	char *out = written(m);
	assert_int_equal(lines_starting(out, "t_x_total{"), 5003);
	assert_int_equal(lines_starting(out, "# TYPE t_x_total counter"), 1);
	free(out);
	sl_metrics_free(&m);
}

/* Label values escape \, " and newline; HELP escapes \ and newline. */
static void escaping(void **state)
{
	struct sl_metrics *m;
	struct sl_metric_family *f;
	struct sl_metric_series *s;
	const char *v[] = {"a\\b\"c\nd"};
	const char *label[] = {"path"};

	assert_int_equal(sl_metrics_new(&m), 0);
	assert_int_equal(sl_metrics_family(m, "t_esc", "Back\\slash and\nnewline \"quoted\".",
					   SL_METRIC_GAUGE, label, 1, NULL, 0, &f),
			 0);
	assert_int_equal(sl_metric_series(f, v, &s), 0);
	char *out = written(m);
	assert_string_equal(out, "# HELP t_esc Back\\\\slash and\\nnewline \"quoted\".\n"
				 "# TYPE t_esc gauge\n"
				 "t_esc{path=\"a\\\\b\\\"c\\nd\"} 0\n");
	free(out);
	sl_metrics_free(&m);
}

/* Doubles keep every bit (shortest exact form), special values as the format spells them. */
static void doubles_round_trip(void **state)
{
	const double vals[] = {0.1,	1.0 / 3,  1e-9,	     123456789012345678.0,
			       2.5e300, INFINITY, -INFINITY, NAN};
	const char *expect[] = {"0.1",	    "0.33333333333333331",
				"1e-09",    "1.2345678901234568e+17",
				"2.5e+300", "+Inf",
				"-Inf",	    "NaN"};
	const char *label[] = {"i"};
	struct sl_metrics *m;
	struct sl_metric_family *f;
	struct sl_metric_series *s;
	char idx[4], line[128];

	assert_int_equal(sl_metrics_new(&m), 0);
	assert_int_equal(sl_metrics_family(m, "t_d", "D.", SL_METRIC_GAUGE, label, 1, NULL, 0, &f),
			 0);
	for (size_t i = 0; i < 8; i++) {
		const char *v[] = {idx};

		snprintf(idx, sizeof(idx), "%zu", i);
		assert_int_equal(sl_metric_series(f, v, &s), 0);
		sl_metric_set(s, vals[i]);
	}
	char *out = written(m);
	for (size_t i = 0; i < 8; i++) {
		snprintf(line, sizeof(line), "t_d{i=\"%zu\"} %s\n", i, expect[i]);
		assert_non_null(strstr(out, line));
		if (isfinite(vals[i]))
			assert_true(strtod(expect[i], NULL) == vals[i]);
	}
	free(out);
	sl_metrics_free(&m);
}

/* Cumulative buckets in increasing order, +Inf equal to _count, _sum. */
static void histogram_buckets(void **state)
{
	const double b[] = {0.001, 0.01, 0.1};
	const char *label[] = {"function"};
	const char *v[] = {"fn"};
	struct sl_metrics *m;
	struct sl_metric_family *f;
	struct sl_metric_series *s;

	assert_int_equal(sl_metrics_new(&m), 0);
	assert_int_equal(sl_metrics_family(m, "t_h_seconds", "H.", SL_METRIC_HISTOGRAM, label, 1,
					   (double[]){0.1, 0.01}, 2, NULL),
			 -EINVAL); /* buckets must increase */
	assert_int_equal(sl_metrics_family(m, "t_h_seconds", "H.", SL_METRIC_HISTOGRAM,
					   (const char *[]){"le"}, 1, b, 3, NULL),
			 -EINVAL);
	assert_int_equal(
		sl_metrics_family(m, "t_h_seconds", "H.", SL_METRIC_HISTOGRAM, label, 1, b, 3, &f),
		0);
	assert_int_equal(sl_metric_series(f, v, &s), 0);
	assert_int_equal(sl_metric_set(s, 1), -EINVAL);
	sl_metric_observe(s, 0.0005);
	sl_metric_observe(s, 0.001); /* le is inclusive */
	sl_metric_observe(s, 0.05);
	sl_metric_observe(s, 3);
	char *out = written(m);
	assert_string_equal(out, "# HELP t_h_seconds H.\n"
				 "# TYPE t_h_seconds histogram\n"
				 "t_h_seconds_bucket{function=\"fn\",le=\"0.001\"} 2\n"
				 "t_h_seconds_bucket{function=\"fn\",le=\"0.01\"} 2\n"
				 "t_h_seconds_bucket{function=\"fn\",le=\"0.1\"} 3\n"
				 "t_h_seconds_bucket{function=\"fn\",le=\"+Inf\"} 4\n"
				 "t_h_seconds_sum{function=\"fn\"} 3.0515\n"
				 "t_h_seconds_count{function=\"fn\"} 4\n");
	free(out);
	sl_metrics_free(&m);
}

/* A sandbox's series go, the others stay; a family without series writes nothing. */
static void series_removed(void **state)
{
	struct sl_metrics *m;
	struct sl_metric_family *f;
	struct sl_metric_series *s;
	const char *a[] = {"fn", "1", "a"}, *b[] = {"fn", "1", "b"}, *a2[] = {"fn", "2", "a"};

	assert_int_equal(sl_metrics_new(&m), 0);
	assert_int_equal(
		sl_metrics_family(m, "t_r", "R.", SL_METRIC_GAUGE, sbx_labels, 3, NULL, 0, &f), 0);
	sl_metric_series(f, a, &s);
	sl_metric_series(f, b, &s);
	sl_metric_series(f, a2, &s);
	assert_int_equal(sl_metric_remove_matching(f, "sandbox", "a"), 2);
	assert_int_equal(sl_metric_remove_matching(f, "nolabel", "a"), -EINVAL);
	char *out = written(m);
	assert_null(strstr(out, "sandbox=\"a\""));
	assert_non_null(strstr(out, "sandbox=\"b\""));
	free(out);
	assert_int_equal(sl_metric_remove(f, b), 0);
	assert_int_equal(sl_metric_remove(f, b), -ENOENT);
	assert_int_equal(sl_metric_count(f), 0);
	out = written(m);
	assert_string_equal(out, "");
	free(out);
	/* made again after removal: a fresh series */
	assert_int_equal(sl_metric_series_new(f, a, &s), 0);
	sl_metric_clear(f);
	assert_int_equal(sl_metric_count(f), 0);
	sl_metrics_free(&m);
}

/* Names, labels and values are validated; bad ones are refused, never written. */
static void bad_input_refused(void **state)
{
	struct sl_metrics *m;
	struct sl_metric_family *f;
	struct sl_metric_series *s;
	char long_value[SL_METRICS_VALUE_MAX + 2];

	assert_int_equal(sl_metrics_new(&m), 0);
	assert_int_equal(sl_metrics_family(m, "9bad", "x", SL_METRIC_GAUGE, NULL, 0, NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(sl_metrics_family(m, "a-b", "x", SL_METRIC_GAUGE, NULL, 0, NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(sl_metrics_family(m, "ok", "", SL_METRIC_GAUGE, NULL, 0, NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(sl_metrics_family(m, "ok", "x", SL_METRIC_GAUGE, (const char *[]){"__x"},
					   1, NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(sl_metrics_family(m, "ok", "x", SL_METRIC_GAUGE,
					   (const char *[]){"a", "a"}, 2, NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(
		sl_metrics_family(m, "ok", "x", SL_METRIC_GAUGE, NULL, 0, (double[]){1}, 1, NULL),
		-EINVAL);
	assert_int_equal(sl_metrics_family(m, "ok:sub", "x", SL_METRIC_GAUGE, (const char *[]){"v"},
					   1, NULL, 0, &f),
			 0);
	memset(long_value, 'x', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	assert_int_equal(sl_metric_series(f, (const char *[]){long_value}, &s), -EINVAL);
	assert_int_equal(sl_metric_series(f, (const char *[]){"\xc3\x28"}, &s), -EINVAL);
	assert_int_equal(sl_metric_series(f, (const char *[]){"\xed\xa0\x80"}, &s), -EINVAL);
	assert_int_equal(sl_metric_series(f, (const char *[]){NULL}, &s), -EINVAL);
	assert_int_equal(sl_metric_series(f, (const char *[]){"h\xc3\xa9"}, &s), 0);
	assert_int_equal(sl_metric_count(f), 1);
	sl_metrics_free(&m);
}

/* Process metrics and build info: present, plausible, registered once. */
static void process_metrics(void **state)
{
	struct sl_metrics_proc fams = {0};
	struct sl_metrics *m;

	assert_int_equal(sl_metrics_new(&m), 0);
	assert_int_equal(sl_metrics_process(m, "test", "1.2.3", &fams), 0);
	assert_int_equal(sl_metrics_process(m, "test", "1.2.3", &fams), 0);
	char *out = written(m);
	assert_int_equal(lines_starting(out, "# TYPE process_cpu_seconds_total counter"), 1);
	assert_int_equal(lines_starting(out, "process_resident_memory_bytes "), 1);
	assert_int_equal(lines_starting(out, "process_open_fds "), 1);
	assert_int_equal(lines_starting(out, "process_max_fds "), 1);
	assert_int_equal(lines_starting(out, "process_start_time_seconds "), 1);
	assert_non_null(
		strstr(out, "sandlot_build_info{component=\"test\",version=\"1.2.3\"} 1\n"));
	assert_true(strtod(strstr(out, "\nprocess_resident_memory_bytes ") + 31, NULL) > 100000);
	free(out);
	sl_metrics_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counter_and_gauge_write_once_per_family),
		cmocka_unit_test(duplicate_series_are_detected),
		cmocka_unit_test(escaping),
		cmocka_unit_test(doubles_round_trip),
		cmocka_unit_test(histogram_buckets),
		cmocka_unit_test(series_removed),
		cmocka_unit_test(bad_input_refused),
		cmocka_unit_test(process_metrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
