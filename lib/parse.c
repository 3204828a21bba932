// SPDX-License-Identifier: Apache-2.0
#include <sandlot/parse.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <strings.h>

/* Reads a run of decimal digits at *p. Returns 0, -EINVAL (no digits) or -ERANGE. */
static int read_digits(const char **p, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return 0;
}

int sl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	r = read_digits(&s, &v);
	if (r < 0)
		return r;
	if (*s)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int sl_parse_size(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {
		{"", 0},     {"B", 0},	 {"K", 10},   {"KB", 10},  {"KiB", 10},
		{"M", 20},   {"MB", 20}, {"MiB", 20}, {"G", 30},   {"GB", 30},
		{"GiB", 30}, {"T", 40},	 {"TB", 40},  {"TiB", 40},
	};
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	r = read_digits(&s, &v);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcasecmp(s, units[i].suffix) != 0)
			continue;
		if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
			return -ERANGE;
		*ret = v << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

int sl_parse_duration(const char *s, uint64_t *ret_ns)
{
	static const struct {
		const char *suffix;
		uint64_t ns;
	} units[] = {
		/* longest suffix first so that "ms" is not read as "m" */
		{"ns", 1},
		{"us", SL_NSEC_PER_USEC},
		{"ms", SL_NSEC_PER_MSEC},
		{"s", SL_NSEC_PER_SEC},
		{"m", 60 * SL_NSEC_PER_SEC},
		{"h", 3600 * SL_NSEC_PER_SEC},
	};
	uint64_t total = 0, v;
	int r;

	if (!s || !*s)
		return -EINVAL;
	r = read_digits(&s, &v);
	if (r < 0)
		return r;
	if (*s == '\0') { /* bare number: seconds */
		if (v > UINT64_MAX / SL_NSEC_PER_SEC)
			return -ERANGE;
		*ret_ns = v * SL_NSEC_PER_SEC;
		return 0;
	}
	for (;;) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(units); i++) {
			size_t n = strlen(units[i].suffix);

			if (strncmp(s, units[i].suffix, n) == 0 && !isalpha((unsigned char)s[n]))
				break;
		}
		if (i == ARRAY_SIZE(units))
			return -EINVAL;
		if (v > UINT64_MAX / units[i].ns || total > UINT64_MAX - v * units[i].ns)
			return -ERANGE;
		total += v * units[i].ns;
		s += strlen(units[i].suffix);
		if (*s == '\0')
			break;
		r = read_digits(&s, &v);
		if (r < 0)
			return r;
	}
	*ret_ns = total;
	return 0;
}

int sl_parse_double(const char *s, double max, double *ret)
{
	uint64_t ip, fp = 0;
	double v, scale = 1;
	int r;

	if (!s)
		return -EINVAL;
	r = read_digits(&s, &ip);
	if (r < 0)
		return r;
	if (*s == '.') {
		const char *f = ++s;

		r = read_digits(&s, &fp);
		if (r < 0)
			return -EINVAL;
		for (; f < s; f++)
			scale *= 10;
	}
	if (*s)
		return -EINVAL;
	v = (double)ip + (double)fp / scale;
	if (!isfinite(v) || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}
