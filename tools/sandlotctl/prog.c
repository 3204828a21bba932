// SPDX-License-Identifier: Apache-2.0
/*
 * sandlotctl prog show [--stats [duration SECONDS]]: sandlot's BPF programs (pinned under
 * <pin root>/prog/, and the sched_switch program behind its pinned link) with their kernel
 * statistics. --stats turns statistics on for the command's duration through a BPF_ENABLE_STATS
 * fd: it holds the same switch kernel.bpf_stats_enabled flips, without writing the sysctl, and
 * closing it (also by dying) puts the switch back as it was; then it reports what the programs
 * did meanwhile.
 */
#include "main.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG_MAX 16

struct prog {
	char name[64];
	int fd;
	struct bpf_prog_info info;
	uint64_t run_time_ns, run_cnt; /* under --stats: during the window */
	unsigned attached;	       /* cgroups it is attached to (cgroup programs) */
};

static const char *attach_point(const struct prog *p, char *buf, size_t len)
{
	if (strcmp(p->name, "sl_sched_switch") == 0 || strcmp(p->name, "sl_sched_switch_hash") == 0)
		return "tp_btf/sched_switch";
	if (p->info.type == BPF_PROG_TYPE_SYSCALL)
		return "none (run by the agent with BPF_PROG_TEST_RUN)";
	snprintf(buf, len, "cgroup %s (%u sandboxes)",
		 strstr(p->name, "skb_ingress")	 ? "inet_ingress"
		 : strstr(p->name, "skb_egress") ? "inet_egress"
		 : strstr(p->name, "connect4")	 ? "connect4"
		 : strstr(p->name, "connect6")	 ? "connect6"
		 : strstr(p->name, "sendmsg4")	 ? "udp4_sendmsg"
						 : "udp6_sendmsg",
		 p->attached);
	return buf;
}

/* Sandboxes with a pinned link of this program: <pin root>/cg/<cgroup id>/<name>. */
static unsigned count_attached(const char *name)
{
	char dir[512], path[800];
	struct dirent *e;
	struct stat st;
	unsigned n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/cg", ctl.pin_root);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s/%s", dir, e->d_name, name);
			n += stat(path, &st) == 0;
		}
	closedir(d);
	return n;
}

static int add_prog(struct prog *ps, size_t *n, const char *name, int fd)
{
	struct prog *p = &ps[*n];
	uint32_t len = sizeof(p->info);

	if (*n >= PROG_MAX || fd < 0)
		return fd < 0 ? -errno : -E2BIG;
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->fd = fd;
	if (bpf_obj_get_info_by_fd(fd, &p->info, &len) < 0) {
		close(fd);
		return -errno;
	}
	p->run_time_ns = p->info.run_time_ns;
	p->run_cnt = p->info.run_cnt;
	p->attached = count_attached(name);
	(*n)++;
	return 0;
}

/* The program behind the pinned sched_switch link. */
static void add_sched_switch(struct prog *ps, size_t *n)
{
	struct bpf_link_info li = {0};
	uint32_t len = sizeof(li);
	char path[512];
	int lfd, fd;

	snprintf(path, sizeof(path), "%s/link_sched_switch", ctl.pin_root);
	lfd = bpf_obj_get(path);
	if (lfd < 0)
		return;
	if (bpf_obj_get_info_by_fd(lfd, &li, &len) == 0) {
		fd = bpf_prog_get_fd_by_id(li.prog_id);
		if (fd >= 0) {
			struct bpf_prog_info pi = {0};
			uint32_t plen = sizeof(pi);

			bpf_obj_get_info_by_fd(fd, &pi, &plen);
			add_prog(ps, n,
				 strstr(pi.name, "hash") ? "sl_sched_switch_hash"
							 : "sl_sched_switch",
				 fd);
		}
	}
	close(lfd);
}

static int collect(struct prog *ps, size_t *n)
{
	char dir[512], path[800];
	struct dirent *e;
	DIR *d;

	*n = 0;
	add_sched_switch(ps, n);
	snprintf(dir, sizeof(dir), "%s/prog", ctl.pin_root);
	d = opendir(dir);
	if (!d)
		return errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && !strstr(e->d_name, ".tmp")) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			add_prog(ps, n, e->d_name, bpf_obj_get(path));
		}
	closedir(d);
	return 0;
}

static json_t *prog_json(const struct prog *p, bool stats)
{
	char buf[128];
	const char *type = libbpf_bpf_prog_type_str(p->info.type);

	return json_pack(
		"{s:i, s:s, s:s, s:s, s:I, s:I, s:f, s:b}", "id", p->info.id, "name", p->name,
		"type", type ? type : "unknown", "attach", attach_point(p, buf, sizeof(buf)),
		"run_time_ns", (json_int_t)p->run_time_ns, "run_cnt", (json_int_t)p->run_cnt,
		"ns_per_run", p->run_cnt ? (double)p->run_time_ns / (double)p->run_cnt : 0.0,
		"stats_window", stats);
}

