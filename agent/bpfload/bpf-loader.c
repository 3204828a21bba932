// SPDX-License-Identifier: Apache-2.0
/*
 * The BPF loader object: loading the skeleton, its fds, the registration lock, the clock
 * program, events, and freeing it all. The bottom of the loader's files: it calls none of them.
 */
#include "bpfload/bpf-internal.h"

#include <sandlot/time.h>
#include <sandlot/util.h>

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <sys/statfs.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sandlot.skel.h"

#define SCHED_LINK_PIN "link_sched_switch"

const struct sl_bpf_progdef sl_bpf_cgprog_defs[SL_BPF_N_CGPROGS] = {
	{"sl_skb_ingress", BPF_CGROUP_INET_INGRESS, false},
	{"sl_skb_egress", BPF_CGROUP_INET_EGRESS, false},
	{"sl_connect4", BPF_CGROUP_INET4_CONNECT, false},
	{"sl_connect6", BPF_CGROUP_INET6_CONNECT, true},
	{"sl_sendmsg4", BPF_CGROUP_UDP4_SENDMSG, true},
	{"sl_sendmsg6", BPF_CGROUP_UDP6_SENDMSG, true},
};

static const uint16_t default_deny_ports[] = {7400, 7401, 7480, 7481};

void sl_bpf_lock(struct sl_bpf *b, int op)
{
	if (op == LOCK_EX)
		pthread_mutex_lock(&b->mutex);
	if (b->pin_fd >= 0)
		while (flock(b->pin_fd, op) < 0 && errno == EINTR)
			;
	if (op == LOCK_UN)
		pthread_mutex_unlock(&b->mutex);
}

int sl_bpf_rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[PATH_MAX];
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0
				       : (errno == ENOTDIR ? (unlink(path) < 0 ? sl_negerrno() : 0)
							   : sl_negerrno());
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			r = sl_bpf_rm_tree(sub);
		else if (unlink(sub) < 0)
			r = sl_negerrno();
		if (r < 0)
			break;
	}
	closedir(d);
	if (r == 0 && rmdir(path) < 0 && errno != ENOENT)
		r = sl_negerrno();
	return r;
}

int sl_bpf_destroy_pins(const char *pin_root)
{
	return sl_bpf_rm_tree(pin_root ? pin_root : SL_BPF_PIN_ROOT);
}

int sl_bpf_pinned_abi(const char *pin_root, uint32_t *ret)
{
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info), key = 0;
	uint8_t val[256];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/sl_meta", pin_root);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno != ENOENT)
			return sl_negerrno();
		*ret = 0;
		return 0;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return sl_negerrno();
	if (info.value_size < sizeof(uint32_t) || info.value_size > sizeof(val))
		return -EPROTO;
	if (bpf_map_lookup_elem(fd, &key, val) < 0)
		return sl_negerrno();
	memcpy(ret, val, sizeof(*ret));
	return 0;
}

/* The whole file at path into *ret (malloc'd), its size into *ret_n. */
static int slurp(const char *path, void **ret, size_t *ret_n)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t n = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return sl_negerrno();
	if (st.st_size <= 0 || st.st_size > (64 << 20))
		return -EFBIG;
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return -ENOMEM;
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);

		if (k <= 0)
			return k < 0 ? sl_negerrno() : -EIO;
		n += (size_t)k;
	}
	*ret = TAKE_PTR(buf);
	*ret_n = n;
	return 0;
}

/*
 * The skeleton over the object file at b->obj_path (the benchmark's copy with ablation
 * switches; it has every map and program of the built-in one) instead of the built-in object,
 * its switches set to b->ablate. The file's bytes go into *ret_bytes (free after loading).
 */
static struct sandlot_bpf *open_obj_file(struct sl_bpf *b, const struct bpf_object_open_opts *oo,
					 void **ret_bytes)
{
	struct sandlot_bpf *skel = calloc(1, sizeof(*skel));
	struct bpf_map *m;
	size_t n = 0;
	int r;

	if (!skel)
		return NULL;
	r = sandlot_bpf__create_skeleton(skel);
	if (r == 0)
		r = slurp(b->obj_path, ret_bytes, &n);
	if (r == 0) {
		skel->skeleton->data = *ret_bytes;
		skel->skeleton->data_sz = n;
		r = bpf_object__open_skeleton(skel->skeleton, oo);
	}
	m = r == 0 ? bpf_object__find_map_by_name(skel->obj, ".rodata.ablate") : NULL;
	if (r == 0 && (!m || bpf_map__set_initial_value(m, &b->ablate, sizeof(b->ablate)) < 0))
		r = -ENOENT;
	if (r < 0) {
		sandlot_bpf__destroy(skel);
		errno = -r;
		return NULL;
	}
	return skel;
}

