// SPDX-License-Identifier: Apache-2.0
#include <sandlot/log.h>
#include <sandlot/time.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
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

/* One event's line, built field by field and written at once. */
struct line {
	char buf[4096];
	size_t pos;
};

#define LINE_ERR_ROOM 160 /* kept free for err= and the newline while fields are added */

static void line_start(struct line *l, enum sl_log_level level, const char *msg)
{
	char ts[40];

	sl_format_rfc3339(sl_wall_ns(), ts, sizeof(ts));
	l->pos = (size_t)snprintf(l->buf, sizeof(l->buf), "ts=%s level=%s msg=", ts,
				  level_names[level]);
	l->pos = put_value(l->buf, l->pos, 1200, msg);
}

/* Appends " key=value" (a bare " key" when value is NULL), if it fits whole. */
static void line_field(struct line *l, const char *key, const char *value)
{
	size_t room = sizeof(l->buf) - LINE_ERR_ROOM, pos = l->pos;

	if (pos + strlen(key) + 4 >= room)
		return;
	pos += (size_t)snprintf(l->buf + pos, room - pos, " %s", key);
	if (value) {
		l->buf[pos++] = '=';
		pos = put_value(l->buf, pos, room, value);
	}
	l->pos = pos;
}

static void line_emit(struct line *l, int err)
{
	if (err) {
		l->pos += (size_t)snprintf(l->buf + l->pos, sizeof(l->buf) - l->pos, " err=");
		l->pos = put_value(l->buf, l->pos, sizeof(l->buf) - 2,
				   strerror(err < 0 ? -err : err));
	}
	l->buf[l->pos++] = '\n';
	/* One write per event so that lines from several processes never interleave. */
	if (write(STDERR_FILENO, l->buf, l->pos) < 0) {
		/* nothing sensible left to do */
	}
}

void sl_logv(enum sl_log_level level, int err, const char *fmt, va_list ap)
{
	struct line l;
	char msg[1024];
	int saved = errno;

	if (level < sl_log_get_level() || level >= SL_LOG_OFF)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	line_start(&l, level, msg);
	line_emit(&l, err);
	errno = saved;
}

/* ---- logfmt fields ---- */

enum length_mod { LM_NONE, LM_HH, LM_H, LM_L, LM_LL, LM_BIG_L, LM_Z, LM_J, LM_T };

/*
 * The length of the conversion spec at f (at its '%') and its length modifier, or 0 for one
 * that cannot be told apart without reading the format as printf does (`*`, %n, unknown).
 */
static size_t spec_len(const char *f, enum length_mod *ret_lm)
{
	size_t i = 1;
	enum length_mod lm = LM_NONE;

	i += strspn(f + i, "-+ #0'");
	i += strspn(f + i, "0123456789");
	if (f[i] == '.') {
		i++;
		i += strspn(f + i, "0123456789");
	}
	if (f[i] == 'h')
		lm = f[i + 1] == 'h' ? (i++, LM_HH) : LM_H;
	else if (f[i] == 'l')
		lm = f[i + 1] == 'l' ? (i++, LM_LL) : LM_L;
	else if (f[i] == 'L')
		lm = LM_BIG_L;
	else if (f[i] == 'z')
		lm = LM_Z;
	else if (f[i] == 'j')
		lm = LM_J;
	else if (f[i] == 't')
		lm = LM_T;
	if (lm != LM_NONE)
		i++;
	if (!f[i] || !strchr("diouxXcsfFeEgGaAp", f[i]))
		return 0;
	*ret_lm = lm;
	return i + 1;
}

/* The spec is checked by the compiler against the caller's arguments (sl_log_kv's _printf_);
 * here each conversion is formatted alone with the argument of the type it names. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int format_signed(char *out, size_t len, const char *spec, enum length_mod lm, va_list *ap)
{
	switch (lm) {
	case LM_L:
		return snprintf(out, len, spec, va_arg(*ap, long));
	case LM_LL:
		return snprintf(out, len, spec, va_arg(*ap, long long));
	case LM_Z:
		return snprintf(out, len, spec, va_arg(*ap, ssize_t));
	case LM_J:
		return snprintf(out, len, spec, va_arg(*ap, intmax_t));
	case LM_T:
		return snprintf(out, len, spec, va_arg(*ap, ptrdiff_t));
	default:
		return snprintf(out, len, spec, va_arg(*ap, int));
	}
}

static int format_unsigned(char *out, size_t len, const char *spec, enum length_mod lm, va_list *ap)
{
	switch (lm) {
	case LM_L:
		return snprintf(out, len, spec, va_arg(*ap, unsigned long));
	case LM_LL:
		return snprintf(out, len, spec, va_arg(*ap, unsigned long long));
	case LM_Z:
		return snprintf(out, len, spec, va_arg(*ap, size_t));
	case LM_J:
		return snprintf(out, len, spec, va_arg(*ap, uintmax_t));
	case LM_T:
		return snprintf(out, len, spec, va_arg(*ap, ptrdiff_t));
	default:
		return snprintf(out, len, spec, va_arg(*ap, unsigned int));
	}
}

static int format_arg(char *out, size_t len, const char *spec, enum length_mod lm, va_list *ap)
{
	char conv = spec[strlen(spec) - 1];
	const char *s;

	switch (conv) {
	case 'd':
	case 'i':
		return format_signed(out, len, spec, lm, ap);
	case 'c':
		return snprintf(out, len, spec, va_arg(*ap, int));
	case 's':
		s = va_arg(*ap, const char *);
		return snprintf(out, len, spec, s ? s : "(null)");
	case 'p':
		return snprintf(out, len, spec, va_arg(*ap, void *));
	case 'o':
	case 'u':
	case 'x':
	case 'X':
		return format_unsigned(out, len, spec, lm, ap);
	default: /* floating point */
		if (lm == LM_BIG_L)
			return snprintf(out, len, spec, va_arg(*ap, long double));
		return snprintf(out, len, spec, va_arg(*ap, double));
	}
}
#pragma GCC diagnostic pop

