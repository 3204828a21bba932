#pragma once
/*
 * The sandbox's file system view.
 *
 * Parent side, once per runtime: sl_rootfs_new() builds a *template mount namespace* whose
 * root is a small read-only tmpfs holding read-only binds of the host's /usr (and the
 * /bin, /sbin, /lib* symlinks or binds), a minimal generated /etc, the device nodes null, zero,
 * full, random and urandom, and empty mount points /proc, /tmp, /var/task. It is built by a
 * helper process that pivot_root()s into it and detaches the host root, so the namespace
 * contains only those few mounts and nothing of the host's tree; we keep an fd to it.
 *
 * Child side, per sandbox: setns() into the template and unshare(CLONE_NEWNS) copies about ten
 * mounts instead of the host's whole table and needs no per-sandbox pivot_root or binds; then
 * a size-limited tmpfs /tmp, a new /proc and the function's code at /var/task (moved in from a
 * detached read-only clone the parent made with open_tree()).
 */
#include <stdint.h>

struct sl_rootfs;

/*
 * Builds the template. dir: NULL for the host's /usr, /bin, /sbin, /lib* plus a generated
 * /etc; else every top-level entry of dir (but proc, dev, sys, tmp, run, var) bound read-only
 * (its own /etc if it has one). Returns 0 or -errno (-ENOTDIR/-ENOENT for a bad dir).
 */
int sl_rootfs_new(struct sl_rootfs **ret, const char *dir);

/* NULL-safe; the template namespace disappears with its last fd. Sets *r to NULL. */
void sl_rootfs_free(struct sl_rootfs **r);

/* fd of the template mount namespace (owned by r). */
int sl_rootfs_mntns_fd(const struct sl_rootfs *r);

/*
 * Parent side, per sandbox: a detached, recursive, read-only, nosuid, nodev clone of dir to
 * be moved to /var/task by the child. Returns the fd (O_CLOEXEC) or -errno.
 */
int sl_rootfs_open_code(const char *dir);

/* What the child needs; prepared by the parent (no formatting in the child). */
struct sl_rootfs_child {
	int mntns_fd;	      /* sl_rootfs_mntns_fd() */
	int code_fd;	      /* sl_rootfs_open_code() or -1 */
	char tmp_options[64]; /* tmpfs options for /tmp, e.g. "size=67108864,mode=1777" */
};

/* Formats the /tmp options for a size in bytes. */
void sl_rootfs_child_init(struct sl_rootfs_child *c, int mntns_fd, int code_fd, uint64_t tmp_bytes);

/*
 * Child side, in a new pid namespace: enters a private copy of the template and mounts /tmp,
 * /proc and /var/task; cwd becomes "/". Async-signal-safe. Returns 0 or -errno; *ret_step
 * names the step that failed.
 */
int sl_rootfs_enter(const struct sl_rootfs_child *c, const char **ret_step);
