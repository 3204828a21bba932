// SPDX-License-Identifier: Apache-2.0
/*
 * The BPF loader's pinned-programs half: the agent pins its programs next to its maps, and a
 * one-shot `run` uses both through sl_bpf_open_pinned() without loading anything (loading costs
 * ~0.1 s of BTF parsing and verification on our hosts; opening the pins, well under 1 ms).
 * Also the registration lock that processes sharing a pin root take.
 */
#include "bpfload/bpf-internal.h"

#include <sandlot/util.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define PROG_INIT  "sl_sandbox_init"
#define PROG_CLOCK "sl_clock"

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

/* Pins fd at <dir>/<name>, replacing an older pin by rename (readers never see it missing). */
static int pin_replace(const char *dir, const char *name, int fd)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s-new-%d", path, (int)getpid()); /* bpffs: no dots */
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp) < 0)
		return sl_negerrno();
	if (rename(tmp, path) == 0)
		return 0;
	unlink(path);
	if (rename(tmp, path) < 0) {
		int r = sl_negerrno();

		unlink(tmp);
		return r;
	}
	return 0;
}

int sl_bpf_pin_progs(struct sl_bpf *b)
{
	char dir[PATH_MAX];
	int r;

	snprintf(dir, sizeof(dir), "%s/%s", b->pin_root, SL_BPF_PROGS_DIR);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return sl_negerrno();
	for (size_t i = 0; i < SL_BPF_N_CGPROGS; i++) {
		if (b->cgprogs[i].fd < 0)
			continue;
		r = pin_replace(dir, b->cgprogs[i].name, b->cgprogs[i].fd);
		if (r < 0)
			return r;
	}
	r = pin_replace(dir, PROG_INIT, b->fd_init);
	return r < 0 ? r : pin_replace(dir, PROG_CLOCK, b->fd_clock);
}

/* Opens <pin root>/<sub>/<name>: the fd, or -ENOENT / -errno (optional: -1 when missing). */
static int get_pin(const struct sl_bpf *b, const char *sub, const char *name, bool optional)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s%s%s/%s", b->pin_root, sub ? "/" : "", sub ? sub : "",
		 name);
	fd = bpf_obj_get(path);
	if (fd >= 0)
		return fd;
	return errno == ENOENT && optional ? -1 : sl_negerrno();
}

static int open_maps(struct sl_bpf *b)
{
	struct {
		int *fd;
		const char *name;
		bool optional;
	} maps[] = {
		{&b->fd_index, "sl_index", false},
		{&b->fd_cgrp, "sl_cgrp", true},
		{&b->fd_sandboxes, "sl_sandboxes", false},
		{&b->fd_counters, "sl_counters", false},
		{&b->fd_inflight, "sl_inflight", false},
		{&b->fd_addrs, "sl_addrs", false},
		{&b->fd_attach, "sl_attach", false},
		{&b->fd_cgslot, "sl_cgslot", false},
		{&b->fd_net, "sl_net", false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		int fd = get_pin(b, NULL, maps[i].name, maps[i].optional);

		if (fd < -1)
			return fd;
		*maps[i].fd = fd;
	}
	return 0;
}

static int open_progs(struct sl_bpf *b)
{
	for (size_t i = 0; i < SL_BPF_N_CGPROGS; i++) {
		int fd = get_pin(b, SL_BPF_PROGS_DIR, sl_bpf_cgprog_defs[i].name,
				 sl_bpf_cgprog_defs[i].optional);

		if (fd < -1)
			return fd;
		b->cgprogs[i].name = sl_bpf_cgprog_defs[i].name;
		b->cgprogs[i].attach_type = sl_bpf_cgprog_defs[i].attach_type;
		b->cgprogs[i].fd = fd;
	}
	b->fd_init = get_pin(b, SL_BPF_PROGS_DIR, PROG_INIT, false);
	if (b->fd_init < 0)
		return b->fd_init;
	b->fd_clock = get_pin(b, SL_BPF_PROGS_DIR, PROG_CLOCK, false);
	return b->fd_clock < 0 ? b->fd_clock : 0;
}

void sl_bpf_close_borrowed(struct sl_bpf *b)
{
	int *fds[] = {&b->fd_index,    &b->fd_cgrp,   &b->fd_sandboxes, &b->fd_counters,
		      &b->fd_inflight, &b->fd_addrs,  &b->fd_attach,	&b->fd_init,
		      &b->fd_clock,    &b->fd_cgslot, &b->fd_net};

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		sl_closep(fds[i]);
	for (size_t i = 0; i < SL_BPF_N_CGPROGS; i++)
		sl_closep(&b->cgprogs[i].fd);
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
	r = open_maps(b);
	if (r >= 0)
		r = open_progs(b);
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
	b->fd_inflight = b->fd_addrs = b->fd_attach = b->fd_init = b->fd_clock = -1;
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
