// SPDX-License-Identifier: Apache-2.0
/* The template mount namespace (spawner thread) and the per-sandbox mounts (child). See rootfs.h.
 */
#include "rootfs.h"

#include <sandlot/util.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#define BUILD_DIR "/tmp" /* where the builder, in its private namespace, assembles the root */

static const char *const host_entries[] = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"};
static const char *const skipped_entries[] = {"proc", "dev", "sys", "tmp", "run", "var"};

static const struct {
	const char *name;
	unsigned maj, min;
} devices[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}};

static const struct {
	const char *name, *text;
} etc_files[] = {
	{"passwd", "root:x:0:0:root:/root:/usr/sbin/nologin\n"
		   "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
	{"group", "root:x:0:\nnogroup:x:65534:\n"},
	{"hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n"},
	{"nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n"},
	{"resolv.conf", ""},
	{"hostname", "sandlot\n"},
};

/* Host files and directories under /etc that programs need; bound read-only when present. */
static const char *const etc_binds[] = {"ld.so.cache", "alternatives", "ssl", "localtime"};

static int write_text(int dirfd, const char *name, const char *text)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	size_t n = strlen(text);

	if (fd < 0)
		return sl_negerrno();
	return write(fd, text, n) == (ssize_t)n ? 0 : -EIO;
}

/*
 * Makes a read-only, nosuid, nodev recursive bind of entry name of directory sdir at dst
 * (created to match). Through the fd, not a path: the source may be under BUILD_DIR, which our
 * tmpfs hides by now.
 */
static int bind_ro(int sdir, const char *name, const struct stat *st, const char *dst)
{
	struct mount_attr attr = {.attr_set =
					  MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
	_cleanup_close_ int fd = -1;

	if (S_ISDIR(st->st_mode)) {
		if (mkdir(dst, 0755) < 0 && errno != EEXIST)
			return sl_negerrno();
	} else if (mknod(dst, S_IFREG | 0644, 0) < 0 && errno != EEXIST) {
		return sl_negerrno();
	}
	fd = open_tree(sdir, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (fd < 0)
		return sl_negerrno();
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0 ||
	    move_mount(fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return sl_negerrno();
	return 0;
}

/* Puts entry name of directory sdir at dst: symlinks copied as symlinks, the rest bound
 * read-only. A missing entry is skipped. */
static int add_entry(int sdir, const char *name, const char *dst)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : sl_negerrno();
	if (!S_ISLNK(st.st_mode))
		return bind_ro(sdir, name, &st, dst);
	n = readlinkat(sdir, name, target, sizeof(target) - 1);
	if (n < 0)
		return sl_negerrno();
	target[n] = '\0';
	return symlink(target, dst) < 0 ? sl_negerrno() : 0;
}

static int make_etc(void)
{
	_cleanup_close_ int fd = -1, host = -1;
	char dst[PATH_MAX];
	int r;

	if (mkdir(BUILD_DIR "/etc", 0755) < 0)
		return sl_negerrno();
	fd = open(BUILD_DIR "/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sl_negerrno();
	for (size_t i = 0; i < ARRAY_SIZE(etc_files); i++) {
		r = write_text(fd, etc_files[i].name, etc_files[i].text);
		if (r < 0)
			return r;
	}
	host = open("/etc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (host < 0)
		return sl_negerrno();
	for (size_t i = 0; i < ARRAY_SIZE(etc_binds); i++) {
		snprintf(dst, sizeof(dst), BUILD_DIR "/etc/%s", etc_binds[i]);
		r = add_entry(host, etc_binds[i], dst);
		if (r < 0)
			return r;
	}
	return 0;
}

static int make_dev(void)
{
	static const char *const links[][2] = {{"fd", "/proc/self/fd"},
					       {"stdin", "/proc/self/fd/0"},
					       {"stdout", "/proc/self/fd/1"},
					       {"stderr", "/proc/self/fd/2"}};
	char path[PATH_MAX];

	if (mkdir(BUILD_DIR "/dev", 0755) < 0)
		return sl_negerrno();
	for (size_t i = 0; i < ARRAY_SIZE(devices); i++) {
		snprintf(path, sizeof(path), BUILD_DIR "/dev/%s", devices[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(devices[i].maj, devices[i].min)) < 0)
			return sl_negerrno();
	}
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof(path), BUILD_DIR "/dev/%s", links[i][0]);
		if (symlink(links[i][1], path) < 0)
			return sl_negerrno();
	}
	return 0;
}

static bool skipped(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(skipped_entries); i++)
		if (strcmp(name, skipped_entries[i]) == 0)
			return true;
	return name[0] == '.';
}

/* Binds every top-level entry of a user-given root directory (fd sdir). */
static int add_dir_entries(int sdir, bool *has_etc)
{
	char dst[PATH_MAX];
	struct dirent *de;
	int fd = openat(sdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d) {
		r = sl_negerrno();
		sl_closep(&fd);
		return r;
	}
	while (r >= 0 && (de = readdir(d))) {
		if (skipped(de->d_name))
			continue;
		*has_etc |= strcmp(de->d_name, "etc") == 0;
		snprintf(dst, sizeof(dst), BUILD_DIR "/%s", de->d_name);
		r = add_entry(sdir, de->d_name, dst);
	}
	closedir(d);
	return r;
}

/* Fills BUILD_DIR from the user's root directory (fd sdir, opened before our tmpfs hid it if
 * it is under BUILD_DIR), or from the host's (sdir: "/"). */
static int populate(int sdir, bool user_root)
{
	static const char *const dirs[] = {"proc", "tmp", "var", "var/task"};
	char path[PATH_MAX];
	bool has_etc = false;
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), BUILD_DIR "/%s", dirs[i]);
		if (mkdir(path, 0755) < 0)
			return sl_negerrno();
	}
	if (user_root) {
		r = add_dir_entries(sdir, &has_etc);
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(host_entries) && r >= 0; i++) {
			snprintf(path, sizeof(path), BUILD_DIR "/%s", host_entries[i]);
			r = add_entry(sdir, host_entries[i], path);
		}
	}
	if (r >= 0 && !has_etc)
		r = make_etc();
	if (r >= 0)
		r = make_dev();
	return r;
}

