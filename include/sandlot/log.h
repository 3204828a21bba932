/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Logging: one line per event on stderr in logfmt (key=value, values with spaces quoted), so
 * that both people and log shippers can read it:
 *
 *   ts=2026-11-26T22:55:21.123Z level=error msg="attach cgroup_skb" err="Operation not permitted"
 *
 * Library code does not log; the caller that decides what to do logs once, with context.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sandlot/util.h>

enum sl_log_level {
	SL_LOG_DEBUG = 0,
	SL_LOG_INFO,
	SL_LOG_WARN,
	SL_LOG_ERROR,
	SL_LOG_OFF,
};

/* Sets the threshold; events below it are dropped. Default: info (or $SANDLOT_LOG). */
void sl_log_set_level(enum sl_log_level level);
enum sl_log_level sl_log_get_level(void);

/* Parses "debug", "info", "warn", "error", "off". Returns the level or -EINVAL. */
int sl_log_parse_level(const char *s);

/*
 * Checks the environment variables every sandlot program reads: $SANDLOT_LOG (a level) and
 * $SANDLOT_BPF ("on" or "off"), unset or empty being the default. Returns 0, or -EINVAL with
 * one line naming the variable, its value and what it accepts in err.
 */
int sl_log_check_env(char *err, size_t errlen);

/* Logs one event. */
void sl_log(enum sl_log_level level, const char *fmt, ...) _printf_(2, 3);
void sl_logv(enum sl_log_level level, int err, const char *fmt, va_list ap) _printf_(3, 0);

/*
 * Logs an error with err=strerror(-r) and returns r unchanged, so that callers can write
 * `return sl_log_err(r, "open %s", path);`. r must be a -errno value.
 */
int sl_log_err(int r, const char *fmt, ...) _printf_(2, 3);
int sl_log_warn_err(int r, const char *fmt, ...) _printf_(2, 3);

#define sl_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)
#define sl_info(...)  sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_warn(...)  sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_error(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)
