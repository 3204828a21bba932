#pragma once
/*
 * What the BPF loader's files share (not an interface for anyone else): the loader object with
 * the fds of its maps and programs. bpf-loader.c fills it from the skeleton (the only file that
 * includes it); bpf-sandbox.c registers sandboxes through the fds alone.
 */
#include "bpf-loader.h"

#include <limits.h>

#define SL_BPF_PIN_ROOT_MAX 256 /* longer pin roots are refused */
#define SL_BPF_N_CGPROGS    6
#define SL_BPF_LINKS_DIR    "cg" /* <pin root>/cg/<cgroup id>/<program>: pinned cgroup links */

/* A cgroup program to attach to every sandbox (fd < 0: not loaded on this kernel). */
struct sl_bpf_cgprog {
	const char *name;
	int fd;
	int attach_type; /* enum bpf_attach_type */
};

struct sl_bpf {
	struct sandlot_bpf *skel;
	struct bpf_link *sched_link;
	struct ring_buffer *rb;
	sl_bpf_event_fn on_event;
	void *userdata;
	int cg_fd; /* cgroup_parent: bounds attachments, and the mount for open_by_handle_at */
	unsigned nr_cpus;
	unsigned hz;	       /* kernel tick rate, to convert jiffies stamps */
	int fd_index, fd_cgrp; /* fd_cgrp < 0: no cgroup storage on this kernel */
	int fd_sandboxes, fd_counters, fd_inflight, fd_addrs, fd_attach;
	int fd_init, fd_clock; /* syscall programs */
	struct sl_bpf_cgprog cgprogs[SL_BPF_N_CGPROGS];
	char pin_root[SL_BPF_PIN_ROOT_MAX];
	char cg_parent[PATH_MAX];
};

/* Removes a file or a directory tree (of bpffs pins). Missing is fine. */
int sl_bpf_rm_tree(const char *path);

/* Runs the sl_clock program: the current jiffies and CLOCK_MONOTONIC ns. */
int sl_bpf_clock(struct sl_bpf *b, uint64_t *ret_jiffies, uint64_t *ret_ns, unsigned *ret_hz);
