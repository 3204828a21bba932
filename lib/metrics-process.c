// SPDX-License-Identifier: Apache-2.0
/* Process metrics from /proc/self, named as the Prometheus client libraries name them. */
#include <sandlot/metrics.h>
#include <sandlot/util.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct proc_self {
	double cpu_s, start_s, vsize, rss;
	double fds, max_fds;
};

/* The fields after "(comm)" of /proc/self/stat: utime 14, stime 15, starttime 22, vsize 23,
 * rss 24 (1-based, counting pid and comm). */
static int read_stat(struct proc_self *p)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/stat", "re");
	_cleanup_fclose_ FILE *st = NULL;
	unsigned long long ut, stt, start, vsize, btime = 0;
	long long rss;
	double hz = (double)sysconf(_SC_CLK_TCK);
	char line[1024], *p1;

	if (!f || !fgets(line, sizeof(line), f))
		return -errno ? -errno : -EIO;
	p1 = strrchr(line, ')');
	if (!p1 || sscanf(p1 + 2,
			  "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
			  "%*d %*d %llu %llu %lld",
			  &ut, &stt, &start, &vsize, &rss) != 5)
		return -EIO;
	st = fopen("/proc/stat", "re");
	while (st && fgets(line, sizeof(line), st))
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	p->cpu_s = (double)(ut + stt) / hz;
	p->start_s = (double)btime + (double)start / hz;
	p->vsize = (double)vsize;
	p->rss = (double)rss * (double)sysconf(_SC_PAGESIZE);
	return 0;
}

static int read_fds(struct proc_self *p, struct sl_metrics_proc *st)
{
	struct timespec ts;
	struct rlimit rl;
	struct dirent *e;
	double n = 0;
	DIR *d;

	p->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (double)rl.rlim_cur : 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (st->fds > SL_METRICS_FDS_CHEAP &&
	    (uint64_t)ts.tv_sec < st->fds_at_s + SL_METRICS_FDS_TTL_S) {
		p->fds = st->fds;
		return 0;
	}
	d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	p->fds = st->fds = n - 1; /* the directory's own fd */
	st->fds_at_s = (uint64_t)ts.tv_sec;
	return 0;
}

static const struct {
	const char *name, *help;
	enum sl_metric_type type;
	size_t off;
} proc_defs[] = {
	{"process_cpu_seconds_total", "User and system CPU time spent in seconds.",
	 SL_METRIC_COUNTER, offsetof(struct proc_self, cpu_s)},
	{"process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.",
	 SL_METRIC_GAUGE, offsetof(struct proc_self, start_s)},
	{"process_virtual_memory_bytes", "Virtual memory size in bytes.", SL_METRIC_GAUGE,
	 offsetof(struct proc_self, vsize)},
	{"process_resident_memory_bytes", "Resident memory size in bytes.", SL_METRIC_GAUGE,
	 offsetof(struct proc_self, rss)},
	{"process_open_fds", "Number of open file descriptors.", SL_METRIC_GAUGE,
	 offsetof(struct proc_self, fds)},
	{"process_max_fds", "Maximum number of open file descriptors.", SL_METRIC_GAUGE,
	 offsetof(struct proc_self, max_fds)},
};

static int build_info(struct sl_metrics *m, const char *component, const char *version)
{
	static const char *const labels[] = {"component", "version"};
	const char *values[] = {component, version};
	struct sl_metric_family *f;
	struct sl_metric_series *s;
	int r;

	r = sl_metrics_family(m, "sandlot_build_info", "Always 1: the daemon and its version.",
			      SL_METRIC_GAUGE, labels, 2, NULL, 0, &f);
	if (r < 0)
		return r;
	r = sl_metric_series(f, values, &s);
	return r < 0 ? r : sl_metric_set(s, 1);
}

int sl_metrics_process(struct sl_metrics *m, const char *component, const char *version,
		       struct sl_metrics_proc *st)
{
	struct sl_metric_family **ret = st->fams;
	struct proc_self p = {0};
	int r;

	if (!ret[0]) {
		for (size_t i = 0; i < ARRAY_SIZE(proc_defs); i++) {
			r = sl_metrics_family(m, proc_defs[i].name, proc_defs[i].help,
					      proc_defs[i].type, NULL, 0, NULL, 0, &ret[i]);
			if (r < 0)
				return r;
		}
		r = build_info(m, component, version);
		if (r < 0)
			return r;
	}
	r = read_stat(&p);
	if (r == 0)
		r = read_fds(&p, st);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(proc_defs); i++)
		sl_metric_family_set(ret[i], *(double *)((char *)&p + proc_defs[i].off));
	return 0;
}
