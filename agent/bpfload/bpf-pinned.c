// SPDX-License-Identifier: Apache-2.0
/*
 * The BPF loader's pins on bpffs: the agent pins its programs next to its maps, and a one-shot
 * `run` opens both (sl_bpf_open_pinned) without loading anything, which spares it the BTF
 * parsing and verification of a load.
 */
#include "bpfload/bpf-internal.h"

#include <sandlot/util.h>

#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define PROG_INIT  "sl_sandbox_init"
#define PROG_CLOCK "sl_clock"

int sl_bpffs_ensure(const char *path, bool mount_it)
{
	struct statfs st;

	if (statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (!mount_it)
		return -ENOENT;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return sl_negerrno();
	if (mount("bpf", path, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
		return sl_negerrno();
	return 1;
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
		{&b->fd_stats, "sl_stats", false},
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

int sl_bpf_open_pins(struct sl_bpf *b)
{
	int r = open_maps(b);

	return r < 0 ? r : open_progs(b);
}