/* Loads the object with or without the optional features (cgroup storage, *6/sendmsg). */
static int load_skel(struct sl_bpf *b, bool storage, bool optional, struct sandlot_bpf **ret)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = b->pin_root);
	_cleanup_free_ void *bytes = NULL;
	struct sandlot_bpf *skel =
		b->obj_path ? open_obj_file(b, &oo, &bytes) : sandlot_bpf__open_opts(&oo);
	int r;

	if (!skel)
		return sl_negerrno();
	skel->rodata->nr_cpus = b->nr_cpus;
	bpf_map__set_autocreate(skel->maps.sl_cgrp, storage);
	if (b->ephemeral) {
		struct bpf_map *m;

		bpf_object__for_each_map (m, skel->obj)
			bpf_map__set_pin_path(m, NULL); /* NULL cannot fail */
	}
	bpf_program__set_autoload(skel->progs.sl_sched_switch, storage);
	bpf_program__set_autoload(skel->progs.sl_sched_switch_hash, !storage);
	for (size_t i = 0; i < SL_BPF_N_CGPROGS; i++)
		if (sl_bpf_cgprog_defs[i].optional)
			bpf_program__set_autoload(bpf_object__find_program_by_name(
							  skel->obj, sl_bpf_cgprog_defs[i].name),
						  optional);
	r = sandlot_bpf__load(skel);
	if (r < 0) {
		sandlot_bpf__destroy(skel);
		return r;
	}
	*ret = skel;
	return 0;
}

/* Tries the richest combination first; records what loaded. */
static int load_best(struct sl_bpf *b, bool no_storage, struct sl_bpf_info *info)
{
	static const bool ladder[][2] = {{true, true}, {false, true}, {false, false}};
	int r = -EINVAL;

	for (size_t i = no_storage ? 1 : 0; i < ARRAY_SIZE(ladder); i++) {
		r = load_skel(b, ladder[i][0], ladder[i][1], &b->skel);
		if (r == 0) {
			info->cgroup_storage = ladder[i][0];
			info->connect6 = info->sendmsg = ladder[i][1];
			return 0;
		}
	}
	return r;
}

/* Copies the fds bpf-sandbox.c works with out of the skeleton. */
static void take_fds(struct sl_bpf *b)
{
	struct sandlot_bpf *k = b->skel;

	b->fd_index = bpf_map__fd(k->maps.sl_index);
	b->fd_cgslot = bpf_map__fd(k->maps.sl_cgslot);
	b->fd_net = bpf_map__fd(k->maps.sl_net);
	b->fd_cgrp = bpf_map__autocreate(k->maps.sl_cgrp) ? bpf_map__fd(k->maps.sl_cgrp) : -1;
	b->fd_sandboxes = bpf_map__fd(k->maps.sl_sandboxes);
	b->fd_counters = bpf_map__fd(k->maps.sl_counters);
	b->fd_inflight = bpf_map__fd(k->maps.sl_inflight);
	b->fd_addrs = bpf_map__fd(k->maps.sl_addrs);
	b->fd_attach = bpf_map__fd(k->maps.sl_attach);
	b->fd_stats = bpf_map__fd(k->maps.sl_stats);
	b->fd_init = bpf_program__fd(k->progs.sl_sandbox_init);
	b->fd_clock = bpf_program__fd(k->progs.sl_clock);
	for (size_t i = 0; i < SL_BPF_N_CGPROGS; i++) {
		struct bpf_program *p =
			bpf_object__find_program_by_name(k->obj, sl_bpf_cgprog_defs[i].name);

		b->cgprogs[i].name = sl_bpf_cgprog_defs[i].name;
		b->cgprogs[i].attach_type = sl_bpf_cgprog_defs[i].attach_type;
		b->cgprogs[i].fd = p && bpf_program__autoload(p) ? bpf_program__fd(p) : -1;
	}
}

int sl_bpf_clock(struct sl_bpf *b, uint64_t *ret_jiffies, uint64_t *ret_ns, unsigned *ret_hz)
{
	struct sl_bpf_clock_args a = {0};
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &a, .ctx_size_in = sizeof(a));

	if (bpf_prog_test_run_opts(b->fd_clock, &run) < 0)
		return sl_negerrno();
	*ret_jiffies = a.jiffies;
	*ret_ns = a.ns;
	if (ret_hz)
		*ret_hz = a.hz;
	return 0;
}