static void print_progs(json_t *arr)
{
	size_t i;
	json_t *o;

	json_array_foreach (arr, i, o) {
		printf("%lld: %s  name %s\n\tattach %s\n",
		       (long long)json_integer_value(json_object_get(o, "id")),
		       json_string_value(json_object_get(o, "type")),
		       json_string_value(json_object_get(o, "name")),
		       json_string_value(json_object_get(o, "attach")));
		printf("\trun_time_ns %lld  run_cnt %lld  %.1f ns/run%s\n",
		       (long long)json_integer_value(json_object_get(o, "run_time_ns")),
		       (long long)json_integer_value(json_object_get(o, "run_cnt")),
		       json_real_value(json_object_get(o, "ns_per_run")),
		       json_is_true(json_object_get(o, "stats_window")) ? " (during --stats)" : "");
	}
}

/* Statistics on for `secs`, then each program's runs meanwhile. */
static int stats_window(struct prog *ps, size_t n, double secs)
{
	struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
	int sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	if (sfd < 0)
		return fail("cannot enable BPF statistics: %s", strerror(errno));
	for (size_t i = 0; i < n; i++) {
		uint32_t len = sizeof(ps[i].info);

		/* zeroed: a filled info asks for arrays (map ids, ...) at NULL: EFAULT */
		memset(&ps[i].info, 0, sizeof(ps[i].info));
		bpf_obj_get_info_by_fd(ps[i].fd, &ps[i].info, &len);
		ps[i].run_time_ns = ps[i].info.run_time_ns;
		ps[i].run_cnt = ps[i].info.run_cnt;
	}
	nanosleep(&ts, NULL);
	for (size_t i = 0; i < n; i++) {
		uint32_t len = sizeof(ps[i].info);

		/* zeroed: a filled info asks for arrays (map ids, ...) at NULL: EFAULT */
		memset(&ps[i].info, 0, sizeof(ps[i].info));
		bpf_obj_get_info_by_fd(ps[i].fd, &ps[i].info, &len);
		ps[i].run_time_ns = ps[i].info.run_time_ns - ps[i].run_time_ns;
		ps[i].run_cnt = ps[i].info.run_cnt - ps[i].run_cnt;
	}
	close(sfd); /* statistics as they were before */
	return 0;
}

static int do_show(int argc, char **argv)
{
	struct prog ps[PROG_MAX];
	struct pin_state pst;
	const char *dur = NULL;
	double secs = 1;
	bool stats = false;
	size_t n = 0;
	json_t *arr;
	int r;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--stats") == 0 || strcmp(argv[i], "stats") == 0)
			stats = true;
		else if (is_prefix(argv[i], "duration") && i + 1 < argc)
			dur = argv[++i];
		else
			return fail(
				"unknown argument '%s' (prog show [--stats [duration SECONDS]])",
				argv[i]);
	}
	if (dur) {
		char *end;

		secs = strtod(dur, &end);
		if (*end || !(secs > 0 && secs <= 3600))
			return fail("bad duration '%s' (seconds, 0 < d <= 3600)", dur);
	}
	r = pin_open(&pst); /* the schema check, and a clear error when nothing is pinned */
	pin_close(&pst);
	if (r)
		return r;
	r = collect(ps, &n);
	if (r)
		return fail("cannot read %s/prog: %s", ctl.pin_root, strerror(r));
	if (stats && (r = stats_window(ps, n, secs)))
		return r;
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, prog_json(&ps[i], stats));
		close(ps[i].fd);
	}
	return emit(arr, print_progs);
}

static int do_help(int argc, char **argv)
{
	if (ctl.json)
		return emit(json_pack("{s:s}", "help", "sandlotctl prog help"), NULL);
	fprintf(stderr,
		"Usage: sandlotctl prog { show | list } [--stats [duration SECONDS]]\n"
		"       sandlotctl prog help\n"
		"\n"
		"--stats enables BPF run-time statistics for SECONDS (default 1) and shows\n"
		"what each program did meanwhile; they are restored afterwards.\n");
	return 0;
}

static const struct cmd cmds[] = {
	{"show", do_show, NULL},
	{"list", do_show, NULL},
	{"help", do_help, NULL},
	{NULL, NULL, NULL},
};

int do_prog(int argc, char **argv)
{
	return cmd_select(cmds, argc, argv, "prog command");
}
