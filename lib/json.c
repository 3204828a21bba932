// SPDX-License-Identifier: Apache-2.0
#include <sandlot/json.h>

#include <errno.h>
#include <stdarg.h>

int sl_json_print(FILE *f, json_t *obj, bool pretty)
{
	/* reals with 9 significant digits: 0.041295384, not 0.041295383999999997 */
	size_t flags =
		JSON_ENCODE_ANY | JSON_REAL_PRECISION(9) | (pretty ? JSON_INDENT(2) : JSON_COMPACT);
	int r;

	if (!obj)
		return -ENOMEM;
	r = json_dumpf(obj, f, flags);
	json_decref(obj);
	if (r < 0 || fputc('\n', f) == EOF || fflush(f) == EOF)
		return -EIO;
	return 0;
}

void sl_json_print_error(FILE *f, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sl_json_print(f, json_pack("{s:s}", "error", msg), false);
}

void sl_json_set_str(json_t *obj, const char *key, const char *val)
{
	json_object_set_new(obj, key, val ? json_string(val) : json_null());
}

void sl_json_set_int(json_t *obj, const char *key, long long val)
{
	json_object_set_new(obj, key, json_integer(val));
}

void sl_json_set_bool(json_t *obj, const char *key, bool val)
{
	json_object_set_new(obj, key, json_boolean(val));
}

void sl_json_set_real(json_t *obj, const char *key, double val)
{
	json_object_set_new(obj, key, json_real(val));
}
