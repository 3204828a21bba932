/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The sandbox's file system view.
 *
 * Once per runtime, on the spawner thread (spawner.h): sl_rootfs_build() turns the calling
 * thread's own mount namespace into the *template*: a small read-only tmpfs root holding
 * read-only binds of the host's /usr (and the /bin, /sbin, /lib* symlinks or binds), a minimal
 * generated /etc, the device nodes null, zero, full, random and urandom, and empty mount points
 * /proc, /tmp, /var/task. The thread pivot_root()s into it and detaches the host root, so the
 * namespace holds only those few mounts and nothing of the host's tree. No process is forked
 * for it, and only that thread sees it.
 *
 * Per sandbox: the spawner thread clone3()s the child with CLONE_NEWNS, which copies the
 * template's ~10 mounts (not the host's table) and needs no per-sandbox pivot_root or binds;
 * the child then mounts a size-limited tmpfs /tmp, a new /proc and the function's code at
 * /var/task (moved in from a detached read-only overlay the parent made, sl_rootfs_open_code).
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Checks a root directory given by the user: 0 (NULL is the host's), -ENOENT, -ENOTDIR or
 * -errno. sl_rootfs_build() checks again; this lets the caller fail before starting threads.
 */
int sl_rootfs_check(const char *dir);

/*
 * Detaching the host's root from the template: umount2(MNT_DETACH) waits for an expedited
 * RCU grace period, which is slow when the other CPU runs kernel code such as setup_net. A
 * one-shot runtime has it done by a helper thread sharing
 * the template, so the spawner goes on (base filter, clone3) and only the sandbox's child
 * waits for it, just before it closes its inherited fds (sl_rootfs_wait_detached): the
 * host's mounts are gone from the namespace before anything of CMD runs.
 */
struct sl_rootfs_detach {
	int efd;	  /* eventfd: 1 once detached, 1 + errno if it failed; the caller's */
	cpu_set_t cpus;	  /* where the helper runs (not only the builder's CPUs); empty: any */
	pthread_t thread; /* the helper, once started */
	bool started;
};

/*
 * Makes the calling thread's mount namespace the template (see above); the thread's root and
 * cwd become the template's root. dir: NULL for the host's /usr, /bin, /sbin, /lib* plus a
 * generated /etc; else every top-level entry of dir (but proc, dev, sys, tmp, run, var)
 * read-only (its own /etc if it has one): directories as overlays of them, as for the code
 * (sl_rootfs_open_code: no host path in mountinfo), symlinks copied, files bound. detach: NULL to
 * detach the host root before returning; else (efd set) by a helper thread started here
 * (sl_rootfs_detach_join). Needs CAP_SYS_ADMIN. ret_ns: NULL, or where an fd (O_CLOEXEC) of the
 * template's namespace goes (for sl_rootfs_copy_template). Returns 0 or -errno; on failure the
 * thread may be left in a private, half-built namespace (let it exit).
 */
int sl_rootfs_build(const char *dir, struct sl_rootfs_detach *detach, int *ret_ns);

/*
 * A copy of the template made ahead of a sandbox (the shell pool's filler): what clone3 with
 * CLONE_NEWNS would make from the spawner, which the child then enters with setns instead.
 * The calling thread must have an fs_struct of its own (unshare(CLONE_FS)); it enters
 * template_ns, copies it and returns to host_ns (root and cwd: host_ns's root). ns_dir: an
 * O_PATH fd of the thread's /proc/thread-self/ns, opened beforehand (the template has no
 * /proc). tmp_bytes: the size of a tmpfs mounted at /tmp in the copy (what the child would
 * mount), 0 for none. Returns the copy's fd (O_CLOEXEC) or -errno; -ENOTRECOVERABLE when the
 * thread could not return to host_ns.
 */
int sl_rootfs_copy_template(int template_ns, int host_ns, int ns_dir, uint64_t tmp_bytes);

/* Waits for the helper thread, if one was started. */
void sl_rootfs_detach_join(struct sl_rootfs_detach *detach);

/* Child side: blocks until the host root is detached. Returns 0 or -errno (its failure). */
int sl_rootfs_wait_detached(int efd);

/*
 * Parent side, per sandbox: a detached, read-only, nosuid, nodev mount of dir to be moved to
 * /var/task by the child: a clone of an overlay (a file system of its own) whose only layer
 * is a detached clone of dir; the overlay is kept for the next sandboxes of the same dir (the
 * last 8 dirs). The sandbox's /proc/self/mountinfo shows "/" as its root and as its layer, no
 * host path (a bind's root would be dir's path on the host's file system). Mounts below dir
 * are not seen through it, nor changes below its top level made while its overlay is kept
 * (the code cache's trees never change; a change at the top level makes a new overlay). Where
 * overlayfs is missing or cannot take layers by fd, a plain recursive bind (whose host path shows).
 * Thread-safe. Returns the fd (O_CLOEXEC) or -errno.
 */
int sl_rootfs_open_code(const char *dir);

/* What the child needs; prepared by the parent (no formatting in the child). */
struct sl_rootfs_child {
	int code_fd;	      /* sl_rootfs_open_code() or -1 */
	char tmp_options[64]; /* tmpfs options for /tmp, e.g. "size=67108864,mode=1777" */
	uint64_t tmp_bytes;
	enum {
		SL_TMP_MOUNT,  /* mount /tmp */
		SL_TMP_READY,  /* mounted in the copy made ahead, with this size */
		SL_TMP_RESIZE, /* mounted in the copy made ahead with another size: remount */
	} tmp;
};

/*
 * Formats the /tmp options for a size in bytes. premade_tmp: the size of the /tmp mounted in
 * a copy made ahead (sl_rootfs_copy_template) that the child enters, or 0 (none).
 */
void sl_rootfs_child_init(struct sl_rootfs_child *c, int code_fd, uint64_t tmp_bytes,
			  uint64_t premade_tmp);

/*
 * Child side, in its own copy of the template (clone3 with CLONE_NEWNS from the spawner
 * thread) and a new pid namespace: mounts /tmp, /proc and /var/task; cwd becomes "/".
 * Async-signal-safe. Returns 0 or -errno; *ret_step names the step that failed.
 */
int sl_rootfs_enter(const struct sl_rootfs_child *c, const char **ret_step);
