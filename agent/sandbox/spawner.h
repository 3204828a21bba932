/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The runtime's spawner thread: the one thread that clone3()s sandboxes. What every sandbox
 * inherits from it is prepared once, when it starts: an empty capability bounding set, the
 * template mount namespace of the root file system (rootfs.h: the thread's own namespace,
 * which each child copies with CLONE_NEWNS) and the base seccomp filter (seccomp.h), so no
 * sandbox JIT-compiles the allow-list; nothing else in the agent runs under them.
 * Sandbox children are children of the agent process (any thread may wait for them); their
 * parent-death signal follows this thread, which lives as long as the runtime. A request that
 * clones with CLONE_VFORK keeps the thread until the child execs or exits.
 */
#include <sched.h>

#include "sandbox/rootfs.h"
#include "sandbox/seccomp.h"

struct sl_spawner;

/*
 * Starts the thread, which empties its capability bounding set, builds the template from
 * rootfs (sl_rootfs_build: NULL = the host's; the string must live until the thread is ready)
 * and loads the base filter, without making the caller wait. cpus: the CPUs the thread (and
 * the children it clones) run on, or NULL to leave them (see sl_thread_split_cpus).
 * detach: NULL, or (efd, cpus; copied) for a template whose host root is detached by a
 * helper thread while the spawner goes on (one-shot; see struct sl_rootfs_detach): each
 * child then waits on the efd (sl_rootfs_wait_detached); with both, cpus is only where the
 * thread starts: once running it takes detach's cpus. Returns 0 or -errno.
 */
int sl_spawner_new(struct sl_spawner **ret, const struct sl_seccomp *sc, const char *rootfs,
		   const cpu_set_t *cpus, const struct sl_rootfs_detach *detach);

/* Waits until the thread is set up (only needed to see a set-up error early). Returns 0 or
 * its -errno. */
int sl_spawner_wait_ready(struct sl_spawner *sp);

/*
 * The template's mount namespace (rootfs.h; owned by the spawner: valid until it is freed), for
 * copies made ahead (sl_rootfs_copy_template). Waits until the thread is set up. Returns the
 * fd, -1 for a one-shot spawner (detach given: the sandbox lives in the template itself, which
 * no fd keeps past the thread), or the set-up's -errno.
 */
int sl_spawner_template_ns(struct sl_spawner *sp);

/* The sandbox init program (init-exe.h), made by the thread in its set-up; for requests (they
 * run once it is ready). */
int sl_spawner_init_fd(struct sl_spawner *sp);

/*
 * Tells the thread to exit without waiting for it; its namespaces are torn down meanwhile.
 * Only once its children are gone (their parent-death signal follows the thread).
 */
void sl_spawner_stop(struct sl_spawner *sp);

/* Stops the thread and waits for it. NULL-safe; sets *sp to NULL. */
void sl_spawner_free(struct sl_spawner **sp);

/*
 * Has fn(arg) run on the spawner thread as soon as it is ready (its set-up may still be under
 * way: the request waits for it, not the caller), without waiting. fn runs under the base
 * filter: only syscalls it allows. One request at a time: sl_spawner_wait() for each.
 */
void sl_spawner_post(struct sl_spawner *sp, int (*fn)(void *arg), void *arg);

/*
 * Waits for the posted request: returns fn's result, or the thread's set-up error (the
 * request is then dropped, fn never runs).
 */
int sl_spawner_wait(struct sl_spawner *sp);
