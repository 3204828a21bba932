// SPDX-License-Identifier: Apache-2.0
/*
 * Opening the BPF loader, the two ways bpf-loader.h describes: sl_bpf_open() loads the
 * programs (bpf-loader.c), pins them (bpf-pinned.c) and prunes what a crash left
 * (bpf-prepare.c); sl_bpf_open_pinned() takes an agent's pins without loading anything.
 */
#include "bpfload/bpf-internal.h"

#include <sandlot/util.h>

#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/libbpf.h>

static int pin_dir_ensure(const char *pin_root, bool mount_bpffs)
{
	struct statfs st;
	int r = sl_bpffs_ensure("/sys/fs/bpf", mount_bpffs);

	if (r < 0)
		return r;
	if (mkdir(pin_root, 0700) < 0 && errno != EEXIST)
		return sl_negerrno();
	if (statfs(pin_root, &st) < 0)
		return sl_negerrno();
	return st.f_type == BPF_FS_MAGIC ? 0 : -ENOTDIR;
}

/* Finds out whether pinned state exists and is ours; drops it when asked to. */
static int check_schema(const struct sl_bpf_opts *opts, const char *root, struct sl_bpf_info *info)
{
	int r = sl_bpf_pinned_abi(root, &info->found_abi);

	if (r < 0)
		return r;
	if (info->found_abi == 0 || info->found_abi == SL_BPF_ABI_VERSION) {
		info->adopted = info->found_abi != 0;
		return 0;
	}
	if (!opts->reset_on_schema_change)
		return -EPROTO;
	r = sl_bpf_destroy_pins(root);
	if (r < 0)
		return r;
	info->reset = true;
	return 0;
}

static int bpf_open(struct sl_bpf *b, const struct sl_bpf_opts *opts, struct sl_bpf_info *info)
{
	int r;

	r = sl_bpf_open_cgroup_parent(b, opts->cgroup_parent);
	if (r < 0)
		return r;
	if (access(opts->btf_path ? opts->btf_path : SL_BPF_BTF_PATH, R_OK) < 0)
		return -ENOPKG;
	if (!b->ephemeral) {
		r = pin_dir_ensure(b->pin_root, opts->mount_bpffs);
		if (r < 0)
			return r;
		r = check_schema(opts, b->pin_root, info);
		if (r < 0)
			return r;
		r = pin_dir_ensure(b->pin_root, false);
		if (r < 0)
			return r;
		b->pin_fd = open(b->pin_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (b->pin_fd < 0)
			return sl_negerrno();
	}
	r = sl_bpf_load(b, opts, info);
	if (r >= 0 && !b->ephemeral)
		r = sl_bpf_pin_progs(b);
	if (r >= 0)
		r = sl_bpf_start(b, opts, !info->adopted);
	if (r < 0)
		return r;
	r = sl_bpf_prune(b);
	if (r < 0)
		return r;
	info->pruned = (unsigned)r;
	info->hz = b->hz;
	return 0;
}

int sl_bpf_open(const struct sl_bpf_opts *opts, struct sl_bpf **ret, struct sl_bpf_info *ret_info)
{
	struct sl_bpf_info info = {0};
	struct sl_bpf *b;
	int r, n = libbpf_num_possible_cpus();

	if (!opts || n <= 0)
		return n <= 0 ? n : -EINVAL;
	if (opts->deny_ports && opts->n_deny_ports > SL_BPF_MAX_DENY_PORTS)
		return -E2BIG;
	if (opts->pin_root && strlen(opts->pin_root) >= SL_BPF_PIN_ROOT_MAX)
		return -ENAMETOOLONG;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cg_fd = b->fd_cgrp = b->fd_cgslot = b->fd_net = b->fd_stats = b->pin_fd = -1;
	b->mutex = b->prep_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	b->nr_cpus = (unsigned)n;
	b->on_event = opts->on_event;
	b->userdata = opts->userdata;
	b->ephemeral = opts->ephemeral;
	b->obj_path = opts->obj_path;
	b->ablate = opts->ablate;
	info.nr_cpus = b->nr_cpus;
	if (!b->ephemeral) /* pin_root "" keeps every pin path away from bpffs */
		snprintf(b->pin_root, sizeof(b->pin_root), "%s",
			 opts->pin_root ? opts->pin_root : SL_BPF_PIN_ROOT);
	r = bpf_open(b, opts, &info);
	if (ret_info)
		*ret_info = info;
	if (r < 0) {
		sl_bpf_free(&b);
		return r;
	}
	*ret = b;
	return 0;
}

static int open_pinned(struct sl_bpf *b, const struct sl_bpf_opts *opts)
{
	uint32_t abi = 0;
	uint64_t j, ns;
	int r;

	r = sl_bpf_pinned_abi(b->pin_root, &abi);
	if (r < 0)
		return r;
	if (abi == 0)
		return -ENOENT;
	if (abi != SL_BPF_ABI_VERSION)
		return -EPROTO;
	r = sl_bpf_open_cgroup_parent(b, opts->cgroup_parent);
	if (r < 0)
		return r;
	b->pin_fd = open(b->pin_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->pin_fd < 0)
		return sl_negerrno();
	r = sl_bpf_open_pins(b);
	if (r >= 0)
		r = sl_bpf_clock(b, &j, &ns, &b->hz);
	if (r >= 0 && !b->hz)
		r = -EOPNOTSUPP; /* HZ unknown without the kernel config: load our own */
	return r;
}

int sl_bpf_open_pinned(const struct sl_bpf_opts *opts, struct sl_bpf **ret)
{
	struct sl_bpf *b;
	int r, n = libbpf_num_possible_cpus();

	if (!opts || n <= 0)
		return n <= 0 ? n : -EINVAL;
	if (opts->pin_root && strlen(opts->pin_root) >= SL_BPF_PIN_ROOT_MAX)
		return -ENAMETOOLONG;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cg_fd = b->pin_fd = -1;
	b->mutex = b->prep_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	b->fd_index = b->fd_cgrp = b->fd_cgslot = b->fd_net = b->fd_sandboxes = b->fd_counters = -1;
	b->fd_inflight = b->fd_addrs = b->fd_attach = b->fd_init = b->fd_clock = b->fd_stats = -1;
	for (size_t i = 0; i < SL_BPF_N_CGPROGS; i++)
		b->cgprogs[i].fd = -1;
	b->nr_cpus = (unsigned)n;
	snprintf(b->pin_root, sizeof(b->pin_root), "%s",
		 opts->pin_root ? opts->pin_root : SL_BPF_PIN_ROOT);
	r = open_pinned(b, opts);
	if (r < 0) {
		sl_bpf_free(&b);
		return r;
	}
	*ret = b;
	return 0;
}
