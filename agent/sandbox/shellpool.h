/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Sandbox shells made ahead of time, off the spawn path: a shell is a fresh, never used set of
 * sandbox cgroups (v2 + v1 on hybrid hosts, with the pool's current limits), a fresh
 * network namespace with loopback up, fresh IPC and UTS namespaces (made by the same
 * unshare: an IPC namespace mounts its own mqueue fs and registers its sysctls, which clone3
 * then no longer does) and a copy of the root template's mount namespace. Creating a network
 * namespace is the most expensive kernel step of a sandbox (setup_net's per-subsystem init),
 * and cgroup mkdirs with limit writes come next; a filler thread does both while the agent does
 * something else, and spawn takes a ready shell. Nothing is reused:
 * every shell serves one sandbox and is destroyed with it. A take is not refilled at once while
 * half the pool is left, but a little later: not during the cold start that took the shell.
 *
 * Thread-safety: take/set_limits/free from one thread (the runtime's); the filler thread only
 * touches the queue under the pool's mutex. Leftovers after a crash are ordinary stale
 * sandbox cgroups (named with the owner's slot, see owner.h); the netns go with the process.
 */
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox/cgroup.h"

#define SL_SHELL_ID_MAX 48

struct sl_shell;

/* What a prepare hook made for a shell. */
struct sl_shell_prep {
	uint64_t id; /* of the owner's choosing (a BPF cgroup id), 0: none */
	int fd;	     /* an fd the shell keeps until taken (sl_shell_take_fd) or freed, or -1 */
};

/*
 * Work of the pool's owner on every shell made ahead (sl_shellpool_set_hooks), e.g. attaching
 * BPF programs to its cgroup or opening a socket in its netns while it waits in the pool
 * rather than on the cold path.
 */
struct sl_shell_hooks {
	/* On the filler thread, for a shell whose cgroups and netns exist: 0 with *ret filled
	   (both preset to none), or -errno: the shell is then used unprepared. */
	int (*prepare)(const struct sl_shell *s, struct sl_shell_prep *ret, void *data);
	/* When a prepared shell is freed (sl_shell_free, used or not, on the freeing thread),
	   before its cgroups are removed: undoes what prepare did for id unless the owner took
	   it over meanwhile. */
	void (*discard)(const struct sl_shell *s, uint64_t id, void *data);
	void *data; /* must outlive the pool and every shell it made */
};

struct sl_shell {
	char id[SL_SHELL_ID_MAX]; /* also the cgroup name */
	struct sl_cgroup *cg;
	int netns_fd; /* network namespace with lo up, or -1: clone3 makes one (CLONE_NEWNET) */
	int ipcns_fd; /* IPC namespace, or -1: clone3 makes one (CLONE_NEWIPC) */
	int utsns_fd; /* UTS namespace, or -1: clone3 makes one (CLONE_NEWUTS) */
	int mntns_fd; /* a copy of the root template (sl_shellpool_set_template), or -1: clone3
			 copies it (CLONE_NEWNS) */
	uint64_t tmp_bytes; /* the size of the /tmp mounted in that copy */
	bool tried;	    /* the prepare hook ran (successfully or not) */
	bool prepared;
	struct sl_shell_prep prep;   /* from the prepare hook (prep.fd owned by the shell) */
	struct sl_shell_hooks hooks; /* when prepared: for the discard hook */
};

struct sl_shellpool;

/*
 * Starts a pool keeping up to target shells ready (0: no thread; every take makes a shell on
 * the spot, without a network namespace). Shell ids are "<prefix><seq>". root must outlive
 * the pool. cpus: where the filler runs (sl_thread_split_cpus), NULL to leave it. Returns 0
 * or -errno.
 */
int sl_shellpool_new(struct sl_shellpool **ret, struct sl_cgroup_root *root, const char *prefix,
		     size_t target, const struct sl_cgroup_limits *lim, const cpu_set_t *cpus);

/* Stops the thread and destroys the shells not taken. NULL-safe; sets *p to NULL. */
void sl_shellpool_free(struct sl_shellpool **p);

/*
 * Hands fd over to the filler thread, which closes it when it next runs; closes it now when
 * there is no filler (or too many wait). For the last reference to a sandbox's mount
 * namespace: its teardown waits for an RCU grace period, which then happens neither in the
 * sandbox's exit (before its pidfd becomes readable) nor on the caller's thread.
 */
void sl_shellpool_release(struct sl_shellpool *p, int fd);

/*
 * Holds the filler's closing of released fds while a sandbox child is being set up (true),
 * and lets it go on (false). The child starts with a copy of the agent's fd table and closes
 * it (child.c): a mount namespace fd the filler closed meanwhile would have its last reference
 * in the child, whose close would then wait out the teardown's RCU grace period.
 */
void sl_shellpool_hold_release(struct sl_shellpool *p, bool hold);

/*
 * From now on shells carry a copy of the root template too (rootfs.h; the fd is duplicated),
 * with a tmpfs of tmp_bytes at /tmp: the child enters it instead of clone3 copying the template
 * on the spawn path (and of mounting /tmp), and the runtime holds the namespace from the start
 * (see sl_shellpool_release). Returns 0 or -errno.
 */
int sl_shellpool_set_template(struct sl_shellpool *p, int template_ns, uint64_t tmp_bytes);

/*
 * Sets the hooks (once, from the runtime's thread): the filler prepares every shell it makes
 * from now on, and the ready ones not prepared yet. Shells made on the spot by take (the pool
 * ran dry) are not prepared.
 */
void sl_shellpool_set_hooks(struct sl_shellpool *p, const struct sl_shell_hooks *hooks);

/* Limits for shells made from now on (shells already made get theirs at spawn). */
void sl_shellpool_set_limits(struct sl_shellpool *p, const struct sl_cgroup_limits *lim);

/*
 * Hands out a ready shell, or makes one now (without netns) when none is ready; it never waits
 * for the filler (on a busy CPU a shell in the making can take many spawns' time). The
 * caller owns it (sl_shell_free). Returns 0 or -errno.
 */
int sl_shellpool_take(struct sl_shellpool *p, struct sl_shell **ret);

/* How many shells were taken, and how many of those takes found the pool empty. */
void sl_shellpool_counts(struct sl_shellpool *p, uint64_t *taken, uint64_t *empty);

/* The fd its prepare hook made (the caller owns it now), or -1. */
int sl_shell_take_fd(struct sl_shell *s);

/* Runs the discard hook of a prepared shell, closes its prepared fd, destroys the shell's cgroups
 * (best effort) and closes its namespaces. NULL-safe. */
void sl_shell_free(struct sl_shell **s);