/* CONFIG_HZ from the kernel config, else measured over 40 ms and rounded to a usual value. */
static int find_hz(struct sl_bpf *b)
{
	static const unsigned usual[] = {100, 250, 300, 1000};
	uint64_t j0, n0, j1, n1;
	unsigned hz = 0, best = usual[0];
	int r = sl_bpf_clock(b, &j0, &n0, &hz);

	if (r < 0 || hz) {
		b->hz = hz;
		return r;
	}
	usleep(40000);
	r = sl_bpf_clock(b, &j1, &n1, NULL);
	if (r < 0)
		return r;
	double measured = (double)(j1 - j0) * 1e9 / (double)(n1 - n0);
	for (size_t i = 1; i < ARRAY_SIZE(usual); i++)
		if (fabs(usual[i] - measured) < fabs(best - measured))
			best = usual[i];
	b->hz = best;
	return 0;
}

static int write_meta_and_config(struct sl_bpf *b, const struct sl_bpf_opts *opts, bool fresh)
{
	struct sl_bpf_config cfg = {0};
	const uint16_t *ports = opts->deny_ports ? opts->deny_ports : default_deny_ports;
	size_t n = opts->deny_ports ? opts->n_deny_ports : ARRAY_SIZE(default_deny_ports);
	uint32_t key = 0;

	if (n > SL_BPF_MAX_DENY_PORTS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		cfg.deny_ports[i] = ports[i];
	if (bpf_map__update_elem(b->skel->maps.sl_config, &key, sizeof(key), &cfg, sizeof(cfg),
				 BPF_ANY) < 0)
		return sl_negerrno();
	if (fresh) {
		struct sl_bpf_meta m = {.abi_version = SL_BPF_ABI_VERSION,
					.created_ns = sl_now_ns()};

		if (bpf_map__update_elem(b->skel->maps.sl_meta, &key, sizeof(key), &m, sizeof(m),
					 BPF_ANY) < 0)
			return sl_negerrno();
	}
	return 0;
}

/* The global sched_switch link: re-adopted from its pin, or attached and pinned. */
static int attach_sched(struct sl_bpf *b)
{
	char path[PATH_MAX];
	struct bpf_link *l;
	int r;

	snprintf(path, sizeof(path), "%s/%s", b->pin_root, SCHED_LINK_PIN);
	l = !b->ephemeral && access(path, F_OK) == 0 ? bpf_link__open(path) : NULL;
	if (l) {
		b->sched_link = l;
		return 0;
	}
	l = bpf_program__attach(bpf_program__autoload(b->skel->progs.sl_sched_switch)
					? b->skel->progs.sl_sched_switch
					: b->skel->progs.sl_sched_switch_hash);
	if (!l)
		return sl_negerrno();
	if (b->ephemeral) {
		b->sched_link = l; /* detached when this process closes it */
		return 0;
	}
	r = bpf_link__pin(l, path);
	if (r < 0) {
		bpf_link__destroy(l);
		return r;
	}
	b->sched_link = l;
	return 0;
}

static int rb_event(void *ctx, void *data, size_t size)
{
	struct sl_bpf *b = ctx;

	if (size < sizeof(struct sl_bpf_event) || !b->on_event)
		return 0;
	return b->on_event(data, b->userdata);
}

int sl_bpf_open_cgroup_parent(struct sl_bpf *b, const char *path)
{
	struct statfs st;

	if (!path || !realpath(path, b->cg_parent))
		return path ? sl_negerrno() : -EINVAL;
	b->cg_fd = open(b->cg_parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->cg_fd < 0)
		return sl_negerrno();
	if (fstatfs(b->cg_fd, &st) < 0)
		return sl_negerrno();
	return st.f_type == CGROUP2_SUPER_MAGIC ? 0 : -ENOTDIR;
}

int sl_bpf_load(struct sl_bpf *b, const struct sl_bpf_opts *opts, struct sl_bpf_info *info)
{
	int r = load_best(b, opts->no_cgroup_storage, info);

	if (r < 0)
		return r;
	take_fds(b);
	return 0;
}

int sl_bpf_start(struct sl_bpf *b, const struct sl_bpf_opts *opts, bool fresh)
{
	int r = find_hz(b);

	if (r >= 0)
		r = write_meta_and_config(b, opts, fresh);
	if (r >= 0)
		r = attach_sched(b);
	if (r < 0)
		return r;
	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.sl_events), rb_event, b, NULL);
	return b->rb ? 0 : sl_negerrno();
}