/*
 * Formats the value of one token (up to the next space) into val. Returns the format past it,
 * or NULL when a conversion it cannot follow stops everything after it.
 */
static const char *format_value(const char *f, char *val, size_t len, va_list *ap)
{
	size_t n = 0;

	val[0] = '\0';
	while (*f && *f != ' ') {
		char spec[32];
		enum length_mod lm;
		size_t sl;
		int w;

		if (*f != '%' || f[1] == '%') {
			if (n + 1 < len)
				val[n++] = *f;
			f += *f == '%' ? 2 : 1;
			val[n] = '\0';
			continue;
		}
		sl = spec_len(f, &lm);
		if (!sl || sl >= sizeof(spec))
			return NULL;
		memcpy(spec, f, sl);
		spec[sl] = '\0';
		f += sl;
		w = format_arg(val + n, len - n, spec, lm, ap);
		if (w > 0)
			n = MIN(n + (size_t)w, len - 1);
	}
	return f;
}

static void put_fields(struct line *l, const char *f, va_list *ap)
{
	char key[64], val[1024];

	while (f && *f) {
		size_t kn = strcspn(f, "= ");

		if (kn == 0) {
			f++;
			continue;
		}
		snprintf(key, sizeof(key), "%.*s", (int)MIN(kn, sizeof(key) - 1), f);
		f += kn;
		if (*f != '=') {
			line_field(l, key, NULL);
			continue;
		}
		f = format_value(f + 1, val, sizeof(val), ap);
		if (f)
			line_field(l, key, val);
	}
}

void sl_log_kvv(enum sl_log_level level, int err, const char *msg, const char *fields, va_list ap)
{
	struct line l;
	va_list aq;
	int saved = errno;

	if (level < sl_log_get_level() || level >= SL_LOG_OFF)
		return;
	line_start(&l, level, msg);
	va_copy(aq, ap);
	put_fields(&l, fields, &aq);
	va_end(aq);
	line_emit(&l, err);
	errno = saved;
}

void sl_log_kv(enum sl_log_level level, int err, const char *msg, const char *fields, ...)
{
	va_list ap;

	va_start(ap, fields);
	sl_log_kvv(level, err, msg, fields, ap);
	va_end(ap);
}

int sl_log_kv_err(int r, enum sl_log_level level, const char *msg, const char *fields, ...)
{
	va_list ap;

	va_start(ap, fields);
	sl_log_kvv(level, r, msg, fields, ap);
	va_end(ap);
	return r;
}

void sl_log_lines(enum sl_log_level level, const char *text, const char *fields)
{
	char msg[1024];
	int saved = errno;

	if (level < sl_log_get_level() || level >= SL_LOG_OFF)
		return;
	while (*text) {
		size_t n = strcspn(text, "\n");

		if (n) {
			struct line l;

			snprintf(msg, sizeof(msg), "%.*s", (int)MIN(n, sizeof(msg) - 1), text);
			line_start(&l, level, msg);
			if (fields)
				line_field(&l, fields, NULL);
			line_emit(&l, 0);
		}
		text += n + (text[n] == '\n');
	}
	errno = saved;
}

const char *sl_signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "SIG%d", sig);
	return buf;
}

/* ---- flood guard ---- */

bool sl_log_limit_pass(struct sl_log_limit *l, uint64_t now_ns, uint64_t interval_ns,
		       uint32_t burst, uint32_t *ret_held)
{
	*ret_held = 0;
	if (l->passed == 0 || now_ns - l->window_ns >= interval_ns) {
		l->window_ns = now_ns;
		l->passed = 0;
	}
	if (l->passed >= burst) {
		l->suppressed++;
		return false;
	}
	l->passed++;
	*ret_held = l->suppressed;
	l->suppressed = 0;
	return true;
}

uint32_t sl_log_limit_flush(struct sl_log_limit *l)
{
	uint32_t n = l->suppressed;

	l->suppressed = 0;
	return n;
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
