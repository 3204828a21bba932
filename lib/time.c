// SPDX-License-Identifier: Apache-2.0
#include <sandlot/time.h>

#include <stdio.h>

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * SL_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t sl_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t sl_wall_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

uint64_t sl_boot_ns(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

char *sl_format_rfc3339(uint64_t wall_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(wall_ns / SL_NSEC_PER_SEC);
	unsigned ms = (unsigned)((wall_ns % SL_NSEC_PER_SEC) / SL_NSEC_PER_MSEC);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	return buf;
}
