/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the BPF loader's files share (not an interface for anyone else): the loader object with
 * the fds of its maps and programs. bpf-loader.c fills it from the skeleton (the only file that
 * includes it); bpf-pinned.c from the pins; bpf-sandbox.c registers sandboxes through the fds
 * alone. Calls go one way (a DAG, tools/check-graph): bpf-open -> bpf-prepare -> bpf-sandbox
 * -> bpf-loader, and bpf-open, bpf-pinned -> bpf-loader.
 */
#include "bpfload/bpf-loader.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SL_BPF_PIN_ROOT_MAX 256 /* longer pin roots are refused */
#define SL_BPF_BTF_PATH	    "/sys/kernel/btf/vmlinux"
#define SL_BPF_N_CGPROGS    6
#define SL_BPF_LINKS_DIR    "cg"   /* <pin root>/cg/<cgroup id>/<program>: pinned cgroup links */
#define SL_BPF_PROGS_DIR    "prog" /* <pin root>/prog/<program>: for sl_bpf_open_pinned() */

/* The cgroup programs attached to every sandbox, by skeleton program name. */
struct sl_bpf_progdef {
	const char *name;
	int attach_type; /* enum bpf_attach_type */
	bool optional;	 /* may fail to load on older kernels */
};
extern const struct sl_bpf_progdef sl_bpf_cgprog_defs[SL_BPF_N_CGPROGS];

/* A cgroup program to attach to every sandbox (fd < 0: not loaded on this kernel). */
struct sl_bpf_cgprog {
	const char *name;
	int fd;
	int attach_type; /* enum bpf_attach_type */
};

/* Cgroup links of one sandbox held only by fd (ephemeral mode). */
struct sl_bpf_fdlinks {
	uint64_t cgid;
	int fd[SL_BPF_N_CGPROGS];
};

/* A cgroup registered ahead of its sandbox (sl_bpf_sandbox_prepare), not claimed yet. */
struct sl_bpf_prepared {
	uint64_t cgid;
	uint64_t idle_ns; /* as registered, with no policy and no addresses */
};

struct sl_bpf {
	struct sandlot_bpf *skel; /* NULL after sl_bpf_open_pinned(): the fds below are ours */
	bool ephemeral;		  /* nothing pinned: cgroup links in fdlinks */
	int pin_fd;		  /* pin root directory (flock), -1 when ephemeral */
	struct sl_bpf_fdlinks *fdlinks;
	size_t n_fdlinks;
	struct bpf_link *sched_link;
	struct ring_buffer *rb;
	sl_bpf_event_fn on_event;
	void *userdata;
	int cg_fd; /* cgroup_parent: bounds attachments, and the mount for open_by_handle_at */
	unsigned nr_cpus;
	const char *obj_path; /* opts.obj_path, used during sl_bpf_open() only (benchmarks) */
	uint32_t ablate;
	unsigned hz;	       /* kernel tick rate, to convert jiffies stamps */
	int fd_index, fd_cgrp; /* fd_cgrp < 0: no cgroup storage on this kernel */
	int fd_cgslot, fd_net;
	int fd_sandboxes, fd_counters, fd_inflight, fd_addrs, fd_attach;
	int fd_stats;	       /* sl_stats */
	int fd_init, fd_clock; /* syscall programs */
	struct sl_bpf_cgprog cgprogs[SL_BPF_N_CGPROGS];
	char pin_root[SL_BPF_PIN_ROOT_MAX];
	char cg_parent[PATH_MAX];
	/* Registrations may come from several threads (a shell pool's filler prepares cgroups):
	   sl_bpf_lock takes this mutex, then the pin root's flock (which excludes other
	   processes only). */
	pthread_mutex_t mutex;
	pthread_mutex_t prep_lock; /* the table below (taken alone, or inside mutex) */
	struct sl_bpf_prepared *prepared;
	size_t n_prepared;
};

/* Takes (LOCK_EX) or drops (LOCK_UN) the registration lock: b->mutex, then (unless
 * ephemeral) the cross-process flock. */
void sl_bpf_lock(struct sl_bpf *b, int op);

/* Opens (and checks) opts.cgroup_parent into b->cg_parent / b->cg_fd. */
int sl_bpf_open_cgroup_parent(struct sl_bpf *b, const char *path);

/* Pins the cgroup and syscall programs under <pin root>/prog/ (replacing older pins). */
int sl_bpf_pin_progs(struct sl_bpf *b);

/* Opens the pinned maps and programs under the pin root into b's fds (sl_bpf_open_pinned). */
int sl_bpf_open_pins(struct sl_bpf *b);

/* Loads the best object this kernel takes (sl_bpf_open): the skeleton, and its fds into b. */
int sl_bpf_load(struct sl_bpf *b, const struct sl_bpf_opts *opts, struct sl_bpf_info *info);

/*
 * After sl_bpf_load (and pinning): the tick rate, the config (and, when fresh, the meta) maps,
 * the sched_switch link, the ring buffer.
 */
int sl_bpf_start(struct sl_bpf *b, const struct sl_bpf_opts *opts, bool fresh);

/* Removes a file or a directory tree (of bpffs pins). Missing is fine. */
int sl_bpf_rm_tree(const char *path);

/* Runs the sl_clock program: the current jiffies and CLOCK_MONOTONIC ns. */
int sl_bpf_clock(struct sl_bpf *b, uint64_t *ret_jiffies, uint64_t *ret_ns, unsigned *ret_hz);

/*
 * Registers spec's cgroup (slot, maps, addresses, links; a re-registration keeps its counters)
 * or removes cgid's registration, with the registration lock held: the work behind
 * sl_bpf_sandbox_add / _remove, which decide first whether a prepared cgroup is claimed or
 * forgotten (bpf-prepare.c).
 */
int sl_bpf_sandbox_add_locked(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec,
			      uint64_t *ret_cgid);
int sl_bpf_sandbox_remove_locked(struct sl_bpf *b, uint64_t cgid);

/* Rewrites a registered sandbox's slot from spec (idle threshold, policy; re-arms its timer)
 * and adds spec's addresses. Lock held. 0 or -errno. */
int sl_bpf_reconfigure(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t cgid);

/* sl_bpf_prune with the lock held: the number of registrations removed, or -errno. */
int sl_bpf_prune_locked(struct sl_bpf *b);