const char *sl_bpf_open_strerror(int r)
{
	switch (r) {
	case -ENOPKG:
		return "the kernel has no BTF (" SL_BPF_BTF_PATH "): sandlot's BPF programs "
		       "need a kernel built with CONFIG_DEBUG_INFO_BTF=y";
	case -EPROTO:
		return "the pinned BPF state has another schema version: restart with the reset "
		       "option to drop it (its counters are lost)";
	case -ENOTDIR:
		return "the pin root is not on bpffs, or the cgroup parent is not on cgroup2";
	case -ENAMETOOLONG:
		return "the pin root path is too long";
	case -E2BIG:
		return "too many denied ports";
	case -EPERM:
		return "loading BPF programs was refused (needs root / CAP_BPF + CAP_SYS_ADMIN)";
	default:
		return "loading the BPF programs failed";
	}
}

/* Closes the map and program fds of a loader opened by sl_bpf_open_pinned(). */
static void close_borrowed(struct sl_bpf *b)
{
	int *fds[] = {&b->fd_index,    &b->fd_cgrp,   &b->fd_sandboxes, &b->fd_counters,
		      &b->fd_inflight, &b->fd_addrs,  &b->fd_attach,	&b->fd_init,
		      &b->fd_clock,    &b->fd_cgslot, &b->fd_net,	&b->fd_stats};

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		sl_closep(fds[i]);
	for (size_t i = 0; i < SL_BPF_N_CGPROGS; i++)
		sl_closep(&b->cgprogs[i].fd);
}

/* Ephemeral mode: closes the cgroup links held by fd, the last references: programs detach. */
static void close_fdlinks(struct sl_bpf *b)
{
	for (size_t i = 0; i < b->n_fdlinks; i++)
		for (size_t j = 0; j < SL_BPF_N_CGPROGS; j++)
			sl_closep(&b->fdlinks[i].fd[j]);
	free(b->fdlinks);
	b->fdlinks = NULL;
	b->n_fdlinks = 0;
}

void sl_bpf_free(struct sl_bpf **pb)
{
	struct sl_bpf *b = pb ? *pb : NULL;

	if (!b)
		return;
	ring_buffer__free(b->rb);
	bpf_link__destroy(b->sched_link); /* pinned: stays attached; ephemeral: detached */
	close_fdlinks(b);		  /* ephemeral: detaches the cgroup programs */
	if (b->skel)
		sandlot_bpf__destroy(b->skel);
	else
		close_borrowed(b);
	sl_closep(&b->cg_fd);
	sl_closep(&b->pin_fd);
	free(b->prepared); /* their registrations stay pinned, as every other */
	pthread_mutex_destroy(&b->mutex);
	pthread_mutex_destroy(&b->prep_lock);
	free(b);
	*pb = NULL;
}

/* ---- events and statistics --------------------------------------------------------------- */

int sl_bpf_events_fd(struct sl_bpf *b)
{
	return b->rb ? ring_buffer__epoll_fd(b->rb) : -EOPNOTSUPP;
}

int sl_bpf_events_consume(struct sl_bpf *b)
{
	return b->rb ? ring_buffer__consume(b->rb) : -EOPNOTSUPP;
}

int sl_bpf_events_poll(struct sl_bpf *b, int timeout_ms)
{
	return b->rb ? ring_buffer__poll(b->rb, timeout_ms) : -EOPNOTSUPP;
}

int sl_bpf_events_lost(struct sl_bpf *b, uint64_t *ret)
{
	_cleanup_free_ struct sl_bpf_host_stats *v = calloc(b->nr_cpus, sizeof(*v));
	uint32_t zero = 0;
	uint64_t n = 0;

	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(b->fd_stats, &zero, v) < 0)
		return sl_negerrno();
	for (unsigned i = 0; i < b->nr_cpus; i++)
		n += v[i].events_lost;
	*ret = n;
	return 0;
}

int sl_bpf_prog_fd(struct sl_bpf *b, const char *name)
{
	struct bpf_program *p;

	if (!b->skel)
		return -EOPNOTSUPP;
	p = bpf_object__find_program_by_name(b->skel->obj, name);

	if (!p || bpf_program__fd(p) < 0)
		return -ENOENT;
	return bpf_program__fd(p);
}
