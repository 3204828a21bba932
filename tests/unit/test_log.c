// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"

#include "logfmt.h"

#include <sandlot/log.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>

/* Runs fn with stderr redirected into buf. */
static void capture_stderr(void (*fn)(void), char *buf, size_t len)
{
	int p[2], saved = dup(2);
	ssize_t n;

	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	dup2(p[1], 2);
	fn();
	dup2(saved, 2);
	close(saved);
	close(p[1]);
	n = read(p[0], buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(p[0]);
}

static void log_quoted(void)
{
	sl_log_set_level(SL_LOG_INFO);
	sl_info("hello \"world\"\nsecond");
	sl_debug("dropped");
}

static void logs_one_logfmt_line(void **state)
{
	char buf[1024];

	capture_stderr(log_quoted, buf, sizeof(buf));
	assert_non_null(strstr(buf, "level=info msg=\"hello \\\"world\\\"\\nsecond\"\n"));
	assert_memory_equal(buf, "ts=", 3);
	/* exactly one line: the embedded newline was escaped and debug was dropped */
	assert_ptr_equal(strchr(buf, '\n'), buf + strlen(buf) - 1);
}

static int ret_val;
static void log_err(void)
{
	ret_val = sl_log_err(-ENOENT, "open %s", "/nope");
}

static void log_err_returns_r(void **state)
{
	char buf[1024];

	capture_stderr(log_err, buf, sizeof(buf));
	assert_int_equal(ret_val, -ENOENT);
	assert_non_null(
		strstr(buf, "level=error msg=\"open /nope\" err=\"No such file or directory\""));
}

/* Parses every line of buf as logfmt into lines; returns how many. */
static size_t parse_lines(char *buf, struct logfmt_line *lines, size_t max)
{
	size_t n = 0;

	for (char *save, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		assert_true(n < max);
		if (logfmt_parse(l, &lines[n]) < 0)
			fail_msg("not logfmt: %s", l);
		n++;
	}
	return n;
}

static void log_kv(void)
{
	sl_log_set_level(SL_LOG_INFO);
	sl_info_kv("sandbox created",
		   "sandbox=%s function=%s spawn_us=%llu ratio=%.2f neg=%d size=%zu dur=%ums "
		   "pct=100%% empty=%s hex=%#x",
		   "py-1", "has space", 573ULL, 1.5, -3, (size_t)7, 12u, "", 255u);
	sl_debug_kv("dropped", "x=%d", 1);
	ret_val = sl_log_kv_err(-EPERM, SL_LOG_WARN, "spawn", "sandbox=%s why=%s", "a\"b",
				"line\nbreak");
}

static void kv_fields_are_logfmt(void **state)
{
	struct logfmt_line l[4];
	char buf[2048];

	capture_stderr(log_kv, buf, sizeof(buf));
	assert_non_null(strstr(buf, " level=info msg=\"sandbox created\" sandbox=py-1 "
				    "function=\"has space\" spawn_us=573 ratio=1.50 neg=-3 size=7 "
				    "dur=12ms pct=100% empty=\"\" hex=0xff\n"));
	assert_int_equal(ret_val, -EPERM);
	/* err comes last; values with quotes and newlines stay one field of one line */
	assert_non_null(strstr(buf, " level=warn msg=spawn sandbox=\"a\\\"b\" "
				    "why=\"line\\nbreak\" err=\"Operation not permitted\"\n"));
	assert_int_equal(parse_lines(buf, l, 4), 2);
	assert_string_equal(logfmt_get(&l[0], "function"), "has space");
	assert_string_equal(logfmt_get(&l[0], "empty"), "");
	assert_string_equal(logfmt_get(&l[1], "sandbox"), "a\"b");
	assert_string_equal(logfmt_get(&l[1], "why"), "line\nbreak");
	assert_null(logfmt_get(&l[0], "x"));
}

static void log_kv_star(void)
{
	sl_log_set_level(SL_LOG_INFO);
	/* a conversion it cannot follow drops the fields from there on, never misreads them */
	sl_info_kv("partial", "a=%d b=%*d c=%s", 1, 5, 2, "x");
}

static void kv_stops_at_what_it_cannot_follow(void **state)
{
	char buf[1024];

	capture_stderr(log_kv_star, buf, sizeof(buf));
	assert_non_null(strstr(buf, " msg=partial a=1\n"));
}

static void log_multiline(void)
{
	sl_log_set_level(SL_LOG_DEBUG);
	sl_log_lines(SL_LOG_DEBUG, "first\n\n-- BEGIN LOG --\nlast\n", "component=libbpf");
	sl_log_set_level(SL_LOG_INFO);
	sl_log_lines(SL_LOG_DEBUG, "not at info\n", NULL);
}

static void lines_are_events_of_their_own(void **state)
{
	struct logfmt_line l[8];
	char buf[2048];

	capture_stderr(log_multiline, buf, sizeof(buf));
	assert_null(strstr(buf, "\\n"));
	assert_int_equal(parse_lines(buf, l, 8), 3);
	assert_string_equal(logfmt_get(&l[0], "msg"), "first");
	assert_string_equal(logfmt_get(&l[1], "msg"), "-- BEGIN LOG --");
	assert_string_equal(logfmt_get(&l[2], "msg"), "last");
	assert_string_equal(logfmt_get(&l[2], "component"), "libbpf");
	assert_string_equal(logfmt_get(&l[2], "level"), "debug");
}

static void plurals_and_signal_names(void **state)
{
	char sig[16];

	assert_string_equal(sl_plural(1, "sandbox", "sandboxes"), "sandbox");
	assert_string_equal(sl_plural(0, "sandbox", "sandboxes"), "sandboxes");
	assert_string_equal(sl_plural(2, "sandbox", "sandboxes"), "sandboxes");
	assert_string_equal(sl_signal_name(SIGTERM, sig, sizeof(sig)), "SIGTERM");
	assert_string_equal(sl_signal_name(SIGKILL, sig, sizeof(sig)), "SIGKILL");
	assert_string_equal(sl_signal_name(SIGSEGV, sig, sizeof(sig)), "SIGSEGV");
	assert_string_equal(sl_signal_name(1000, sig, sizeof(sig)), "SIG1000");
}

static void flood_guard_holds_back_and_counts(void **state)
{
	const uint64_t s = 1000000000ULL, t0 = 5 * s;
	struct sl_log_limit l = {0};
	uint32_t held = 99, passed = 0;

	/* 3 lines per 10 s: the first 3 of 20 within one interval pass */
	for (int i = 0; i < 20; i++) {
		bool ok = sl_log_limit_pass(&l, t0 + (uint64_t)i * s / 10, 10 * s, 3, &held);

		passed += ok;
		assert_int_equal(held, 0);
	}
	assert_int_equal(passed, 3);
	/* the next interval's first line reports the 17 held back, once */
	assert_true(sl_log_limit_pass(&l, t0 + 10 * s, 10 * s, 3, &held));
	assert_int_equal(held, 17);
	assert_true(sl_log_limit_pass(&l, t0 + 11 * s, 10 * s, 3, &held));
	assert_int_equal(held, 0);
	assert_true(sl_log_limit_pass(&l, t0 + 12 * s, 10 * s, 3, &held));
	assert_false(sl_log_limit_pass(&l, t0 + 13 * s, 10 * s, 3, &held));
	assert_false(sl_log_limit_pass(&l, t0 + 14 * s, 10 * s, 3, &held));
	/* the source goes away: what was held back is still told */
	assert_int_equal(sl_log_limit_flush(&l), 2);
	assert_int_equal(sl_log_limit_flush(&l), 0);
	/* a zeroed guard lets the first line through whatever the clock says */
	l = (struct sl_log_limit){0};
	assert_true(sl_log_limit_pass(&l, 1, 10 * s, 1, &held));
	assert_false(sl_log_limit_pass(&l, 2, 10 * s, 1, &held));
}

static void parses_levels(void **state)
{
	assert_int_equal(sl_log_parse_level("debug"), SL_LOG_DEBUG);
	assert_int_equal(sl_log_parse_level("WARN"), SL_LOG_WARN);
	assert_int_equal(sl_log_parse_level("loud"), -EINVAL);
	assert_int_equal(sl_log_parse_level(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(logs_one_logfmt_line),
		cmocka_unit_test(log_err_returns_r),
		cmocka_unit_test(parses_levels),
		cmocka_unit_test(kv_fields_are_logfmt),
		cmocka_unit_test(kv_stops_at_what_it_cannot_follow),
		cmocka_unit_test(lines_are_events_of_their_own),
		cmocka_unit_test(plurals_and_signal_names),
		cmocka_unit_test(flood_guard_holds_back_and_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