int sl_rootfs_check(const char *dir)
{
	struct stat st;

	if (dir && stat(dir, &st) < 0)
		return sl_negerrno();
	if (dir && !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

/* The helper: shares the builder's fs_struct (cwd: the new root, the old one stacked on it). */
static void *detach_old_root(void *data)
{
	struct sl_rootfs_detach *d = data;
	uint64_t v = 1;

	if (CPU_COUNT(&d->cpus))
		(void)sched_setaffinity(0, sizeof(d->cpus), &d->cpus);
	if (umount2(".", MNT_DETACH) < 0)
		v += (uint64_t)errno;
	(void)!write(d->efd, &v, sizeof(v));
	return NULL;
}

static int detach(struct sl_rootfs_detach *d)
{
	int r;

	if (!d)
		return umount2(".", MNT_DETACH) < 0 || chdir("/") < 0 ? sl_negerrno() : 0;
	r = -pthread_create(&d->thread, NULL, detach_old_root, d);
	d->started = r >= 0;
	return r;
}

void sl_rootfs_detach_join(struct sl_rootfs_detach *d)
{
	if (d->started)
		pthread_join(d->thread, NULL);
	d->started = false;
}

int sl_rootfs_wait_detached(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return sl_negerrno();
	return v == 1 ? 0 : -(int)(v - 1);
}

int sl_rootfs_build(const char *dir, struct sl_rootfs_detach *async, int *ret_ns)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};
	_cleanup_close_ int src = -1;
	int r = sl_rootfs_check(dir);

	if (r < 0)
		return r;
	/* a thread may do this: it implies a private fs_struct (root, cwd) for the thread */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return sl_negerrno();
	/* the namespace is the template from here on; /proc is still the host's */
	if (ret_ns && (*ret_ns = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC)) < 0)
		return sl_negerrno();
	/* in this namespace (open_tree clones only from it), before our tmpfs may hide it */
	src = open(dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		return sl_negerrno();
	if (mount("tmpfs", BUILD_DIR, "tmpfs", MS_NOSUID, "mode=0755,size=1m") < 0)
		return sl_negerrno();
	/* the unshare gave the thread an fs_struct (so a umask) of its own: the template's
	 * modes as written (no chmod per node); the sandboxes inherit the umask restored */
	mode_t mask = umask(0);
	r = populate(src, dir != NULL);
	umask(mask);
	if (r < 0)
		return r;
	/* read-only now, while it is an ordinary path (not "/" with the old root stacked) */
	if (mount_setattr(AT_FDCWD, BUILD_DIR, 0, &ro, sizeof(ro)) < 0)
		return sl_negerrno();
	/* pivot_root(".", ".") stacks the old root on top (cwd and root are the new root, "/"
	 * resolves to it); detaching the old one leaves only ours */
	if (chdir(BUILD_DIR) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return sl_negerrno();
	r = detach(async);
	return r;
}

int sl_rootfs_open_code(const char *dir)
{
	struct mount_attr attr = {.attr_set =
					  MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
	int fd = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (fd < 0)
		return sl_negerrno();
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		int r = sl_negerrno();
		close(fd);
		return r;
	}
	return fd;
}

void sl_rootfs_child_init(struct sl_rootfs_child *c, int code_fd, uint64_t tmp_bytes,
			  uint64_t premade_tmp)
{
	c->code_fd = code_fd;
	c->tmp_bytes = tmp_bytes;
	c->tmp = !premade_tmp		    ? SL_TMP_MOUNT
		 : premade_tmp == tmp_bytes ? SL_TMP_READY
					    : SL_TMP_RESIZE;
	/* a remount takes the size alone (a tmpfs keeps its root's mode) */
	snprintf(c->tmp_options, sizeof(c->tmp_options),
		 c->tmp == SL_TMP_RESIZE ? "size=%" PRIu64 : "size=%" PRIu64 ",mode=1777",
		 tmp_bytes);
}

int sl_rootfs_enter(const struct sl_rootfs_child *c, const char **ret_step)
{
	*ret_step = "mount /tmp";
	if (c->tmp == SL_TMP_MOUNT &&
	    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, c->tmp_options) < 0)
		return sl_negerrno();
	if (c->tmp == SL_TMP_RESIZE &&
	    mount(NULL, "/tmp", NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV, c->tmp_options) < 0)
		return sl_negerrno();
	*ret_step = "mount /proc";
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return sl_negerrno();
	*ret_step = "mount /var/task";
	if (c->code_fd >= 0 &&
	    move_mount(c->code_fd, "", AT_FDCWD, "/var/task", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return sl_negerrno();
	*ret_step = "chdir /";
	return chdir("/") < 0 ? sl_negerrno() : 0;
}

int sl_rootfs_copy_template(int template_ns, int host_ns, int ns_dir, uint64_t tmp_bytes)
{
	struct sl_rootfs_child c;
	int fd = -1, r = 0;

	sl_rootfs_child_init(&c, -1, tmp_bytes, 0);
	if (setns(template_ns, CLONE_NEWNS) < 0)
		return sl_negerrno();
	if (unshare(CLONE_NEWNS) < 0)
		r = sl_negerrno();
	if (r >= 0 && tmp_bytes &&
	    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, c.tmp_options) < 0)
		r = sl_negerrno();
	if (r >= 0 && (fd = openat(ns_dir, "mnt", O_RDONLY | O_CLOEXEC)) < 0)
		r = sl_negerrno();
	if (setns(host_ns, CLONE_NEWNS) < 0) {
		sl_closep(&fd);
		return -ENOTRECOVERABLE;
	}
	return r < 0 ? r : fd;
}
