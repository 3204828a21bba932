// SPDX-License-Identifier: Apache-2.0
#include <sandlot/log.h>
#include <sandlot/time.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int log_level = -1; /* -1: not yet read from $SANDLOT_LOG */

static const char *const level_names[] = {
	[SL_LOG_DEBUG] = "debug", [SL_LOG_INFO] = "info", [SL_LOG_WARN] = "warn",
	[SL_LOG_ERROR] = "error", [SL_LOG_OFF] = "off",
};

int sl_log_parse_level(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (s && strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

int sl_log_check_env(char *err, size_t errlen)
{
	const char *log = getenv("SANDLOT_LOG"), *bpf = getenv("SANDLOT_BPF");

	if (log && *log && sl_log_parse_level(log) < 0) {
		snprintf(err, errlen,
			 "SANDLOT_LOG='%.64s': expected debug, info, warn, error or off", log);
		return -EINVAL;
	}
	if (bpf && *bpf && strcmp(bpf, "on") != 0 && strcmp(bpf, "off") != 0) {
		snprintf(err, errlen, "SANDLOT_BPF='%.64s': expected on or off", bpf);
		return -EINVAL;
	}
	return 0;
}

enum sl_log_level sl_log_get_level(void)
{
	if (log_level < 0) {
		int l = sl_log_parse_level(getenv("SANDLOT_LOG"));

		log_level = l >= 0 ? l : SL_LOG_INFO;
	}
	return (enum sl_log_level)log_level;
}

void sl_log_set_level(enum sl_log_level level)
{
	log_level = level;
}

/* Appends s as a logfmt value: bare when safe, otherwise quoted with \" \\ \n escaped. */
static size_t put_value(char *buf, size_t pos, size_t len, const char *s)
{
	bool quote = *s == '\0' || strpbrk(s, " =\"\\\t\n") != NULL;

	if (quote && pos < len)
		buf[pos++] = '"';
	for (; *s && pos + 2 < len; s++) {
		if (*s == '"' || *s == '\\') {
			buf[pos++] = '\\';
			buf[pos++] = *s;
		} else if (*s == '\n') {
			buf[pos++] = '\\';
			buf[pos++] = 'n';
		} else {
			buf[pos++] = (unsigned char)*s < 0x20 ? '?' : *s;
		}
	}
	if (quote && pos < len)
		buf[pos++] = '"';
	return pos;
}

void sl_logv(enum sl_log_level level, int err, const char *fmt, va_list ap)
{
	char msg[1024], line[2560], ts[40];
	int saved = errno;
	size_t pos;

	if (level < sl_log_get_level() || level >= SL_LOG_OFF)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	sl_format_rfc3339(sl_wall_ns(), ts, sizeof(ts));
	pos = (size_t)snprintf(line, sizeof(line), "ts=%s level=%s msg=", ts, level_names[level]);
	pos = put_value(line, pos, sizeof(line) - 64, msg);
	if (err) {
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos, " err=");
		pos = put_value(line, pos, sizeof(line) - 2, strerror(err < 0 ? -err : err));
	}
	line[pos++] = '\n';
	/* One write per event so that lines from several processes never interleave. */
	if (write(STDERR_FILENO, line, pos) < 0) {
		/* nothing sensible left to do */
	}
	errno = saved;
}

void sl_log(enum sl_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sl_logv(level, 0, fmt, ap);
	va_end(ap);
}

int sl_log_err(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sl_logv(SL_LOG_ERROR, r, fmt, ap);
	va_end(ap);
	return r;
}

int sl_log_warn_err(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sl_logv(SL_LOG_WARN, r, fmt, ap);
	va_end(ap);
	return r;
}
