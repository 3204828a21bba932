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
#include <stdint.h>
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

/*
 * Logs msg (a constant: what happened) with its context as logfmt fields. fields is a printf
 * format of space-separated `key=value` tokens, checked by the compiler like any format; each
 * value is formatted on its own, then written bare or quoted as logfmt needs, so "sandbox=%s"
 * stays one field whatever the id holds:
 *
 *   sl_log_kv(SL_LOG_INFO, 0, "sandbox created", "sandbox=%s spawn_us=%llu", id, us)
 *   -> ts=... level=info msg="sandbox created" sandbox=py-1 spawn_us=573
 *
 * Conversions: d i u o x X c s f F e E g G a A p, with flags, width, precision and the length
 * modifiers hh h l ll L z j t; not `*` nor %n (the rest of the fields is then dropped). err: 0,
 * or a -errno written last as err="...". sl_log_kv_err() returns r, as sl_log_err() does.
 */
void sl_log_kv(enum sl_log_level level, int err, const char *msg, const char *fields, ...)
	_printf_(4, 5);
void sl_log_kvv(enum sl_log_level level, int err, const char *msg, const char *fields, va_list ap)
	_printf_(4, 0);
int sl_log_kv_err(int r, enum sl_log_level level, const char *msg, const char *fields, ...)
	_printf_(4, 5);

/*
 * Logs each line of text (split at '\n', empty lines skipped) as an event of its own, with
 * fields (a constant "key=value ..." string, or NULL). For text from libraries that print
 * several lines at once (libbpf's verifier log), so that no line carries a literal "\n".
 */
void sl_log_lines(enum sl_log_level level, const char *text, const char *fields);

/* one or many, as n needs: sl_info("%u %s", n, sl_plural(n, "sandbox", "sandboxes")) */
static inline const char *sl_plural(unsigned long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* "SIGTERM" for 15 (buf: at least 16 bytes); "SIG42" for one without a name. Returns buf. */
const char *sl_signal_name(int sig, char *buf, size_t len);

/*
 * A flood guard for one source of lines (a sandbox's busy/idle lines): at most burst lines per
 * interval, the rest counted and not logged. Zero-initialised before use; pure logic, the caller
 * passes the time.
 */
struct sl_log_limit {
	uint64_t window_ns;  /* start of the current interval */
	uint32_t passed;     /* lines let through in it */
	uint32_t suppressed; /* lines held back since the last report */
};

/*
 * Whether a line at now_ns may be logged. When it may and lines were held back before, *ret_held
 * says how many (else 0) and the count starts again: log one "suppressed" line with it.
 */
bool sl_log_limit_pass(struct sl_log_limit *l, uint64_t now_ns, uint64_t interval_ns,
		       uint32_t burst, uint32_t *ret_held);
/* The lines held back and not yet reported (the source goes away); resets the count. */
uint32_t sl_log_limit_flush(struct sl_log_limit *l);

#define sl_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)
#define sl_info(...)  sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_warn(...)  sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_error(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)

#define sl_debug_kv(msg, ...) sl_log_kv(SL_LOG_DEBUG, 0, msg, __VA_ARGS__)
#define sl_info_kv(msg, ...)  sl_log_kv(SL_LOG_INFO, 0, msg, __VA_ARGS__)
#define sl_warn_kv(msg, ...)  sl_log_kv(SL_LOG_WARN, 0, msg, __VA_ARGS__)
#define sl_error_kv(msg, ...) sl_log_kv(SL_LOG_ERROR, 0, msg, __VA_ARGS__)
