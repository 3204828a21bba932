// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"

#include <sandlot/log.h>

#include <errno.h>
#include <fcntl.h>

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
