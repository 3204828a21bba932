// SPDX-License-Identifier: Apache-2.0
#include <sandlot/parse.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
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

/* Nanoseconds per unit for a duration's suffix at s (its length in *ret_len), or 0. */
static uint64_t duration_unit(const char *s, size_t *ret_len)
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

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		size_t n = strlen(units[i].suffix);

		if (strncmp(s, units[i].suffix, n) == 0 && !isalpha((unsigned char)s[n])) {
			*ret_len = n;
			return units[i].ns;
		}
	}
	return 0;
}

/*
 * One "<digits>[.<digits>]<unit>" at *s (unit seconds at the end of the string when bare is
 * set), added to *total. The fraction is exact to the nanosecond; finer digits are dropped.
 */
static int duration_part(const char **s, bool bare, uint64_t *total)
{
	uint64_t ip, frac = 0, scale = 1, unit, v;
	size_t len = 0;
	int r = read_digits(s, &ip);

	if (r < 0)
		return r;
	if (**s == '.') {
		const char *p = ++*s;

		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++)
			if (scale < SL_NSEC_PER_SEC) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
		*s = p;
	}
	unit = bare && !**s ? SL_NSEC_PER_SEC : duration_unit(*s, &len);
	if (!unit)
		return -EINVAL;
	*s += len;
	if (ip > UINT64_MAX / unit)
		return -ERANGE;
	/* frac * unit can overflow for minutes and hours, which scale divides exactly */
	v = ip * unit + (unit % scale == 0 ? frac * (unit / scale) : frac * unit / scale);
	if (v < ip * unit || *total > UINT64_MAX - v)
		return -ERANGE;
	*total += v;
	return 0;
}

int sl_parse_duration(const char *s, uint64_t *ret_ns)
{
	uint64_t total = 0;
	bool first = true;
	int r;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		/* a bare number means seconds, alone only ("30", "1.5"; not "1m30") */
		r = duration_part(&s, first, &total);
		if (r < 0)
			return r;
		first = false;
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
